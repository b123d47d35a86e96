package svctest

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"go.uber.org/goleak"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/testing/protocmp"

	"github.com/svcgen/protoc-gen-svc/internal/svctest/echopb"
	"github.com/svcgen/protoc-gen-svc/svcclient"
)

// The generated wrapper is a drop-in replacement for the generated client.
var _ echopb.EchoClient = (*echopb.EchoWrapper)(nil)

var cmpProto = protocmp.Transform()

// deadlineTolerance is how far the deadline a server sees may stray from the
// one the test expects, on top of the duration of the call itself.
const deadlineTolerance = 100 * time.Millisecond

// zeroJitter makes every computed backoff 0, so retries are immediate.
var zeroJitter = svcclient.WithRand(func() float64 { return 0 })

// slowGetBackoff gives Get a 10s backoff bound, so that with
// svcclient.WithRand(func() float64 { return 0.99 }) every retry waits 9.9s:
// far longer than any test runs.
var slowGetBackoff = svcclient.WithMethodPolicy(echopb.Echo_Get_FullMethodName, func(p *svcclient.MethodPolicy) {
	p.Retry.InitialBackoff = 10 * time.Second
	p.Retry.MaxBackoff = 10 * time.Second
})

var nearOneJitter = svcclient.WithRand(func() float64 { return 0.99 })

// newWrapper serves s over bufconn and returns the generated wrapper over a
// connection to it.
func newWrapper(t *testing.T, s *scripted, opts ...svcclient.Option) *echopb.EchoWrapper {
	t.Helper()
	// Throttling off: these tests fail many calls on one wrapper on purpose.
	// TestThrottling tests it.
	return echopb.NewEchoWrapper(startBufServer(t, s).conn, append([]svcclient.Option{svcclient.WithoutRetryThrottling()}, opts...)...)
}

// attemptError is the error attempt n of method fails with: code, a message
// naming the attempt, and a detail naming it too, so that a test can tell
// which attempt's error reached the caller and that it arrived unchanged.
func attemptError(code codes.Code, method string, n int) error {
	st, err := status.New(code, fmt.Sprintf("%s attempt %d failed", method, n)).
		WithDetails(&errdetails.ErrorInfo{Reason: fmt.Sprintf("ATTEMPT_%d", n), Domain: "svctest"})
	if err != nil {
		panic(err)
	}
	return st.Err()
}

// failing returns a unary script that fails every attempt with code.
func failing(code codes.Code) func(context.Context, string, int, *echopb.EchoRequest) (*echopb.EchoResponse, error) {
	return func(_ context.Context, method string, n int, _ *echopb.EchoRequest) (*echopb.EchoResponse, error) {
		return nil, attemptError(code, method, n)
	}
}

// wantAttemptError checks that err is exactly attemptError(code, method, n)
// as it crossed the wire.
func wantAttemptError(t *testing.T, err error, code codes.Code, method string, n int) {
	t.Helper()
	want := status.Convert(attemptError(code, method, n)).Proto()
	got, ok := status.FromError(err)
	if !ok {
		t.Errorf("error %v (%T) is not a status error", err, err)
		return
	}
	if diff := cmp.Diff(want, got.Proto(), cmpProto); diff != "" {
		t.Errorf("error = %v; want the error of attempt %d unchanged (-want +got):\n%s", err, n, diff)
	}
}

func wantStatusCode(t *testing.T, err error, code codes.Code) {
	t.Helper()
	if _, ok := status.FromError(err); !ok || status.Code(err) != code {
		t.Errorf("error = %v (%T), want a status error with code %v", err, err, code)
	}
}

func wantAttempts(t *testing.T, s *scripted, method string, want int) {
	t.Helper()
	if got := s.count(method); got != want {
		t.Errorf("server saw %d attempts of %s, want %d", got, method, want)
	}
}

// wantDeadline checks the deadline the server saw for an attempt of a call
// that started at start and ended at end: start+want within tolerance, or no
// deadline at all when want is 0.
func wantDeadline(t *testing.T, a attempt, start, end time.Time, want time.Duration) {
	t.Helper()
	if want == 0 {
		if a.hasDeadline {
			t.Errorf("server saw deadline start+%v, want none", a.deadline.Sub(start))
		}
		return
	}
	if !a.hasDeadline {
		t.Errorf("server saw no deadline, want start+%v", want)
		return
	}
	lo, hi := start.Add(want-deadlineTolerance), end.Add(want+deadlineTolerance)
	if a.deadline.Before(lo) || a.deadline.After(hi) {
		t.Errorf("server saw deadline start+%v, want start+%v (call took %v, tolerance %v)",
			a.deadline.Sub(start), want, end.Sub(start), deadlineTolerance)
	}
}

func last(as []attempt) attempt {
	if len(as) == 0 {
		return attempt{}
	}
	return as[len(as)-1]
}

// waitFor receives from ch or fails the test after a generous timeout.
func waitFor[T any](t *testing.T, ch <-chan T, what string) T {
	t.Helper()
	select {
	case v := <-ch:
		return v
	case <-time.After(10 * time.Second):
		t.Fatalf("timed out waiting for %s", what)
		panic("unreachable")
	}
}

// Calls of every kind, shaped alike for table tests. Each runs the call to
// its end.
type callFunc func(ctx context.Context, w *echopb.EchoWrapper, opts ...grpc.CallOption) error

func callGet(ctx context.Context, w *echopb.EchoWrapper, opts ...grpc.CallOption) error {
	_, err := w.Get(ctx, &echopb.EchoRequest{Message: "get"}, opts...)
	return err
}

func callPut(ctx context.Context, w *echopb.EchoWrapper, opts ...grpc.CallOption) error {
	_, err := w.Put(ctx, &echopb.EchoRequest{Message: "put"}, opts...)
	return err
}

func callListen(ctx context.Context, w *echopb.EchoWrapper, opts ...grpc.CallOption) error {
	st, err := w.Listen(ctx, &echopb.EchoRequest{Message: "listen", Repeat: 2}, opts...)
	if err != nil {
		return err
	}
	for {
		if _, err := st.Recv(); err == io.EOF {
			return nil
		} else if err != nil {
			return err
		}
	}
}

