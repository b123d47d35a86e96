package gen

import (
	"bytes"
	"fmt"
	"github.com/svcgen/protoc-gen-svc/internal/testenv"
	"go/ast"
	"go/format"
	"go/parser"
	"go/token"
	"io"
	"path"
	"slices"
	"strings"
	"testing"

	gengo "google.golang.org/protobuf/cmd/protoc-gen-go/internal_gengo"
	"google.golang.org/protobuf/compiler/protogen"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/pluginpb"
)

// FuzzGenerate builds a valid set of proto files from the fuzz input (random
// names drawn from Go keywords and the names the generators declare, every
// RPC kind, nesting, optional and oneof fields, maps, editions and Go API
// levels, svc.v1 and google.api options with good and bad values, resource
// shapes, comments), runs the plugin on it and requires:
//
//   - no panic;
//   - either one line of error and no file, or files that all parse with
//     go/parser and are gofmt-clean (format.Source leaves them unchanged);
//   - no identifier declared twice in a Go package, counting protoc-gen-go's
//     output (generated in process) and protoc-gen-go-grpc's declarations,
//     and no method of a generated type named like one of its fields: a
//     collision the name checks missed;
//   - the same response on a second run, with the files to generate listed
//     in another order, and as protogen's own sequential Plugin.Response
//     gives it.
//
// Input that does not make a valid descriptor set (protodesc rejects it) is
// skipped; a generation error never is.
//
//	go test -run '^$' -fuzz FuzzGenerate -fuzztime 10m -parallel 2 ./internal/gen
//
// The seed corpus is testdata/fuzz/FuzzGenerate; plain go test runs it.
func FuzzGenerate(f *testing.F) {
	for _, seed := range fuzzSeeds {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		req, err := fuzzRequest(data)
		if err != nil {
			t.Skip(err)
		}
		checkFuzzRequest(t, req)
	})
}

// fuzzSeeds are a few hand-written inputs, and pseudo-random ones long
// enough to build several files; the committed corpus holds the ones the
// fuzzer found interesting.
var fuzzSeeds = func() []string {
	seeds := []string{
		"",
		"\x00\x01\x02\x03\x04\x05\x06\x07\x08\x09\x0a\x0b\x0c\x0d\x0e\x0f",
		"\xff\xfe\xfd\xfc\xfb\xfa\xf9\xf8\xf7\xf6\xf5\xf4\xf3\xf2\xf1\xf0",
		strings.Repeat("\x03\x07\x02", 40),
	}
	for i := 0; i < 16; i++ {
		seeds = append(seeds, string(pseudoRandomInput(i*97+5)))
	}
	return seeds
}()

// pseudoRandomInput is a deterministic fuzz input of a few hundred bytes.
func pseudoRandomInput(i int) []byte {
	data := make([]byte, 64+i%300)
	for j := range data {
		data[j] = byte((i*131 + j*j*7 + j*i) % 251)
	}
	return data
}

// checkFuzzRequest runs the plugin on req and checks the properties above.
func checkFuzzRequest(t testing.TB, req *pluginpb.CodeGeneratorRequest) {
	t.Helper()
	in, err := proto.Marshal(req)
	if err != nil {
		t.Fatal(err)
	}
	// As a process would: the request read from bytes, options resolved
	// against the linked extensions.
	fresh := func() *pluginpb.CodeGeneratorRequest {
		r := &pluginpb.CodeGeneratorRequest{}
		if err := proto.Unmarshal(in, r); err != nil {
			t.Fatal(err)
		}
		return r
	}
	resp := Respond(fresh())
	if resp.Error != nil {
		msg := resp.GetError()
		if msg == "" || strings.Contains(msg, "\n") {
			t.Fatalf("the error is not one line: %q", msg)
		}
		if len(resp.File) > 0 {
			t.Fatalf("%d files generated with the error %q", len(resp.File), msg)
		}
	}
	names := map[string]bool{}
	for _, f := range resp.File {
		name, content := f.GetName(), f.GetContent()
		if names[name] {
			t.Fatalf("%s generated twice", name)
		}
		names[name] = true
		if _, err := parser.ParseFile(token.NewFileSet(), name, content, parser.ParseComments); err != nil {
			t.Fatalf("%s does not parse: %v\n%s", name, err, content)
		}
		formatted, err := format.Source([]byte(content))
		if err != nil {
			t.Fatalf("%s: format.Source: %v", name, err)
		}
		if !bytes.Equal(formatted, []byte(content)) {
			t.Fatalf("%s is not gofmt-clean:\n%s", name, content)
		}
	}
	if resp.Error == nil {
		checkDeclarations(t, fresh(), resp)
	}

	// The second run lists the files to generate in reverse order and
	// formats sequentially, with protogen's own Plugin.Response: the answer
	// must not depend on either.
	reordered := fresh()
	slices.Reverse(reordered.FileToGenerate)
	if again := respondSequentially(t, reordered); !proto.Equal(resp, again) {
		t.Fatal("a second run on the same request (files to generate in reverse order, formatted sequentially) answers differently")
	}
}

