package gen

import (
	"bytes"
	"github.com/svcgen/protoc-gen-svc/internal/testenv"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protodesc"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/types/descriptorpb"
	"google.golang.org/protobuf/types/pluginpb"
)

// checkIndependent generates every file of req with services together, then
// each one alone with the same proto files, and requires the same bytes for
// each: a file's output depends only on the file and its imports.
func checkIndependent(t *testing.T, req *pluginpb.CodeGeneratorRequest) int {
	t.Helper()
	together := Respond(req)
	if together.Error != nil {
		t.Fatalf("together: %s", together.GetError())
	}
	byName := map[string]string{}
	for _, f := range together.File {
		byName[f.GetName()] = f.GetContent()
	}
	checked := 0
	for _, name := range req.FileToGenerate {
		alone := proto.CloneOf(req)
		alone.FileToGenerate = []string{name}
		resp := Respond(alone)
		if resp.Error != nil {
			t.Errorf("%s alone: %s", name, resp.GetError())
			continue
		}
		for _, f := range resp.File {
			checked++
			if want, ok := byName[f.GetName()]; !ok {
				t.Errorf("%s alone: %s is generated only alone", name, f.GetName())
			} else if want != f.GetContent() {
				t.Errorf("%s alone: %s differs from the same file generated together", name, f.GetName())
			}
			delete(byName, f.GetName())
		}
	}
	for name := range byName {
		t.Errorf("%s is generated only together", name)
	}
	return checked
}

// TestOutputIndependentOfRequest: all fixtures together, and one by one.
func TestOutputIndependentOfRequest(t *testing.T) {
	var files []string
	for _, dir := range fixtureCases(t) {
		if !strings.HasPrefix(dir, "error_") && fixtureParameter(t, dir) == "paths=source_relative" {
			files = append(files, protoFilesIn(t, dir)...)
		}
	}
	req := request(t, []string{protosDir}, files, "paths=source_relative")
	t.Logf("%d files checked", checkIndependent(t, req))
}

// googleapisDump is a program that prints, as a FileDescriptorSet, the
// descriptors that googleapis' Go packages embed: Security Command Center v1
// and v2 together (a resource name, Finding, Source..., in both packages),
// the example library, and everything they import. The versions are pinned
// so the test is repeatable.
const googleapisDump = `package main

import (
	"os"

	_ "cloud.google.com/go/securitycenter/apiv1/securitycenterpb"
	_ "cloud.google.com/go/securitycenter/apiv2/securitycenterpb"
	_ "google.golang.org/genproto/googleapis/example/library/v1"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protodesc"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/reflect/protoregistry"
	"google.golang.org/protobuf/types/descriptorpb"
)

func main() {
	set := &descriptorpb.FileDescriptorSet{}
	protoregistry.GlobalFiles.RangeFiles(func(fd protoreflect.FileDescriptor) bool {
		set.File = append(set.File, protodesc.ToFileDescriptorProto(fd))
		return true
	})
	b, err := proto.Marshal(set)
	if err != nil {
		panic(err)
	}
	os.Stdout.Write(b)
}
`

const googleapisDumpMod = `module example.com/dump

go 1.26

require (
	cloud.google.com/go/securitycenter v1.49.1
	google.golang.org/genproto v0.0.0-20261012220534-4341edf3f941
	google.golang.org/protobuf v1.36.12
)
`

// googleapisRequest builds the request protoc would send to generate every
// file of the dump with services, in one run.
func googleapisRequest(t *testing.T) *pluginpb.CodeGeneratorRequest {
	t.Helper()
	dir := t.TempDir()
	for name, content := range map[string]string{"main.go": googleapisDump, "go.mod": googleapisDumpMod} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	cmd := exec.Command("go", "run", ".")
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "GOFLAGS=-mod=mod")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("dumping googleapis descriptors: %v\n%s", err, stderr.String())
	}
	set := &descriptorpb.FileDescriptorSet{}
	if err := proto.Unmarshal(out, set); err != nil {
		t.Fatal(err)
	}
	files, err := protodesc.NewFiles(set)
	if err != nil {
		t.Fatal(err)
	}
	var all []protoreflect.FileDescriptor
	var generate []string
	files.RangeFiles(func(fd protoreflect.FileDescriptor) bool {
		all = append(all, fd)
		if fd.Services().Len() > 0 && !strings.HasPrefix(fd.Path(), "google/protobuf/") {
			generate = append(generate, fd.Path())
		}
		return true
	})
	return &pluginpb.CodeGeneratorRequest{
		FileToGenerate: generate,
		Parameter:      proto.String("paths=source_relative"),
		ProtoFile:      dependenciesFirst(all...),
	}
}

// TestGoogleapisTogether generates Security Command Center v1 and v2 and
// the example library in one request, as protoc $(find . -name '*.proto')
// does, and each file alone: the same bytes, and no error.
func TestGoogleapisTogether(t *testing.T) {
	testenv.Slow(t, "downloads googleapis Go modules")
	req := googleapisRequest(t)
	n := checkIndependent(t, req)
	t.Logf("%d files of %d proto files with services checked", n, len(req.FileToGenerate))
	report := explained(t, req)
	wantServed(t, report, "google.example.library.v1.LibraryService",
		"CreateShelf", "GetShelf", "ListShelves", "DeleteShelf", "CreateBook", "GetBook", "ListBooks", "DeleteBook", "UpdateBook")
}
