package gen

import (
	"bytes"
	"fmt"
	"sync"
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
//
// The template runs on a copy of fileTemplates taken from a pool, whose
// functions are bound to g and f for the time of the call, rather than on
// a copy made for every file, and writes into a buffer from a pool, copied
// into g in one write: g's buffer is then allocated once, at the size of
// the file, rather than grown by doubling (it is kept until the response is
// written).
func render(g *protogen.GeneratedFile, f *fileModel, name string, data any) error {
	b := boundTemplates.Get().(*boundTemplate)
	buf := renderBuffers.Get().(*bytes.Buffer)
	b.g, b.f = g, f
	err := b.t.ExecuteTemplate(buf, name, data)
	b.g, b.f = nil, nil
	boundTemplates.Put(b)
	if err == nil {
		if f.body != nil {
			f.body.Write(buf.Bytes())
		} else {
			_, err = g.Write(buf.Bytes())
		}
	} else {
		err = fmt.Errorf("rendering %s: %v", name, err)
	}
	buf.Reset()
	renderBuffers.Put(buf)
	return err
}

// renderBuffers are the buffers render executes templates into.
var renderBuffers = sync.Pool{New: func() any { return new(bytes.Buffer) }}

// boundTemplate is a copy of fileTemplates whose functions work on g and f.
type boundTemplate struct {
	t *template.Template
	g *protogen.GeneratedFile
	f *fileModel
}

// boundTemplates holds the copies of fileTemplates render uses, one per
// render running at a time.
var boundTemplates = sync.Pool{New: func() any {
	b := &boundTemplate{t: template.Must(fileTemplates.Clone())}
	b.t.Funcs(template.FuncMap{
		"ident": func(ident protogen.GoIdent) string { return b.g.QualifiedGoIdent(ident) },
		"renamed": func(ident string) string {
			if why, ok := b.f.renamed[ident]; ok {
				return "\n//\n// " + why
			}
			return ""
		},
	})
	return b
}}
