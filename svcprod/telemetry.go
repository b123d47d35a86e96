package svcprod

import (
	"context"
	"errors"
	"fmt"

	"go.opentelemetry.io/contrib/instrumentation/google.golang.org/grpc/otelgrpc"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/trace"
	"google.golang.org/grpc"
	"google.golang.org/grpc/status"

	"github.com/svcgen/protoc-gen-svc/svcclient"
	"github.com/svcgen/protoc-gen-svc/svcserver"
)

// WithTelemetry traces every call and records its metrics with otelgrpc's
// server stats handler: a span per call (the caller's trace continues
// through the W3C traceparent header) and the rpc.server.* metrics of the
// OpenTelemetry semantic conventions. It uses the global tracer and meter
// providers and propagator unless opts say otherwise
// (otelgrpc.WithTracerProvider, ...): set them up (an OTLP exporter, say)
// before the server starts. Without this option nothing is recorded.
func WithTelemetry(opts ...otelgrpc.Option) svcserver.Option {
	return svcserver.WithServerOptions(grpc.StatsHandler(otelgrpc.NewServerHandler(opts...)))
}

// ClientTelemetry returns the dial options that trace a client connection
// with otelgrpc's client stats handler: a span for every attempt (so a call
// a generated wrapper retried three times has three client spans under the
// caller's span) and rpc.client.* metrics. It also tags each failed
// attempt's error so that [RetrySpanEvents] can find the caller's span.
func ClientTelemetry(opts ...otelgrpc.Option) []grpc.DialOption {
	return []grpc.DialOption{
		grpc.WithStatsHandler(otelgrpc.NewClientHandler(opts...)),
		grpc.WithChainUnaryInterceptor(tagAttemptSpan),
	}
}

// RetrySpanEvents is the svcclient option that records each retry of a
// generated client wrapper as an event named "retry" on the caller's span,
// with the attempt that failed (svc.retry.attempt), its code
// (rpc.grpc.status_code) and the wait before the next attempt
// (svc.retry.delay_ms). It needs the connection's [ClientTelemetry] (which
// tells it the span) and replaces any earlier svcclient.WithHook; use
// [RetrySpanHook] to combine it with a hook of yours.
func RetrySpanEvents() svcclient.Option {
	return svcclient.WithHook(RetrySpanHook)
}

// RetrySpanHook is the hook behind [RetrySpanEvents], for use inside a hook
// of yours.
func RetrySpanHook(e svcclient.RetryEvent) {
	var a *attemptError
	if !errors.As(e.Err, &a) || !a.span.IsRecording() {
		return
	}
	a.span.AddEvent("retry", trace.WithAttributes(
		attribute.Int("svc.retry.attempt", e.Attempt),
		attribute.Int64("rpc.grpc.status_code", int64(status.Code(e.Err))),
		attribute.Float64("svc.retry.delay_ms", float64(e.Delay.Microseconds())/1000),
		attribute.String("rpc.method", e.FullMethod),
	))
}

// attemptError is a failed attempt's error with the span of the call it
// belongs to. It behaves as the error it wraps: same text, same status
// (GRPCStatus), errors.Is/As see through it.
type attemptError struct {
	err  error
	span trace.Span
}

func (e *attemptError) Error() string              { return e.err.Error() }
func (e *attemptError) Unwrap() error              { return e.err }
func (e *attemptError) GRPCStatus() *status.Status { return status.Convert(e.err) }
func (e *attemptError) Format(f fmt.State, verb rune) {
	fmt.Fprintf(f, fmt.FormatString(f, verb), e.err)
}

// tagAttemptSpan wraps the error of a failed unary attempt with the span of
// the caller's context (the interceptor runs before the stats handler opens
// the attempt's span), when that span records.
func tagAttemptSpan(ctx context.Context, method string, req, reply any, cc *grpc.ClientConn, invoker grpc.UnaryInvoker, opts ...grpc.CallOption) error {
	err := invoker(ctx, method, req, reply, cc, opts...)
	if err != nil {
		if span := trace.SpanFromContext(ctx); span.IsRecording() {
			return &attemptError{err: err, span: span}
		}
	}
	return err
}
