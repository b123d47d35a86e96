// Behaviour test of a method answering an Operation without
// operation_info (testdata/protos/lro's UpdateJob), served with the Job its
// noun names as the response, over a real gRPC connection (bufconn) and
// called through the generated wrapper.
package lro

import (
	"context"
	"testing"
	"time"

	"google.golang.org/protobuf/types/known/emptypb"
)

func TestUpdateWithoutOperationInfo(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	skeleton := NewInMemoryJobsSkeleton()
	if _, err := skeleton.Repositories().Job.Create(ctx, &Job{Name: "jobs/1", Title: "old"}); err != nil {
		t.Fatal(err)
	}
	c := StartJobsForTest(t, skeleton)
	op, err := c.UpdateJob(ctx, &UpdateJobRequest{Job: &Job{Name: "jobs/1", Title: "new"}})
	if err != nil || !op.GetDone() {
		t.Fatalf("UpdateJob = %v, %v; want an Operation that is done", op, err)
	}
	got := &Job{}
	if err := op.GetResponse().UnmarshalTo(got); err != nil || got.GetTitle() != "new" {
		t.Fatalf("UpdateJob's response = %v, %v; want the Job updated", got, err)
	}
	if err := op.GetMetadata().UnmarshalTo(&emptypb.Empty{}); err != nil {
		t.Fatalf("UpdateJob's metadata %v is not a google.protobuf.Empty: %v", op.GetMetadata(), err)
	}
	if stored, err := c.GetJob(ctx, &GetJobRequest{Name: "jobs/1"}); err != nil || stored.GetTitle() != "new" {
		t.Fatalf("GetJob after the update = %v, %v", stored, err)
	}
}
