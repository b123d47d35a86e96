package svcserver

import (
	"context"
	"log/slog"

	"google.golang.org/grpc"
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
