// Command shopd serves the shop example's API (shop.v1: Catalog, Customers,
// Orders), with health and reflection, on repositories in memory (the
// default), in a SQLite file, or in PostgreSQL:
//
//	go run ./examples/shop/cmd/shopd --listen 127.0.0.1:8443
//	go run ./examples/shop/cmd/shopd --store sqlite:shop.db
//	go run ./examples/shop/cmd/shopd --store postgres://user:pass@host/shop --page-token-key-file key
//
// Replicas on one PostgreSQL database share everything but the process:
// give them the same --page-token-key-file (at least 16 bytes, e.g.
// "head -c 32 /dev/urandom > key") so that a page token from one is valid
// on the others.
//
// The one --listen address serves gRPC, gRPC-Web, Connect and REST/JSON
// (HTTP/1.1 and HTTP/2), and the shop's web page at http://ADDR/;
// --grpc-only serves gRPC alone on grpc-go's own transport.
//
// In production it serves over TLS (--tls-cert, --tls-key), optionally
// mutual TLS (--client-ca), and takes bearer tokens (--auth-token-file):
//
//	shopd --tls-cert server.pem --tls-key server-key.pem --client-ca ca.pem \
//	      --auth-token-file tokens.txt --no-reflection
//
// Without TLS flags it speaks plaintext and says so in its log; without a
// tokens file every method is open to every caller. With one, browsing the
// catalog (methods the schema marks AUTH_PUBLIC) and health stay public and
// everything else takes "authorization: Bearer <token>"; a token marked
// "readonly" may call only the methods without side effects.
//
// Every request is validated (protovalidate rules, AIP-122 resource ids),
// every call logged to stderr (method, code, duration, peer); --telemetry
// also writes OpenTelemetry spans and metrics to stderr.
//
// It prints the address it listens on to stdout ("listening on ADDR"; with
// port 0 the system picks a free one), logs to stderr, and on SIGINT or
// SIGTERM stops gracefully: new calls are refused, calls in flight finish
// (within --drain-timeout), watches end, and it exits 0.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"os"
	"os/signal"
	"syscall"
	"time"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/exporters/stdout/stdoutmetric"
	"go.opentelemetry.io/otel/exporters/stdout/stdouttrace"
	"go.opentelemetry.io/otel/propagation"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"

	"github.com/svcgen/protoc-gen-svc/examples/shop/server"
	"github.com/svcgen/protoc-gen-svc/svcprod"
	"github.com/svcgen/protoc-gen-svc/svcserver"
	"github.com/svcgen/protoc-gen-svc/svcstore"
)

