package svcclient

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/wrapperspb"
)

const hedgedIdx = 0

func hedgedPolicies(delay time.Duration) []MethodPolicy {
	return []MethodPolicy{{
		FullMethod: "/svcclient.test.Hedged/Get", Kind: Unary, Idempotency: NoSideEffects, Timeout: 2 * time.Second,
		Retry:   DefaultRetryPolicy(),
		Hedging: HedgingPolicy{MaxAttempts: 3, Delay: delay, NonFatalCodes: []codes.Code{codes.Unavailable}},
	}}
}

// stubAttempts is a call function whose attempt n runs script(n, ctx) and
// records the attempt's context, so a test can check cancellation and tags.
type stubAttempts struct {
	mu     sync.Mutex
	ctxs   []context.Context
	script func(n int, ctx context.Context) (*wrapperspb.StringValue, error)
}

func (s *stubAttempts) call(ctx context.Context, _ *wrapperspb.StringValue, _ ...grpc.CallOption) (*wrapperspb.StringValue, error) {
	s.mu.Lock()
	s.ctxs = append(s.ctxs, ctx)
	n := len(s.ctxs)
	s.mu.Unlock()
	return s.script(n, ctx)
}

func (s *stubAttempts) attempts() []context.Context {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]context.Context(nil), s.ctxs...)
}

// blockUntilDone is an attempt that never answers before its context ends.
func blockUntilDone(ctx context.Context) (*wrapperspb.StringValue, error) {
	<-ctx.Done()
	return nil, status.FromContextError(ctx.Err()).Err()
}

// TestHedgeOvertakes: the first attempt does not answer; after the delay a
// hedge goes out, tagged as a retry, answers, wins, and the first attempt's
// context is cancelled before Hedge returns. The hooks see the hedge.
func TestHedgeOvertakes(t *testing.T) {
	s := &stubAttempts{script: func(n int, ctx context.Context) (*wrapperspb.StringValue, error) {
		if n == 1 {
			return blockUntilDone(ctx)
		}
		return wrapperspb.String("hedge"), nil
	}}
	var events []RetryEvent
	inv := NewInvoker(hedgedPolicies(20*time.Millisecond), WithHook(func(e RetryEvent) { events = append(events, e) }))
	start := time.Now()
	out, err := Hedge(context.Background(), inv, hedgedIdx, nil, wrapperspb.String("in"), s.call)
	if err != nil || out.GetValue() != "hedge" {
		t.Fatalf("Hedge = %v, %v; want the hedge's answer", out, err)
	}
	if d := time.Since(start); d < 20*time.Millisecond || d > 3*time.Second {
		t.Errorf("answered after %v, want about the 20ms delay", d)
	}
	ctxs := s.attempts()
	if len(ctxs) != 2 {
		t.Fatalf("%d attempts, want 2", len(ctxs))
	}
	if ctxs[0].Err() == nil {
		t.Error("the losing attempt's context is not cancelled")
	}
	if md, _ := metadata.FromOutgoingContext(ctxs[1]); strings.Join(md.Get(RetryAttemptKey), ",") != "1" {
		t.Errorf("the hedge carries %s = %v, want 1", RetryAttemptKey, md.Get(RetryAttemptKey))
	}
	if len(events) != 1 || !events[0].Hedge || events[0].Attempt != 1 || events[0].Err != nil {
		t.Errorf("hooks saw %+v, want one hedge after attempt 1", events)
	}
}

// TestHedgeCodes: a fatal code ends the call at once with that error; a
// non-fatal one sends the next attempt at once; all attempts failing gives
// the last error with the attempt count.
func TestHedgeCodes(t *testing.T) {
	inv := NewInvoker(hedgedPolicies(time.Hour), WithoutRetryThrottling())
	fatal := status.Error(codes.InvalidArgument, "bad")
	s := &stubAttempts{script: func(int, context.Context) (*wrapperspb.StringValue, error) { return nil, fatal }}
	_, err := Hedge(context.Background(), inv, hedgedIdx, nil, wrapperspb.String(""), s.call)
	var ae *AttemptsError
	if !errors.As(err, &ae) || ae.Err != fatal || ae.Attempts != 1 || len(s.attempts()) != 1 {
		t.Errorf("fatal code: %v after %d attempts; want that error, 1 attempt", err, len(s.attempts()))
	}
	s = &stubAttempts{script: func(n int, _ context.Context) (*wrapperspb.StringValue, error) {
		return nil, status.Errorf(codes.Unavailable, "attempt %d", n)
	}}
	start := time.Now()
	_, err = Hedge(context.Background(), inv, hedgedIdx, nil, wrapperspb.String(""), s.call)
	if !errors.As(err, &ae) || ae.Attempts != 3 || status.Convert(err).Message() != "attempt 3" || time.Since(start) > 5*time.Second {
		t.Errorf("non-fatal codes: %v; want attempt 3's error after 3 immediate attempts", err)
	}
}

