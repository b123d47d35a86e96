package server_test

import (
	"bytes"
	"context"
	"log/slog"
	"net"
	"os"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"
	"google.golang.org/grpc"

	shopv1 "github.com/svcgen/protoc-gen-svc/examples/shop/gen/shop/v1"
	"github.com/svcgen/protoc-gen-svc/examples/shop/server"
	"github.com/svcgen/protoc-gen-svc/internal/prodtest"
	"github.com/svcgen/protoc-gen-svc/svcclient"
	"github.com/svcgen/protoc-gen-svc/svcprod"
	"github.com/svcgen/protoc-gen-svc/svcserver"
)

// pki and tokens are the certificates and bearer tokens of the tests: the
// e2e tests run the shop as production would, over mutual TLS with
// authentication on.
var pki prodtest.Files

var tokens = []server.Token{
	{Secret: "admin-token"},
	{Secret: "reader-token", ReadOnly: true},
}

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "shop-pki")
	if err != nil {
		panic(err)
	}
	if pki, err = prodtest.Write(dir); err != nil {
		panic(err)
	}
	goleak.VerifyTestMain(m, goleak.Cleanup(func(int) { os.RemoveAll(dir) }))
}

// production returns the server options of shopd with --tls-cert,
// --tls-key, --client-ca and --auth-token-file.
func production(t *testing.T) []svcserver.Option {
	t.Helper()
	cfg, err := svcserver.LoadServerTLS(pki.ServerCert, pki.ServerKey, pki.CA)
	if err != nil {
		t.Fatal(err)
	}
	return []svcserver.Option{svcserver.WithTLS(cfg), svcprod.WithAuth(server.TokenAuth(tokens))}
}

// clientConfig is shopctl's --tls-ca, --cert, --key and --token.
func clientConfig(token string) svcprod.ClientConfig {
	return svcprod.ClientConfig{CAFile: pki.CA, CertFile: pki.ClientCert, KeyFile: pki.ClientKey, Token: token}
}

// testShop is a shop server on a loopback port and clients for it.
type testShop struct {
	addr      string
	client    svcprod.ClientConfig
	conn      *grpc.ClientConn
	catalog   *shopv1.CatalogWrapper
	customers *shopv1.CustomersWrapper
	orders    *shopv1.OrdersWrapper

	cancel context.CancelFunc
	served chan error
	once   sync.Once
	err    error
}

// startShop serves the shop on 127.0.0.1:0 as shopd does (server.Serve)
// with mutual TLS and bearer tokens, and the extra server options opts, and
// connects the generated wrappers to it with the admin token, built with
// clientOpts. Everything is stopped when the test ends.
func startShop(t *testing.T, opts []svcserver.Option, clientOpts ...svcclient.Option) *testShop {
	t.Helper()
	return startShopWith(t, append(production(t), opts...), clientConfig("admin-token"), clientOpts...)
}

// startShopWith is startShop with the server options and client
// configuration given in full (none: plaintext, no authentication).
func startShopWith(t *testing.T, opts []svcserver.Option, client svcprod.ClientConfig, clientOpts ...svcclient.Option) *testShop {
	t.Helper()
	repos := server.InMemory()
	if storeURL != nil {
		var err error
		if repos, err = server.OpenStore(context.Background(), storeURL(t)); err != nil {
			t.Fatal(err)
		}
	}
	return startShopOn(t, repos, opts, client, clientOpts...)
}

// startShopOn is startShopWith on the given repositories, which it closes
// when the server stops.
func startShopOn(t *testing.T, repos *server.Repositories, opts []svcserver.Option, client svcprod.ClientConfig, clientOpts ...svcclient.Option) *testShop {
	t.Helper()
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	logger := slog.New(slog.NewTextHandler(testLog{t}, nil))
	ctx, cancel := context.WithCancel(context.Background())
	s := &testShop{addr: lis.Addr().String(), client: client, cancel: cancel, served: make(chan error, 1)}
	// A bounded drain, so that a test that leaves a call hanging fails
	// instead of hanging; opts may change it.
	opts = append([]svcserver.Option{svcserver.WithDrainTimeout(10 * time.Second)}, opts...)
	go func() {
		s.served <- server.ServeOn(ctx, lis, logger, repos, opts...)
		repos.Close()
	}()

	s.conn = dial(t, s.addr, client)
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

// dial returns a client connection to addr configured as cfg, closed when
// the test ends.
func dial(t *testing.T, addr string, cfg svcprod.ClientConfig, extra ...grpc.DialOption) *grpc.ClientConn {
	t.Helper()
	opts, err := svcprod.DialOptions(cfg)
	if err != nil {
		t.Fatal(err)
	}
	conn, err := grpc.NewClient(addr, append(opts, extra...)...)
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
