package svclro

import (
	"testing"

	"google.golang.org/protobuf/types/known/anypb"
	"google.golang.org/protobuf/types/known/durationpb"
)

func TestEmptyMetadata(t *testing.T) {
	// A registered type comes from the registry.
	if _, ok := EmptyMetadata("google.protobuf.Duration").(*durationpb.Duration); !ok {
		t.Fatal("EmptyMetadata of a registered type is not of its Go type")
	}
	// Any other packs as an empty message of that name would.
	for range 2 {
		a, err := anypb.New(EmptyMetadata("google.cloud.common.OperationMetadata"))
		if err != nil {
			t.Fatal(err)
		}
		if a.GetTypeUrl() != "type.googleapis.com/google.cloud.common.OperationMetadata" || len(a.GetValue()) != 0 {
			t.Fatalf("packed stand-in = %v", a)
		}
	}
	if got := EmptyMetadata("Unqualified").ProtoReflect().Descriptor().FullName(); got != "Unqualified" {
		t.Fatalf("stand-in of a name without a package is %s", got)
	}
	defer func() {
		if recover() == nil {
			t.Fatal("EmptyMetadata of an invalid name did not panic")
		}
	}()
	EmptyMetadata("not a name")
}
