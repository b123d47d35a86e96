package gen

import (
	"os"
	"path/filepath"
	"testing"

	"google.golang.org/protobuf/compiler/protogen"
)

// TestKeyChoice: without google.api.resource or key_field, the key is the
// first rule's that applies: name when it is the first field (AIP-122)
// beside an id; else id; else name, unless a <message>_id comes before it;
// else <message>_id.
func TestKeyChoice(t *testing.T) {
	dir := t.TempDir()
	src := `syntax = "proto3";
package k.v1;
option go_package = "example.com/k;k";
message Service { string name = 1; string id = 2; }
message Dataset { string id = 1; string name = 2; }
message Pipeline { string project_id = 1; string name = 2; string pipeline_id = 3; }
message Sandbox { string sandbox_id = 1; string name = 2; }
message Topic { string name = 1; string topic_id = 2; }
message Note { string text = 1; string name = 2; }
`
	if err := os.WriteFile(filepath.Join(dir, "k.proto"), []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	plugin, err := protogen.Options{}.New(request(t, []string{dir}, []string{"k.proto"}, "paths=source_relative"))
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{"Service": "name", "Dataset": "id", "Pipeline": "pipeline_id", "Sandbox": "sandbox_id", "Topic": "name", "Note": "name"}
	for _, f := range plugin.Files {
		if !f.Generate {
			continue
		}
		for _, m := range f.Messages {
			r, reason, err := examineResource(m)
			if err != nil || r == nil {
				t.Fatalf("%s: %v %s", m.Desc.Name(), err, reason)
			}
			if got := string(r.key.Desc.Name()); got != want[string(m.Desc.Name())] {
				t.Errorf("%s is keyed by %s (%s), want %s", m.Desc.Name(), got, r.keyWhy, want[string(m.Desc.Name())])
			}
		}
	}
}
