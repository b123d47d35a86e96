package gen

import (
	"github.com/svcgen/protoc-gen-svc/internal/testenv"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// The user's recipe, as the README gives it: a module of the user's (here
// example.com/acme, outside this repository) whose protos use
// svc/v1/options.proto, generated with protoc and with buf, built and run.
// The trap it guards against: generating svc/v1/options.proto a second time
// into the user's module, which makes a program that links both copies
// panic at init ("already registered").

const recipeProto = `syntax = "proto3";

package acme.v1;

import "svc/v1/options.proto";

option go_package = "example.com/acme/gen/acme/v1;acmev1";

service Notes {
  option (svc.v1.service) = {timeout: {seconds: 3}};
  rpc GetNote(GetNoteRequest) returns (Note) {
    option idempotency_level = NO_SIDE_EFFECTS;
  }
  rpc CreateNote(CreateNoteRequest) returns (Note);
}

message Note {
  string id = 1;
  string text = 2;
}

message GetNoteRequest {
  string id = 1;
}

message CreateNoteRequest {
  Note note = 1;
}
`

const recipeMain = `package main

import (
	"context"
	"fmt"
	"net"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	acmev1 "example.com/acme/gen/acme/v1"
	"github.com/svcgen/protoc-gen-svc/svcserver"
	svcv1 "github.com/svcgen/protoc-gen-svc/svc/v1"
)

func main() {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	srv := svcserver.New()
	acmev1.RegisterNotesServer(srv, acmev1.NewInMemoryNotesSkeleton())
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		panic(err)
	}
	go srv.Serve(ctx, lis)
	conn, err := grpc.NewClient(lis.Addr().String(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		panic(err)
	}
	c := acmev1.NewNotesWrapper(conn)
	note, err := c.CreateNote(ctx, &acmev1.CreateNoteRequest{Note: &acmev1.Note{Text: "hello"}})
	if err != nil {
		panic(err)
	}
	got, err := c.GetNote(ctx, &acmev1.GetNoteRequest{Id: note.GetId()})
	if err != nil {
		panic(err)
	}
	// The option's Go type is this repository's svc/v1, linked once.
	_ = svcv1.E_Service
	fmt.Println("ok", got.GetText(), acmev1.NotesMethodPolicies()[0].Timeout)
}
`

// recipeModule writes the user's module: go.mod requiring this repository
// (replaced by the checkout), the proto and main.go.
func recipeModule(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	root, err := filepath.Abs(repoRoot)
	if err != nil {
		t.Fatal(err)
	}
	goMod, err := os.ReadFile(filepath.Join(repoRoot, "go.mod"))
	if err != nil {
		t.Fatal(err)
	}
	goSum, err := os.ReadFile(filepath.Join(repoRoot, "go.sum"))
	if err != nil {
		t.Fatal(err)
	}
	// The repository's own requirements, so that the scratch module builds
	// offline from the same module cache.
	mod := strings.Replace(string(goMod), "module github.com/svcgen/protoc-gen-svc", "module example.com/acme", 1) +
		"\nrequire github.com/svcgen/protoc-gen-svc v0.0.0\n\nreplace github.com/svcgen/protoc-gen-svc => " + root + "\n"
	for name, content := range map[string]string{
		"go.mod":                    mod,
		"go.sum":                    string(goSum),
		"main.go":                   recipeMain,
		"proto/acme/v1/notes.proto": recipeProto,
	} {
		path := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// runOutput runs a command in dir and returns its output, failing the test
// with it when the command fails.
func runOutput(t *testing.T, dir string, name string, args ...string) string {
	t.Helper()
	cmd := exec.Command(name, args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "GOFLAGS=-mod=mod")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("%s %s: %v\n%s", filepath.Base(name), strings.Join(args, " "), err, out)
	}
	return string(out)
}

// checkRecipeRun builds and runs the user's program, and checks that the
// svc/v1 options were not generated into the user's module.
func checkRecipeRun(t *testing.T, dir string) {
	t.Helper()
	if _, err := os.Stat(filepath.Join(dir, "gen", "svc")); err == nil {
		t.Error("the recipe generated a second copy of svc/v1 into the user's module")
	}
	if out := runOutput(t, dir, "go", "run", "."); !strings.Contains(out, "\nok hello 3s\n") {
		t.Errorf("the user's program printed %q, want ok hello 3s", out)
	}
}

// svcProtoDir is what the README tells users to find with
// go list -m -f '{{.Dir}}' github.com/svcgen/protoc-gen-svc: the directory
// holding svc/v1/options.proto.
func svcProtoDir(t *testing.T, dir string) string {
	t.Helper()
	return filepath.Join(strings.TrimSpace(runOutput(t, dir, "go", "list", "-m", "-f", "{{.Dir}}", "github.com/svcgen/protoc-gen-svc")), "proto")
}

func TestUserRecipeProtoc(t *testing.T) {
	testenv.Slow(t, "builds a scratch module")
	protoc := protocBinary(t)
	dir := recipeModule(t)
	if err := os.MkdirAll(filepath.Join(dir, "gen"), 0o755); err != nil {
		t.Fatal(err)
	}
	runOutput(t, dir, protoc, "-I", "proto", "-I", svcProtoDir(t, dir),
		"--plugin=protoc-gen-go="+tool(t, "protoc-gen-go"), "--go_out=gen", "--go_opt=paths=source_relative",
		"--plugin=protoc-gen-go-grpc="+tool(t, "protoc-gen-go-grpc"), "--go-grpc_out=gen", "--go-grpc_opt=paths=source_relative",
		"--plugin=protoc-gen-svc="+pluginBinary(t), "--svc_out=gen", "--svc_opt=paths=source_relative",
		"acme/v1/notes.proto")
	checkRecipeRun(t, dir)
}

func TestUserRecipeBuf(t *testing.T) {
	testenv.Slow(t, "builds buf and a scratch module")
	dir := recipeModule(t)
	// svc/v1/options.proto is a module of the workspace, for imports, and
	// not an input: only the user's own directory is generated.
	svcDir := filepath.Join(dir, "third_party", "svc")
	if err := os.MkdirAll(filepath.Join(svcDir, "svc", "v1"), 0o755); err != nil {
		t.Fatal(err)
	}
	options, err := os.ReadFile(filepath.Join(svcProtoDir(t, dir), "svc", "v1", "options.proto"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(svcDir, "svc", "v1", "options.proto"), options, 0o644); err != nil {
		t.Fatal(err)
	}
	files := map[string]string{
		"buf.yaml": "version: v2\nmodules:\n  - path: proto\n  - path: third_party/svc\n",
		"buf.gen.yaml": "version: v2\ninputs:\n  - directory: proto\nplugins:\n" +
			"  - local: " + tool(t, "protoc-gen-go") + "\n    out: gen\n    opt: paths=source_relative\n" +
			"  - local: " + tool(t, "protoc-gen-go-grpc") + "\n    out: gen\n    opt: paths=source_relative\n" +
			"  - local: " + pluginBinary(t) + "\n    out: gen\n    opt: paths=source_relative\n",
	}
	for name, content := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	runOutput(t, dir, tool(t, "buf"), "generate")
	checkRecipeRun(t, dir)
}
