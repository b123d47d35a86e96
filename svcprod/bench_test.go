package svcprod_test

import (
	"context"
	"io"
	"log/slog"
	"net"
	"os"
	"syscall"
	"testing"
	"time"

	"github.com/grpc-ecosystem/go-grpc-middleware/v2/interceptors/auth"
	testvalidatev1 "github.com/grpc-ecosystem/go-grpc-middleware/v2/testing/testvalidate/v1"
	"github.com/jackc/pgx/v5/pgxpool"
	"go.opentelemetry.io/contrib/instrumentation/google.golang.org/grpc/otelgrpc"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"
	tracenoop "go.opentelemetry.io/otel/trace/noop"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	"github.com/svcgen/protoc-gen-svc/svcprod"
	"github.com/svcgen/protoc-gen-svc/svcserver"
	"github.com/svcgen/protoc-gen-svc/svcstore"
	"github.com/svcgen/protoc-gen-svc/svcstore/pgstore"
)

// sendServer is go-grpc-middleware's test service with a buf.validate
// rule (the message must be an e-mail address).
type sendServer struct {
	testvalidatev1.UnimplementedTestValidateServiceServer
}

func (sendServer) Send(context.Context, *testvalidatev1.SendRequest) (*testvalidatev1.SendResponse, error) {
	return &testvalidatev1.SendResponse{}, nil
}

// BenchmarkUnary measures one unary call over loopback TCP, client and
// server in this process:
//
//   - bare: grpc.NewServer() with nothing;
//   - svcserver: svcserver.New() defaults (recovery, sanitiser, limits,
//     keepalive, the malformed-request stats handler, health, reflection);
//   - checks: svcserver plus bearer-token authentication, protovalidate (an
//     e-mail rule), the AIP-122 id check and the field size limit;
//   - checks+log: and the access log (slog, JSON, to io.Discard);
//   - production: the chain issue 11 sets the goal for (authentication,
//     validation, logging, metrics): checks+log plus otelgrpc's metrics on
//     an SDK meter provider, with tracing off (a no-op tracer provider);
//   - production+traces-1%: and traces, 1% of them sampled, batched to an
//     exporter that drops them;
//   - production+traces-all: every call traced.
//
// Compare with: go test -run '^$' -bench 'BenchmarkUnary$' -count 6 ./svcprod
// | benchstat -col /chain -
func BenchmarkUnary(b *testing.B) { benchChains(b, sendServer{}) }

// BenchmarkUnaryPostgres is BenchmarkUnary with a handler that does what a
// service's handler usually does: it reads one row, the request's message,
// from PostgreSQL through pgstore ($SVC_TEST_POSTGRES_DSN; skipped without
// it). It shows what the chain costs next to real work.
func BenchmarkUnaryPostgres(b *testing.B) {
	dsn := os.Getenv("SVC_TEST_POSTGRES_DSN")
	if dsn == "" {
		b.Skip("set SVC_TEST_POSTGRES_DSN=postgres://user:pass@host/db to run it")
	}
	ctx := context.Background()
	pool, err := pgxpool.New(ctx, dsn)
	if err != nil {
		b.Fatal(err)
	}
	defer pool.Close()
	store, err := pgstore.New[*testvalidatev1.SendRequest](ctx, pool, svcstore.Schema{KeyField: "message"},
		pgstore.WithTable("svcprod_bench_send"), pgstore.WithoutChangeFeed())
	if err != nil {
		b.Fatal(err)
	}
	defer store.Close()
	if _, err := store.Create(ctx, &testvalidatev1.SendRequest{Message: "someone@example.com"}); err != nil && status.Code(err) != codes.AlreadyExists {
		b.Fatal(err)
	}
	benchChains(b, storeServer{store: store})
}

// storeServer answers Send after reading the request's message from its
// store.
type storeServer struct {
	testvalidatev1.UnimplementedTestValidateServiceServer
	store svcstore.Repository[*testvalidatev1.SendRequest]
}

func (s storeServer) Send(ctx context.Context, req *testvalidatev1.SendRequest) (*testvalidatev1.SendResponse, error) {
	if _, err := s.store.Get(ctx, req.GetMessage()); err != nil {
		return nil, err
	}
	return &testvalidatev1.SendResponse{}, nil
}

