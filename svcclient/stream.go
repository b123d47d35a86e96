package svcclient

import (
	"context"
	"io"
	"iter"
	"sync"

	"google.golang.org/grpc"
	"google.golang.org/grpc/metadata"
)

// ServerStream opens a server-streaming call of the method at index method.
// open opens one attempt, typically by calling the grpc-generated stub.
//
// The call's deadline covers the whole stream. Until a message has reached
// the caller, a failure to open the stream or to receive its first message
// is retried like a unary attempt, by opening the stream again; after that,
// errors are returned as they are. The stream releases its context as soon
// as RecvMsg (or Recv) returns an error, io.EOF included.
//
// Header, Trailer and Context describe the current attempt.
func ServerStream[Resp any](ctx context.Context, inv *Invoker, method int, opts []grpc.CallOption, open func(ctx context.Context, opts []grpc.CallOption) (grpc.ServerStreamingClient[Resp], error)) (grpc.ServerStreamingClient[Resp], error) {
	m := &inv.methods[method]
	s := inv.settings(m, opts)
	opts = s.mark(opts)
	cctx, cancel := inv.withTimeout(ctx, s.timeout)
	if cancel == nil && s.retry == nil {
		// No deadline of ours to release and nothing to retry: the plain
		// stream is all the caller needs.
		return open(ctx, opts)
	}
	st, err := openServerStream(cctx, cancel, inv, m, &s, opts, open)
	if err != nil {
		return nil, err
	}
	return st, nil
}

// Seq runs a server-streaming call like [ServerStream] and yields its
// messages. A failure ends the sequence with a single (nil, err); a stream
// that ends normally just ends the sequence. Breaking out of the loop early
// cancels the call and releases everything. Each range over the sequence
// makes a new call.
func Seq[Resp any](ctx context.Context, inv *Invoker, method int, opts []grpc.CallOption, open func(ctx context.Context, opts []grpc.CallOption) (grpc.ServerStreamingClient[Resp], error)) iter.Seq2[*Resp, error] {
	return func(yield func(*Resp, error) bool) {
		m := &inv.methods[method]
		s := inv.settings(m, opts)
		opts := s.mark(opts)
		cctx, cancel := inv.withTimeout(ctx, s.timeout)
		// Unlike ServerStream, always own a cancel: an early break must be
		// able to end the stream.
		st, err := openServerStream(cctx, cancel, inv, m, &s, opts, open)
		if err != nil {
			yield(nil, err)
			return
		}
		defer st.cancel()
		for {
			msg, err := st.Recv()
			if err != nil {
				if err != io.EOF {
					yield(nil, err)
				}
				return
			}
			if !yield(msg, nil) {
				return
			}
		}
	}
}

// serverStream is a server stream that is reopened on retryable failures
// until its first message reached the caller. RecvMsg must not be called
// concurrently (as with any grpc stream); the other methods may be called
// from other goroutines, hence mu.
type serverStream[Resp any] struct {
	ctx    context.Context // the call's context
	cancel context.CancelFunc
	open   func(context.Context, []grpc.CallOption) (grpc.ServerStreamingClient[Resp], error)
	opts   []grpc.CallOption
	r      retrier

	gated    bool  // attempts wait for a connection at most the ready wait
	received bool  // a message reached the caller: no more retries
	err      error // the error that ended the stream, returned again by later RecvMsg calls

	mu      sync.Mutex
	cur     grpc.ServerStreamingClient[Resp]
	attempt context.CancelFunc // releases cur's context; nil when cur runs on ctx
}

var _ grpc.ServerStreamingClient[struct{}] = (*serverStream[struct{}])(nil)

