//go:build unix

package svchttp_test

import (
	"context"
	"crypto/tls"
	"io"
	"log/slog"
	"net"
	"net/http"
	"syscall"
	"testing"
	"time"

	"connectrpc.com/connect"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/encoding/protojson"

	shopv1 "github.com/svcgen/protoc-gen-svc/examples/shop/gen/shop/v1"
	"github.com/svcgen/protoc-gen-svc/examples/shop/server"
	"github.com/svcgen/protoc-gen-svc/svcserver"
	"github.com/svcgen/protoc-gen-svc/svcserver/svchttp"
)

// BenchmarkUnary makes the same unary call (GetProduct) in every protocol,
// in one run, against the shop on loopback:
//
//   - grpc-native: svcserver.Serve, grpc-go's own HTTP/2 transport (the
//     baseline: a server without svchttp);
//   - grpc: grpc-go's client through svchttp.Serve (which hands the
//     connection to grpc-go's transport);
//   - grpc-native-tls, grpc-tls: the same two over TLS;
//   - connect-json, connect-proto: connect-go's client, over h2c;
//     connect-json-http1: over HTTP/1.1, as REST;
//   - grpc-web: connect-go's gRPC-Web client, over HTTP/1.1;
//   - rest: GET /v1/products/{name}, over HTTP/1.1.
//
// Besides wall time (noisy on a shared machine), each reports cpu-ns/op:
// the CPU time of the whole process (client and server, all threads) per
// call, from getrusage.
//
// Compare with: go test -run '^$' -bench Unary -count 6 ./svcserver/svchttp
// | go run golang.org/x/perf/cmd/benchstat@latest -col /protocol -
func BenchmarkUnary(b *testing.B) {
	ts := start(b)
	ctx := b.Context()
	catalog := shopv1.NewCatalogClient(ts.grpc)
	if _, err := catalog.CreateProduct(ctx, &shopv1.CreateProductRequest{ProductId: "espresso", Product: &shopv1.Product{Title: "Espresso", Price: eur(22990)}}); err != nil {
		b.Fatal(err)
	}
	req := &shopv1.GetProductRequest{Name: "espresso"}

	cert, pool := selfSigned(b)
	serverTLS := &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
	clientTLS := grpc.WithTransportCredentials(credentials.NewClientTLSFromCert(pool, ""))
	tlsTS := start(b, svchttp.WithTLSConfig(serverTLS))
	tlsConn, err := grpc.NewClient(tlsTS.addr, clientTLS)
	if err != nil {
		b.Fatal(err)
	}
	defer tlsConn.Close()
	for _, tc := range []struct {
		name string
		conn func(b *testing.B) grpc.ClientConnInterface
	}{
		{"grpc-native", func(b *testing.B) grpc.ClientConnInterface {
			return startNative(b, nil, grpc.WithTransportCredentials(insecure.NewCredentials()))
		}},
		{"grpc", func(*testing.B) grpc.ClientConnInterface { return ts.grpc }},
		{"grpc-native-tls", func(b *testing.B) grpc.ClientConnInterface { return startNative(b, serverTLS, clientTLS) }},
		{"grpc-tls", func(*testing.B) grpc.ClientConnInterface { return tlsConn }},
	} {
		b.Run("protocol="+tc.name, func(b *testing.B) {
			client := shopv1.NewCatalogClient(tc.conn(b))
			// The product exists, and the connection is up, before the
			// measurement starts.
			_, err := client.CreateProduct(ctx, &shopv1.CreateProductRequest{ProductId: "espresso", Product: &shopv1.Product{Title: "Espresso", Price: eur(22990)}})
			if err != nil && status.Code(err) != codes.AlreadyExists {
				b.Fatal(err)
			}
			defer reportCPU(b)()
			for b.Loop() {
				if _, err := client.GetProduct(ctx, req); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
	for _, tc := range []struct {
		name   string
		client *http.Client
		opts   []connect.ClientOption
	}{
		{"connect-json", h2c(b), []connect.ClientOption{connect.WithProtoJSON()}},
		{"connect-proto", h2c(b), nil},
		{"connect-json-http1", http1(b), []connect.ClientOption{connect.WithProtoJSON()}},
		{"grpc-web", http1(b), []connect.ClientOption{connect.WithGRPCWeb()}},
	} {
		b.Run("protocol="+tc.name, func(b *testing.B) {
			get := connect.NewClient[shopv1.GetProductRequest, shopv1.Product](tc.client, ts.base+"/shop.v1.Catalog/GetProduct", tc.opts...)
			defer reportCPU(b)()
			for b.Loop() {
				if _, err := get.CallUnary(ctx, connect.NewRequest(req)); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
	b.Run("protocol=rest", func(b *testing.B) {
		client := http1(b)
		defer reportCPU(b)()
		for b.Loop() {
			resp, err := client.Get(ts.base + "/v1/products/espresso")
			if err != nil {
				b.Fatal(err)
			}
			// Decoding the JSON is part of a REST client's cost, as it is
			// of the others.
			out := new(shopv1.Product)
			data, err := io.ReadAll(resp.Body)
			resp.Body.Close()
			if err != nil || resp.StatusCode != http.StatusOK {
				b.Fatal(resp.Status, err)
			}
			if err := protojson.Unmarshal(data, out); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// startNative serves the shop with svcserver.Serve (gRPC only; over TLS
// with serverTLS unless nil) and returns a client connection to it.
func startNative(b *testing.B, serverTLS *tls.Config, dial ...grpc.DialOption) *grpc.ClientConn {
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	logger := slog.New(slog.DiscardHandler)
	opts := []svcserver.Option{svcserver.WithLogger(logger), svcserver.WithServerOptions(grpc.ChainUnaryInterceptor(auth, validate))}
	if serverTLS != nil {
		opts = append(opts, svcserver.WithTLS(serverTLS))
	}
	srv := svcserver.New(opts...)
	shop := server.New(logger)
	shop.Register(srv)
	ctx, cancel := context.WithCancel(context.Background())
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ctx, lis) }()
	conn, err := grpc.NewClient(lis.Addr().String(), dial...)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() {
		conn.Close()
		cancel()
		shop.Close()
		if err := <-served; err != nil {
			b.Error(err)
		}
	})
	return conn
}

// reportCPU starts measuring the process's CPU time; the function it returns
// reports it per iteration as cpu-ns/op. Call it after the setup, and defer
// the result.
func reportCPU(b *testing.B) func() {
	start := cpuTime(b)
	return func() {
		if b.N > 0 {
			b.ReportMetric(float64(cpuTime(b)-start)/float64(b.N), "cpu-ns/op")
		}
	}
}

func cpuTime(b *testing.B) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
