package svctest

import (
	"context"
	"errors"
	"net"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"go.uber.org/goleak"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/resolver"
	"google.golang.org/grpc/resolver/manual"
	"google.golang.org/grpc/status"
	"google.golang.org/grpc/test/bufconn"

	"github.com/svcgen/protoc-gen-svc/internal/svctest/echopb"
	"github.com/svcgen/protoc-gen-svc/svcclient"
)

// TestThrottling: against a server that fails every call with Unavailable,
// the default token bucket (10 tokens, 0.1 back per success) lets the
// first call make its 4 attempts and then stops retrying: 20 calls cost the
// server 23 attempts instead of 80. Successes refill the bucket.
func TestThrottling(t *testing.T) {
	var fail atomic.Bool
	fail.Store(true)
	s := &scripted{unary: func(_ context.Context, method string, n int, in *echopb.EchoRequest) (*echopb.EchoResponse, error) {
		if fail.Load() {
			return nil, attemptError(codes.Unavailable, method, n)
		}
		return &echopb.EchoResponse{Message: in.GetMessage()}, nil
	}}
	w := echopb.NewEchoWrapper(startBufServer(t, s).conn, zeroJitter) // default throttling
	for i := range 20 {
		err := callGet(context.Background(), w)
		var ae *svcclient.AttemptsError
		if !errors.As(err, &ae) || status.Code(err) != codes.Unavailable {
			t.Fatalf("call %d: %v, want an *AttemptsError with code Unavailable", i+1, err)
		}
		switch want := 1; {
		case i == 0 && (ae.Attempts != 4 || ae.Throttled):
			t.Errorf("call 1: %d attempts, throttled %v; want 4 attempts, not throttled", ae.Attempts, ae.Throttled)
		case i > 0 && (ae.Attempts != want || !ae.Throttled || !strings.Contains(err.Error(), "(retries throttled)")):
			t.Errorf("call %d: %d attempts, throttled %v (%v); want 1 attempt, throttled", i+1, ae.Attempts, ae.Throttled, err)
		}
	}
	wantAttempts(t, s, echopb.Echo_Get_FullMethodName, 23)

	// 100 successes give back 10 tokens: the bucket is full again.
	fail.Store(false)
	for range 100 {
		if err := callGet(context.Background(), w); err != nil {
			t.Fatal(err)
		}
	}
	fail.Store(true)
	var ae *svcclient.AttemptsError
	if err := callGet(context.Background(), w); !errors.As(err, &ae) || ae.Attempts != 4 {
		t.Errorf("after the bucket refilled: %v, want 4 attempts", err)
	}
	// Without throttling, every call retries.
	w = echopb.NewEchoWrapper(startBufServer(t, s).conn, zeroJitter, svcclient.WithoutRetryThrottling())
	for range 10 {
		if err := callGet(context.Background(), w); !errors.As(err, &ae) || ae.Attempts != 4 {
			t.Fatalf("without throttling: %v, want 4 attempts", err)
		}
	}
}

