package gen

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestIdentifierIsTheKey: with google.api.resource and no name_field, a
// string field marked IDENTIFIER is the resource name, whatever its name;
// patterns resourcename cannot read switch the name check off rather than
// refuse every name.
func TestIdentifierIsTheKey(t *testing.T) {
	dir := t.TempDir()
	src := `syntax = "proto3";
package t.v1;
import "google/api/field_behavior.proto";
import "google/api/resource.proto";
option go_package = "example.com/t;t";

message Doc {
  option (google.api.resource) = {type: "t.example.com/Doc" pattern: "docs/{doc}"};
  string path = 1 [(google.api.field_behavior) = IDENTIFIER];
  string name = 2;
}
message GetDocRequest { string path = 1; }

message Odd {
  option (google.api.resource) = {type: "t.example.com/Odd" pattern: "odds/{odd}" pattern: "odds/{a}~{b}"};
  string name = 1;
}
message GetOddRequest { string name = 1; }

service Docs {
  rpc GetDoc(GetDocRequest) returns (Doc);
}
service Odds {
  rpc GetOdd(GetOddRequest) returns (Odd);
}
`
	if err := os.WriteFile(filepath.Join(dir, "t.proto"), []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	report := explained(t, request(t, []string{dir}, []string{"t.proto"}, "paths=source_relative"))
	doc := report["t.v1.Docs.GetDoc"]
	if !strings.Contains(doc, "whose path is the request's path") || !strings.Contains(doc, "a path that is not of the form docs/{doc}") {
		t.Errorf("GetDoc: %s", doc)
	}
	odd := report["t.v1.Odds.GetOdd"]
	if !strings.HasPrefix(odd, "served from ") || strings.Contains(odd, "not of the form") {
		t.Errorf("GetOdd (a pattern resourcename cannot read): %s", odd)
	}
}
