package gen

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/descriptorpb"
	"google.golang.org/protobuf/types/pluginpb"

	svcv1 "github.com/svcgen/protoc-gen-svc/svc/v1"
)

func TestBadOptionsFailWithOneLineNamingOptionAndValue(t *testing.T) {
	tests := []struct {
		param string
		want  []string // substrings of the error
	}{
		{"artifacts=nonsense", []string{"artifacts", `"nonsense"`}},
		{"artifacts=", []string{"artifacts", `""`}},
		{"artifacts=server+bogus", []string{"artifacts", `"server+bogus"`}},
		{"default_timeout=banana", []string{"default_timeout", `"banana"`}},
		{"default_timeout=-1s", []string{"default_timeout", `"-1s"`}},
		{"no_such_option=1", []string{"no_such_option", `"1"`, "known options"}},
		{"retry_max_attempts=0", []string{"retry_max_attempts", `"0"`}},
		{"retry_max_attempts=two", []string{"retry_max_attempts", `"two"`}},
		{"retry_initial_backoff=0s", []string{"retry_initial_backoff", `"0s"`}},
		{"retry_max_backoff=soon", []string{"retry_max_backoff", `"soon"`}},
		{"retry_backoff_multiplier=0.5", []string{"retry_backoff_multiplier", `"0.5"`}},
		{"retry_backoff_multiplier=NaN", []string{"retry_backoff_multiplier", `"NaN"`}},
		{"retry_codes=UNAVAILABLE+NOPE", []string{"retry_codes", `"UNAVAILABLE+NOPE"`}},
		{"retry_codes=OK", []string{"retry_codes", `"OK"`}},
		{"retry_per_attempt_timeout=-5ms", []string{"retry_per_attempt_timeout", `"-5ms"`}},
		{"paths=sideways", []string{"sideways"}},
		// Strict parsing: the shape of the parameter, duplicates, absurd values.
		{"artifacts=server,,client", []string{"empty option", `"paths=source_relative,artifacts=server,,client"`}},
		{"default_timeout=5s,", []string{"empty option"}},
		{"artifacts=server,client", []string{`"client" is not an option but an artifact`, "artifacts=server+client"}},
		{"artifacts=server+server", []string{"artifacts", `"server+server"`, "each once"}},
		{"Mfoo.proto", []string{"option Mfoo.proto has no Go import path", "M<file>=<import path>"}},
		{"Mfoo.proto=", []string{"option Mfoo.proto has no Go import path"}},
		{"default_timeout", []string{"option default_timeout has no value"}},
		{"default_timeout=5s,default_timeout=10s", []string{"option default_timeout is given twice", `"5s"`, `"10s"`}},
		{"paths=import", []string{"option paths is given twice"}},
		{"Ma.proto=x/a,Ma.proto=x/b", []string{"option Ma.proto is given twice"}},
		{"retry_max_attempts=1000000", []string{"retry_max_attempts", `"1000000"`, "from 1 to 10"}},
		{"retry_max_backoff=100h", []string{"retry_max_backoff", `"100h"`, "up to 1h"}},
		{"default_timeout=1000h", []string{"default_timeout", `"1000h"`, "up to 24h"}},
		{"retry_backoff_multiplier=1e9", []string{"retry_backoff_multiplier", `"1e9"`}},
		{"retry_codes=UNAVAILABLE+UNAVAILABLE", []string{"retry_codes"}},
		{"retry_codes=UNAVAILABLE+", []string{"retry_codes"}},
	}
	for _, tt := range tests {
		t.Run(tt.param, func(t *testing.T) {
			req := fixtureRequest(t, "allkinds")
			req.Parameter = proto.String("paths=source_relative," + tt.param)
			resp := Respond(req)
			msg := resp.GetError()
			if msg == "" {
				t.Fatalf("no error; generated %d files", len(resp.File))
			}
			if strings.Contains(msg, "\n") {
				t.Errorf("error is not one line: %q", msg)
			}
			for _, w := range tt.want {
				if !strings.Contains(msg, w) {
					t.Errorf("error %q does not contain %s", msg, w)
				}
			}
			if len(resp.File) != 0 {
				t.Errorf("generated %d files despite the error", len(resp.File))
			}
		})
	}
}

