package svcserver

import (
	"context"
	"log/slog"
	"runtime/debug"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// UnaryRecovery returns an interceptor that turns a panic in a unary handler
// into a codes.Internal error for the caller, logs the panic with its stack,
// and keeps the server running. The panic value is not sent to the client:
// it may hold internal details.
func UnaryRecovery(logger *slog.Logger) grpc.UnaryServerInterceptor {
	return func(ctx context.Context, req any, info *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (resp any, err error) {
		defer func() {
			if r := recover(); r != nil {
				err = recovered(ctx, logger, info.FullMethod, r)
			}
		}()
		return handler(ctx, req)
	}
}

// StreamRecovery is UnaryRecovery for streaming handlers.
func StreamRecovery(logger *slog.Logger) grpc.StreamServerInterceptor {
	return func(srv any, ss grpc.ServerStream, info *grpc.StreamServerInfo, handler grpc.StreamHandler) (err error) {
		defer func() {
			if r := recover(); r != nil {
				err = recovered(ss.Context(), logger, info.FullMethod, r)
			}
		}()
		return handler(srv, ss)
	}
}

func recovered(ctx context.Context, logger *slog.Logger, fullMethod string, r any) error {
	if logger == nil {
		logger = slog.Default()
	}
	logger.ErrorContext(ctx, "panic in grpc handler",
		slog.String("method", fullMethod),
		slog.Any("panic", r),
		slog.String("stack", string(debug.Stack())))
	return status.Error(codes.Internal, "internal error in "+fullMethod)
}