// TestHedgeDeadline: when the call's deadline passes with every attempt in
// flight, the caller gets DeadlineExceeded promptly and every attempt is
// cancelled.
func TestHedgeDeadline(t *testing.T) {
	inv := NewInvoker(hedgedPolicies(10 * time.Millisecond))
	s := &stubAttempts{script: func(_ int, ctx context.Context) (*wrapperspb.StringValue, error) { return blockUntilDone(ctx) }}
	start := time.Now()
	_, err := Hedge(context.Background(), inv, hedgedIdx, []grpc.CallOption{CallTimeout(100 * time.Millisecond)}, wrapperspb.String(""), s.call)
	if status.Code(err) != codes.DeadlineExceeded || time.Since(start) > 2*time.Second {
		t.Errorf("Hedge = %v after %v, want DeadlineExceeded at 100ms", err, time.Since(start))
	}
	for i, ctx := range s.attempts() {
		if ctx.Err() == nil {
			t.Errorf("attempt %d still running", i+1)
		}
	}
	if n := len(s.attempts()); n != 3 {
		t.Errorf("%d attempts, want 3", n)
	}
}

// TestHedgeOff: CallNoRetry, WithoutRetries and a WithMethodPolicy edit turn
// hedging off; the call then runs like Invoker.Unary.
func TestHedgeOff(t *testing.T) {
	for _, tc := range []struct {
		name string
		inv  []Option
		call []grpc.CallOption
		want int
	}{
		{"CallNoRetry", nil, []grpc.CallOption{CallNoRetry()}, 1},
		{"WithoutRetries", []Option{WithoutRetries()}, nil, 1},
		{"edit: hedging off, retries on", []Option{WithMethodPolicy("/svcclient.test.Hedged/Get", func(p *MethodPolicy) { p.Hedging.MaxAttempts = 1 })}, nil, 4},
	} {
		t.Run(tc.name, func(t *testing.T) {
			inv := NewInvoker(hedgedPolicies(time.Millisecond), append([]Option{WithRand(fixedRand(0))}, tc.inv...)...)
			s := &stubAttempts{script: func(int, context.Context) (*wrapperspb.StringValue, error) {
				return nil, status.Error(codes.Unavailable, "down")
			}}
			_, _ = Hedge(context.Background(), inv, hedgedIdx, tc.call, wrapperspb.String(""), s.call)
			if n := len(s.attempts()); n != tc.want {
				t.Errorf("%d attempts, want %d", n, tc.want)
			}
		})
	}
}

// TestAttemptsErrorText: the text names the method and the count; the
// status (code, message, details) is the final error's.
func TestAttemptsErrorText(t *testing.T) {
	st, _ := status.New(codes.Unavailable, "down").WithDetails(wrapperspb.String("detail"))
	e := &AttemptsError{FullMethod: "/p.S/M", Attempts: 3, Err: st.Err()}
	if got, want := e.Error(), "/p.S/M: 3 attempts: rpc error: code = Unavailable desc = down"; got != want {
		t.Errorf("Error() = %q, want %q", got, want)
	}
	var err error = e
	if got := status.Convert(err); got.Code() != codes.Unavailable || got.Message() != "down" || len(got.Details()) != 1 {
		t.Errorf("status of an AttemptsError: %v, want the final status unchanged", got)
	}
	e.Throttled, e.LastAttempt, e.Attempts = true, errors.New("last"), 1
	if got, want := e.Error(), "/p.S/M: 1 attempt (retries throttled): rpc error: code = Unavailable desc = down (last attempt: last)"; got != want {
		t.Errorf("Error() = %q, want %q", got, want)
	}
}

