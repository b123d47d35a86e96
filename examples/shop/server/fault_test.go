package server_test

import (
	"context"
	"slices"
	"sync"
	"testing"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	shopv1 "github.com/svcgen/protoc-gen-svc/examples/shop/gen/shop/v1"
	"github.com/svcgen/protoc-gen-svc/svcclient"
	"github.com/svcgen/protoc-gen-svc/svcserver"
)

// faults fails the first n calls of one method with UNAVAILABLE, before
// they reach the handler, and records every attempt the server saw with its
// svc-retry-attempt metadata.
type faults struct {
	method string
	n      int

	mu       sync.Mutex
	armed    bool     // no faults until the test's data is in place
	attempts []string // svc-retry-attempt of each attempt ("" on the first)
}

func (f *faults) serverOptions() []svcserver.Option {
	return []svcserver.Option{svcserver.WithServerOptions(
		grpc.ChainUnaryInterceptor(func(ctx context.Context, req any, info *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
			if err := f.attempt(ctx, info.FullMethod); err != nil {
				return nil, err
			}
			return handler(ctx, req)
		}),
		grpc.ChainStreamInterceptor(func(srv any, ss grpc.ServerStream, info *grpc.StreamServerInfo, handler grpc.StreamHandler) error {
			if err := f.attempt(ss.Context(), info.FullMethod); err != nil {
				return err
			}
			return handler(srv, ss)
		}),
	)}
}

func (f *faults) attempt(ctx context.Context, method string) error {
	if method != f.method {
		return nil
	}
	md, _ := metadata.FromIncomingContext(ctx)
	f.mu.Lock()
	defer f.mu.Unlock()
	if !f.armed {
		return nil
	}
	f.attempts = append(f.attempts, firstOf(md.Get(svcclient.RetryAttemptKey)))
	if len(f.attempts) <= f.n {
		return status.Errorf(codes.Unavailable, "injected fault %d of %d", len(f.attempts), f.n)
	}
	return nil
}

func (f *faults) arm() {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.armed = true
}

func (f *faults) seen() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.attempts)
}

func firstOf(s []string) string {
	if len(s) == 0 {
		return ""
	}
	return s[0]
}

// TestRetryFaults puts an interceptor in front of the server that fails the
// first two attempts of one method with UNAVAILABLE. The wrapper retries
// what the schema says is safe (idempotency_level NO_SIDE_EFFECTS or
// IDEMPOTENT; a server stream before its first message) and succeeds on the
// third attempt; it never retries a non-idempotent call, a client stream or
// a bidi stream: one attempt, UNAVAILABLE returned to the caller.
func TestRetryFaults(t *testing.T) {
	seed := func(t *testing.T, ctx context.Context, s *testShop) {
		mustCreate(t, ctx, s, "espresso", &shopv1.Product{Title: "Espresso machine", Price: eur(24900)})
	}
	for _, tc := range []struct {
		name   string
		method string
		retry  bool
		call   func(ctx context.Context, s *testShop) error
	}{
		{"GetProduct (NO_SIDE_EFFECTS)", shopv1.Catalog_GetProduct_FullMethodName, true, func(ctx context.Context, s *testShop) error {
			p, err := s.catalog.GetProduct(ctx, &shopv1.GetProductRequest{Name: "espresso"})
			if err == nil && p.GetTitle() != "Espresso machine" {
				t.Errorf("GetProduct = %v", p)
			}
			return err
		}},
		{"DeleteProduct (IDEMPOTENT)", shopv1.Catalog_DeleteProduct_FullMethodName, true, func(ctx context.Context, s *testShop) error {
			_, err := s.catalog.DeleteProduct(ctx, &shopv1.DeleteProductRequest{Name: "espresso"})
			return err
		}},
		{"WatchProducts (server stream, before the first message)", shopv1.Catalog_WatchProducts_FullMethodName, true, func(ctx context.Context, s *testShop) error {
			for ev, err := range s.catalog.WatchProductsSeq(ctx, &shopv1.WatchProductsRequest{}) {
				if err == nil && ev.GetType() != shopv1.ProductEvent_SYNCED {
					t.Errorf("first event %v, want SYNCED", ev)
				}
				return err
			}
			return nil
		}},
		{"CreateProduct (not idempotent)", shopv1.Catalog_CreateProduct_FullMethodName, false, func(ctx context.Context, s *testShop) error {
			_, err := s.catalog.CreateProduct(ctx, &shopv1.CreateProductRequest{Product: &shopv1.Product{Title: "Mug"}, ProductId: "mug"})
			return err
		}},
		{"PlaceOrder (not idempotent)", shopv1.Orders_PlaceOrder_FullMethodName, false, func(ctx context.Context, s *testShop) error {
			_, err := s.orders.PlaceOrder(ctx, &shopv1.PlaceOrderRequest{Customer: "c", Items: map[string]int32{"espresso": 1}})
			return err
		}},
		{"ImportProducts (client stream)", shopv1.Catalog_ImportProducts_FullMethodName, false, func(ctx context.Context, s *testShop) error {
			st, err := s.catalog.ImportProducts(ctx)
			if err != nil {
				return err
			}
			st.Send(&shopv1.Product{Name: "mug"})
			_, err = st.CloseAndRecv()
			return err
		}},
		{"RepriceProducts (bidi stream)", shopv1.Catalog_RepriceProducts_FullMethodName, false, func(ctx context.Context, s *testShop) error {
			st, err := s.catalog.RepriceProducts(ctx)
			if err != nil {
				return err
			}
			st.CloseSend()
			_, err = st.Recv()
			return err
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx := testContext(t)
			f := &faults{method: tc.method, n: 2}
			var mu sync.Mutex
			var hooked []int // the attempts the client's hook saw fail
			s := startShop(t, f.serverOptions(), svcclient.WithHook(func(e svcclient.RetryEvent) {
				mu.Lock()
				defer mu.Unlock()
				if e.FullMethod != tc.method || status.Code(e.Err) != codes.Unavailable {
					t.Errorf("retry hook: %s failed with %v", e.FullMethod, e.Err)
				}
				hooked = append(hooked, e.Attempt)
			}))
			seed(t, ctx, s)
			f.arm()

			err := tc.call(ctx, s)
			mu.Lock()
			defer mu.Unlock()
			if tc.retry {
				if err != nil {
					t.Fatalf("call failed despite retries: %v", err)
				}
				if got, want := f.seen(), []string{"", "1", "2"}; !slices.Equal(got, want) {
					t.Errorf("server saw attempts with %s %q, want 3 attempts %q", svcclient.RetryAttemptKey, got, want)
				}
				if !slices.Equal(hooked, []int{1, 2}) {
					t.Errorf("retry hook saw failed attempts %v, want [1 2]", hooked)
				}
				return
			}
			if status.Code(err) != codes.Unavailable {
				t.Fatalf("got %v, want the injected UNAVAILABLE unchanged", err)
			}
			if got := f.seen(); len(got) != 1 {
				t.Errorf("server saw %d attempts, want 1: not retried", len(got))
			}
			if len(hooked) != 0 {
				t.Errorf("retry hook called for attempts %v, want no retry", hooked)
			}
		})
	}
}
