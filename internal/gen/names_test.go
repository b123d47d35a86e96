package gen

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"google.golang.org/protobuf/proto"
)

// TestResourceReferences: a method about a resource other than the one its
// service is named after is served when its request names that resource by
// google.api.resource_reference: the type of name, the child_type of
// parent, or a parent type whose pattern (of a message, or of a file-level
// google.api.resource_definition, in the file or an import, or of
// googleapis' common resources, such as Location) is the parent of the
// resource's, or every name it carries is checked against patterns no name
// of the service's resource matches; without any of them (a resource
// without patterns, or with one a Shelf's name could match) it stays a
// method of a sub-resource. Patterns whose parents could be one name but whose
// collections differ, or of which one could be under another, leave parent
// refused; a Delete answering Empty finds
// its resource by the type of its name before its noun.
func TestResourceReferences(t *testing.T) {
	dir := t.TempDir()
	files := map[string]string{
		"defs.proto": `syntax = "proto3";
package t.v1;
import "google/api/resource.proto";
option go_package = "example.com/t;t";
option (google.api.resource_definition) = {type: "t.example.com/Folder" pattern: "folders/{folder}"};
`,
		"t.proto": `syntax = "proto3";
package t.v1;
import "google/api/resource.proto";
import "google/protobuf/empty.proto";
import "defs.proto";
option go_package = "example.com/t;t";
option (google.api.resource_definition) = {type: "t.example.com/Project" pattern: "projects/{project}"};

message Shelf {
  option (google.api.resource) = {type: "t.example.com/Shelf" pattern: "projects/{project}/shelves/{shelf}"};
  string name = 1;
}
message Book {
  option (google.api.resource) = {type: "t.example.com/Book" pattern: "projects/{project}/books/{book}" pattern: "folders/{folder}/books/{book}"};
  string name = 1;
}
message Note {
  option (google.api.resource) = {type: "t.example.com/Note" pattern: "projects/{project}/notes/{note}"};
  string name = 1;
}
message Mixed {
  option (google.api.resource) = {type: "t.example.com/Mixed" pattern: "projects/{project}/mixed/{mixed}" pattern: "projects/{project}/other/{mixed}"};
  string name = 1;
}
message ListBooksRequest {
  string parent = 1 [(google.api.resource_reference) = {type: "t.example.com/Folder"}];
  int32 page_size = 2;
  string page_token = 3;
}
message ListBooksResponse { repeated Book books = 1; string next_page_token = 2; }
message GetBookRequest { string name = 1 [(google.api.resource_reference) = {type: "t.example.com/Book"}]; }
message CreateNoteRequest {
  string parent = 1 [(google.api.resource_reference) = {child_type: "t.example.com/Note"}];
  Note note = 2;
}
message ListNotesRequest { string parent = 1; }
message ListNotesResponse { repeated Note notes = 1; }
message Memo { string name = 1; }
message ListMemosRequest { string parent = 1; }
message ListMemosResponse { repeated Memo memos = 1; }
message Twin {
  option (google.api.resource) = {type: "t.example.com/Twin" pattern: "projects/{project}/shelves/{twin}"};
  string name = 1;
}
message GetTwinRequest { string name = 1; }
message DeleteNoteRequest { string name = 1 [(google.api.resource_reference) = {type: "t.example.com/Note"}]; }
message CreateMixedRequest { string parent = 1; Mixed mixed = 2; }
message Nest {
  option (google.api.resource) = {type: "t.example.com/Nest" pattern: "projects/{project}/nests/{nest}" pattern: "projects/{project}/nests/{nest}/parts/{part}"};
  string name = 1;
}
message ListNestsRequest { string parent = 1; }
message ListNestsResponse { repeated Nest nests = 1; }
message Pool {
  option (google.api.resource) = {type: "t.example.com/Pool" pattern: "projects/{project}/locations/{location}/pools/{pool}"};
  string name = 1;
}
message ListPoolsRequest { string parent = 1 [(google.api.resource_reference) = {type: "locations.googleapis.com/Location"}]; }
message ListPoolsResponse { repeated Pool pools = 1; }

service ShelfService {
  rpc ListBooks(ListBooksRequest) returns (ListBooksResponse);
  rpc GetBook(GetBookRequest) returns (Book);
  rpc CreateNote(CreateNoteRequest) returns (Note);
  rpc ListNotes(ListNotesRequest) returns (ListNotesResponse);
  rpc ListMemos(ListMemosRequest) returns (ListMemosResponse);
  rpc GetTwin(GetTwinRequest) returns (Twin);
  rpc Delete(DeleteNoteRequest) returns (google.protobuf.Empty);
  rpc GetShelf(GetBookRequest) returns (Shelf);
  rpc ListPools(ListPoolsRequest) returns (ListPoolsResponse);
}
service MixedService {
  rpc CreateMixed(CreateMixedRequest) returns (Mixed);
}
message Model { string name = 1; }
message Version { string name = 1; }
message GetVersionRequest { string name = 1; }
service ModelService {
  rpc GetVersion(GetVersionRequest) returns (Version);
}
service NestService {
  rpc ListNests(ListNestsRequest) returns (ListNestsResponse);
}
`,
	}
	for name, src := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(src), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	report := explained(t, request(t, []string{dir}, []string{"t.proto"}, "paths=source_relative"))
	wantServed(t, report, "t.v1.ShelfService", "ListBooks", "GetBook", "CreateNote", "ListNotes", "Delete", "GetShelf", "ListPools")
	for method, want := range map[string]string{
		"ListBooks":  "ListBooksRequest.parent is of type t.example.com/Folder, a parent of Book",
		"GetBook":    "GetBookRequest.name is of type t.example.com/Book",
		"CreateNote": "CreateNoteRequest.parent is of child_type t.example.com/Note",
		"Delete":     "deletes the Note whose name",
		"ListNotes":  "every name of Note it carries is checked against Note's google.api.resource patterns (projects/{project}/notes/{note}), which no Shelf name matches",
		"ListMemos":  "a method of a sub-resource",
		"GetTwin":    "a method of a sub-resource",
		"ListPools":  "ListPoolsRequest.parent is of type locations.googleapis.com/Location, a parent of Pool",
	} {
		if got := report["t.v1.ShelfService."+method]; !strings.Contains(got, want) {
			t.Errorf("%s: %s\nwant it to say %q", method, got, want)
		}
	}
	if got := report["t.v1.ShelfService.ListBooks"]; !strings.Contains(got, "folders/{folder} or projects/{project}") && !strings.Contains(got, "projects/{project} or folders/{folder}") {
		t.Errorf("ListBooks: %s\nwant it under a parent of either pattern", got)
	}
	if got := report["t.v1.MixedService.CreateMixed"]; !strings.Contains(got, "CreateMixedRequest.parent answers codes.Unimplemented") {
		t.Errorf("CreateMixed (two collections under one parent): %s\nwant parent refused", got)
	}
	if got := report["t.v1.ModelService.GetVersion"]; !strings.Contains(got, "neither checks its names against google.api.resource patterns") {
		t.Errorf("GetVersion (pattern-less, like its service's Model): %s\nwant it served from a repository of its own", got)
	}
	if got := report["t.v1.NestService.ListNests"]; !strings.Contains(got, "ListNestsRequest.parent answers codes.Unimplemented") {
		t.Errorf("ListNests (a pattern under another): %s\nwant parent refused", got)
	}
}

