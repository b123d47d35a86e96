package gen

import (
	"bytes"
	"fmt"
	"github.com/svcgen/protoc-gen-svc/internal/testenv"
	"math/rand"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"

	"google.golang.org/protobuf/compiler/protogen"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/descriptorpb"
	"google.golang.org/protobuf/types/pluginpb"
)

// The large request: a synthetic API surface shaped like a big
// organisation's. At scale 1 it has 30 Go packages of 10 proto files each
// (300 files): one types.proto of shared messages and enums, and nine
// service files, each with one service of 12 methods (3,240 methods): the
// five AIP standard methods of the resource the file declares, and custom
// methods of every RPC kind, some taking or returning messages of another
// package. Services and methods carry comments, idempotency levels,
// deprecation and svc.v1 options; resources are keyed by name, id or a
// field named by (svc.v1.resource), some with google.api.resource, etags and
// timestamps. Scale k has k times as many packages, the same shape.
//
// The .proto text is generated deterministically (a fixed seed per scale)
// and compiled in-process with compileProtos, so the descriptors, source
// info and options are exactly what protoc would send.

const (
	largePackagesPerScale = 30
	largeServiceFiles     = 9 // per package, besides types.proto
	largeMethodsPerSvc    = 12
)

// largeDomains name the packages; scale k repeats them with a number.
var largeDomains = []string{
	"billing", "identity", "catalog", "orders", "shipping", "payments", "search", "ads", "maps", "mail",
	"storage", "compute", "network", "monitoring", "logging", "audit", "support", "pricing", "inventory", "fleet",
	"media", "chat", "calendar", "docs", "drive", "photos", "games", "health", "travel", "weather",
}

// largeNouns are the resources, with plurals in every form pluralOf
// understands (s, es, ies, ves).
var largeNouns = []string{
	"Book", "Box", "Library", "Shelf", "Invoice", "Address", "Policy", "Account", "Wolf", "Knife",
	"Ticket", "Batch", "Company", "Device", "Leaf", "Match", "Route", "Entry", "Order", "Widget",
}

// largeRequests caches the request of each scale for the test binary.
var largeRequests sync.Map // int -> *largeResult

type largeResult struct {
	once sync.Once
	req  *pluginpb.CodeGeneratorRequest
	err  error
}

// largeRequest returns the CodeGeneratorRequest of the given scale with
// parameter paths=source_relative. Callers must not modify it (clone it
// first).
func largeRequest(tb testing.TB, scale int) *pluginpb.CodeGeneratorRequest {
	tb.Helper()
	v, _ := largeRequests.LoadOrStore(scale, &largeResult{})
	r := v.(*largeResult)
	r.once.Do(func() {
		dir, err := os.MkdirTemp("", "svc-large")
		if err != nil {
			r.err = err
			return
		}
		defer os.RemoveAll(dir)
		// A failure here ends the first caller; later ones see r.req == nil.
		r.err = fmt.Errorf("building the large request of scale %d failed (see the first failure)", scale)
		r.req = request(tb, []string{dir}, writeLargeProtos(dir, scale), "paths=source_relative")
		r.err = nil
	})
	if r.err != nil {
		tb.Fatal(r.err)
	}
	return r.req
}

// largeRequestBytes is the marshalled large request, as protoc would write
// it on a plugin's stdin.
func largeRequestBytes(tb testing.TB, scale int) []byte {
	tb.Helper()
	b, err := proto.MarshalOptions{Deterministic: true}.Marshal(largeRequest(tb, scale))
	if err != nil {
		tb.Fatal(err)
	}
	return b
}

// writeLargeProtos writes the .proto files of the given scale under dir and
// returns their paths, relative to dir, in a dependency order.
func writeLargeProtos(dir string, scale int) []string {
	rng := rand.New(rand.NewSource(int64(scale) * 7919))
	npkg := largePackagesPerScale * scale
	var files []string
	write := func(path, content string) {
		full := filepath.Join(dir, filepath.FromSlash(path))
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			panic(err)
		}
		if err := os.WriteFile(full, []byte(content), 0o644); err != nil {
			panic(err)
		}
		files = append(files, path)
	}
	for p := 0; p < npkg; p++ {
		write(largeDir(p)+"/types.proto", largeTypesProto(p))
	}
	for p := 0; p < npkg; p++ {
		for j := 0; j < largeServiceFiles; j++ {
			other := (p + 1 + j*7) % npkg
			if other == p {
				other = (p + 1) % npkg
			}
			noun := largeNouns[(p+j)%len(largeNouns)]
			write(fmt.Sprintf("%s/%s_service.proto", largeDir(p), snake(noun)), largeServiceProto(rng, p, j, other, noun))
		}
	}
	return files
}