func callListenSeq(ctx context.Context, w *echopb.EchoWrapper, opts ...grpc.CallOption) error {
	for _, err := range w.ListenSeq(ctx, &echopb.EchoRequest{Message: "listen", Repeat: 2}, opts...) {
		if err != nil {
			return err
		}
	}
	return nil
}

func callCollect(ctx context.Context, w *echopb.EchoWrapper, opts ...grpc.CallOption) error {
	st, err := w.Collect(ctx, opts...)
	if err != nil {
		return err
	}
	if err := st.Send(&echopb.EchoRequest{Message: "collect"}); err != nil {
		return err
	}
	_, err = st.CloseAndRecv()
	return err
}

func callChat(ctx context.Context, w *echopb.EchoWrapper, opts ...grpc.CallOption) error {
	st, err := w.Chat(ctx, opts...)
	if err != nil {
		return err
	}
	if err := st.Send(&echopb.EchoRequest{Message: "chat"}); err != nil {
		return err
	}
	if _, err := st.Recv(); err != nil {
		return err
	}
	if err := st.CloseSend(); err != nil {
		return err
	}
	if _, err := st.Recv(); err != io.EOF {
		return fmt.Errorf("chat end: %w", err)
	}
	return nil
}

// TestWrapperIsDropIn uses the wrapper through the EchoClient interface, for
// every RPC kind, against a server that answers normally.
func TestWrapperIsDropIn(t *testing.T) {
	s := &scripted{}
	conn := startBufServer(t, s).conn
	var client echopb.EchoClient = echopb.NewEchoWrapper(conn)
	ctx := context.Background()

	if resp, err := client.Get(ctx, &echopb.EchoRequest{Message: "get"}); err != nil || resp.GetMessage() != "get" {
		t.Errorf("Get = %v, %v", resp, err)
	}
	if resp, err := client.Post(ctx, &echopb.EchoRequest{Message: "post"}); err != nil || resp.GetMessage() != "post" {
		t.Errorf("Post = %v, %v", resp, err)
	}
	if resp, err := client.Put(ctx, &echopb.EchoRequest{Message: "put"}); err != nil || resp.GetMessage() != "put" {
		t.Errorf("Put = %v, %v", resp, err)
	}

	listen, err := client.Listen(ctx, &echopb.EchoRequest{Message: "listen", Repeat: 3})
	if err != nil {
		t.Fatal(err)
	}
	var idx []int32
	for {
		m, err := listen.Recv()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("Listen.Recv: %v", err)
		}
		idx = append(idx, m.GetIndex())
	}
	if !cmp.Equal(idx, []int32{0, 1, 2}) {
		t.Errorf("Listen received %v, want [0 1 2]", idx)
	}

	collect, err := client.Collect(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range []string{"a", "b", "c"} {
		if err := collect.Send(&echopb.EchoRequest{Message: m}); err != nil {
			t.Fatal(err)
		}
	}
	if resp, err := collect.CloseAndRecv(); err != nil || resp.GetIndex() != 3 || resp.GetMessage() != "c" {
		t.Errorf("Collect = %v, %v; want 3 messages, the last c", resp, err)
	}

	chat, err := client.Chat(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for i, m := range []string{"x", "y"} {
		if err := chat.Send(&echopb.EchoRequest{Message: m}); err != nil {
			t.Fatal(err)
		}
		if resp, err := chat.Recv(); err != nil || resp.GetMessage() != m || resp.GetIndex() != int32(i) {
			t.Errorf("Chat answer %d = %v, %v", i, resp, err)
		}
	}
	if err := chat.CloseSend(); err != nil {
		t.Fatal(err)
	}
	if _, err := chat.Recv(); err != io.EOF {
		t.Errorf("Chat end = %v, want io.EOF", err)
	}

	// The iterator form.
	idx = nil
	for m, err := range echopb.NewEchoWrapper(conn).ListenSeq(ctx, &echopb.EchoRequest{Repeat: 2}) {
		if err != nil {
			t.Fatalf("ListenSeq: %v", err)
		}
		idx = append(idx, m.GetIndex())
	}
	if !cmp.Equal(idx, []int32{0, 1}) {
		t.Errorf("ListenSeq yielded %v, want [0 1]", idx)
	}
}

// TestDeadline checks the deadline the server sees: min(caller's deadline,
// now + the method's default), where svcclient.CallTimeout replaces the
// default for one call and never extends the caller's deadline.
func TestDeadline(t *testing.T) {
	s := &scripted{}
	w := newWrapper(t, s)
	for _, tc := range []struct {
		name   string
		method string
		call   callFunc
		caller time.Duration // the caller's own timeout; 0: none
		opts   []grpc.CallOption
		want   time.Duration // the deadline the server sees, from the start; 0: none
	}{
		{"Get/no caller deadline", echopb.Echo_Get_FullMethodName, callGet, 0, nil, 5 * time.Second},
		{"Put/no caller deadline", echopb.Echo_Put_FullMethodName, callPut, 0, nil, 800 * time.Millisecond},
		{"Get/caller shorter", echopb.Echo_Get_FullMethodName, callGet, time.Second, nil, time.Second},
		{"Put/caller shorter", echopb.Echo_Put_FullMethodName, callPut, 400 * time.Millisecond, nil, 400 * time.Millisecond},
		{"Get/caller longer", echopb.Echo_Get_FullMethodName, callGet, 30 * time.Second, nil, 5 * time.Second},
		{"Put/caller longer", echopb.Echo_Put_FullMethodName, callPut, 3 * time.Second, nil, 800 * time.Millisecond},
		{"Get/CallTimeout shorter than default", echopb.Echo_Get_FullMethodName, callGet, 0, []grpc.CallOption{svcclient.CallTimeout(2 * time.Second)}, 2 * time.Second},
		{"Get/CallTimeout longer than default", echopb.Echo_Get_FullMethodName, callGet, 0, []grpc.CallOption{svcclient.CallTimeout(10 * time.Second)}, 10 * time.Second},
		{"Put/CallTimeout longer than default", echopb.Echo_Put_FullMethodName, callPut, 0, []grpc.CallOption{svcclient.CallTimeout(2 * time.Second)}, 2 * time.Second},
		{"Put/CallTimeout shorter than caller", echopb.Echo_Put_FullMethodName, callPut, 3 * time.Second, []grpc.CallOption{svcclient.CallTimeout(300 * time.Millisecond)}, 300 * time.Millisecond},
		{"Get/CallTimeout never extends caller", echopb.Echo_Get_FullMethodName, callGet, time.Second, []grpc.CallOption{svcclient.CallTimeout(10 * time.Second)}, time.Second},
		{"Put/CallTimeout never extends caller", echopb.Echo_Put_FullMethodName, callPut, 500 * time.Millisecond, []grpc.CallOption{svcclient.CallTimeout(2 * time.Second)}, 500 * time.Millisecond},
		{"Get/CallTimeout(0) means no default", echopb.Echo_Get_FullMethodName, callGet, 0, []grpc.CallOption{svcclient.CallTimeout(0)}, 0},
		{"Get/CallTimeout(0) keeps caller", echopb.Echo_Get_FullMethodName, callGet, 2 * time.Second, []grpc.CallOption{svcclient.CallTimeout(0)}, 2 * time.Second},
		{"Listen/no caller deadline", echopb.Echo_Listen_FullMethodName, callListen, 0, nil, 5 * time.Second},
		{"Listen/caller shorter", echopb.Echo_Listen_FullMethodName, callListen, time.Second, nil, time.Second},
		{"Listen/CallTimeout", echopb.Echo_Listen_FullMethodName, callListen, 0, []grpc.CallOption{svcclient.CallTimeout(2 * time.Second)}, 2 * time.Second},
		{"ListenSeq/no caller deadline", echopb.Echo_Listen_FullMethodName, callListenSeq, 0, nil, 5 * time.Second},
		{"ListenSeq/caller shorter", echopb.Echo_Listen_FullMethodName, callListenSeq, time.Second, nil, time.Second},
		{"Collect/no caller deadline", echopb.Echo_Collect_FullMethodName, callCollect, 0, nil, 5 * time.Second},
		{"Collect/caller shorter", echopb.Echo_Collect_FullMethodName, callCollect, time.Second, nil, time.Second},
		{"Chat/no caller deadline", echopb.Echo_Chat_FullMethodName, callChat, 0, nil, 5 * time.Second},
		{"Chat/CallTimeout never extends caller", echopb.Echo_Chat_FullMethodName, callChat, time.Second, []grpc.CallOption{svcclient.CallTimeout(10 * time.Second)}, time.Second},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := s.count(tc.method)
			start := time.Now()
			ctx := context.Background()
			if tc.caller > 0 {
				var cancel context.CancelFunc
				ctx, cancel = context.WithTimeout(ctx, tc.caller)
				defer cancel()
			}
			if err := tc.call(ctx, w, tc.opts...); err != nil {
				t.Fatal(err)
			}
			end := time.Now()
			wantAttempts(t, s, tc.method, before+1)
			wantDeadline(t, last(s.seen(tc.method)), start, end, tc.want)
		})
	}
}

