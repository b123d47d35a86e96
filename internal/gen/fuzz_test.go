package gen

import (
	"bytes"
	"fmt"
	"go/ast"
	"go/format"
	"go/parser"
	"go/token"
	"io"
	"math"
	"os/exec"
	"path"
	"slices"
	"strings"
	"sync"
	"testing"
	"unicode"

	"google.golang.org/genproto/googleapis/api/annotations"
	gengo "google.golang.org/protobuf/cmd/protoc-gen-go/internal_gengo"
	"google.golang.org/protobuf/compiler/protogen"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protodesc"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/reflect/protoregistry"
	"google.golang.org/protobuf/types/descriptorpb"
	"google.golang.org/protobuf/types/gofeaturespb"
	"google.golang.org/protobuf/types/known/durationpb"
	"google.golang.org/protobuf/types/pluginpb"

	svcv1 "github.com/svcgen/protoc-gen-svc/svc/v1"
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

// scopeChecker walks function bodies with the local scopes the generated
// code uses, looking for a use of an import hidden by a local.
type scopeChecker struct {
	imports  map[string]string // name -> import path
	declares func(importPath, name string) bool
	scopes   []map[string]bool
	bad      string
}

func (c *scopeChecker) push() { c.scopes = append(c.scopes, map[string]bool{}) }
func (c *scopeChecker) pop()  { c.scopes = c.scopes[:len(c.scopes)-1] }

func (c *scopeChecker) declare(id *ast.Ident) {
	if id != nil && id.Name != "_" {
		c.scopes[len(c.scopes)-1][id.Name] = true
	}
}

func (c *scopeChecker) declareFields(fl *ast.FieldList) {
	if fl == nil {
		return
	}
	for _, f := range fl.List {
		for _, n := range f.Names {
			c.declare(n)
		}
	}
}

func (c *scopeChecker) local(name string) bool {
	for _, s := range c.scopes {
		if s[name] {
			return true
		}
	}
	return false
}

// node checks the expressions in n in the current scopes; function
// literals open their own.
func (c *scopeChecker) node(n ast.Node) {
	if n == nil {
		return
	}
	ast.Inspect(n, func(n ast.Node) bool {
		switch n := n.(type) {
		case *ast.SelectorExpr:
			if id, ok := n.X.(*ast.Ident); ok && c.imports[id.Name] != "" && c.local(id.Name) && c.declares(c.imports[id.Name], n.Sel.Name) && c.bad == "" {
				c.bad = fmt.Sprintf("%s.%s refers to the import %s, hidden by a local of the same name", id.Name, n.Sel.Name, id.Name)
			}
		case *ast.FuncLit:
			c.node(n.Type) // resolved where the literal is
			c.push()
			c.declareFields(n.Type.Params)
			c.declareFields(n.Type.Results)
			c.stmts(n.Body.List)
			c.pop()
			return false
		}
		return true
	})
}

func (c *scopeChecker) stmts(list []ast.Stmt) {
	for _, s := range list {
		c.stmt(s)
	}
}

func (c *scopeChecker) stmt(s ast.Stmt) {
	switch s := s.(type) {
	case nil:
	case *ast.AssignStmt:
		for _, e := range s.Rhs {
			c.node(e)
		}
		for _, e := range s.Lhs {
			if id, ok := e.(*ast.Ident); ok && s.Tok == token.DEFINE {
				c.declare(id)
			} else {
				c.node(e)
			}
		}
	case *ast.DeclStmt:
		for _, spec := range s.Decl.(*ast.GenDecl).Specs {
			if vs, ok := spec.(*ast.ValueSpec); ok {
				c.node(vs.Type)
				for _, v := range vs.Values {
					c.node(v)
				}
				for _, n := range vs.Names {
					c.declare(n)
				}
			}
		}
	case *ast.BlockStmt:
		c.push()
		c.stmts(s.List)
		c.pop()
	case *ast.IfStmt:
		c.push()
		c.stmt(s.Init)
		c.node(s.Cond)
		c.stmt(s.Body)
		c.stmt(s.Else)
		c.pop()
	case *ast.ForStmt:
		c.push()
		c.stmt(s.Init)
		c.node(s.Cond)
		c.stmt(s.Post)
		c.stmt(s.Body)
		c.pop()
	case *ast.RangeStmt:
		c.node(s.X)
		c.push()
		if s.Tok == token.DEFINE {
			for _, e := range []ast.Expr{s.Key, s.Value} {
				if id, ok := e.(*ast.Ident); ok {
					c.declare(id)
				}
			}
		}
		c.stmt(s.Body)
		c.pop()
	default:
		c.node(s)
	}
}

// topLevelNames lists the package-level identifiers a Go file declares.
func topLevelNames(file *ast.File) []string {
	var names []string
	for _, d := range file.Decls {
		switch d := d.(type) {
		case *ast.FuncDecl:
			if d.Recv == nil {
				names = append(names, d.Name.Name)
			}
		case *ast.GenDecl:
			for _, spec := range d.Specs {
				switch s := spec.(type) {
				case *ast.TypeSpec:
					names = append(names, s.Name.Name)
				case *ast.ValueSpec:
					for _, n := range s.Names {
						names = append(names, n.Name)
					}
				}
			}
		}
	}
	return names
}

// receiverType is the type name of a receiver or embedded field: T, *T,
// pkg.T or T[...].
func receiverType(e ast.Expr) string {
	switch e := e.(type) {
	case *ast.StarExpr:
		return receiverType(e.X)
	case *ast.SelectorExpr:
		return e.Sel.Name
	case *ast.IndexExpr:
		return receiverType(e.X)
	case *ast.Ident:
		return e.Name
	}
	return fmt.Sprintf("%T", e)
}

// grpcNames are the package-level identifiers protoc-gen-go-grpc (v1.5 and
// later) declares for a file, as its grpc.go writes them.
func grpcNames(f *protogen.File) []string {
	var names []string
	for _, s := range f.Services {
		n := s.GoName
		names = append(names, n+"Client", strings.ToLower(n[:1])+n[1:]+"Client", "New"+n+"Client",
			n+"Server", "Unimplemented"+n+"Server", "Unsafe"+n+"Server", "Register"+n+"Server", n+"_ServiceDesc")
		for _, m := range s.Methods {
			names = append(names, n+"_"+m.GoName+"_FullMethodName", "_"+n+"_"+m.GoName+"_Handler")
			if m.Desc.IsStreamingClient() || m.Desc.IsStreamingServer() {
				names = append(names, n+"_"+m.GoName+"Client", n+"_"+m.GoName+"Server")
			}
		}
	}
	return names
}

// fuzzInput hands out choices from the fuzz input. Once it is used up every
// choice is the first one, so structures stop growing.
type fuzzInput struct{ data []byte }

func (in *fuzzInput) next() byte {
	if len(in.data) == 0 {
		return 0
	}
	b := in.data[0]
	in.data = in.data[1:]
	return b
}

// intn returns a number in [0, n).
func (in *fuzzInput) intn(n int) int {
	if n <= 1 {
		return 0
	}
	return int(in.next()) % n
}

// oneIn is true one time in n (never once the input is used up).
func (in *fuzzInput) oneIn(n int) bool { return in.intn(n) == n-1 }

func pick[T any](in *fuzzInput, from []T) T { return from[in.intn(len(from))] }

// Identifiers the fuzzer draws from: names protoc-gen-svc, protoc-gen-go and
// protoc-gen-go-grpc derive others from, Go keywords and predeclared names,
// and the AIP vocabulary.
var (
	fuzzTypeBases = []string{
		"Book", "Shelf", "Library", "Box", "Leaf", "Knife", "Entry", "Policy",
		"String", "Close", "New", "Context", "Client", "Service", "Skeleton", "Wrapper", "Server", "Seq",
		"Repository", "Repositories", "Schema", "Error", "Empty", "Stream", "Config", "Test", "Handler",
		"Reset", "ProtoMessage", "Descriptor", "ProtoReflect", "Unimplemented", "Register", "Unsafe",
		"type", "func", "go", "range", "select", "map", "chan", "interface", "struct", "package", "default",
		"string", "error", "any", "nil", "true", "len", "ctx", "req", "msg", "res", "s", "x", "in", "out",
		"foo_bar", "_foo", "Foo_Bar", "a", "B2", "HTTPServer", "iD",
	}
	fuzzPrefixes = []string{"", "", "", "", "New", "Wrap", "Start", "NewInMemory", "Unimplemented", "Register", "Unsafe", "X", "_"}
	fuzzSuffixes = []string{
		"", "", "", "", "s", "es", "Client", "Server", "Skeleton", "Wrapper", "Seq", "Repository", "Repositories",
		"Schema", "ForTest", "MethodPolicies", "ServiceConfig", "Service", "_svcPolicies", "_FullMethodName",
		"_ServiceDesc", "Request", "Response", "_Handler", "Entry", "_", "2",
	}
	fuzzVerbs      = []string{"Get", "List", "Create", "Update", "Delete", "BatchCreate", "Import", "Watch", ""}
	fuzzFieldNames = []string{
		"name", "id", "uid", "code", "etag", "create_time", "update_time", "page_size", "page_token",
		"next_page_token", "update_mask", "filter", "parent", "title", "display_name", "type", "string",
		"descriptor", "reset", "x_id", "get_name", "size", "labels", "items", "results", "key", "value",
		"ctx", "req", "msg", "err", "s", "x", "_underscore", "go", "func", "book", "book_id", "shelf",
		"resource_name", "allow_missing", "state",
	}
	fuzzComments = []string{
		"A thing.", "", " Indented code.", "\tTabbed.", "- a list item", "# Heading", "*/ not the end",
		"// nested", "Deprecated: use the other one.", "üñíçødé ✓", "trailing space ", "a\rcarriage return",
		"`code` and \"quotes\"", "go:generate echo hi", "{{template}}", "0x7f\x7f", "https://example.com/x?y=1",
		"nul\x00byte", "bom\ufeffmark", "bad \xff utf-8", "crlf line\r",
	}
	fuzzGoPackages = []string{"a", "b", "v1", "apiv1", "msg", "res", "items", "next", "req", "in", "out", "ctx", "s", "c", "opts", "stream", "created", "token", "id", "paths", "err",
		"grpc", "context", "svcclient", "svcserver", "svcstore", "codes", "time", "iter", "io", "type", "emptypb", "fieldmaskpb"}
)

// fuzzDeps are the files the fuzzed files import, dependencies first, with
// the full names of the messages they offer.
var fuzzDeps = sync.OnceValue(func() []*descriptorpb.FileDescriptorProto {
	var fds []protoreflect.FileDescriptor
	for _, path := range fuzzDepPaths {
		fd, err := protoregistry.GlobalFiles.FindFileByPath(path)
		if err != nil {
			panic(err)
		}
		fds = append(fds, fd)
	}
	return dependenciesFirst(fds...)
})

var fuzzDepPaths = []string{
	"google/protobuf/empty.proto", "google/protobuf/timestamp.proto", "google/protobuf/field_mask.proto",
	"google/protobuf/go_features.proto", "google/api/resource.proto", "svc/v1/options.proto",
}

var fuzzWKTs = []string{".google.protobuf.Empty", ".google.protobuf.Timestamp", ".google.protobuf.FieldMask"}

// fuzzBuilder builds the files of one fuzz input.
type fuzzBuilder struct {
	in *fuzzInput
	// names used in each proto package's scope (messages, enums, services,
	// enum values share it).
	scopes map[string]map[string]bool
	// messages are the full names (with a leading dot) of the messages
	// declared so far, usable as field, input and output types; their short
	// names give method nouns.
	messages []string
	enums    []string
	// short names of the services and methods declared so far, for names
	// derived from them.
	recent []string
	// standard are the standard methods of the resource kits so far.
	standard []fuzzMethod
}

// fuzzMethod is a method a resource kit offers: its name, input and output
// types and kind (0 unary, 1 server, 2 client, 3 bidi streaming).
type fuzzMethod struct {
	name, in, out string
	kind          int
}

// fuzzRequest builds a CodeGeneratorRequest from the fuzz input, or reports
// why the files it describes are not a valid descriptor set.
func fuzzRequest(data []byte) (*pluginpb.CodeGeneratorRequest, error) {
	b := &fuzzBuilder{in: &fuzzInput{data}, scopes: map[string]map[string]bool{}}
	deps := fuzzDeps()
	nfiles := 1 + b.in.intn(3)
	var files []*descriptorpb.FileDescriptorProto
	for i := 0; i < nfiles; i++ {
		files = append(files, b.file(i, files))
	}
	all := append(slices.Clone(deps), files...)
	if _, err := protodesc.NewFiles(&descriptorpb.FileDescriptorSet{File: all}); err != nil {
		return nil, err
	}
	req := &pluginpb.CodeGeneratorRequest{
		ProtoFile:       all,
		Parameter:       proto.String(b.parameter()),
		CompilerVersion: nil,
	}
	switch b.in.intn(3) {
	case 0: // all
		for _, f := range files {
			req.FileToGenerate = append(req.FileToGenerate, f.GetName())
		}
	case 1:
		req.FileToGenerate = []string{files[len(files)-1].GetName()}
	case 2:
		req.FileToGenerate = []string{files[0].GetName()}
	}
	return req, nil
}

func (b *fuzzBuilder) parameter() string {
	params := []string{"paths=source_relative"}
	if b.in.oneIn(6) {
		params = []string{"paths=import,module=example.com"}
	}
	switch b.in.intn(8) {
	case 1:
		params = append(params, "artifacts=server")
	case 2:
		params = append(params, "artifacts=client")
	case 3:
		params = append(params, "artifacts=repo")
	case 4:
		params = append(params, "artifacts=server+repo")
	case 5:
		params = append(params, "default_timeout=0", "retry_codes=UNAVAILABLE+ABORTED")
	case 6:
		params = append(params, "default_timeout=1h30m", "retry_max_attempts=2", "retry_initial_backoff=1s", "retry_max_backoff=2s", "retry_backoff_multiplier=1.5", "retry_per_attempt_timeout=250ms")
	case 7:
		params = append(params, "retry_initial_backoff=10s") // > the default max backoff: an error for retried methods
	}
	return strings.Join(params, ",")
}

// name draws a type name (message, enum or service) not yet used in scope.
func (b *fuzzBuilder) name(scope map[string]bool) string {
	for try := 0; ; try++ {
		var n string
		if len(b.recent) > 0 && b.in.oneIn(4) {
			// Derived from a name declared before: the collisions the
			// generators' naming schemes can produce.
			n = pick(b.in, fuzzPrefixes) + pick(b.in, b.recent) + pick(b.in, fuzzSuffixes)
		} else {
			n = pick(b.in, fuzzPrefixes) + pick(b.in, fuzzTypeBases) + pick(b.in, fuzzSuffixes)
		}
		if try > 0 {
			n += fmt.Sprint(try)
		}
		if !scope[n] {
			scope[n] = true
			return n
		}
	}
}

// file builds file i, importing the files before it.
func (b *fuzzBuilder) file(i int, before []*descriptorpb.FileDescriptorProto) *descriptorpb.FileDescriptorProto {
	in := b.in
	pkgIndex := in.intn(3)
	pkg := []string{"fz.a.v1", "fz.b", "type.go"}[pkgIndex]
	goBase := fuzzGoPackages[pkgIndex]
	if in.oneIn(2) {
		goBase = pick(in, fuzzGoPackages)
	}
	goPath := "example.com/fz/" + goBase
	scope := b.scopes[pkg]
	if scope == nil {
		scope = map[string]bool{}
		b.scopes[pkg] = scope
	}
	fd := &descriptorpb.FileDescriptorProto{
		Name:    proto.String(fmt.Sprintf("%s/f%d.proto", strings.ReplaceAll(pkg, ".", "/"), i)),
		Package: proto.String(pkg),
		Options: &descriptorpb.FileOptions{GoPackage: proto.String(goPath + ";" + strings.ReplaceAll(goBase, ".", "_"))},
	}
	for _, d := range fuzzDeps() {
		if slices.Contains(fuzzDepPaths, d.GetName()) {
			fd.Dependency = append(fd.Dependency, d.GetName())
		}
	}
	for _, f := range before {
		fd.Dependency = append(fd.Dependency, f.GetName())
	}
	syntax := in.intn(4)
	switch syntax {
	case 0, 1:
		fd.Syntax = proto.String("proto3")
	case 2:
		fd.Syntax = proto.String("proto2")
	case 3:
		fd.Syntax = proto.String("editions")
		fd.Edition = pick(in, []descriptorpb.Edition{descriptorpb.Edition_EDITION_2023, descriptorpb.Edition_EDITION_2024}).Enum()
		if in.oneIn(2) {
			features := &descriptorpb.FeatureSet{}
			proto.SetExtension(features, gofeaturespb.E_Go, &gofeaturespb.GoFeatures{
				ApiLevel: pick(in, []gofeaturespb.GoFeatures_APILevel{gofeaturespb.GoFeatures_API_OPEN, gofeaturespb.GoFeatures_API_HYBRID, gofeaturespb.GoFeatures_API_OPAQUE}).Enum(),
			})
			fd.Options.Features = features
		}
	}
	if in.oneIn(8) {
		fd.Options.Deprecated = proto.Bool(true)
	}
	src := &descriptorpb.SourceCodeInfo{}
	comment := func(path ...int32) {
		if !in.oneIn(3) {
			return
		}
		var lines []string
		for n := 1 + in.intn(3); n > 0; n-- {
			lines = append(lines, pick(in, fuzzComments))
		}
		src.Location = append(src.Location, &descriptorpb.SourceCodeInfo_Location{
			Path: path, Span: []int32{0, 0, 0}, LeadingComments: proto.String(" " + strings.Join(lines, "\n ") + "\n"),
		})
	}

	// Enums first, so messages can use them.
	if in.oneIn(3) {
		name := b.name(scope)
		e := &descriptorpb.EnumDescriptorProto{Name: proto.String(name)}
		prefix := strings.ToUpper(strings.Trim(name, "_"))
		for j, v := range []string{"UNSPECIFIED", "ONE", "TWO"}[:1+in.intn(3)] {
			vn := prefix + "_" + v
			if scope[vn] {
				continue
			}
			scope[vn] = true
			e.Value = append(e.Value, &descriptorpb.EnumValueDescriptorProto{Name: proto.String(vn), Number: proto.Int32(int32(j))})
		}
		if len(e.Value) > 0 {
			fd.EnumType = append(fd.EnumType, e)
			if syntax != 2 { // proto2 enums are closed: proto3 fields cannot use them
				b.enums = append(b.enums, "."+pkg+"."+name)
			}
		}
	}
	nmsg := 1 + in.intn(5)
	for j := 0; j < nmsg; j++ {
		name := b.name(scope)
		full := "." + pkg + "." + name
		b.messages = append(b.messages, full)
		fd.MessageType = append(fd.MessageType, b.message(fd, name, full, 0, []int32{4, int32(j)}, comment))
	}
	if in.intn(3) > 0 {
		b.resourceKit(fd, scope, comment)
	}
	nsvc := in.intn(4)
	for j := 0; j < nsvc; j++ {
		fd.Service = append(fd.Service, b.service(scope, int32(j), comment))
	}
	fd.SourceCodeInfo = src
	return fd
}

// message builds a message with fields, perhaps nested messages, and
// resource options.
func (b *fuzzBuilder) message(fd *descriptorpb.FileDescriptorProto, name, full string, depth int, path []int32, comment func(...int32)) *descriptorpb.DescriptorProto {
	in := b.in
	m := &descriptorpb.DescriptorProto{Name: proto.String(name)}
	comment(path...)
	b.recent = append(b.recent, strings.TrimLeft(name, "_"))
	if depth < 2 && in.oneIn(4) {
		nested := pick(in, fuzzTypeBases) + pick(in, fuzzSuffixes)
		if nested != name && !unicode.IsDigit(rune(nested[0])) {
			m.NestedType = append(m.NestedType, b.message(fd, nested, full+"."+nested, depth+1, append(slices.Clone(path), 3, 0), comment))
			b.messages = append(b.messages, full+"."+nested)
		}
	}
	proto3 := fd.GetSyntax() == "proto3"
	editions := fd.GetSyntax() == "editions"
	used := map[string]bool{}
	var fields []*descriptorpb.FieldDescriptorProto
	realOneof := false
	nfields := in.intn(7)
	for k := 0; k < nfields; k++ {
		fname := pick(in, fuzzFieldNames)
		if in.oneIn(5) {
			fname = snake(strings.TrimLeft(pick(in, b.recent), "_"))
			if in.oneIn(2) {
				fname += "_id"
			}
		}
		fname = strings.ToLower(fname)
		if used[fname] || fname == "" {
			continue
		}
		used[fname] = true
		f := &descriptorpb.FieldDescriptorProto{
			Name:   proto.String(fname),
			Number: proto.Int32(int32(len(fields) + 1)),
			Label:  descriptorpb.FieldDescriptorProto_LABEL_OPTIONAL.Enum(),
		}
		switch t := in.intn(10); {
		case t < 4:
			f.Type = descriptorpb.FieldDescriptorProto_TYPE_STRING.Enum()
		case t == 4:
			f.Type = pick(in, []descriptorpb.FieldDescriptorProto_Type{
				descriptorpb.FieldDescriptorProto_TYPE_INT32, descriptorpb.FieldDescriptorProto_TYPE_INT64,
				descriptorpb.FieldDescriptorProto_TYPE_BOOL, descriptorpb.FieldDescriptorProto_TYPE_BYTES,
				descriptorpb.FieldDescriptorProto_TYPE_DOUBLE,
			}).Enum()
		case t == 5 && len(b.enums) > 0 && !(fd.GetSyntax() == "proto2"):
			f.Type = descriptorpb.FieldDescriptorProto_TYPE_ENUM.Enum()
			f.TypeName = proto.String(pick(in, b.enums))
		case t < 8:
			f.Type = descriptorpb.FieldDescriptorProto_TYPE_MESSAGE.Enum()
			f.TypeName = proto.String(pick(in, b.messages))
		default:
			f.Type = descriptorpb.FieldDescriptorProto_TYPE_MESSAGE.Enum()
			f.TypeName = proto.String(pick(in, fuzzWKTs))
		}
		switch shape := in.intn(8); {
		case shape == 5:
			f.Label = descriptorpb.FieldDescriptorProto_LABEL_REPEATED.Enum()
		case shape == 6 && depth < 2:
			// A map<string, T>: a nested map entry message.
			entry := mapEntryName(fname)
			if entry == name || slices.ContainsFunc(m.NestedType, func(n *descriptorpb.DescriptorProto) bool { return n.GetName() == entry }) {
				break
			}
			value := proto.Clone(f).(*descriptorpb.FieldDescriptorProto)
			value.Name, value.Number = proto.String("value"), proto.Int32(2)
			m.NestedType = append(m.NestedType, &descriptorpb.DescriptorProto{
				Name:    proto.String(entry),
				Options: &descriptorpb.MessageOptions{MapEntry: proto.Bool(true)},
				Field: []*descriptorpb.FieldDescriptorProto{
					{Name: proto.String("key"), Number: proto.Int32(1), Label: descriptorpb.FieldDescriptorProto_LABEL_OPTIONAL.Enum(), Type: descriptorpb.FieldDescriptorProto_TYPE_STRING.Enum()},
					value,
				},
			})
			f.Label = descriptorpb.FieldDescriptorProto_LABEL_REPEATED.Enum()
			f.Type = descriptorpb.FieldDescriptorProto_TYPE_MESSAGE.Enum()
			f.TypeName = proto.String(full + "." + entry)
		case shape == 7 && proto3:
			f.Proto3Optional = proto.Bool(true) // its synthetic oneof comes after the real one
		case shape == 4 && editions && f.GetType() != descriptorpb.FieldDescriptorProto_TYPE_MESSAGE:
			f.Options = &descriptorpb.FieldOptions{Features: &descriptorpb.FeatureSet{FieldPresence: descriptorpb.FeatureSet_IMPLICIT.Enum()}}
		case shape == 3 && !realOneof:
			// The first real oneof member; the next field may join it.
			realOneof = true
			f.OneofIndex = proto.Int32(0)
		case shape == 2 && realOneof && len(fields) > 0 && fields[len(fields)-1].OneofIndex != nil && fields[len(fields)-1].GetProto3Optional() == false:
			f.OneofIndex = proto.Int32(0)
		}
		fields = append(fields, f)
	}
	if realOneof {
		m.OneofDecl = append(m.OneofDecl, &descriptorpb.OneofDescriptorProto{Name: proto.String("choice")})
	}
	for _, f := range fields {
		if f.GetProto3Optional() {
			f.OneofIndex = proto.Int32(int32(len(m.OneofDecl)))
			m.OneofDecl = append(m.OneofDecl, &descriptorpb.OneofDescriptorProto{Name: proto.String("_" + f.GetName())})
		}
	}
	m.Field = fields

	// Resource options.
	opts := &descriptorpb.MessageOptions{}
	set := false
	if in.oneIn(4) {
		r := &svcv1.Resource{}
		if in.oneIn(3) {
			r.Enabled = proto.Bool(in.oneIn(2))
		}
		if in.oneIn(2) {
			r.KeyField = pick(in, fuzzFieldNames)
		}
		proto.SetExtension(opts, svcv1.E_Resource, r)
		set = true
	}
	if in.oneIn(4) {
		proto.SetExtension(opts, annotations.E_Resource, &annotations.ResourceDescriptor{
			Type:      "fz.example.com/" + name,
			Pattern:   []string{pick(in, []string{"books/{book}", "shelves/{shelf}/books/{book}", "{book}", "books", "", "a/{b}/c", "books/{book}"})},
			NameField: pick(in, []string{"", "", "name", "id", "resource_name", "title"}),
		})
		set = true
	}
	if in.oneIn(8) {
		opts.Deprecated = proto.Bool(true)
		set = true
	}
	if set {
		m.Options = opts
	}
	return m
}

// resourceKit declares a resource in one of the shapes the README lists
// and the messages of its standard methods, in the shapes the skeleton
// serves, now and then off by a field or a type, and offers the methods to
// the services of the file.
func (b *fuzzBuilder) resourceKit(fd *descriptorpb.FileDescriptorProto, scope map[string]bool, comment func(...int32)) {
	in := b.in
	pkg := "." + fd.GetPackage()
	noun := pick(in, []string{"Book", "Shelf", "Library", "Box", "Leaf", "Knife", "Policy", "Entry", "Match", "Wolf", "Item"})
	plural := noun + "s"
	switch {
	case strings.HasSuffix(noun, "f"):
		plural = strings.TrimSuffix(noun, "f") + "ves"
	case strings.HasSuffix(noun, "fe"):
		plural = strings.TrimSuffix(noun, "fe") + "ves"
	case strings.HasSuffix(noun, "y"):
		plural = strings.TrimSuffix(noun, "y") + "ies"
	case strings.HasSuffix(noun, "x"), strings.HasSuffix(noun, "ch"):
		plural = noun + "es"
	}
	if in.oneIn(10) {
		plural = noun + "z" // not a plural: the shapes must not match
	}
	names := []string{noun, "Get" + noun + "Request", "Get" + noun + "Response", "List" + plural + "Request", "List" + plural + "Response",
		"Create" + noun + "Request", "Update" + noun + "Request", "Delete" + noun + "Request", "Import" + plural + "Response"}
	for _, n := range names {
		if scope[n] {
			return // this package has the kit already
		}
	}
	for _, n := range names {
		scope[n] = true
	}
	b.recent = append(b.recent, noun, plural)
	proto3 := fd.GetSyntax() == "proto3"
	str := descriptorpb.FieldDescriptorProto_TYPE_STRING
	i32 := descriptorpb.FieldDescriptorProto_TYPE_INT32
	msg := descriptorpb.FieldDescriptorProto_TYPE_MESSAGE
	type fieldSpec struct {
		name     string
		typ      descriptorpb.FieldDescriptorProto_Type
		typeName string
		repeated bool
		optional bool // explicit presence
	}
	declare := func(name string, specs ...fieldSpec) string {
		m := &descriptorpb.DescriptorProto{Name: proto.String(name)}
		if in.oneIn(12) && len(specs) > 0 {
			specs = slices.Delete(slices.Clone(specs), 0, 1) // a field short
		}
		if in.oneIn(12) {
			specs = append(slices.Clone(specs), fieldSpec{name: pick(in, []string{"filter", "parent", "order_by", "allow_missing", "extra"}), typ: str})
		}
		for i, spec := range specs {
			if spec.name == "" {
				continue
			}
			typ := spec.typ
			if in.oneIn(16) {
				typ = descriptorpb.FieldDescriptorProto_TYPE_INT64 // the wrong type
			}
			f := &descriptorpb.FieldDescriptorProto{
				Name:   proto.String(spec.name),
				Number: proto.Int32(int32(i + 1)),
				Label:  descriptorpb.FieldDescriptorProto_LABEL_OPTIONAL.Enum(),
				Type:   typ.Enum(),
			}
			if typ == msg {
				f.TypeName = proto.String(spec.typeName)
			}
			if spec.repeated {
				f.Label = descriptorpb.FieldDescriptorProto_LABEL_REPEATED.Enum()
			}
			if spec.optional && proto3 && typ != msg {
				f.Proto3Optional = proto.Bool(true)
				f.OneofIndex = proto.Int32(int32(len(m.OneofDecl)))
				m.OneofDecl = append(m.OneofDecl, &descriptorpb.OneofDescriptorProto{Name: proto.String("_" + spec.name)})
			}
			m.Field = append(m.Field, f)
		}
		comment(4, int32(len(fd.MessageType)))
		fd.MessageType = append(fd.MessageType, m)
		b.messages = append(b.messages, pkg+"."+name)
		return pkg + "." + name
	}

	// The resource.
	key := pick(in, []string{"name", "id", "uid", "name"})
	fields := []fieldSpec{{name: key, typ: str}, {name: "title", typ: str}}
	if in.intn(2) == 0 {
		fields = append(fields, fieldSpec{name: "etag", typ: str})
	}
	if in.intn(2) == 0 {
		fields = append(fields, fieldSpec{name: "create_time", typ: msg, typeName: ".google.protobuf.Timestamp"}, fieldSpec{name: "update_time", typ: msg, typeName: ".google.protobuf.Timestamp"})
	}
	if in.intn(2) == 0 {
		fields = append(fields, fieldSpec{name: "size", typ: i32, optional: true}, fieldSpec{name: "labels", typ: str, repeated: true})
	}
	resource := declare(noun, fields...)
	res := fd.MessageType[len(fd.MessageType)-1]
	opts := &descriptorpb.MessageOptions{}
	switch {
	case key == "uid" || in.oneIn(6):
		proto.SetExtension(opts, svcv1.E_Resource, &svcv1.Resource{KeyField: key})
		res.Options = opts
	case in.oneIn(3):
		proto.SetExtension(opts, annotations.E_Resource, &annotations.ResourceDescriptor{
			Type: "fz.example.com/" + noun, Pattern: []string{strings.ToLower(plural) + "/{" + snake(noun) + "}"}, NameField: key,
		})
		res.Options = opts
	}
	body := snake(noun)
	getReq := declare("Get"+noun+"Request", fieldSpec{name: key, typ: str})
	getOut := resource
	if in.oneIn(3) {
		getOut = declare("Get"+noun+"Response", fieldSpec{name: body, typ: msg, typeName: resource})
	}
	listReq := declare("List"+plural+"Request", fieldSpec{name: "page_size", typ: i32}, fieldSpec{name: "page_token", typ: str})
	listRes := declare("List"+plural+"Response", fieldSpec{name: snake(plural), typ: msg, typeName: resource, repeated: true}, fieldSpec{name: "next_page_token", typ: str})
	var createReq string
	if in.intn(3) > 0 {
		createReq = declare("Create"+noun+"Request", fieldSpec{name: body, typ: msg, typeName: resource}, fieldSpec{name: body + "_id", typ: str})
	} else {
		createReq = declare("Create"+noun+"Request", fields[1:]...)
	}
	var updateReq string
	if in.intn(3) > 0 {
		updateReq = declare("Update"+noun+"Request", fieldSpec{name: body, typ: msg, typeName: resource}, fieldSpec{name: "update_mask", typ: msg, typeName: ".google.protobuf.FieldMask"})
	} else {
		updateReq = declare("Update"+noun+"Request", fieldSpec{name: key, typ: str}, fieldSpec{name: "title", typ: str, optional: true})
	}
	deleteReq := declare("Delete"+noun+"Request", fieldSpec{name: key, typ: str}, fieldSpec{name: "etag", typ: str})
	importRes := declare("Import"+plural+"Response", fieldSpec{name: snake(plural), typ: msg, typeName: resource, repeated: true})
	deleteOut := resource
	if in.intn(2) == 0 {
		deleteOut = ".google.protobuf.Empty"
	}
	b.standard = append(b.standard,
		fuzzMethod{"Get" + noun, getReq, getOut, 0},
		fuzzMethod{"List" + plural, listReq, listRes, 0},
		fuzzMethod{"List" + plural, listReq, resource, 1},
		fuzzMethod{"Create" + noun, createReq, resource, 0},
		fuzzMethod{"Update" + noun, updateReq, resource, 0},
		fuzzMethod{"Delete" + noun, deleteReq, deleteOut, 0},
		fuzzMethod{"Import" + plural, resource, importRes, 2},
		fuzzMethod{"BatchCreate" + plural, resource, ".google.protobuf.Empty", 2},
	)
}

// mapEntryName is the name protoc gives the entry message of a map field.
func mapEntryName(field string) string {
	var b strings.Builder
	upper := true
	for _, c := range field {
		switch {
		case c == '_':
			upper = true
		case upper:
			b.WriteRune(unicode.ToUpper(c))
			upper = false
		default:
			b.WriteRune(c)
		}
	}
	return b.String() + "Entry"
}

// service builds a service of methods of every kind, named like standard
// methods of the messages declared so far, or like anything else.
func (b *fuzzBuilder) service(scope map[string]bool, index int32, comment func(...int32)) *descriptorpb.ServiceDescriptorProto {
	in := b.in
	name := b.name(scope)
	s := &descriptorpb.ServiceDescriptorProto{Name: proto.String(name)}
	comment(6, index)
	goName := fuzzGoName(name)
	opts := &descriptorpb.ServiceOptions{}
	if in.oneIn(3) {
		proto.SetExtension(opts, svcv1.E_Service, b.callPolicy())
		s.Options = opts
	}
	if in.oneIn(8) {
		opts.Deprecated = proto.Bool(true)
		s.Options = opts
	}
	used := map[string]bool{}
	nmethods := in.intn(9)
	for j := 0; j < nmethods; j++ {
		var mname string
		var std *fuzzMethod
		switch in.intn(9) {
		case 6, 7, 8:
			// A standard method of a resource kit, mostly as it is meant.
			if len(b.standard) == 0 {
				continue
			}
			std = &b.standard[in.intn(len(b.standard))]
			mname = std.name
		case 0, 1, 2:
			// A standard method of a declared message: GetBook, ListBooks...
			noun := lastName(pick(in, b.messages))
			verb := pick(in, fuzzVerbs)
			if verb == "List" || verb == "BatchCreate" || verb == "Import" || in.oneIn(5) {
				noun = pick(in, []string{noun + "s", noun + "es", strings.TrimSuffix(noun, "y") + "ies", strings.TrimSuffix(noun, "f") + "ves", noun})
			}
			mname = verb + noun
		case 3:
			mname = pick(in, fuzzTypeBases) + pick(in, fuzzSuffixes)
		case 4:
			if len(s.Method) > 0 {
				mname = s.Method[in.intn(len(s.Method))].GetName() + pick(in, []string{"Seq", "SeqSeq", "", "_"})
			} else {
				mname = "Watch"
			}
		case 5:
			// Names of what protoc-gen-go-grpc and protoc-gen-svc declare
			// for this very service.
			mname = pick(in, []string{"Unimplemented" + goName + "Server", goName + "Client", "New" + goName + "Client", "Register" + goName + "Server", "Unsafe" + goName + "Server", "MustEmbedUnimplemented" + goName + "Server", goName + "Skeleton", "Repos", "Repositories", "Client", "Inv"})
		}
		if mname == "" || strings.HasPrefix(mname, "_") || used[mname] {
			continue
		}
		used[mname] = true
		b.recent = append(b.recent, mname)
		m := &descriptorpb.MethodDescriptorProto{
			Name:       proto.String(mname),
			InputType:  proto.String(b.methodType()),
			OutputType: proto.String(b.methodType()),
		}
		kind := in.intn(4)
		if std != nil {
			m.InputType, m.OutputType = proto.String(std.in), proto.String(std.out)
			kind = std.kind
			if in.oneIn(8) {
				kind = in.intn(4)
			}
		}
		switch kind {
		case 1:
			m.ServerStreaming = proto.Bool(true)
		case 2:
			m.ClientStreaming = proto.Bool(true)
		case 3:
			m.ClientStreaming, m.ServerStreaming = proto.Bool(true), proto.Bool(true)
		}
		mopts := &descriptorpb.MethodOptions{}
		if lvl := in.intn(4); lvl > 0 {
			mopts.IdempotencyLevel = descriptorpb.MethodOptions_IdempotencyLevel(lvl - 1).Enum()
			m.Options = mopts
		}
		if in.oneIn(3) {
			proto.SetExtension(mopts, svcv1.E_Method, b.callPolicy())
			m.Options = mopts
		}
		if in.oneIn(8) {
			mopts.Deprecated = proto.Bool(true)
			m.Options = mopts
		}
		comment(6, index, 2, int32(len(s.Method)))
		s.Method = append(s.Method, m)
	}
	b.recent = append(b.recent, strings.TrimLeft(name, "_"))
	return s
}

// methodType is an input or output type: mostly a declared message, else a
// well-known type.
func (b *fuzzBuilder) methodType() string {
	if b.in.oneIn(6) {
		return pick(b.in, fuzzWKTs)
	}
	return pick(b.in, b.messages)
}

func lastName(full string) string { return full[strings.LastIndex(full, ".")+1:] }

// fuzzGoName is about protogen's Go name for a service (GoCamelCase).
func fuzzGoName(name string) string {
	var b strings.Builder
	for i, part := range strings.Split(name, "_") {
		if i == 0 && part == "" {
			b.WriteString("X")
			continue
		}
		if part == "" {
			b.WriteString("_")
			continue
		}
		if i > 0 && unicode.IsDigit(rune(part[0])) {
			b.WriteString("_")
		}
		b.WriteString(strings.ToUpper(part[:1]) + part[1:])
	}
	return b.String()
}

// callPolicy draws a svc.v1 call policy, with good and bad values.
func (b *fuzzBuilder) callPolicy() *svcv1.CallPolicy {
	in := b.in
	// Mostly good values: a bad one fails the run before most of the
	// generation, which the fuzzer should explore too.
	duration := func(positive bool) *durationpb.Duration {
		if in.oneIn(20) {
			return pick(in, []*durationpb.Duration{{Seconds: -1}, {Nanos: 2e9}, {Seconds: 1, Nanos: -1}, {}})
		}
		d := pick(in, []*durationpb.Duration{
			nil, nil, nil, {Seconds: 2}, {Nanos: 250000000}, {Seconds: 1, Nanos: 1}, {},
			{Seconds: 315576000000}, // the largest valid: longer than a time.Duration
		})
		if positive && d != nil && d.AsDuration() == 0 {
			return nil
		}
		return d
	}
	p := &svcv1.CallPolicy{Timeout: duration(false)}
	if in.oneIn(2) {
		r := &svcv1.RetryPolicy{InitialBackoff: duration(true), MaxBackoff: duration(true), PerAttemptTimeout: duration(false)}
		if in.oneIn(2) {
			r.Enabled = proto.Bool(in.oneIn(2))
		}
		if in.oneIn(2) {
			r.MaxAttempts = proto.Int32(pick(in, []int32{1, 2, 5, math.MaxInt32, 3, 4, 0}))
		}
		if in.oneIn(3) {
			r.BackoffMultiplier = proto.Float64(pick(in, []float64{1, 1.6, 1e300, 2, 3, 1.25, 1.1, 0.5, math.NaN(), math.Inf(1)}))
		}
		for n := in.intn(4); n > 0; n-- {
			code := pick(in, []string{"UNAVAILABLE", "RESOURCE_EXHAUSTED", "CANCELLED", "ABORTED", "UNAVAILABLE", "DEADLINE_EXCEEDED"})
			if in.oneIn(20) {
				code = pick(in, []string{"OK", "unavailable", "BOGUS", ""})
			}
			r.RetryableCodes = append(r.RetryableCodes, code)
		}
		p.Retry = r
	}
	return p
}

// TestFuzzSweep runs the fuzz checks on many pseudo-random inputs, so
// plain go test covers more than the corpus, and makes sure the fuzz
// builder mostly builds valid descriptor sets that generate, so fuzzing
// explores generation rather than rejects.
func TestFuzzSweep(t *testing.T) {
	n := 1000
	if testing.Short() {
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

// TestShadowedImport pins what the shadowing check of the fuzz test finds.
func TestShadowedImport(t *testing.T) {
	for src, want := range map[string]bool{
		`func f(in *in.T) { var out *out.T; _ = out }`:                             false,
		`func f() { msg, err := g(); _ = &msg.T{}; _ = err }`:                      true,
		`func f() { var msg *msg.T; _ = msg }`:                                     false,
		`func f(in int) { _ = func(x in.T) {} }`:                                   true,
		`func f() { for { msg := 1; _ = msg }; _ = &msg.T{} }`:                     false,
		`func f() { if msg := 1; msg > 0 { return }; _ = msg.T{} }`:                false,
		`func f(c int) { _ = func() error { return c.Do() } }`:                     true,
		`func f() { items, next := 1, 2; _, _ = items, next; _ = out.T{} }`:        false,
		`func f() (items []int) { for range items { _ = items.T{} }; return nil }`: true,
	} {
		file, err := parser.ParseFile(token.NewFileSet(), "", `package p
import ("in"; "out"; "msg"; "c"; "items")
`+src, 0)
		if err != nil {
			t.Fatal(err)
		}
		all := func(string, string) bool { return true }
		if got := shadowedImport(file, all) != ""; got != want {
			t.Errorf("%s: shadowedImport = %v, want %v", src, got, want)
		}
	}
}

// TestFuzzFindings pins the bugs FuzzGenerate found, on requests written by
// hand (the corpus inputs stand only as long as the fuzz builder reads its
// input the same way).
func TestFuzzFindings(t *testing.T) {
	build := func(goPackage, comment string, methods ...string) *pluginpb.CodeGeneratorRequest {
		return findingRequest(t, goPackage, comment, methods...)
	}

	// Comments of a CRLF .proto file, and with what Go does not accept in
	// source: gofmt-clean, parseable output, the text kept.
	for name, comment := range map[string]string{
		"crlf":  " Finder finds:\r\n\tan indented line\r\n",
		"nul":   " nul\x00byte\n",
		"bom":   " bom\ufeffmark\n",
		"utf-8": " bad \xff utf-8\n",
		"lists": " \tTabbed.\n - a list item\n  Indented code.\n",
	} {
		t.Run("comment "+name, func(t *testing.T) {
			req := build("example.com/find;find", comment, "Find")
			checkFuzzRequest(t, req)
			resp := Respond(req)
			if resp.Error != nil {
				t.Fatal(resp.GetError())
			}
			want := map[string]string{"lists": "//\t\tTabbed.\n//\t  - a list item\n", "crlf": "// Finder finds:\n//\n//\tan indented line\n", "nul": "nul\uFFFDbyte", "bom": "bom\uFFFDmark", "utf-8": "bad \uFFFD utf-8"}[name]
			if !strings.Contains(resp.File[0].GetContent(), want) {
				t.Errorf("the comment %q is not in the output as %q:\n%s", comment, want, resp.File[0].GetContent())
			}
		})
	}

	oneLineError := func(t *testing.T, req *pluginpb.CodeGeneratorRequest, want ...string) {
		t.Helper()
		checkFuzzRequest(t, req)
		msg := Respond(req).GetError()
		if msg == "" {
			t.Fatal("no error")
		}
		for _, w := range want {
			if !strings.Contains(msg, w) {
				t.Errorf("error %q does not contain %q", msg, w)
			}
		}
	}
	t.Run("method named like the embedded Unimplemented server", func(t *testing.T) {
		req := build("example.com/find;find", "", "Find", "UnimplementedFinderServer")
		oneLineError(t, req, "find/v1/find.proto", "find.v1.Finder", "UnimplementedFinderServer", "artifacts")
		req.Parameter = proto.String("paths=source_relative,artifacts=client")
		if resp := Respond(req); resp.Error != nil {
			t.Errorf("without the server artifact: %s", resp.GetError())
		}
	})
	t.Run("locals named like imports", func(t *testing.T) {
		req := shadowRequest(t, true)
		checkFuzzRequest(t, req)
		resp := Respond(req)
		if resp.Error != nil {
			t.Fatal(resp.GetError())
		}
		var all string
		for _, f := range resp.File {
			all += f.GetContent()
		}
		for _, want := range []string{"func (c *FinderWrapper) Ping(ctx_ context.Context"} {
			if !strings.Contains(all, want) {
				t.Errorf("the output has no %q:\n%s", want, all)
			}
		}
	})
	t.Run("no go_package", func(t *testing.T) {
		// protogen's message is a paragraph; found by FuzzRun with a file
		// name holding a newline, which protogen quotes as it is.
		oneLineError(t, build("", "", "Find"), "find/v1/find.proto", "go_package")
		req := build("example.com/find;find", "", "Find")
		req.FileToGenerate = []string{"\nx.proto"}
		oneLineError(t, req, "x.proto")
	})
	t.Run("go_package name that is a keyword", func(t *testing.T) {
		oneLineError(t, build("example.com/find;type", "", "Find"), "find/v1/find.proto", `"type"`, "go_package")
	})
	t.Run("go_package name that is not an identifier", func(t *testing.T) {
		oneLineError(t, build("example.com/find;find-v1", "", "Find"), "find/v1/find.proto", `"find-v1"`)
	})
}

// findingRequest is a request for one file, find/v1/find.proto, of Go
// package goPackage, with a service Finder of the given methods, whose
// comments are comment.
func findingRequest(t testing.TB, goPackage, comment string, methods ...string) *pluginpb.CodeGeneratorRequest {
	t.Helper()
	fd := &descriptorpb.FileDescriptorProto{
		Name:       proto.String("find/v1/find.proto"),
		Package:    proto.String("find.v1"),
		Syntax:     proto.String("proto3"),
		Dependency: []string{"google/protobuf/empty.proto"},
		Options:    &descriptorpb.FileOptions{GoPackage: proto.String(goPackage)},
		MessageType: []*descriptorpb.DescriptorProto{{
			Name: proto.String("Item"),
			Field: []*descriptorpb.FieldDescriptorProto{{
				Name: proto.String("name"), Number: proto.Int32(1),
				Label: descriptorpb.FieldDescriptorProto_LABEL_OPTIONAL.Enum(), Type: descriptorpb.FieldDescriptorProto_TYPE_STRING.Enum(),
			}},
		}},
		Service: []*descriptorpb.ServiceDescriptorProto{{Name: proto.String("Finder")}},
		SourceCodeInfo: &descriptorpb.SourceCodeInfo{Location: []*descriptorpb.SourceCodeInfo_Location{
			{Path: []int32{6, 0}, Span: []int32{0, 0, 0}, LeadingComments: proto.String(comment)},
			{Path: []int32{6, 0, 2, 0}, Span: []int32{0, 0, 0}, LeadingComments: proto.String(comment)},
		}},
	}
	for _, m := range methods {
		fd.Service[0].Method = append(fd.Service[0].Method, &descriptorpb.MethodDescriptorProto{
			Name: proto.String(m), InputType: proto.String(".find.v1.Item"), OutputType: proto.String(".google.protobuf.Empty"),
		})
	}
	files := append(slices.Clone(fuzzDeps()), fd)
	if _, err := protodesc.NewFiles(&descriptorpb.FileDescriptorSet{File: files}); err != nil {
		t.Fatal(err)
	}
	return &pluginpb.CodeGeneratorRequest{
		FileToGenerate: []string{fd.GetName()},
		Parameter:      proto.String("paths=source_relative"),
		ProtoFile:      files,
	}
}

// shadowRequest is a request whose service uses messages of Go packages
// imported as msg and, withCtx, ctx: names the skeleton and the wrapper
// use for variables and parameters. (protoc-gen-go-grpc's own code does not
// compile with a package imported as ctx.)
func shadowRequest(t testing.TB, withCtx bool) *pluginpb.CodeGeneratorRequest {
	t.Helper()
	// Messages of Go packages imported as msg and ctx, names the
	// skeleton and the wrapper use for variables and parameters.
	str := descriptorpb.FieldDescriptorProto_TYPE_STRING.Enum()
	optional := descriptorpb.FieldDescriptorProto_LABEL_OPTIONAL.Enum()
	msgFile := &descriptorpb.FileDescriptorProto{
		Name: proto.String("find/msg/msg.proto"), Package: proto.String("find.msg"), Syntax: proto.String("proto3"),
		Options: &descriptorpb.FileOptions{GoPackage: proto.String("example.com/find/msg;msg")},
		MessageType: []*descriptorpb.DescriptorProto{
			{Name: proto.String("Book"), Field: []*descriptorpb.FieldDescriptorProto{{Name: proto.String("name"), Number: proto.Int32(1), Label: optional, Type: str}}},
			{Name: proto.String("ImportBooksResponse"), Field: []*descriptorpb.FieldDescriptorProto{{
				Name: proto.String("books"), Number: proto.Int32(1), Label: descriptorpb.FieldDescriptorProto_LABEL_REPEATED.Enum(),
				Type: descriptorpb.FieldDescriptorProto_TYPE_MESSAGE.Enum(), TypeName: proto.String(".find.msg.Book"),
			}}},
		},
	}
	ctxFile := &descriptorpb.FileDescriptorProto{
		Name: proto.String("find/ctx/ctx.proto"), Package: proto.String("find.ctx"), Syntax: proto.String("proto3"),
		Options:     &descriptorpb.FileOptions{GoPackage: proto.String("example.com/find/ctx;ctx")},
		MessageType: []*descriptorpb.DescriptorProto{{Name: proto.String("Reply")}},
	}
	svcFile := &descriptorpb.FileDescriptorProto{
		Name: proto.String("find/v1/find.proto"), Package: proto.String("find.v1"), Syntax: proto.String("proto3"),
		Dependency: []string{"find/msg/msg.proto", "find/ctx/ctx.proto"},
		Options:    &descriptorpb.FileOptions{GoPackage: proto.String("example.com/find;find")},
		MessageType: []*descriptorpb.DescriptorProto{
			{Name: proto.String("GetBookRequest"), Field: []*descriptorpb.FieldDescriptorProto{{Name: proto.String("name"), Number: proto.Int32(1), Label: optional, Type: str}}},
		},
		Service: []*descriptorpb.ServiceDescriptorProto{{
			Name: proto.String("Finder"),
			Method: []*descriptorpb.MethodDescriptorProto{
				{Name: proto.String("GetBook"), InputType: proto.String(".find.v1.GetBookRequest"), OutputType: proto.String(".find.msg.Book")},
				{Name: proto.String("ImportBooks"), InputType: proto.String(".find.msg.Book"), OutputType: proto.String(".find.msg.ImportBooksResponse"), ClientStreaming: proto.Bool(true)},
				{Name: proto.String("Ping"), InputType: proto.String(".find.v1.GetBookRequest"), OutputType: proto.String(".find.ctx.Reply")},
				{Name: proto.String("Watch"), InputType: proto.String(".find.v1.GetBookRequest"), OutputType: proto.String(".find.ctx.Reply"), ServerStreaming: proto.Bool(true)},
			},
		}},
	}
	files := []*descriptorpb.FileDescriptorProto{msgFile, ctxFile, svcFile}
	if !withCtx {
		files = []*descriptorpb.FileDescriptorProto{msgFile, svcFile}
		svcFile.Dependency = svcFile.Dependency[:1]
		svcFile.Service[0].Method = svcFile.Service[0].Method[:2]
	}
	if _, err := protodesc.NewFiles(&descriptorpb.FileDescriptorSet{File: files}); err != nil {
		t.Fatal(err)
	}
	return &pluginpb.CodeGeneratorRequest{FileToGenerate: []string{svcFile.GetName()}, Parameter: proto.String("paths=source_relative"), ProtoFile: files}
}

// TestFuzzFindingsCompile builds and vets what protoc-gen-svc generates for
// the findings that produce code, with protoc-gen-go and protoc-gen-go-grpc
// output: the fuzz test only parses.
func TestFuzzFindingsCompile(t *testing.T) {
	if testing.Short() {
		t.Skip("builds pinned tools and a module; skipped with -short")
	}
	module := map[string][]byte{}
	for _, req := range []*pluginpb.CodeGeneratorRequest{
		shadowRequest(t, false),
		// CRLF, and what go/printer does not format stably (protoc-gen-go-grpc
		// copies comments as they are: it fails on NUL and the like).
		findingRequest(t, "example.com/comments;comments", " Finder finds:\r\n \tTabbed.\r\n - a list item\r\n  Indented code.\r\n", "Find"),
	} {
		req.Parameter = proto.String("paths=import,module=example.com")
		resp := Respond(req)
		if resp.Error != nil {
			t.Fatal(resp.GetError())
		}
		for _, f := range resp.File {
			module[f.GetName()] = []byte(f.GetContent())
		}
		req.FileToGenerate = nil
		for _, f := range req.ProtoFile {
			if strings.HasPrefix(f.GetName(), "find/") {
				req.FileToGenerate = append(req.FileToGenerate, f.GetName())
			}
		}
		for _, plugin := range []string{"protoc-gen-go", "protoc-gen-go-grpc"} {
			for _, f := range runPlugin(t, tool(t, plugin), req).File {
				module[f.GetName()] = []byte(f.GetContent())
			}
		}
	}
	dir := t.TempDir()
	writeModule(t, dir, "example.com", module)
	runIn(t, dir, "go", "build", "./...")
	runIn(t, dir, "go", "vet", "./...")
}

// checkRunOutput requires what protoc and buf need from a run on bytes that
// may not be a request: either an error for main to print as one line, or a
// response whose error, if any, is one line and comes without files.
func checkRunOutput(t *testing.T, err error, out []byte) {
	t.Helper()
	if err != nil {
		if msg := err.Error(); msg == "" || strings.Contains(msg, "\n") {
			t.Fatalf("Run's error is not one line: %q", msg)
		}
		return
	}
	resp := &pluginpb.CodeGeneratorResponse{}
	if err := proto.Unmarshal(out, resp); err != nil {
		t.Fatalf("Run wrote no CodeGeneratorResponse: %v", err)
	}
	if msg := resp.GetError(); resp.Error != nil && (msg == "" || strings.Contains(msg, "\n") || len(resp.File) > 0) {
		t.Fatalf("the response's error is not one line without files: %q, %d files", msg, len(resp.File))
	}
}

// TestTruncatedRequests runs the plugin on every prefix of a request: most
// do not parse, some do (cut between two fields) and then lack files.
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

// TestBinaryBadOptions runs the binary with malformed options, as protoc
// and buf do: it answers (exit 0, nothing on stderr) with one line of error
// that names the option and the value, and no file.
func TestBinaryBadOptions(t *testing.T) {
	for _, tt := range []struct{ param, option, value string }{
		{"artifacts=nonsense", "artifacts", `"nonsense"`},
		{"default_timeout=banana", "default_timeout", `"banana"`},
		{"no_such_option=1", "no_such_option", `"1"`},
		{"retry_codes=UNAVAILABLE+NOPE", "retry_codes", `"UNAVAILABLE+NOPE"`},
	} {
		t.Run(tt.param, func(t *testing.T) {
			req := fixtureRequest(t, "allkinds")
			req.Parameter = proto.String("paths=source_relative," + tt.param)
			in, err := proto.Marshal(req)
			if err != nil {
				t.Fatal(err)
			}
			cmd := exec.Command(pluginBinary(t))
			cmd.Stdin = bytes.NewReader(in)
			var stdout, stderr bytes.Buffer
			cmd.Stdout, cmd.Stderr = &stdout, &stderr
			if err := cmd.Run(); err != nil || stderr.Len() > 0 {
				t.Fatalf("exit: %v, stderr: %q", err, stderr.String())
			}
			resp := &pluginpb.CodeGeneratorResponse{}
			if err := proto.Unmarshal(stdout.Bytes(), resp); err != nil {
				t.Fatal(err)
			}
			msg := resp.GetError()
			if msg == "" || strings.Contains(msg, "\n") || len(resp.File) > 0 {
				t.Fatalf("want one line of error and no file, got %q and %d files", msg, len(resp.File))
			}
			for _, want := range []string{tt.option, tt.value} {
				if !strings.Contains(msg, want) {
					t.Errorf("error %q does not name %s", msg, want)
				}
			}
		})
	}
}
