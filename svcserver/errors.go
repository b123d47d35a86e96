package svcserver

import (
	"context"
	"log/slog"
	"runtime/debug"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// internalError is what a client is told when a handler fails with an error
// that is not a gRPC status error, or panics: codes.Internal with
// "internal error in /pkg.Service/Method" and nothing else. The full error
// goes to the server log.
func internalError(fullMethod string) error {
	return status.Error(codes.Internal, "internal error in "+fullMethod)
}

// UnarySanitizer returns the interceptor that New installs innermost, next
// to the handler: a handler error that is a gRPC status error (or wraps one)
// passes unchanged; context.Canceled and context.DeadlineExceeded become
// codes.Canceled and codes.DeadlineExceeded; any other error, and a panic,
// becomes codes.Internal with the message "internal error in" and the
// method's name, and the full error (or
// the panic and its stack) is logged with the method, so nothing internal
// (file paths, SQL, addresses) reaches the client.
//
// It runs inside the interceptors given with WithServerOptions, so that an
// access log there records the code the client gets.
func UnarySanitizer(logger *slog.Logger) grpc.UnaryServerInterceptor {
	return func(ctx context.Context, req any, info *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (resp any, err error) {
		defer func() {
			if r := recover(); r != nil {
				err = recovered(ctx, logger, info.FullMethod, r)
			}
		}()
		resp, err = handler(ctx, req)
		if err != nil {
			err = sanitize(ctx, logger, info.FullMethod, err)
		}
		return resp, err
	}
}

// StreamSanitizer is UnarySanitizer for streaming handlers.
func StreamSanitizer(logger *slog.Logger) grpc.StreamServerInterceptor {
	return func(srv any, ss grpc.ServerStream, info *grpc.StreamServerInfo, handler grpc.StreamHandler) (err error) {
		defer func() {
			if r := recover(); r != nil {
				err = recovered(ss.Context(), logger, info.FullMethod, r)
			}
		}()
		err = handler(srv, ss)
		if err != nil {
			err = sanitize(ss.Context(), logger, info.FullMethod, err)
		}
		return err
	}
}

// sanitize returns the error the client may see for the handler error err.
func sanitize(ctx context.Context, logger *slog.Logger, fullMethod string, err error) error {
	if _, ok := status.FromError(err); ok {
		return err
	}
	if st := status.FromContextError(err); st.Code() != codes.Unknown {
		return st.Err()
	}
	if logger == nil {
		logger = slog.Default()
	}
	logger.ErrorContext(ctx, "grpc handler failed with a non-status error; the client gets Internal",
		slog.String("method", fullMethod),
		slog.String("error", err.Error()))
	return internalError(fullMethod)
}

func recovered(ctx context.Context, logger *slog.Logger, fullMethod string, r any) error {
	if logger == nil {
		logger = slog.Default()
	}
	logger.ErrorContext(ctx, "panic in grpc handler",
		slog.String("method", fullMethod),
		slog.Any("panic", r),
		slog.String("stack", string(debug.Stack())))
	return internalError(fullMethod)
}
