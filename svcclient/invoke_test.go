package svcclient

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"go.uber.org/goleak"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
)

// TestDeadline proves: effective deadline = min(caller's deadline, now +
// method timeout); WithTimeout replaces the default but never extends the
// caller's deadline; timeout 0 means no default. It checks the context each
// RPC kind hands to the stub.
func TestDeadline(t *testing.T) {
	const none = time.Duration(-1)
	tests := []struct {
		name       string
		timeout    time.Duration // method default
		caller     time.Duration // caller's deadline from now; none = no deadline
		opts       []grpc.CallOption
		want       time.Duration // from now; none = no deadline
		noRetries  bool
		wantCaller bool // the caller's context is passed through untouched
	}{
		{name: "method timeout applies", timeout: 2 * time.Second, caller: none, want: 2 * time.Second},
		{name: "earlier caller deadline wins", timeout: 2 * time.Second, caller: time.Second, want: time.Second, wantCaller: true},
		{name: "later caller deadline is shortened", timeout: 2 * time.Second, caller: 10 * time.Second, want: 2 * time.Second},
		{name: "equal deadlines keep the caller's", timeout: 2 * time.Second, caller: 2 * time.Second, want: 2 * time.Second, wantCaller: true},
		{name: "timeout 0 means no default", timeout: 0, caller: none, want: none},
		{name: "timeout 0 keeps caller's", timeout: 0, caller: time.Second, want: time.Second, wantCaller: true},
		{name: "override shortens default", timeout: 2 * time.Second, caller: none, opts: []grpc.CallOption{WithTimeout(500 * time.Millisecond)}, want: 500 * time.Millisecond},
		{name: "override lengthens default", timeout: 2 * time.Second, caller: none, opts: []grpc.CallOption{WithTimeout(5 * time.Second)}, want: 5 * time.Second},
		{name: "override never extends caller", timeout: 2 * time.Second, caller: time.Second, opts: []grpc.CallOption{WithTimeout(5 * time.Second)}, want: time.Second, wantCaller: true},
		{name: "override 0 removes default", timeout: 2 * time.Second, caller: none, opts: []grpc.CallOption{WithTimeout(0)}, want: none},
		{name: "last override wins", timeout: 2 * time.Second, caller: none, opts: []grpc.CallOption{WithTimeout(time.Second), WithTimeout(3 * time.Second)}, want: 3 * time.Second},
		{name: "deadline applies without retries", timeout: 2 * time.Second, caller: none, noRetries: true, want: 2 * time.Second},
	}
	kinds := []struct {
		idx  int
		call func(ctx context.Context, inv *Invoker, idx int, opts []grpc.CallOption, got func(context.Context))
	}{
		{checkIdx, func(ctx context.Context, inv *Invoker, idx int, opts []grpc.CallOption, got func(context.Context)) {
			_ = inv.Unary(ctx, idx, opts, func(ctx context.Context, _ []grpc.CallOption) error { got(ctx); return nil })
		}},
		{watchIdx, func(ctx context.Context, inv *Invoker, idx int, opts []grpc.CallOption, got func(context.Context)) {
			_, _ = ServerStream(ctx, inv, idx, opts, func(ctx context.Context, _ []grpc.CallOption) (grpc.ServerStreamingClient[msg], error) {
				got(ctx)
				return nil, status.Error(codes.InvalidArgument, "stop")
			})
		}},
		{uploadIdx, func(ctx context.Context, inv *Invoker, idx int, opts []grpc.CallOption, got func(context.Context)) {
			_, _ = ClientStream(ctx, inv, idx, opts, func(ctx context.Context, _ ...grpc.CallOption) (grpc.ClientStreamingClient[msg, msg], error) {
				got(ctx)
				return nil, status.Error(codes.InvalidArgument, "stop")
			})
		}},
		{chatIdx, func(ctx context.Context, inv *Invoker, idx int, opts []grpc.CallOption, got func(context.Context)) {
			_, _ = BidiStream(ctx, inv, idx, opts, func(ctx context.Context, _ ...grpc.CallOption) (grpc.BidiStreamingClient[msg, msg], error) {
				got(ctx)
				return nil, status.Error(codes.InvalidArgument, "stop")
			})
		}},
	}
	for _, tt := range tests {
		for _, k := range kinds {
			p := testPolicies()[k.idx]
			t.Run(tt.name+"/"+p.Kind.String(), func(t *testing.T) {
				clock := newFakeClock()
				opts := []Option{WithClock(clock), WithAllPolicies(func(p *MethodPolicy) { p.Timeout = tt.timeout })}
				if tt.noRetries {
					opts = append(opts, WithoutRetries())
				}
				inv := NewInvoker(testPolicies(), append([]Option{WithoutRetryThrottling()}, opts...)...)
				ctx := context.Background()
				if tt.caller != none {
					var cancel context.CancelFunc
					ctx, cancel = context.WithDeadline(ctx, clock.now.Add(tt.caller))
					defer cancel()
				}
				var seen context.Context
				k.call(ctx, inv, k.idx, tt.opts, func(c context.Context) { seen = c })
				if seen == nil {
					t.Fatal("stub not called")
				}
				dl, ok := seen.Deadline()
				if tt.want == none {
					if ok {
						t.Fatalf("deadline %v, want none", dl.Sub(clock.now))
					}
					return
				}
				if !ok || !dl.Equal(clock.now.Add(tt.want)) {
					t.Fatalf("deadline now+%v (set %v), want now+%v", dl.Sub(clock.now), ok, tt.want)
				}
				if tt.wantCaller && p.Kind != ServerStreaming && seen != ctx {
					t.Errorf("caller's context was wrapped although its deadline already applied")
				}
			})
		}
	}
}

