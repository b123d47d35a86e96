package svcprod

import (
	"context"
	"log/slog"
	"time"

	"github.com/grpc-ecosystem/go-grpc-middleware/v2/interceptors/logging"
	"google.golang.org/grpc"

	"github.com/svcgen/protoc-gen-svc/svcserver"
)

// WithAccessLog logs every call when it ends, through go-grpc-middleware's
// logging interceptor: one "finished call" line with grpc.service,
// grpc.method, grpc.method_type, peer.address, grpc.code, grpc.duration and,
// for a failed call, grpc.error (the status the client got: svcserver's
// sanitiser has already hidden the text of internal errors). The level
// follows the code: Info for OK and the client's own mistakes, Warn for
// DeadlineExceeded, PermissionDenied, Unavailable and the like, Error for
// Internal, Unknown, Unimplemented and DataLoss.
//
// Give it before WithAuth and WithValidation, so that it also records the
// calls they refuse.
func WithAccessLog(logger *slog.Logger) svcserver.Option {
	l := logging.LoggerFunc(func(ctx context.Context, level logging.Level, msg string, fields ...any) {
		logger.Log(ctx, slog.Level(level), msg, fields...)
	})
	opts := []logging.Option{
		logging.WithLogOnEvents(logging.FinishCall),
		logging.WithDurationField(func(d time.Duration) logging.Fields {
			return logging.Fields{"grpc.duration", d}
		}),
		logging.WithDisableLoggingFields(logging.ComponentFieldKey),
	}
	return svcserver.WithServerOptions(
		grpc.ChainUnaryInterceptor(logging.UnaryServerInterceptor(l, opts...)),
		grpc.ChainStreamInterceptor(logging.StreamServerInterceptor(l, opts...)),
	)
}
