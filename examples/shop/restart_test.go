package shop_test

import (
	"context"
	"errors"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/connectivity"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/resolver"
	"google.golang.org/grpc/resolver/manual"
	"google.golang.org/grpc/status"

	shopv1 "github.com/svcgen/protoc-gen-svc/examples/shop/gen/shop/v1"
	"github.com/svcgen/protoc-gen-svc/svcclient"
)

// startShopdAt starts shopd listening on addr ("127.0.0.1:0" for a free
// port), so that a test can restart it on the same address, and waits until
// it listens. It is killed when the test ends (store_test.go's startShopd;
// the last --listen wins).
func startShopdAt(t *testing.T, bin, addr string) *shopd {
	t.Helper()
	return startShopd(t, bin, "--listen", addr)
}

// kill stops the process with SIGKILL, as a crash would, and waits for it.
func (s *shopd) kill() {
	if !s.waited {
		s.cmd.Process.Kill()
		<-s.exited
		s.waited = true
	}
}

// loadResult counts the outcomes of the calls of a load loop.
type loadResult struct {
	calls    atomic.Int64
	answered atomic.Int64 // OK or NotFound: the server answered
	mu       sync.Mutex
	failures []error
}

func (r *loadResult) record(err error) {
	r.calls.Add(1)
	if err == nil || status.Code(err) == codes.NotFound {
		r.answered.Add(1)
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.failures = append(r.failures, err)
}

// safeLoad runs workers that loop over the safe calls GetProduct and
// ListProducts, with no deadline of their own (the schema's defaults apply),
// until stop is closed.
func safeLoad(w *shopv1.CatalogWrapper, workers int, stop <-chan struct{}) (*loadResult, func()) {
	r := &loadResult{}
	var wg sync.WaitGroup
	for i := range workers {
		wg.Go(func() {
			for n := 0; ; n++ {
				select {
				case <-stop:
					return
				default:
				}
				var err error
				if (i+n)%2 == 0 {
					_, err = w.GetProduct(context.Background(), &shopv1.GetProductRequest{Name: "espresso"})
				} else {
					_, err = w.ListProducts(context.Background(), &shopv1.ListProductsRequest{})
				}
				r.record(err)
				time.Sleep(2 * time.Millisecond)
			}
		})
	}
	return r, wg.Wait
}

func dial(t *testing.T, target string, opts ...grpc.DialOption) *grpc.ClientConn {
	t.Helper()
	conn, err := grpc.NewClient(target, append([]grpc.DialOption{grpc.WithTransportCredentials(insecure.NewCredentials())}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	return conn
}

// TestRestartZeroFailures kills shopd (SIGKILL) while clients loop over safe
// calls, restarts it 100ms later on the same address, and expects every
// call to succeed: calls in flight when the server died are retried, and
// every attempt waits for the new server instead of failing while the
// channel reconnects.
func TestRestartZeroFailures(t *testing.T) {
	bin := buildShopd(t)
	p := startShopdAt(t, bin, "127.0.0.1:0")
	conn := dial(t, p.addr)
	var retries atomic.Int64
	w := shopv1.NewCatalogWrapper(conn, svcclient.WithHook(func(svcclient.RetryEvent) { retries.Add(1) }))
	if _, err := w.CreateProduct(context.Background(), &shopv1.CreateProductRequest{ProductId: "espresso", Product: &shopv1.Product{Title: "Espresso"}}); err != nil {
		t.Fatal(err)
	}

	stop := make(chan struct{})
	res, wait := safeLoad(w, 4, stop)
	time.Sleep(300 * time.Millisecond)
	for round := range 3 {
		before := res.answered.Load()
		p.kill()
		time.Sleep(100 * time.Millisecond)
		p = startShopdAt(t, bin, p.addr)
		// Until the clients have been answered by the new server.
		deadline := time.Now().Add(10 * time.Second)
		for res.answered.Load() < before+200 && time.Now().Before(deadline) {
			time.Sleep(10 * time.Millisecond)
		}
		t.Logf("restart %d: answered %d calls since the kill", round+1, res.answered.Load()-before)
	}
	close(stop)
	wait()
	t.Logf("%d calls, %d retries announced", res.calls.Load(), retries.Load())
	if len(res.failures) > 0 {
		t.Errorf("%d of %d calls failed across 3 restarts, want 0; first: %v", len(res.failures), res.calls.Load(), res.failures[0])
	}
}

// TestServerDownPastDeadline: with shopd gone for longer than the deadline,
// a safe call waits for it until its deadline (GetProduct: 2s in the schema)
// and fails with DeadlineExceeded then, naming the connection error; a call
// that may not be retried (CreateProduct) fails at once with Unavailable,
// after one attempt. Once shopd is back, calls work again.
func TestServerDownPastDeadline(t *testing.T) {
	bin := buildShopd(t)
	p := startShopdAt(t, bin, "127.0.0.1:0")
	conn := dial(t, p.addr)
	var mu sync.Mutex
	var events []svcclient.RetryEvent
	w := shopv1.NewCatalogWrapper(conn, svcclient.WithHook(func(e svcclient.RetryEvent) {
		mu.Lock()
		defer mu.Unlock()
		events = append(events, e)
	}))
	if _, err := w.ListProducts(context.Background(), &shopv1.ListProductsRequest{}); err != nil {
		t.Fatal(err)
	}
	p.kill()
	// Until the client has seen the connection go: a call made before
	// that may meet the dying transport (connection reset by peer), fail
	// on it, and be retried, as a call in flight rightly is
	// (TestRestartZeroFailures); this test is of calls made while the
	// server is known to be down.
	waitCtx, waitCancel := context.WithTimeout(context.Background(), 5*time.Second)
	for s := conn.GetState(); s == connectivity.Ready && conn.WaitForStateChange(waitCtx, s); s = conn.GetState() {
	}
	waitCancel()

	start := time.Now()
	_, err := w.GetProduct(context.Background(), &shopv1.GetProductRequest{Name: "espresso"})
	elapsed := time.Since(start)
	if status.Code(err) != codes.DeadlineExceeded || !strings.Contains(err.Error(), "connection refused") {
		t.Errorf("GetProduct with the server down: %v; want DeadlineExceeded naming the refused connection", err)
	}
	if elapsed < 2*time.Second || elapsed > 3*time.Second {
		t.Errorf("GetProduct with the server down took %v, want its 2s deadline", elapsed)
	}
	var ae *svcclient.AttemptsError
	if !errors.As(err, &ae) || ae.Attempts != 1 {
		t.Errorf("GetProduct with the server down: %#v, want an *AttemptsError of 1 attempt (no attempt is spent while waiting)", err)
	}

	// A caller's shorter deadline wins, exactly.
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	start = time.Now()
	_, err = w.ListProducts(ctx, &shopv1.ListProductsRequest{})
	elapsed = time.Since(start)
	cancel()
	if status.Code(err) != codes.DeadlineExceeded || elapsed < 300*time.Millisecond || elapsed > 1300*time.Millisecond {
		t.Errorf("ListProducts with a 300ms deadline, server down: %v after %v; want DeadlineExceeded at 300ms", err, elapsed)
	}

	start = time.Now()
	_, err = w.CreateProduct(context.Background(), &shopv1.CreateProductRequest{Product: &shopv1.Product{Title: "Mug"}})
	elapsed = time.Since(start)
	if status.Code(err) != codes.Unavailable || elapsed > 1500*time.Millisecond || errors.As(err, &ae) {
		t.Errorf("CreateProduct with the server down: %v (%T) after %v; want grpc's Unavailable at once", err, err, elapsed)
	}
	mu.Lock()
	if len(events) != 0 {
		t.Errorf("retries announced with the server down: %+v; want none", events)
	}
	mu.Unlock()

	startShopdAt(t, bin, p.addr)
	if _, err := w.ListProducts(context.Background(), &shopv1.ListProductsRequest{}); err != nil {
		t.Errorf("ListProducts once shopd is back: %v", err)
	}
}

// TestRoundRobinReplicaDies balances calls over two shopd replicas and
// kills one under load: the calls it had in flight are retried on the
// other, so no call fails.
func TestRoundRobinReplicaDies(t *testing.T) {
	bin := buildShopd(t)
	a := startShopdAt(t, bin, "127.0.0.1:0")
	b := startShopdAt(t, bin, "127.0.0.1:0")
	r := manual.NewBuilderWithScheme("shop")
	r.InitialState(resolver.State{Addresses: []resolver.Address{{Addr: a.addr}, {Addr: b.addr}}})
	conn := dial(t, "shop:///replicas", grpc.WithResolvers(r),
		grpc.WithDefaultServiceConfig(`{"loadBalancingConfig":[{"round_robin":{}}]}`))
	w := shopv1.NewCatalogWrapper(conn)

	stop := make(chan struct{})
	res, wait := safeLoad(w, 4, stop)
	time.Sleep(500 * time.Millisecond)
	a.kill()
	before := res.answered.Load()
	time.Sleep(time.Second)
	close(stop)
	wait()
	if after := res.answered.Load() - before; after < 10 {
		t.Errorf("only %d calls answered in the second after the kill", after)
	}
	if len(res.failures) > 0 {
		t.Errorf("%d of %d calls failed when a replica died, want 0; first: %v", len(res.failures), res.calls.Load(), res.failures[0])
	}
	for _, p := range []*shopd{a, b} {
		if n := strings.Count(p.logs.String(), "grpc.method=ListProducts"); n == 0 {
			t.Errorf("replica %s served no ListProducts: not balanced", p.addr)
		}
	}
}