// TestDeadlineReachesServer proves that the deadline is really sent, for
// all four RPC kinds, over a real connection.
func TestDeadlineReachesServer(t *testing.T) {
	e := newEnv(t, &server{})
	w := e.wrapper(WithAllPolicies(func(p *MethodPolicy) { p.Timeout = 3 * time.Second }))
	sc := e.streams(WithAllPolicies(func(p *MethodPolicy) { p.Timeout = 3 * time.Second }))
	ctx := context.Background()
	start := time.Now()

	if _, err := w.Check(ctx, &healthpb.HealthCheckRequest{}); err != nil {
		t.Fatal(err)
	}
	for _, err := range w.WatchSeq(ctx, &healthpb.HealthCheckRequest{}) {
		if err != nil {
			t.Fatal(err)
		}
	}
	up, err := sc.Upload(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := up.CloseAndRecv(); err != nil {
		t.Fatal(err)
	}
	chat, err := sc.Chat(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := chat.CloseSend(); err != nil {
		t.Fatal(err)
	}
	if _, err := chat.Recv(); err == nil {
		t.Fatal("chat: want io.EOF")
	}

	for _, m := range []string{healthpb.Health_Check_FullMethodName, healthpb.Health_Watch_FullMethodName, uploadMethod, chatMethod} {
		calls := e.srv.callsTo(m)
		if len(calls) != 1 {
			t.Fatalf("%s: %d calls, want 1", m, len(calls))
		}
		c := calls[0]
		if !c.hasDeadline {
			t.Fatalf("%s: server saw no deadline", m)
		}
		// grpc sends the remaining time, so allow for transmission.
		if d := c.deadline.Sub(start); d < 2*time.Second || d > 3*time.Second+100*time.Millisecond {
			t.Errorf("%s: server deadline start+%v, want about start+3s", m, d)
		}
	}
}

// TestOneDeadlineCoversAllAttempts proves that the method timeout bounds
// the attempts and the backoff between them together, and that the caller
// gets DeadlineExceeded when it passes.
func TestOneDeadlineCoversAllAttempts(t *testing.T) {
	for _, tc := range []struct {
		name    string
		timeout time.Duration // method
		caller  time.Duration // 0: none
		want    time.Duration
	}{
		{name: "method timeout", timeout: 300 * time.Millisecond, want: 300 * time.Millisecond},
		{name: "caller deadline", timeout: 10 * time.Second, caller: 200 * time.Millisecond, want: 200 * time.Millisecond},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, &server{check: func(context.Context, int) (*healthpb.HealthCheckResponse, error) {
				return nil, unavailable("down")
			}})
			w := e.wrapper(
				WithAllPolicies(func(p *MethodPolicy) { p.Timeout = tc.timeout }),
				retryPolicy(func(r *RetryPolicy) {
					r.MaxAttempts = 1000
					r.InitialBackoff, r.MaxBackoff = 20*time.Millisecond, 20*time.Millisecond
				}),
				WithRand(fixedRand(0.999)),
			)
			ctx := context.Background()
			if tc.caller > 0 {
				var cancel context.CancelFunc
				ctx, cancel = context.WithTimeout(ctx, tc.caller)
				defer cancel()
			}
			start := time.Now()
			_, err := w.Check(ctx, &healthpb.HealthCheckRequest{})
			elapsed := time.Since(start)
			wantCode(t, err, codes.DeadlineExceeded)
			if elapsed < tc.want || elapsed > tc.want+time.Second {
				t.Errorf("call took %v, want about %v", elapsed, tc.want)
			}
			n := len(e.srv.callsTo(healthpb.Health_Check_FullMethodName))
			if n < 2 || n > int(tc.want/(20*time.Millisecond))+1 {
				t.Errorf("%d attempts, want between 2 and %d", n, tc.want/(20*time.Millisecond)+1)
			}
		})
	}
}

