package server_test

import (
	"bytes"
	"context"
	"log/slog"
	"net"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	shopv1 "github.com/svcgen/protoc-gen-svc/examples/shop/gen/shop/v1"
	"github.com/svcgen/protoc-gen-svc/examples/shop/server"
	"github.com/svcgen/protoc-gen-svc/svcclient"
	"github.com/svcgen/protoc-gen-svc/svcserver"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// testShop is a shop server on a loopback port and clients for it.
type testShop struct {
	addr      string
	conn      *grpc.ClientConn
	catalog   *shopv1.CatalogWrapper
	customers *shopv1.CustomersWrapper
	orders    *shopv1.OrdersWrapper

	cancel context.CancelFunc
	served chan error
	once   sync.Once
	err    error
}

// startShop serves the shop on 127.0.0.1:0 as shopd does (server.Serve),
// with the extra server options opts, and connects the generated wrappers
// to it, built with clientOpts. Everything is stopped when the test ends.
func startShop(t *testing.T, opts []svcserver.Option, clientOpts ...svcclient.Option) *testShop {
	t.Helper()
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	logger := slog.New(slog.NewTextHandler(testLog{t}, nil))
	ctx, cancel := context.WithCancel(context.Background())
	s := &testShop{addr: lis.Addr().String(), cancel: cancel, served: make(chan error, 1)}
	// A bounded drain, so that a test that leaves a call hanging fails
	// instead of hanging; opts may change it.
	opts = append([]svcserver.Option{svcserver.WithDrainTimeout(10 * time.Second)}, opts...)
	repos := server.InMemory()
	if storeURL != nil {
		var err error
		if repos, err = server.OpenStore(ctx, storeURL(t)); err != nil {
			t.Fatal(err)
		}
	}
	go func() {
		s.served <- server.ServeOn(ctx, lis, logger, repos, opts...)
		repos.Close()
	}()

	s.conn = dial(t, s.addr)
	s.catalog = shopv1.NewCatalogWrapper(s.conn, clientOpts...)
	s.customers = shopv1.NewCustomersWrapper(s.conn, clientOpts...)
	s.orders = shopv1.NewOrdersWrapper(s.conn, clientOpts...)
	t.Cleanup(func() {
		s.conn.Close()
		if err := s.stop(); err != nil {
			t.Errorf("Serve: %v", err)
		}
	})
	return s
}

// storeURL, when set, gives startShop the store URL for a test (see
// TestOnEveryStore); nil means in memory.
var storeURL func(t *testing.T) string

// stop asks the server to stop, as SIGTERM does to shopd, and waits for
// Serve to return.
func (s *testShop) stop() error {
	s.once.Do(func() {
		s.cancel()
		s.err = <-s.served
	})
	return s.err
}

// dial returns a client connection to addr, closed when the test ends.
func dial(t *testing.T, addr string) *grpc.ClientConn {
	t.Helper()
	conn, err := grpc.NewClient(addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	return conn
}

// testContext returns a context that ends with the test, or after a bound
// that keeps a broken test from hanging.
func testContext(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// testLog sends server logs to the test log (shown with -v or on failure).
type testLog struct{ t *testing.T }

func (w testLog) Write(p []byte) (int, error) {
	w.t.Log(string(bytes.TrimRight(p, "\n")))
	return len(p), nil
}
