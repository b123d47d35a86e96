package gen

import (
	"fmt"
	"math"
	"slices"
	"strings"
	"sync"
	"unicode"

	"google.golang.org/genproto/googleapis/api/annotations"
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
