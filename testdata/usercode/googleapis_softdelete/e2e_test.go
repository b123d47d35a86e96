// Behaviour test of soft delete marked the ways APIs from before AIP-148
// mark it (testdata/protos/googleapis_softdelete, trimmed from IAM admin,
// IAM Workload Identity Federation and Cloud Logging): a bool deleted, a
// state enum's DELETED (restored to ACTIVE), a lifecycle_state's
// DELETE_REQUESTED with an Undelete answering Empty. Served over a real
// gRPC connection (bufconn) and called through the generated wrappers.
package softdelete

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

func wantCode(t *testing.T, err error, want codes.Code) {
	t.Helper()
	if got := status.Code(err); got != want {
		t.Fatalf("error %v: code %v, want %v", err, got, want)
	}
}

func TestRoleMarkedByDeleted(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	c := StartIAMForTest(t, NewInMemoryIAMSkeleton())
	for _, id := range []string{"viewer", "editor"} {
		if _, err := c.CreateRole(ctx, &CreateRoleRequest{Parent: "projects/p", RoleId: id, Role: &Role{Title: id}}); err != nil {
			t.Fatal(err)
		}
	}
	names := func(showDeleted bool) []string {
		t.Helper()
		list, err := c.ListRoles(ctx, &ListRolesRequest{Parent: "projects/p", ShowDeleted: showDeleted})
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, r := range list.GetRoles() {
			out = append(out, r.GetName())
		}
		return out
	}
	deleted, err := c.DeleteRole(ctx, &DeleteRoleRequest{Name: "projects/p/roles/viewer"})
	if err != nil || !deleted.GetDeleted() || deleted.GetTitle() != "viewer" {
		t.Fatalf("DeleteRole = %v, %v; want the role, marked deleted", deleted, err)
	}
	if got, err := c.GetRole(ctx, &GetRoleRequest{Name: "projects/p/roles/viewer"}); err != nil || !got.GetDeleted() {
		t.Fatalf("GetRole of a deleted role = %v, %v; want it, marked", got, err)
	}
	if got := names(false); !slices.Equal(got, []string{"projects/p/roles/editor"}) {
		t.Fatalf("ListRoles = %v; want the editor only", got)
	}
	if got := names(true); !slices.Equal(got, []string{"projects/p/roles/editor", "projects/p/roles/viewer"}) {
		t.Fatalf("ListRoles(show_deleted) = %v; want both", got)
	}
	_, err = c.DeleteRole(ctx, &DeleteRoleRequest{Name: "projects/p/roles/viewer"})
	wantCode(t, err, codes.NotFound)
	_, err = c.UndeleteRole(ctx, &UndeleteRoleRequest{Name: "projects/p/roles/editor"})
	wantCode(t, err, codes.FailedPrecondition)
	restored, err := c.UndeleteRole(ctx, &UndeleteRoleRequest{Name: "projects/p/roles/viewer"})
	if err != nil || restored.GetDeleted() || restored.GetTitle() != "viewer" {
		t.Fatalf("UndeleteRole = %v, %v; want the role, not deleted", restored, err)
	}
	if got := names(false); len(got) != 2 {
		t.Fatalf("ListRoles after undelete = %v; want both", got)
	}
}

func TestPoolMarkedByState(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	c := StartWorkloadIdentityPoolsForTest(t, NewInMemoryWorkloadIdentityPoolsSkeleton())
	const parent = "projects/p/locations/global"
	pool, err := c.CreateWorkloadIdentityPool(ctx, &CreateWorkloadIdentityPoolRequest{Parent: parent, WorkloadIdentityPoolId: "ci", WorkloadIdentityPool: &WorkloadIdentityPool{DisplayName: "CI"}})
	if err != nil {
		t.Fatal(err)
	}
	count := func(showDeleted bool) int {
		t.Helper()
		list, err := c.ListWorkloadIdentityPools(ctx, &ListWorkloadIdentityPoolsRequest{Parent: parent, ShowDeleted: showDeleted})
		if err != nil {
			t.Fatal(err)
		}
		return len(list.GetWorkloadIdentityPools())
	}
	deleted, err := c.DeleteWorkloadIdentityPool(ctx, &DeleteWorkloadIdentityPoolRequest{Name: pool.GetName()})
	if err != nil || deleted.GetState() != WorkloadIdentityPool_DELETED {
		t.Fatalf("DeleteWorkloadIdentityPool = %v, %v; want it in state DELETED", deleted, err)
	}
	if n, all := count(false), count(true); n != 0 || all != 1 {
		t.Fatalf("pools listed: %d, with show_deleted %d; want 0 and 1", n, all)
	}
	restored, err := c.UndeleteWorkloadIdentityPool(ctx, &UndeleteWorkloadIdentityPoolRequest{Name: pool.GetName()})
	if err != nil || restored.GetState() != WorkloadIdentityPool_ACTIVE || restored.GetDisplayName() != "CI" {
		t.Fatalf("UndeleteWorkloadIdentityPool = %v, %v; want it ACTIVE", restored, err)
	}
	if n := count(false); n != 1 {
		t.Fatalf("pools listed after undelete: %d; want 1", n)
	}
	_, err = c.UndeleteWorkloadIdentityPool(ctx, &UndeleteWorkloadIdentityPoolRequest{Name: pool.GetName()})
	wantCode(t, err, codes.FailedPrecondition)
}

