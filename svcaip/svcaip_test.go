package svcaip

import (
	"context"
	"strings"
	"testing"

	"github.com/bufbuild/protocompile"
	"github.com/google/go-cmp/cmp"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/encoding/prototext"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protodesc"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/reflect/protoregistry"
	"google.golang.org/protobuf/testing/protocmp"
	"google.golang.org/protobuf/types/descriptorpb"
	"google.golang.org/protobuf/types/dynamicpb"
	"google.golang.org/protobuf/types/known/fieldmaskpb"

	_ "google.golang.org/genproto/googleapis/api/annotations"
)

const testProto = `
syntax = "proto3";
package t.v1;
import "google/api/field_behavior.proto";
import "google/api/resource.proto";

message Book {
  option (google.api.resource) = {type: "t.example.com/Book" pattern: "shelves/{shelf}/books/{book}"};
  string name = 1 [(google.api.field_behavior) = IDENTIFIER];
  string title = 2 [(google.api.field_behavior) = REQUIRED];
  string isbn = 3 [(google.api.field_behavior) = IMMUTABLE];
  string state = 4 [(google.api.field_behavior) = OUTPUT_ONLY];
  Details details = 5;
  repeated Details editions = 6;
  optional int32 pages = 7 [(google.api.field_behavior) = REQUIRED];
  map<string, Details> translations = 8;
  string author = 9;
}

message Details {
  string publisher = 1 [(google.api.field_behavior) = REQUIRED];
  string checksum = 2 [(google.api.field_behavior) = OUTPUT_ONLY];
  string printer = 3 [(google.api.field_behavior) = IMMUTABLE];
}

enum BookView {
  BOOK_VIEW_UNSPECIFIED = 0;
  BOOK_VIEW_BASIC = 1;
  BOOK_VIEW_FULL = 2;
  BOOK_VIEW_SUMMARY = 3;
}

enum ShortView {
  VIEW_UNSPECIFIED = 0;
  BASIC = 1;
  FULL = 2;
  SUMMARY = 3;
}

// As App Engine's AuthorizedCertificateView: the basic view is the zero
// value, and the words come first.
enum CertificateView {
  BASIC_CERTIFICATE = 0;
  FULL_CERTIFICATE = 1;
  SUMMARY_CERTIFICATE = 2;
}

message ViewHolder {
  BookView view = 1;
  ShortView short = 2;
  CertificateView certificate = 3;
}

message CreateBookRequest {
  string parent = 1 [(google.api.field_behavior) = REQUIRED];
  Book book = 2 [(google.api.field_behavior) = REQUIRED];
  string book_id = 3;
}
`

var testFiles = func() map[string]protoreflect.MessageDescriptor {
	c := protocompile.Compiler{Resolver: protocompile.CompositeResolver{
		&protocompile.SourceResolver{Accessor: protocompile.SourceAccessorFromMap(map[string]string{"t.proto": testProto})},
		protocompile.ResolverFunc(func(path string) (protocompile.SearchResult, error) {
			fd, err := protoregistry.GlobalFiles.FindFileByPath(path)
			if err != nil {
				return protocompile.SearchResult{}, err
			}
			return protocompile.SearchResult{Desc: fd}, nil
		}),
	}}
	files, err := c.Compile(context.Background(), "t.proto")
	if err != nil {
		panic(err)
	}
	// Round trip through the wire form, so that the options hold the
	// extension types linked into the binary, as in generated code.
	b, err := proto.Marshal(protodesc.ToFileDescriptorProto(files[0]))
	if err != nil {
		panic(err)
	}
	fdp := &descriptorpb.FileDescriptorProto{}
	if err := proto.Unmarshal(b, fdp); err != nil {
		panic(err)
	}
	fd, err := protodesc.NewFile(fdp, protoregistry.GlobalFiles)
	if err != nil {
		panic(err)
	}
	out := map[string]protoreflect.MessageDescriptor{}
	msgs := fd.Messages()
	for i := range msgs.Len() {
		out[string(msgs.Get(i).Name())] = msgs.Get(i)
	}
	return out
}()