// TestRetriesExhaustedReturnLastError: a retryable failure on every attempt
// gives exactly MaxAttempts attempts and the last attempt's error, unchanged.
func TestRetriesExhaustedReturnLastError(t *testing.T) {
	for _, tc := range []struct {
		method string
		call   callFunc
		want   int
	}{
		{echopb.Echo_Put_FullMethodName, callPut, 3}, // the schema's max_attempts
		{echopb.Echo_Get_FullMethodName, callGet, 4}, // the plugin's default
	} {
		t.Run(tc.method, func(t *testing.T) {
			s := &scripted{unary: failing(codes.Unavailable)}
			w := newWrapper(t, s, zeroJitter)
			err := tc.call(context.Background(), w)
			wantAttempts(t, s, tc.method, tc.want)
			wantAttemptError(t, err, codes.Unavailable, tc.method, tc.want)
		})
	}
}

// TestNotRetried: codes outside RetryableCodes, and methods that are not
// idempotent, give exactly one attempt and its error unchanged.
func TestNotRetried(t *testing.T) {
	for _, tc := range []struct {
		name   string
		method string
		code   codes.Code
		call   callFunc
	}{
		{"Get/INVALID_ARGUMENT", echopb.Echo_Get_FullMethodName, codes.InvalidArgument, callGet},
		{"Get/NOT_FOUND", echopb.Echo_Get_FullMethodName, codes.NotFound, callGet},
		{"Put/INTERNAL", echopb.Echo_Put_FullMethodName, codes.Internal, callPut},
		{"Post/UNAVAILABLE", echopb.Echo_Post_FullMethodName, codes.Unavailable, func(ctx context.Context, w *echopb.EchoWrapper, opts ...grpc.CallOption) error {
			_, err := w.Post(ctx, &echopb.EchoRequest{}, opts...)
			return err
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := &scripted{unary: failing(tc.code)}
			// Zero jitter: a wrongful retry would be immediate, and counted.
			w := newWrapper(t, s, zeroJitter)
			err := tc.call(context.Background(), w)
			wantAttempts(t, s, tc.method, 1)
			wantAttemptError(t, err, tc.code, tc.method, 1)
		})
	}
}

// TestDeadlineShorterThanBackoff: when the caller's deadline expires during
// the wait before a retry, the call returns at the deadline, not after the
// wait, with DeadlineExceeded, and starts no further attempt.
func TestDeadlineShorterThanBackoff(t *testing.T) {
	s := &scripted{unary: failing(codes.Unavailable)}
	var delays []time.Duration
	w := newWrapper(t, s, slowGetBackoff, nearOneJitter, svcclient.WithHook(func(ev svcclient.RetryEvent) {
		delays = append(delays, ev.Delay) // the hook runs on the calling goroutine
	}))
	const timeout = 300 * time.Millisecond
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	start := time.Now()
	err := callGet(ctx, w)
	elapsed := time.Since(start)

	wantStatusCode(t, err, codes.DeadlineExceeded)
	wantAttempts(t, s, echopb.Echo_Get_FullMethodName, 1)
	if want := []time.Duration{9900 * time.Millisecond}; !cmp.Equal(delays, want) {
		t.Errorf("retry delays = %v, want %v: the call should have been waiting", delays, want)
	}
	if elapsed > timeout+time.Second {
		t.Errorf("call returned after %v, want about %v (the caller's deadline)", elapsed, timeout)
	}
}