func TestBucketUndeleteAnswersEmpty(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	c := StartConfigServiceV2ForTest(t, NewInMemoryConfigServiceV2Skeleton())
	const parent = "projects/p/locations/global"
	b, err := c.CreateBucket(ctx, &CreateBucketRequest{Parent: parent, BucketId: "audit", Bucket: &LogBucket{RetentionDays: 30}})
	if err != nil || b.GetName() != parent+"/buckets/audit" {
		t.Fatalf("CreateBucket = %v, %v", b, err)
	}
	listed := func() int {
		t.Helper()
		list, err := c.ListBuckets(ctx, &ListBucketsRequest{Parent: parent})
		if err != nil {
			t.Fatal(err)
		}
		return len(list.GetBuckets())
	}
	if _, err := c.DeleteBucket(ctx, &DeleteBucketRequest{Name: b.GetName()}); err != nil {
		t.Fatal(err)
	}
	if n := listed(); n != 0 {
		t.Fatalf("buckets listed after delete: %d; want 0", n)
	}
	_, err = c.DeleteBucket(ctx, &DeleteBucketRequest{Name: b.GetName()})
	wantCode(t, err, codes.NotFound)
	if _, err := c.UndeleteBucket(ctx, &UndeleteBucketRequest{Name: b.GetName()}); err != nil {
		t.Fatal(err)
	}
	if n := listed(); n != 1 {
		t.Fatalf("buckets listed after undelete: %d; want 1", n)
	}
	_, err = c.UndeleteBucket(ctx, &UndeleteBucketRequest{Name: b.GetName()})
	wantCode(t, err, codes.FailedPrecondition)
	_, err = c.UndeleteBucket(ctx, &UndeleteBucketRequest{Name: parent + "/buckets/missing"})
	wantCode(t, err, codes.NotFound)
}

// TestFoldersUnderParents: a Folder keeps its parent in a field of its own
// (folders/{folder} names none): CreateFolder stores the request's parent
// there, and ListFolders' parent filters on it; a deleted folder is marked
// DELETE_REQUESTED.
func TestFoldersUnderParents(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	c := StartFoldersForTest(t, NewInMemoryFoldersSkeleton())
	var eng *Folder
	for _, f := range []struct{ parent, name string }{{"organizations/1", "Engineering"}, {"organizations/1", "Sales"}, {"organizations/2", "Other"}} {
		got, err := c.CreateFolder(ctx, &CreateFolderRequest{Parent: f.parent, Folder: &Folder{DisplayName: f.name}})
		if err != nil || got.GetParent() != f.parent || !strings.HasPrefix(got.GetName(), "folders/") {
			t.Fatalf("CreateFolder(%s) = %v, %v; want a folder with that parent", f.parent, got, err)
		}
		if eng == nil {
			eng = got
		}
	}
	_, err := c.CreateFolder(ctx, &CreateFolderRequest{Parent: "organizations/1", Folder: &Folder{Parent: "organizations/2", DisplayName: "x"}})
	wantCode(t, err, codes.InvalidArgument)
	list := func(showDeleted bool) int {
		t.Helper()
		page, err := c.ListFolders(ctx, &ListFoldersRequest{Parent: "organizations/1", ShowDeleted: showDeleted})
		if err != nil {
			t.Fatal(err)
		}
		return len(page.GetFolders())
	}
	if n := list(false); n != 2 {
		t.Fatalf("ListFolders(organizations/1) = %d folders; want 2", n)
	}
	deleted, err := c.DeleteFolder(ctx, &DeleteFolderRequest{Name: eng.GetName()})
	if err != nil || deleted.GetLifecycleState() != Folder_DELETE_REQUESTED {
		t.Fatalf("DeleteFolder = %v, %v; want it DELETE_REQUESTED", deleted, err)
	}
	if n, all := list(false), list(true); n != 1 || all != 2 {
		t.Fatalf("folders listed: %d, with show_deleted %d; want 1 and 2", n, all)
	}
	restored, err := c.UndeleteFolder(ctx, &UndeleteFolderRequest{Name: eng.GetName()})
	if err != nil || restored.GetLifecycleState() != Folder_ACTIVE || restored.GetParent() != "organizations/1" {
		t.Fatalf("UndeleteFolder = %v, %v; want it ACTIVE under its parent", restored, err)
	}
}
