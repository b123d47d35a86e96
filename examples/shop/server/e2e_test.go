package server_test

import (
	"context"
	"io"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	reflectionpb "google.golang.org/grpc/reflection/grpc_reflection_v1"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/testing/protocmp"
	"google.golang.org/protobuf/types/known/fieldmaskpb"

	shopv1 "github.com/svcgen/protoc-gen-svc/examples/shop/gen/shop/v1"
	"github.com/svcgen/protoc-gen-svc/examples/shop/server"
)

func eur(minor int64) *shopv1.Money {
	return &shopv1.Money{CurrencyCode: "EUR", MinorUnits: minor}
}

func wantCode(t *testing.T, err error, want codes.Code) {
	t.Helper()
	if got := status.Code(err); got != want {
		t.Fatalf("got %v (%v), want code %v", got, err, want)
	}
}

func mustCreate(t *testing.T, ctx context.Context, s *testShop, id string, p *shopv1.Product) *shopv1.Product {
	t.Helper()
	created, err := s.catalog.CreateProduct(ctx, &shopv1.CreateProductRequest{Product: p, ProductId: id})
	if err != nil {
		t.Fatalf("CreateProduct(%q): %v", id, err)
	}
	return created
}

// TestCatalogStandardMethods exercises the methods the generated skeleton
// serves from the repository: create, get, paged list, field-mask update,
// conditional update and delete (etag conflicts), and NotFound.
func TestCatalogStandardMethods(t *testing.T) {
	ctx := testContext(t)
	s := startShop(t, nil)

	espresso := mustCreate(t, ctx, s, "espresso", &shopv1.Product{
		Title:         "Espresso machine",
		Category:      shopv1.ProductCategory_PRODUCT_CATEGORY_ELECTRONICS,
		Price:         eur(24900),
		StockQuantity: proto.Int32(3),
		Tags:          []string{"coffee", "kitchen"},
		Attributes:    map[string]string{"color": "black"},
	})
	if espresso.GetName() != "espresso" || espresso.GetEtag() == "" || espresso.GetCreateTime() == nil || espresso.GetUpdateTime() == nil {
		t.Fatalf("created product lacks name, etag or timestamps: %v", espresso)
	}
	got, err := s.catalog.GetProduct(ctx, &shopv1.GetProductRequest{Name: "espresso"})
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(espresso, got, protocmp.Transform()); diff != "" {
		t.Errorf("GetProduct differs from what CreateProduct returned (-created +got):\n%s", diff)
	}

	// The server picks a name when none is given.
	picked := mustCreate(t, ctx, s, "", &shopv1.Product{Title: "Coffee beans", Price: eur(1890)})
	if picked.GetName() == "" {
		t.Error("CreateProduct without product_id: no name assigned")
	}
	_, err = s.catalog.CreateProduct(ctx, &shopv1.CreateProductRequest{Product: &shopv1.Product{Title: "again"}, ProductId: "espresso"})
	wantCode(t, err, codes.AlreadyExists)

	t.Run("pagination", func(t *testing.T) {
		for _, id := range []string{"p1", "p2", "p3"} {
			mustCreate(t, ctx, s, id, &shopv1.Product{Title: id})
		}
		var names []string
		token, pages := "", 0
		for {
			resp, err := s.catalog.ListProducts(ctx, &shopv1.ListProductsRequest{PageSize: 2, PageToken: token})
			if err != nil {
				t.Fatal(err)
			}
			pages++
			if n := len(resp.GetProducts()); n > 2 {
				t.Fatalf("page %d has %d products, page size 2", pages, n)
			}
			for _, p := range resp.GetProducts() {
				names = append(names, p.GetName())
			}
			if token = resp.GetNextPageToken(); token == "" {
				break
			}
		}
		want := []string{"espresso", picked.GetName(), "p1", "p2", "p3"}
		slices.Sort(want)
		if !slices.Equal(names, want) {
			t.Errorf("listed %q, want every product once in name order %q", names, want)
		}
		if pages != 3 {
			t.Errorf("5 products in pages of 2: got %d pages, want 3", pages)
		}
		_, err := s.catalog.ListProducts(ctx, &shopv1.ListProductsRequest{PageToken: "forged"})
		wantCode(t, err, codes.InvalidArgument)
	})

	t.Run("field mask update", func(t *testing.T) {
		// The mask says what changes: the title sent along is ignored.
		updated, err := s.catalog.UpdateProduct(ctx, &shopv1.UpdateProductRequest{
			Product:    &shopv1.Product{Name: "espresso", Title: "ignored", Price: eur(22990)},
			UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{"price"}},
		})
		if err != nil {
			t.Fatal(err)
		}
		want := proto.Clone(espresso).(*shopv1.Product)
		want.Price = eur(22990)
		if diff := cmp.Diff(want, updated, protocmp.Transform(),
			protocmp.IgnoreFields(&shopv1.Product{}, "etag", "update_time")); diff != "" {
			t.Errorf("UpdateProduct(mask price) (-want +got):\n%s", diff)
		}
		if updated.GetEtag() == espresso.GetEtag() {
			t.Error("the etag did not change on update")
		}
		// A path in the mask whose field is unset clears it: stock is no
		// longer tracked (an optional field, so "unset" is visible).
		cleared, err := s.catalog.UpdateProduct(ctx, &shopv1.UpdateProductRequest{
			Product:    &shopv1.Product{Name: "espresso"},
			UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{"stock_quantity"}},
		})
		if err != nil {
			t.Fatal(err)
		}
		if cleared.StockQuantity != nil || cleared.GetPrice().GetMinorUnits() != 22990 {
			t.Errorf("after clearing stock_quantity: stock %v, price %v", cleared.StockQuantity, cleared.GetPrice())
		}
		_, err = s.catalog.UpdateProduct(ctx, &shopv1.UpdateProductRequest{
			Product:    &shopv1.Product{Name: "espresso"},
			UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{"no_such_field"}},
		})
		wantCode(t, err, codes.InvalidArgument)
	})

	t.Run("etag conflict", func(t *testing.T) {
		stale := espresso.GetEtag() // updated since
		_, err := s.catalog.UpdateProduct(ctx, &shopv1.UpdateProductRequest{
			Product:    &shopv1.Product{Name: "espresso", Etag: stale, Title: "Lost update"},
			UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{"title"}},
		})
		wantCode(t, err, codes.Aborted)
		_, err = s.catalog.DeleteProduct(ctx, &shopv1.DeleteProductRequest{Name: "espresso", Etag: stale})
		wantCode(t, err, codes.Aborted)

		// Re-read, and the conditional delete goes through.
		current, err := s.catalog.GetProduct(ctx, &shopv1.GetProductRequest{Name: "espresso"})
		if err != nil {
			t.Fatal(err)
		}
		if current.GetTitle() != "Espresso machine" {
			t.Errorf("a rejected update changed the title to %q", current.GetTitle())
		}
		if _, err := s.catalog.DeleteProduct(ctx, &shopv1.DeleteProductRequest{Name: "espresso", Etag: current.GetEtag()}); err != nil {
			t.Fatal(err)
		}
	})

	t.Run("not found", func(t *testing.T) {
		_, err := s.catalog.GetProduct(ctx, &shopv1.GetProductRequest{Name: "espresso"})
		wantCode(t, err, codes.NotFound)
		if !strings.Contains(status.Convert(err).Message(), `"espresso"`) {
			t.Errorf("NotFound message %q does not name the product", status.Convert(err).Message())
		}
		_, err = s.catalog.UpdateProduct(ctx, &shopv1.UpdateProductRequest{Product: &shopv1.Product{Name: "espresso", Title: "x"}})
		wantCode(t, err, codes.NotFound)
		_, err = s.catalog.DeleteProduct(ctx, &shopv1.DeleteProductRequest{Name: "espresso"})
		wantCode(t, err, codes.NotFound)
	})
}

