// Behaviour test of a method answering an Operation without
// operation_info (testdata/protos/lro's UpdateJob), served with the Job its
// noun names as the response, over a real gRPC connection (bufconn) and
// called through the generated wrapper; and a long-running batch Create.
package lro

import (
	"context"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
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

// TestLongRunningBatch: BatchCreateJobs answers a done Operation holding
// the batch's response, which the wrapper's AndWait unpacks.
func TestLongRunningBatch(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	c := StartJobsForTest(t, NewInMemoryJobsSkeleton())
	res, md, err := c.BatchCreateJobsAndWait(ctx, &BatchCreateJobsRequest{Requests: []*CreateJobRequest{
		{Job: &Job{Name: "jobs/a", Title: "A"}},
		{Job: &Job{Name: "jobs/b", Title: "B"}},
	}})
	if err != nil || md == nil || len(res.GetJobs()) != 2 || res.GetJobs()[1].GetTitle() != "B" {
		t.Fatalf("BatchCreateJobsAndWait = %v, %v, %v", res, md, err)
	}
	if got, err := c.GetJob(ctx, &GetJobRequest{Name: "jobs/b"}); err != nil || got.GetTitle() != "B" {
		t.Fatalf("GetJob of a batch-created job = %v, %v", got, err)
	}
	// All or nothing: a name used twice stores neither job.
	_, _, err = c.BatchCreateJobsAndWait(ctx, &BatchCreateJobsRequest{Requests: []*CreateJobRequest{
		{Job: &Job{Name: "jobs/c"}},
		{Job: &Job{Name: "jobs/a"}},
	}})
	if status.Code(err) != codes.AlreadyExists {
		t.Fatalf("a batch reusing jobs/a = %v; want AlreadyExists", err)
	}
	if _, err := c.GetJob(ctx, &GetJobRequest{Name: "jobs/c"}); status.Code(err) != codes.NotFound {
		t.Fatalf("jobs/c of the failed batch = %v; want NotFound", err)
	}
}
