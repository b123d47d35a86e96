package svcclient

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"strconv"
	"sync"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
)

// RetryAttemptKey is the outgoing metadata key that tags retries. Its value is
// the number of previous attempts of the call: "1" on the first retry. First
// attempts carry no tag.
const RetryAttemptKey = "svc-retry-attempt"

// Invoker runs the calls of one service under its policy table. Generated
// wrappers hold one and refer to methods by their index in the table given
// to [NewInvoker]. An Invoker is immutable and safe for concurrent use.
type Invoker struct {
	methods   []method
	hook      func(RetryEvent)
	clock     Clock
	rand      func() float64
	noRetries bool
	errs      []error // problems found while building; see Validate
}

// method is a policy with what the Invoker derived from it once, so that
// calls do not re-validate it.
type method struct {
	MethodPolicy
	retryable bool // Kind allows retries at all
	retries   bool // retryable, the policy retries and the Invoker allows it
}

// NewInvoker returns an Invoker for policies, the table of one service. The
// table is copied, so later changes to it have no effect. Options that name
// unknown methods, and invalid retry policies, never make NewInvoker fail:
// they are reported by [Invoker.Validate], and an invalid retry policy means
// that the method is not retried.
func NewInvoker(policies []MethodPolicy, opts ...Option) *Invoker {
	cfg := config{clock: realClock{}, rand: rand.Float64}
	for _, o := range opts {
		o(&cfg)
	}
	inv := &Invoker{
		methods:   make([]method, len(policies)),
		hook:      cfg.hook,
		clock:     cfg.clock,
		rand:      cfg.rand,
		noRetries: cfg.noRetries,
	}
	for i, p := range ClonePolicies(policies) {
		inv.methods[i].MethodPolicy = p
	}
	for _, e := range cfg.edits {
		inv.edit(e)
	}
	for i := range inv.methods {
		m := &inv.methods[i]
		m.retryable = m.Kind == Unary || m.Kind == ServerStreaming
		m.retries = m.retryable && !inv.noRetries && m.Retry.retries()
		if err := m.Retry.Validate(); err != nil {
			inv.errs = append(inv.errs, fmt.Errorf("%s: %w", m.FullMethod, err))
		}
	}
	return inv
}

// edit applies one WithPolicy or WithAllPolicies option.
func (inv *Invoker) edit(e policyEdit) {
	if e.edit == nil {
		return
	}
	found := false
	for i := range inv.methods {
		m := &inv.methods[i]
		if !e.all && m.FullMethod != e.fullMethod {
			continue
		}
		found = true
		name, kind := m.FullMethod, m.Kind
		e.edit(&m.MethodPolicy)
		m.FullMethod, m.Kind = name, kind
		// The edit may have kept the caller's RetryableCodes slice; own it.
		m.Retry = m.Retry.clone()
	}
	if !found && !e.all {
		inv.errs = append(inv.errs, fmt.Errorf("svcclient: WithPolicy: unknown method %q", e.fullMethod))
	}
}

// Validate reports what NewInvoker could not honour: options naming methods
// that are not in the table, and invalid retry policies (those methods are
// not retried). Calls work either way; Validate exists so that a
// misconfiguration can fail a test or a start-up check instead of passing
// silently.
func (inv *Invoker) Validate() error {
	return errors.Join(inv.errs...)
}

// Policies returns a copy of the effective policy table, after options.
func (inv *Invoker) Policies() []MethodPolicy {
	out := make([]MethodPolicy, len(inv.methods))
	for i := range inv.methods {
		out[i] = inv.methods[i].MethodPolicy
		out[i].Retry = out[i].Retry.clone()
	}
	return out
}