// TestDoneContextStartsNoAttempt proves that once the caller's context is
// done no new attempt starts and the caller promptly gets Canceled: both when
// it is cancelled during the backoff, and when it was cancelled during the
// attempt that failed.
func TestDoneContextStartsNoAttempt(t *testing.T) {
	t.Run("during backoff", func(t *testing.T) {
		e := newEnv(t, &server{check: func(context.Context, int) (*healthpb.HealthCheckResponse, error) {
			return nil, unavailable("down")
		}})
		w := e.wrapper(retryPolicy(func(r *RetryPolicy) { r.InitialBackoff, r.MaxBackoff = time.Hour, time.Hour }),
			WithRand(fixedRand(0.5)))
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		start := time.Now()
		// The hook runs just before the hour-long wait.
		_, err := w.Check(ctx, &healthpb.HealthCheckRequest{}, WithRetryHook(func(RetryEvent) {
			go func() { time.Sleep(20 * time.Millisecond); cancel() }()
		}))
		wantCode(t, err, codes.Canceled)
		if d := time.Since(start); d > time.Second {
			t.Errorf("returned after %v, want promptly", d)
		}
		if n := len(e.srv.callsTo(healthpb.Health_Check_FullMethodName)); n != 1 {
			t.Errorf("%d attempts, want 1", n)
		}
	})
	t.Run("during attempt", func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		inv := NewInvoker(testPolicies(), WithoutRetryThrottling(), WithClock(newFakeClock()))
		attempts := 0
		hooked := false
		err := inv.Unary(ctx, checkIdx, []grpc.CallOption{WithRetryHook(func(RetryEvent) { hooked = true })}, func(context.Context, []grpc.CallOption) error {
			attempts++
			cancel()
			return unavailable("down")
		})
		wantCode(t, err, codes.Canceled)
		if attempts != 1 || hooked {
			t.Errorf("attempts = %d, hook called = %v; want 1, false", attempts, hooked)
		}
	})
	t.Run("deadline during attempt", func(t *testing.T) {
		inv := NewInvoker(testPolicies(), WithoutRetryThrottling(), WithClock(newFakeClock()))
		ctx, cancel := context.WithTimeout(context.Background(), time.Millisecond)
		defer cancel()
		attempts := 0
		err := inv.Unary(ctx, checkIdx, nil, func(ctx context.Context, _ []grpc.CallOption) error {
			attempts++
			<-ctx.Done()
			return unavailable("down")
		})
		wantCode(t, err, codes.DeadlineExceeded)
		if attempts != 1 {
			t.Errorf("attempts = %d, want 1", attempts)
		}
	})
}