// TestFixedSegments: a pattern with fixed segments between its collections
// (locations/global, a singleton agent) takes a parent like any nested one:
// Create composes the name under it, List is scoped to it; so do the
// readable patterns of a resource that also has the pattern "*".
func TestFixedSegments(t *testing.T) {
	dir := t.TempDir()
	src := `syntax = "proto3";
package t.v1;
import "google/api/resource.proto";
option go_package = "example.com/t;t";

message Test {
  option (google.api.resource) = {type: "t.example.com/Test" pattern: "projects/{project}/locations/global/tests/{test}"};
  string name = 1;
}
message Intent {
  option (google.api.resource) = {type: "t.example.com/Intent" pattern: "projects/{project}/agent/intents/{intent}"};
  string name = 1;
}
message Check {
  option (google.api.resource) = {type: "t.example.com/Check" pattern: "projects/{project}/checks/{check}" pattern: "folders/{folder}/checks/{check}" pattern: "*"};
  string name = 1;
}
message CreateCheckRequest { string parent = 1; Check check = 2; }
message CreateTestRequest { string parent = 1; string test_id = 2; Test test = 3; }
message ListTestsRequest { string parent = 1; int32 page_size = 2; string page_token = 3; }
message ListTestsResponse { repeated Test tests = 1; string next_page_token = 2; }
message CreateIntentRequest { string parent = 1; Intent intent = 2; }
message ListIntentsRequest { string parent = 1; }
message ListIntentsResponse { repeated Intent intents = 1; }

service Tests {
  rpc CreateTest(CreateTestRequest) returns (Test);
  rpc ListTests(ListTestsRequest) returns (ListTestsResponse);
}
service Checks {
  rpc CreateCheck(CreateCheckRequest) returns (Check);
}
service Intents {
  rpc CreateIntent(CreateIntentRequest) returns (Intent);
  rpc ListIntents(ListIntentsRequest) returns (ListIntentsResponse);
}
`
	if err := os.WriteFile(filepath.Join(dir, "t.proto"), []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	req := request(t, []string{dir}, []string{"t.proto"}, "paths=source_relative")
	report := explained(t, req)
	for method, want := range map[string]string{
		"Tests.CreateTest":     "the new name is parent/tests/<test_id>",
		"Tests.ListTests":      "under the request's parent (projects/{project}/locations/global)",
		"Intents.CreateIntent": "the new name is parent/intents/<a server-assigned id>",
		"Intents.ListIntents":  "under the request's parent (projects/{project}/agent)",
		"Checks.CreateCheck":   "by the pattern parent matches (projects/{project}/checks/{check}, folders/{folder}/checks/{check};",
	} {
		got := report["t.v1."+method]
		if !strings.HasPrefix(got, "served from ") || !strings.Contains(got, want) || strings.Contains(got, "parent answers codes.Unimplemented") {
			t.Errorf("%s: %s\nwant it served, saying %q", method, got, want)
		}
	}
	resp := Respond(req)
	var server string
	for _, f := range resp.GetFile() {
		if strings.HasSuffix(f.GetName(), "_svc_server.pb.go") {
			server = f.GetContent()
		}
	}
	if want := `svcaip.ChildKeyPrefix("parent", req.GetParent(), "projects/{project}/locations/global/tests/{test}")`; !strings.Contains(server, want) {
		t.Errorf("the server does not call %s", want)
	}
}

// TestOddPatterns: patterns of any shape, and references to types nothing
// declares, never fail generation: a parent they cannot name is refused.
func TestOddPatterns(t *testing.T) {
	dir := t.TempDir()
	var src strings.Builder
	src.WriteString(`syntax = "proto3";
package t.v1;
import "google/api/resource.proto";
option go_package = "example.com/t;t";
option (google.api.resource_definition) = {type: "t.example.com/Empty"};
option (google.api.resource_definition) = {pattern: "x/{x}"};
`)
	patterns := [][]string{
		{"{a}/b/{c}", "{a}/{b}/c/{d}"}, {"a/{b}/c"}, {"x//{y}", "x/{y}/z/{w}"}, {"p/{p}/s/{s=**}", "p/{p}/t/{t}"},
		{"{x}", "{y}/z/{w}"}, {"*"}, {"a/{a}/b/{b}", "a/{a}/b/{b}"}, {"a/-/b/{b}", "c/{c}/b/{b}"}, {""}, {"/a/{a}", "a/{a}/b/{b}/"},
	}
	var services strings.Builder
	for i, ps := range patterns {
		fmt.Fprintf(&src, "message R%d {\n  option (google.api.resource) = {type: \"t.example.com/R%d\"", i, i)
		for _, p := range ps {
			fmt.Fprintf(&src, " pattern: %q", p)
		}
		fmt.Fprintf(&src, "};\n  string name = 1;\n}\n")
		fmt.Fprintf(&src, "message CreateR%dRequest { string parent = 1 [(google.api.resource_reference) = {type: \"t.example.com/Nothing\"}]; R%d r%d = 2; }\n", i, i, i)
		fmt.Fprintf(&src, "message ListR%dsRequest { string parent = 1 [(google.api.resource_reference) = {child_type: \"t.example.com/Empty\"}]; }\n", i)
		fmt.Fprintf(&src, "message ListR%dsResponse { repeated R%d items = 1; }\n", i, i)
		fmt.Fprintf(&services, "  rpc CreateR%d(CreateR%dRequest) returns (R%d);\n  rpc ListR%ds(ListR%dsRequest) returns (ListR%dsResponse);\n", i, i, i, i, i, i)
	}
	src.WriteString("service Odd {\n" + services.String() + "}\n")
	if err := os.WriteFile(filepath.Join(dir, "t.proto"), []byte(src.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	req := request(t, []string{dir}, []string{"t.proto"}, "paths=source_relative")
	report := explained(t, req)
	if len(report) != 2*len(patterns) {
		t.Errorf("%d methods explained, want %d", len(report), 2*len(patterns))
	}
	a, b := Respond(proto.CloneOf(req)), Respond(proto.CloneOf(req))
	if !proto.Equal(a, b) {
		t.Error("two generations of the same request differ")
	}
}

// TestQualifiedNouns: a method whose noun names its resource after a
// qualifier (Managed Microsoft AD's CreateMicrosoftAdDomain, Dataplex's
// ListLakeActions) is the resource's standard method when its service has
// no method of that verb naming the resource plainly; beside one
// (CreateOfflineProfile beside CreateProfile) it stays custom, and so do
// nouns that only start with the resource's name (UpdateDomainStatus).
func TestQualifiedNouns(t *testing.T) {
	src := `syntax = "proto3";
package t.v1;
import "google/api/resource.proto";
option go_package = "example.com/t;t";

message Domain {
  option (google.api.resource) = {type: "t.example.com/Domain" pattern: "projects/{project}/domains/{domain}"};
  string name = 1;
}
message Action {
  option (google.api.resource) = {type: "t.example.com/Action" pattern: "projects/{project}/lakes/{lake}/actions/{action}"};
  string name = 1;
}
message Profile {
  option (google.api.resource) = {type: "t.example.com/Profile" pattern: "projects/{project}/profiles/{profile}"};
  string name = 1;
}
message CreateMicrosoftAdDomainRequest { string parent = 1; string domain_name = 2; Domain domain = 3; }
message UpdateDomainStatusRequest { Domain domain = 1; }
message ListLakeActionsRequest { string parent = 1; int32 page_size = 2; string page_token = 3; }
message ListActionsResponse { repeated Action actions = 1; string next_page_token = 2; }
message CreateProfileRequest { string parent = 1; Profile profile = 2; }

service Directory {
  rpc CreateMicrosoftAdDomain(CreateMicrosoftAdDomainRequest) returns (Domain);
  rpc UpdateDomainStatus(UpdateDomainStatusRequest) returns (Domain);
  rpc ListLakeActions(ListLakeActionsRequest) returns (ListActionsResponse);
  rpc CreateProfile(CreateProfileRequest) returns (Profile);
  rpc CreateOfflineProfile(CreateProfileRequest) returns (Profile);
}
`
	report := explainedSource(t, src)
	wantServed(t, report, "t.v1.Directory", "CreateMicrosoftAdDomain", "ListLakeActions", "CreateProfile")
	if got := report["t.v1.Directory.CreateMicrosoftAdDomain"]; !strings.Contains(got, "its noun MicrosoftAdDomain names Domain after a qualifier (MicrosoftAd)") {
		t.Errorf("CreateMicrosoftAdDomain: %s\nwant the qualifier explained", got)
	}
	if got := report["t.v1.Directory.ListLakeActions"]; !strings.Contains(got, "under the request's parent") {
		t.Errorf("ListLakeActions: %s\nwant it under its parent", got)
	}
}

// TestOwnOperationsReadBack: a Create answering an API's own Operation (a
// resource with a status enum holding DONE) is served only where the
// service reads that Operation back; Compute's Disks, whose operations
// another service reads, keep CreateSnapshot custom.
func TestOwnOperationsReadBack(t *testing.T) {
	src := `syntax = "proto3";
package t.v1;
option go_package = "example.com/t;t";

message Operation {
  enum Status { STATUS_UNSPECIFIED = 0; DONE = 1; }
  string name = 1;
  Status status = 2;
}
message Snapshot { string name = 1; }
message CreateSnapshotRequest { string parent = 1; Snapshot snapshot = 2; }
message GetOperationRequest { string name = 1; }

service Disks {
  rpc CreateSnapshot(CreateSnapshotRequest) returns (Operation);
}
service Snapshots {
  rpc CreateSnapshot(CreateSnapshotRequest) returns (Operation);
  rpc GetOperation(GetOperationRequest) returns (Operation);
}
`
	report := explainedSource(t, src)
	wantServed(t, report, "t.v1.Disks")
	wantServed(t, report, "t.v1.Snapshots", "CreateSnapshot", "GetOperation")
	if got := report["t.v1.Snapshots.CreateSnapshot"]; !strings.Contains(got, "it answers the service's own Operation (not google.longrunning's)") {
		t.Errorf("Snapshots.CreateSnapshot: %s\nwant the recorded Operation explained", got)
	}
}

// TestShortNouns: a service named after a resource (RuntimeConfigManager)
// may call it by its last words (GetConfig); another service may not.
func TestShortNouns(t *testing.T) {
	src := `syntax = "proto3";
package t.v1;
option go_package = "example.com/t;t";

message RuntimeConfig { string name = 1; string description = 2; }
message GetConfigRequest { string name = 1; }
message DeleteConfigRequest { string name = 1; }
message Empty {}

service RuntimeConfigManager {
  rpc GetConfig(GetConfigRequest) returns (RuntimeConfig);
  rpc DeleteConfig(DeleteConfigRequest) returns (Empty);
}
service Settings {
  rpc GetConfig(GetConfigRequest) returns (RuntimeConfig);
}
`
	report := explainedSource(t, src)
	wantServed(t, report, "t.v1.RuntimeConfigManager", "GetConfig", "DeleteConfig")
	wantServed(t, report, "t.v1.Settings")
	if got := report["t.v1.RuntimeConfigManager.DeleteConfig"]; !strings.Contains(got, "its noun Config is RuntimeConfig without its leading words") {
		t.Errorf("DeleteConfig: %s\nwant the short noun explained", got)
	}
}

// explainedSource is the explain report of one file t.proto holding src.
func explainedSource(t *testing.T, src string) map[string]string {
	t.Helper()
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "t.proto"), []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	return explained(t, request(t, []string{dir}, []string{"t.proto"}, "paths=source_relative"))
}
