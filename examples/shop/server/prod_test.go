package server_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"

	"go.opentelemetry.io/contrib/instrumentation/google.golang.org/grpc/otelgrpc"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/propagation"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/status"

	shopv1 "github.com/svcgen/protoc-gen-svc/examples/shop/gen/shop/v1"
	"github.com/svcgen/protoc-gen-svc/examples/shop/server"
	"github.com/svcgen/protoc-gen-svc/internal/prodtest"
	"github.com/svcgen/protoc-gen-svc/svcclient"
	"github.com/svcgen/protoc-gen-svc/svcprod"
	"github.com/svcgen/protoc-gen-svc/svcserver"
)

// TestAuthAndTLS checks who may do what on a shop with mutual TLS and
// bearer tokens: browsing the catalog is public (the schema says
// AUTH_PUBLIC), changing it takes a token, a read-only token may only read,
// health needs no token, and clients without a certificate from the
// client CA do not get in at all.
func TestAuthAndTLS(t *testing.T) {
	ctx := testContext(t)
	s := startShop(t, nil)
	mustCreate(t, ctx, s, "espresso", &shopv1.Product{Title: "Espresso machine", Price: eur(24900)})

	as := func(token string) *shopv1.CatalogWrapper {
		return shopv1.NewCatalogWrapper(dial(t, s.addr, clientConfig(token)), svcclient.WithoutRetries())
	}
	anonymous, reader, stranger := as(""), as("reader-token"), as("wrong-token")

	for name, catalog := range map[string]*shopv1.CatalogWrapper{"anonymous": anonymous, "reader": reader, "stranger": stranger} {
		if _, err := catalog.GetProduct(ctx, &shopv1.GetProductRequest{Name: "espresso"}); err != nil && name != "stranger" {
			t.Errorf("%s GetProduct (public): %v", name, err)
		}
		if _, err := catalog.ListProducts(ctx, &shopv1.ListProductsRequest{}); err != nil && name != "stranger" {
			t.Errorf("%s ListProducts (public): %v", name, err)
		}
	}
	create := &shopv1.CreateProductRequest{ProductId: "mug", Product: &shopv1.Product{Title: "Mug"}}
	_, err := anonymous.CreateProduct(ctx, create)
	wantCode(t, err, codes.Unauthenticated)
	_, err = stranger.CreateProduct(ctx, create)
	wantCode(t, err, codes.Unauthenticated)
	_, err = reader.CreateProduct(ctx, create)
	wantCode(t, err, codes.PermissionDenied)
	_, err = reader.DeleteProduct(ctx, &shopv1.DeleteProductRequest{Name: "espresso"})
	wantCode(t, err, codes.PermissionDenied)
	// Customers says nothing about auth: every method takes a token.
	_, err = shopv1.NewCustomersWrapper(dial(t, s.addr, clientConfig("reader-token"))).GetCustomer(ctx, &shopv1.GetCustomerRequest{Name: "nobody"})
	wantCode(t, err, codes.NotFound) // authenticated, allowed (NO_SIDE_EFFECTS), not found
	_, err = shopv1.NewCustomersWrapper(dial(t, s.addr, clientConfig(""))).GetCustomer(ctx, &shopv1.GetCustomerRequest{Name: "nobody"})
	wantCode(t, err, codes.Unauthenticated)

	health, err := healthpb.NewHealthClient(dial(t, s.addr, clientConfig(""))).Check(ctx, &healthpb.HealthCheckRequest{Service: "shop.v1.Catalog"})
	if err != nil || health.GetStatus() != healthpb.HealthCheckResponse_SERVING {
		t.Errorf("health without a token: %v, %v", health, err)
	}

	noCert := clientConfig("admin-token")
	noCert.CertFile, noCert.KeyFile = "", ""
	_, err = shopv1.NewCatalogWrapper(dial(t, s.addr, noCert), svcclient.WithoutRetries()).GetProduct(ctx, &shopv1.GetProductRequest{Name: "espresso"})
	wantCode(t, err, codes.Unavailable)
	_, err = shopv1.NewCatalogWrapper(dial(t, s.addr, svcprod.ClientConfig{}), svcclient.WithoutRetries()).GetProduct(ctx, &shopv1.GetProductRequest{Name: "espresso"})
	wantCode(t, err, codes.Unavailable)
}

