// Command shopd serves the shop example's API (shop.v1: Catalog, Customers,
// Orders) on in-memory repositories, with health and reflection:
//
//	go run ./examples/shop/cmd/shopd --listen 127.0.0.1:8443
//
// The one --listen address serves gRPC, gRPC-Web, Connect and REST/JSON
// (cleartext HTTP/1.1 and HTTP/2), and the shop's web page at
// http://ADDR/; --grpc-only serves gRPC alone on grpc-go's own transport.
//
// It prints the address it listens on to stdout ("listening on ADDR"; with
// port 0 the system picks a free one), logs to stderr, and on SIGINT or
// SIGTERM stops gracefully: new calls are refused, calls in flight finish
// (within --drain-timeout), watches end, and it exits 0.
package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/svcgen/protoc-gen-svc/examples/shop/server"
	"github.com/svcgen/protoc-gen-svc/svcserver"
)

func main() {
	listen := flag.String("listen", "127.0.0.1:8443", "`address` to listen on; port 0 picks a free port")
	logFormat := flag.String("log-format", "text", "log format: text or json")
	drain := flag.Duration("drain-timeout", 10*time.Second, "on shutdown, how long calls in flight (e.g. open RepriceProducts streams) may take to finish")
	grpcOnly := flag.Bool("grpc-only", false, "serve gRPC only, on grpc-go's own HTTP/2 transport, instead of gRPC, gRPC-Web, Connect, REST/JSON and the web page")
	flag.Parse()

	var handler slog.Handler
	switch *logFormat {
	case "text":
		handler = slog.NewTextHandler(os.Stderr, nil)
	case "json":
		handler = slog.NewJSONHandler(os.Stderr, nil)
	default:
		fmt.Fprintf(os.Stderr, "shopd: --log-format must be text or json, not %q\n", *logFormat)
		os.Exit(2)
	}
	logger := slog.New(handler)

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	lis, err := net.Listen("tcp", *listen)
	if err != nil {
		logger.Error("listen", slog.Any("error", err))
		os.Exit(1)
	}
	fmt.Printf("listening on %s\n", lis.Addr())
	serve := func() error { return server.ServeHTTP(ctx, lis, logger, nil, svcserver.WithDrainTimeout(*drain)) }
	if *grpcOnly {
		serve = func() error { return server.Serve(ctx, lis, logger, svcserver.WithDrainTimeout(*drain)) }
	}
	if err := serve(); err != nil {
		logger.Error("serve", slog.Any("error", err))
		os.Exit(1)
	}
}