// TestCancelDuringBackoff: cancelling the caller's context during the wait
// before a retry ends the call promptly with Canceled and no further attempt.
func TestCancelDuringBackoff(t *testing.T) {
	s := &scripted{unary: failing(codes.Unavailable)}
	w := newWrapper(t, s, slowGetBackoff, nearOneJitter)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	inBackoff := make(chan struct{}, 1)
	done := make(chan error, 1)
	go func() {
		done <- callGet(ctx, w, svcclient.CallHook(func(svcclient.RetryEvent) { inBackoff <- struct{}{} }))
	}()
	waitFor(t, inBackoff, "the first retry")
	cancel()
	start := time.Now()
	err := waitFor(t, done, "the cancelled call")
	if elapsed := time.Since(start); elapsed > time.Second {
		t.Errorf("call returned %v after cancel, want promptly", elapsed)
	}
	wantStatusCode(t, err, codes.Canceled)
	wantAttempts(t, s, echopb.Echo_Get_FullMethodName, 1)
}

// TestRetryTags: the first attempt carries no svc-retry-attempt metadata,
// retries carry the number of previous attempts.
func TestRetryTags(t *testing.T) {
	s := &scripted{unary: failing(codes.Unavailable)}
	w := newWrapper(t, s, zeroJitter)
	if err := callPut(context.Background(), w); status.Code(err) != codes.Unavailable {
		t.Fatalf("Put = %v, want Unavailable", err)
	}
	var tags [][]string
	for _, a := range s.seen(echopb.Echo_Put_FullMethodName) {
		tags = append(tags, a.retryTag)
	}
	if want := [][]string{nil, {"1"}, {"2"}}; !cmp.Equal(tags, want) {
		t.Errorf("%s per attempt = %q, want %q", svcclient.RetryAttemptKey, tags, want)
	}
}

// TestPushback: a valid grpc-retry-pushback-ms trailer sets the wait before
// the retry; a malformed or negative one stops retrying.
func TestPushback(t *testing.T) {
	const key = "grpc-retry-pushback-ms"
	for _, tc := range []struct {
		name     string
		pushback []string
		attempts int
		delay    time.Duration // the wait the hook reports and the server observes
	}{
		{"valid", []string{"150"}, 2, 150 * time.Millisecond},
		{"zero", []string{"0"}, 2, 0},
		{"negative", []string{"-1"}, 1, 0},
		{"garbage", []string{"soon"}, 1, 0},
		{"fractional", []string{"1.5"}, 1, 0},
		{"empty", []string{""}, 1, 0},
		{"two values", []string{"10", "20"}, 1, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := &scripted{unary: func(ctx context.Context, method string, n int, in *echopb.EchoRequest) (*echopb.EchoResponse, error) {
				if n == 1 {
					if err := grpc.SetTrailer(ctx, metadata.MD{key: tc.pushback}); err != nil {
						return nil, err
					}
					return nil, attemptError(codes.Unavailable, method, n)
				}
				return &echopb.EchoResponse{Message: in.GetMessage()}, nil
			}}
			var delays []time.Duration
			// Zero jitter: without a pushback the retry would be immediate.
			w := newWrapper(t, s, zeroJitter, svcclient.WithHook(func(ev svcclient.RetryEvent) { delays = append(delays, ev.Delay) }))
			err := callGet(context.Background(), w)
			wantAttempts(t, s, echopb.Echo_Get_FullMethodName, tc.attempts)
			if tc.attempts == 1 {
				wantAttemptError(t, err, codes.Unavailable, echopb.Echo_Get_FullMethodName, 1)
				if len(delays) != 0 {
					t.Errorf("hook saw retries with delays %v, want none", delays)
				}
				return
			}
			if err != nil {
				t.Fatalf("Get = %v, want success on the retry", err)
			}
			if want := []time.Duration{tc.delay}; !cmp.Equal(delays, want) {
				t.Errorf("retry delays = %v, want %v", delays, want)
			}
			as := s.seen(echopb.Echo_Get_FullMethodName)
			if gap := as[1].start.Sub(as[0].start); gap < tc.delay {
				t.Errorf("the retry started %v after the first attempt, want at least the pushback %v", gap, tc.delay)
			}
		})
	}
}

// TestRetryHooks: the wrapper's hook (svcclient.WithHook) and the call's hook
// (svcclient.CallHook), in that order, see every retry with the attempt
// that failed, its error and the wait that follows.
func TestRetryHooks(t *testing.T) {
	s := &scripted{unary: failing(codes.Unavailable)}
	type seen struct {
		hook string
		ev   svcclient.RetryEvent
	}
	var got []seen
	w := newWrapper(t, s,
		svcclient.WithRand(func() float64 { return 0.5 }),
		svcclient.WithHook(func(ev svcclient.RetryEvent) { got = append(got, seen{"wrapper", ev}) }))
	err := callPut(context.Background(), w, svcclient.CallHook(func(ev svcclient.RetryEvent) { got = append(got, seen{"call", ev}) }))
	wantAttemptError(t, err, codes.Unavailable, echopb.Echo_Put_FullMethodName, 3)

	// Put: backoff bounds 1ms then 2ms, times the jitter 0.5.
	ev := func(n int, delay time.Duration) svcclient.RetryEvent {
		return svcclient.RetryEvent{FullMethod: echopb.Echo_Put_FullMethodName, Attempt: n, Err: attemptError(codes.Unavailable, echopb.Echo_Put_FullMethodName, n), Delay: delay}
	}
	e1, e2 := ev(1, 500*time.Microsecond), ev(2, time.Millisecond)
	want := []seen{{"wrapper", e1}, {"call", e1}, {"wrapper", e2}, {"call", e2}}
	sameErr := cmp.Comparer(func(a, b error) bool {
		return cmp.Equal(status.Convert(a).Proto(), status.Convert(b).Proto(), cmpProto)
	})
	if diff := cmp.Diff(want, got, cmp.AllowUnexported(seen{}), sameErr, cmpopts.IgnoreFields(svcclient.RetryEvent{}, "Context")); diff != "" {
		t.Errorf("hooks saw (-want +got):\n%s", diff)
	}
	for _, s := range got {
		if _, ok := s.ev.Context.Deadline(); !ok {
			t.Errorf("%s hook, attempt %d: the event's context is not the call's (no deadline)", s.hook, s.ev.Attempt)
		}
	}

	// The call's hook belongs to that call only.
	got = nil
	_ = callPut(context.Background(), w)
	if len(got) != 2 || got[0].hook != "wrapper" || got[1].hook != "wrapper" {
		t.Errorf("a call without CallHook: hooks saw %+v, want the wrapper's hook twice", got)
	}
}

