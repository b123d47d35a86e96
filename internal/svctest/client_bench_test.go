package svctest

import (
	"context"
	"testing"
	"time"

	"github.com/svcgen/protoc-gen-svc/internal/svctest/echopb"
)

// BenchmarkUnaryCall measures the generated wrapper's overhead on a unary
// call that succeeds at once, over bufconn against a trivial server. "raw"
// is the grpc-generated stub with the deadline the wrapper would apply
// (Get's 5s), set by hand as a careful caller does; "wrapper" is the
// generated wrapper called with a context without deadline. The difference
// is the wrapper's own cost: policy lookup, per-call options, the retry
// bookkeeping of a retryable method (Get is retried on UNAVAILABLE).
func BenchmarkUnaryCall(b *testing.B) {
	conn := startBufServer(b, &echoOnly{}).conn
	req := &echopb.EchoRequest{Message: "bench"}

	b.Run("raw", func(b *testing.B) {
		client := echopb.NewEchoClient(conn)
		b.ReportAllocs()
		for i := 0; i < b.N; i++ {
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			_, err := client.Get(ctx, req)
			cancel()
			if err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("wrapper", func(b *testing.B) {
		client := echopb.NewEchoWrapper(conn)
		ctx := context.Background()
		b.ReportAllocs()
		for i := 0; i < b.N; i++ {
			if _, err := client.Get(ctx, req); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// echoOnly answers Get with its request, and nothing else: no bookkeeping
// that would add to both sides of the comparison.
type echoOnly struct{ echopb.EchoSkeleton }

func (echoOnly) Get(_ context.Context, in *echopb.EchoRequest) (*echopb.EchoResponse, error) {
	return &echopb.EchoResponse{Message: in.GetMessage()}, nil
}
