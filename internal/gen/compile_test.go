package gen

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/pluginpb"
)

// repoRoot is the module root, relative to this package.
const repoRoot = "../.."

// Tools are built once per test binary from the pinned tools module.
var (
	toolsOnce sync.Once
	toolsDir  string
	toolsErr  error
)

// tool returns the path of a pinned tool binary (protoc-gen-go,
// protoc-gen-go-grpc, staticcheck), building them all on first use.
func tool(t testing.TB, name string) string {
	t.Helper()
	toolsOnce.Do(func() {
		toolsDir, toolsErr = os.MkdirTemp("", "svc-tools")
		if toolsErr != nil {
			return
		}
		cmd := exec.Command("go", "build", "-o", toolsDir+string(os.PathSeparator),
			"google.golang.org/protobuf/cmd/protoc-gen-go",
			"google.golang.org/grpc/cmd/protoc-gen-go-grpc",
			"honnef.co/go/tools/cmd/staticcheck")
		cmd.Dir = filepath.Join(repoRoot, "tools")
		if out, err := cmd.CombinedOutput(); err != nil {
			toolsErr = fmt.Errorf("building the pinned tools: %v\n%s", err, out)
		}
	})
	if toolsErr != nil {
		t.Fatal(toolsErr)
	}
	return filepath.Join(toolsDir, name)
}

// runPlugin feeds req to a plugin binary and returns its response.
func runPlugin(t testing.TB, binary string, req *pluginpb.CodeGeneratorRequest) *pluginpb.CodeGeneratorResponse {
	t.Helper()
	in, err := proto.Marshal(req)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(binary)
	cmd.Stdin = bytes.NewReader(in)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("%s: %v\n%s", filepath.Base(binary), err, stderr.Bytes())
	}
	resp := &pluginpb.CodeGeneratorResponse{}
	if err := proto.Unmarshal(out, resp); err != nil {
		t.Fatal(err)
	}
	if resp.Error != nil {
		t.Fatalf("%s: %s", filepath.Base(binary), resp.GetError())
	}
	return resp
}

// writeModule writes a Go module at dir holding files (name -> content),
// requiring protoc-gen-svc from this checkout with the same dependency
// versions, so the generated code compiles exactly as a user's would.
func writeModule(t testing.TB, dir, modulePath string, files map[string][]byte) {
	t.Helper()
	gomod, err := os.ReadFile(filepath.Join(repoRoot, "go.mod"))
	if err != nil {
		t.Fatal(err)
	}
	root, err := filepath.Abs(repoRoot)
	if err != nil {
		t.Fatal(err)
	}
	mod := regexp.MustCompile(`(?m)^module .*$`).ReplaceAllString(string(gomod), "module "+modulePath)
	mod += "\nrequire github.com/svcgen/protoc-gen-svc v0.0.0\n\nreplace github.com/svcgen/protoc-gen-svc => " + root + "\n"
	files["go.mod"] = []byte(mod)
	if files["go.sum"], err = os.ReadFile(filepath.Join(repoRoot, "go.sum")); err != nil {
		t.Fatal(err)
	}
	for name, content := range files {
		path := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, content, 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// runIn runs a command in dir and fails the test with its output if it
// fails.
func runIn(t testing.TB, dir string, name string, args ...string) {
	t.Helper()
	cmd := exec.Command(name, args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "GOFLAGS=-mod=mod")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("%s %s: %v\n%s", filepath.Base(name), strings.Join(args, " "), err, out)
	}
}

// TestGoldensCompile builds every golden together with protoc-gen-go and
// protoc-gen-go-grpc output of the same fixtures, plus user code that embeds
// a skeleton, and requires go build, go vet and staticcheck to pass.
func TestGoldensCompile(t *testing.T) {
	if testing.Short() {
		t.Skip("builds pinned tools and a module; skipped with -short")
	}
	var files []string
	for _, dir := range fixtureCases(t) {
		if !strings.HasPrefix(dir, "error_") {
			files = append(files, protoFilesIn(t, dir)...)
		}
	}
	req := request(t, []string{protosDir}, files, "paths=source_relative")
	module := map[string][]byte{}
	for _, plugin := range []string{"protoc-gen-go", "protoc-gen-go-grpc"} {
		for _, f := range runPlugin(t, tool(t, plugin), req).File {
			module[f.GetName()] = []byte(f.GetContent())
		}
	}
	copyTree(t, goldenDir, "", module)
	copyTree(t, filepath.Join(repoRoot, "testdata", "usercode"), "", module)

	dir := t.TempDir()
	writeModule(t, dir, "example.com/golden", module)
	runIn(t, dir, "go", "build", "./...")
	runIn(t, dir, "go", "vet", "./...")
	runIn(t, dir, tool(t, "staticcheck"), "./...")
}

// copyTree adds the .go files under root to files, named relative to root
// under prefix.
func copyTree(t testing.TB, root, prefix string, files map[string][]byte) {
	t.Helper()
	err := filepath.WalkDir(root, func(path string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(path, ".go") {
			return err
		}
		rel, err := filepath.Rel(root, path)
		if err != nil {
			return err
		}
		content, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		files[filepath.ToSlash(filepath.Join(prefix, rel))] = content
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}