// checkDeclarations looks for a package-level identifier declared twice in
// a Go package, by protoc-gen-svc and by any of the three generators, and
// for a method of a type protoc-gen-svc declares named like one of the
// type's fields. Either is code that does not compile, which the name
// checks are there to turn into an error.
func checkDeclarations(t testing.TB, req *pluginpb.CodeGeneratorRequest, resp *pluginpb.CodeGeneratorResponse) {
	t.Helper()
	// protoc-gen-go's output, generated in process with the same paths.
	var protogenParams []string
	module := ""
	for _, p := range strings.Split(req.GetParameter(), ",") {
		if name, value, _ := strings.Cut(p, "="); name == "paths" || name == "module" || strings.HasPrefix(name, "M") {
			protogenParams = append(protogenParams, p)
			if name == "module" {
				module = value + "/"
			}
		}
	}
	goReq := proto.Clone(req).(*pluginpb.CodeGeneratorRequest)
	goReq.Parameter = proto.String(strings.Join(protogenParams, ","))
	plugin, err := protogen.Options{}.New(goReq)
	if err != nil {
		return // protoc-gen-go would refuse the request too
	}
	type decl struct{ pkg, name string }
	owner := map[decl]string{}
	declare := func(pkg, name, by string, ours bool) {
		if name == "_" || name == "init" {
			return
		}
		k := decl{pkg, name}
		if prev, ok := owner[k]; ok && (ours || strings.HasPrefix(prev, "protoc-gen-svc")) {
			t.Fatalf("Go package %s: %s is declared by %s and by %s", pkg, name, prev, by)
		}
		if _, ok := owner[k]; !ok {
			owner[k] = by
		}
	}
	pkgOf := map[string]string{} // generated file name prefix -> Go import path
	// Every file of the request, generated now or not: the Go packages of
	// a build hold them all.
	for _, f := range plugin.Files {
		if strings.HasPrefix(f.Desc.Path(), "google/") || strings.HasPrefix(f.Desc.Path(), "svc/") {
			continue // packages of their own
		}
		pkgOf[strings.TrimPrefix(f.GeneratedFilenamePrefix, module)] = string(f.GoImportPath)
		content, err := protocGenGo(plugin, f)
		if err != nil {
			msg, _, _ := strings.Cut(err.Error(), "\n")
			t.Logf("protoc-gen-go fails too, declarations not checked: %s", msg)
			return
		}
		file, err := parser.ParseFile(token.NewFileSet(), "", content, 0)
		if err != nil {
			return
		}
		for _, name := range topLevelNames(file) {
			declare(string(f.GoImportPath), name, "protoc-gen-go ("+f.Desc.Path()+")", false)
		}
		for _, name := range grpcNames(f) {
			declare(string(f.GoImportPath), name, "protoc-gen-go-grpc ("+f.Desc.Path()+")", false)
		}
	}
	type method struct{ pkg, recv, name string }
	methods := map[method]bool{}
	fields := map[method]bool{} // struct fields, by type
	for _, out := range resp.File {
		prefix := out.GetName()[:strings.LastIndex(out.GetName(), "_svc_")]
		pkg, ok := pkgOf[prefix]
		if !ok {
			t.Fatalf("%s: no proto file generates %s", out.GetName(), prefix)
		}
		file, err := parser.ParseFile(token.NewFileSet(), "", out.GetContent(), 0)
		if err != nil {
			t.Fatal(err)
		}
		for _, name := range topLevelNames(file) {
			declare(pkg, name, "protoc-gen-svc ("+out.GetName()+")", true)
		}
		declares := func(importPath, name string) bool {
			_, ok := owner[decl{importPath, name}]
			return ok || !strings.HasPrefix(importPath, "example.com/")
		}
		if msg := shadowedImport(file, declares); msg != "" {
			t.Fatalf("%s: %s", out.GetName(), msg)
		}
		for _, d := range file.Decls {
			switch d := d.(type) {
			case *ast.FuncDecl:
				if d.Recv == nil {
					continue
				}
				k := method{pkg, receiverType(d.Recv.List[0].Type), d.Name.Name}
				if methods[k] {
					t.Fatalf("%s: method %s.%s declared twice", out.GetName(), k.recv, k.name)
				}
				methods[k] = true
			case *ast.GenDecl:
				for _, spec := range d.Specs {
					ts, ok := spec.(*ast.TypeSpec)
					if !ok {
						continue
					}
					st, ok := ts.Type.(*ast.StructType)
					if !ok {
						continue
					}
					for _, fl := range st.Fields.List {
						if len(fl.Names) == 0 { // embedded
							fields[method{pkg, ts.Name.Name, receiverType(fl.Type)}] = true
						}
						for _, n := range fl.Names {
							fields[method{pkg, ts.Name.Name, n.Name}] = true
						}
					}
				}
			}
		}
	}
	for m := range methods {
		if fields[m] {
			t.Fatalf("Go package %s: type %s has a field and a method named %s", m.pkg, m.recv, m.name)
		}
	}
}

