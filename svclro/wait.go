package svclro

import (
	"context"
	"math/rand/v2"
	"time"

	"cloud.google.com/go/longrunning/autogen/longrunningpb"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/durationpb"
)

// Backoff is an exponential backoff: Initial, then each delay Multiplier
// times the last, never above Max; each wait is drawn uniformly from
// [delay/2, delay] (bounded jitter).
type Backoff struct {
	Initial, Max time.Duration
	Multiplier   float64
}

// DefaultBackoff polls after 100ms, then 1.5 times longer each time, up to
// 5s between polls.
var DefaultBackoff = Backoff{Initial: 100 * time.Millisecond, Max: 5 * time.Second, Multiplier: 1.5}

func (b Backoff) next(d time.Duration) time.Duration {
	m := b.Multiplier
	if m < 1 {
		m = 1
	}
	n := time.Duration(float64(d) * m)
	if n > b.Max || n <= 0 {
		n = b.Max
	}
	return n
}

func (b Backoff) jitter(d time.Duration) time.Duration {
	if d <= 1 {
		return d
	}
	return d/2 + rand.N(d/2+1)
}

// WaitOption configures [Wait].
type WaitOption func(*waitConfig)

type waitConfig struct {
	backoff Backoff
	opts    []grpc.CallOption
	getOnly bool
}

// WithBackoff sets the delays between polls (default [DefaultBackoff]).
func WithBackoff(b Backoff) WaitOption { return func(c *waitConfig) { c.backoff = b } }

// WithCallOptions adds grpc.CallOptions to every GetOperation and
// WaitOperation call.
func WithCallOptions(opts ...grpc.CallOption) WaitOption {
	return func(c *waitConfig) { c.opts = append(c.opts, opts...) }
}

// WithGetOperationOnly polls with GetOperation only, never WaitOperation.
func WithGetOperationOnly() WaitOption { return func(c *waitConfig) { c.getOnly = true } }

// Wait returns op once it is done, asking ops about it until then, as
// GAPIC's Operation.Wait does: WaitOperation for the time left (a server
// that answers it Unimplemented is polled with GetOperation from then on),
// with backoff between calls, all within ctx's deadline. A call that fails
// with Unavailable is retried after the next delay; any other error ends
// the wait with that error, as does ctx (DeadlineExceeded or Canceled, as
// status errors). An op already done is returned at once, without ops,
// which may then be nil.
func Wait(ctx context.Context, ops longrunningpb.OperationsClient, op *longrunningpb.Operation, opts ...WaitOption) (*longrunningpb.Operation, error) {
	cfg := waitConfig{backoff: DefaultBackoff}
	for _, o := range opts {
		o(&cfg)
	}
	if op.GetDone() {
		return op, nil
	}
	if ops == nil {
		return nil, status.Errorf(codes.FailedPrecondition, "waiting for operation %s: no google.longrunning.Operations client (build the wrapper with its New...Wrapper constructor, or pass one)", op.GetName())
	}
	name := op.GetName()
	delay := cfg.backoff.Initial
	for {
		if err := ctx.Err(); err != nil {
			return nil, status.FromContextError(err).Err()
		}
		var next *longrunningpb.Operation
		var err error
		if cfg.getOnly {
			next, err = ops.GetOperation(ctx, &longrunningpb.GetOperationRequest{Name: name}, cfg.opts...)
		} else {
			req := &longrunningpb.WaitOperationRequest{Name: name}
			if d, ok := ctx.Deadline(); ok {
				req.Timeout = durationpb.New(time.Until(d))
			}
			next, err = ops.WaitOperation(ctx, req, cfg.opts...)
			if status.Code(err) == codes.Unimplemented {
				cfg.getOnly = true
				continue
			}
		}
		switch {
		case err == nil && next.GetDone():
			return next, nil
		case err == nil:
			op = next
		case ctx.Err() != nil:
			return nil, status.FromContextError(ctx.Err()).Err()
		case status.Code(err) != codes.Unavailable:
			return nil, err
		}
		t := time.NewTimer(cfg.backoff.jitter(delay))
		select {
		case <-ctx.Done():
			t.Stop()
			return nil, status.FromContextError(ctx.Err()).Err()
		case <-t.C:
		}
		delay = cfg.backoff.next(delay)
	}
}

// WaitFor waits for op as [Wait] does and returns its typed response and
// metadata: a response of type R (google.protobuf.Empty for a Delete), and
// the operation's metadata as an M (the zero M when the operation has none).
// An operation that ended with an error answers that error, as a status
// error; its metadata is still returned.
func WaitFor[R, M proto.Message](ctx context.Context, ops longrunningpb.OperationsClient, op *longrunningpb.Operation, opts ...WaitOption) (R, M, error) {
	var res R
	var md M
	done, err := Wait(ctx, ops, op, opts...)
	if err != nil {
		return res, md, err
	}
	r := newOf(res)
	var mdArg proto.Message
	if done.GetMetadata() != nil {
		md = newOf(md)
		mdArg = md
	}
	if err := Unpack(done, r, mdArg); err != nil {
		return res, md, err
	}
	return r, md, nil
}

// newOf returns a new, empty message of the type of zero (a typed nil
// pointer is enough: generated messages report their type through one).
func newOf[T proto.Message](zero T) T {
	return zero.ProtoReflect().Type().New().Interface().(T)
}
