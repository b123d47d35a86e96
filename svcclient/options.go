package svcclient

import (
	"context"
	"time"

	"google.golang.org/grpc"
)

// RetryEvent describes a retry or a hedge that is about to happen. Hooks
// receive it after an attempt failed (or, for a hedge, after the hedging
// delay passed) and before the next attempt starts.
type RetryEvent struct {
	// Context is the context of the call, derived from the caller's: its
	// values (a trace span, a request id) say whose call is retried. The
	// hook must not keep it; it may already be done when the event is
	// about a context that ended.
	Context context.Context
	// FullMethod is the gRPC method name, "/package.Service/Method".
	FullMethod string
	// Attempt is the number of attempts started so far; the next one is
	// Attempt+1.
	Attempt int
	// Err is the error of the attempt that just failed. It is nil for a
	// hedge sent because the hedging delay passed without an answer.
	Err error
	// Delay is how long the next attempt waits: the jittered backoff, or the
	// server's pushback. For a hedge it is 0: the hedge starts now.
	Delay time.Duration
	// Hedge reports that the next attempt is a hedge: it runs alongside the
	// attempts still in flight, and the first answer wins.
	Hedge bool
}

// Option configures an [Invoker], and so a generated wrapper. Options are
// named With...; the per-call options, which are grpc.CallOptions, are
// named Call....
type Option func(*config)

type config struct {
	hook      func(RetryEvent)
	clock     Clock
	rand      func() float64
	noRetries bool
	edits     []policyEdit
	throttle  *Throttling // nil: no throttling
	readyWait time.Duration
}

// policyEdit is a WithMethodPolicy or WithAllPolicies request, applied in
// order.
type policyEdit struct {
	all        bool
	fullMethod string
	edit       func(*MethodPolicy)
}

// WithHook sets a hook that sees every retry and hedge of every call, before
// the wait. It runs on the calling goroutine, so it must be quick and safe for
// concurrent use. A later WithHook replaces an earlier one; a per-call
// [CallHook] runs after it.
func WithHook(hook func(RetryEvent)) Option {
	return func(c *config) { c.hook = hook }
}

// WithClock replaces the real clock, for tests. See [Clock] for what it
// governs. A nil clock is ignored.
func WithClock(clock Clock) Option {
	return func(c *config) {
		if clock != nil {
			c.clock = clock
		}
	}
}

// WithRand replaces the jitter source, which must return values in [0, 1)
// and be safe for concurrent use (values outside are clamped). The default is
// math/rand/v2.Float64. A nil function is ignored.
func WithRand(rand func() float64) Option {
	return func(c *config) {
		if rand != nil {
			c.rand = rand
		}
	}
}

// WithoutRetries turns retrying and hedging off for every call of the
// Invoker, whatever the policies or per-call options say; deadlines still
// apply, and calls no longer wait for a connection to be ready. Use it when
// grpc retries instead, from the service config of [ServiceConfigJSON], so
// that attempts do not multiply.
func WithoutRetries() Option {
	return func(c *config) { c.noRetries = true }
}

// WithMethodPolicy edits the policy of one method, named
// "/package.Service/Method", before the Invoker is built. FullMethod and
// Kind are facts of the schema: changes to them are undone. A name that is
// not in the table, or an edit that leaves an invalid policy, makes
// [NewInvoker] (and so the generated constructors) panic; [CheckOptions]
// reports the same problems as an error.
func WithMethodPolicy(fullMethod string, edit func(*MethodPolicy)) Option {
	return func(c *config) {
		c.edits = append(c.edits, policyEdit{fullMethod: fullMethod, edit: edit})
	}
}

// WithPolicy is the old name of [WithMethodPolicy].
//
// Deprecated: use WithMethodPolicy, which says what it edits. WithPolicy
// will be removed in the next release.
func WithPolicy(fullMethod string, edit func(*MethodPolicy)) Option {
	return WithMethodPolicy(fullMethod, edit)
}

// WithAllPolicies edits the policy of every method, like [WithMethodPolicy];
// e.g. to set one timeout for a whole service.
func WithAllPolicies(edit func(*MethodPolicy)) Option {
	return func(c *config) {
		c.edits = append(c.edits, policyEdit{all: true, edit: edit})
	}
}

// Throttling is the retry throttling of gRFC A6: a token bucket per
// Invoker (so per generated wrapper) that starts full with MaxTokens. Every
// failed attempt whose code would be retried (or, when hedging, is
// non-fatal) takes one token; every successful attempt of a call that may
// retry gives back TokenRatio tokens, up to MaxTokens. While the bucket holds
// MaxTokens/2 tokens or fewer, no retry and no hedge starts: the call ends
// with the error it has. When most calls fail, retries then stop multiplying
// the load on the server.
type Throttling struct {
	// MaxTokens is the size of the bucket, in (0, 1000].
	MaxTokens float64
	// TokenRatio is what a success gives back, in (0, MaxTokens]; only three
	// decimal places count.
	TokenRatio float64
}

// DefaultThrottling returns the throttling of every Invoker unless
// [WithRetryThrottling] or [WithoutRetryThrottling] says otherwise: a bucket
// of 10 tokens, 0.1 back per success (the example of gRFC A6). From a full
// bucket, 5 failures in a row leave 5 tokens, and from then on nothing is
// retried until successes have refilled it (10 successes per token).
func DefaultThrottling() Throttling { return Throttling{MaxTokens: 10, TokenRatio: 0.1} }

// WithRetryThrottling replaces [DefaultThrottling]. Invalid values make
// NewInvoker panic and CheckOptions fail.
func WithRetryThrottling(t Throttling) Option {
	return func(c *config) { c.throttle = &t }
}