// TestListenRetry: a server stream is retried only before its first message
// reached the caller, through the stream and through the iterator.
func TestListenRetry(t *testing.T) {
	// brokenAfter2 sends two messages, then fails with UNAVAILABLE.
	brokenAfter2 := func(n int, _ *echopb.EchoRequest, stream grpc.ServerStreamingServer[echopb.EchoResponse]) error {
		if err := sendN(stream, "m", 2); err != nil {
			return err
		}
		return attemptError(codes.Unavailable, echopb.Echo_Listen_FullMethodName, n)
	}
	// failsFirst fails the first attempt before any message, then sends three.
	failsFirst := func(n int, _ *echopb.EchoRequest, stream grpc.ServerStreamingServer[echopb.EchoResponse]) error {
		if n == 1 {
			return attemptError(codes.Unavailable, echopb.Echo_Listen_FullMethodName, n)
		}
		return sendN(stream, "m", 3)
	}
	// drain reads a stream to its end: the indexes received and the final error.
	drain := func(st grpc.ServerStreamingClient[echopb.EchoResponse]) ([]int32, error) {
		var idx []int32
		for {
			m, err := st.Recv()
			if err == io.EOF {
				return idx, nil
			}
			if err != nil {
				return idx, err
			}
			idx = append(idx, m.GetIndex())
		}
	}
	// collect ranges over a sequence: the indexes yielded and the errors.
	collect := func(seq func(func(*echopb.EchoResponse, error) bool)) ([]int32, []error) {
		var idx []int32
		var errs []error
		for m, err := range seq {
			if err != nil {
				errs = append(errs, err)
				continue
			}
			idx = append(idx, m.GetIndex())
		}
		return idx, errs
	}
	req := &echopb.EchoRequest{Message: "listen"}

	t.Run("stream/failure after messages is not retried", func(t *testing.T) {
		s := &scripted{listen: brokenAfter2}
		w := newWrapper(t, s, zeroJitter)
		st, err := w.Listen(context.Background(), req)
		if err != nil {
			t.Fatal(err)
		}
		idx, err := drain(st)
		if !cmp.Equal(idx, []int32{0, 1}) {
			t.Errorf("received %v, want [0 1]", idx)
		}
		wantAttemptError(t, err, codes.Unavailable, echopb.Echo_Listen_FullMethodName, 1)
		wantAttempts(t, s, echopb.Echo_Listen_FullMethodName, 1)
		if _, err2 := st.Recv(); status.Code(err2) != codes.Unavailable {
			t.Errorf("Recv after the end = %v, want the same error again", err2)
		}
	})

	t.Run("stream/failure before first message is retried", func(t *testing.T) {
		s := &scripted{listen: failsFirst}
		w := newWrapper(t, s, zeroJitter)
		st, err := w.Listen(context.Background(), req)
		if err != nil {
			t.Fatal(err)
		}
		idx, err := drain(st)
		if err != nil || !cmp.Equal(idx, []int32{0, 1, 2}) {
			t.Errorf("received %v, then %v; want [0 1 2], then io.EOF", idx, err)
		}
		wantAttempts(t, s, echopb.Echo_Listen_FullMethodName, 2)
		if tag := s.seen(echopb.Echo_Listen_FullMethodName)[1].retryTag; !cmp.Equal(tag, []string{"1"}) {
			t.Errorf("the retry's %s = %q, want [1]", svcclient.RetryAttemptKey, tag)
		}
	})

	t.Run("stream/retries exhausted", func(t *testing.T) {
		s := &scripted{listen: func(n int, _ *echopb.EchoRequest, _ grpc.ServerStreamingServer[echopb.EchoResponse]) error {
			return attemptError(codes.Unavailable, echopb.Echo_Listen_FullMethodName, n)
		}}
		w := newWrapper(t, s, zeroJitter)
		st, err := w.Listen(context.Background(), req)
		if err != nil {
			t.Fatal(err)
		}
		idx, err := drain(st)
		if len(idx) != 0 {
			t.Errorf("received %v, want nothing", idx)
		}
		wantAttemptError(t, err, codes.Unavailable, echopb.Echo_Listen_FullMethodName, 4)
		wantAttempts(t, s, echopb.Echo_Listen_FullMethodName, 4)
	})

	t.Run("seq/failure after messages is not retried", func(t *testing.T) {
		s := &scripted{listen: brokenAfter2}
		w := newWrapper(t, s, zeroJitter)
		idx, errs := collect(w.ListenSeq(context.Background(), req))
		if !cmp.Equal(idx, []int32{0, 1}) {
			t.Errorf("yielded %v, want [0 1]", idx)
		}
		if len(errs) != 1 {
			t.Fatalf("yielded errors %v, want exactly one", errs)
		}
		wantAttemptError(t, errs[0], codes.Unavailable, echopb.Echo_Listen_FullMethodName, 1)
		wantAttempts(t, s, echopb.Echo_Listen_FullMethodName, 1)
	})

	t.Run("seq/failure before first message is retried", func(t *testing.T) {
		s := &scripted{listen: failsFirst}
		w := newWrapper(t, s, zeroJitter)
		idx, errs := collect(w.ListenSeq(context.Background(), req))
		if len(errs) != 0 || !cmp.Equal(idx, []int32{0, 1, 2}) {
			t.Errorf("yielded %v and errors %v; want [0 1 2] and no error", idx, errs)
		}
		wantAttempts(t, s, echopb.Echo_Listen_FullMethodName, 2)
	})

	t.Run("seq/breaking early ends the call", func(t *testing.T) {
		ended := make(chan error, 1)
		s := &scripted{listen: func(_ int, _ *echopb.EchoRequest, stream grpc.ServerStreamingServer[echopb.EchoResponse]) error {
			if err := sendN(stream, "m", 1); err != nil {
				return err
			}
			<-stream.Context().Done() // a stream that would run for ever
			ended <- stream.Context().Err()
			return stream.Context().Err()
		}}
		w := newWrapper(t, s)
		n := 0
		// A long timeout: only the break can end the call within the test.
		for _, err := range w.ListenSeq(context.Background(), req, svcclient.CallTimeout(time.Minute)) {
			if err != nil {
				t.Fatal(err)
			}
			n++
			break
		}
		if n != 1 {
			t.Fatalf("got %d messages, want 1", n)
		}
		if err := waitFor(t, ended, "the server to see the end of the stream"); err != context.Canceled {
			t.Errorf("server stream ended with %v, want context.Canceled", err)
		}
		wantAttempts(t, s, echopb.Echo_Listen_FullMethodName, 1)
	})
}

