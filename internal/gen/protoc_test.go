package gen

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// protocBinary finds protoc. CI installs Debian's protobuf-compiler, so
// there a missing protoc is a failure, not a skip.
func protocBinary(t *testing.T) string {
	t.Helper()
	path, err := exec.LookPath("protoc")
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatal("protoc is not installed; .ci/run installs Debian's protobuf-compiler")
		}
		t.Skip("protoc is not installed (apt-get install protobuf-compiler); CI runs this test")
	}
	return path
}

// protocVersionLine is the header line that differs between protoc and the
// in-process goldens, which have no compiler version.
var protocVersionLine = regexp.MustCompile(`(?m)^// - protoc +.*$`)

// TestProtoc runs the plugin the way protoc users do,
// protoc --svc_out=DIR --svc_opt=..., and expects the goldens.
func TestProtoc(t *testing.T) {
	protoc := protocBinary(t)
	plugin := pluginBinary(t)
	// Debian's protoc predates editions, so the editions fixture is left to
	// buf and the in-process tests.
	for _, dir := range []string{"allkinds", "imports", "legacy", "optional", "collide", "policy", "resources", "shapes", "seed_user", "seed_ecommerce", "samename"} {
		t.Run(dir, func(t *testing.T) {
			out := t.TempDir()
			args := []string{"--plugin=protoc-gen-svc=" + plugin, "--svc_out=" + out, "--svc_opt=" + fixtureParameter(t, dir),
				"-I", protosDir, "-I", filepath.Join(repoRoot, "proto")}
			cmd := exec.Command(protoc, append(args, protoFilesIn(t, dir)...)...)
			if msg, err := cmd.CombinedOutput(); err != nil {
				t.Fatalf("protoc: %v\n%s", err, msg)
			}
			for _, golden := range goldenFiles(t, dir) {
				want, err := os.ReadFile(filepath.Join(goldenDir, golden))
				if err != nil {
					t.Fatal(err)
				}
				got, err := os.ReadFile(filepath.Join(out, golden))
				if err != nil {
					t.Fatalf("protoc did not write %s: %v", golden, err)
				}
				if !protocVersionLine.Match(got) {
					t.Errorf("%s: no protoc version in the header", golden)
				}
				if protocVersionLine.ReplaceAllString(string(got), "") != protocVersionLine.ReplaceAllString(string(want), "") {
					t.Errorf("%s: protoc's output differs from the golden beyond the protoc version", golden)
				}
			}
		})
	}
}

// TestProtocBadOption checks a bad --svc_opt reaches the protoc user as one
// line naming the option and the value.
func TestProtocBadOption(t *testing.T) {
	protoc := protocBinary(t)
	cmd := exec.Command(protoc, "--plugin=protoc-gen-svc="+pluginBinary(t), "--svc_out="+t.TempDir(),
		"--svc_opt=default_timeout=banana", "-I", protosDir, "allkinds/allkinds.proto")
	out, err := cmd.CombinedOutput()
	if err == nil {
		t.Fatal("protoc succeeded with default_timeout=banana")
	}
	if !strings.Contains(string(out), `invalid value "banana" for option default_timeout`) {
		t.Errorf("protoc printed %q", out)
	}
}