// Unary runs a unary call of the method at index method. call performs one
// attempt with the context and options it is given, typically by calling the
// grpc-generated stub; it runs once per attempt on the calling goroutine.
//
// The result is nil, the error of the last attempt unchanged, or, when the
// call's context ended before a retry could start, a status error with code
// DeadlineExceeded or Canceled. method must be a valid index into the table
// given to NewInvoker.
func (inv *Invoker) Unary(ctx context.Context, method int, opts []grpc.CallOption, call func(ctx context.Context, opts []grpc.CallOption) error) error {
	m := &inv.methods[method]
	s := inv.settings(m, opts)
	ctx, cancel := inv.withTimeout(ctx, s.timeout)
	if cancel != nil {
		defer cancel()
	}
	if s.retry == nil {
		// The common fast path: one attempt, nothing else to set up.
		return call(ctx, opts)
	}
	return inv.retryUnary(ctx, m, &s, opts, call)
}

// unaryScratch holds what a retrying unary call needs across attempts: the
// trailer that grpc.Trailer fills (it carries the server's pushback) and room
// for the caller's options plus that one. The caller's slice is never
// appended to, since its spare capacity may be in use.
//
// Scratches are pooled: grpc fills the trailer and is done with the options
// before a unary Invoke returns, so a scratch is free again when the call
// ends. (A client interceptor that kept using the options after returning
// would break that; none of grpc's does.)
type unaryScratch struct {
	trailer metadata.MD
	buf     [4]grpc.CallOption
}

var scratchPool = sync.Pool{New: func() any { return new(unaryScratch) }}

// putScratch clears sc, so the pool holds no references, and returns it.
func putScratch(sc *unaryScratch) {
	*sc = unaryScratch{}
	scratchPool.Put(sc)
}

func (inv *Invoker) retryUnary(ctx context.Context, m *method, s *callSettings, opts []grpc.CallOption, call func(context.Context, []grpc.CallOption) error) error {
	sc := scratchPool.Get().(*unaryScratch)
	defer putScratch(sc)
	callOpts := append(sc.buf[:0], opts...)
	callOpts = append(callOpts, grpc.Trailer(&sc.trailer))
	r := retrier{inv: inv, fullMethod: m.FullMethod, policy: s.retry, hook: s.hook}
	for {
		r.attempts++
		actx := ctx
		if r.attempts > 1 {
			actx = tagRetry(ctx, r.attempts)
		}
		// Only an attempt with its own deadline gets its own context: it owns
		// a timer, released as soon as the attempt ends. Other attempts run
		// on the call's context and hold nothing of their own.
		var acancel context.CancelFunc
		if d := s.retry.PerAttemptTimeout; d > 0 {
			actx, acancel = inv.withTimeout(actx, d)
		}
		sc.trailer = nil
		err := call(actx, callOpts)
		if acancel != nil {
			acancel()
		}
		if err == nil {
			return nil
		}
		if err = r.retry(ctx, err, sc.trailer); err != nil {
			return err
		}
	}
}

// tagRetry marks attempt (1-based, > 1) as a retry in outgoing metadata. It
// always starts from the call's context, so an attempt carries one tag.
func tagRetry(ctx context.Context, attempt int) context.Context {
	return metadata.AppendToOutgoingContext(ctx, RetryAttemptKey, strconv.Itoa(attempt-1))
}

// withTimeout bounds ctx by now+d, unless d <= 0 or ctx already ends no later.
// It returns a nil cancel when it did not derive a context, which saves the
// allocations of context.WithDeadline on calls the caller bounds tighter.
func (inv *Invoker) withTimeout(ctx context.Context, d time.Duration) (context.Context, context.CancelFunc) {
	if d <= 0 {
		return ctx, nil
	}
	deadline := inv.clock.Now().Add(d)
	if cur, ok := ctx.Deadline(); ok && !deadline.Before(cur) {
		return ctx, nil
	}
	return context.WithDeadline(ctx, deadline)
}

// contextError converts the end of ctx to the status error grpc itself
// returns for it: codes.DeadlineExceeded or codes.Canceled.
func contextError(ctx context.Context) error {
	return status.FromContextError(ctx.Err()).Err()
}