// WithoutRetryThrottling turns retry throttling off: every call retries up to
// its policy's MaxAttempts, however many calls fail.
func WithoutRetryThrottling() Option {
	return func(c *config) { c.throttle = nil }
}

// DefaultReadyWait bounds how long a call that may retry, and has no
// deadline at all, waits for a connection; see [WithReadyWait].
const DefaultReadyWait = 20 * time.Second

// WithReadyWait sets how long a call that may retry (or hedge) waits in
// total for the connection to become ready when it has no deadline at all
// (neither the caller's nor a default timeout: typically a server stream).
// After that the call fails with codes.Unavailable and is not retried. Calls
// with a deadline wait for a connection until their deadline, whatever d
// says. d <= 0 turns waiting for readiness off for every call: attempts then
// fail fast while the connection is down, and spend retries doing so, as
// plain grpc calls do. The default is [DefaultReadyWait].
func WithReadyWait(d time.Duration) Option {
	return func(c *config) { c.readyWait = d }
}

// Per-call options. They embed grpc.EmptyCallOption, which grpc documents for
// carrying data past it: grpc and interceptors ignore them, so they are left
// in the option list rather than filtered out at a cost. Passed to a plain
// grpc client (not a wrapper) they do nothing, unless the connection was
// built with CheckCallOptions.

type timeoutOption struct {
	grpc.EmptyCallOption
	d time.Duration
}

type noRetryOption struct{ grpc.EmptyCallOption }

type hookOption struct {
	grpc.EmptyCallOption
	hook func(RetryEvent)
}

type retryPolicyOption struct {
	grpc.EmptyCallOption
	p *RetryPolicy
}

// CallTimeout replaces the method's default timeout for one call. It never
// extends the caller's deadline; d <= 0 means no default timeout, so only the
// caller's deadline applies.
func CallTimeout(d time.Duration) grpc.CallOption {
	return timeoutOption{d: d}
}

// CallNoRetry makes one call a single attempt that does not wait for the
// connection to be ready (no retry, no hedge).
func CallNoRetry() grpc.CallOption {
	return noRetryOption{}
}

// CallHook sets a hook that sees the retries and hedges of one call, after
// the Invoker's [WithHook].
func CallHook(hook func(RetryEvent)) grpc.CallOption {
	return hookOption{hook: hook}
}

// CallRetryPolicy replaces the method's retry policy for one call. It is the
// caller's word that the call is safe to retry. An invalid policy (see
// [RetryPolicy.Validate]) means no retry. It cannot turn retries on for
// client-streaming or bidi calls, nor for an Invoker built with
// [WithoutRetries]; on a hedged method it replaces hedging with retries.
func CallRetryPolicy(p RetryPolicy) grpc.CallOption {
	p = p.clone()
	return retryPolicyOption{p: &p}
}

// WithTimeout is the old name of [CallTimeout].
//
// Deprecated: use CallTimeout; per-call options are now named Call... so
// that they cannot be mistaken for wrapper options. WithTimeout will be
// removed in the next release.
func WithTimeout(d time.Duration) grpc.CallOption { return CallTimeout(d) }

// WithoutRetry is the old name of [CallNoRetry].
//
// Deprecated: use CallNoRetry, easier to tell from the wrapper option
// [WithoutRetries]. WithoutRetry will be removed in the next release.
func WithoutRetry() grpc.CallOption { return CallNoRetry() }

// WithRetryHook is the old name of [CallHook].
//
// Deprecated: use CallHook, easier to tell from the wrapper option
// [WithHook]. WithRetryHook will be removed in the next release.
func WithRetryHook(hook func(RetryEvent)) grpc.CallOption { return CallHook(hook) }

// WithRetryPolicy is the old name of [CallRetryPolicy].
//
// Deprecated: use CallRetryPolicy, easier to tell from the wrapper option
// [WithMethodPolicy]. WithRetryPolicy will be removed in the next release.
func WithRetryPolicy(p RetryPolicy) grpc.CallOption { return CallRetryPolicy(p) }

// callSettings is what one call uses, after per-call options.
type callSettings struct {
	timeout time.Duration
	retry   *RetryPolicy   // nil: no retry
	hedge   *HedgingPolicy // nil: no hedging; never set together with retry
	hook    func(RetryEvent)
	ours    bool // opts hold per-call options of this package
}

// handledOption marks an option list that a wrapper has read, for
// [CheckCallOptions].
type handledOption struct{ grpc.EmptyCallOption }

// mark returns opts with a handledOption appended when they hold options of
// this package and CheckCallOptions is in use in the process, so that it
// lets the call through. It copies (allocates) only then.
func (s *callSettings) mark(opts []grpc.CallOption) []grpc.CallOption {
	if !s.ours || !checking.Load() {
		return opts
	}
	return append(opts[:len(opts):len(opts)], handledOption{})
}

// settings resolves the per-call options of opts against the method m. It
// does not allocate: the options are recognised by a type switch.
func (inv *Invoker) settings(m *method, opts []grpc.CallOption) callSettings {
	s := callSettings{timeout: m.Timeout}
	if m.hedges {
		s.hedge = &m.Hedging
	} else if m.retries {
		s.retry = &m.Retry
	}
	noRetry := false
	for _, o := range opts {
		switch o := o.(type) {
		case timeoutOption:
			s.timeout, s.ours = o.d, true
		case noRetryOption:
			noRetry, s.ours = true, true
		case hookOption:
			s.hook, s.ours = o.hook, true
		case retryPolicyOption:
			s.retry, s.hedge, s.ours = nil, nil, true
			if m.retryable && o.p.retries() {
				s.retry = o.p
			}
		}
	}
	if noRetry || inv.noRetries {
		s.retry, s.hedge = nil, nil
	}
	return s
}
