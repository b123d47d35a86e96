package gen

import (
	"bytes"
	"fmt"
	"github.com/svcgen/protoc-gen-svc/internal/testenv"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"

	"google.golang.org/protobuf/compiler/protogen"
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
			"honnef.co/go/tools/cmd/staticcheck",
			"github.com/bufbuild/buf/cmd/buf")
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
	testenv.Slow(t, "builds pinned tools and a module")
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
	addServiceConfigTests(t, req, module)

	dir := t.TempDir()
	writeModule(t, dir, "example.com/golden", module)
	runIn(t, dir, "go", "build", "./...")
	runIn(t, dir, "go", "vet", "./...")
	runIn(t, dir, tool(t, "staticcheck"), "./...")
	runIn(t, dir, "go", "test", "./...")
}

// addServiceConfigTests adds to every golden package with services a test
// that checks, for each service, that the generated XServiceConfig() is
// accepted by grpc.NewClient and says what XMethodPolicies() says.
func addServiceConfigTests(t *testing.T, req *pluginpb.CodeGeneratorRequest, module map[string][]byte) {
	t.Helper()
	plugin, err := protogen.Options{}.New(req)
	if err != nil {
		t.Fatal(err)
	}
	type pkg struct {
		name     protogen.GoPackageName
		services []string
	}
	pkgs := map[string]*pkg{}
	for _, f := range plugin.Files {
		if !f.Generate || len(f.Services) == 0 {
			continue
		}
		dir := path.Dir(f.Desc.Path())
		if pkgs[dir] == nil {
			pkgs[dir] = &pkg{name: f.GoPackageName}
		}
		for _, svc := range f.Services {
			pkgs[dir].services = append(pkgs[dir].services, svc.GoName)
		}
	}
	for dir, p := range pkgs {
		var cases strings.Builder
		for _, svc := range p.services {
			fmt.Fprintf(&cases, "\t\t{%q, %sMethodPolicies(), %sServiceConfig()},\n", svc, svc, svc)
		}
		module[dir+"/zz_serviceconfig_test.go"] = []byte(fmt.Sprintf(serviceConfigTest, p.name, cases.String()))
	}
}

// serviceConfigTest is the test addServiceConfigTests writes into each
// golden package: package name, then the cases.
const serviceConfigTest = `package %s

import (
	"encoding/json"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/svcgen/protoc-gen-svc/svcclient"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
)

func TestServiceConfigMatchesPolicies(t *testing.T) {
	for _, c := range []struct {
		service  string
		policies []svcclient.MethodPolicy
		config   string
	}{
%s	} {
		conn, err := grpc.NewClient("passthrough:///unused", grpc.WithTransportCredentials(insecure.NewCredentials()),
			grpc.WithDefaultServiceConfig(c.config))
		if err != nil {
			t.Fatalf("%%s: grpc.NewClient rejects the service config: %%v", c.service, err)
		}
		conn.Close()
		var config struct {
			MethodConfig []struct {
				Name []struct{ Service, Method string }
				Timeout     string
				RetryPolicy *struct {
					MaxAttempts          int
					InitialBackoff       string
					MaxBackoff           string
					BackoffMultiplier    float64
					RetryableStatusCodes []string
				}
			}
		}
		if err := json.Unmarshal([]byte(c.config), &config); err != nil {
			t.Fatal(err)
		}
		if len(config.MethodConfig) != len(c.policies) {
			t.Fatalf("%%s: %%d method configs for %%d methods", c.service, len(config.MethodConfig), len(c.policies))
		}
		for i, p := range c.policies {
			mc := config.MethodConfig[i]
			if len(mc.Name) != 1 || "/"+mc.Name[0].Service+"/"+mc.Name[0].Method != p.FullMethod {
				t.Errorf("%%s: entry %%d names %%v, want %%s", c.service, i, mc.Name, p.FullMethod)
			}
			if got := seconds(t, mc.Timeout); got != p.Timeout {
				t.Errorf("%%s: timeout %%v, want %%v", p.FullMethod, got, p.Timeout)
			}
			retries := p.Retry.MaxAttempts > 1 && (p.Kind == svcclient.Unary || p.Kind == svcclient.ServerStreaming) && p.Hedging.MaxAttempts <= 1
			if (mc.RetryPolicy != nil) != retries {
				t.Errorf("%%s: retryPolicy present = %%v, want %%v", p.FullMethod, mc.RetryPolicy != nil, retries)
				continue
			}
			if !retries {
				continue
			}
			r := mc.RetryPolicy
			if r.MaxAttempts != min(p.Retry.MaxAttempts, 5) || seconds(t, r.InitialBackoff) != p.Retry.InitialBackoff ||
				seconds(t, r.MaxBackoff) != p.Retry.MaxBackoff || r.BackoffMultiplier != p.Retry.BackoffMultiplier {
				t.Errorf("%%s: retryPolicy %%+v, want %%+v", p.FullMethod, *r, p.Retry)
			}
			var want []string
			for _, code := range p.Retry.RetryableCodes {
				want = append(want, svcclient.CodeName(code))
			}
			if strings.Join(r.RetryableStatusCodes, ",") != strings.Join(want, ",") {
				t.Errorf("%%s: codes %%v, want %%v", p.FullMethod, r.RetryableStatusCodes, want)
			}
		}
	}
}

// seconds parses a service-config duration ("1.5s"); "" is zero.
func seconds(t *testing.T, s string) time.Duration {
	if s == "" {
		return 0
	}
	f, err := strconv.ParseFloat(strings.TrimSuffix(s, "s"), 64)
	if err != nil || !strings.HasSuffix(s, "s") {
		t.Fatalf("bad duration %%q", s)
	}
	return time.Duration(f * float64(time.Second)).Round(time.Microsecond)
}
`

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