func TestGoodOptions(t *testing.T) {
	for _, param := range []string{
		"artifacts=server",
		"artifacts=server+client+repo",
		"default_timeout=0",
		"default_timeout=1m30s",
		"retry_max_attempts=5,retry_initial_backoff=50ms,retry_max_backoff=2s,retry_backoff_multiplier=1.6",
		"retry_codes=UNAVAILABLE+RESOURCE_EXHAUSTED+CANCELLED,retry_per_attempt_timeout=0",
	} {
		req := fixtureRequest(t, "allkinds")
		req.Parameter = proto.String("paths=source_relative," + param)
		if resp := Respond(req); resp.Error != nil {
			t.Errorf("%s: %s", param, resp.GetError())
		}
	}
}

// TestArtifactsOption checks that only the selected artifacts are written.
func TestArtifactsOption(t *testing.T) {
	req := fixtureRequest(t, "allkinds")
	req.Parameter = proto.String("paths=source_relative,artifacts=server")
	for _, f := range Respond(req).File {
		if !strings.HasSuffix(f.GetName(), "_svc_server.pb.go") {
			t.Errorf("artifacts=server wrote %s", f.GetName())
		}
	}
}

// allFixturesRequest is one request for every fixture that generates.
func allFixturesRequest(t *testing.T, reversed bool) *pluginpb.CodeGeneratorRequest {
	var files []string
	for _, dir := range fixtureCases(t) {
		if !strings.HasPrefix(dir, "error_") {
			files = append(files, protoFilesIn(t, dir)...)
		}
	}
	if reversed {
		slices.Reverse(files)
	}
	return request(t, []string{protosDir}, files, "paths=source_relative")
}

