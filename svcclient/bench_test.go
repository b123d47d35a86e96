package svcclient

import (
	"context"
	"testing"
	"time"

	"google.golang.org/grpc"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
)

// BenchmarkUnary compares a unary call through the raw grpc stub with the
// same call through the wrapper, over bufconn. "raw+timeout" is what a
// careful hand-written call does, so the wrapper's own cost is the
// difference between it and "wrapper/timeout+retry".
func BenchmarkUnary(b *testing.B) {
	e := newEnv(b, &server{})
	req := &healthpb.HealthCheckRequest{}
	ctx := context.Background()
	run := func(b *testing.B, call func() error) {
		b.ReportAllocs()
		for i := 0; i < b.N; i++ {
			if err := call(); err != nil {
				b.Fatal(err)
			}
		}
	}
	b.Run("raw", func(b *testing.B) {
		run(b, func() error { _, err := e.health.Check(ctx, req); return err })
	})
	b.Run("raw+timeout", func(b *testing.B) {
		run(b, func() error {
			ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
			defer cancel()
			_, err := e.health.Check(ctx, req)
			return err
		})
	})
	for _, tc := range []struct {
		name string
		opts []Option
	}{
		{"wrapper/no-timeout,no-retry", []Option{WithoutRetries(), WithAllPolicies(func(p *MethodPolicy) { p.Timeout = 0 })}},
		{"wrapper/no-timeout,retry", []Option{WithAllPolicies(func(p *MethodPolicy) { p.Timeout = 0 })}},
		{"wrapper/timeout+retry", nil},
	} {
		w := e.wrapper(tc.opts...)
		b.Run(tc.name, func(b *testing.B) {
			run(b, func() error { _, err := w.Check(ctx, req); return err })
		})
	}
}

// BenchmarkInvokerOverhead measures the Invoker alone, with a stub that
// does nothing, to isolate its cost from grpc's.
func BenchmarkInvokerOverhead(b *testing.B) {
	stub := func(context.Context, []grpc.CallOption) error { return nil }
	ctx := context.Background()
	for _, tc := range []struct {
		name string
		opts []Option
	}{
		{"no-timeout,no-retry", []Option{WithoutRetries(), WithAllPolicies(func(p *MethodPolicy) { p.Timeout = 0 })}},
		{"no-timeout,retry", []Option{WithAllPolicies(func(p *MethodPolicy) { p.Timeout = 0 })}},
		{"timeout+retry", nil},
	} {
		inv := NewInvoker(testPolicies(), append([]Option{WithoutRetryThrottling()}, tc.opts...)...)
		b.Run(tc.name, func(b *testing.B) {
			b.ReportAllocs()
			for i := 0; i < b.N; i++ {
				_ = inv.Unary(ctx, checkIdx, nil, stub)
			}
		})
	}
}
