package svchttp_test

import (
	"context"
	"crypto/tls"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"testing"
	"time"

	"connectrpc.com/connect"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/credentials/insecure"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/peer"

	"github.com/svcgen/protoc-gen-svc/svcserver"
	"github.com/svcgen/protoc-gen-svc/svcserver/svchttp"
)

// servedBy is what an interceptor saw of one call: which server carried it
// and what the peer's AuthInfo was.
type servedBy struct {
	netHTTP bool // through net/http (grpc.Server.ServeHTTP), not grpc-go's transport
	tls     bool // the AuthInfo is a completed TLS handshake
}

// probe records servedBy for every call.
type probe struct {
	mu    sync.Mutex
	calls []servedBy
}

func (p *probe) intercept(ctx context.Context, req any, info *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
	var s servedBy
	// net/http puts the connection's local address in every request's
	// context, which grpc.Server.ServeHTTP passes on; grpc-go's own
	// transport does not.
	s.netHTTP = ctx.Value(http.LocalAddrContextKey) != nil
	if pr, ok := peer.FromContext(ctx); ok {
		if ti, ok := pr.AuthInfo.(credentials.TLSInfo); ok && ti.State.HandshakeComplete {
			s.tls = true
		}
	}
	p.mu.Lock()
	p.calls = append(p.calls, s)
	p.mu.Unlock()
	return handler(ctx, req)
}

func (p *probe) last(t *testing.T) servedBy {
	t.Helper()
	p.mu.Lock()
	defer p.mu.Unlock()
	if len(p.calls) == 0 {
		t.Fatal("no call reached the server")
	}
	return p.calls[len(p.calls)-1]
}

// startProbed serves a svcserver.Server (health service only) through
// svchttp.Serve with the probe's interceptor.
func startProbed(t *testing.T, opts ...svchttp.Option) (string, *probe) {
	t.Helper()
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := new(probe)
	srv := svcserver.New(svcserver.WithLogger(slog.New(slog.DiscardHandler)),
		svcserver.WithDrainTimeout(5*time.Second),
		svcserver.WithServerOptions(grpc.ChainUnaryInterceptor(p.intercept)))
	ctx, cancel := context.WithCancel(context.Background())
	served := make(chan error, 1)
	go func() { served <- svchttp.Serve(ctx, srv, lis, opts...) }()
	t.Cleanup(func() {
		cancel()
		if err := <-served; err != nil {
			t.Errorf("Serve: %v", err)
		}
	})
	return lis.Addr().String(), p
}

// TestTransportPerConnection: a connection whose first request is gRPC is
// served by grpc-go's own transport — grpc-go's client, which waits for the
// server's SETTINGS before it sends a request, and connect-go's gRPC client
// on net/http's transport, which does not wait — in cleartext and over TLS;
// a connection that begins with another protocol stays with net/http, and a
// gRPC call on it still works there. Over TLS both servers see the peer's
// TLS state.
func TestTransportPerConnection(t *testing.T) {
	cert, pool := selfSigned(t)
	for _, secure := range []bool{false, true} {
		name := "cleartext"
		var opts []svchttp.Option
		if secure {
			name = "tls"
			opts = append(opts, svchttp.WithTLSConfig(&tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}))
		}
		t.Run(name, func(t *testing.T) {
			addr, p := startProbed(t, opts...)
			ctx := t.Context()
			check := &healthpb.HealthCheckRequest{}
			want := func(what string, netHTTP bool) {
				t.Helper()
				got := p.last(t)
				if got.netHTTP != netHTTP {
					t.Errorf("%s: served through net/http = %v, want %v", what, got.netHTTP, netHTTP)
				}
				if got.tls != secure {
					t.Errorf("%s: the call's peer has TLS = %v, want %v", what, got.tls, secure)
				}
			}

			creds := insecure.NewCredentials()
			base := "http://" + addr
			transport := &http.Transport{}
			if secure {
				creds = credentials.NewClientTLSFromCert(pool, "")
				base = "https://" + addr
				transport.TLSClientConfig = &tls.Config{RootCAs: pool}
			}
			// HTTP/2 only (ALPN h2 over TLS, prior knowledge in cleartext).
			protocols := new(http.Protocols)
			protocols.SetHTTP2(true)
			protocols.SetUnencryptedHTTP2(true)
			transport.Protocols = protocols

			conn, err := grpc.NewClient(addr, grpc.WithTransportCredentials(creds))
			if err != nil {
				t.Fatal(err)
			}
			defer conn.Close()
			for range 2 {
				if _, err := healthpb.NewHealthClient(conn).Check(ctx, check); err != nil {
					t.Fatalf("grpc-go client: %v", err)
				}
				want("grpc-go client", false)
			}

			// connect-go's gRPC client: its first request is gRPC.
			first := transport.Clone()
			defer first.CloseIdleConnections()
			grpcFirst := connect.NewClient[healthpb.HealthCheckRequest, healthpb.HealthCheckResponse](
				&http.Client{Transport: first}, base+"/grpc.health.v1.Health/Check", connect.WithGRPC())
			if _, err := grpcFirst.CallUnary(ctx, connect.NewRequest(check)); err != nil {
				t.Fatalf("connect-go gRPC client: %v", err)
			}
			want("connect-go gRPC client", false)

			// A connection that begins with a Connect call: that call, and a
			// gRPC call after it on the same connection, go through net/http.
			shared := transport.Clone()
			defer shared.CloseIdleConnections()
			client := &http.Client{Transport: shared}
			connectCall := connect.NewClient[healthpb.HealthCheckRequest, healthpb.HealthCheckResponse](
				client, base+"/grpc.health.v1.Health/Check")
			if _, err := connectCall.CallUnary(ctx, connect.NewRequest(check)); err != nil {
				t.Fatalf("Connect: %v", err)
			}
			want("Connect", true)
			grpcLater := connect.NewClient[healthpb.HealthCheckRequest, healthpb.HealthCheckResponse](
				client, base+"/grpc.health.v1.Health/Check", connect.WithGRPC())
			for range 2 {
				if _, err := grpcLater.CallUnary(ctx, connect.NewRequest(check)); err != nil {
					t.Fatalf("gRPC after Connect on one connection: %v", err)
				}
				want("gRPC after Connect on one connection", true)
			}
		})
	}
}
