package svcprod

import (
	"context"
	"log/slog"
	"strings"
	"time"

	"github.com/grpc-ecosystem/go-grpc-middleware/v2/interceptors/logging"
	"google.golang.org/grpc"
	"google.golang.org/grpc/peer"
	"google.golang.org/grpc/status"

	"github.com/svcgen/protoc-gen-svc/svcserver"
)

// WithAccessLog logs every call when it ends: one "finished call" record
// with protocol, grpc.service, grpc.method, grpc.method_type,
// peer.address, grpc.code, grpc.duration and, for a failed call,
// grpc.error (the status the client got: svcserver's sanitiser has already
// hidden the text of internal errors). The keys and the levels are those of
// go-grpc-middleware's logging interceptor, so dashboards built for it
// read these lines too: Info for OK and the client's own mistakes, Warn for
// DeadlineExceeded, PermissionDenied, Unavailable and the like, Error for
// Internal, Unknown, Unimplemented and DataLoss.
//
// It is a few lines over log/slog rather than that interceptor: the
// interceptor builds and merges field lists and a context per call (56
// allocations), which made the access log the costliest part of the
// production chain; this one builds the record only when the logger is
// enabled for its level (see README, "Running in production", for the
// figures).
//
// Give it before WithAuth and WithValidation, so that it also records the
// calls they refuse.
func WithAccessLog(logger *slog.Logger) svcserver.Option {
	a := accessLog{logger: logger}
	return svcserver.WithServerOptions(
		grpc.ChainUnaryInterceptor(a.unary),
		grpc.ChainStreamInterceptor(a.stream),
	)
}

type accessLog struct {
	logger *slog.Logger
}

func (a accessLog) unary(ctx context.Context, req any, info *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
	start := time.Now()
	resp, err := handler(ctx, req)
	a.finished(ctx, info.FullMethod, "unary", start, err)
	return resp, err
}

func (a accessLog) stream(srv any, ss grpc.ServerStream, info *grpc.StreamServerInfo, handler grpc.StreamHandler) error {
	start := time.Now()
	err := handler(srv, ss)
	kind := "bidi_stream"
	switch {
	case info.IsClientStream && !info.IsServerStream:
		kind = "client_stream"
	case info.IsServerStream && !info.IsClientStream:
		kind = "server_stream"
	}
	a.finished(ss.Context(), info.FullMethod, kind, start, err)
	return err
}

// finished writes the record of a call that ended with err.
func (a accessLog) finished(ctx context.Context, fullMethod, kind string, start time.Time, err error) {
	code := status.Code(err)
	level := slog.Level(logging.DefaultServerCodeToLevel(code))
	if !a.logger.Enabled(ctx, level) {
		return
	}
	service, method := splitMethod(fullMethod)
	attrs := make([]slog.Attr, 0, 8)
	attrs = append(attrs,
		slog.String("protocol", "grpc"),
		slog.String("grpc.service", service),
		slog.String("grpc.method", method),
		slog.String("grpc.method_type", kind),
	)
	if p, ok := peer.FromContext(ctx); ok && p.Addr != nil {
		attrs = append(attrs, slog.String("peer.address", p.Addr.String()))
	}
	attrs = append(attrs, slog.String("grpc.code", code.String()))
	if err != nil {
		attrs = append(attrs, slog.String("grpc.error", err.Error()))
	}
	attrs = append(attrs, slog.Duration("grpc.duration", time.Since(start)))
	a.logger.LogAttrs(ctx, level, "finished call", attrs...)
}

// splitMethod splits "/pkg.Service/Method" into its service and method
// (grpc calls interceptors for registered methods only, which all have
// this form).
func splitMethod(fullMethod string) (service, method string) {
	s := strings.TrimPrefix(fullMethod, "/")
	if i := strings.LastIndexByte(s, '/'); i >= 0 {
		return s[:i], s[i+1:]
	}
	return s, ""
}