// recvEvent receives the next watch event and checks its type and product.
func recvEvent(t *testing.T, st grpc.ServerStreamingClient[shopv1.ProductEvent], typ shopv1.ProductEvent_Type, name string) *shopv1.ProductEvent {
	t.Helper()
	ev, err := st.Recv()
	if err != nil {
		t.Fatalf("waiting for %v %q: %v", typ, name, err)
	}
	if ev.GetType() != typ || ev.GetProduct().GetName() != name || ev.GetEventTime() == nil {
		t.Fatalf("got event %v %q (time %v), want %v %q", ev.GetType(), ev.GetProduct().GetName(), ev.GetEventTime(), typ, name)
	}
	return ev
}

// TestWatchAndImport covers the server stream (WatchProducts, written by
// hand) and the client stream (ImportProducts, served by the skeleton):
// products imported, updated, repriced and deleted reach the watcher, in
// order, filtered by category.
func TestWatchAndImport(t *testing.T) {
	ctx := testContext(t)
	s := startShop(t, nil)
	electronics := shopv1.ProductCategory_PRODUCT_CATEGORY_ELECTRONICS
	mustCreate(t, ctx, s, "radio", &shopv1.Product{Title: "Radio", Category: electronics, Price: eur(5900)})
	mustCreate(t, ctx, s, "novel", &shopv1.Product{Title: "Novel", Category: shopv1.ProductCategory_PRODUCT_CATEGORY_BOOKS})

	watch, err := s.catalog.WatchProducts(ctx, &shopv1.WatchProductsRequest{
		Categories:      []shopv1.ProductCategory{electronics},
		IncludeExisting: true,
	})
	if err != nil {
		t.Fatal(err)
	}
	recvEvent(t, watch, shopv1.ProductEvent_EXISTING, "radio")
	recvEvent(t, watch, shopv1.ProductEvent_SYNCED, "")

	// Client stream: three products in one call.
	imp, err := s.catalog.ImportProducts(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range []*shopv1.Product{
		{Name: "tv", Title: "TV", Category: electronics, Price: eur(49900)},
		{Name: "atlas", Title: "Atlas", Category: shopv1.ProductCategory_PRODUCT_CATEGORY_BOOKS},
		{Name: "phone", Title: "Phone", Category: electronics, Price: eur(29900)},
	} {
		if err := imp.Send(p); err != nil {
			t.Fatal(err)
		}
	}
	imported, err := imp.CloseAndRecv()
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, p := range imported.GetProducts() {
		if p.GetEtag() == "" {
			t.Errorf("imported %q has no etag", p.GetName())
		}
		names = append(names, p.GetName())
	}
	if want := []string{"tv", "atlas", "phone"}; !slices.Equal(names, want) {
		t.Errorf("imported %q, want %q", names, want)
	}
	recvEvent(t, watch, shopv1.ProductEvent_CREATED, "tv")
	recvEvent(t, watch, shopv1.ProductEvent_CREATED, "phone") // atlas is a book: filtered out

	// An import is atomic: one failure and nothing of it is stored (so a
	// client may retry it whole).
	imp, err = s.catalog.ImportProducts(ctx)
	if err != nil {
		t.Fatal(err)
	}
	imp.Send(&shopv1.Product{Name: "laptop", Category: electronics})
	imp.Send(&shopv1.Product{Name: "tv"}) // exists
	_, err = imp.CloseAndRecv()
	wantCode(t, err, codes.AlreadyExists)
	_, err = s.catalog.GetProduct(ctx, &shopv1.GetProductRequest{Name: "laptop"})
	wantCode(t, err, codes.NotFound)

	if _, err := s.catalog.UpdateProduct(ctx, &shopv1.UpdateProductRequest{
		Product:    &shopv1.Product{Name: "tv", Title: "Television"},
		UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{"title"}},
	}); err != nil {
		t.Fatal(err)
	}
	if ev := recvEvent(t, watch, shopv1.ProductEvent_UPDATED, "tv"); ev.GetProduct().GetTitle() != "Television" {
		t.Errorf("UPDATED event carries title %q, want the new one", ev.GetProduct().GetTitle())
	}
	if _, err := s.catalog.DeleteProduct(ctx, &shopv1.DeleteProductRequest{Name: "novel"}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.catalog.DeleteProduct(ctx, &shopv1.DeleteProductRequest{Name: "phone"}); err != nil {
		t.Fatal(err)
	}
	if ev := recvEvent(t, watch, shopv1.ProductEvent_DELETED, "phone"); ev.GetProduct().GetTitle() != "Phone" {
		t.Errorf("DELETED event carries %v, want the product as it was", ev.GetProduct())
	}

	// The same watch as an iterator: breaking out of the loop ends the call.
	n := 0
	for ev, err := range s.catalog.WatchProductsSeq(ctx, &shopv1.WatchProductsRequest{IncludeExisting: true}) {
		if err != nil {
			t.Fatal(err)
		}
		if ev.GetType() == shopv1.ProductEvent_SYNCED {
			break
		}
		n++
	}
	if n != 3 { // atlas, radio, tv
		t.Errorf("WatchProductsSeq sent %d existing products, want 3", n)
	}

	bad, err := s.catalog.WatchProducts(ctx, &shopv1.WatchProductsRequest{Categories: []shopv1.ProductCategory{42}})
	if err == nil {
		_, err = bad.Recv() // the status comes with the first Recv
	}
	wantCode(t, err, codes.InvalidArgument)
}

// TestRepriceProducts drives the bidi stream interactively: each request is
// answered before the next is sent, and a failing request is answered with
// an error without ending the stream.
func TestRepriceProducts(t *testing.T) {
	ctx := testContext(t)
	s := startShop(t, nil)
	mustCreate(t, ctx, s, "espresso", &shopv1.Product{Title: "Espresso machine", Price: eur(24900)})
	mustCreate(t, ctx, s, "beans", &shopv1.Product{Title: "Beans", Price: eur(1890)})
	mustCreate(t, ctx, s, "free-sample", &shopv1.Product{Title: "Free sample"})

	stream, err := s.catalog.RepriceProducts(ctx)
	if err != nil {
		t.Fatal(err)
	}
	exchange := func(req *shopv1.RepriceProductsRequest) *shopv1.RepriceProductsResponse {
		t.Helper()
		if err := stream.Send(req); err != nil {
			t.Fatal(err)
		}
		resp, err := stream.Recv()
		if err != nil {
			t.Fatal(err)
		}
		if resp.GetName() != req.GetName() {
			t.Fatalf("answer for %q, want %q", resp.GetName(), req.GetName())
		}
		return resp
	}

	resp := exchange(&shopv1.RepriceProductsRequest{Name: "espresso", Change: &shopv1.RepriceProductsRequest_AdjustBasisPoints{AdjustBasisPoints: -1000}})
	if got := resp.GetProduct().GetPrice().GetMinorUnits(); got != 22410 || resp.GetOldPrice().GetMinorUnits() != 24900 {
		t.Errorf("10%% off 249.00: got %d (old %v), want 22410 (old 24900)", got, resp.GetOldPrice())
	}
	resp = exchange(&shopv1.RepriceProductsRequest{Name: "beans", Change: &shopv1.RepriceProductsRequest_NewPrice{NewPrice: eur(1990)}})
	if got := resp.GetProduct().GetPrice().GetMinorUnits(); got != 1990 {
		t.Errorf("new price 19.90: got %d", got)
	}
	for _, bad := range []struct {
		req  *shopv1.RepriceProductsRequest
		want string
	}{
		{&shopv1.RepriceProductsRequest{Name: "nope", Change: &shopv1.RepriceProductsRequest_AdjustBasisPoints{AdjustBasisPoints: 100}}, "NotFound"},
		{&shopv1.RepriceProductsRequest{Name: "beans"}, "InvalidArgument"},
		{&shopv1.RepriceProductsRequest{Name: "free-sample", Change: &shopv1.RepriceProductsRequest_AdjustBasisPoints{AdjustBasisPoints: 100}}, "FailedPrecondition"},
		{&shopv1.RepriceProductsRequest{Name: "beans", Change: &shopv1.RepriceProductsRequest_NewPrice{NewPrice: &shopv1.Money{CurrencyCode: "EUR", MinorUnits: -1}}}, "InvalidArgument"},
	} {
		resp := exchange(bad.req)
		if !strings.HasPrefix(resp.GetError(), bad.want+": ") {
			t.Errorf("reprice %v: answer %v, want an error %s", bad.req, resp, bad.want)
		}
	}
	if err := stream.CloseSend(); err != nil {
		t.Fatal(err)
	}
	if _, err := stream.Recv(); err != io.EOF {
		t.Fatalf("after CloseSend: %v, want io.EOF", err)
	}
	got, err := s.catalog.GetProduct(ctx, &shopv1.GetProductRequest{Name: "espresso"})
	if err != nil {
		t.Fatal(err)
	}
	if got.GetPrice().GetMinorUnits() != 22410 {
		t.Errorf("stored price %v after repricing, want 22410", got.GetPrice())
	}
}

// TestCustomers uses the Customers service, served entirely by the skeleton
// from the flat create and optional-field update shapes; its list is a
// server stream, read through the generated iterator.
func TestCustomers(t *testing.T) {
	ctx := testContext(t)
	s := startShop(t, nil)
	ada, err := s.customers.CreateCustomer(ctx, &shopv1.CreateCustomerRequest{
		DisplayName:     "Ada",
		Email:           "ada@example.com",
		Tier:            shopv1.CustomerTier_CUSTOMER_TIER_MEMBER,
		ShippingAddress: &shopv1.Address{Lines: []string{"1 Main St"}, City: "Berlin", RegionCode: "DE"},
		Labels:          map[string]string{"source": "newsletter"},
	})
	if err != nil {
		t.Fatal(err)
	}
	if ada.GetName() == "" || ada.Phone != nil || ada.GetLabels()["source"] != "newsletter" {
		t.Errorf("created %v", ada)
	}
	if _, err := s.customers.CreateCustomer(ctx, &shopv1.CreateCustomerRequest{DisplayName: "Bob", Email: "bob@example.com", Phone: proto.String("+49 30 1234")}); err != nil {
		t.Fatal(err)
	}

	// Only the fields set in the request change.
	updated, err := s.customers.UpdateCustomer(ctx, &shopv1.UpdateCustomerRequest{Name: ada.GetName(), Email: proto.String("ada@example.org"), Phone: proto.String("+49 30 9876")})
	if err != nil {
		t.Fatal(err)
	}
	if updated.GetEmail() != "ada@example.org" || updated.GetPhone() != "+49 30 9876" || updated.GetDisplayName() != "Ada" || updated.GetShippingAddress().GetCity() != "Berlin" {
		t.Errorf("after updating email and phone: %v", updated)
	}

	var listed []string
	for c, err := range s.customers.ListCustomersSeq(ctx, &shopv1.ListCustomersRequest{PageSize: 1}) {
		if err != nil {
			t.Fatal(err)
		}
		listed = append(listed, c.GetDisplayName())
	}
	slices.Sort(listed)
	if !slices.Equal(listed, []string{"Ada", "Bob"}) {
		t.Errorf("ListCustomers streamed %q", listed)
	}

	deleted, err := s.customers.DeleteCustomer(ctx, &shopv1.DeleteCustomerRequest{Name: ada.GetName()})
	if err != nil || deleted.GetEmail() != "ada@example.org" {
		t.Fatalf("DeleteCustomer = %v, %v; want the customer as it was", deleted, err)
	}
	_, err = s.customers.GetCustomer(ctx, &shopv1.GetCustomerRequest{Name: ada.GetName()})
	wantCode(t, err, codes.NotFound)
}

// TestOrders covers the hand-written order methods: totals, shipping rules,
// the oneof payment, stock taken and put back, and their errors.
func TestOrders(t *testing.T) {
	ctx := testContext(t)
	s := startShop(t, nil)
	mustCreate(t, ctx, s, "beans", &shopv1.Product{Title: "Beans", Price: eur(1890), StockQuantity: proto.Int32(5)})
	mustCreate(t, ctx, s, "mug", &shopv1.Product{Title: "Mug", Price: eur(950)}) // stock not tracked
	mustCreate(t, ctx, s, "usd-thing", &shopv1.Product{Title: "Thing", Price: &shopv1.Money{CurrencyCode: "USD", MinorUnits: 100}})
	standard, err := s.customers.CreateCustomer(ctx, &shopv1.CreateCustomerRequest{DisplayName: "Sam", Email: "sam@example.com", Tier: shopv1.CustomerTier_CUSTOMER_TIER_STANDARD})
	if err != nil {
		t.Fatal(err)
	}
	member, err := s.customers.CreateCustomer(ctx, &shopv1.CreateCustomerRequest{DisplayName: "Mia", Email: "mia@example.com", Tier: shopv1.CustomerTier_CUSTOMER_TIER_MEMBER})
	if err != nil {
		t.Fatal(err)
	}
	stockOf := func(name string) int32 {
		t.Helper()
		p, err := s.catalog.GetProduct(ctx, &shopv1.GetProductRequest{Name: name})
		if err != nil {
			t.Fatal(err)
		}
		return p.GetStockQuantity()
	}

	order, err := s.orders.PlaceOrder(ctx, &shopv1.PlaceOrderRequest{
		Customer: standard.GetName(),
		Items:    map[string]int32{"mug": 1, "beans": 2},
		Payment:  &shopv1.PlaceOrderRequest_Card{Card: &shopv1.CardPayment{Last4: "4242"}},
		Note:     proto.String("leave at the door"),
	})
	if err != nil {
		t.Fatal(err)
	}
	want := &shopv1.Order{
		Name:     order.GetName(),
		Customer: standard.GetName(),
		State:    shopv1.OrderState_ORDER_STATE_PLACED,
		LineItems: []*shopv1.LineItem{
			{Product: "beans", Title: "Beans", Quantity: 2, UnitPrice: eur(1890), Total: eur(3780)},
			{Product: "mug", Title: "Mug", Quantity: 1, UnitPrice: eur(950), Total: eur(950)},
		},
		Subtotal: eur(4730),
		Shipping: eur(server.FlatShipping), // below FreeShippingFrom
		Total:    eur(4730 + server.FlatShipping),
		Payment:  &shopv1.Order_Card{Card: &shopv1.CardPayment{Last4: "4242"}},
		Note:     proto.String("leave at the door"),
	}
	if diff := cmp.Diff(want, order, protocmp.Transform(),
		protocmp.IgnoreFields(&shopv1.Order{}, "etag", "create_time", "update_time")); diff != "" {
		t.Errorf("PlaceOrder (-want +got):\n%s", diff)
	}
	if got := stockOf("beans"); got != 3 {
		t.Errorf("beans in stock after ordering 2 of 5: %d", got)
	}

	// Members ship free.
	memberOrder, err := s.orders.PlaceOrder(ctx, &shopv1.PlaceOrderRequest{
		Customer: member.GetName(),
		Items:    map[string]int32{"mug": 1},
		Payment:  &shopv1.PlaceOrderRequest_CashOnDelivery{CashOnDelivery: true},
	})
	if err != nil {
		t.Fatal(err)
	}
	if memberOrder.GetShipping().GetMinorUnits() != 0 || memberOrder.GetTotal().GetMinorUnits() != 950 {
		t.Errorf("member order: shipping %v, total %v; want free shipping", memberOrder.GetShipping(), memberOrder.GetTotal())
	}

	for _, bad := range []struct {
		name string
		req  *shopv1.PlaceOrderRequest
		want codes.Code
	}{
		{"not enough stock", &shopv1.PlaceOrderRequest{Customer: standard.GetName(), Items: map[string]int32{"beans": 4}, Payment: &shopv1.PlaceOrderRequest_CashOnDelivery{CashOnDelivery: true}}, codes.FailedPrecondition},
		{"unknown product", &shopv1.PlaceOrderRequest{Customer: standard.GetName(), Items: map[string]int32{"beans": 1, "zzz": 1}, Payment: &shopv1.PlaceOrderRequest_CashOnDelivery{CashOnDelivery: true}}, codes.NotFound},
		{"two currencies", &shopv1.PlaceOrderRequest{Customer: standard.GetName(), Items: map[string]int32{"beans": 1, "usd-thing": 1}, Payment: &shopv1.PlaceOrderRequest_CashOnDelivery{CashOnDelivery: true}}, codes.InvalidArgument},
		{"unknown customer", &shopv1.PlaceOrderRequest{Customer: "nobody", Items: map[string]int32{"beans": 1}, Payment: &shopv1.PlaceOrderRequest_CashOnDelivery{CashOnDelivery: true}}, codes.NotFound},
		{"no payment", &shopv1.PlaceOrderRequest{Customer: standard.GetName(), Items: map[string]int32{"beans": 1}}, codes.InvalidArgument},
		{"no items", &shopv1.PlaceOrderRequest{Customer: standard.GetName(), Payment: &shopv1.PlaceOrderRequest_CashOnDelivery{CashOnDelivery: true}}, codes.InvalidArgument},
	} {
		_, err := s.orders.PlaceOrder(ctx, bad.req)
		if status.Code(err) != bad.want {
			t.Errorf("%s: got %v, want %v", bad.name, err, bad.want)
		}
		// Beans taken before the failing item are put back.
		if got := stockOf("beans"); got != 3 {
			t.Fatalf("%s: beans in stock %d after a failed order, want 3", bad.name, got)
		}
	}

	got, err := s.orders.GetOrder(ctx, &shopv1.GetOrderRequest{Name: order.GetName()})
	if err != nil || !proto.Equal(got, order) {
		t.Errorf("GetOrder = %v, %v; want the placed order", got, err)
	}
	list, err := s.orders.ListOrders(ctx, &shopv1.ListOrdersRequest{PageSize: 10})
	if err != nil || len(list.GetOrders()) != 2 || list.GetNextPageToken() != "" {
		t.Errorf("ListOrders = %d orders, token %q, %v; want 2 orders on one page", len(list.GetOrders()), list.GetNextPageToken(), err)
	}

	cancelled, err := s.orders.CancelOrder(ctx, &shopv1.CancelOrderRequest{Name: order.GetName(), Reason: proto.String("changed my mind")})
	if err != nil {
		t.Fatal(err)
	}
	if cancelled.GetState() != shopv1.OrderState_ORDER_STATE_CANCELLED || cancelled.GetCancelReason() != "changed my mind" {
		t.Errorf("cancelled order: %v", cancelled)
	}
	if got := stockOf("beans"); got != 5 {
		t.Errorf("beans in stock after cancelling: %d, want 5", got)
	}
	// Idempotent: cancelling again changes nothing, not even the stock.
	again, err := s.orders.CancelOrder(ctx, &shopv1.CancelOrderRequest{Name: order.GetName()})
	if err != nil || !proto.Equal(again, cancelled) {
		t.Errorf("second CancelOrder = %v, %v; want the cancelled order unchanged", again, err)
	}
	if got := stockOf("beans"); got != 5 {
		t.Errorf("beans in stock after cancelling twice: %d, want 5", got)
	}
	_, err = s.orders.CancelOrder(ctx, &shopv1.CancelOrderRequest{Name: "nope"})
	wantCode(t, err, codes.NotFound)
}

// TestHealthAndReflection checks what svcserver adds: every shop service
// SERVING on the standard health service, and reflection listing them.
func TestHealthAndReflection(t *testing.T) {
	ctx := testContext(t)
	s := startShop(t, nil)
	health := healthpb.NewHealthClient(s.conn)
	for _, svc := range []string{"", shopv1.Catalog_ServiceDesc.ServiceName, shopv1.Customers_ServiceDesc.ServiceName, shopv1.Orders_ServiceDesc.ServiceName} {
		resp, err := health.Check(ctx, &healthpb.HealthCheckRequest{Service: svc})
		if err != nil || resp.GetStatus() != healthpb.HealthCheckResponse_SERVING {
			t.Errorf("health of %q: %v, %v; want SERVING", svc, resp.GetStatus(), err)
		}
	}

	refl, err := reflectionpb.NewServerReflectionClient(s.conn).ServerReflectionInfo(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := refl.Send(&reflectionpb.ServerReflectionRequest{MessageRequest: &reflectionpb.ServerReflectionRequest_ListServices{}}); err != nil {
		t.Fatal(err)
	}
	resp, err := refl.Recv()
	if err != nil {
		t.Fatal(err)
	}
	refl.CloseSend()
	if _, err := refl.Recv(); err != io.EOF {
		t.Errorf("reflection stream after CloseSend: %v, want io.EOF", err)
	}
	var services []string
	for _, svc := range resp.GetListServicesResponse().GetService() {
		services = append(services, svc.GetName())
	}
	for _, want := range []string{"shop.v1.Catalog", "shop.v1.Customers", "shop.v1.Orders", "grpc.health.v1.Health"} {
		if !slices.Contains(services, want) {
			t.Errorf("reflection lists %q, missing %s", services, want)
		}
	}
}