// TestClientAndBidiStreamsNeverReplayed: Collect and Chat failing with
// UNAVAILABLE make one attempt, even when options try to give them a retry
// policy, and still get the default deadline.
func TestClientAndBidiStreamsNeverReplayed(t *testing.T) {
	retryAnyway := func(p *svcclient.MethodPolicy) { p.Retry = svcclient.DefaultRetryPolicy() }
	opts := []svcclient.Option{
		zeroJitter,
		svcclient.WithMethodPolicy(echopb.Echo_Collect_FullMethodName, retryAnyway),
		svcclient.WithMethodPolicy(echopb.Echo_Chat_FullMethodName, retryAnyway),
	}
	callOpt := svcclient.CallRetryPolicy(svcclient.DefaultRetryPolicy())

	t.Run("Collect", func(t *testing.T) {
		s := &scripted{collect: func(n int, stream grpc.ClientStreamingServer[echopb.EchoRequest, echopb.EchoResponse]) error {
			for {
				if _, err := stream.Recv(); err != nil {
					break
				}
			}
			return attemptError(codes.Unavailable, echopb.Echo_Collect_FullMethodName, n)
		}}
		w := newWrapper(t, s, opts...)
		start := time.Now()
		err := callCollect(context.Background(), w, callOpt)
		end := time.Now()
		wantAttemptError(t, err, codes.Unavailable, echopb.Echo_Collect_FullMethodName, 1)
		wantAttempts(t, s, echopb.Echo_Collect_FullMethodName, 1)
		wantDeadline(t, last(s.seen(echopb.Echo_Collect_FullMethodName)), start, end, 5*time.Second)
	})

	t.Run("Chat", func(t *testing.T) {
		s := &scripted{chat: func(n int, stream grpc.BidiStreamingServer[echopb.EchoRequest, echopb.EchoResponse]) error {
			if _, err := stream.Recv(); err != nil {
				return err
			}
			return attemptError(codes.Unavailable, echopb.Echo_Chat_FullMethodName, n)
		}}
		w := newWrapper(t, s, opts...)
		start := time.Now()
		err := callChat(context.Background(), w, callOpt)
		end := time.Now()
		wantAttemptError(t, err, codes.Unavailable, echopb.Echo_Chat_FullMethodName, 1)
		wantAttempts(t, s, echopb.Echo_Chat_FullMethodName, 1)
		wantDeadline(t, last(s.seen(echopb.Echo_Chat_FullMethodName)), start, end, 5*time.Second)
	})
}

// countingClock is the real clock, counting the backoff timers it makes and
// the Stop calls that caught them still running.
type countingClock struct{ created, stoppedActive atomic.Int64 }

func (c *countingClock) Now() time.Time { return time.Now() }

func (c *countingClock) NewTimer(d time.Duration) svcclient.Timer {
	c.created.Add(1)
	return countingTimer{time.NewTimer(d), c}
}

type countingTimer struct {
	t *time.Timer
	c *countingClock
}

func (t countingTimer) C() <-chan time.Time { return t.t.C }

func (t countingTimer) Stop() bool {
	active := t.t.Stop()
	if active {
		t.c.stoppedActive.Add(1)
	}
	return active
}

// TestNoLeaksWhenCancelledInBackoff cancels many concurrent calls while they
// wait before a retry: each ends with Canceled, its backoff timer is
// stopped, and no goroutine is left once the connection is closed.
func TestNoLeaksWhenCancelledInBackoff(t *testing.T) {
	ignore := goleak.IgnoreCurrent()
	s := &scripted{unary: failing(codes.Unavailable)}
	b := startBufServer(t, s)
	clock := &countingClock{}
	w := echopb.NewEchoWrapper(b.conn, svcclient.WithoutRetryThrottling(), slowGetBackoff, nearOneJitter, svcclient.WithClock(clock))

	const n = 50
	var inBackoff sync.WaitGroup
	inBackoff.Add(n)
	errs := make(chan error, n)
	cancels := make([]context.CancelFunc, n)
	for i := range n {
		ctx, cancel := context.WithCancel(context.Background())
		cancels[i] = cancel
		go func() {
			errs <- callGet(ctx, w, svcclient.CallHook(func(svcclient.RetryEvent) { inBackoff.Done() }))
		}()
	}
	allWaiting := make(chan struct{})
	go func() { inBackoff.Wait(); close(allWaiting) }()
	waitFor(t, allWaiting, "every call to be in backoff")
	for _, cancel := range cancels {
		cancel()
	}
	for range n {
		wantStatusCode(t, waitFor(t, errs, "a cancelled call"), codes.Canceled)
	}
	wantAttempts(t, s, echopb.Echo_Get_FullMethodName, n)
	if c, st := clock.created.Load(), clock.stoppedActive.Load(); c != n || st != n {
		t.Errorf("backoff timers: %d created, %d stopped while running; want %d and %d", c, st, n, n)
	}
	b.stop()
	goleak.VerifyNone(t, ignore)
}

