// Behaviour test of IAM policy methods with types of their own
// (testdata/protos/googleapis_compute_iam, trimmed from Compute Engine),
// served over a real gRPC connection (bufconn) and called through the
// generated wrapper.
package compute

import (
	"context"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"

	"github.com/svcgen/protoc-gen-svc/svciam"
	"github.com/svcgen/protoc-gen-svc/svcserver"
)

func wantCode(t *testing.T, err error, want codes.Code) {
	t.Helper()
	if got := status.Code(err); got != want {
		t.Fatalf("error %v: code %v, want %v", err, got, want)
	}
}

func TestInstancePolicy(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	skeleton := NewInMemoryInstancesSkeleton()
	c := StartInstancesForTest(t, skeleton)
	get := &GetIamPolicyInstanceRequest{Project: "shop", Zone: "us-east1-b", Resource: "web"}
	empty, err := c.GetIamPolicy(ctx, get)
	if err != nil || empty.GetEtag() == "" || len(empty.GetBindings()) != 0 {
		t.Fatalf("GetIamPolicy of an instance without a policy = %v, %v; want an empty one with an etag", empty, err)
	}
	set := func(p *Policy) (*Policy, error) {
		return c.SetIamPolicy(ctx, &SetIamPolicyInstanceRequest{Project: "shop", Zone: "us-east1-b", Resource: "web",
			ZoneSetPolicyRequestResource: &ZoneSetPolicyRequest{Policy: p}})
	}
	viewers := []*Binding{{Role: proto.String("roles/compute.viewer"), Members: []string{"user:ana@example.com"}}}
	stored, err := set(&Policy{Bindings: viewers, Etag: empty.Etag})
	if err != nil || stored.GetEtag() == empty.GetEtag() || len(stored.GetBindings()) != 1 {
		t.Fatalf("SetIamPolicy = %v, %v; want the binding, with a new etag", stored, err)
	}
	// A write from the etag read before it is Aborted (read, modify, write).
	_, err = set(&Policy{Bindings: nil, Etag: empty.Etag})
	wantCode(t, err, codes.Aborted)
	_, err = set(&Policy{Etag: proto.String("not-ours")})
	wantCode(t, err, codes.Aborted)
	// What google.iam.v1.Policy cannot hold is refused, never dropped.
	_, err = set(&Policy{Bindings: viewers, IamOwned: proto.Bool(true)})
	if st := status.Convert(err); st.Code() != codes.InvalidArgument || !strings.Contains(st.Message(), "iamOwned") {
		t.Fatalf("SetIamPolicy with iam_owned: %v; want InvalidArgument naming it", err)
	}
	_, err = set(&Policy{Bindings: []*Binding{{Role: proto.String("roles/x"), BindingId: proto.String("b1")}}})
	wantCode(t, err, codes.InvalidArgument)
	// The deprecated flattened fields are refused: policy holds the policy.
	_, err = c.SetIamPolicy(ctx, &SetIamPolicyInstanceRequest{Project: "shop", Zone: "us-east1-b", Resource: "web",
		ZoneSetPolicyRequestResource: &ZoneSetPolicyRequest{Bindings: viewers}})
	wantCode(t, err, codes.Unimplemented)
	_, err = c.SetIamPolicy(ctx, &SetIamPolicyInstanceRequest{Project: "shop", Zone: "us-east1-b", Resource: "web"})
	wantCode(t, err, codes.InvalidArgument)

	got, err := c.GetIamPolicy(ctx, get)
	if err != nil || got.GetEtag() != stored.GetEtag() || got.GetBindings()[0].GetMembers()[0] != "user:ana@example.com" {
		t.Fatalf("GetIamPolicy after the set = %v, %v", got, err)
	}
	// Another zone's instance of the same name has a policy of its own.
	other, err := c.GetIamPolicy(ctx, &GetIamPolicyInstanceRequest{Project: "shop", Zone: "europe-west1-b", Resource: "web"})
	if err != nil || len(other.GetBindings()) != 0 {
		t.Fatalf("GetIamPolicy of another zone's web = %v, %v; want none", other, err)
	}
	_, err = c.GetIamPolicy(ctx, &GetIamPolicyInstanceRequest{Project: "shop", Zone: "us-east1-b/x", Resource: "web"})
	if st := status.Convert(err); st.Code() != codes.InvalidArgument || !strings.Contains(st.Message(), "zone") {
		t.Fatalf("GetIamPolicy with a zone of two segments: %v; want InvalidArgument naming zone", err)
	}
	_, err = c.GetIamPolicy(ctx, &GetIamPolicyInstanceRequest{Project: "shop", Zone: "us-east1-b", Resource: "web", OptionsRequestedPolicyVersion: proto.Int32(2)})
	wantCode(t, err, codes.InvalidArgument)

	// The roles of the policy decide the permissions the caller holds.
	ana := svciam.ByRoles(func(context.Context) []string { return []string{"user:ana@example.com"} },
		map[string][]string{"roles/compute.viewer": {"compute.instances.get"}})
	conn := svcserver.ServeInProcess(t, func(s grpc.ServiceRegistrar) { RegisterInstancesServer(s, skeleton) },
		svcserver.WithServerOptions(grpc.ChainUnaryInterceptor(svciam.Interceptor(ana))))
	authorized := NewInstancesWrapper(conn)
	held, err := authorized.TestIamPermissions(ctx, &TestIamPermissionsInstanceRequest{Project: "shop", Zone: "us-east1-b", Resource: "web",
		TestPermissionsRequestResource: &TestPermissionsRequest{Permissions: []string{"compute.instances.get", "compute.instances.delete"}}})
	if err != nil || len(held.GetPermissions()) != 1 || held.GetPermissions()[0] != "compute.instances.get" {
		t.Fatalf("TestIamPermissions = %v, %v; want compute.instances.get alone", held, err)
	}
}