// msg parses text as a message of the named type of testProto.
func msg(t *testing.T, name, text string) proto.Message {
	t.Helper()
	m := dynamicpb.NewMessage(testFiles[name])
	if err := prototext.Unmarshal([]byte(text), m); err != nil {
		t.Fatalf("%s{%s}: %v", name, text, err)
	}
	return m
}

// violations returns the fields of err's BadRequest detail, after checking
// that err is InvalidArgument with one.
func violations(t *testing.T, err error) []string {
	t.Helper()
	st, ok := status.FromError(err)
	if !ok || st.Code() != codes.InvalidArgument {
		t.Fatalf("error %v: want an InvalidArgument status", err)
	}
	var fields []string
	for _, d := range st.Details() {
		if br, ok := d.(*errdetails.BadRequest); ok {
			for _, v := range br.GetFieldViolations() {
				fields = append(fields, v.GetField())
				if !strings.Contains(st.Message(), v.GetField()+" "+v.GetDescription()) {
					t.Errorf("message %q does not say %s %s", st.Message(), v.GetField(), v.GetDescription())
				}
			}
		}
	}
	if len(fields) == 0 {
		t.Fatalf("error %v has no BadRequest field violation", err)
	}
	return fields
}

func TestCheckName(t *testing.T) {
	patterns := []string{"shelves/{shelf}/books/{book}", "authors/{author}/books/{book}"}
	for _, name := range []string{"shelves/1/books/2", "authors/x/books/y-z", "shelves/0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b/books/b"} {
		if err := CheckName("name", name, patterns...); err != nil {
			t.Errorf("CheckName(%q) = %v, want nil", name, err)
		}
	}
	for _, name := range []string{"", "shelves/1", "shelves/1/books/", "shelves//books/2", "rooms/1/books/2", "shelves/1/books/2/pages/3",
		"x", "users/evil", "shelves/{shelf}/books/2", strings.Repeat("a/", 1000),
		"/shelves/1/books/2", "//library.example.com/shelves/1/books/2", "shelves/-/books/2", "shelves/1/books/-", "shelves/1/books/2/"} {
		err := CheckName("book.name", name, patterns...)
		if got := violations(t, err); !cmp.Equal(got, []string{"book.name"}) {
			t.Errorf("CheckName(%.40q): violations %v, want book.name", name, got)
		}
		if len(status.Convert(err).Message()) > 400 {
			t.Errorf("CheckName(%.40q): message of %d bytes, want it cut short", name, len(status.Convert(err).Message()))
		}
	}
}

func TestChildKeyPrefix(t *testing.T) {
	patterns := []string{"projects/{project}/secrets/{secret}", "projects/{project}/locations/{location}/secrets/{secret}", "folders/{folder}/secrets/{secret}"}
	for parent, want := range map[string]string{
		"projects/p":             "projects/p/secrets/",
		"projects/p/locations/l": "projects/p/locations/l/secrets/",
		"folders/f":              "folders/f/secrets/",
	} {
		if got, err := ChildKeyPrefix("parent", parent, patterns...); err != nil || got != want {
			t.Errorf("ChildKeyPrefix(%q) = %q, %v; want %q", parent, got, err, want)
		}
	}
	for _, parent := range []string{"", "projects", "projects/", "projects//locations/l", "projects/p/locations", "projects/p/locations/l/x",
		"organizations/o", "projects/p/secrets/s", "/projects/p", "//secrets.example.com/projects/p", "projects/{project}", strings.Repeat("a/", 1000)} {
		_, err := ChildKeyPrefix("parent", parent, patterns...)
		if got := violations(t, err); !cmp.Equal(got, []string{"parent"}) {
			t.Errorf("ChildKeyPrefix(%.40q): violations %v, want parent", parent, got)
		}
		if msg := status.Convert(err).Message(); len(msg) > 500 || !strings.Contains(msg, "projects/{project}/locations/{location}") {
			t.Errorf("ChildKeyPrefix(%.40q): message %.100q (%d bytes), want it short and naming the forms", parent, msg, len(msg))
		}
	}
	for _, parent := range []string{"projects/-", "projects/p/locations/-"} {
		if _, err := ChildKeyPrefix("parent", parent, patterns...); status.Code(err) != codes.Unimplemented {
			t.Errorf("ChildKeyPrefix(%q) = %v, want Unimplemented", parent, err)
		}
	}
	// Fixed segments between collections are matched as written.
	fixed := "projects/{project}/locations/global/tests/{test}"
	if got, err := ChildKeyPrefix("parent", "projects/p/locations/global", fixed); err != nil || got != "projects/p/locations/global/tests/" {
		t.Errorf("ChildKeyPrefix(projects/p/locations/global) = %q, %v", got, err)
	}
	if _, err := ChildKeyPrefix("parent", "projects/p/locations/us", fixed); status.Code(err) != codes.InvalidArgument {
		t.Errorf("ChildKeyPrefix(projects/p/locations/us) = %v, want InvalidArgument", err)
	}
}

