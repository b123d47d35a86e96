// Behaviour test of long-running operations whose metadata type the
// service's file does not import (testdata/protos/googleapis_lro_common,
// trimmed from Network Security): served over a real gRPC connection
// (bufconn) with google.longrunning.Operations beside it, and called
// through the wrapper's AndWait methods, which answer the metadata as an
// Any of the declared type.
package networksecurity

import (
	"context"
	"testing"
	"time"

	"cloud.google.com/go/longrunning/autogen/longrunningpb"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

const parent = "projects/p/locations/global"

func TestMetadataNotImported(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	c := StartNetworkSecurityForTest(t, NewInMemoryNetworkSecuritySkeleton())

	p, md, err := c.CreateServerTlsPolicyAndWait(ctx, &CreateServerTlsPolicyRequest{Parent: parent, ServerTlsPolicyId: "mtls", ServerTlsPolicy: &ServerTlsPolicy{Name: "ignored", Description: "mutual TLS"}})
	if err != nil {
		t.Fatal(err)
	}
	if p.GetName() != parent+"/serverTlsPolicies/mtls" || p.GetDescription() != "mutual TLS" {
		t.Fatalf("CreateServerTlsPolicyAndWait = %v", p)
	}
	// The type common.proto declares, which this package links: the Any
	// unpacks into it.
	if md.GetTypeUrl() != "type.googleapis.com/google.cloud.networksecurity.v1.OperationMetadata" {
		t.Fatalf("metadata type %q", md.GetTypeUrl())
	}
	var meta OperationMetadata
	if err := md.UnmarshalTo(&meta); err != nil {
		t.Fatalf("the metadata does not unpack into OperationMetadata: %v", err)
	}

	// A type no file of the request declares: the operation still names it,
	// with an empty value, as an empty message of it would be packed.
	op, err := c.DeleteServerTlsPolicy(ctx, &DeleteServerTlsPolicyRequest{Name: p.GetName()})
	if err != nil {
		t.Fatal(err)
	}
	if !op.GetDone() || op.GetMetadata().GetTypeUrl() != "type.googleapis.com/google.cloud.common.OperationMetadata" || len(op.GetMetadata().GetValue()) != 0 {
		t.Fatalf("DeleteServerTlsPolicy's operation = %v", op)
	}
	got, err := c.ops.GetOperation(ctx, &longrunningpb.GetOperationRequest{Name: op.GetName()})
	if err != nil || got.GetMetadata().GetTypeUrl() != op.GetMetadata().GetTypeUrl() {
		t.Fatalf("GetOperation = %v, %v", got, err)
	}
	_, err = c.GetServerTlsPolicy(ctx, &GetServerTlsPolicyRequest{Name: p.GetName()})
	if status.Code(err) != codes.NotFound {
		t.Fatalf("GetServerTlsPolicy after delete: %v", err)
	}
	_, md, err = c.DeleteServerTlsPolicyAndWait(ctx, &DeleteServerTlsPolicyRequest{Name: p.GetName()})
	if status.Code(err) != codes.NotFound || md != nil {
		t.Fatalf("DeleteServerTlsPolicyAndWait of a deleted policy = %v, %v", md, err)
	}
}
