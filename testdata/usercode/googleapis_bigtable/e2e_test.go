// Behaviour test of an Update whose request is the resource itself
// (testdata/protos/googleapis_bigtable, trimmed from Cloud Bigtable Admin),
// served over a real gRPC connection (bufconn) and called through the
// generated wrapper.
package bigtable

import (
	"context"
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

func TestUpdateInstanceWritesWhatItPopulates(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	skeleton := NewInMemoryBigtableInstanceAdminSkeleton()
	const name = "projects/p/instances/orders"
	if _, err := skeleton.Repositories().Instance.Create(ctx, &Instance{Name: name, DisplayName: "Orders", Type: Instance_PRODUCTION, Labels: map[string]string{"team": "shop"}}); err != nil {
		t.Fatal(err)
	}
	c := StartBigtableInstanceAdminForTest(t, skeleton)
	got, err := c.UpdateInstance(ctx, &Instance{Name: name, DisplayName: "Orders (EU)"})
	if err != nil || got.GetDisplayName() != "Orders (EU)" || got.GetType() != Instance_PRODUCTION || got.GetLabels()["team"] != "shop" {
		t.Fatalf("UpdateInstance = %v, %v; want the display name changed and the rest kept", got, err)
	}
	if stored, err := c.GetInstance(ctx, &GetInstanceRequest{Name: name}); err != nil || stored.GetDisplayName() != "Orders (EU)" {
		t.Fatalf("GetInstance after the update = %v, %v", stored, err)
	}
	_, err = c.UpdateInstance(ctx, &Instance{Name: "projects/p/instances/missing", DisplayName: "x"})
	wantCode(t, err, codes.NotFound)
	_, err = c.UpdateInstance(ctx, &Instance{Name: "projects/p/tables/orders", DisplayName: "x"})
	wantCode(t, err, codes.InvalidArgument)
}