func TestCheckRequired(t *testing.T) {
	if err := CheckRequired(msg(t, "CreateBookRequest", `parent: "shelves/1" book {}`)); err != nil {
		t.Errorf("complete request: %v", err)
	}
	got := violations(t, CheckRequired(msg(t, "CreateBookRequest", `book_id: "x"`)))
	if want := []string{"parent", "book"}; !cmp.Equal(got, want) {
		t.Errorf("violations %v, want %v", got, want)
	}
}

func TestPrepareCreate(t *testing.T) {
	in := msg(t, "Book", `name: "shelves/1/books/mine" title: "T" pages: 0 isbn: "i" state: "forged" author: "a"
		details { publisher: "p" checksum: "forged" } editions { publisher: "q" checksum: "forged" }`)
	if err := PrepareCreate(in, "book", "name"); err != nil {
		t.Fatalf("PrepareCreate: %v", err)
	}
	want := msg(t, "Book", `title: "T" pages: 0 isbn: "i" author: "a" details { publisher: "p" } editions { publisher: "q" }`)
	if d := cmp.Diff(want, in, protocmp.Transform()); d != "" {
		t.Errorf("PrepareCreate: OUTPUT_ONLY and IDENTIFIER fields not cleared (-want +got):\n%s", d)
	}

	// A request that is the resource names it itself.
	whole := msg(t, "Book", `name: "shelves/1/books/mine" title: "T" pages: 1`)
	if err := PrepareCreate(whole, "", "name"); err != nil || whole.ProtoReflect().Get(testFiles["Book"].Fields().ByName("name")).String() != "shelves/1/books/mine" {
		t.Errorf("PrepareCreate(whole) = %v, name %v; want the name kept", err, whole)
	}

	// A resource the request names itself keeps its IDENTIFIER name.
	named := msg(t, "Book", `name: "shelves/1/books/mine" title: "T" pages: 1 state: "forged"`)
	if err := PrepareCreateNamed(named, "book", "name"); err != nil {
		t.Fatalf("PrepareCreateNamed: %v", err)
	}
	if d := cmp.Diff(msg(t, "Book", `name: "shelves/1/books/mine" title: "T" pages: 1`), named, protocmp.Transform()); d != "" {
		t.Errorf("PrepareCreateNamed (-want +got):\n%s", d)
	}

	// Every missing REQUIRED field is named, at any depth, but the key.
	err := PrepareCreate(msg(t, "Book", `details {} editions {} editions { publisher: "x" } translations { key: "fr" value {} }`), "book", "name")
	want2 := []string{"book.title", "book.details.publisher", "book.editions[0].publisher", "book.pages", `book.translations["fr"].publisher`}
	if got := violations(t, err); !cmp.Equal(got, want2) {
		t.Errorf("violations %v, want %v", got, want2)
	}
}

