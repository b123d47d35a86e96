package gen

import (
	"bytes"
	"github.com/svcgen/protoc-gen-svc/internal/testenv"
	"go/parser"
	"go/token"
	"os/exec"
	"slices"
	"strings"
	"testing"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protodesc"
	"google.golang.org/protobuf/types/descriptorpb"
	"google.golang.org/protobuf/types/pluginpb"
)

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
	testenv.Slow(t, "builds pinned tools and a module")
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
