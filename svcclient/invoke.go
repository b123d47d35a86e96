package svcclient

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"
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
// to [NewInvoker]. An Invoker is safe for concurrent use; its only mutable
// state is the retry-throttling bucket.
type Invoker struct {
	methods   []method
	hook      func(RetryEvent)
	clock     Clock
	rand      func() float64
	noRetries bool
	throttle  *throttle // nil: no throttling
	readyWait time.Duration
}

// method is a policy with what the Invoker derived from it once, so that
// calls do not re-validate it.
type method struct {
	MethodPolicy
	retryable bool // Kind allows retries at all
	retries   bool // retryable, the policy retries and the Invoker allows it
	hedges    bool // hedging is on (then retries is false)
}

// NewInvoker returns an Invoker for policies, the table of one service. The
// table is copied, so later changes to it have no effect.
//
// NewInvoker panics if an option is wrong: [WithMethodPolicy] naming a
// method that is not in the table, an edit that leaves an invalid retry or
// hedging policy or turns hedging on for a method whose table has none, or
// invalid [WithRetryThrottling] values. Such options are mistakes in the
// program, found at start-up like a bad pattern given to
// http.ServeMux.Handle; the message names the option and the method.
// Options built at run time (from a configuration file, say) should be
// checked first with [CheckOptions], which reports the same problems as an
// error.
func NewInvoker(policies []MethodPolicy, opts ...Option) *Invoker {
	inv, err := newInvoker(policies, opts)
	if err != nil {
		panic(err)
	}
	return inv
}

// CheckOptions reports, as an error, every problem that would make
// [NewInvoker] (and so a generated NewXWrapper or WrapXClient) panic with
// the same policies and options; nil means they are fine. Generated code
// exports a service's table as XMethodPolicies():
//
//	if err := svcclient.CheckOptions(pb.LibraryMethodPolicies(), opts...); err != nil {
//		return fmt.Errorf("library client: %w", err)
//	}
//	client := pb.NewLibraryWrapper(conn, opts...)
func CheckOptions(policies []MethodPolicy, opts ...Option) error {
	_, err := newInvoker(policies, opts)
	return err
}

func newInvoker(policies []MethodPolicy, opts []Option) (*Invoker, error) {
	throttling := DefaultThrottling()
	cfg := config{clock: realClock{}, rand: rand.Float64, throttle: &throttling, readyWait: DefaultReadyWait}
	for _, o := range opts {
		o(&cfg)
	}
	inv := &Invoker{
		methods:   make([]method, len(policies)),
		hook:      cfg.hook,
		clock:     cfg.clock,
		rand:      cfg.rand,
		noRetries: cfg.noRetries,
		readyWait: cfg.readyWait,
	}
	var errs []error
	if cfg.throttle != nil {
		if err := cfg.throttle.validate(); err != nil {
			errs = append(errs, err)
		} else {
			inv.throttle = newThrottle(*cfg.throttle)
		}
	}
	canHedge := make([]bool, len(policies))
	for i, p := range ClonePolicies(policies) {
		inv.methods[i].MethodPolicy = p
		canHedge[i] = p.Kind == Unary && p.Hedging.MaxAttempts > 1
	}
	for _, e := range cfg.edits {
		if err := inv.edit(e); err != nil {
			errs = append(errs, err)
		}
	}
	for i := range inv.methods {
		m := &inv.methods[i]
		m.retryable = m.Kind == Unary || m.Kind == ServerStreaming
		if err := m.Retry.Validate(); err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", m.FullMethod, err))
		}
		if err := m.Hedging.Validate(); err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", m.FullMethod, err))
		}
		if m.Hedging.MaxAttempts > 1 && !canHedge[i] {
			errs = append(errs, fmt.Errorf("svcclient: %s: hedging is only possible for unary methods whose schema asks for it ((svc.v1.method).hedging on a NO_SIDE_EFFECTS method)", m.FullMethod))
		}
		m.hedges = canHedge[i] && !inv.noRetries && m.Hedging.hedges()
		m.retries = !m.hedges && m.retryable && !inv.noRetries && m.Retry.retries()
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return inv, nil
}