// TestPerAttemptTimeout proves that PerAttemptTimeout bounds each attempt,
// that an attempt cut off by it is retried when DEADLINE_EXCEEDED is
// retryable (and only then), and that each attempt's context is released as
// soon as the attempt ends.
func TestPerAttemptTimeout(t *testing.T) {
	hang := func(ctx context.Context, n int) (*healthpb.HealthCheckResponse, error) {
		if n == 1 {
			<-ctx.Done()
			return nil, status.FromContextError(ctx.Err()).Err()
		}
		return &healthpb.HealthCheckResponse{Status: healthpb.HealthCheckResponse_SERVING}, nil
	}
	t.Run("retried", func(t *testing.T) {
		e := newEnv(t, &server{check: hang})
		w := e.wrapper(retryPolicy(func(r *RetryPolicy) {
			r.PerAttemptTimeout = 50 * time.Millisecond
			r.RetryableCodes = []codes.Code{codes.Unavailable, codes.DeadlineExceeded}
		}))
		var ctxs []context.Context
		var firstDoneAtSecond bool
		err := w.inv.Unary(context.Background(), checkIdx, nil, func(ctx context.Context, opts []grpc.CallOption) error {
			ctxs = append(ctxs, ctx)
			if len(ctxs) == 2 {
				firstDoneAtSecond = ctxs[0].Err() != nil
			}
			_, err := w.client.Check(ctx, &healthpb.HealthCheckRequest{}, opts...)
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
		if len(ctxs) != 2 {
			t.Fatalf("%d attempts, want 2", len(ctxs))
		}
		if !firstDoneAtSecond {
			t.Error("first attempt's context was still live when the second started")
		}
		if ctxs[1].Err() == nil {
			t.Error("second attempt's context still live after the call")
		}
	})
	t.Run("not retryable", func(t *testing.T) {
		e := newEnv(t, &server{check: hang})
		w := e.wrapper(retryPolicy(func(r *RetryPolicy) { r.PerAttemptTimeout = 50 * time.Millisecond }))
		start := time.Now()
		_, err := w.Check(context.Background(), &healthpb.HealthCheckRequest{})
		wantCode(t, err, codes.DeadlineExceeded)
		if d := time.Since(start); d > time.Second {
			t.Errorf("took %v; the attempt was not cut at 50ms", d)
		}
		if n := len(e.srv.callsTo(healthpb.Health_Check_FullMethodName)); n != 1 {
			t.Errorf("%d attempts, want 1", n)
		}
	})
	t.Run("attempt context released when the attempt ends", func(t *testing.T) {
		// No call deadline, or the tighter call deadline would stand in for
		// the attempt's and no attempt context would be needed.
		inv := NewInvoker(testPolicies(), WithoutRetryThrottling(), WithClock(newFakeClock()), WithAllPolicies(func(p *MethodPolicy) {
			p.Timeout = 0
			p.Retry.PerAttemptTimeout = time.Hour
		}))
		var ctxs []context.Context
		var liveAtNext []bool
		_ = inv.Unary(context.Background(), checkIdx, nil, func(ctx context.Context, _ []grpc.CallOption) error {
			if len(ctxs) > 0 {
				liveAtNext = append(liveAtNext, ctxs[len(ctxs)-1].Err() == nil)
			}
			ctxs = append(ctxs, ctx)
			return unavailable("quick failure, long before the hour")
		})
		if diff := cmp.Diff([]bool{false, false, false}, liveAtNext); diff != "" {
			t.Errorf("previous attempt's context live when the next started (-want +got):\n%s", diff)
		}
	})
	t.Run("never beyond the call deadline", func(t *testing.T) {
		clock := newFakeClock()
		inv := NewInvoker(testPolicies(), WithoutRetryThrottling(), WithClock(clock), WithAllPolicies(func(p *MethodPolicy) {
			p.Timeout = 100 * time.Millisecond
			p.Retry.PerAttemptTimeout = time.Hour
		}))
		err := inv.Unary(context.Background(), checkIdx, nil, func(ctx context.Context, _ []grpc.CallOption) error {
			if dl, _ := ctx.Deadline(); !dl.Equal(clock.now.Add(100 * time.Millisecond)) {
				t.Errorf("attempt deadline now+%v, want now+100ms", dl.Sub(clock.now))
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	})
	t.Run("bounds each attempt", func(t *testing.T) {
		clock := newFakeClock()
		inv := NewInvoker(testPolicies(), WithoutRetryThrottling(), WithClock(clock), retryPolicy(func(r *RetryPolicy) { r.PerAttemptTimeout = time.Second }))
		var deadlines []time.Duration
		_ = inv.Unary(context.Background(), checkIdx, nil, func(ctx context.Context, _ []grpc.CallOption) error {
			dl, _ := ctx.Deadline()
			deadlines = append(deadlines, dl.Sub(clock.now))
			return unavailable("down")
		})
		want := []time.Duration{time.Second, time.Second, time.Second, time.Second}
		if diff := cmp.Diff(want, deadlines); diff != "" {
			t.Errorf("attempt deadlines (-want +got):\n%s", diff)
		}
	})
}

// TestAttemptsBounded proves that MaxAttempts counts the first call and
// bounds the attempts, and that the last attempt's error is returned
// unchanged (the same value).
func TestAttemptsBounded(t *testing.T) {
	for _, maxAttempts := range []int{-1, 0, 1, 2, 3, 7} {
		t.Run(strconv.Itoa(maxAttempts), func(t *testing.T) {
			inv := NewInvoker(testPolicies(), WithoutRetryThrottling(), WithClock(newFakeClock()), retryPolicy(func(r *RetryPolicy) { r.MaxAttempts = maxAttempts }))
			var errs []error
			err := inv.Unary(context.Background(), checkIdx, nil, func(context.Context, []grpc.CallOption) error {
				errs = append(errs, unavailable(fmt.Sprint("attempt ", len(errs)+1)))
				return errs[len(errs)-1]
			})
			if want := max(maxAttempts, 1); len(errs) != want {
				t.Fatalf("%d attempts, want %d", len(errs), want)
			}
			if finalErr(err) != errs[len(errs)-1] {
				t.Errorf("returned %v, want the last attempt's error value %v", err, errs[len(errs)-1])
			}
			var ae *AttemptsError
			if maxAttempts > 1 && (!errors.As(err, &ae) || ae.Attempts != len(errs)) {
				t.Errorf("returned %#v, want an *AttemptsError with %d attempts", err, len(errs))
			}
		})
	}
	t.Run("over grpc", func(t *testing.T) {
		e := newEnv(t, &server{check: func(_ context.Context, n int) (*healthpb.HealthCheckResponse, error) {
			return nil, unavailable(fmt.Sprint("attempt ", n))
		}})
		_, err := e.wrapper(WithClock(newFakeClock())).Check(context.Background(), &healthpb.HealthCheckRequest{})
		wantCode(t, err, codes.Unavailable)
		if got := status.Convert(err).Message(); got != "attempt 4" {
			t.Errorf("message %q, want the last attempt's", got)
		}
		if n := len(e.srv.callsTo(healthpb.Health_Check_FullMethodName)); n != 4 {
			t.Errorf("%d attempts, want 4", n)
		}
	})
}

// TestOnlyRetryableCodes proves that only RetryableCodes are retried and
// that any other failure gives exactly one attempt and that very error.
func TestOnlyRetryableCodes(t *testing.T) {
	for _, tc := range []struct {
		name      string
		codes     []codes.Code
		err       error
		wantTries int
	}{
		{"unavailable retried by default", nil, unavailable("x"), 4},
		{"invalid argument", nil, status.Error(codes.InvalidArgument, "x"), 1},
		{"internal", nil, status.Error(codes.Internal, "x"), 1},
		{"deadline exceeded", nil, status.Error(codes.DeadlineExceeded, "x"), 1},
		{"not a status error", nil, errors.New("plain"), 1},
		{"custom codes: aborted retried", []codes.Code{codes.Aborted, codes.ResourceExhausted}, status.Error(codes.Aborted, "x"), 4},
		{"custom codes: unavailable not retried", []codes.Code{codes.Aborted}, unavailable("x"), 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			opts := []Option{WithClock(newFakeClock())}
			if tc.codes != nil {
				opts = append(opts, retryPolicy(func(r *RetryPolicy) { r.RetryableCodes = tc.codes }))
			}
			inv := NewInvoker(testPolicies(), append([]Option{WithoutRetryThrottling()}, opts...)...)
			tries := 0
			err := inv.Unary(context.Background(), checkIdx, nil, func(context.Context, []grpc.CallOption) error {
				tries++
				return tc.err
			})
			if tries != tc.wantTries {
				t.Errorf("%d attempts, want %d", tries, tc.wantTries)
			}
			if finalErr(err) != tc.err {
				t.Errorf("returned %v, want the attempt's error value", err)
			}
		})
	}
}

// TestRetrySwitches proves how retries are turned off and on: per call, per
// Invoker, by an invalid policy, and by a per-call policy.
func TestRetrySwitches(t *testing.T) {
	noRetry := RetryPolicy{MaxAttempts: 1}
	three := RetryPolicy{MaxAttempts: 3, InitialBackoff: time.Millisecond, MaxBackoff: time.Millisecond, BackoffMultiplier: 1, RetryableCodes: []codes.Code{codes.Unavailable}}
	for _, tc := range []struct {
		name     string
		inv      []Option
		call     []grpc.CallOption
		want     int
		validate bool // CheckOptions reports an error, NewInvoker panics
	}{
		{name: "policy retries", want: 4},
		{name: "WithoutRetry", call: []grpc.CallOption{WithoutRetry()}, want: 1},
		{name: "WithoutRetry beats WithRetryPolicy", call: []grpc.CallOption{WithoutRetry(), WithRetryPolicy(three)}, want: 1},
		{name: "WithoutRetries", inv: []Option{WithoutRetries()}, want: 1},
		{name: "WithoutRetries beats WithRetryPolicy", inv: []Option{WithoutRetries()}, call: []grpc.CallOption{WithRetryPolicy(three)}, want: 1},
		{name: "WithRetryPolicy replaces", call: []grpc.CallOption{WithRetryPolicy(three)}, want: 3},
		{name: "WithRetryPolicy enables", inv: []Option{retryPolicy(func(r *RetryPolicy) { *r = noRetry })}, call: []grpc.CallOption{WithRetryPolicy(three)}, want: 3},
		{name: "WithRetryPolicy disables", call: []grpc.CallOption{WithRetryPolicy(noRetry)}, want: 1},
		{name: "invalid WithRetryPolicy means no retry", call: []grpc.CallOption{WithRetryPolicy(RetryPolicy{MaxAttempts: 3})}, want: 1},
		{name: "invalid policy is an error at construction", inv: []Option{retryPolicy(func(r *RetryPolicy) { r.RetryableCodes = nil })}, validate: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			opts := append([]Option{WithoutRetryThrottling(), WithClock(newFakeClock())}, tc.inv...)
			if err := CheckOptions(testPolicies(), opts...); (err != nil) != tc.validate {
				t.Errorf("CheckOptions() = %v, want error: %v", err, tc.validate)
			}
			if tc.validate {
				defer func() {
					if recover() == nil {
						t.Error("NewInvoker did not panic")
					}
				}()
			}
			inv := NewInvoker(testPolicies(), opts...)
			tries := 0
			_ = inv.Unary(context.Background(), checkIdx, tc.call, func(context.Context, []grpc.CallOption) error {
				tries++
				return unavailable("x")
			})
			if tries != tc.want {
				t.Errorf("%d attempts, want %d", tries, tc.want)
			}
		})
	}
}

// TestBackoff proves the "full jitter" formula of gRFC A6, with the jitter
// clamped to [0, 1].
func TestBackoff(t *testing.T) {
	p := &RetryPolicy{InitialBackoff: 100 * time.Millisecond, MaxBackoff: 300 * time.Millisecond, BackoffMultiplier: 2}
	for _, tc := range []struct {
		n      int
		jitter float64
		want   time.Duration
	}{
		{0, 0, 0},
		{0, 0.5, 50 * time.Millisecond},
		{1, 0.5, 100 * time.Millisecond},
		{2, 0.5, 150 * time.Millisecond}, // 400ms capped at 300ms
		{50, 0.5, 150 * time.Millisecond},
		{5000, 1, 300 * time.Millisecond}, // the power overflows to +Inf
		{0, 1.5, 100 * time.Millisecond},
		{0, -1, 0},
		{0, nan(), 0},
	} {
		if got := backoff(p, tc.n, tc.jitter); got != tc.want {
			t.Errorf("backoff(n=%d, jitter=%v) = %v, want %v", tc.n, tc.jitter, got, tc.want)
		}
	}
}

func nan() float64 { var z float64; return z / z }

// TestBackoffSequence proves the waits an Invoker takes: jitter drawn from
// the injected source times the growing, capped bound, for each retry.
func TestBackoffSequence(t *testing.T) {
	clock := newFakeClock()
	inv := NewInvoker(testPolicies(), WithoutRetryThrottling(), WithClock(clock), WithRand(fixedRand(0.5, 0.25, 0.9999, 0.5, 0)),
		retryPolicy(func(r *RetryPolicy) {
			r.MaxAttempts = 6
			r.InitialBackoff, r.MaxBackoff, r.BackoffMultiplier = 100*time.Millisecond, 300*time.Millisecond, 2
		}))
	_ = inv.Unary(context.Background(), checkIdx, nil, func(context.Context, []grpc.CallOption) error { return unavailable("x") })
	want := []time.Duration{
		50 * time.Millisecond, // 0.5 * 100ms
		50 * time.Millisecond, // 0.25 * 200ms
		time.Duration(0.9999 * float64(300*time.Millisecond)), // 400ms capped
		150 * time.Millisecond,                                // 0.5 * 300ms
		// jitter 0: no wait, so no timer
	}
	if diff := cmp.Diff(want, clock.delays()); diff != "" {
		t.Errorf("waits (-want +got):\n%s", diff)
	}
}

// TestPushback proves that a server's grpc-retry-pushback-ms trailer sets
// the next wait exactly and restarts the exponential sequence, that an
// invalid one stops retrying, and that the wrapper reads it over grpc.
func TestPushback(t *testing.T) {
	t.Run("honoured and resets backoff", func(t *testing.T) {
		e := newEnv(t, &server{check: func(ctx context.Context, n int) (*healthpb.HealthCheckResponse, error) {
			switch n {
			case 2:
				_ = grpc.SetTrailer(ctx, metadata.Pairs(pushbackKey, "250"))
				return nil, unavailable("push back")
			case 1, 3:
				return nil, unavailable("down")
			}
			return &healthpb.HealthCheckResponse{}, nil
		}})
		clock := newFakeClock()
		w := e.wrapper(WithClock(clock), WithRand(fixedRand(0.5)), retryPolicy(func(r *RetryPolicy) {
			r.MaxAttempts = 5
			r.InitialBackoff, r.MaxBackoff, r.BackoffMultiplier = 100*time.Millisecond, 10*time.Second, 2
		}))
		if _, err := w.Check(context.Background(), &healthpb.HealthCheckRequest{}); err != nil {
			t.Fatal(err)
		}
		// Without the reset the third wait would be 0.5 * 200ms.
		want := []time.Duration{50 * time.Millisecond, 250 * time.Millisecond, 50 * time.Millisecond}
		if diff := cmp.Diff(want, clock.delays()); diff != "" {
			t.Errorf("waits (-want +got):\n%s", diff)
		}
	})
	t.Run("zero retries at once", func(t *testing.T) {
		clock := newFakeClock()
		inv := NewInvoker(testPolicies(), WithoutRetryThrottling(), WithClock(clock))
		tries := 0
		err := inv.Unary(context.Background(), checkIdx, nil, func(_ context.Context, opts []grpc.CallOption) error {
			tries++
			if tries == 1 {
				setTrailer(opts, metadata.Pairs(pushbackKey, "0"))
				return unavailable("x")
			}
			return nil
		})
		if err != nil || tries != 2 || len(clock.delays()) != 0 {
			t.Errorf("err %v, %d attempts, waits %v; want nil, 2, none", err, tries, clock.delays())
		}
	})
	for _, v := range [][]string{{"-1"}, {"abc"}, {"1.5"}, {""}, {"10", "20"}} {
		t.Run(fmt.Sprintf("invalid %q stops retrying", v), func(t *testing.T) {
			e := newEnv(t, &server{check: func(ctx context.Context, n int) (*healthpb.HealthCheckResponse, error) {
				md := metadata.MD{}
				md[pushbackKey] = v
				_ = grpc.SetTrailer(ctx, md)
				return nil, unavailable("push back")
			}})
			hooked := false
			_, err := e.wrapper(WithClock(newFakeClock()), WithHook(func(RetryEvent) { hooked = true })).
				Check(context.Background(), &healthpb.HealthCheckRequest{})
			wantCode(t, err, codes.Unavailable)
			if n := len(e.srv.callsTo(healthpb.Health_Check_FullMethodName)); n != 1 || hooked {
				t.Errorf("%d attempts, hook called %v; want 1, false", n, hooked)
			}
		})
	}
}

// setTrailer plays grpc for unit tests: it fills the trailer requested
// through grpc.Trailer among opts.
func setTrailer(opts []grpc.CallOption, md metadata.MD) {
	for _, o := range opts {
		if o, ok := o.(grpc.TrailerCallOption); ok {
			*o.TrailerAddr = md
		}
	}
}

// TestRetryTag proves that retries carry svc-retry-attempt = number of
// previous attempts, that first attempts carry none, and that the caller's
// own metadata goes with every attempt.
func TestRetryTag(t *testing.T) {
	e := newEnv(t, &server{check: func(_ context.Context, n int) (*healthpb.HealthCheckResponse, error) {
		if n < 3 {
			return nil, unavailable("down")
		}
		return &healthpb.HealthCheckResponse{}, nil
	}})
	ctx := metadata.AppendToOutgoingContext(context.Background(), "x-user", "alice")
	if _, err := e.wrapper().Check(ctx, &healthpb.HealthCheckRequest{}); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"", "1", "2"}, e.srv.retryTags(healthpb.Health_Check_FullMethodName)); diff != "" {
		t.Errorf("retry tags (-want +got):\n%s", diff)
	}
	for i, c := range e.srv.callsTo(healthpb.Health_Check_FullMethodName) {
		if got := c.md.Get("x-user"); len(got) != 1 || got[0] != "alice" {
			t.Errorf("attempt %d: x-user = %q, want [alice]", i+1, got)
		}
	}
}

// TestHooks proves that the Invoker's hook and the per-call hook both see
// every retry, with attempt, error and delay, before the wait.
func TestHooks(t *testing.T) {
	log := &eventLog{}
	clock := newFakeClock()
	clock.log = log
	var clientEvents, callEvents []RetryEvent
	inv := NewInvoker(testPolicies(), WithoutRetryThrottling(), WithClock(clock), WithRand(fixedRand(0.5)),
		WithHook(func(ev RetryEvent) { clientEvents = append(clientEvents, ev); log.add("client hook") }),
		retryPolicy(func(r *RetryPolicy) {
			r.MaxAttempts = 3
			r.InitialBackoff, r.MaxBackoff, r.BackoffMultiplier = 100*time.Millisecond, time.Second, 2
		}))
	var errs []error
	type callerKey struct{}
	caller := context.WithValue(context.Background(), callerKey{}, "caller's value")
	_ = inv.Unary(caller, checkIdx,
		[]grpc.CallOption{WithRetryHook(func(ev RetryEvent) { callEvents = append(callEvents, ev); log.add("call hook") })},
		func(context.Context, []grpc.CallOption) error {
			errs = append(errs, unavailable(fmt.Sprint(len(errs)+1)))
			return errs[len(errs)-1]
		})
	m := healthpb.Health_Check_FullMethodName
	want := []RetryEvent{
		{FullMethod: m, Attempt: 1, Err: errs[0], Delay: 50 * time.Millisecond},
		{FullMethod: m, Attempt: 2, Err: errs[1], Delay: 100 * time.Millisecond},
	}
	for _, ev := range append(clientEvents, callEvents...) {
		if ev.Context == nil || ev.Context.Value(callerKey{}) != "caller's value" {
			t.Errorf("event of attempt %d: the context does not carry the caller's values", ev.Attempt)
		}
	}
	cmpErr := cmp.Options{
		cmp.Comparer(func(a, b error) bool { return a == b }),
		cmpopts.IgnoreFields(RetryEvent{}, "Context"),
	}
	if diff := cmp.Diff(want, clientEvents, cmpErr); diff != "" {
		t.Errorf("client hook (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(want, callEvents, cmpErr); diff != "" {
		t.Errorf("call hook (-want +got):\n%s", diff)
	}
	wantLog := []string{"client hook", "call hook", "timer", "client hook", "call hook", "timer"}
	if diff := cmp.Diff(wantLog, log.get()); diff != "" {
		t.Errorf("order (-want +got):\n%s", diff)
	}
}

// TestBackoffTimerStopped proves that a wait cut short by the context stops
// its timer instead of leaving it running.
func TestBackoffTimerStopped(t *testing.T) {
	clock := newFakeClock()
	clock.hold = true
	clock.created = make(chan *fakeTimer, 1)
	inv := NewInvoker(testPolicies(), WithoutRetryThrottling(), WithClock(clock))
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error)
	go func() {
		done <- inv.Unary(ctx, checkIdx, nil, func(context.Context, []grpc.CallOption) error { return unavailable("x") })
	}()
	timer := <-clock.created
	cancel()
	wantCode(t, <-done, codes.Canceled)
	if !timer.isStopped() {
		t.Error("backoff timer not stopped")
	}
}

// TestNoLeaks proves that calls cancelled in the middle of their backoff,
// many at once, leave no goroutine behind, and each gets Canceled promptly.
func TestNoLeaks(t *testing.T) {
	ignore := goleak.IgnoreCurrent()
	e := newEnv(t, &server{check: func(context.Context, int) (*healthpb.HealthCheckResponse, error) {
		return nil, unavailable("down")
	}})
	w := e.wrapper(retryPolicy(func(r *RetryPolicy) {
		r.InitialBackoff, r.MaxBackoff = time.Hour, time.Hour
		r.PerAttemptTimeout = time.Hour // attempts own a timer too
	}), WithRand(fixedRand(0.5)))
	var wg sync.WaitGroup
	var prompt atomic.Int32
	for i := 0; i < 100; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			waiting := make(chan struct{})
			go func() { <-waiting; cancel() }()
			start := time.Now()
			_, err := w.Check(ctx, &healthpb.HealthCheckRequest{}, WithRetryHook(func(RetryEvent) { close(waiting) }))
			if status.Code(err) == codes.Canceled && time.Since(start) < 5*time.Second {
				prompt.Add(1)
			}
		}()
	}
	wg.Wait()
	if prompt.Load() != 100 {
		t.Errorf("%d of 100 calls ended promptly with Canceled", prompt.Load())
	}
	e.close()
	goleak.VerifyNone(t, ignore)
}