func TestPrepareUpdate(t *testing.T) {
	stored := func() proto.Message {
		return msg(t, "Book", `name: "shelves/1/books/b" title: "T" pages: 3 isbn: "i" state: "ACTIVE" details { publisher: "p" checksum: "c" printer: "pr" }`)
	}
	mask := func(paths ...string) *fieldmaskpb.FieldMask { return &fieldmaskpb.FieldMask{Paths: paths} }
	for _, c := range []struct {
		what  string
		res   string
		mask  *fieldmaskpb.FieldMask
		want  string   // res afterwards
		wrong []string // or the violations
	}{
		{what: "masked title", res: `name: "shelves/1/books/b" title: "U" state: "forged"`, mask: mask("title"),
			want: `name: "shelves/1/books/b" title: "U" state: "ACTIVE"`},
		{what: "required field in the mask cleared", res: `name: "shelves/1/books/b"`, mask: mask("title", "author"), wrong: []string{"book.title"}},
		{what: "required field outside the mask", res: `name: "shelves/1/books/b" author: "a"`, mask: mask("author"),
			want: `name: "shelves/1/books/b" author: "a" state: "ACTIVE"`},
		{what: "nested required through its message's path", res: `name: "shelves/1/books/b" details {}`, mask: mask("details"),
			wrong: []string{"book.details.publisher", "book.details.printer"}},
		{what: "full replacement needs every required field", res: `name: "shelves/1/books/b" isbn: "i" details { printer: "pr" }`, mask: mask("*"),
			wrong: []string{"book.title", "book.details.publisher", "book.pages"}},
		{what: "no mask: only what is populated is written", res: `name: "shelves/1/books/b" author: "a" state: "forged"`,
			want: `name: "shelves/1/books/b" author: "a"`},
		{what: "immutable changed", res: `name: "shelves/1/books/b" isbn: "j"`, mask: mask("isbn"), wrong: []string{"book.isbn"}},
		{what: "immutable changed, no mask", res: `name: "shelves/1/books/b" isbn: "j"`, wrong: []string{"book.isbn"}},
		{what: "nothing populated, no mask", res: ``, want: ``},
		{what: "immutable sent unchanged", res: `name: "shelves/1/books/b" isbn: "i" title: "V"`, mask: mask("isbn", "title"),
			want: `name: "shelves/1/books/b" isbn: "i" title: "V" state: "ACTIVE"`},
		{what: "immutable cleared by a full replacement", res: `name: "shelves/1/books/b" title: "T" pages: 3 details { publisher: "p" printer: "pr" }`, mask: mask("*"),
			wrong: []string{"book.isbn"}},
		{what: "nested immutable changed", res: `name: "shelves/1/books/b" details { publisher: "p" printer: "other" }`, mask: mask("details"),
			wrong: []string{"book.details.printer"}},
		{what: "nested output-only kept from the stored message", res: `name: "shelves/1/books/b" details { publisher: "q" printer: "pr" checksum: "forged" }`, mask: mask("details"),
			want: `name: "shelves/1/books/b" state: "ACTIVE" details { publisher: "q" printer: "pr" checksum: "c" }`},
		{what: "output-only in a list cleared", res: `name: "shelves/1/books/b" editions { publisher: "q" checksum: "forged" }`, mask: mask("editions"),
			want: `name: "shelves/1/books/b" state: "ACTIVE" editions { publisher: "q" }`},
	} {
		t.Run(c.what, func(t *testing.T) {
			res := msg(t, "Book", c.res)
			err := PrepareUpdate(stored(), res, c.mask, "book")
			if c.wrong != nil {
				if got := violations(t, err); !cmp.Equal(got, c.wrong) {
					t.Errorf("violations %v, want %v", got, c.wrong)
				}
				return
			}
			if err != nil {
				t.Fatalf("PrepareUpdate: %v", err)
			}
			if d := cmp.Diff(msg(t, "Book", c.want), res, protocmp.Transform()); d != "" {
				t.Errorf("resource to write (-want +got):\n%s", d)
			}
		})
	}
}

