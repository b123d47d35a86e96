package gen

import (
	"testing"

	// The fixtures import google/longrunning/operations.proto, which the
	// in-process compiler finds among the linked descriptors; the plugin
	// itself does not link it (see operationInfoType).
	"cloud.google.com/go/longrunning/autogen/longrunningpb"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/descriptorpb"
)

// TestReadOperationInfoOption reads the option as extension reads it with
// the option's Go type: from a typed extension, from unknown fields, merged
// when it occurs twice, absent.
func TestReadOperationInfoOption(t *testing.T) {
	typed := &descriptorpb.MethodOptions{Deprecated: proto.Bool(true)}
	proto.SetExtension(typed, longrunningpb.E_OperationInfo, &longrunningpb.OperationInfo{ResponseType: "Instance", MetadataType: "OperationMetadata"})
	b, err := proto.Marshal(typed)
	if err != nil {
		t.Fatal(err)
	}
	unknown := &descriptorpb.MethodOptions{}
	if err := (proto.UnmarshalOptions{Resolver: requestTypes}).Unmarshal(b, unknown); err != nil {
		t.Fatal(err)
	}
	if len(unknown.ProtoReflect().GetUnknown()) == 0 {
		t.Fatal("the option was resolved")
	}
	again, err := proto.Marshal(&descriptorpb.MethodOptions{})
	if err != nil {
		t.Fatal(err)
	}
	second := &descriptorpb.MethodOptions{}
	proto.SetExtension(second, longrunningpb.E_OperationInfo, &longrunningpb.OperationInfo{MetadataType: "Other"})
	sb, err := proto.Marshal(second)
	if err != nil {
		t.Fatal(err)
	}
	twice := &descriptorpb.MethodOptions{}
	if err := (proto.UnmarshalOptions{Resolver: requestTypes}).Unmarshal(append(append(b, again...), sb...), twice); err != nil {
		t.Fatal(err)
	}
	for name, opts := range map[string]*descriptorpb.MethodOptions{
		"typed": typed, "unknown": unknown, "twice": twice, "none": {Deprecated: proto.Bool(true)}, "nil": nil,
	} {
		want, err := extension[*longrunningpb.OperationInfo](opts, longrunningpb.E_OperationInfo)
		if err != nil {
			t.Fatal(err)
		}
		got, err := readOperationInfoOption(opts)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if (got == nil) != (want == nil) {
			t.Fatalf("%s: got %v, want %v", name, got, want)
		}
		if got != nil && (got.GetResponseType() != want.GetResponseType() || got.GetMetadataType() != want.GetMetadataType()) {
			t.Errorf("%s: got %+v, want %v", name, *got, want)
		}
	}
	if got, _ := readOperationInfoOption(twice); got == nil || got.GetResponseType() != "Instance" || got.GetMetadataType() != "Other" {
		t.Errorf("twice: %+v, want the two merged", got)
	}
}
