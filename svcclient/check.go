package svcclient

import (
	"context"
	"sync/atomic"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// CheckCallOptions returns dial options that make a call fail, with
// codes.Internal naming the option, when it carries a per-call option of
// this package ([CallTimeout], [CallNoRetry], [CallHook], [CallRetryPolicy])
// but was not made through a generated wrapper: given to a plain grpc
// client, those options would otherwise compile and silently do nothing.
// Calls through a wrapper, and calls without such options, are not
// affected. It costs a scan of each call's options, and, in the whole
// process once it has been called, a copy of the option list of each
// wrapper call that has per-call options of this package:
//
//	conn, err := grpc.NewClient(target, append(creds, svcclient.CheckCallOptions()...)...)
func CheckCallOptions() []grpc.DialOption {
	checking.Store(true)
	return []grpc.DialOption{
		grpc.WithChainUnaryInterceptor(func(ctx context.Context, method string, req, reply any, cc *grpc.ClientConn, invoker grpc.UnaryInvoker, opts ...grpc.CallOption) error {
			if err := strayOption(method, opts); err != nil {
				return err
			}
			return invoker(ctx, method, req, reply, cc, opts...)
		}),
		grpc.WithChainStreamInterceptor(func(ctx context.Context, desc *grpc.StreamDesc, cc *grpc.ClientConn, method string, streamer grpc.Streamer, opts ...grpc.CallOption) (grpc.ClientStream, error) {
			if err := strayOption(method, opts); err != nil {
				return nil, err
			}
			return streamer(ctx, desc, cc, method, opts...)
		}),
	}
}

// checking is set once CheckCallOptions has been called: only then do
// wrappers mark the option lists they read (at the cost of a copy), so
// that the check costs nothing to programs that do not use it.
var checking atomic.Bool

// strayOption reports a per-call option of this package in opts that no
// wrapper has read.
func strayOption(method string, opts []grpc.CallOption) error {
	stray := ""
	for _, o := range opts {
		switch o.(type) {
		case handledOption:
			return nil
		case timeoutOption:
			stray = "CallTimeout"
		case noRetryOption:
			stray = "CallNoRetry"
		case hookOption:
			stray = "CallHook"
		case retryPolicyOption:
			stray = "CallRetryPolicy"
		}
	}
	if stray == "" {
		return nil
	}
	return status.Errorf(codes.Internal, "svcclient: %s was given to a plain grpc client calling %s, where it does nothing: call through the generated wrapper (NewXWrapper) instead", stray, method)
}
