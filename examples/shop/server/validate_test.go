package server_test

import (
	"slices"
	"strings"
	"testing"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"

	shopv1 "github.com/svcgen/protoc-gen-svc/examples/shop/gen/shop/v1"
	"github.com/svcgen/protoc-gen-svc/svcclient"
)

// fieldViolations returns the google.rpc.BadRequest field violations of
// err as "field reason", in order.
func fieldViolations(err error) []string {
	var out []string
	for _, d := range status.Convert(err).Details() {
		if br, ok := d.(*errdetails.BadRequest); ok {
			for _, v := range br.GetFieldViolations() {
				out = append(out, v.GetField()+" "+v.GetReason())
			}
		}
	}
	return out
}

// wantViolations checks that err is InvalidArgument with exactly the field
// violations want ("field reason").
func wantViolations(t *testing.T, what string, err error, want ...string) {
	t.Helper()
	if status.Code(err) != codes.InvalidArgument {
		t.Errorf("%s: %v, want InvalidArgument", what, err)
		return
	}
	if got := fieldViolations(err); !slices.Equal(got, want) {
		t.Errorf("%s: field violations %q, want %q (%v)", what, got, want, err)
	}
}

// TestValidationRules sends the shop requests that break the buf.validate
// rules of its protos, over mutual TLS with a token, as shopd serves them:
// each is refused before its handler with InvalidArgument and a
// google.rpc.BadRequest naming the field path and the rule, unary calls,
// server streams and client streams alike, and nothing is stored.
func TestValidationRules(t *testing.T) {
	ctx := testContext(t)
	s := startShop(t, nil, svcclient.WithoutRetries())
	product := func(edit func(*shopv1.Product)) *shopv1.CreateProductRequest {
		p := &shopv1.Product{Title: "Mug", Price: eur(950), StockQuantity: proto.Int32(3), Tags: []string{"kitchen"}}
		edit(p)
		return &shopv1.CreateProductRequest{ProductId: "mug", Product: p}
	}

	for _, tc := range []struct {
		what string
		req  *shopv1.CreateProductRequest
		want []string
	}{
		{"no product", &shopv1.CreateProductRequest{ProductId: "mug"}, []string{"product required"}},
		{"no title", product(func(p *shopv1.Product) { p.Title = "" }), []string{"product product.title_required"}},
		{"long title", product(func(p *shopv1.Product) { p.Title = strings.Repeat("x", 201) }), []string{"product.title string.max_len"}},
		{"negative price", product(func(p *shopv1.Product) { p.Price = eur(-1) }), []string{"product.price.minor_units int64.gte"}},
		{"lower-case currency", product(func(p *shopv1.Product) { p.Price.CurrencyCode = "eur" }), []string{"product.price.currency_code string.pattern"}},
		{"negative stock", product(func(p *shopv1.Product) { p.StockQuantity = proto.Int32(-1) }), []string{"product.stock_quantity int32.gte"}},
		{"unknown category", product(func(p *shopv1.Product) { p.Category = 42 }), []string{"product.category enum.defined_only"}},
		{"tag twice", product(func(p *shopv1.Product) { p.Tags = []string{"a", "a"} }), []string{"product.tags repeated.unique"}},
		{"empty attribute key", product(func(p *shopv1.Product) { p.Attributes = map[string]string{"": "x"} }), []string{`product.attributes[""] string.min_len`}},
		{"two rules broken", product(func(p *shopv1.Product) { p.Title = strings.Repeat("x", 201); p.Price = eur(-1) }),
			[]string{"product.title string.max_len", "product.price.minor_units int64.gte"}},
	} {
		_, err := s.catalog.CreateProduct(ctx, tc.req)
		wantViolations(t, "CreateProduct, "+tc.what, err, tc.want...)
	}
	_, err := s.catalog.UpdateProduct(ctx, &shopv1.UpdateProductRequest{})
	wantViolations(t, "UpdateProduct without a product", err, "product required")
	_, err = s.catalog.ListProducts(ctx, &shopv1.ListProductsRequest{PageSize: -1})
	wantViolations(t, "ListProducts with a negative page size", err, "page_size int32.gte")
	_, err = s.catalog.GetProduct(ctx, &shopv1.GetProductRequest{})
	wantViolations(t, "GetProduct without a name", err, "name string.min_len")

	// Server stream: the request is refused before the first message.
	watch, err := s.catalog.WatchProducts(ctx, &shopv1.WatchProductsRequest{Categories: []shopv1.ProductCategory{0}})
	if err == nil {
		_, err = watch.Recv()
	}
	wantViolations(t, "WatchProducts with category UNSPECIFIED", err, "categories[0] enum.not_in")

	// Client stream: a bad product ends the stream, and nothing of it is
	// stored; the path is the streamed message's.
	imp, err := s.catalog.ImportProducts(ctx)
	if err != nil {
		t.Fatal(err)
	}
	imp.Send(&shopv1.Product{Name: "cup", Title: "Cup", Price: eur(500)})
	imp.Send(&shopv1.Product{Name: "saucer", Title: "Saucer", Price: &shopv1.Money{CurrencyCode: "EURO", MinorUnits: 300}})
	_, err = imp.CloseAndRecv()
	wantViolations(t, "ImportProducts with a bad currency", err, "price.currency_code string.pattern")
	for _, name := range []string{"cup", "saucer", "mug"} {
		_, err := s.catalog.GetProduct(ctx, &shopv1.GetProductRequest{Name: name})
		wantCode(t, err, codes.NotFound)
	}

	// Customers and orders.
	customer := func(edit func(*shopv1.CreateCustomerRequest)) *shopv1.CreateCustomerRequest {
		c := &shopv1.CreateCustomerRequest{DisplayName: "Ada", Email: "ada@example.com", Phone: proto.String("+49 30 1234"),
			ShippingAddress: &shopv1.Address{Lines: []string{"1 Main St"}, City: "Berlin", RegionCode: "DE"}}
		edit(c)
		return c
	}
	for _, tc := range []struct {
		what string
		req  *shopv1.CreateCustomerRequest
		want string
	}{
		{"no e-mail", customer(func(c *shopv1.CreateCustomerRequest) { c.Email = "" }), "email string.email_empty"},
		{"bad e-mail", customer(func(c *shopv1.CreateCustomerRequest) { c.Email = "ada at example.com" }), "email string.email"},
		{"no name", customer(func(c *shopv1.CreateCustomerRequest) { c.DisplayName = "" }), "display_name string.min_len"},
		{"bad phone", customer(func(c *shopv1.CreateCustomerRequest) { c.Phone = proto.String("call me") }), "phone string.pattern"},
		{"bad country", customer(func(c *shopv1.CreateCustomerRequest) { c.ShippingAddress.RegionCode = "Germany" }), "shipping_address.region_code string.pattern"},
		{"no street", customer(func(c *shopv1.CreateCustomerRequest) { c.ShippingAddress.Lines = nil }), "shipping_address.lines repeated.min_items"},
	} {
		_, err := s.customers.CreateCustomer(ctx, tc.req)
		wantViolations(t, "CreateCustomer, "+tc.what, err, tc.want)
	}
	ada, err := s.customers.CreateCustomer(ctx, customer(func(*shopv1.CreateCustomerRequest) {}))
	if err != nil {
		t.Fatalf("CreateCustomer with valid data: %v", err)
	}
	_, err = s.customers.UpdateCustomer(ctx, &shopv1.UpdateCustomerRequest{Name: ada.GetName(), Email: proto.String("nope")})
	wantViolations(t, "UpdateCustomer with a bad e-mail", err, "email string.email")
	if _, err := s.customers.UpdateCustomer(ctx, &shopv1.UpdateCustomerRequest{Name: ada.GetName(), DisplayName: proto.String("Ada L.")}); err != nil {
		t.Errorf("UpdateCustomer setting only the display name: %v", err)
	}

	mustCreate(t, ctx, s, "mug", &shopv1.Product{Title: "Mug", Price: eur(950)})
	cash := &shopv1.PlaceOrderRequest_CashOnDelivery{CashOnDelivery: true}
	for _, tc := range []struct {
		what string
		req  *shopv1.PlaceOrderRequest
		want string
	}{
		{"no items", &shopv1.PlaceOrderRequest{Customer: ada.GetName(), Payment: cash}, "items map.min_pairs"},
		{"zero quantity", &shopv1.PlaceOrderRequest{Customer: ada.GetName(), Items: map[string]int32{"mug": 0}, Payment: cash}, `items["mug"] int32.gt`},
		{"no payment", &shopv1.PlaceOrderRequest{Customer: ada.GetName(), Items: map[string]int32{"mug": 1}}, "payment required"},
		{"short card digits", &shopv1.PlaceOrderRequest{Customer: ada.GetName(), Items: map[string]int32{"mug": 1},
			Payment: &shopv1.PlaceOrderRequest_Card{Card: &shopv1.CardPayment{Last4: "12"}}}, "card.last4 string.pattern"},
		{"no customer", &shopv1.PlaceOrderRequest{Items: map[string]int32{"mug": 1}, Payment: cash}, "customer string.min_len"},
	} {
		_, err := s.orders.PlaceOrder(ctx, tc.req)
		wantViolations(t, "PlaceOrder, "+tc.what, err, tc.want)
	}
	order, err := s.orders.PlaceOrder(ctx, &shopv1.PlaceOrderRequest{Customer: ada.GetName(), Items: map[string]int32{"mug": 2},
		Payment: &shopv1.PlaceOrderRequest_BankTransfer{BankTransfer: &shopv1.BankTransfer{Iban: "DE89370400440532013000"}}})
	if err != nil || order.GetTotal().GetMinorUnits() == 0 {
		t.Fatalf("PlaceOrder with valid data: %v, %v", order, err)
	}
}

// TestValidationAfterAuth: an anonymous caller of a protected method is
// refused as unauthenticated whatever its request, so the rules tell it
// nothing; a public method validates for anyone.
func TestValidationAfterAuth(t *testing.T) {
	ctx := testContext(t)
	s := startShop(t, nil)
	anonymous := shopv1.NewCatalogWrapper(dial(t, s.addr, clientConfig("")), svcclient.WithoutRetries())
	_, err := anonymous.CreateProduct(ctx, &shopv1.CreateProductRequest{})
	wantCode(t, err, codes.Unauthenticated)
	_, err = anonymous.ListProducts(ctx, &shopv1.ListProductsRequest{PageSize: -5})
	wantViolations(t, "anonymous ListProducts with a negative page size", err, "page_size int32.gte")
	if _, err := anonymous.ListProducts(ctx, &shopv1.ListProductsRequest{PageSize: 5000}); err != nil {
		t.Errorf("ListProducts above the maximum page size (clamped, not refused): %v", err)
	}
}