// TestPlaintextShop keeps the development path working: no TLS, no tokens.
func TestPlaintextShop(t *testing.T) {
	ctx := testContext(t)
	s := startShopWith(t, nil, svcprod.ClientConfig{})
	mustCreate(t, ctx, s, "espresso", &shopv1.Product{Title: "Espresso machine"})
	if _, err := s.catalog.GetProduct(ctx, &shopv1.GetProductRequest{Name: "espresso"}); err != nil {
		t.Fatal(err)
	}
}

// TestBadIDsRejected sends the ids a repository must never see.
func TestBadIDsRejected(t *testing.T) {
	ctx := testContext(t)
	s := startShop(t, nil)
	for _, id := range []string{"../../etc/passwd", "a/", "nul\x00byte", "new\nline", "Upper", "with space", strings.Repeat("x", 10<<10)} {
		_, err := s.catalog.CreateProduct(ctx, &shopv1.CreateProductRequest{ProductId: id, Product: &shopv1.Product{Title: "x"}})
		wantCode(t, err, codes.InvalidArgument)
		var field string
		for _, d := range status.Convert(err).Details() {
			if br, ok := d.(*errdetails.BadRequest); ok && len(br.GetFieldViolations()) > 0 {
				field = br.GetFieldViolations()[0].GetField()
			}
		}
		if field != "product_id" {
			t.Errorf("CreateProduct(%.20q): field violation on %q, want product_id", id, field)
		}
		_, err = s.catalog.GetProduct(ctx, &shopv1.GetProductRequest{Name: id})
		wantCode(t, err, codes.InvalidArgument)
	}
	list, err := s.catalog.ListProducts(ctx, &shopv1.ListProductsRequest{})
	if err != nil || len(list.GetProducts()) != 0 {
		t.Errorf("after bad creates the catalog has %v (%v), want nothing", list.GetProducts(), err)
	}
}

// TestOversizedFieldsRejected: a 3 MiB description fits in a message but
// not in a field.
func TestOversizedFieldsRejected(t *testing.T) {
	ctx := testContext(t)
	s := startShop(t, nil)
	_, err := s.catalog.CreateProduct(ctx, &shopv1.CreateProductRequest{ProductId: "heavy",
		Product: &shopv1.Product{Title: "Heavy", Description: strings.Repeat("x", 3<<20)}})
	wantCode(t, err, codes.InvalidArgument)
	if !strings.Contains(status.Convert(err).Message(), "product.description is 3145728 bytes long") {
		t.Errorf("message %q does not name the field and its size", status.Convert(err).Message())
	}
	_, err = s.catalog.CreateProduct(ctx, &shopv1.CreateProductRequest{ProductId: "tagged",
		Product: &shopv1.Product{Title: "Tagged", Attributes: map[string]string{"k": strings.Repeat("v", 70<<10)}}})
	wantCode(t, err, codes.InvalidArgument)
}