// TestPages: Pages follows the tokens from the request's on, never changes
// the request, stops on an error, and refuses a server that answers a token
// with itself.
func TestPages(t *testing.T) {
	type page struct {
		items []string
		next  string
	}
	pages := map[string]page{"": {[]string{"a", "b"}, "t1"}, "t1": {[]string{"c"}, "t2"}, "t2": {nil, "t3"}, "t3": {[]string{"d"}, ""},
		"loop": {[]string{"x"}, "loop2"}, "loop2": {[]string{"y"}, "loop2"}}
	var asked []string
	call := func(_ context.Context, req *wrapperspb.StringValue, _ ...grpc.CallOption) (*page, error) {
		asked = append(asked, req.GetValue())
		if req.GetValue() == "fail" {
			return nil, status.Error(codes.Internal, "boom")
		}
		p := pages[req.GetValue()]
		return &p, nil
	}
	run := func(from string) (items []string, err error) {
		asked = nil
		in := wrapperspb.String(from)
		for it, e := range Pages(context.Background(), in, nil, call,
			func(r *wrapperspb.StringValue, token string) { r.Value = token },
			func(p *page) ([]string, string) { return p.items, p.next }) {
			if e != nil {
				err = e
				continue
			}
			items = append(items, it)
		}
		if in.GetValue() != from {
			t.Errorf("the request was changed to %q", in.GetValue())
		}
		return items, err
	}
	if items, err := run(""); err != nil || strings.Join(items, "") != "abcd" || strings.Join(asked, ",") != ",t1,t2,t3" {
		t.Errorf("all pages: %v, %v, asked %q", items, err, asked)
	}
	if items, err := run("t2"); err != nil || strings.Join(items, "") != "d" {
		t.Errorf("from t2: %v, %v", items, err)
	}
	if _, err := run("fail"); status.Code(err) != codes.Internal || status.Convert(err).Message() != "boom" {
		t.Errorf("failing page: %v", err)
	}
	if items, err := run("loop"); status.Code(err) != codes.Internal || strings.Join(items, "") != "xy" || len(asked) != 2 {
		t.Errorf("a token answered with itself: %v, %v after %d pages; want Internal after 2", items, err, len(asked))
	}
}

// TestCheckCallOptions: with the check installed, a per-call option given to
// a plain grpc client fails the call with a message naming it; through the
// wrapper, or without such options, calls work.
func TestCheckCallOptions(t *testing.T) {
	// Wrappers mark option lists once the check is in use: undo that for
	// the other tests (TestAllocations).
	t.Cleanup(func() { checking.Store(false) })
	e := newEnv(t, &server{}, CheckCallOptions()...)
	plain := healthpb.NewHealthClient(e.cc)
	w := e.wrapper()
	req := &healthpb.HealthCheckRequest{}
	ctx := context.Background()
	if _, err := plain.Check(ctx, req); err != nil {
		t.Errorf("plain call without our options: %v", err)
	}
	_, err := plain.Check(ctx, req, CallTimeout(time.Second))
	if status.Code(err) != codes.Internal || !strings.Contains(err.Error(), "svcclient: CallTimeout was given to a plain grpc client calling /grpc.health.v1.Health/Check") {
		t.Errorf("plain call with CallTimeout: %v, want Internal naming the option", err)
	}
	st, err := plain.Watch(ctx, req, CallNoRetry())
	if err == nil {
		_, err = st.Recv()
	}
	if status.Code(err) != codes.Internal || !strings.Contains(err.Error(), "CallNoRetry") {
		t.Errorf("plain stream with CallNoRetry: %v, want Internal naming the option", err)
	}
	for name, call := range map[string]func() error{
		"Check": func() error { _, err := w.Check(ctx, req, CallTimeout(time.Second), CallNoRetry()); return err },
		"Check with a hook": func() error {
			_, err := w.Check(ctx, req, CallHook(func(RetryEvent) {}))
			return err
		},
		"Watch": func() error { _, err := w.Watch(ctx, req, CallTimeout(time.Second)); return err },
		"Upload": func() error {
			st, err := e.streams().Upload(ctx, CallTimeout(time.Second))
			if err == nil {
				st.CloseSend()
			}
			return err
		},
	} {
		if err := call(); err != nil {
			t.Errorf("wrapper %s with per-call options: %v", name, err)
		}
	}
}
