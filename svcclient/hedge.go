package svcclient

import (
	"context"
	"slices"
	"sync"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/status"
)

// Hedge runs a unary call of the method at index method, hedged per its
// [HedgingPolicy]. Generated wrappers call it, instead of [Invoker.Unary],
// for the methods whose schema asks for hedging; call is the grpc-generated
// stub method. When hedging is off for the call ([CallNoRetry],
// [CallRetryPolicy], [WithoutRetries], or a [WithMethodPolicy] edit), the
// call runs like Invoker.Unary.
//
// Hedged attempts run on goroutines of their own, each with its own context
// derived from the call's (tagged with [RetryAttemptKey] after the first);
// they wait for the connection to be ready like retried attempts. When one
// answers with a success or a fatal error, the others are cancelled and Hedge
// waits for them to return, so nothing outlives the call. Every hedge is
// announced to the hooks (RetryEvent.Hedge) and, under retry throttling,
// every failed attempt takes a token and a throttled bucket sends no more
// hedges. The server's pushback is not read for hedged attempts. A failed
// call returns an [*AttemptsError].
func Hedge[Req, Resp any](ctx context.Context, inv *Invoker, method int, opts []grpc.CallOption, in *Req, call func(context.Context, *Req, ...grpc.CallOption) (*Resp, error)) (*Resp, error) {
	m := &inv.methods[method]
	s := inv.settings(m, opts)
	if s.hedge == nil {
		return Call(ctx, inv, method, opts, in, call) // Unary marks the options itself
	}
	ctx, cancel := inv.withTimeout(ctx, s.timeout)
	if cancel != nil {
		defer cancel()
	}
	h := s.hedge
	opts = s.mark(opts)
	callOpts := opts
	if inv.readyWait > 0 {
		callOpts = append([]grpc.CallOption{waitForReady}, opts...)
	}

	type result struct {
		out *Resp
		err error
	}
	results := make(chan result, h.MaxAttempts)
	cancels := make([]context.CancelFunc, 0, h.MaxAttempts)
	var wg sync.WaitGroup
	started := 0
	start := func() {
		started++
		actx := ctx
		if started > 1 {
			actx = tagRetry(ctx, started)
		}
		actx, gate, gcancel := inv.gate(actx)
		aopts := callOpts
		if gate != nil {
			aopts = append(callOpts[:len(callOpts):len(callOpts)], grpc.PerRPCCredentials(gate))
		} else {
			actx, gcancel = context.WithCancel(actx)
		}
		cancels = append(cancels, gcancel)
		wg.Go(func() {
			out, err := call(actx, in, aopts...)
			if gate != nil {
				if expired, gerr := gate.done(err); expired {
					err = gerr
				}
			}
			results <- result{out, err}
		})
	}
	// finish cancels the attempts still in flight and waits for them.
	finish := func() {
		for _, c := range cancels {
			c()
		}
		wg.Wait()
	}
	announce := func(err error) {
		ev := RetryEvent{Context: ctx, FullMethod: m.FullMethod, Attempt: started, Err: err, Hedge: true}
		if inv.hook != nil {
			inv.hook(ev)
		}
		if s.hook != nil {
			s.hook(ev)
		}
	}
	r := retrier{inv: inv, fullMethod: m.FullMethod}
	fail := func(err, last error) error {
		r.attempts = started
		return r.fail(err, last)
	}

	start()
	var timer Timer
	var tick <-chan time.Time
	arm := func() {
		if started < h.MaxAttempts && !r.throttled {
			timer = inv.clock.NewTimer(h.Delay)
			tick = timer.C()
		} else {
			tick = nil
		}
	}
	disarm := func() {
		if timer != nil {
			timer.Stop()
			timer, tick = nil, nil
		}
	}
	arm()
	defer disarm()
	running := 1
	var last error
	for {
		select {
		case res := <-results:
			running--
			if res.err == nil {
				inv.throttle.success()
				disarm()
				finish()
				return res.out, nil
			}
			last = res.err
			if !slices.Contains(h.NonFatalCodes, status.Code(res.err)) {
				disarm()
				finish()
				return nil, fail(res.err, nil)
			}
			if !inv.throttle.failure() {
				r.throttled = true
			}
			if started < h.MaxAttempts && !r.throttled && ctx.Err() == nil {
				disarm()
				announce(res.err)
				start()
				running++
				arm()
			} else if running == 0 {
				disarm()
				finish()
				if ctx.Err() != nil {
					return nil, fail(contextError(ctx), res.err)
				}
				return nil, fail(res.err, nil)
			}
		case <-tick:
			timer, tick = nil, nil
			if ctx.Err() == nil && !r.throttled {
				announce(nil)
				start()
				running++
			}
			arm()
		case <-ctx.Done():
			disarm()
			finish()
			return nil, fail(contextError(ctx), last)
		}
	}
}

// Call makes the unary call call(ctx, in, opts...) under inv's policy for
// method (its row of the policy table): the default deadline, retries with
// backoff, throttling and hooks. A generated wrapper's unary method is one
// call of it:
//
//	return svcclient.Call(ctx, c.inv, _Library_GetBook_svcPolicy, opts, in, c.client.GetBook)
func Call[Req, Resp any](ctx context.Context, inv *Invoker, method int, opts []grpc.CallOption, in *Req, call func(context.Context, *Req, ...grpc.CallOption) (*Resp, error)) (*Resp, error) {
	var out *Resp
	err := inv.Unary(ctx, method, opts, func(ctx context.Context, opts []grpc.CallOption) error {
		var err error
		out, err = call(ctx, in, opts...)
		return err
	})
	return out, err
}