// TestRetriesAsSpanEvents: GetProduct fails twice with Unavailable, the
// generated wrapper retries it (the schema allows 5 attempts), and the trace
// shows a client and a server span per attempt, and two retry events on
// the caller's span.
func TestRetriesAsSpanEvents(t *testing.T) {
	exporter := tracetest.NewInMemoryExporter()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSyncer(exporter))
	defer tp.Shutdown(context.Background())
	otelOpts := []otelgrpc.Option{otelgrpc.WithTracerProvider(tp), otelgrpc.WithPropagators(propagation.TraceContext{})}

	var failures, streamFailures atomic.Int32
	flaky := svcserver.WithServerOptions(grpc.ChainUnaryInterceptor(func(ctx context.Context, req any, info *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
		if info.FullMethod == shopv1.Catalog_GetProduct_FullMethodName && failures.Add(1) <= 2 {
			return nil, status.Error(codes.Unavailable, "warming up")
		}
		return handler(ctx, req)
	}), grpc.ChainStreamInterceptor(func(srv any, ss grpc.ServerStream, info *grpc.StreamServerInfo, handler grpc.StreamHandler) error {
		if info.FullMethod == shopv1.Catalog_WatchProducts_FullMethodName && streamFailures.Add(1) <= 1 {
			return status.Error(codes.Unavailable, "warming up")
		}
		return handler(srv, ss)
	}))
	ctx := testContext(t)
	s := startShop(t, []svcserver.Option{svcprod.WithTelemetry(otelOpts...), flaky})
	mustCreate(t, ctx, s, "espresso", &shopv1.Product{Title: "Espresso machine"})
	conn := dial(t, s.addr, clientConfig("admin-token"), svcprod.ClientTelemetry(otelOpts...)...)
	catalog := shopv1.NewCatalogWrapper(conn, svcprod.RetrySpanEvents())

	ctx, caller := tp.Tracer("test").Start(ctx, "caller")
	_, err := catalog.GetProduct(ctx, &shopv1.GetProductRequest{Name: "espresso"})
	caller.End()
	if err != nil {
		t.Fatalf("GetProduct after two Unavailable: %v", err)
	}
	prodtest.WaitForServerSpans(exporter, "shop.v1.Catalog/GetProduct", 3)
	kinds := map[trace.SpanKind]int{}
	var retries []string
	for _, span := range exporter.GetSpans() {
		if span.Name == "shop.v1.Catalog/GetProduct" && span.SpanContext.TraceID() == caller.SpanContext().TraceID() {
			kinds[span.SpanKind]++
		}
		if span.Name == "caller" {
			for _, e := range span.Events {
				set := attribute.NewSet(e.Attributes...)
				attempt, _ := set.Value("svc.retry.attempt")
				delay, _ := set.Value("svc.retry.delay_ms")
				if delay.AsFloat64() <= 0 {
					t.Errorf("retry event without a delay: %v", e.Attributes)
				}
				retries = append(retries, e.Name+" "+attempt.String())
			}
		}
	}
	if kinds[trace.SpanKindClient] != 3 || kinds[trace.SpanKindServer] != 3 {
		t.Errorf("GetProduct spans in the caller's trace: %v, want 3 client and 3 server", kinds)
	}
	if strings.Join(retries, ", ") != "retry 1, retry 2" {
		t.Errorf("caller span events %q, want retry 1, retry 2", retries)
	}

	// A server stream re-opened once before its first message.
	exporter.Reset()
	ctx, watcher := tp.Tracer("test").Start(testContext(t), "watcher")
	wctx, cancel := context.WithCancel(ctx)
	watch, err := catalog.WatchProducts(wctx, &shopv1.WatchProductsRequest{IncludeExisting: true})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := watch.Recv(); err != nil {
		t.Fatalf("WatchProducts after one Unavailable: %v", err)
	}
	cancel()
	watcher.End()
	var streamRetries []string
	for _, span := range exporter.GetSpans() {
		if span.Name == "watcher" {
			for _, e := range span.Events {
				set := attribute.NewSet(e.Attributes...)
				attempt, _ := set.Value("svc.retry.attempt")
				streamRetries = append(streamRetries, e.Name+" "+attempt.String())
			}
		}
	}
	if strings.Join(streamRetries, ", ") != "retry 1" {
		t.Errorf("watcher span events %q, want retry 1", streamRetries)
	}
}

func TestLoadTokens(t *testing.T) {
	dir := t.TempDir()
	write := func(name, content string) string {
		file := filepath.Join(dir, name)
		if err := os.WriteFile(file, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		return file
	}
	got, err := server.LoadTokens(write("ok", "# tokens\n\nadmin\n  reader readonly  \n"))
	if err != nil || len(got) != 2 || got[0] != (server.Token{Secret: "admin"}) || got[1] != (server.Token{Secret: "reader", ReadOnly: true}) {
		t.Errorf("LoadTokens = %v, %v", got, err)
	}
	for name, content := range map[string]string{"empty": "# nothing\n", "extra": "tok admin\n", "three": "a readonly b\n"} {
		if _, err := server.LoadTokens(write(name, content)); err == nil {
			t.Errorf("LoadTokens(%s) accepted %q", name, content)
		}
	}
	if _, err := server.LoadTokens(filepath.Join(dir, "missing")); err == nil {
		t.Error("LoadTokens accepted a missing file")
	}
}
