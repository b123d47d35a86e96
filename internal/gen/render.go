package gen

import (
	"bytes"
	"fmt"
	"text/template"

	"google.golang.org/protobuf/compiler/protogen"

	"github.com/svcgen/protoc-gen-svc/templates"
)

// The templates of the generated files, one per artifact.
const (
	serverTemplate = "server.go.tmpl"
	clientTemplate = "client.go.tmpl"
	repoTemplate   = "repo.go.tmpl"
)

// usedTemplates lists every template an emitter renders; a test checks it
// against templates.FS, so no template is missing or unused.
var usedTemplates = []string{serverTemplate, clientTemplate, repoTemplate}

// fileTemplates are the templates of the generated files, parsed once. The
// ident function is bound to each generated file when it is rendered.
var fileTemplates = template.Must(template.New("").
	Funcs(template.FuncMap{"ident": func(protogen.GoIdent) string { return "" }, "renamed": func(string) string { return "" }}).
	Option("missingkey=error").
	ParseFS(templates.FS, "*.go.tmpl"))

// render executes the named template with data into g, for the file f.
// Identifiers given to the template's ident function go through
// g.QualifiedGoIdent, so protogen writes the imports. The renamed function
// ends the doc comment of a declaration whose name claimGenerated changed
// with a paragraph saying why, and gives "" for every other name.
func render(g *protogen.GeneratedFile, f *fileModel, name string, data any) error {
	t, err := fileTemplates.Clone()
	if err != nil {
		return err
	}
	t.Funcs(template.FuncMap{"ident": g.QualifiedGoIdent, "renamed": func(ident string) string {
		if why, ok := f.renamed[ident]; ok {
			return "\n//\n// " + why
		}
		return ""
	}})
	var b bytes.Buffer
	if err := t.ExecuteTemplate(&b, name, data); err != nil {
		return fmt.Errorf("rendering %s: %v", name, err)
	}
	_, err = g.Write(b.Bytes())
	return err
}