// openServerStream opens the first attempt of a stream, retrying per policy.
// cancel releases ctx; if it is nil, ctx is wrapped in a cancelable one.
func openServerStream[Resp any](ctx context.Context, cancel context.CancelFunc, inv *Invoker, m *method, s *callSettings, opts []grpc.CallOption, open func(context.Context, []grpc.CallOption) (grpc.ServerStreamingClient[Resp], error)) (*serverStream[Resp], error) {
	if cancel == nil {
		ctx, cancel = context.WithCancel(ctx)
	}
	st := &serverStream[Resp]{
		ctx:    ctx,
		cancel: cancel,
		open:   open,
		opts:   opts,
		r:      retrier{inv: inv, fullMethod: m.FullMethod, policy: s.retry, hook: s.hook},
	}
	if s.retry != nil && inv.readyWait > 0 {
		// Attempts wait for a connection; see Invoker.Unary.
		st.opts = append([]grpc.CallOption{waitForReady}, opts...)
		_, hasDeadline := ctx.Deadline()
		st.gated = !hasDeadline
	}
	if final, err := st.openAttempt(); err != nil {
		if final {
			cancel()
			return nil, err
		}
		if err = st.reopen(err, nil); err != nil {
			cancel()
			return nil, err
		}
	}
	return st, nil
}

// openAttempt opens the next attempt. When the stream may be retried, each
// attempt gets its own context, so that a failed one is released before the
// next one opens. final reports an error that ends the stream at once: no
// connection became ready within the ready wait.
func (s *serverStream[Resp]) openAttempt() (final bool, err error) {
	s.r.attempts++
	actx := s.ctx
	if s.r.attempts > 1 {
		actx = tagRetry(s.ctx, s.r.attempts)
	}
	var acancel context.CancelFunc
	opts := s.opts
	var gate *readyGate
	if s.r.policy != nil {
		actx, acancel = context.WithCancel(actx)
		if s.gated {
			gate = newReadyGate(s.r.inv.readyWait, acancel)
			opts = append(opts[:len(opts):len(opts)], grpc.PerRPCCredentials(gate))
		}
	}
	st, err := s.open(actx, opts)
	if gate != nil {
		if expired, gerr := gate.done(err); expired {
			acancel()
			return true, s.r.fail(gerr, nil)
		}
	}
	if err != nil {
		if acancel != nil {
			acancel()
		}
		return false, err
	}
	s.mu.Lock()
	s.cur, s.attempt = st, acancel
	s.mu.Unlock()
	return false, nil
}

// reopen follows the failure err (with trailer, possibly nil) of the current
// attempt with new attempts until one opens, or returns the error that ends
// the stream.
func (s *serverStream[Resp]) reopen(err error, trailer metadata.MD) error {
	for {
		if err = s.r.retry(s.ctx, err, trailer); err != nil {
			return err
		}
		var final bool
		if final, err = s.openAttempt(); err == nil {
			return nil
		} else if final {
			return err
		}
		trailer = nil // a stream that failed to open has no trailer to read
	}
}

func (s *serverStream[Resp]) current() grpc.ServerStreamingClient[Resp] {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.cur
}

// Recv receives the next message; see RecvMsg.
func (s *serverStream[Resp]) Recv() (*Resp, error) {
	m := new(Resp)
	if err := s.RecvMsg(m); err != nil {
		return nil, err
	}
	return m, nil
}

// RecvMsg receives the next message into m. Before the first message it
// reopens the stream on retryable failures; any error it returns ends the
// stream and releases its context.
func (s *serverStream[Resp]) RecvMsg(m any) error {
	if s.err != nil {
		return s.err
	}
	for {
		cur := s.current()
		err := cur.RecvMsg(m)
		if err == nil {
			if !s.received && s.r.policy != nil {
				s.r.inv.throttle.success()
			}
			s.received = true
			return nil
		}
		if !s.received && err != io.EOF && s.r.policy != nil {
			trailer := cur.Trailer()
			s.mu.Lock()
			if s.attempt != nil {
				s.attempt()
			}
			s.mu.Unlock()
			if err = s.reopen(err, trailer); err == nil {
				continue
			}
		}
		s.err = err
		s.cancel()
		return err
	}
}

// Header returns the header metadata of the current attempt.
func (s *serverStream[Resp]) Header() (metadata.MD, error) { return s.current().Header() }

// Trailer returns the trailer metadata of the current attempt.
func (s *serverStream[Resp]) Trailer() metadata.MD { return s.current().Trailer() }

// CloseSend closes the send direction of the current attempt.
func (s *serverStream[Resp]) CloseSend() error { return s.current().CloseSend() }

// Context returns the context of the current attempt.
func (s *serverStream[Resp]) Context() context.Context { return s.current().Context() }

