package server_test

import (
	"context"
	"net"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/connectivity"
	"google.golang.org/grpc/status"

	shopv1 "github.com/svcgen/protoc-gen-svc/examples/shop/gen/shop/v1"
	"github.com/svcgen/protoc-gen-svc/svcclient"
	"github.com/svcgen/protoc-gen-svc/svcserver"
)

// TestGracefulShutdown asks the server to stop (as SIGTERM does to shopd)
// while a slow call is in flight and a watch is open: the watch ends at
// once with UNAVAILABLE, new calls are refused, the slow call still
// finishes with its answer, and then Serve returns nil.
func TestGracefulShutdown(t *testing.T) {
	ctx := testContext(t)
	entered := make(chan struct{})
	release := make(chan struct{})
	// GetProduct of "slow" waits until the test releases it.
	slow := svcserver.WithServerOptions(grpc.ChainUnaryInterceptor(func(ctx context.Context, req any, info *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
		if r, ok := req.(*shopv1.GetProductRequest); ok && r.GetName() == "slow" {
			close(entered)
			<-release
		}
		return handler(ctx, req)
	}))
	s := startShop(t, []svcserver.Option{slow})
	mustCreate(t, ctx, s, "slow", &shopv1.Product{Title: "Slow"})

	watch, err := s.catalog.WatchProducts(ctx, &shopv1.WatchProductsRequest{})
	if err != nil {
		t.Fatal(err)
	}
	recvEvent(t, watch, shopv1.ProductEvent_SYNCED, "")

	type result struct {
		p   *shopv1.Product
		err error
	}
	inFlight := make(chan result, 1)
	go func() {
		p, err := s.catalog.GetProduct(ctx, &shopv1.GetProductRequest{Name: "slow"})
		inFlight <- result{p, err}
	}()
	<-entered

	stopped := make(chan error, 1)
	go func() { stopped <- s.stop() }()

	// The watch is ended rather than waited for.
	if _, err := watch.Recv(); status.Code(err) != codes.Unavailable {
		t.Errorf("watch during shutdown: %v, want Unavailable", err)
	}

	// New connections are refused once the listener is closed...
	deadline := time.Now().Add(5 * time.Second)
	for {
		c, err := net.DialTimeout("tcp", s.addr, time.Second)
		if err != nil {
			break
		}
		c.Close()
		if time.Now().After(deadline) {
			t.Fatal("the server still accepts connections 5s after it was asked to stop")
		}
		time.Sleep(10 * time.Millisecond)
	}
	// ...and so are new calls, on a new connection as on the existing one
	// once the client has read the server's GOAWAY (the connection leaves
	// READY while the calls in flight go on).
	for st := s.conn.GetState(); st == connectivity.Ready; st = s.conn.GetState() {
		if !s.conn.WaitForStateChange(ctx, st) {
			t.Fatal("the existing connection stayed READY during shutdown")
		}
	}
	fresh := shopv1.NewCatalogWrapper(dial(t, s.addr, s.client))
	for name, c := range map[string]*shopv1.CatalogWrapper{"new connection": fresh, "existing connection": s.catalog} {
		_, err := c.GetProduct(ctx, &shopv1.GetProductRequest{Name: "other"}, svcclient.CallNoRetry())
		if status.Code(err) != codes.Unavailable {
			t.Errorf("new call on the %s during shutdown: %v, want Unavailable", name, err)
		}
	}

	select {
	case err := <-stopped:
		t.Fatalf("Serve returned (%v) while a call was in flight", err)
	case <-time.After(50 * time.Millisecond):
	}
	close(release)
	if r := <-inFlight; r.err != nil || r.p.GetTitle() != "Slow" {
		t.Errorf("in-flight call: %v, %v; want it to finish normally", r.p, r.err)
	}
	select {
	case err := <-stopped:
		if err != nil {
			t.Errorf("Serve = %v, want nil after a graceful stop", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Serve did not return 5s after the last call finished")
	}
}