func TestReadMask(t *testing.T) {
	book := func() proto.Message {
		return msg(t, "Book", `name: "shelves/1/books/b" title: "T" pages: 3 details { publisher: "p" checksum: "c" } editions { publisher: "q" }`)
	}
	mask := func(paths ...string) *fieldmaskpb.FieldMask { return &fieldmaskpb.FieldMask{Paths: paths} }
	for _, c := range []struct {
		mask *fieldmaskpb.FieldMask
		want string
	}{
		{nil, `name: "shelves/1/books/b" title: "T" pages: 3 details { publisher: "p" checksum: "c" } editions { publisher: "q" }`},
		{mask("*"), `name: "shelves/1/books/b" title: "T" pages: 3 details { publisher: "p" checksum: "c" } editions { publisher: "q" }`},
		{mask("name", "title"), `name: "shelves/1/books/b" title: "T"`},
		{mask("details.publisher", "editions"), `details { publisher: "p" } editions { publisher: "q" }`},
		{mask("isbn"), ``},
	} {
		if err := CheckReadMask(c.mask, book()); err != nil {
			t.Fatalf("CheckReadMask(%v): %v", c.mask.GetPaths(), err)
		}
		got := ReadMask(c.mask, book())
		if d := cmp.Diff(msg(t, "Book", c.want), got, protocmp.Transform()); d != "" {
			t.Errorf("ReadMask(%v) (-want +got):\n%s", c.mask.GetPaths(), d)
		}
		items := []proto.Message{book(), book()}
		ReadMasks(c.mask, items)
		for _, it := range items {
			if d := cmp.Diff(msg(t, "Book", c.want), it, protocmp.Transform()); d != "" {
				t.Errorf("ReadMasks(%v) (-want +got):\n%s", c.mask.GetPaths(), d)
			}
		}
	}
	for _, m := range []*fieldmaskpb.FieldMask{mask("nosuch"), mask("title.x"), mask("*", "title"), mask("")} {
		if got := violations(t, CheckReadMask(m, book())); !cmp.Equal(got, []string{"read_mask"}) {
			t.Errorf("CheckReadMask(%q): violations %v", m.GetPaths(), got)
		}
	}
}

func TestPreview(t *testing.T) {
	cur := msg(t, "Book", `name: "shelves/1/books/b" title: "T" pages: 3 author: "a" details { publisher: "p" printer: "pr" }`)
	res := msg(t, "Book", `name: "shelves/1/books/b" title: "U" details { publisher: "q" }`)
	mask := func(paths ...string) *fieldmaskpb.FieldMask { return &fieldmaskpb.FieldMask{Paths: paths} }
	for _, c := range []struct {
		mask *fieldmaskpb.FieldMask
		want string
	}{
		{mask("title"), `name: "shelves/1/books/b" title: "U" pages: 3 author: "a" details { publisher: "p" printer: "pr" }`},
		{mask("details.publisher", "author"), `name: "shelves/1/books/b" title: "T" pages: 3 details { publisher: "q" printer: "pr" }`},
		{nil, `name: "shelves/1/books/b" title: "U" pages: 3 author: "a" details { publisher: "q" }`},
		{mask("*"), `name: "shelves/1/books/b" title: "U" details { publisher: "q" }`},
	} {
		got, err := Preview(cur, res, c.mask)
		if err != nil {
			t.Fatalf("Preview(%v): %v", c.mask.GetPaths(), err)
		}
		if d := cmp.Diff(msg(t, "Book", c.want), got, protocmp.Transform()); d != "" {
			t.Errorf("Preview(%v) (-want +got):\n%s", c.mask.GetPaths(), d)
		}
	}
	if _, err := Preview(cur, res, mask("nosuch")); !cmp.Equal(violations(t, err), []string{"update_mask"}) {
		t.Errorf("Preview(nosuch): %v", err)
	}
	if d := cmp.Diff(msg(t, "Book", `name: "shelves/1/books/b" title: "T" pages: 3 author: "a" details { publisher: "p" printer: "pr" }`), cur, protocmp.Transform()); d != "" {
		t.Errorf("Preview changed cur:\n%s", d)
	}
}

