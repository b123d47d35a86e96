package svcclient

import (
	"context"
	"math"
	"slices"
	"strconv"
	"time"

	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
)

// Clock is the time source of an Invoker, replaceable with [WithClock] so
// that tests control backoff waits.
//
// Now anchors deadlines: a call's deadline is Now() + timeout. Contexts
// expire on the real clock, so a fake Now must stay close to real time (a
// fixed real instant taken at the start of a test is fine). NewTimer is used
// for the waits between attempts and nothing else.
type Clock interface {
	Now() time.Time
	NewTimer(d time.Duration) Timer
}

// Timer is the part of *time.Timer that an Invoker uses. Every Timer it
// creates is either drained through C or stopped.
type Timer interface {
	C() <-chan time.Time
	Stop() bool
}

type realClock struct{}

func (realClock) Now() time.Time                 { return time.Now() }
func (realClock) NewTimer(d time.Duration) Timer { return realTimer{time.NewTimer(d)} }

type realTimer struct{ t *time.Timer }

func (t realTimer) C() <-chan time.Time { return t.t.C }
func (t realTimer) Stop() bool          { return t.t.Stop() }

// pushbackKey is the trailer with which a server asks for a retry delay in
// milliseconds (gRFC A6).
const pushbackKey = "grpc-retry-pushback-ms"

// retrier holds the retry state of one call.
type retrier struct {
	inv        *Invoker
	fullMethod string
	policy     *RetryPolicy // nil: never retry
	hook       func(RetryEvent)
	attempts   int  // attempts started so far
	throttled  bool // throttling refused a retry
	backoffs   int  // computed backoffs since the start or the last pushback
}

// retry decides what follows the failure err of the latest attempt, whose
// trailer (possibly nil) may carry the server's pushback. It returns nil
// after waiting when another attempt should start. Otherwise it returns the
// error that ends the call, an *AttemptsError around err itself when the
// failure is final, or around the status error for ctx when ctx ended
// before the next attempt could start.
func (r *retrier) retry(ctx context.Context, err error, trailer metadata.MD) error {
	p := r.policy
	if p == nil || !slices.Contains(p.RetryableCodes, status.Code(err)) {
		return r.fail(err, nil)
	}
	allowed := r.inv.throttle.failure() // every such failure takes a token
	if r.attempts >= p.MaxAttempts {
		return r.fail(err, nil)
	}
	if !allowed {
		r.throttled = true
		return r.fail(err, nil)
	}
	delay, ok := r.delay(trailer)
	if !ok {
		return r.fail(err, nil)
	}
	if ctx.Err() != nil {
		return r.fail(contextError(ctx), err)
	}
	ev := RetryEvent{Context: ctx, FullMethod: r.fullMethod, Attempt: r.attempts, Err: err, Delay: delay}
	if r.inv.hook != nil {
		r.inv.hook(ev)
	}
	if r.hook != nil {
		r.hook(ev)
	}
	if serr := r.inv.sleep(ctx, delay); serr != nil {
		return r.fail(serr, err)
	}
	return nil
}

// fail wraps the error that ends a call that could retry. last is the
// failed attempt's error when err is not it.
func (r *retrier) fail(err, last error) error {
	return &AttemptsError{FullMethod: r.fullMethod, Attempts: r.attempts, Err: err, LastAttempt: last, Throttled: r.throttled}
}

// delay returns the wait before the next attempt, and false if the server's
// pushback forbids one. A valid pushback is used as is and restarts the
// exponential sequence, as gRFC A6 specifies.
func (r *retrier) delay(trailer metadata.MD) (time.Duration, bool) {
	if d, present, valid := pushback(trailer); present {
		r.backoffs = 0
		return d, valid
	}
	d := backoff(r.policy, r.backoffs, r.inv.rand())
	r.backoffs++
	return d, true
}

// backoff returns the wait before retry n+1 (n >= 0 computed backoffs before
// it): jitter * min(MaxBackoff, InitialBackoff * BackoffMultiplier^n), the
// "full jitter" of gRFC A6. jitter is clamped to [0, 1].
func backoff(p *RetryPolicy, n int, jitter float64) time.Duration {
	bound := math.Min(float64(p.InitialBackoff)*math.Pow(p.BackoffMultiplier, float64(n)), float64(p.MaxBackoff))
	if !(jitter > 0) { // also catches NaN
		return 0
	}
	d := math.Min(jitter, 1) * bound
	if d >= math.MaxInt64 {
		return math.MaxInt64
	}
	return time.Duration(d)
}

// pushback parses the server's retry pushback. present reports whether the
// trailer was sent; valid whether it is a single non-negative integer. Per
// gRFC A6 anything else means "do not retry".
func pushback(trailer metadata.MD) (d time.Duration, present, valid bool) {
	vs := trailer[pushbackKey]
	if len(vs) == 0 {
		return 0, false, false
	}
	if len(vs) > 1 {
		return 0, true, false
	}
	ms, err := strconv.ParseInt(vs[0], 10, 64)
	if err != nil || ms < 0 {
		return 0, true, false
	}
	if ms > math.MaxInt64/int64(time.Millisecond) {
		return math.MaxInt64, true, true
	}
	return time.Duration(ms) * time.Millisecond, true, true
}

// sleep waits d or until ctx ends, whichever comes first. The timer is
// stopped when ctx wins, so an abandoned wait leaves nothing behind.
func (inv *Invoker) sleep(ctx context.Context, d time.Duration) error {
	if d > 0 {
		t := inv.clock.NewTimer(d)
		select {
		case <-ctx.Done():
			t.Stop()
			return contextError(ctx)
		case <-t.C():
		}
	}
	// Both may have happened at once; a done context starts no attempt.
	if ctx.Err() != nil {
		return contextError(ctx)
	}
	return nil
}