func largeDomain(p int) string {
	d := largeDomains[p%len(largeDomains)]
	if n := p / len(largeDomains); n > 0 {
		d += fmt.Sprint(n + 1)
	}
	return d
}

func largeDir(p int) string     { return "acme/" + largeDomain(p) + "/v1" }
func largePackage(p int) string { return "acme." + largeDomain(p) + ".v1" }

// largeTypesProto is the shared types file of package p: messages other
// packages import, an enum, nested messages and well-known types.
func largeTypesProto(p int) string {
	var b strings.Builder
	fmt.Fprintf(&b, `syntax = "proto3";

// Package %[1]s holds the shared types of the %[2]s API.
package %[1]s;

import "google/protobuf/any.proto";
import "google/protobuf/duration.proto";
import "google/protobuf/struct.proto";
import "google/protobuf/timestamp.proto";

option go_package = "example.com/acme/%[2]s/v1;%[2]sv1";

// State is the lifecycle state of a %[2]s resource.
enum State {
  STATE_UNSPECIFIED = 0;
  // The resource is being created.
  STATE_CREATING = 1;
  STATE_ACTIVE = 2;
  STATE_DELETED = 3;
}

// Event is something that happened to a %[2]s resource.
message Event {
  // The resource the event is about.
  string resource = 1;
  State state = 2;
  google.protobuf.Timestamp time = 3;
  google.protobuf.Struct details = 4;
  repeated google.protobuf.Any payload = 5;

  // Origin says where the event came from.
  message Origin {
    string service = 1;
    string region = 2;
    optional int64 sequence = 3;
  }
  Origin origin = 6;
}

// Note annotates a resource.
message Note {
  string text = 1;
  string author = 2;
  map<string, string> labels = 3;
  google.protobuf.Duration ttl = 4;
  oneof target {
    string resource = 5;
    string collection = 6;
  }
}

// Chunk is a piece of an upload.
message Chunk {
  bytes data = 1;
  int64 offset = 2;
  bool last = 3;
}

// UploadSummary answers an upload.
message UploadSummary {
  int64 bytes = 1;
  string digest = 2;
}
`, largePackage(p), largeDomain(p))
	return b.String()
}