// replicas serves two Echo servers over bufconn behind one round-robin
// channel, as two replicas of a service.
func replicas(t *testing.T, a, b echopb.EchoServer) *grpc.ClientConn {
	t.Helper()
	lis := map[string]*bufconn.Listener{}
	for name, impl := range map[string]echopb.EchoServer{"a": a, "b": b} {
		l := bufconn.Listen(1 << 20)
		srv := grpc.NewServer()
		echopb.RegisterEchoServer(srv, impl)
		done := make(chan struct{})
		go func() { srv.Serve(l); close(done) }()
		t.Cleanup(func() { srv.Stop(); <-done })
		lis[name] = l
	}
	r := manual.NewBuilderWithScheme("replicas")
	r.InitialState(resolver.State{Addresses: []resolver.Address{{Addr: "a"}, {Addr: "b"}}})
	conn, err := grpc.NewClient("replicas:///echo",
		grpc.WithResolvers(r),
		grpc.WithDefaultServiceConfig(`{"loadBalancingConfig":[{"round_robin":{}}]}`),
		grpc.WithContextDialer(func(ctx context.Context, addr string) (net.Conn, error) { return lis[addr].DialContext(ctx) }),
		grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	return conn
}

// TestHedging: Lookup is hedged (3 attempts, 50ms apart). With one replica
// that never answers in time and one that answers at once, every call is
// answered in about the hedging delay, each attempt on the slow replica is
// cancelled there (the server sees its context end), the hooks count the
// hedges, and nothing is left running.
func TestHedging(t *testing.T) {
	ignore := goleak.IgnoreCurrent()
	// The servers and connections stop when the subtest ends; then nothing
	// may be left.
	t.Run("calls", testHedging)
	goleak.VerifyNone(t, ignore)
}

func testHedging(t *testing.T) {
	var slowStarted, slowCancelled, fastCalls atomic.Int64
	slow := &scripted{unary: func(ctx context.Context, _ string, _ int, _ *echopb.EchoRequest) (*echopb.EchoResponse, error) {
		slowStarted.Add(1)
		select {
		case <-ctx.Done():
			slowCancelled.Add(1)
			return nil, ctx.Err()
		case <-time.After(10 * time.Second):
			return &echopb.EchoResponse{Message: "slow"}, nil
		}
	}}
	fast := &scripted{unary: func(_ context.Context, _ string, _ int, in *echopb.EchoRequest) (*echopb.EchoResponse, error) {
		fastCalls.Add(1)
		return &echopb.EchoResponse{Message: "fast"}, nil
	}}
	conn := replicas(t, slow, fast)
	var hedges atomic.Int64
	w := echopb.NewEchoWrapper(conn, svcclient.WithHook(func(e svcclient.RetryEvent) {
		if e.Hedge && e.Err == nil {
			hedges.Add(1)
		}
	}))
	// At least 20 calls, and more while no attempt has reached the slow
	// replica: round robin picks among the connections that are ready, and
	// on a loaded machine the second may connect only after the first
	// calls.
	calls := 0
	for begin := time.Now(); calls < 20 || (slowStarted.Load() == 0 && time.Since(begin) < 10*time.Second); calls++ {
		i := calls
		start := time.Now()
		resp, err := w.Lookup(context.Background(), &echopb.EchoRequest{Message: "x"})
		if err != nil || resp.GetMessage() != "fast" {
			t.Fatalf("call %d: %v, %v; want the fast replica's answer", i+1, resp, err)
		}
		if d := time.Since(start); d > 3*time.Second {
			t.Errorf("call %d took %v: the slow replica was not overtaken", i+1, d)
		}
	}
	// The server learns of a cancellation asynchronously.
	for deadline := time.Now().Add(5 * time.Second); slowCancelled.Load() < slowStarted.Load() && time.Now().Before(deadline); {
		time.Sleep(5 * time.Millisecond)
	}
	t.Logf("%d calls: %d attempts on the slow replica, %d cancelled there; %d on the fast one; %d hedges", calls, slowStarted.Load(), slowCancelled.Load(), fastCalls.Load(), hedges.Load())
	if slowStarted.Load() == 0 {
		t.Fatal("no attempt reached the slow replica: round robin did not spread the calls")
	}
	if slowCancelled.Load() != slowStarted.Load() {
		t.Errorf("%d attempts on the slow replica, %d cancelled: losers must be cancelled", slowStarted.Load(), slowCancelled.Load())
	}
	if hedges.Load() < slowStarted.Load() || fastCalls.Load() > int64(calls)+hedges.Load() {
		t.Errorf("%d hedges announced for %d slow attempts, %d fast answers", hedges.Load(), slowStarted.Load(), fastCalls.Load())
	}

	// A hedged call whose attempts all fail with a non-fatal code: every
	// attempt is sent, and the error counts them.
	down := &scripted{unary: failing(codes.Unavailable)}
	w = echopb.NewEchoWrapper(replicas(t, down, down), svcclient.WithoutRetryThrottling())
	_, err := w.Lookup(context.Background(), &echopb.EchoRequest{})
	var ae *svcclient.AttemptsError
	if !errors.As(err, &ae) || ae.Attempts != 3 || status.Code(err) != codes.Unavailable {
		t.Errorf("hedged call failing everywhere: %v; want Unavailable after 3 attempts", err)
	}
	// CallNoRetry turns hedging off for a call.
	_, err = w.Lookup(context.Background(), &echopb.EchoRequest{}, svcclient.CallNoRetry())
	if status.Code(err) != codes.Unavailable || errors.As(err, &ae) {
		t.Errorf("hedged method with CallNoRetry: %v (%T), want grpc's error of a single attempt", err, err)
	}
}

// TestReadyWait: while no server can be reached, a retryable call waits for
// one until its deadline and gets DeadlineExceeded then; a retryable call
// without any deadline waits at most the ready wait and gets Unavailable; a
// call that is not retried fails at once with Unavailable.
func TestReadyWait(t *testing.T) {
	var dials atomic.Int64
	conn, err := grpc.NewClient("passthrough:///nowhere",
		grpc.WithContextDialer(func(context.Context, string) (net.Conn, error) {
			dials.Add(1)
			return nil, errors.New("no server here")
		}),
		grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	w := echopb.NewEchoWrapper(conn, svcclient.WithReadyWait(300*time.Millisecond))

	check := func(name string, call func() error, code codes.Code, msg string, min, max time.Duration) {
		t.Helper()
		start := time.Now()
		err := call()
		d := time.Since(start)
		if status.Code(err) != code || !strings.Contains(err.Error(), msg) || d < min || d > max {
			t.Errorf("%s: %v after %v; want %v mentioning %q after %v to %v", name, err, d, code, msg, min, max)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 400*time.Millisecond)
	defer cancel()
	check("Get with a 400ms deadline", func() error { return callGet(ctx, w) },
		codes.DeadlineExceeded, "no server here", 400*time.Millisecond, 1500*time.Millisecond)
	check("Get without any deadline", func() error { return callGet(context.Background(), w, svcclient.CallTimeout(0)) },
		codes.Unavailable, "no connection became ready within 300ms", 300*time.Millisecond, 1500*time.Millisecond)
	check("Listen without any deadline", func() error {
		st, err := w.Listen(context.Background(), &echopb.EchoRequest{}, svcclient.CallTimeout(0))
		if err != nil {
			return err
		}
		_, err = st.Recv()
		return err
	}, codes.Unavailable, "no connection became ready within 300ms", 300*time.Millisecond, 1500*time.Millisecond)
	check("Post (not retried)", func() error { _, err := w.Post(context.Background(), &echopb.EchoRequest{}); return err },
		codes.Unavailable, "no server here", 0, time.Second)
}

// TestListAllPages: ListBooksAll follows next_page_token over every page,
// page by page, and leaves the request alone.
func TestListAllPages(t *testing.T) {
	c := echopb.StartLibraryForTest(t, echopb.NewInMemoryLibrarySkeleton())
	ctx := libCtx(t)
	var seed []*echopb.Book
	for i := range 25 {
		seed = append(seed, libBook(i))
	}
	if _, err := libImport(ctx, c, seed); err != nil {
		t.Fatal(err)
	}
	req := &echopb.ListBooksRequest{PageSize: 7}
	var names []string
	for b, err := range c.ListBooksAll(ctx, req) {
		if err != nil {
			t.Fatal(err)
		}
		names = append(names, b.GetName())
	}
	if len(names) != 25 || names[0] != libBookKey(0) || names[24] != libBookKey(24) || req.GetPageToken() != "" {
		t.Errorf("ListBooksAll yielded %v (request now %v); want the 25 books in order and the request unchanged", names, req)
	}
	// Breaking out early stops asking.
	n := 0
	for range c.ListBooksAll(ctx, req) {
		if n++; n == 3 {
			break
		}
	}
	if n != 3 {
		t.Errorf("broke out after %d books", n)
	}
}
