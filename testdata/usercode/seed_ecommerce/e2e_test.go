// Behaviour test of the ecommerce seed, compiled into the generated package
// by TestGoldensCompile: the skeletons on in-memory repositories, served over
// a real gRPC connection (bufconn) and called through the generated wrappers.
package pb

import (
	"context"
	"slices"
	"testing"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/fieldmaskpb"
)

func wantCode(t *testing.T, err error, want codes.Code) {
	t.Helper()
	if got := status.Code(err); got != want {
		t.Fatalf("error %v: code %v, want %v", err, got, want)
	}
}

func TestProductService(t *testing.T) {
	ctx := context.Background()
	c := StartProductServiceForTest(t, NewInMemoryProductServiceSkeleton())

	created, err := c.CreateProduct(ctx, &CreateProductRequest{Name: "espresso", Description: "short", Price: 2.5, CategoryId: "coffee", Tags: []string{"hot"}})
	if err != nil {
		t.Fatal(err)
	}
	p := created.GetProduct()
	if p.GetId() == "" || p.GetCategory().GetId() != "coffee" || p.GetPrice() != 2.5 || !slices.Equal(p.GetTags(), []string{"hot"}) || p.GetCreatedAt() == nil {
		t.Fatalf("created %v", p)
	}
	if _, err := c.CreateProduct(ctx, &CreateProductRequest{Name: "tea", Price: 2, CategoryId: "tea"}); err != nil {
		t.Fatal(err)
	}

	got, err := c.GetProduct(ctx, &GetProductRequest{Id: p.GetId()})
	if err != nil || got.GetName() != "espresso" {
		t.Fatalf("GetProduct = %v, %v", got, err)
	}

	// The populated fields of the update change; inventory only when
	// update_inventory says so.
	upd, err := c.UpdateProduct(ctx, &UpdateProductRequest{Id: p.GetId(), Update: &ProductUpdate{Price: 3, Inventory: &Inventory{Quantity: 9}}})
	if err != nil {
		t.Fatal(err)
	}
	if upd.GetPrice() != 3 || upd.GetName() != "espresso" || upd.GetInventory() != nil {
		t.Fatalf("updated %v", upd)
	}
	upd, err = c.UpdateProduct(ctx, &UpdateProductRequest{Id: p.GetId(), Update: &ProductUpdate{UpdateInventory: true, Inventory: &Inventory{Quantity: 9}}})
	if err != nil || upd.GetInventory().GetQuantity() != 9 || upd.GetPrice() != 3 {
		t.Fatalf("updated inventory: %v, %v", upd, err)
	}

	// The category filter keeps the products of one category.
	var names []string
	for item, err := range c.ListProductsSeq(ctx, &ProductListRequest{CategoryFilter: "tea"}) {
		if err != nil {
			t.Fatal(err)
		}
		names = append(names, item.GetName())
	}
	if !slices.Equal(names, []string{"tea"}) {
		t.Fatalf("category tea: %v", names)
	}

	stream, err := c.BulkCreateProducts(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"latte", "mocha"} {
		if err := stream.Send(&CreateProductRequest{Name: name, CategoryId: "coffee"}); err != nil {
			t.Fatal(err)
		}
	}
	bulk, err := stream.CloseAndRecv()
	if err != nil || bulk.GetCreatedCount() != 2 {
		t.Fatalf("BulkCreateProducts = %v, %v", bulk, err)
	}

	if _, err := c.DeleteProduct(ctx, &DeleteProductRequest{Id: p.GetId()}); err != nil {
		t.Fatal(err)
	}
	_, err = c.GetProduct(ctx, &GetProductRequest{Id: p.GetId()})
	wantCode(t, err, codes.NotFound)

	watch, err := c.WatchProduct(ctx, &ProductWatchRequest{})
	if err == nil {
		_, err = watch.Recv()
	}
	wantCode(t, err, codes.Unimplemented)
}

func TestOrderService(t *testing.T) {
	ctx := context.Background()
	skeleton := NewInMemoryOrderServiceSkeleton()
	c := StartOrderServiceForTest(t, skeleton)

	// Integer keys: assigned by the server, increasing, listed as numbers.
	for i := 1; i <= 12; i++ {
		o, err := c.CreateOrder(ctx, &CreateOrderRequest{Items: []*OrderItem{{ProductId: "espresso", Quantity: int32(i)}}})
		if err != nil {
			t.Fatal(err)
		}
		if o.GetId() != int32(i) {
			t.Fatalf("order %d got id %d", i, o.GetId())
		}
	}
	got, err := c.GetOrder(ctx, &GetOrderRequest{Id: 10})
	if err != nil || got.GetItems()[0].GetQuantity() != 10 {
		t.Fatalf("GetOrder(10) = %v, %v", got, err)
	}
	_, err = c.GetOrder(ctx, &GetOrderRequest{Id: 99})
	wantCode(t, err, codes.NotFound)

	var ids []int32
	for o, err := range c.ListOrdersSeq(ctx, &ListOrdersRequest{PageSize: 5}) {
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, o.GetId())
	}
	if !slices.Equal(ids, []int32{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12}) {
		t.Fatalf("listed %v, want 1..12 in numeric order", ids)
	}

	// The status filter, on orders whose status the service's own code set.
	orders := skeleton.Repositories().Order
	for _, id := range []int32{3, 11} {
		if _, err := orders.Update(ctx, &Order{Id: id, Status: Order_STATUS_SHIPPED}, &fieldmaskpb.FieldMask{Paths: []string{"status"}}); err != nil {
			t.Fatal(err)
		}
	}
	ids = nil
	for o, err := range c.ListOrdersSeq(ctx, &ListOrdersRequest{Status: Order_STATUS_SHIPPED}) {
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, o.GetId())
	}
	if !slices.Equal(ids, []int32{3, 11}) {
		t.Fatalf("shipped: %v, want [3 11]", ids)
	}

	_, err = c.UpdateOrderStatus(ctx, &UpdateOrderStatusRequest{Id: 3, Status: Order_STATUS_DELIVERED})
	wantCode(t, err, codes.Unimplemented)
}