// benchChains runs the chains of BenchmarkUnary around srv.
func benchChains(b *testing.B, srv testvalidatev1.TestValidateServiceServer) {
	everySpan := sdktrace.NewTracerProvider(sdktrace.WithBatcher(discardSpans{}))
	defer everySpan.Shutdown(context.Background())
	onePercent := sdktrace.NewTracerProvider(sdktrace.WithBatcher(discardSpans{}),
		sdktrace.WithSampler(sdktrace.ParentBased(sdktrace.TraceIDRatioBased(0.01))))
	defer onePercent.Shutdown(context.Background())
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(sdkmetric.NewManualReader()))
	defer mp.Shutdown(context.Background())
	logger := slog.New(slog.NewJSONHandler(io.Discard, nil))
	checkToken := func(ctx context.Context, _ string) (context.Context, error) {
		token, err := auth.AuthFromMD(ctx, "bearer")
		if err != nil {
			return nil, err
		}
		if token != "bench-token" {
			return nil, status.Error(codes.Unauthenticated, "unknown token")
		}
		return ctx, nil
	}
	checks := []svcserver.Option{
		svcprod.WithAuth(checkToken),
		svcprod.WithValidation(),
		svcprod.WithIDCheck(),
		svcprod.WithFieldSizeLimit(0, nil),
	}
	production := func(tp trace.TracerProvider) []svcserver.Option {
		return append([]svcserver.Option{
			svcserver.WithLogger(logger),
			svcprod.WithAccessLog(logger),
			svcprod.WithTelemetry(otelgrpc.WithTracerProvider(tp), otelgrpc.WithMeterProvider(mp)),
		}, checks...)
	}
	chains := []struct {
		name  string
		start func(lis net.Listener) (stop func())
	}{
		{"bare", func(lis net.Listener) func() {
			s := grpc.NewServer()
			testvalidatev1.RegisterTestValidateServiceServer(s, srv)
			go s.Serve(lis)
			return s.Stop
		}},
		{"svcserver", func(lis net.Listener) func() {
			return serveBench(lis, srv, svcserver.WithLogger(logger))
		}},
		{"checks", func(lis net.Listener) func() {
			return serveBench(lis, srv, append([]svcserver.Option{svcserver.WithLogger(logger)}, checks...)...)
		}},
		{"checks+log", func(lis net.Listener) func() {
			return serveBench(lis, srv, append([]svcserver.Option{svcserver.WithLogger(logger), svcprod.WithAccessLog(logger)}, checks...)...)
		}},
		{"production", func(lis net.Listener) func() {
			return serveBench(lis, srv, production(tracenoop.NewTracerProvider())...)
		}},
		{"production+traces-1%", func(lis net.Listener) func() {
			return serveBench(lis, srv, production(onePercent)...)
		}},
		{"production+traces-all", func(lis net.Listener) func() {
			return serveBench(lis, srv, production(everySpan)...)
		}},
	}
	for _, chain := range chains {
		b.Run("chain="+chain.name, func(b *testing.B) {
			lis, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				b.Fatal(err)
			}
			stop := chain.start(lis)
			defer stop()
			conn, err := grpc.NewClient(lis.Addr().String(), grpc.WithTransportCredentials(insecure.NewCredentials()))
			if err != nil {
				b.Fatal(err)
			}
			defer conn.Close()
			client := testvalidatev1.NewTestValidateServiceClient(conn)
			ctx := metadata.AppendToOutgoingContext(context.Background(), "authorization", "Bearer bench-token")
			req := &testvalidatev1.SendRequest{Message: "someone@example.com"}
			if _, err := client.Send(ctx, req); err != nil {
				b.Fatal(err)
			}
			if chain.name != "bare" && chain.name != "svcserver" {
				// The chain is really there: validation and authentication refuse.
				if _, err := client.Send(ctx, &testvalidatev1.SendRequest{Message: "not an address"}); status.Code(err) != codes.InvalidArgument {
					b.Fatalf("invalid request: %v, want InvalidArgument", err)
				}
				if _, err := client.Send(context.Background(), req); status.Code(err) != codes.Unauthenticated {
					b.Fatalf("request without a token: %v, want Unauthenticated", err)
				}
			}
			b.ReportAllocs()
			b.ResetTimer()
			cpu := cpuTime()
			for b.Loop() {
				if _, err := client.Send(ctx, req); err != nil {
					b.Fatal(err)
				}
			}
			// The CPU time of the process (client and server) per call: on
			// a shared machine, steadier than the wall-clock time.
			b.ReportMetric(float64(cpuTime()-cpu)/float64(b.N), "cpu-ns/op")
		})
	}
}

// discardSpans is a span exporter that drops what it is given.
type discardSpans struct{}

func (discardSpans) ExportSpans(context.Context, []sdktrace.ReadOnlySpan) error { return nil }
func (discardSpans) Shutdown(context.Context) error                             { return nil }

// cpuTime returns the user and system CPU time of the process so far.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func serveBench(lis net.Listener, srv testvalidatev1.TestValidateServiceServer, opts ...svcserver.Option) (stop func()) {
	s := svcserver.New(append(opts, svcserver.WithDrainTimeout(time.Second))...)
	testvalidatev1.RegisterTestValidateServiceServer(s, srv)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		s.Serve(ctx, lis)
		close(done)
	}()
	return func() {
		cancel()
		<-done
	}
}