// largeServiceProto is the service file j of package p: a resource, the
// messages of its standard methods, and a service of largeMethodsPerSvc
// methods, some of which use the types of package other.
func largeServiceProto(rng *rand.Rand, p, j, other int, noun string) string {
	plural := largePlural(noun)
	field := snake(noun)
	pkg, otherPkg := largePackage(p), largePackage(other)
	variant := (p*largeServiceFiles + j) % 4
	key := []string{"name", "id", "name", "uid"}[variant]

	var b strings.Builder
	w := func(format string, args ...any) { fmt.Fprintf(&b, format, args...) }
	w(`syntax = "proto3";

// %[1]s service of the %[2]s API.
package %[3]s;

import "%[4]s/types.proto";
import "%[5]s/types.proto";
import "google/api/resource.proto";
import "google/protobuf/empty.proto";
import "google/protobuf/field_mask.proto";
import "google/protobuf/timestamp.proto";
import "svc/v1/options.proto";

option go_package = "example.com/acme/%[2]s/v1;%[2]sv1";

`, noun, largeDomain(p), pkg, largeDir(p), largeDir(other))

	// The resource.
	w("// A %s of the %s API.\n", noun, largeDomain(p))
	w("// It is a resource: its standard methods are served from a repository.\n")
	w("message %s {\n", noun)
	switch variant {
	case 0:
		w("  option (google.api.resource) = {\n    type: \"%s.example.com/%s\"\n    pattern: \"%s/{%s}\"\n  };\n",
			largeDomain(p), noun, strings.ToLower(plural), field)
	case 3:
		w("  option (svc.v1.resource) = {key_field: \"uid\"};\n")
	}
	w("  // The resource's key.\n  string %s = 1;\n", key)
	w("  string display_name = 2;\n  string description = 3;\n  State state = 4;\n")
	w("  map<string, string> labels = 5;\n  repeated Note notes = 6;\n  optional int64 size = 7;\n")
	w("  %s.Event last_event = 8;\n", otherPkg)
	if variant != 1 {
		w("  string etag = 9;\n  google.protobuf.Timestamp create_time = 10;\n  google.protobuf.Timestamp update_time = 11;\n")
	}
	w("  // Spec is the desired state.\n  message Spec {\n    string image = 1;\n    repeated string args = 2;\n    optional bool enabled = 3;\n  }\n  Spec spec = 12;\n")
	for i := 0; i < 3+rng.Intn(4); i++ {
		w("  string extra_%d = %d;\n", i, 20+i)
	}
	w("}\n\n")

	// The standard methods' messages.
	w("message Get%sRequest {\n  // The key of the %s.\n  string %s = 1;\n}\n\n", noun, noun, key)
	w("message List%sRequest {\n  int32 page_size = 1;\n  string page_token = 2;\n}\n\n", plural)
	w("message List%sResponse {\n  repeated %s %s = 1;\n  string next_page_token = 2;\n}\n\n", plural, noun, snake(plural))
	w("message Create%sRequest {\n  %s %s = 1;\n  string %s_id = 2;\n}\n\n", noun, noun, field, field)
	w("message Update%sRequest {\n  %s %s = 1;\n  google.protobuf.FieldMask update_mask = 2;\n}\n\n", noun, noun, field)
	w("message Delete%sRequest {\n  string %s = 1;\n  string etag = 2;\n}\n\n", noun, key)
	w("message Import%sResponse {\n  repeated %s %s = 1;\n}\n\n", plural, noun, snake(plural))
	w("message Watch%sRequest {\n  string filter = 1;\n  google.protobuf.Timestamp since = 2;\n}\n\n", plural)
	w("message Search%sRequest {\n  string query = 1;\n  int32 limit = 2;\n  repeated string fields = 3;\n}\n\n", plural)
	w("message Search%sResponse {\n  repeated %s results = 1;\n  int32 total = 2;\n}\n\n", plural, noun)

	// The service.
	svc := noun + "Service"
	w("// %s manages %s resources.\n//\n// It is one of the services of the %s API.\n", svc, strings.ToLower(plural), largeDomain(p))
	w("service %s {\n", svc)
	if j%3 == 0 {
		w("  option (svc.v1.service) = {timeout: {seconds: %d}};\n", 2+rng.Intn(20))
	}
	if j == largeServiceFiles-1 && p%5 == 0 {
		w("  option deprecated = true;\n")
	}
	method := func(comment, name, in, out, opts string) {
		w("  // %s\n  rpc %s(%s) returns (%s)", comment, name, in, out)
		if opts == "" {
			w(";\n")
			return
		}
		w(" {\n%s  }\n", opts)
	}
	idem := func(level string) string { return "    option idempotency_level = " + level + ";\n" }
	method("Get"+noun+" reads one "+noun+".", "Get"+noun, "Get"+noun+"Request", noun, idem("NO_SIDE_EFFECTS"))
	method("List"+plural+" lists "+strings.ToLower(plural)+", a page at a time.", "List"+plural, "List"+plural+"Request", "List"+plural+"Response", idem("NO_SIDE_EFFECTS"))
	method("Create"+noun+" creates a "+noun+".", "Create"+noun, "Create"+noun+"Request", noun, "")
	method("Update"+noun+" updates the fields of the mask.", "Update"+noun, "Update"+noun+"Request", noun, idem("IDEMPOTENT"))
	deleteOut := "google.protobuf.Empty"
	if j%2 == 1 {
		deleteOut = noun
	}
	method("Delete"+noun+" deletes a "+noun+".", "Delete"+noun, "Delete"+noun+"Request", deleteOut, idem("IDEMPOTENT"))
	method("Watch"+plural+" streams changes.", "Watch"+plural, "Watch"+plural+"Request", "stream "+otherPkg+".Event",
		idem("NO_SIDE_EFFECTS")+"    option (svc.v1.method) = {timeout: {seconds: 0}};\n")
	method("Import"+plural+" creates every "+noun+" the client streams.", "Import"+plural, "stream "+noun, "Import"+plural+"Response", "")
	method("Sync"+plural+" keeps a replica in sync.", "Sync"+plural, "stream "+otherPkg+".Event", "stream "+otherPkg+".Event", "")
	method("Annotate attaches a note.", "Annotate", otherPkg+".Note", noun,
		fmt.Sprintf("    option (svc.v1.method) = {\n      timeout: {nanos: %d}\n      retry: {enabled: true, max_attempts: %d, retryable_codes: [\"UNAVAILABLE\", \"RESOURCE_EXHAUSTED\"]}\n    };\n",
			(1+rng.Intn(9))*100000000, 2+rng.Intn(4)))
	method("Search"+plural+" finds "+strings.ToLower(plural)+".", "Search"+plural, "Search"+plural+"Request", "Search"+plural+"Response", idem("NO_SIDE_EFFECTS"))
	method("Upload sends a blob in chunks.", "Upload", "stream "+otherPkg+".Chunk", otherPkg+".UploadSummary", "")
	deprecated := ""
	if rng.Intn(4) == 0 {
		deprecated = "    option deprecated = true;\n"
	}
	method("Ping checks the service is up.", "Ping", "google.protobuf.Empty", "google.protobuf.Empty", idem("NO_SIDE_EFFECTS")+deprecated)
	w("}\n")
	return b.String()
}