// edit applies one WithMethodPolicy or WithAllPolicies option.
func (inv *Invoker) edit(e policyEdit) error {
	if e.edit == nil {
		return nil
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
		// The edit may have kept the caller's slices; own them.
		m.Retry = m.Retry.clone()
		m.Hedging.NonFatalCodes = slices.Clone(m.Hedging.NonFatalCodes)
	}
	if !found && !e.all {
		names := make([]string, len(inv.methods))
		for i := range inv.methods {
			names[i] = inv.methods[i].FullMethod
		}
		return fmt.Errorf("svcclient: WithMethodPolicy: unknown method %q; the methods are %s", e.fullMethod, strings.Join(names, ", "))
	}
	return nil
}

// Validate reports nothing since options are checked by [NewInvoker].
//
// Deprecated: NewInvoker now rejects wrong options (see [CheckOptions]);
// Validate always returns nil and will be removed in the next release.
func (inv *Invoker) Validate() error {
	return nil
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
// A call that cannot retry makes one attempt and returns its error
// unchanged. A call that may retry waits, in each attempt, for the
// connection to be ready (see [WithReadyWait]) and, when it fails, returns
// an [*AttemptsError] that keeps the final status. method must be a valid
// index into the table given to NewInvoker.
func (inv *Invoker) Unary(ctx context.Context, method int, opts []grpc.CallOption, call func(ctx context.Context, opts []grpc.CallOption) error) error {
	m := &inv.methods[method]
	s := inv.settings(m, opts)
	opts = s.mark(opts)
	ctx, cancel := inv.withTimeout(ctx, s.timeout)
	if cancel != nil {
		defer cancel()
	}
	if s.retry == nil {
		// The common fast path: one attempt, nothing else to set up. A
		// hedging policy is served by Hedge; reached here (it cannot be, from
		// generated code) the call is a single attempt.
		return call(ctx, opts)
	}
	return inv.retryUnary(ctx, m, &s, opts, call)
}

// unaryScratch holds what a retrying unary call needs across attempts: the
// trailer that grpc.Trailer fills (it carries the server's pushback) and room
// for the caller's options plus ours. The caller's slice is never appended
// to, since its spare capacity may be in use.
//
// Scratches are pooled: grpc fills the trailer and is done with the options
// before a unary Invoke returns, so a scratch is free again when the call
// ends. (A client interceptor that kept using the options after returning
// would break that; none of grpc's does.)
type unaryScratch struct {
	trailer metadata.MD
	buf     [5]grpc.CallOption
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
	callOpts := sc.buf[:0]
	if inv.readyWait > 0 {
		callOpts = append(callOpts, waitForReady)
	}
	callOpts = append(callOpts, opts...)
	callOpts = append(callOpts, grpc.Trailer(&sc.trailer))
	gated := callOpts // with a gate appended, when the call has no deadline
	r := retrier{inv: inv, fullMethod: m.FullMethod, policy: s.retry, hook: s.hook}
	for {
		r.attempts++
		actx := ctx
		if r.attempts > 1 {
			actx = tagRetry(ctx, r.attempts)
		}
		actx, gate, gcancel := inv.gate(actx)
		if gate != nil && len(gated) == len(callOpts) {
			gated = append(callOpts[:len(callOpts):len(callOpts)], nil)
		}
		attemptOpts := callOpts
		if gate != nil {
			gated[len(gated)-1] = grpc.PerRPCCredentials(gate)
			attemptOpts = gated
		}
		// Only an attempt with its own deadline gets its own context: it owns
		// a timer, released as soon as the attempt ends. Other attempts run
		// on the call's context and hold nothing of their own.
		var acancel context.CancelFunc
		if d := s.retry.PerAttemptTimeout; d > 0 {
			actx, acancel = inv.withTimeout(actx, d)
		}
		sc.trailer = nil
		err := call(actx, attemptOpts)
		if acancel != nil {
			acancel()
		}
		if gate != nil {
			expired, gerr := gate.done(err)
			gcancel()
			if expired {
				return r.fail(gerr, nil)
			}
		}
		if err == nil {
			inv.throttle.success()
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
