package svcprod

import (
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
// caller's span) and rpc.client.* metrics.
func ClientTelemetry(opts ...otelgrpc.Option) []grpc.DialOption {
	return []grpc.DialOption{grpc.WithStatsHandler(otelgrpc.NewClientHandler(opts...))}
}

// RetrySpanEvents is the svcclient option that records each retry of a
// generated client wrapper as an event named "retry" on the caller's span
// (the span in the context the call was made with), with the attempt that
// failed (svc.retry.attempt), its code (rpc.grpc.status_code) and the wait
// before the next attempt (svc.retry.delay_ms). It replaces any earlier
// svcclient.WithHook; use [RetrySpanHook] to combine it with a hook of
// yours. Unary calls and the re-opening of server streams are reported
// alike; a hedge is an event named "hedge".
func RetrySpanEvents() svcclient.Option {
	return svcclient.WithHook(RetrySpanHook)
}

// RetrySpanHook is the hook behind [RetrySpanEvents], for use inside a hook
// of yours.
func RetrySpanHook(e svcclient.RetryEvent) {
	if e.Context == nil {
		return
	}
	span := trace.SpanFromContext(e.Context)
	if !span.IsRecording() {
		return
	}
	name := "retry"
	if e.Hedge {
		name = "hedge"
	}
	span.AddEvent(name, trace.WithAttributes(
		attribute.Int("svc.retry.attempt", e.Attempt),
		attribute.Int64("rpc.grpc.status_code", int64(status.Code(e.Err))),
		attribute.Float64("svc.retry.delay_ms", float64(e.Delay.Microseconds())/1000),
		attribute.String("rpc.method", e.FullMethod),
	))
}