// TestMethodPoliciesFollowSchema checks the generated table against
// proto/svctest/v1/echo.proto and the plugin's defaults.
func TestMethodPoliciesFollowSchema(t *testing.T) {
	def := svcclient.DefaultRetryPolicy()
	put := svcclient.RetryPolicy{
		MaxAttempts: 3, InitialBackoff: time.Millisecond, MaxBackoff: 5 * time.Millisecond,
		BackoffMultiplier: 2, RetryableCodes: []codes.Code{codes.Unavailable},
	}
	none := svcclient.RetryPolicy{} // stands for any policy that never retries
	public := svcclient.AuthPublic  // the service's; Post and Chat require credentials
	want := []svcclient.MethodPolicy{
		{FullMethod: "/svctest.v1.Echo/Get", Auth: public, Kind: svcclient.Unary, Idempotency: svcclient.NoSideEffects, Timeout: 5 * time.Second, Retry: def},
		{FullMethod: "/svctest.v1.Echo/Post", Kind: svcclient.Unary, Idempotency: svcclient.IdempotencyUnknown, Timeout: 5 * time.Second, Retry: none},
		{FullMethod: "/svctest.v1.Echo/Put", Auth: public, Kind: svcclient.Unary, Idempotency: svcclient.Idempotent, Timeout: 800 * time.Millisecond, Retry: put},
		{FullMethod: "/svctest.v1.Echo/Listen", Auth: public, Kind: svcclient.ServerStreaming, Idempotency: svcclient.NoSideEffects, Timeout: 5 * time.Second, Retry: def},
		{FullMethod: "/svctest.v1.Echo/Collect", Auth: public, Kind: svcclient.ClientStreaming, Timeout: 5 * time.Second, Retry: none},
		{FullMethod: "/svctest.v1.Echo/Chat", Kind: svcclient.BidiStreaming, Timeout: 5 * time.Second, Retry: none},
		{FullMethod: "/svctest.v1.Echo/Panic", Auth: public, Kind: svcclient.Unary, Timeout: 5 * time.Second, Retry: none},
		{FullMethod: "/svctest.v1.Echo/Lookup", Auth: public, Kind: svcclient.Unary, Idempotency: svcclient.NoSideEffects, Timeout: 5 * time.Second, Retry: def,
			Hedging: svcclient.HedgingPolicy{MaxAttempts: 3, Delay: 50 * time.Millisecond, NonFatalCodes: []codes.Code{codes.Unavailable}}},
	}
	got := echopb.EchoMethodPolicies()
	for i := range got {
		if got[i].Retry.MaxAttempts <= 1 {
			got[i].Retry = none
		}
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("EchoMethodPolicies() (-want +got):\n%s", diff)
	}

	// The result is a copy.
	got[0].Retry.RetryableCodes[0] = codes.Internal
	got[0].Timeout = time.Hour
	if again := echopb.EchoMethodPolicies(); again[0].Timeout != 5*time.Second || again[0].Retry.RetryableCodes[0] != codes.Unavailable {
		t.Errorf("changing the result of EchoMethodPolicies changed the table: %+v", again[0])
	}
}

// The service config as the test reads it back (grpc/service_config.proto).
type serviceConfigJSON struct {
	MethodConfig []struct {
		Name []struct {
			Service string `json:"service"`
			Method  string `json:"method"`
		} `json:"name"`
		Timeout     string `json:"timeout"`
		RetryPolicy *struct {
			MaxAttempts          int          `json:"maxAttempts"`
			InitialBackoff       string       `json:"initialBackoff"`
			MaxBackoff           string       `json:"maxBackoff"`
			BackoffMultiplier    float64      `json:"backoffMultiplier"`
			RetryableStatusCodes []codes.Code `json:"retryableStatusCodes"` // codes.Code reads "UNAVAILABLE"
		} `json:"retryPolicy"`
	} `json:"methodConfig"`
}

