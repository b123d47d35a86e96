// Behaviour test of an API's own operations (testdata/protos/
// googleapis_container, GKE's ClusterManager trimmed): CreateCluster,
// CreateNodePool and their Deletes do their work and answer a done
// google.container.v1.Operation, which GetOperation and ListOperations read
// back; served over a real gRPC connection (bufconn) and called through
// the generated wrapper.
package googleapis_container

import (
	"context"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

const location = "projects/p/locations/us-central1"

func TestOwnOperations(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	c := StartClusterManagerForTest(t, NewInMemoryClusterManagerSkeleton())

	op, err := c.CreateCluster(ctx, &CreateClusterRequest{Parent: location, Cluster: &Cluster{Name: "prod", Description: "production", Id: "client-chosen"}})
	if err != nil {
		t.Fatal(err)
	}
	const cluster = location + "/clusters/prod"
	if op.GetStatus() != Operation_DONE || op.GetOperationType() != Operation_CREATE_CLUSTER || op.GetTargetLink() != cluster {
		t.Fatalf("CreateCluster's operation = %v", op)
	}
	if !strings.HasPrefix(op.GetName(), location+"/operations/") || op.GetStartTime() == "" || op.GetEndTime() == "" {
		t.Fatalf("CreateCluster's operation name and times: %v", op)
	}
	if _, err := time.Parse(time.RFC3339Nano, op.GetEndTime()); err != nil {
		t.Fatalf("end_time %q is not RFC 3339: %v", op.GetEndTime(), err)
	}
	got, err := c.GetCluster(ctx, &GetClusterRequest{Name: cluster})
	if err != nil || got.GetDescription() != "production" || got.GetId() != "" {
		t.Fatalf("GetCluster = %v, %v; want the cluster, its OUTPUT_ONLY id not the client's", got, err)
	}
	if read, err := c.GetOperation(ctx, &GetOperationRequest{Name: op.GetName()}); err != nil || read.GetTargetLink() != cluster {
		t.Fatalf("GetOperation(%s) = %v, %v", op.GetName(), read, err)
	}
	if _, err := c.CreateCluster(ctx, &CreateClusterRequest{Parent: location, Cluster: &Cluster{Name: "prod"}}); status.Code(err) != codes.AlreadyExists {
		t.Fatalf("a second cluster prod = %v; want AlreadyExists", err)
	}
	if _, err := c.CreateCluster(ctx, &CreateClusterRequest{Parent: location, Cluster: &Cluster{Name: "other/prod"}}); status.Code(err) != codes.InvalidArgument {
		t.Fatalf("a cluster named other/prod = %v; want InvalidArgument", err)
	}
	// The deprecated way of addressing a cluster is refused, not misread.
	if _, err := c.GetCluster(ctx, &GetClusterRequest{ProjectId: "p", Zone: "us-central1-a", ClusterId: "prod"}); status.Code(err) != codes.Unimplemented {
		t.Fatalf("GetCluster by project_id, zone and cluster_id = %v; want Unimplemented", err)
	}

	poolOp, err := c.CreateNodePool(ctx, &CreateNodePoolRequest{Parent: cluster, NodePool: &NodePool{Name: "default-pool", InitialNodeCount: 3}})
	if err != nil || poolOp.GetOperationType() != Operation_CREATE_NODE_POOL || poolOp.GetTargetLink() != cluster+"/nodePools/default-pool" {
		t.Fatalf("CreateNodePool = %v, %v", poolOp, err)
	}
	pools, err := c.ListNodePools(ctx, &ListNodePoolsRequest{Parent: cluster})
	if err != nil || len(pools.GetNodePools()) != 1 || pools.GetNodePools()[0].GetInitialNodeCount() != 3 {
		t.Fatalf("ListNodePools = %v, %v", pools.GetNodePools(), err)
	}
	delPool, err := c.DeleteNodePool(ctx, &DeleteNodePoolRequest{Name: cluster + "/nodePools/default-pool"})
	if err != nil || delPool.GetOperationType() != Operation_DELETE_NODE_POOL || delPool.GetStatus() != Operation_DONE {
		t.Fatalf("DeleteNodePool = %v, %v", delPool, err)
	}

	del, err := c.DeleteCluster(ctx, &DeleteClusterRequest{Name: cluster})
	if err != nil || del.GetOperationType() != Operation_DELETE_CLUSTER || del.GetTargetLink() != cluster {
		t.Fatalf("DeleteCluster = %v, %v", del, err)
	}
	if _, err := c.GetCluster(ctx, &GetClusterRequest{Name: cluster}); status.Code(err) != codes.NotFound {
		t.Fatalf("GetCluster after its delete = %v; want NotFound", err)
	}
	// A failed delete records no operation.
	if _, err := c.DeleteCluster(ctx, &DeleteClusterRequest{Name: cluster}); status.Code(err) != codes.NotFound {
		t.Fatalf("DeleteCluster of a deleted cluster = %v; want NotFound", err)
	}
	ops, err := c.ListOperations(ctx, &ListOperationsRequest{Parent: location})
	if err != nil {
		t.Fatal(err)
	}
	var kinds []Operation_Type
	for _, o := range ops.GetOperations() {
		kinds = append(kinds, o.GetOperationType())
	}
	if len(kinds) != 2 {
		t.Fatalf("ListOperations(%s) = %v; want the cluster's create and delete", location, kinds)
	}
}
