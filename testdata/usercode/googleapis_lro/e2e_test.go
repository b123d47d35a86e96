// Behaviour test of a googleapis API whose Create, Update and Delete are
// long-running operations: Memorystore for Redis (google.cloud.redis.v1,
// trimmed in testdata/protos/googleapis_lro), compiled into the generated
// package by TestGoldensCompile, served over a real gRPC connection
// (bufconn) with google.longrunning.Operations beside it, and called
// through the wrapper's AndWait methods.
package redis

import (
	"context"
	"strings"
	"testing"
	"time"

	"cloud.google.com/go/longrunning/autogen/longrunningpb"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/fieldmaskpb"

	"github.com/svcgen/protoc-gen-svc/svclro"
)

func wantCode(t *testing.T, err error, want codes.Code) {
	t.Helper()
	if got := status.Code(err); got != want {
		t.Fatalf("error %v: code %v, want %v", err, got, want)
	}
}

const parent = "projects/p/locations/us-central1"

func TestOperationsRoundTrip(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	c := StartCloudRedisForTest(t, NewInMemoryCloudRedisSkeleton())

	inst, md, err := c.CreateInstanceAndWait(ctx, &CreateInstanceRequest{Parent: parent, InstanceId: "cache", Instance: &Instance{Tier: Instance_BASIC, MemorySizeGb: 1}})
	if err != nil {
		t.Fatal(err)
	}
	if inst.GetName() != parent+"/instances/cache" || inst.GetMemorySizeGb() != 1 || md == nil {
		t.Fatalf("CreateInstanceAndWait = %v, %v", inst, md)
	}

	// The raw call answers a done Operation, which Operations serves.
	op, err := c.CreateInstance(ctx, &CreateInstanceRequest{Parent: parent, InstanceId: "second", Instance: &Instance{Tier: Instance_STANDARD_HA, MemorySizeGb: 5}})
	if err != nil {
		t.Fatal(err)
	}
	if !op.GetDone() || op.GetMetadata().GetTypeUrl() != "type.googleapis.com/google.cloud.redis.v1.OperationMetadata" {
		t.Fatalf("CreateInstance's operation = %v", op)
	}
	got, err := c.ops.GetOperation(ctx, &longrunningpb.GetOperationRequest{Name: op.GetName()})
	if err != nil || got.GetResponse().GetTypeUrl() != "type.googleapis.com/google.cloud.redis.v1.Instance" {
		t.Fatalf("GetOperation = %v, %v", got, err)
	}
	second := &Instance{}
	if err := svclro.Unpack(got, second, nil); err != nil || second.GetName() != parent+"/instances/second" {
		t.Fatalf("the operation's response: %v, %v", second, err)
	}
	list, err := c.ops.ListOperations(ctx, &longrunningpb.ListOperationsRequest{Name: "operations", Filter: "done = true"})
	if err != nil || len(list.GetOperations()) != 2 {
		t.Fatalf("ListOperations = %v, %v", list, err)
	}

	// A failed Create is a plain error, not an operation.
	_, _, err = c.CreateInstanceAndWait(ctx, &CreateInstanceRequest{Parent: "folders/f", InstanceId: "x", Instance: &Instance{}})
	wantCode(t, err, codes.InvalidArgument)
	_, _, err = c.CreateInstanceAndWait(ctx, &CreateInstanceRequest{Parent: parent, InstanceId: "cache", Instance: &Instance{Tier: Instance_BASIC, MemorySizeGb: 2}})
	wantCode(t, err, codes.AlreadyExists)
	// Field behaviour (AIP-203): REQUIRED fields unset are refused, naming
	// them, before any operation; OUTPUT_ONLY fields sent are not stored.
	_, err = c.CreateInstance(ctx, &CreateInstanceRequest{Parent: parent, InstanceId: "third", Instance: &Instance{}})
	if st := status.Convert(err); st.Code() != codes.InvalidArgument || !strings.Contains(st.Message(), "instance.tier") || !strings.Contains(st.Message(), "instance.memory_size_gb") {
		t.Fatalf("CreateInstance without REQUIRED fields: %v", err)
	}
	_, _, err = c.CreateInstanceAndWait(ctx, &CreateInstanceRequest{Parent: parent, Instance: &Instance{Tier: Instance_BASIC, MemorySizeGb: 1}})
	if st := status.Convert(err); st.Code() != codes.InvalidArgument || !strings.Contains(st.Message(), "instance_id") {
		t.Fatalf("CreateInstance without instance_id (REQUIRED): %v", err)
	}
	third, _, err := c.CreateInstanceAndWait(ctx, &CreateInstanceRequest{Parent: parent, InstanceId: "third", Instance: &Instance{Tier: Instance_BASIC, MemorySizeGb: 1, Host: "10.0.0.1", Port: 6379, State: Instance_READY}})
	if err != nil || third.GetHost() != "" || third.GetPort() != 0 || third.GetState() != Instance_STATE_UNSPECIFIED {
		t.Fatalf("CreateInstanceAndWait sending OUTPUT_ONLY fields = %v, %v", third, err)
	}

	upd, _, err := c.UpdateInstanceAndWait(ctx, &UpdateInstanceRequest{Instance: &Instance{Name: inst.GetName(), DisplayName: "sessions", MemorySizeGb: 99}, UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{"display_name"}}})
	if err != nil || upd.GetDisplayName() != "sessions" || upd.GetMemorySizeGb() != 1 {
		t.Fatalf("UpdateInstanceAndWait = %v, %v", upd, err)
	}
	if _, _, err := c.DeleteInstanceAndWait(ctx, &DeleteInstanceRequest{Name: inst.GetName()}); err != nil {
		t.Fatal(err)
	}
	_, err = c.GetInstance(ctx, &GetInstanceRequest{Name: inst.GetName()})
	wantCode(t, err, codes.NotFound)
	_, _, err = c.DeleteInstanceAndWait(ctx, &DeleteInstanceRequest{Name: inst.GetName()})
	wantCode(t, err, codes.NotFound)
}

