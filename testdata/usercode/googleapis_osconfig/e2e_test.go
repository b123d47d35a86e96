// Behaviour test of a singleton resource (AIP-156) listed under its parent
// (testdata/protos/googleapis_osconfig, trimmed from OS Config), served
// over a real gRPC connection (bufconn) and called through the generated
// wrapper.
package osconfig

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

func TestInventoryUnderItsInstance(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	skeleton := NewInMemoryOsConfigZonalServiceSkeleton()
	// The agent on each VM reports its inventory; the API only reads them.
	const zone = "projects/p/locations/us-east1-b/instances/"
	for _, vm := range []string{"web", "web-2", "db"} {
		inv := &Inventory{Name: zone + vm + "/inventory", OsInfo: &Inventory_OsInfo{Hostname: vm, ShortName: "debian"}}
		if _, err := skeleton.Repositories().Inventory.Create(ctx, inv); err != nil {
			t.Fatal(err)
		}
	}
	c := StartOsConfigZonalServiceForTest(t, skeleton)

	// Under one instance, its one inventory: not web-2's, whose instance
	// id starts the same.
	page, err := c.ListInventories(ctx, &ListInventoriesRequest{Parent: zone + "web"})
	if err != nil || len(page.GetInventories()) != 1 || page.GetInventories()[0].GetOsInfo().GetHostname() != "web" {
		t.Fatalf("ListInventories(web) = %v, %v; want web's inventory alone", page, err)
	}
	page, err = c.ListInventories(ctx, &ListInventoriesRequest{Parent: zone + "none"})
	if err != nil || len(page.GetInventories()) != 0 {
		t.Fatalf("ListInventories of an instance without one = %v, %v; want none", page, err)
	}
	// The parent is an instance; the wildcard (AIP-159) is not served.
	_, err = c.ListInventories(ctx, &ListInventoriesRequest{Parent: "projects/p/locations/us-east1-b"})
	wantCode(t, err, codes.InvalidArgument)
	_, err = c.ListInventories(ctx, &ListInventoriesRequest{Parent: zone + "-"})
	wantCode(t, err, codes.Unimplemented)

	// A basic view keeps the small fields only.
	basic, err := c.GetInventory(ctx, &GetInventoryRequest{Name: zone + "db/inventory", View: InventoryView_BASIC})
	if err != nil || basic.GetName() != zone+"db/inventory" || basic.GetOsInfo() != nil {
		t.Fatalf("GetInventory(BASIC) = %v, %v; want the name without os_info", basic, err)
	}
	full, err := c.GetInventory(ctx, &GetInventoryRequest{Name: zone + "db/inventory"})
	if err != nil || full.GetOsInfo().GetHostname() != "db" {
		t.Fatalf("GetInventory = %v, %v", full, err)
	}
	_, err = c.GetInventory(ctx, &GetInventoryRequest{Name: zone + "db"})
	wantCode(t, err, codes.InvalidArgument)
}
