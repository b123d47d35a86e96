// Behaviour test of the google.iam.v1 policy methods of testdata/protos/iam,
// compiled into the generated package by TestGoldensCompile, served over a
// real gRPC connection (bufconn) and called through the generated wrapper.
package iam

import (
	"context"
	"slices"
	"testing"

	"cloud.google.com/go/iam/apiv1/iampb"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/svcgen/protoc-gen-svc/svciam"
)

func wantCode(t *testing.T, what string, err error, want codes.Code) {
	t.Helper()
	if status.Code(err) != want {
		t.Fatalf("%s = %v; want %v", what, err, want)
	}
}

func TestPolicies(t *testing.T) {
	ctx := context.Background()
	c := StartLibraryForTest(t, NewInMemoryLibrarySkeleton())
	book, err := c.CreateBook(ctx, &CreateBookRequest{Book: &Book{Title: "Dune"}})
	if err != nil {
		t.Fatal(err)
	}
	empty, err := c.GetIamPolicy(ctx, &iampb.GetIamPolicyRequest{Resource: book.Name})
	if err != nil || len(empty.Bindings) != 0 || len(empty.Etag) == 0 {
		t.Fatalf("the policy of a new book = %v, %v; want an empty policy with an etag", empty, err)
	}
	bindings := []*iampb.Binding{{Role: "roles/viewer", Members: []string{"user:alice@example.com"}}}
	set, err := c.SetIamPolicy(ctx, &iampb.SetIamPolicyRequest{Resource: book.Name, Policy: &iampb.Policy{Bindings: bindings, Etag: empty.Etag}})
	if err != nil || string(set.Etag) == string(empty.Etag) {
		t.Fatalf("SetIamPolicy = %v, %v; want a new etag", set, err)
	}
	got, err := c.GetIamPolicy(ctx, &iampb.GetIamPolicyRequest{Resource: book.Name})
	if err != nil || len(got.Bindings) != 1 || got.Bindings[0].Members[0] != "user:alice@example.com" || string(got.Etag) != string(set.Etag) {
		t.Fatalf("GetIamPolicy after the set = %v, %v; want %v", got, err, set)
	}
	// Read, modify, write: a policy read before the set is stale.
	_, err = c.SetIamPolicy(ctx, &iampb.SetIamPolicyRequest{Resource: book.Name, Policy: &iampb.Policy{Etag: empty.Etag}})
	wantCode(t, "SetIamPolicy with a stale etag", err, codes.Aborted)
	_, err = c.GetIamPolicy(ctx, &iampb.GetIamPolicyRequest{Resource: book.Name, Options: &iampb.GetPolicyOptions{RequestedPolicyVersion: 2}})
	wantCode(t, "GetIamPolicy of version 2", err, codes.InvalidArgument)

	// The resource must be a stored book.
	_, err = c.GetIamPolicy(ctx, &iampb.GetIamPolicyRequest{Resource: "books/none"})
	wantCode(t, "GetIamPolicy of an unknown book", err, codes.NotFound)
	_, err = c.SetIamPolicy(ctx, &iampb.SetIamPolicyRequest{Resource: "books/none", Policy: &iampb.Policy{}})
	wantCode(t, "SetIamPolicy of an unknown book", err, codes.NotFound)
	_, err = c.TestIamPermissions(ctx, &iampb.TestIamPermissionsRequest{Resource: "shelves/1", Permissions: []string{"library.books.get"}})
	wantCode(t, "TestIamPermissions of a name of no resource", err, codes.InvalidArgument)

	// Without an authorizer, the caller holds nothing.
	perms := []string{"library.books.get", "library.books.delete"}
	resp, err := c.TestIamPermissions(ctx, &iampb.TestIamPermissionsRequest{Resource: book.Name, Permissions: perms})
	if err != nil || len(resp.Permissions) != 0 {
		t.Fatalf("TestIamPermissions without an authorizer = %v, %v; want none", resp, err)
	}
}

func TestPermissionsByRoles(t *testing.T) {
	ctx := context.Background()
	skel := NewInMemoryLibrarySkeleton()
	alice := svciam.ByRoles(func(context.Context) []string { return []string{"user:alice@example.com"} },
		map[string][]string{"roles/viewer": {"library.books.get"}})
	// The authorizer is put in every call's context, as an interceptor does.
	authorized := authorizedServer{LibrarySkeleton: skel, a: alice}
	c := StartLibraryForTest(t, authorized)
	book, err := c.CreateBook(ctx, &CreateBookRequest{Book: &Book{Title: "Emma"}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.SetIamPolicy(ctx, &iampb.SetIamPolicyRequest{Resource: book.Name, Policy: &iampb.Policy{
		Bindings: []*iampb.Binding{{Role: "roles/viewer", Members: []string{"user:alice@example.com"}}}}}); err != nil {
		t.Fatal(err)
	}
	resp, err := c.TestIamPermissions(ctx, &iampb.TestIamPermissionsRequest{Resource: book.Name, Permissions: []string{"library.books.get", "library.books.delete"}})
	if err != nil || !slices.Equal(resp.Permissions, []string{"library.books.get"}) {
		t.Fatalf("TestIamPermissions = %v, %v; want library.books.get", resp, err)
	}
}

// authorizedServer puts its authorizer in the context of TestIamPermissions.
type authorizedServer struct {
	LibrarySkeleton
	a svciam.Authorizer
}

func (s authorizedServer) TestIamPermissions(ctx context.Context, req *iampb.TestIamPermissionsRequest) (*iampb.TestIamPermissionsResponse, error) {
	return s.LibrarySkeleton.TestIamPermissions(svciam.WithAuthorizer(ctx, s.a), req)
}
