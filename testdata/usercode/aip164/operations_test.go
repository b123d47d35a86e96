package aip164

import (
	"context"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// Delete and Undelete answering long-running operations (as Resource
// Manager v3's Projects do): the wrapper's AndWait methods answer the
// marked and the restored Project.
func TestSoftDeleteByOperations(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	c := StartProjectsForTest(t, NewInMemoryProjectsSkeleton())
	p, err := c.CreateProject(ctx, &CreateProjectRequest{Project: &Project{DisplayName: "shop"}})
	if err != nil {
		t.Fatal(err)
	}
	deleted, md, err := c.DeleteProjectAndWait(ctx, &DeleteProjectRequest{Name: p.GetName()})
	if err != nil || deleted.GetDeleteTime() == nil || md == nil {
		t.Fatalf("DeleteProjectAndWait = %v, %v, %v", deleted, md, err)
	}
	got, err := c.GetProject(ctx, &GetProjectRequest{Name: p.GetName()})
	if err != nil || got.GetDeleteTime() == nil {
		t.Fatalf("GetProject of a deleted project = %v, %v", got, err)
	}
	restored, md2, err := c.UndeleteProjectAndWait(ctx, &UndeleteProjectRequest{Name: p.GetName()})
	if err != nil || restored.GetDeleteTime() != nil || restored.GetDisplayName() != "shop" || md2 == nil {
		t.Fatalf("UndeleteProjectAndWait = %v, %v, %v", restored, md2, err)
	}
	// Undeleting what is not deleted is refused before any operation.
	_, err = c.UndeleteProject(ctx, &UndeleteProjectRequest{Name: p.GetName()})
	if status.Code(err) != codes.FailedPrecondition {
		t.Fatalf("UndeleteProject of a live project: %v", err)
	}
	_, _, err = c.UndeleteProjectAndWait(ctx, &UndeleteProjectRequest{Name: "projects/missing"})
	if status.Code(err) != codes.NotFound {
		t.Fatalf("UndeleteProjectAndWait of a missing project: %v", err)
	}
}