func main() {
	listen := flag.String("listen", "127.0.0.1:8443", "`address` to listen on; port 0 picks a free port")
	logFormat := flag.String("log-format", "text", "log format: text or json")
	storeURL := flag.String("store", "memory:", "where the data lives: memory:, sqlite:PATH or postgres://...")
	tokenKeyFile := flag.String("page-token-key-file", "", "`file` holding the page-token key replicas share (at least 16 bytes); default a random key per process")
	drain := flag.Duration("drain-timeout", 10*time.Second, "on shutdown, how long calls in flight (e.g. open RepriceProducts streams) may take to finish")
	grpcOnly := flag.Bool("grpc-only", false, "serve gRPC only, on grpc-go's own HTTP/2 transport, instead of gRPC, gRPC-Web, Connect, REST/JSON and the web page")
	tlsCert := flag.String("tls-cert", "", "PEM `file` with the server's certificate chain; with --tls-key, serve over TLS")
	tlsKey := flag.String("tls-key", "", "PEM `file` with the server's private key")
	clientCA := flag.String("client-ca", "", "PEM `file` with the CAs of client certificates; requires them (mutual TLS)")
	tokenFile := flag.String("auth-token-file", "", "`file` of accepted bearer tokens, one per line, optionally followed by \"readonly\"; without it, no authentication")
	noReflection := flag.Bool("no-reflection", false, "do not register the reflection service")
	telemetry := flag.Bool("telemetry", false, "write OpenTelemetry spans and metrics of every call to stderr")
	maxMsg := flag.Int("max-message-size", svcserver.DefaultMaxRecvMsgSize, "largest message received or sent, in `bytes`; List pages stay 64 KiB below it (and below 4 MiB, for default clients)")
	flag.Parse()

	var handler slog.Handler
	switch *logFormat {
	case "text":
		handler = slog.NewTextHandler(os.Stderr, nil)
	case "json":
		handler = slog.NewJSONHandler(os.Stderr, nil)
	default:
		usage("--log-format must be text or json, not %q", *logFormat)
	}
	logger := slog.New(handler)

	opts := []svcserver.Option{
		svcserver.WithDrainTimeout(*drain),
		svcserver.WithMessageSizeLimits(*maxMsg, *maxMsg),
	}
	switch {
	case *tlsCert != "" && *tlsKey != "":
		cfg, err := svcserver.LoadServerTLS(*tlsCert, *tlsKey, *clientCA)
		if err != nil {
			fail(logger, "tls", err)
		}
		opts = append(opts, svcserver.WithTLS(cfg))
	case *tlsCert != "" || *tlsKey != "":
		usage("--tls-cert and --tls-key go together")
	case *clientCA != "":
		usage("--client-ca needs --tls-cert and --tls-key")
	}
	if *tokenFile != "" {
		tokens, err := server.LoadTokens(*tokenFile)
		if err != nil {
			fail(logger, "auth-token-file", err)
		}
		opts = append(opts, svcprod.WithAuth(server.TokenAuth(tokens)))
		logger.Info("authentication on", slog.Int("tokens", len(tokens)))
	} else {
		logger.Warn("authentication off: every caller may call every method (--auth-token-file turns it on)")
	}
	if *noReflection {
		opts = append(opts, svcserver.WithoutReflection())
	}
	if *telemetry {
		shutdown, err := setUpTelemetry()
		if err != nil {
			fail(logger, "telemetry", err)
		}
		defer shutdown()
		opts = append(opts, svcprod.WithTelemetry())
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	// A page of ListProducts must stay below the message size the server
	// sends (and a default client receives).
	storeOpts := []svcstore.Option{svcstore.WithMaxPageBytes(server.PageBytes(*maxMsg))}
	if *tokenKeyFile != "" {
		key, err := os.ReadFile(*tokenKeyFile)
		if err != nil {
			logger.Error("page token key", slog.Any("error", err))
			os.Exit(2)
		}
		storeOpts = append(storeOpts, svcstore.WithPageTokenKey(key))
	}
	openCtx, cancelOpen := context.WithTimeout(ctx, 30*time.Second)
	repos, err := server.OpenStore(openCtx, *storeURL, storeOpts...)
	cancelOpen()
	if err != nil {
		logger.Error("store", slog.Any("error", err))
		os.Exit(1)
	}
	defer repos.Close()
	lis, err := net.Listen("tcp", *listen)
	if err != nil {
		fail(logger, "listen", err)
	}
	fmt.Printf("listening on %s\n", lis.Addr())
	// TLS (svcserver.WithTLS) applies to both: svchttp serves with the
	// server's TLS configuration.
	serve := func() error { return server.ServeHTTPOn(ctx, lis, logger, repos, nil, opts...) }
	if *grpcOnly {
		serve = func() error { return server.ServeOn(ctx, lis, logger, repos, opts...) }
	}
	if err := serve(); err != nil {
		repos.Close()
		fail(logger, "serve", err)
	}
}

// setUpTelemetry installs global tracer and meter providers that write to
// stderr, and the W3C trace context propagator. A real deployment would use
// OTLP exporters instead.
func setUpTelemetry() (shutdown func(), err error) {
	spans, err := stdouttrace.New(stdouttrace.WithWriter(os.Stderr))
	if err != nil {
		return nil, err
	}
	metrics, err := stdoutmetric.New(stdoutmetric.WithWriter(os.Stderr))
	if err != nil {
		return nil, err
	}
	tp := sdktrace.NewTracerProvider(sdktrace.WithBatcher(spans))
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(sdkmetric.NewPeriodicReader(metrics, sdkmetric.WithInterval(time.Minute))))
	otel.SetTracerProvider(tp)
	otel.SetMeterProvider(mp)
	otel.SetTextMapPropagator(propagation.TraceContext{})
	return func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		errors.Join(tp.Shutdown(ctx), mp.Shutdown(ctx))
	}, nil
}

func usage(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "shopd: "+format+"\n", args...)
	os.Exit(2)
}

func fail(logger *slog.Logger, what string, err error) {
	logger.Error(what, slog.Any("error", err))
	os.Exit(1)
}
