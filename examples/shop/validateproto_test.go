package shop_test

import (
	"context"
	"testing"

	validatepb "buf.build/gen/go/bufbuild/protovalidate/protocolbuffers/go/buf/validate"
	"github.com/bufbuild/protocompile"
	"google.golang.org/protobuf/encoding/prototext"
	"google.golang.org/protobuf/reflect/protodesc"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/types/descriptorpb"
)

// TestVendoredValidateProto: the shop's protos are compiled against
// third_party/protovalidate's buf/validate/validate.proto, and validated at
// run time against the descriptor the Go package in go.mod registers. The
// rules mean the same to both only if every message, field, enum value and
// extension of the vendored file is registered with the same number and
// type (the registered file may be newer and have more), and the Go
// package is the one the generated code imports.
func TestVendoredValidateProto(t *testing.T) {
	compiler := protocompile.Compiler{Resolver: protocompile.WithStandardImports(&protocompile.SourceResolver{
		ImportPaths: []string{"../../third_party/protovalidate"},
	})}
	files, err := compiler.Compile(context.Background(), "buf/validate/validate.proto")
	if err != nil {
		t.Fatal(err)
	}
	vendored := files[0]
	registered := validatepb.File_buf_validate_validate_proto

	const goPackage = "buf.build/gen/go/bufbuild/protovalidate/protocolbuffers/go/buf/validate"
	if got := vendored.Options().(*descriptorpb.FileOptions).GetGoPackage(); got != goPackage {
		t.Errorf("vendored go_package %q, want %q (the Go package in go.mod)", got, goPackage)
	}
	if vendored.Package() != registered.Package() {
		t.Fatalf("package %s, registered %s", vendored.Package(), registered.Package())
	}

	var checkMessages func(vs, rs protoreflect.MessageDescriptors)
	checkEnums := func(vs, rs protoreflect.EnumDescriptors) {
		for i := range vs.Len() {
			v := vs.Get(i)
			r := rs.ByName(v.Name())
			if r == nil {
				t.Errorf("enum %s is not registered", v.FullName())
				continue
			}
			for j := range v.Values().Len() {
				vv := v.Values().Get(j)
				if rv := r.Values().ByName(vv.Name()); rv == nil || rv.Number() != vv.Number() {
					t.Errorf("enum value %s = %d is not registered with that number", vv.FullName(), vv.Number())
				}
			}
		}
	}
	checkField := func(v, r protoreflect.FieldDescriptor) {
		switch {
		case r == nil:
			t.Errorf("%s is not registered", v.FullName())
		case r.Number() != v.Number() || r.Kind() != v.Kind() || r.Cardinality() != v.Cardinality():
			t.Errorf("%s: vendored %d %v %v, registered %d %v %v", v.FullName(), v.Number(), v.Cardinality(), v.Kind(), r.Number(), r.Cardinality(), r.Kind())
		case v.Message() != nil && v.Message().FullName() != r.Message().FullName(),
			v.Enum() != nil && v.Enum().FullName() != r.Enum().FullName():
			t.Errorf("%s: vendored and registered types differ", v.FullName())
		case v.IsExtension() && v.ContainingMessage().FullName() != r.ContainingMessage().FullName():
			t.Errorf("%s extends %s, registered %s", v.FullName(), v.ContainingMessage().FullName(), r.ContainingMessage().FullName())
		}
	}
	checkMessages = func(vs, rs protoreflect.MessageDescriptors) {
		for i := range vs.Len() {
			v := vs.Get(i)
			r := rs.ByName(v.Name())
			if r == nil {
				t.Errorf("message %s is not registered", v.FullName())
				continue
			}
			for j := range v.Fields().Len() {
				checkField(v.Fields().Get(j), r.Fields().ByName(v.Fields().Get(j).Name()))
			}
			checkEnums(v.Enums(), r.Enums())
			checkMessages(v.Messages(), r.Messages())
		}
	}
	checkMessages(vendored.Messages(), registered.Messages())
	checkEnums(vendored.Enums(), registered.Enums())
	for i := range vendored.Extensions().Len() {
		v := vendored.Extensions().Get(i)
		checkField(v, registered.Extensions().ByName(v.Name()))
	}

	// Not required, but worth knowing when the two drift apart. (As text:
	// the options of the two hold the same extensions in different Go
	// representations, which proto.Equal tells apart.)
	text := func(fd protoreflect.FileDescriptor) string {
		p := protodesc.ToFileDescriptorProto(fd)
		p.SourceCodeInfo = nil
		return prototext.Format(p)
	}
	if text(vendored) != text(registered) {
		t.Logf("the registered buf/validate/validate.proto differs from the vendored one (compatible: checked above)")
	}
}
