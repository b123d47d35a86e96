package svcclient

import (
	"time"

	"google.golang.org/grpc"
)

// RetryEvent describes a retry that is about to happen. Hooks receive it after
// an attempt failed and before the wait that precedes the next attempt.
type RetryEvent struct {
	// FullMethod is the gRPC method name, "/package.Service/Method".
	FullMethod string
	// Attempt is the 1-based number of the attempt that just failed.
	Attempt int
	// Err is the error of that attempt.
	Err error
	// Delay is how long the next attempt waits: the jittered backoff, or the
	// server's pushback.
	Delay time.Duration
}

// Option configures an [Invoker].
type Option func(*config)

type config struct {
	hook      func(RetryEvent)
	clock     Clock
	rand      func() float64
	noRetries bool
	edits     []policyEdit
}

// policyEdit is a WithPolicy or WithAllPolicies request, applied in order.
type policyEdit struct {
	all        bool
	fullMethod string
	edit       func(*MethodPolicy)
}

// WithHook sets a hook that sees every retry of every call, before the wait.
// It runs on the calling goroutine, so it must be quick and safe for
// concurrent use. A later WithHook replaces an earlier one; a per-call
// [WithRetryHook] runs after it.
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

// WithoutRetries turns retrying off for every call of the Invoker, whatever
// the policies or per-call options say; deadlines still apply. Use it when
// grpc retries instead, from the service config of [ServiceConfigJSON], so
// that attempts do not multiply.
func WithoutRetries() Option {
	return func(c *config) { c.noRetries = true }
}

// WithPolicy edits the policy of one method, named "/package.Service/Method",
// before the Invoker is built. FullMethod and Kind are facts of the schema:
// changes to them are undone. A name that is not in the table changes nothing
// and is reported by [Invoker.Validate].
func WithPolicy(fullMethod string, edit func(*MethodPolicy)) Option {
	return func(c *config) {
		c.edits = append(c.edits, policyEdit{fullMethod: fullMethod, edit: edit})
	}
}

// WithAllPolicies edits the policy of every method, like [WithPolicy]; e.g.
// to set one timeout for a whole service.
func WithAllPolicies(edit func(*MethodPolicy)) Option {
	return func(c *config) {
		c.edits = append(c.edits, policyEdit{all: true, edit: edit})
	}
}

// Per-call options. They embed grpc.EmptyCallOption, which grpc documents for
// carrying data past it: grpc and interceptors ignore them, so they are left
// in the option list rather than filtered out at a cost.

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

// WithTimeout replaces the method's default timeout for one call. It never
// extends the caller's deadline; d <= 0 means no default timeout, so only the
// caller's deadline applies.
func WithTimeout(d time.Duration) grpc.CallOption {
	return timeoutOption{d: d}
}

// WithoutRetry makes one call a single attempt.
func WithoutRetry() grpc.CallOption {
	return noRetryOption{}
}

// WithRetryHook sets a hook that sees the retries of one call, after the
// Invoker's [WithHook].
func WithRetryHook(hook func(RetryEvent)) grpc.CallOption {
	return hookOption{hook: hook}
}

// WithRetryPolicy replaces the method's retry policy for one call. It is the
// caller's word that the call is safe to retry. An invalid policy (see
// [RetryPolicy.Validate]) means no retry. It cannot turn retries on for
// client-streaming or bidi calls, nor for an Invoker built with
// [WithoutRetries].
func WithRetryPolicy(p RetryPolicy) grpc.CallOption {
	p = p.clone()
	return retryPolicyOption{p: &p}
}

// callSettings is what one call uses, after per-call options.
type callSettings struct {
	timeout time.Duration
	retry   *RetryPolicy // nil: a single attempt
	hook    func(RetryEvent)
}

// settings resolves the per-call options of opts against the method m. It
// does not allocate: the options are recognised by a type switch.
func (inv *Invoker) settings(m *method, opts []grpc.CallOption) callSettings {
	s := callSettings{timeout: m.Timeout}
	if m.retries {
		s.retry = &m.Retry
	}
	noRetry := false
	for _, o := range opts {
		switch o := o.(type) {
		case timeoutOption:
			s.timeout = o.d
		case noRetryOption:
			noRetry = true
		case hookOption:
			s.hook = o.hook
		case retryPolicyOption:
			s.retry = nil
			if m.retryable && o.p.retries() {
				s.retry = o.p
			}
		}
	}
	if noRetry || inv.noRetries {
		s.retry = nil
	}
	return s
}
