package gen

import (
	"context"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/bufbuild/protocompile"
	"google.golang.org/protobuf/reflect/protodesc"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/reflect/protoregistry"
	"google.golang.org/protobuf/types/descriptorpb"
	"google.golang.org/protobuf/types/pluginpb"
)

// protosDir holds the fixture protos, one directory per case; goldenDir
// holds the expected output, in the same layout.
const (
	protosDir = "../../testdata/protos"
	goldenDir = "../../testdata/golden"
)

// fixtureCases lists the fixture directories in sorted order.
func fixtureCases(t testing.TB) []string {
	t.Helper()
	entries, err := os.ReadDir(protosDir)
	if err != nil {
		t.Fatal(err)
	}
	var cases []string
	for _, e := range entries {
		if e.IsDir() {
			cases = append(cases, e.Name())
		}
	}
	return cases
}

// protoFilesIn lists the .proto files of a fixture case, as import paths
// relative to protosDir.
func protoFilesIn(t testing.TB, dir string) []string {
	t.Helper()
	var files []string
	err := filepath.WalkDir(filepath.Join(protosDir, dir), func(path string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !d.IsDir() && strings.HasSuffix(path, ".proto") {
			rel, err := filepath.Rel(protosDir, path)
			if err != nil {
				return err
			}
			files = append(files, filepath.ToSlash(rel))
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	sort.Strings(files)
	return files
}

// globalResolver finds files registered by linked Go packages, such as
// google/api/annotations.proto and svc/v1/options.proto.
var globalResolver = protocompile.ResolverFunc(func(path string) (protocompile.SearchResult, error) {
	fd, err := protoregistry.GlobalFiles.FindFileByPath(path)
	if err != nil {
		return protocompile.SearchResult{}, err
	}
	return protocompile.SearchResult{Desc: fd}, nil
})

// compileProtos compiles the given files, found under importPaths, with
// source info (so comments survive) and returns them with all their
// dependencies, dependencies first, as protoc would send them.
func compileProtos(t testing.TB, importPaths []string, files []string) []*descriptorpb.FileDescriptorProto {
	t.Helper()
	compiler := protocompile.Compiler{
		Resolver: protocompile.WithStandardImports(protocompile.CompositeResolver{
			&protocompile.SourceResolver{ImportPaths: importPaths},
			globalResolver,
		}),
		SourceInfoMode: protocompile.SourceInfoStandard,
	}
	compiled, err := compiler.Compile(context.Background(), files...)
	if err != nil {
		t.Fatalf("compiling %v: %v", files, err)
	}
	fds := make([]protoreflect.FileDescriptor, len(compiled))
	for i, fd := range compiled {
		fds[i] = fd
	}
	return dependenciesFirst(fds...)
}

// dependenciesFirst returns the files and everything they import, each once,
// every file after its imports: the order protoc sends them in.
func dependenciesFirst(files ...protoreflect.FileDescriptor) []*descriptorpb.FileDescriptorProto {
	var ordered []*descriptorpb.FileDescriptorProto
	seen := map[string]bool{}
	var visit func(fd protoreflect.FileDescriptor)
	visit = func(fd protoreflect.FileDescriptor) {
		if seen[fd.Path()] {
			return
		}
		seen[fd.Path()] = true
		imports := fd.Imports()
		for i := 0; i < imports.Len(); i++ {
			visit(imports.Get(i).FileDescriptor)
		}
		ordered = append(ordered, protodesc.ToFileDescriptorProto(fd))
	}
	for _, fd := range files {
		visit(fd)
	}
	return ordered
}

// request builds the CodeGeneratorRequest protoc would send to generate
// files with the given parameter.
func request(t testing.TB, importPaths []string, files []string, parameter string) *pluginpb.CodeGeneratorRequest {
	t.Helper()
	return &pluginpb.CodeGeneratorRequest{
		FileToGenerate: files,
		Parameter:      &parameter,
		ProtoFile:      compileProtos(t, importPaths, files),
	}
}

// fixtureParameter is the plugin parameter for a case: paths=source_relative
// plus the options in the case's optional "params" file.
func fixtureParameter(t testing.TB, dir string) string {
	t.Helper()
	param := "paths=source_relative"
	extra, err := os.ReadFile(filepath.Join(protosDir, dir, "params"))
	if err == nil {
		if s := strings.TrimSpace(string(extra)); s != "" {
			param += "," + s
		}
	} else if !os.IsNotExist(err) {
		t.Fatal(err)
	}
	return param
}

// fixtureRequest is the request for one fixture case.
func fixtureRequest(t testing.TB, dir string) *pluginpb.CodeGeneratorRequest {
	t.Helper()
	return request(t, []string{protosDir}, protoFilesIn(t, dir), fixtureParameter(t, dir))
}
