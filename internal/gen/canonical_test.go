package gen

import (
	"os"
	"path/filepath"
	"testing"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/pluginpb"
)

// TestCanonicalOddComments checks the client wrapper and repository files,
// which are not formatted (canonical.go), against protogen's formatting of
// the whole file for proto comments go/printer treats specially: build
// constraints and line directives (such files are formatted whole),
// trailing white space of every kind, old-style headings, lists, code
// blocks, runs of blank lines and directives.
func TestCanonicalOddComments(t *testing.T) {
	dir := t.TempDir()
	src := `syntax = "proto3";
package odd.v1;
option go_package = "example.com/odd/v1;oddv1";

// Things serves things.
//
// Heading
//
// A paragraph with trailing spaces and a no-break space:` + "   \u00a0\t" + `
//   indented, a code block
//  - a list item
//
//
// after two blank lines [Thing] and https://example.com/x.
//go:generate nothing
service Things {
  // Gets a thing.` + "\f" + `
  rpc GetThing(GetThingRequest) returns (Thing);
  // Lists things.
  //  1. first
  //  2. second
  rpc ListThings(ListThingsRequest) returns (ListThingsResponse);
}

// A thing.
message Thing { string name = 1; }
message GetThingRequest { string name = 1; }
message ListThingsRequest { int32 page_size = 1; string page_token = 2; }
message ListThingsResponse { repeated Thing things = 1; string next_page_token = 2; }
`
	constrained := `syntax = "proto3";
package constrained.v1;
option go_package = "example.com/constrained/v1;constrainedv1";

//go:build linux
service Pings {
  // +build ignore
  rpc Ping(PingRequest) returns (PingResponse);
}
message PingRequest {}
message PingResponse {}
`
	for name, content := range map[string]string{"odd.proto": src, "constrained.proto": constrained} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
		req := request(t, []string{dir}, []string{name}, "paths=source_relative")
		got, want := Respond(proto.Clone(req).(*pluginpb.CodeGeneratorRequest)), respondSequentially(t, req)
		if want.Error != nil || len(want.File) == 0 {
			t.Fatalf("%s: %d files, error %q", name, len(want.File), want.GetError())
		}
		if !proto.Equal(got, want) {
			for i := range want.File {
				if i < len(got.File) && got.File[i].GetContent() != want.File[i].GetContent() {
					t.Errorf("%s: %s differs from protogen's formatting:\n%s\nwant:\n%s", name, want.File[i].GetName(), got.File[i].GetContent(), want.File[i].GetContent())
				}
			}
			t.Errorf("%s: Respond differs from protogen's formatting", name)
		}
	}
}
