package gen

import (
	"io/fs"
	"slices"
	"testing"

	"github.com/svcgen/protoc-gen-svc/templates"
)

// TestTemplatesUsed: every template in templates/ is parsed and rendered by
// an emitter, and every template an emitter renders exists.
func TestTemplatesUsed(t *testing.T) {
	files, err := fs.Glob(templates.FS, "*")
	if err != nil {
		t.Fatal(err)
	}
	var embedded []string
	for _, f := range files {
		if f != "templates.go" {
			embedded = append(embedded, f)
		}
	}
	used := slices.Clone(usedTemplates)
	slices.Sort(embedded)
	slices.Sort(used)
	if !slices.Equal(embedded, used) {
		t.Errorf("templates/ holds %v, the emitters render %v", embedded, used)
	}
	for _, name := range used {
		if fileTemplates.Lookup(name) == nil {
			t.Errorf("template %s is not parsed", name)
		}
	}
}