// TestServiceConfig checks EchoServiceConfig: grpc accepts it, it states
// the policy table, and grpc applies it.
func TestServiceConfig(t *testing.T) {
	sc := echopb.EchoServiceConfig()
	dial := func(t *testing.T, impl echopb.EchoServer) *grpc.ClientConn {
		t.Helper()
		srv := serve(t, impl) // svcserver on loopback
		conn, err := grpc.NewClient(srv.address,
			grpc.WithTransportCredentials(insecure.NewCredentials()),
			grpc.WithDefaultServiceConfig(sc))
		if err != nil {
			t.Fatalf("grpc.NewClient with EchoServiceConfig: %v\n%s", err, sc)
		}
		t.Cleanup(func() { conn.Close() })
		return conn
	}

	t.Run("grpc accepts it and calls work", func(t *testing.T) {
		s := &scripted{}
		conn := dial(t, s)
		w := echopb.NewEchoWrapper(conn, svcclient.WithoutRetries())
		if resp, err := w.Get(context.Background(), &echopb.EchoRequest{Message: "hi"}); err != nil || resp.GetMessage() != "hi" {
			t.Fatalf("Get = %v, %v", resp, err)
		}
		if err := callListenSeq(context.Background(), w); err != nil {
			t.Fatalf("Listen: %v", err)
		}
	})

	t.Run("matches EchoMethodPolicies", func(t *testing.T) {
		var cfg serviceConfigJSON
		if err := json.Unmarshal([]byte(sc), &cfg); err != nil {
			t.Fatalf("EchoServiceConfig is not valid JSON: %v\n%s", err, sc)
		}
		policies := echopb.EchoMethodPolicies()
		if len(cfg.MethodConfig) != len(policies) {
			t.Errorf("%d methodConfig entries, want one per method: %d", len(cfg.MethodConfig), len(policies))
		}
		duration := func(s string) time.Duration {
			t.Helper()
			if !strings.HasSuffix(s, "s") {
				t.Errorf("duration %q does not end with s", s)
			}
			d, err := time.ParseDuration(s) // "0.8s" etc.: also the proto JSON form
			if err != nil {
				t.Errorf("duration %q: %v", s, err)
			}
			return d
		}
		for _, p := range policies {
			service, method, _ := strings.Cut(strings.TrimPrefix(p.FullMethod, "/"), "/")
			found := 0
			for _, mc := range cfg.MethodConfig {
				if len(mc.Name) != 1 {
					t.Errorf("methodConfig with names %+v, want exactly one", mc.Name)
					continue
				}
				if mc.Name[0].Service != service || mc.Name[0].Method != method {
					continue
				}
				found++
				if service != "svctest.v1.Echo" {
					t.Errorf("%s: service %q, want svctest.v1.Echo", p.FullMethod, service)
				}
				if got := duration(mc.Timeout); got != p.Timeout {
					t.Errorf("%s: timeout %q, want %v", p.FullMethod, mc.Timeout, p.Timeout)
				}
				// A hedged method has a hedgingPolicy instead (grpc-go ignores it).
				retried := (p.Kind == svcclient.Unary || p.Kind == svcclient.ServerStreaming) && p.Retry.MaxAttempts > 1 && p.Hedging.MaxAttempts <= 1
				rp := mc.RetryPolicy
				switch {
				case !retried && rp != nil:
					t.Errorf("%s is not retried, but its methodConfig has retryPolicy %+v", p.FullMethod, *rp)
				case retried && rp == nil:
					t.Errorf("%s is retried, but its methodConfig has no retryPolicy", p.FullMethod)
				case retried:
					if want := min(p.Retry.MaxAttempts, svcclient.GRPCMaxAttempts); rp.MaxAttempts != want {
						t.Errorf("%s: maxAttempts %d, want %d", p.FullMethod, rp.MaxAttempts, want)
					}
					if got := duration(rp.InitialBackoff); got != p.Retry.InitialBackoff {
						t.Errorf("%s: initialBackoff %q, want %v", p.FullMethod, rp.InitialBackoff, p.Retry.InitialBackoff)
					}
					if got := duration(rp.MaxBackoff); got != p.Retry.MaxBackoff {
						t.Errorf("%s: maxBackoff %q, want %v", p.FullMethod, rp.MaxBackoff, p.Retry.MaxBackoff)
					}
					if rp.BackoffMultiplier != p.Retry.BackoffMultiplier {
						t.Errorf("%s: backoffMultiplier %v, want %v", p.FullMethod, rp.BackoffMultiplier, p.Retry.BackoffMultiplier)
					}
					if !cmp.Equal(rp.RetryableStatusCodes, p.Retry.RetryableCodes) {
						t.Errorf("%s: retryableStatusCodes %v, want %v", p.FullMethod, rp.RetryableStatusCodes, p.Retry.RetryableCodes)
					}
				}
			}
			if found != 1 {
				t.Errorf("%s: %d methodConfig entries, want 1", p.FullMethod, found)
			}
		}
	})

	t.Run("grpc applies the timeouts", func(t *testing.T) {
		s := &scripted{}
		conn := dial(t, s)
		// The wrapper sets no deadline of its own: grpc's must show.
		w := echopb.NewEchoWrapper(conn, svcclient.WithoutRetries(),
			svcclient.WithAllPolicies(func(p *svcclient.MethodPolicy) { p.Timeout = 0 }))
		for _, tc := range []struct {
			method string
			call   callFunc
			want   time.Duration
		}{
			{echopb.Echo_Get_FullMethodName, callGet, 5 * time.Second},
			{echopb.Echo_Put_FullMethodName, callPut, 800 * time.Millisecond},
		} {
			start := time.Now()
			if err := tc.call(context.Background(), w); err != nil {
				t.Fatal(err)
			}
			wantDeadline(t, last(s.seen(tc.method)), start, time.Now(), tc.want)
		}
	})

	t.Run("grpc retries, the wrapper does not", func(t *testing.T) {
		s := &scripted{unary: failing(codes.Unavailable)}
		conn := dial(t, s)
		w := echopb.NewEchoWrapper(conn, svcclient.WithoutRetries())
		err := callGet(context.Background(), w)
		// Get allows 4 attempts, below grpc's cap of 5: exactly 4, all grpc's.
		want := min(4, svcclient.GRPCMaxAttempts)
		wantAttempts(t, s, echopb.Echo_Get_FullMethodName, want)
		// grpc-go (v1.8x) keeps the last attempt's code and details but
		// prefixes its message with "max retries exhausted: ...".
		lastAttempt := status.Convert(attemptError(codes.Unavailable, echopb.Echo_Get_FullMethodName, want))
		got := status.Convert(err)
		if got.Code() != lastAttempt.Code() || !strings.HasSuffix(got.Message(), lastAttempt.Message()) ||
			!cmp.Equal(got.Proto().GetDetails(), lastAttempt.Proto().GetDetails(), cmpProto) {
			t.Errorf("error = %v; want grpc's report of attempt %d (%v)", err, want, lastAttempt.Err())
		}
		for i, a := range s.seen(echopb.Echo_Get_FullMethodName) {
			if a.retryTag != nil {
				t.Errorf("attempt %d carries the wrapper's retry tag %q: the wrapper retried", i+1, a.retryTag)
			}
		}
	})

	t.Run("without the service config, WithoutRetries is one attempt", func(t *testing.T) {
		s := &scripted{unary: failing(codes.Unavailable)}
		w := newWrapper(t, s, zeroJitter, svcclient.WithoutRetries())
		err := callGet(context.Background(), w)
		wantAttempts(t, s, echopb.Echo_Get_FullMethodName, 1)
		wantAttemptError(t, err, codes.Unavailable, echopb.Echo_Get_FullMethodName, 1)
	})
}