// largePlural is the English plural of one of largeNouns.
func largePlural(noun string) string {
	switch {
	case strings.HasSuffix(noun, "fe"):
		return strings.TrimSuffix(noun, "fe") + "ves"
	case strings.HasSuffix(noun, "f"):
		return strings.TrimSuffix(noun, "f") + "ves"
	case strings.HasSuffix(noun, "y") && !strings.HasSuffix(noun, "ey"):
		return strings.TrimSuffix(noun, "y") + "ies"
	case strings.HasSuffix(noun, "x"), strings.HasSuffix(noun, "ch"), strings.HasSuffix(noun, "ss"):
		return noun + "es"
	}
	return noun + "s"
}

// servedMethod matches the repository check that opens every method served
// from a repository.
var servedMethod = regexp.MustCompile(`(?m)^\tif \w+\.repos\.\w+ == nil \{$`)

// TestLargeRequestShape pins what the large request is: the sizes the
// benchmarks are quoted with, and that every standard method is recognised.
func TestLargeRequestShape(t *testing.T) {
	testenv.Slow(t, "generates the 3,240-method large request")
	req := largeRequest(t, 1)
	methods, services, kinds := 0, 0, map[string]int{}
	for _, f := range req.ProtoFile {
		for _, s := range f.GetService() {
			services++
			for _, m := range s.GetMethod() {
				methods++
				kinds[fmt.Sprint(m.GetClientStreaming(), m.GetServerStreaming())]++
			}
		}
	}
	if n := len(req.FileToGenerate); n != largePackagesPerScale*(1+largeServiceFiles) {
		t.Errorf("%d files to generate", n)
	}
	if methods < 3000 || len(kinds) != 4 {
		t.Errorf("%d methods of %d kinds", methods, len(kinds))
	}
	resp := Respond(proto.Clone(req).(*pluginpb.CodeGeneratorRequest))
	if resp.Error != nil {
		t.Fatal(resp.GetError())
	}
	served := 0
	for _, f := range resp.File {
		served += len(servedMethod.FindAllStringIndex(f.GetContent(), -1))
	}
	t.Logf("scale 1: %d files to generate (%d proto files in all), %d services, %d methods %v, %d bytes; %d files generated, %d standard methods served",
		len(req.FileToGenerate), len(req.ProtoFile), services, methods, kinds, proto.Size(req), len(resp.File), served)
	// Get, List, Create, Update, Import and Delete: at least five of them.
	if want := services * 5; served < want {
		t.Errorf("%d standard methods served from repositories, want at least %d", served, want)
	}
}

// respondSequentially is Respond with protogen's own Plugin.Response, which
// formats the files one after the other: what response must equal.
func respondSequentially(t testing.TB, req *pluginpb.CodeGeneratorRequest) *pluginpb.CodeGeneratorResponse {
	t.Helper()
	params := DefaultParams()
	plugin, err := protogen.Options{ParamFunc: params.SetParam}.New(req)
	if err != nil {
		return Respond(req) // no Plugin, no files: the same error response
	}
	if err := Generate(plugin, params); err != nil {
		plugin.Error(err)
	}
	resp := plugin.Response()
	SortResponse(resp)
	return resp
}