func TestCheckEtag(t *testing.T) {
	b := msg(t, "Book", ``)
	if CheckEtag(b, "k", `"1"`, "") != nil || CheckEtag(b, "k", `"1"`, `"1"`) != nil {
		t.Error("a matching or empty etag is refused")
	}
	if err := CheckEtag(b, "k", `"2"`, `"1"`); status.Code(err) != codes.Aborted || !strings.Contains(err.Error(), "t.v1.Book") {
		t.Errorf("stale etag: %v, want Aborted naming the type", err)
	}
}

func TestValidateCreate(t *testing.T) {
	ctx := context.Background()
	stored := map[string]proto.Message{"shelves/1/books/b": msg(t, "Book", `name: "shelves/1/books/b"`)}
	get := func(_ context.Context, key string) (proto.Message, error) {
		if key == "broken" {
			return nil, status.Error(codes.Unavailable, "down")
		}
		if m, ok := stored[key]; ok {
			return m, nil
		}
		return nil, status.Error(codes.NotFound, "not found")
	}
	for key, want := range map[string]codes.Code{
		"": codes.OK, "shelves/1/books/c": codes.OK, "shelves/1/books/b": codes.AlreadyExists,
		"broken": codes.Unavailable, strings.Repeat("k", 3000): codes.InvalidArgument,
	} {
		if got := status.Code(ValidateCreate(ctx, get, key)); got != want {
			t.Errorf("ValidateCreate(%.20q) = %v, want %v", key, got, want)
		}
	}
}

func TestCheckView(t *testing.T) {
	for _, f := range []protoreflect.Name{"view", "short"} {
		ed := testFiles["ViewHolder"].Fields().ByName(f).Enum()
		for n, want := range map[protoreflect.EnumNumber]codes.Code{0: codes.OK, 1: codes.OK, 2: codes.OK, 3: codes.Unimplemented, 9: codes.InvalidArgument} {
			err := CheckView(dynamicpb.NewEnumType(ed).New(n))
			if got := status.Code(err); got != want {
				t.Errorf("CheckView(%s %d) = %v, want %v", ed.Name(), n, err, want)
			}
		}
	}
}

func TestApplyView(t *testing.T) {
	book := dynamicpb.NewMessage(testFiles["Book"])
	if err := prototext.Unmarshal([]byte(`name: "shelves/s/books/b" title: "T" pages: 3 details {publisher: "P"} editions {publisher: "E"} translations {key: "fr" value {publisher: "F"}}`), book); err != nil {
		t.Fatal(err)
	}
	ed := testFiles["ViewHolder"].Fields().ByName("view").Enum()
	view := func(n protoreflect.EnumNumber) protoreflect.Enum { return dynamicpb.NewEnumType(ed).New(n) }
	for _, n := range []protoreflect.EnumNumber{0, 2, 3} {
		if got := ApplyView(view(n), book); !proto.Equal(got, book) {
			t.Errorf("ApplyView(%d) = %v, want the whole book", n, got)
		}
	}
	basic := ApplyView(view(1), book)
	want := dynamicpb.NewMessage(testFiles["Book"])
	if err := prototext.Unmarshal([]byte(`name: "shelves/s/books/b" title: "T" pages: 3`), want); err != nil {
		t.Fatal(err)
	}
	if !proto.Equal(basic, want) {
		t.Errorf("ApplyView(BASIC) = %v, want %v", basic, want)
	}
	if !book.Has(testFiles["Book"].Fields().ByName("details")) {
		t.Error("ApplyView changed the resource it was given")
	}
	cert := testFiles["ViewHolder"].Fields().ByName("certificate").Enum()
	if got := ApplyView(dynamicpb.NewEnumType(cert).New(0), book); !proto.Equal(got, want) {
		t.Errorf("ApplyView(BASIC_CERTIFICATE, the zero value) = %v, want %v", got, want)
	}
	if got := ApplyView(dynamicpb.NewEnumType(cert).New(1), book); !proto.Equal(got, book) {
		t.Errorf("ApplyView(FULL_CERTIFICATE) = %v, want the whole book", got)
	}
	for n, want := range map[protoreflect.EnumNumber]codes.Code{0: codes.OK, 1: codes.OK, 2: codes.Unimplemented} {
		if got := status.Code(CheckView(dynamicpb.NewEnumType(cert).New(n))); got != want {
			t.Errorf("CheckView(CertificateView %d) = %v, want %v", n, got, want)
		}
	}
	items := []*dynamicpb.Message{book}
	ApplyViews(view(1), items)
	if !proto.Equal(items[0], want) {
		t.Errorf("ApplyViews(BASIC) = %v", items[0])
	}
}