// SendMsg sends on the current attempt. The generated stub has already sent
// the request, so callers have no reason to use it.
func (s *serverStream[Resp]) SendMsg(m any) error { return s.current().SendMsg(m) }

// ClientStream opens a client-streaming call of the method at index method.
// open is typically the grpc-generated stub method itself. The call's
// deadline applies; the call is never retried, because its messages would
// have to be replayed. The stream releases its context when CloseAndRecv or
// RecvMsg returns.
func ClientStream[Req, Resp any](ctx context.Context, inv *Invoker, method int, opts []grpc.CallOption, open func(ctx context.Context, opts ...grpc.CallOption) (grpc.ClientStreamingClient[Req, Resp], error)) (grpc.ClientStreamingClient[Req, Resp], error) {
	ctx, cancel, opts := inv.streamContext(ctx, method, opts)
	st, err := open(ctx, opts...)
	if cancel == nil {
		return st, err
	}
	if err != nil {
		cancel()
		return nil, err
	}
	return &clientStream[Req, Resp]{ClientStreamingClient: st, cancel: cancel}, nil
}

// BidiStream opens a bidi-streaming call of the method at index method. open
// is typically the grpc-generated stub method itself. The call's deadline
// applies; the call is never retried. The stream releases its context when
// Recv or RecvMsg returns an error, io.EOF included.
func BidiStream[Req, Resp any](ctx context.Context, inv *Invoker, method int, opts []grpc.CallOption, open func(ctx context.Context, opts ...grpc.CallOption) (grpc.BidiStreamingClient[Req, Resp], error)) (grpc.BidiStreamingClient[Req, Resp], error) {
	ctx, cancel, opts := inv.streamContext(ctx, method, opts)
	st, err := open(ctx, opts...)
	if cancel == nil {
		return st, err
	}
	if err != nil {
		cancel()
		return nil, err
	}
	return &bidiStream[Req, Resp]{BidiStreamingClient: st, cancel: cancel}, nil
}

// streamContext applies the call's deadline to a stream that is never
// retried. A nil cancel means no context was derived, so there is nothing to
// release and the stream needs no wrapping.
func (inv *Invoker) streamContext(ctx context.Context, method int, opts []grpc.CallOption) (context.Context, context.CancelFunc, []grpc.CallOption) {
	s := inv.settings(&inv.methods[method], opts)
	ctx, cancel := inv.withTimeout(ctx, s.timeout)
	return ctx, cancel, s.mark(opts)
}

// clientStream releases the call's context when the response has arrived.
// It overrides both CloseAndRecv and RecvMsg because the generic stream's
// CloseAndRecv calls the inner stream directly, not this RecvMsg.
type clientStream[Req, Resp any] struct {
	grpc.ClientStreamingClient[Req, Resp]
	cancel context.CancelFunc
}

// CloseAndRecv closes the send direction, waits for the response and
// releases the call's context.
func (s *clientStream[Req, Resp]) CloseAndRecv() (*Resp, error) {
	defer s.cancel()
	return s.ClientStreamingClient.CloseAndRecv()
}

// RecvMsg receives the single response and releases the call's context:
// grpc ends a client-streaming call after its first RecvMsg, whatever the
// outcome.
func (s *clientStream[Req, Resp]) RecvMsg(m any) error {
	defer s.cancel()
	return s.ClientStreamingClient.RecvMsg(m)
}

// bidiStream releases the call's context when receiving fails, which is how
// a bidi stream ends. It overrides Recv because the generic stream's Recv
// calls the inner stream directly, not this RecvMsg.
type bidiStream[Req, Resp any] struct {
	grpc.BidiStreamingClient[Req, Resp]
	cancel context.CancelFunc
}

// Recv receives the next message; see RecvMsg.
func (s *bidiStream[Req, Resp]) Recv() (*Resp, error) {
	m := new(Resp)
	if err := s.RecvMsg(m); err != nil {
		return nil, err
	}
	return m, nil
}

// RecvMsg receives the next message into m and releases the call's context
// once the stream has ended.
func (s *bidiStream[Req, Resp]) RecvMsg(m any) error {
	err := s.BidiStreamingClient.RecvMsg(m)
	if err != nil {
		s.cancel()
	}
	return err
}