// TestCallOptions proves that the caller's grpc options still reach grpc
// (with ours among them, harmlessly), on both the single-attempt and the
// retrying path, and that the caller's option slice is never written to.
func TestCallOptions(t *testing.T) {
	for _, retry := range []bool{false, true} {
		t.Run(fmt.Sprint("retry=", retry), func(t *testing.T) {
			e := newEnv(t, &server{check: func(ctx context.Context, n int) (*healthpb.HealthCheckResponse, error) {
				_ = grpc.SetHeader(ctx, metadata.Pairs("h", strconv.Itoa(n)))
				_ = grpc.SetTrailer(ctx, metadata.Pairs("t", strconv.Itoa(n)))
				if n == 1 {
					return nil, unavailable("down")
				}
				return &healthpb.HealthCheckResponse{}, nil
			}})
			w := e.wrapper(WithClock(newFakeClock()))
			var header, trailer metadata.MD
			opts := make([]grpc.CallOption, 3, 8)
			opts[0], opts[1], opts[2] = grpc.Header(&header), WithTimeout(time.Minute), grpc.Trailer(&trailer)
			if !retry {
				opts = append(opts, WithoutRetry())
			}
			_, err := w.Check(context.Background(), &healthpb.HealthCheckRequest{}, opts...)
			want := "2"
			if !retry {
				wantCode(t, err, codes.Unavailable)
				want = "1"
			} else if err != nil {
				t.Fatal(err)
			}
			if got := header.Get("h"); len(got) != 1 || got[0] != want {
				t.Errorf("header h = %q, want [%s]", got, want)
			}
			if got := trailer.Get("t"); len(got) != 1 || got[0] != want {
				t.Errorf("trailer t = %q, want [%s]", got, want)
			}
			for i, o := range opts[len(opts):cap(opts)] {
				if o != nil {
					t.Errorf("spare capacity of the caller's options written at %d: %v", len(opts)+i, o)
				}
			}
		})
	}
}

