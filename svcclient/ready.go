package svcclient

import (
	"context"
	"sync/atomic"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// waitForReady is prepended to the options of every attempt of a call that
// may retry or hedge: while the connection is down (a server restarting,
// a replica dying), the attempt waits for it within the call's deadline
// instead of failing at once, so attempts are spent only on servers that
// answered. The caller's own grpc.WaitForReady(false), later in the list,
// still wins.
var waitForReady = grpc.WaitForReady(true)

// readyGate bounds the wait for a connection of one attempt of a call that
// has no deadline. grpc calls the gate's GetRequestMetadata (it is a
// per-RPC credential that adds nothing) once a transport was picked, i.e.
// the connection is ready; if the bound passes first, the attempt's context
// is cancelled.
type readyGate struct {
	state  atomic.Int32 // gateWaiting, gatePicked or gateExpired
	cancel context.CancelFunc
	timer  *time.Timer
	wait   time.Duration
}

const (
	gateWaiting = iota
	gatePicked
	gateExpired
)

// newReadyGate arms a gate that cancels the attempt (via cancel) unless a
// connection is picked within d.
func newReadyGate(d time.Duration, cancel context.CancelFunc) *readyGate {
	g := &readyGate{cancel: cancel, wait: d}
	g.timer = time.AfterFunc(d, func() {
		if g.state.CompareAndSwap(gateWaiting, gateExpired) {
			g.cancel()
		}
	})
	return g
}

// GetRequestMetadata records that a connection was picked.
func (g *readyGate) GetRequestMetadata(context.Context, ...string) (map[string]string, error) {
	if g.state.CompareAndSwap(gateWaiting, gatePicked) {
		g.timer.Stop()
	}
	return nil, nil
}

// RequireTransportSecurity is false: the gate sends nothing.
func (g *readyGate) RequireTransportSecurity() bool { return false }

// done ends the gate when the attempt returned (or its stream opened) and
// reports whether the gate expired first. err is the attempt's error; when
// the gate expired it is replaced by the Unavailable error that ends the
// call.
func (g *readyGate) done(err error) (expired bool, final error) {
	g.timer.Stop()
	if g.state.CompareAndSwap(gateWaiting, gatePicked) || g.state.Load() == gatePicked {
		return false, err
	}
	msg := "svcclient: no connection became ready within " + g.wait.String() + " (the call has no deadline; see WithReadyWait)"
	if err != nil {
		msg += ": " + status.Convert(err).Message()
	}
	return true, status.Error(codes.Unavailable, msg)
}

// gate prepares one attempt of a call that may retry or hedge, on ctx (the
// call's context, deadline applied). When the call has no deadline, the
// attempt gets its own context and a gate that cancels it unless a
// connection is ready within the Invoker's ready wait; otherwise ctx is
// returned as is and the call's deadline bounds the wait.
func (inv *Invoker) gate(ctx context.Context) (context.Context, *readyGate, context.CancelFunc) {
	if inv.readyWait <= 0 {
		return ctx, nil, nil
	}
	if _, ok := ctx.Deadline(); ok {
		return ctx, nil, nil
	}
	actx, cancel := context.WithCancel(ctx)
	return actx, newReadyGate(inv.readyWait, cancel), cancel
}