// failover answers FailoverInstance with an operation that is not done, and
// finishes it later from another goroutine, as real asynchronous work would.
type failover struct {
	CloudRedisSkeleton
	delay time.Duration
}

func (f failover) FailoverInstance(ctx context.Context, req *FailoverInstanceRequest) (*longrunningpb.Operation, error) {
	repos := f.Repositories()
	inst, err := repos.Instance.Get(ctx, req.GetName())
	if err != nil {
		return nil, err
	}
	op, err := svclro.Start(ctx, repos.Operations, &OperationMetadata{Target: inst.GetName(), Verb: "failover"})
	if err != nil {
		return nil, err
	}
	go func() {
		time.Sleep(f.delay)
		// A cancelled operation stays cancelled: Complete answers
		// FailedPrecondition, and the work is dropped.
		svclro.Complete(context.Background(), repos.Operations, op.GetName(), inst, nil)
	}()
	return op, nil
}

func TestPendingOperation(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	impl := failover{CloudRedisSkeleton: NewInMemoryCloudRedisSkeleton(), delay: 300 * time.Millisecond}
	c := StartCloudRedisForTest(t, impl)
	inst, _, err := c.CreateInstanceAndWait(ctx, &CreateInstanceRequest{Parent: parent, InstanceId: "ha", Instance: &Instance{Tier: Instance_STANDARD_HA, MemorySizeGb: 4}})
	if err != nil {
		t.Fatal(err)
	}

	start := time.Now()
	res, md, err := c.FailoverInstanceAndWait(ctx, &FailoverInstanceRequest{Name: inst.GetName()})
	if err != nil || res.GetName() != inst.GetName() || md.GetVerb() != "failover" {
		t.Fatalf("FailoverInstanceAndWait = %v, %v, %v", res, md, err)
	}
	if time.Since(start) < impl.delay {
		t.Fatalf("the wait ended after %v, before the work was done", time.Since(start))
	}

	// The caller's deadline bounds the wait.
	short, cancelShort := context.WithTimeout(ctx, 100*time.Millisecond)
	_, _, err = c.FailoverInstanceAndWait(short, &FailoverInstanceRequest{Name: inst.GetName()})
	cancelShort()
	wantCode(t, err, codes.DeadlineExceeded)

	// A cancelled operation answers Canceled to the waiter.
	op, err := c.FailoverInstance(ctx, &FailoverInstanceRequest{Name: inst.GetName()})
	if err != nil || op.GetDone() {
		t.Fatalf("FailoverInstance = %v, %v", op, err)
	}
	if _, err := c.ops.CancelOperation(ctx, &longrunningpb.CancelOperationRequest{Name: op.GetName()}); err != nil {
		t.Fatal(err)
	}
	_, md, err = svclro.WaitFor[*Instance, *OperationMetadata](ctx, c.ops, op)
	wantCode(t, err, codes.Canceled)
	if md.GetTarget() != inst.GetName() {
		t.Fatalf("a cancelled operation's metadata: %v", md)
	}

	// Without an Operations client (WrapClient) a pending operation cannot
	// be waited for.
	bare := WrapCloudRedisClient(c.client)
	_, _, err = bare.FailoverInstanceAndWait(ctx, &FailoverInstanceRequest{Name: inst.GetName()})
	wantCode(t, err, codes.FailedPrecondition)
}
