package gen

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"google.golang.org/protobuf/types/pluginpb"
)

// update rewrites the golden files from the current generator output and
// removes stale ones: go test ./internal/gen -update (or UPDATE_GOLDEN=1).
var update = flag.Bool("update", os.Getenv("UPDATE_GOLDEN") != "", "rewrite testdata/golden from the generator's output")

// errorGolden is the golden file holding the expected error of a case whose
// directory name starts with "error_".
const errorGolden = "ERROR"

func TestGolden(t *testing.T) {
	for _, dir := range fixtureCases(t) {
		t.Run(dir, func(t *testing.T) {
			resp := Respond(fixtureRequest(t, dir))
			got := map[string][]byte{}
			wantError := strings.HasPrefix(dir, "error_")
			switch {
			case resp.Error != nil && !wantError:
				t.Fatalf("unexpected generation error: %s", resp.GetError())
			case resp.Error == nil && wantError:
				t.Fatalf("case %s must fail to generate, but generated %d files", dir, len(resp.File))
			case resp.Error != nil:
				if strings.Contains(resp.GetError(), "\n") {
					t.Errorf("error must be one line, got %q", resp.GetError())
				}
				got[filepath.Join(dir, errorGolden)] = []byte(resp.GetError() + "\n")
			default:
				for _, f := range resp.File {
					if !strings.HasPrefix(f.GetName(), dir+"/") {
						t.Errorf("generated %s outside the case directory %s", f.GetName(), dir)
					}
					got[filepath.FromSlash(f.GetName())] = []byte(f.GetContent())
				}
			}
			compareGolden(t, dir, got)
		})
	}
}

// compareGolden compares the generated files of a case with the golden
// directory, or rewrites it under -update, removing files no longer
// generated.
func compareGolden(t *testing.T, dir string, got map[string][]byte) {
	t.Helper()
	existing := goldenFiles(t, dir)
	if *update {
		for _, name := range existing {
			if _, ok := got[name]; !ok {
				if err := os.Remove(filepath.Join(goldenDir, name)); err != nil {
					t.Fatal(err)
				}
			}
		}
		for name, content := range got {
			path := filepath.Join(goldenDir, name)
			if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(path, content, 0o644); err != nil {
				t.Fatal(err)
			}
		}
		return
	}
	for _, name := range existing {
		if _, ok := got[name]; !ok {
			t.Errorf("stale golden %s is no longer generated (run go test ./internal/gen -update)", name)
		}
	}
	names := make([]string, 0, len(got))
	for name := range got {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		want, err := os.ReadFile(filepath.Join(goldenDir, name))
		if err != nil {
			t.Errorf("missing golden %s (run go test ./internal/gen -update): %v", name, err)
			continue
		}
		if !bytes.Equal(want, got[name]) {
			t.Errorf("%s differs from its golden (run go test ./internal/gen -update); -want +got:\n%s",
				name, cmp.Diff(string(want), string(got[name])))
		}
	}
}

// goldenFiles lists the golden files of a case, relative to goldenDir.
func goldenFiles(t *testing.T, dir string) []string {
	t.Helper()
	var names []string
	root := filepath.Join(goldenDir, dir)
	err := filepath.WalkDir(root, func(path string, d os.DirEntry, err error) error {
		if os.IsNotExist(err) {
			return filepath.SkipDir
		}
		if err != nil {
			return err
		}
		if !d.IsDir() {
			rel, err := filepath.Rel(goldenDir, path)
			if err != nil {
				return err
			}
			names = append(names, rel)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return names
}

// TestNoOutputWithoutServices pins that files without services produce
// nothing, not an empty Go file.
func TestNoOutputWithoutServices(t *testing.T) {
	for _, dir := range []string{"common", "noservice"} {
		resp := Respond(fixtureRequest(t, dir))
		if resp.Error != nil || len(resp.File) != 0 {
			t.Errorf("%s: want no files and no error, got %d files, error %q", dir, len(resp.File), resp.GetError())
		}
	}
}

// TestSupportedFeatures checks the plugin declares proto3 optional and
// editions up to 2024, also when it fails early on a bad option.
func TestSupportedFeatures(t *testing.T) {
	for _, param := range []string{"paths=source_relative", "no_such_option=1"} {
		req := fixtureRequest(t, "allkinds")
		req.Parameter = &param
		resp := Respond(req)
		wantFeatures := uint64(pluginpb.CodeGeneratorResponse_FEATURE_PROTO3_OPTIONAL | pluginpb.CodeGeneratorResponse_FEATURE_SUPPORTS_EDITIONS)
		if resp.GetSupportedFeatures() != wantFeatures {
			t.Errorf("%s: supported features = %b, want %b", param, resp.GetSupportedFeatures(), wantFeatures)
		}
		if resp.GetMinimumEdition() != 998 || resp.GetMaximumEdition() != 1001 {
			t.Errorf("%s: editions = %d..%d, want PROTO2 (998)..2024 (1001)", param, resp.GetMinimumEdition(), resp.GetMaximumEdition())
		}
	}
}
