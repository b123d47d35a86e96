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
	"github.com/svcgen/protoc-gen-svc/svcstore"
)

func main() {
	listen := flag.String("listen", "127.0.0.1:8443", "`address` to listen on; port 0 picks a free port")
	logFormat := flag.String("log-format", "text", "log format: text or json")
	storeURL := flag.String("store", "memory:", "where the data lives: memory:, sqlite:PATH or postgres://...")
	tokenKeyFile := flag.String("page-token-key-file", "", "`file` holding the page-token key replicas share (at least 16 bytes); default a random key per process")
	drain := flag.Duration("drain-timeout", 10*time.Second, "on shutdown, how long calls in flight (e.g. open RepriceProducts streams) may take to finish")
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
	var storeOpts []svcstore.Option
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
		logger.Error("listen", slog.Any("error", err))
		os.Exit(1)
	}
	fmt.Printf("listening on %s\n", lis.Addr())
	if err := server.ServeOn(ctx, lis, logger, repos, svcserver.WithDrainTimeout(*drain)); err != nil {
		logger.Error("serve", slog.Any("error", err))
		repos.Close()
		os.Exit(1)
	}
}