func TestDeterministic(t *testing.T) {
	marshal := func(resp *pluginpb.CodeGeneratorResponse) []byte {
		b, err := proto.MarshalOptions{Deterministic: true}.Marshal(resp)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	first := marshal(Respond(allFixturesRequest(t, false)))
	if again := marshal(Respond(allFixturesRequest(t, false))); !bytes.Equal(first, again) {
		t.Error("two runs on the same request differ")
	}
	reversed := allFixturesRequest(t, true)
	names := func(req *pluginpb.CodeGeneratorRequest) (names []string) {
		for _, f := range req.ProtoFile {
			names = append(names, f.GetName())
		}
		return names
	}
	if slices.Equal(names(reversed), names(allFixturesRequest(t, false))) {
		t.Fatal("the reversed request lists files in the same order; the test proves nothing")
	}
	if got := marshal(Respond(reversed)); !bytes.Equal(first, got) {
		t.Error("listing the input files in another order changes the output")
	}
}

// Building the plugin binary once serves every test that runs it as a
// process.
var (
	pluginOnce sync.Once
	pluginPath string
	pluginErr  error
)

func pluginBinary(t testing.TB) string {
	t.Helper()
	pluginOnce.Do(func() {
		dir, err := os.MkdirTemp("", "protoc-gen-svc")
		if err != nil {
			pluginErr = err
			return
		}
		pluginPath = filepath.Join(dir, "protoc-gen-svc")
		out, err := exec.Command("go", "build", "-o", pluginPath, "github.com/svcgen/protoc-gen-svc/cmd/protoc-gen-svc").CombinedOutput()
		if err != nil {
			pluginErr = fmt.Errorf("building protoc-gen-svc: %v\n%s", err, out)
		}
	})
	if pluginErr != nil {
		t.Fatal(pluginErr)
	}
	return pluginPath
}

// TestBinaryBadStdin runs the real binary on input that is not a request:
// it must exit non-zero with one line on stderr and no panic trace.
func TestBinaryBadStdin(t *testing.T) {
	valid, err := proto.Marshal(fixtureRequest(t, "allkinds"))
	if err != nil {
		t.Fatal(err)
	}
	inputs := map[string][]byte{
		"empty":     nil,
		"garbage":   []byte("this is not a protobuf message \xff\xff\xff\xff"),
		"truncated": valid[:len(valid)/2],
	}
	for name, in := range inputs {
		t.Run(name, func(t *testing.T) {
			cmd := exec.Command(pluginBinary(t))
			cmd.Stdin = bytes.NewReader(in)
			var stdout, stderr bytes.Buffer
			cmd.Stdout, cmd.Stderr = &stdout, &stderr
			err := cmd.Run()
			if _, ok := err.(*exec.ExitError); !ok {
				t.Fatalf("want a non-zero exit, got %v", err)
			}
			msg := strings.TrimSuffix(stderr.String(), "\n")
			if msg == "" || strings.Contains(msg, "\n") || strings.Contains(msg, "panic") || strings.Contains(msg, "goroutine") {
				t.Errorf("stderr must be one clear line, got %q", stderr.String())
			}
			if !strings.HasPrefix(msg, "protoc-gen-svc: ") {
				t.Errorf("stderr must name the program: %q", msg)
			}
		})
	}
}

func TestBinaryVersionAndHelp(t *testing.T) {
	out, err := exec.Command(pluginBinary(t), "--version").Output()
	if err != nil || strings.TrimSpace(string(out)) != "protoc-gen-svc "+Version {
		t.Errorf("--version = %q, %v", out, err)
	}
	out, err = exec.Command(pluginBinary(t), "--help").Output()
	if err != nil || !strings.Contains(string(out), "default_timeout") {
		t.Errorf("--help = %q, %v", out, err)
	}
	if err := exec.Command(pluginBinary(t), "--bogus").Run(); err == nil {
		t.Error("an unknown argument must fail")
	}
}

// TestBinaryRoundTrip runs the binary on a real request and compares its
// answer with the in-process one.
func TestBinaryRoundTrip(t *testing.T) {
	req := fixtureRequest(t, "allkinds")
	in, err := proto.Marshal(req)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(pluginBinary(t))
	cmd.Stdin = bytes.NewReader(in)
	out, err := cmd.Output()
	if err != nil {
		t.Fatal(err)
	}
	got := &pluginpb.CodeGeneratorResponse{}
	if err := proto.Unmarshal(out, got); err != nil {
		t.Fatal(err)
	}
	if want := Respond(req); !proto.Equal(got, want) {
		t.Error("the binary's response differs from Respond's")
	}
}

// TestBinaryExplain runs the real binary as protoc would: with explain=true
// it prints on stderr one line per method, how it is served or why not, and
// the output does not change; without it, only the warnings about guesses.
func TestBinaryExplain(t *testing.T) {
	run := func(parameter string) (*pluginpb.CodeGeneratorResponse, []string) {
		t.Helper()
		req := fixtureRequest(t, "seed_ecommerce")
		req.Parameter = proto.String(parameter)
		in, err := proto.Marshal(req)
		if err != nil {
			t.Fatal(err)
		}
		cmd := exec.Command(pluginBinary(t))
		cmd.Stdin = bytes.NewReader(in)
		var stdout, stderr bytes.Buffer
		cmd.Stdout, cmd.Stderr = &stdout, &stderr
		if err := cmd.Run(); err != nil {
			t.Fatalf("%v: %s", err, stderr.String())
		}
		resp := &pluginpb.CodeGeneratorResponse{}
		if err := proto.Unmarshal(stdout.Bytes(), resp); err != nil || resp.Error != nil {
			t.Fatalf("response: %v %s", err, resp.GetError())
		}
		return resp, strings.Split(strings.TrimSuffix(stderr.String(), "\n"), "\n")
	}
	quiet, warnings := run("paths=source_relative")
	explained, lines := run("paths=source_relative,explain=true")
	if !proto.Equal(quiet, explained) {
		t.Error("explain=true changed the generated files")
	}
	for _, want := range []string{
		"protoc-gen-svc: warning: seed_ecommerce/ecommerce.proto: ecommerce.ProductService.CreateProduct: category_id is stored as Product.category.id (a guess from its name)",
		"protoc-gen-svc: warning: seed_ecommerce/ecommerce.proto: ecommerce.Product: Product has both id and name: keyed by id, since name is a resource name only with google.api.resource or as the first field (AIP-122); set (svc.v1.resource).key_field to choose",
	} {
		if !slices.Contains(warnings, want) {
			t.Errorf("stderr without explain lacks\n%s\ngot:\n%s", want, strings.Join(warnings, "\n"))
		}
	}
	seen := map[string]bool{}
	for _, l := range warnings {
		if !strings.HasPrefix(l, "protoc-gen-svc: warning: ") || seen[l] {
			t.Errorf("without explain, stderr has %q (again?)", l)
		}
		seen[l] = true
	}
	for _, want := range []string{
		"protoc-gen-svc: seed_ecommerce/ecommerce.proto: ecommerce.OrderService.GetOrder: served from Order: reads the Order whose id is the request's id",
		"protoc-gen-svc: seed_ecommerce/ecommerce.proto: ecommerce.OrderService.UpdateOrderStatus: Unimplemented: it answers Order, but its noun OrderStatus does not name it: a custom method, not a standard one",
	} {
		if !slices.Contains(lines, want) {
			t.Errorf("stderr with explain lacks\n%s\ngot:\n%s", want, strings.Join(lines, "\n"))
		}
	}
}

// TestUnknownAuthValue: an Auth number that is no value of the enum (which
// a proto3 option can hold when the request was not built by a compiler
// that checks names) fails, naming the element and the option, instead of
// opening or closing the method by a guess.
func TestUnknownAuthValue(t *testing.T) {
	req := fixtureRequest(t, "policy")
	var changed bool
	for _, f := range req.GetProtoFile() {
		for _, s := range f.GetService() {
			if s.GetName() != "Plain" {
				continue
			}
			if s.Options == nil {
				s.Options = &descriptorpb.ServiceOptions{}
			}
			proto.SetExtension(s.Options, svcv1.E_Service, &svcv1.CallPolicy{Auth: 7})
			changed = true
		}
	}
	if !changed {
		t.Fatal("the policy fixture has no service Plain")
	}
	msg := Respond(req).GetError()
	for _, want := range []string{"policy/policy.proto", "service fixtures.policy.v1.Plain", "(svc.v1.service).auth", "7"} {
		if !strings.Contains(msg, want) {
			t.Errorf("error %q does not contain %s", msg, want)
		}
	}
}

// TestBadIndexOption: a (svc.v1.resource).index that names no field, a
// repeated field or a message fails with one line naming the message, the
// option and the declaration.
func TestBadIndexOption(t *testing.T) {
	for _, tc := range []struct{ index, why string }{
		{"no_such_field", `has no field "no_such_field"`},
		{"text,", "empty field path"},
		{"name", "is the key"},
	} {
		req := fixtureRequest(t, "shapes")
		var changed bool
		for _, f := range req.GetProtoFile() {
			for _, m := range f.GetMessageType() {
				if m.GetName() != "Note" {
					continue
				}
				if m.Options == nil {
					m.Options = &descriptorpb.MessageOptions{}
				}
				proto.SetExtension(m.Options, svcv1.E_Resource, &svcv1.Resource{Index: []string{tc.index}})
				changed = true
			}
		}
		if !changed {
			t.Fatal("the shapes fixture has no message Note")
		}
		msg := Respond(req).GetError()
		for _, want := range []string{"Note", "(svc.v1.resource).index", strconv.Quote(tc.index), tc.why} {
			if !strings.Contains(msg, want) {
				t.Errorf("index %q: error %q does not contain %s", tc.index, msg, want)
			}
		}
	}
}