// TestConcurrentFormattingMatchesProtogen checks that Respond, which formats
// the generated files concurrently, and writes the client wrapper and
// repository files as go/printer prints them rather than formatting them
// (canonical.go), answers exactly what protogen's Plugin.Response does for
// the files written by Generate, formatted whole: for the large request,
// every fixture, the real corpora, all of googleapis, and module= prefixes
// that match and that do not.
func TestConcurrentFormattingMatchesProtogen(t *testing.T) {
	check := func(t *testing.T, req *pluginpb.CodeGeneratorRequest) {
		t.Helper()
		got, want := Respond(req), respondSequentially(t, req)
		if !proto.Equal(got, want) {
			t.Errorf("Respond differs from protogen's Plugin.Response: %d files, error %q; want %d files, error %q",
				len(got.File), got.GetError(), len(want.File), want.GetError())
		}
	}
	t.Run("large", func(t *testing.T) {
		testenv.Slow(t, "formats the 3,240-method large request twice")
		check(t, proto.Clone(largeRequest(t, 1)).(*pluginpb.CodeGeneratorRequest))
	})
	for _, dir := range fixtureCases(t) {
		t.Run(dir, func(t *testing.T) { check(t, fixtureRequest(t, dir)) })
	}
	for _, c := range corpora {
		t.Run(c.name, func(t *testing.T) {
			testenv.Slow(t, "downloads modules")
			check(t, c.request(t))
		})
	}
	t.Run("googleapis", func(t *testing.T) {
		testenv.Slow(t, "downloads genproto and builds all of googleapis")
		check(t, allGoogleapisRequest(t))
	})
	for _, tt := range []struct {
		param   string
		wantErr bool
	}{
		{"paths=import,module=example.com/golden", false},
		{"paths=import,module=example.com/elsewhere", true},
		{"paths=import,module=example.com/golden,annotate_code", false},
	} {
		t.Run(tt.param, func(t *testing.T) {
			req := fixtureRequest(t, "allkinds")
			req.Parameter = proto.String(tt.param)
			check(t, req)
			if resp := Respond(req); (resp.Error != nil) != tt.wantErr || !tt.wantErr && len(resp.File) == 0 {
				t.Errorf("%d files, error %q", len(resp.File), resp.GetError())
			}
		})
	}
}

// TestLargeRequestDeterministic generates for the large request twice in
// process and twice through the binary, and once more with the files to
// generate and the proto files listed in another order (still dependencies
// first, as protoc requires): every answer must be the same bytes.
func TestLargeRequestDeterministic(t *testing.T) {
	testenv.Slow(t, "generates the 3,240-method large request several times")
	req := largeRequest(t, 1)
	marshal := func(resp *pluginpb.CodeGeneratorResponse) []byte {
		t.Helper()
		if resp.Error != nil {
			t.Fatal(resp.GetError())
		}
		b, err := proto.MarshalOptions{Deterministic: true}.Marshal(resp)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	first := marshal(Respond(proto.Clone(req).(*pluginpb.CodeGeneratorRequest)))
	if again := marshal(Respond(proto.Clone(req).(*pluginpb.CodeGeneratorRequest))); !bytes.Equal(first, again) {
		t.Error("two runs on the large request differ")
	}

	reordered := proto.Clone(req).(*pluginpb.CodeGeneratorRequest)
	slices.Reverse(reordered.FileToGenerate)
	reordered.ProtoFile = otherTopologicalOrder(t, reordered.ProtoFile)
	if got := marshal(Respond(reordered)); !bytes.Equal(first, got) {
		t.Error("listing the files in another order changes the output")
	}

	if !testenv.Full() {
		return // the runs of the binary
	}
	in := largeRequestBytes(t, 1)
	var outs [2]bytes.Buffer
	for i := range outs {
		runPluginProcess(t, pluginBinary(t), in, &outs[i])
	}
	if !bytes.Equal(outs[0].Bytes(), outs[1].Bytes()) {
		t.Error("two runs of the binary on the large request write different bytes")
	}
	if resp := checkResponse(t, "protoc-gen-svc", outs[0].Bytes()); !bytes.Equal(marshal(resp), first) {
		t.Error("the binary's answer differs from Respond's")
	}
}

// otherTopologicalOrder lists files in another order in which every file
// still comes after its dependencies: depth first from the last file.
func otherTopologicalOrder(t *testing.T, files []*descriptorpb.FileDescriptorProto) []*descriptorpb.FileDescriptorProto {
	t.Helper()
	byName := map[string]*descriptorpb.FileDescriptorProto{}
	for _, f := range files {
		byName[f.GetName()] = f
	}
	var out []*descriptorpb.FileDescriptorProto
	seen := map[string]bool{}
	var visit func(f *descriptorpb.FileDescriptorProto)
	visit = func(f *descriptorpb.FileDescriptorProto) {
		if seen[f.GetName()] {
			return
		}
		seen[f.GetName()] = true
		deps := slices.Clone(f.GetDependency())
		slices.Reverse(deps)
		for _, d := range deps {
			visit(byName[d])
		}
		out = append(out, f)
	}
	for i := len(files) - 1; i >= 0; i-- {
		visit(files[i])
	}
	same := true
	for i := range files {
		same = same && files[i] == out[i]
	}
	if same {
		t.Fatal("the other order is the same order; the test proves nothing")
	}
	return out
}
