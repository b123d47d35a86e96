package gen

import (
	"encoding/json"
	"github.com/svcgen/protoc-gen-svc/internal/testenv"
	"os/exec"
	"path"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"google.golang.org/protobuf/types/pluginpb"

	// Descriptors of the googleapis protos the corpora import, registered so
	// globalResolver finds them.
	_ "google.golang.org/genproto/googleapis/api/annotations"
	_ "google.golang.org/genproto/googleapis/api/httpbody"
	_ "google.golang.org/genproto/googleapis/api/visibility"
	_ "google.golang.org/genproto/googleapis/rpc/status"
)

// corpus is a set of .proto files nobody here wrote, shipped inside a Go
// module on the module proxy.
type corpus struct {
	name   string   // short name, used in Go import paths
	module string   // module@version, pinned so the test is repeatable
	globs  []string // files to generate, relative to the module root (the import root)
}

var corpora = []corpus{
	{
		name:   "grpcexamples",
		module: "google.golang.org/grpc/examples@v0.0.0-20260825154716-030ee8becb20",
		globs: []string{
			"route_guide/routeguide/*.proto", // every RPC kind
			"helloworld/helloworld/*.proto",
			"features/proto/echo/*.proto",
		},
	},
	{
		name:   "criapi",
		module: "k8s.io/cri-api@v0.37.2",
		globs:  []string{"pkg/apis/runtime/v1/*.proto"},
	},
	{
		name:   "containerd",
		module: "github.com/containerd/containerd/api@v1.12.0",
		globs:  []string{"services/*/v1/*.proto", "types/*.proto", "types/*/*.proto", "runtime/*/*/*.proto", "events/*.proto"},
	},
	{
		name:   "grpcgateway",
		module: "github.com/grpc-ecosystem/grpc-gateway/v2@v2.32.0",
		globs: []string{
			"examples/internal/proto/*/*.proto",
			"examples/internal/helloworld/*.proto",
			"protoc-gen-openapiv2/options/*.proto",
		},
	},
}

// moduleDir downloads a module through the Go module proxy (or finds it in
// the module cache) and returns its directory.
func moduleDir(t testing.TB, module string) string {
	t.Helper()
	out, err := exec.Command("go", "mod", "download", "-json", module).Output()
	if err != nil {
		t.Fatalf("go mod download %s: %v", module, err)
	}
	var info struct{ Dir, Error string }
	if err := json.Unmarshal(out, &info); err != nil || info.Dir == "" {
		t.Fatalf("go mod download %s: %s %v", module, info.Error, err)
	}
	return info.Dir
}

func (c corpus) files(t testing.TB, dir string) []string {
	t.Helper()
	var files []string
	for _, glob := range c.globs {
		matches, err := filepath.Glob(filepath.Join(dir, filepath.FromSlash(glob)))
		if err != nil {
			t.Fatal(err)
		}
		if len(matches) == 0 {
			t.Fatalf("%s: %s matches nothing; the corpus changed", c.module, glob)
		}
		for _, m := range matches {
			rel, err := filepath.Rel(dir, m)
			if err != nil {
				t.Fatal(err)
			}
			files = append(files, filepath.ToSlash(rel))
		}
	}
	sort.Strings(files)
	return files
}

// TestRealCorpora generates code for protos from other projects, with
// protoc-gen-go, protoc-gen-go-grpc and protoc-gen-svc, and requires the
// result to build and vet. Every file is mapped to a Go package of a scratch
// module (example.com/corpus/...), since their own go_package paths belong
// to modules we do not build.
func TestRealCorpora(t *testing.T) {
	testenv.Slow(t, "downloads modules and builds their generated code")
	module := map[string][]byte{}
	generated := 0
	for _, c := range corpora {
		req := c.request(t)
		for _, plugin := range []string{"protoc-gen-go", "protoc-gen-go-grpc"} {
			for _, f := range runPlugin(t, tool(t, plugin), req).File {
				module[f.GetName()] = []byte(f.GetContent())
			}
		}
		resp := Respond(req)
		if resp.Error != nil {
			t.Fatalf("%s: %s", c.module, resp.GetError())
		}
		if len(resp.File) == 0 {
			t.Fatalf("%s: protoc-gen-svc generated nothing", c.module)
		}
		for _, f := range resp.File {
			module[f.GetName()] = []byte(f.GetContent())
			generated++
		}
	}
	t.Logf("protoc-gen-svc generated %d files for %d corpora", generated, len(corpora))
	dir := t.TempDir()
	writeModule(t, dir, "example.com/corpus", module)
	runIn(t, dir, "go", "build", "./...")
	runIn(t, dir, "go", "vet", "./...")
}

// request is the CodeGeneratorRequest for the corpus's files, each mapped
// to a Go package of a scratch module (example.com/corpus/...).
func (c corpus) request(t testing.TB) *pluginpb.CodeGeneratorRequest {
	t.Helper()
	dir := moduleDir(t, c.module)
	files := c.files(t, dir)
	var mappings []string
	for _, f := range files {
		goDir := "example.com/corpus/" + c.name + "/" + path.Dir(f)
		mappings = append(mappings, "M"+f+"="+goDir+";"+goPackageName(path.Dir(f)))
	}
	return request(t, []string{dir}, files, "paths=import,module=example.com/corpus,"+strings.Join(mappings, ","))
}

// goPackageName makes a Go package name from the last element of a proto
// directory, e.g. "runtime/v1" gives "v1".
func goPackageName(dir string) string {
	name := strings.Map(func(r rune) rune {
		if r >= 'a' && r <= 'z' || r >= '0' && r <= '9' {
			return r
		}
		return -1
	}, strings.ToLower(path.Base(dir)))
	if name == "" || name[0] >= '0' && name[0] <= '9' {
		name = "p" + name
	}
	return name
}