// TestAllocations proves that reading per-call options costs nothing and
// that a call that cannot retry allocates nothing beyond the stub, while a
// retrying one allocates one scratch block (no timeouts here:
// context.WithDeadline's own cost is the standard library's).
func TestAllocations(t *testing.T) {
	inv := NewInvoker(testPolicies(), WithoutRetryThrottling(), WithAllPolicies(func(p *MethodPolicy) { p.Timeout = 0 }))
	opts := []grpc.CallOption{grpc.WaitForReady(true), grpc.StaticMethod()}
	ctx := context.Background()
	if n := testing.AllocsPerRun(100, func() { inv.settings(&inv.methods[checkIdx], opts) }); n != 0 {
		t.Errorf("settings: %v allocations, want 0", n)
	}
	stub := func(context.Context, []grpc.CallOption) error { return nil }
	noRetry := append(opts[:len(opts):len(opts)], WithoutRetry())
	if n := testing.AllocsPerRun(100, func() { _ = inv.Unary(ctx, checkIdx, noRetry, stub) }); n != 0 {
		t.Errorf("single-attempt Unary: %v allocations, want 0", n)
	}
	// A call with a deadline: the wait for a connection needs no gate.
	dctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	if n := testing.AllocsPerRun(100, func() { _ = inv.Unary(dctx, checkIdx, opts, stub) }); n > 1 {
		t.Errorf("retrying Unary, no retry needed: %v allocations, want <= 1", n)
	}
}