// protocGenGo is protoc-gen-go's output for f.
func protocGenGo(plugin *protogen.Plugin, f *protogen.File) (content []byte, err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("panic: %v", r)
		}
	}()
	return gengo.GenerateFile(plugin, f).Content()
}

// shadowedImport reports a package qualifier (pkg.Name) used where a local
// variable of the same name hides the import: code that does not compile,
// such as `msg, err := stream.Recv()` followed by `&msg.Reply{}` when the
// reply's Go package is imported as msg. A selector x.Name is taken for a
// reference to the import x when the imported package declares Name
// (declares(import path, Name)); else it is meant for the local, as s.repos
// is for the receiver s.
func shadowedImport(file *ast.File, declares func(importPath, name string) bool) string {
	c := &scopeChecker{imports: map[string]string{}, declares: declares}
	for _, imp := range file.Imports {
		importPath := strings.Trim(imp.Path.Value, `"`)
		name := path.Base(importPath)
		if imp.Name != nil {
			name = imp.Name.Name
		}
		c.imports[name] = importPath
	}
	for _, d := range file.Decls {
		fn, ok := d.(*ast.FuncDecl)
		if !ok || fn.Body == nil {
			continue
		}
		// The signature's types are resolved at package level; the
		// receiver and parameters are in scope in the body.
		c.push()
		if fn.Recv != nil {
			c.declareFields(fn.Recv)
		}
		c.declareFields(fn.Type.Params)
		c.declareFields(fn.Type.Results)
		c.stmts(fn.Body.List)
		c.pop()
		if c.bad != "" {
			return fmt.Sprintf("in %s: %s", fn.Name.Name, c.bad)
		}
	}
	return ""
}

// TestFuzzSweep runs the fuzz checks on many pseudo-random inputs, so
// plain go test covers more than the corpus, and makes sure the fuzz
// builder mostly builds valid descriptor sets that generate, so fuzzing
// explores generation rather than rejects.
func TestFuzzSweep(t *testing.T) {
	n := 1000
	if !testenv.Full() {
		n = 200
	}
	valid, generated := 0, 0
	for i := 0; i < n; i++ {
		req, err := fuzzRequest(pseudoRandomInput(i))
		if err != nil {
			t.Logf("input %d: %v", i, err)
			continue
		}
		valid++
		if Respond(req).Error == nil {
			generated++
		}
		t.Run(fmt.Sprint(i), func(t *testing.T) { checkFuzzRequest(t, req) })
	}
	t.Logf("%d of %d inputs make valid descriptors, %d of them generate", valid, n, generated)
	if valid < n*8/10 {
		t.Errorf("only %d of %d inputs make valid descriptors", valid, n)
	}
	if generated < valid/2 {
		t.Errorf("only %d of %d valid inputs generate", generated, valid)
	}
}

func TestTruncatedRequests(t *testing.T) {
	in, err := proto.Marshal(fixtureRequest(t, "resources"))
	if err != nil {
		t.Fatal(err)
	}
	for n := 0; n < len(in); n++ {
		var out bytes.Buffer
		err := Run(bytes.NewReader(in[:n]), &out, io.Discard)
		checkRunOutput(t, err, out.Bytes())
	}
}

// FuzzRun feeds arbitrary bytes to the plugin's stdin: no panic, and every
// failure is one line.
//
//	go test -run '^$' -fuzz FuzzRun -fuzztime 1m ./internal/gen
func FuzzRun(f *testing.F) {
	for _, dir := range []string{"allkinds", "resources", "policy"} {
		in, err := proto.Marshal(fixtureRequest(f, dir))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(in)
		f.Add(in[:len(in)/2])
	}
	f.Add([]byte("this is not a protobuf message \xff\xff\xff\xff"))
	f.Fuzz(func(t *testing.T, in []byte) {
		var out bytes.Buffer
		err := Run(bytes.NewReader(in), &out, io.Discard)
		checkRunOutput(t, err, out.Bytes())
	})
}