func TestCollectionKeyPrefix(t *testing.T) {
	for parent, want := range map[string]codes.Code{
		"apps/a": codes.OK, "apps/a/services/s": codes.OK,
		"": codes.InvalidArgument, "apps": codes.InvalidArgument, "apps/a/": codes.InvalidArgument,
		"/apps/a": codes.InvalidArgument, "apps//services/s": codes.InvalidArgument,
		"apps/-": codes.Unimplemented,
	} {
		prefix, err := CollectionKeyPrefix("parent", parent, "versions")
		if status.Code(err) != want {
			t.Errorf("CollectionKeyPrefix(%q) = %q, %v; want %v", parent, prefix, err, want)
		}
		if err == nil && prefix != parent+"/versions/" {
			t.Errorf("CollectionKeyPrefix(%q) = %q", parent, prefix)
		}
	}
	if err := CheckID("version_id", "v1"); err != nil {
		t.Error(err)
	}
	if err := CheckID("version_id", "v1/x"); status.Code(err) != codes.InvalidArgument || !strings.Contains(err.Error(), "version_id") {
		t.Errorf("CheckID of an id with a slash: %v", err)
	}
}

func TestNameUnder(t *testing.T) {
	const prefix = "projects/p/models/m/versions/"
	for name, want := range map[string]string{
		"v1":                           prefix + "v1",
		prefix + "v2":                  prefix + "v2",
		"projects/p/models/other/v1":   "",
		"a/b":                          "",
		prefix:                         "",
		prefix + "team/app":            prefix + "team/app",
		prefix + "team//app":           "",
		prefix + "app/":                "",
		"projects/p/models/m/versions": "",
	} {
		got, err := NameUnder("CreateVersionRequest.version.name", prefix, name)
		if want == "" {
			if status.Code(err) != codes.InvalidArgument || !strings.Contains(err.Error(), "CreateVersionRequest.version.name") {
				t.Errorf("NameUnder(%q) = %q, %v; want InvalidArgument naming the field", name, got, err)
			}
			continue
		}
		if err != nil || got != want {
			t.Errorf("NameUnder(%q) = %q, %v; want %q", name, got, err, want)
		}
	}
	got, err := NameUnder("f", prefix, "")
	if id, ok := strings.CutPrefix(got, prefix); err != nil || !ok || id == "" || strings.Contains(id, "/") {
		t.Errorf("NameUnder of an empty name = %q, %v; want a server-assigned id under the prefix", got, err)
	}
}

func TestMissingAs(t *testing.T) {
	missing, found := &errdetails.ResourceInfo{ResourceName: "missing"}, &errdetails.ResourceInfo{ResourceName: "found"}
	notFound := status.Error(codes.NotFound, "no")
	if got, err := MissingAs(true, missing)(nil, notFound); err != nil || got != missing {
		t.Errorf("allowed NotFound = %v, %v; want the missing answer", got, err)
	}
	if _, err := MissingAs(false, missing)(nil, notFound); status.Code(err) != codes.NotFound {
		t.Errorf("NotFound without allow = %v; want NotFound", err)
	}
	if _, err := MissingAs(true, missing)(nil, status.Error(codes.Aborted, "etag")); status.Code(err) != codes.Aborted {
		t.Errorf("another error = %v; want it passed through", err)
	}
	if got, err := MissingAs(true, missing)(found, nil); err != nil || got != found {
		t.Errorf("a deleted resource = %v, %v; want it passed through", got, err)
	}
}
