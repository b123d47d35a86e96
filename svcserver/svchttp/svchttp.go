// Package svchttp serves the services of a svcserver.Server to every kind of
// client on one port: gRPC, gRPC-Web, the Connect protocol, and REST/JSON
// from the methods' google.api.http annotations.
//
// It is the glue between svcserver and connectrpc.com/vanguard, whose
// vanguardgrpc transcoder turns each gRPC-Web, Connect or REST request into a
// gRPC call to the grpc.Server underneath. Every call therefore runs through
// the server's interceptors (recovery, authentication, validation, logging)
// whatever protocol it came in on, and a status error reaches each client in
// that protocol's way: an HTTP status (NOT_FOUND is 404, INVALID_ARGUMENT 400,
// UNAUTHENTICATED 401, ...) with a JSON body for REST and Connect, trailers
// for gRPC and gRPC-Web, error details included.
//
// It lives apart from svcserver so that the generated skeletons, which import
// svcserver, do not link vanguard.
//
//	srv := svcserver.New()
//	pb.RegisterLibraryServer(srv, &library{})
//	err := svchttp.Serve(ctx, srv, lis) // h2c + HTTP/1.1; WithTLSConfig for TLS
//
// Deadlines: gRPC and gRPC-Web clients send grpc-timeout, Connect clients
// Connect-Timeout-Ms, REST clients X-Server-Timeout (seconds, e.g. "1.5"); a
// client that goes away cancels the call's context. Methods without a
// google.api.http rule are still reachable through gRPC, gRPC-Web and Connect.
package svchttp

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"time"

	"connectrpc.com/vanguard"
	"connectrpc.com/vanguard/vanguardgrpc"
	"google.golang.org/grpc"

	"github.com/svcgen/protoc-gen-svc/svcserver"
)

// DefaultReadHeaderTimeout bounds how long a client may take to send a
// request's headers (slowloris protection); see WithReadHeaderTimeout.
const DefaultReadHeaderTimeout = 10 * time.Second

// Option configures Handler and Serve.
type Option func(*config)

type config struct {
	tlsConfig         *tls.Config
	fallback          http.Handler
	transcoderOptions []vanguard.TranscoderOption
	readHeaderTimeout time.Duration
}

// WithTLSConfig serves TLS with cfg (HTTP/2 and HTTP/1.1 through ALPN)
// instead of cleartext. cfg must hold a certificate (Certificates or
// GetCertificate); Serve does not modify it.
func WithTLSConfig(cfg *tls.Config) Option {
	return func(c *config) { c.tlsConfig = cfg }
}

// WithFallback serves the requests that name no method of the server and
// match no REST route, a web page for example. Without it they get 404.
func WithFallback(h http.Handler) Option {
	return func(c *config) { c.fallback = h }
}

// WithTranscoderOptions passes options to vanguard's transcoder, for example
// vanguard.WithRules to add REST routes to methods whose protos have none, or
// vanguard.WithDefaultServiceOptions(vanguard.WithMaxMessageBufferBytes(n)).
func WithTranscoderOptions(opts ...vanguard.TranscoderOption) Option {
	return func(c *config) { c.transcoderOptions = append(c.transcoderOptions, opts...) }
}

// WithReadHeaderTimeout changes DefaultReadHeaderTimeout; zero or negative
// means no limit.
func WithReadHeaderTimeout(d time.Duration) Option {
	return func(c *config) { c.readHeaderTimeout = d }
}

func newConfig(opts []Option) config {
	c := config{readHeaderTimeout: DefaultReadHeaderTimeout}
	for _, opt := range opts {
		opt(&c)
	}
	return c
}

// Handler returns an http.Handler that serves every service registered on
// srv when Handler is called (register them first) to gRPC, gRPC-Web,
// Connect and REST clients. gRPC requests in the protobuf codec go straight
// to the grpc.Server; everything else is transcoded by vanguard. gRPC needs
// HTTP/2, as does Connect or gRPC-Web streaming of client messages; unary
// and server-streaming Connect, gRPC-Web and REST also work over HTTP/1.1.
//
// It fails when a google.api.http rule cannot be served (a path that names no
// field, two rules on one route, ...).
func Handler(srv *svcserver.Server, opts ...Option) (http.Handler, error) {
	c := newConfig(opts)
	return c.handler(srv)
}

func (c *config) handler(srv *svcserver.Server) (http.Handler, error) {
	var topts []vanguard.TranscoderOption
	if c.fallback != nil {
		topts = append(topts, vanguard.WithUnknownHandler(c.fallback))
	}
	topts = append(topts, c.transcoderOptions...)
	transcoder, err := vanguardgrpc.NewTranscoder(srv.GRPC(), topts...)
	if err != nil {
		return nil, fmt.Errorf("svchttp: %w", err)
	}
	grpcServer := srv.GRPC()
	unary := unaryMethods(grpcServer)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if isNativeGRPC(r) {
			grpcServer.ServeHTTP(w, r)
			return
		}
		if unary[r.URL.Path] && isConnectUnaryWithoutVersion(r) {
			// The Connect protocol makes Connect-Protocol-Version optional
			// and connect-go servers accept requests without it, so that
			// `curl -H 'Content-Type: application/json' -d '{}'
			// http://host/pkg.Service/Method` works; vanguard (v0.4.0)
			// takes such a request for REST and finds no route.
			r.Header.Set("Connect-Protocol-Version", "1")
		}
		transcoder.ServeHTTP(w, r)
	}), nil
}

// unaryMethods returns the paths ("/pkg.Service/Method") of the unary methods
// registered on s.
func unaryMethods(s *grpc.Server) map[string]bool {
	paths := make(map[string]bool)
	for service, info := range s.GetServiceInfo() {
		for _, m := range info.Methods {
			if !m.IsClientStream && !m.IsServerStream {
				paths["/"+service+"/"+m.Name] = true
			}
		}
	}
	return paths
}

// isConnectUnaryWithoutVersion reports a POST with a Connect unary content
// type (application/json, application/proto, ...) and no
// Connect-Protocol-Version header.
func isConnectUnaryWithoutVersion(r *http.Request) bool {
	if r.Method != http.MethodPost || r.Header.Get("Connect-Protocol-Version") != "" {
		return false
	}
	ct := r.Header.Get("Content-Type")
	if i := strings.IndexByte(ct, ';'); i >= 0 {
		ct = ct[:i]
	}
	ct = strings.TrimSpace(ct)
	return strings.HasPrefix(ct, "application/") &&
		!strings.HasPrefix(ct, "application/grpc") && !strings.HasPrefix(ct, "application/connect+")
}

// isNativeGRPC reports a gRPC request the grpc.Server can take as it is: on
// HTTP/2, protobuf codec (gRPC-Web, and gRPC with the JSON codec, need
// vanguard).
func isNativeGRPC(r *http.Request) bool {
	if r.ProtoMajor != 2 || r.Method != http.MethodPost {
		return false
	}
	ct := r.Header.Get("Content-Type")
	return ct == "application/grpc" || ct == "application/grpc+proto"
}

// Serve serves srv on lis to gRPC, gRPC-Web, Connect and REST clients until
// ctx is cancelled or serving fails: cleartext HTTP/1.1 and HTTP/2 (h2c
// with prior knowledge, for local development and behind a TLS-terminating
// proxy) unless WithTLSConfig is given or srv has a TLS configuration
// (svcserver.WithTLS), which is then used for every protocol (HTTP/2
// through ALPN "h2", and HTTP/1.1).
//
// Each connection is served by one of two servers, chosen by its first
// request: an HTTP/2 connection whose first request is gRPC (content-type
// application/grpc) by grpc-go's own transport, as svcserver.Server.Serve
// would serve it; every other connection by net/http, where vanguard
// transcodes gRPC-Web, Connect and REST. The choice holds for the
// connection's lifetime: a gRPC call on a connection that began with
// another protocol, or in a codec other than protobuf, still works, through
// net/http and grpc.Server.ServeHTTP, at about twice the CPU. An HTTP/2
// connection that sends no request within the read-header timeout
// (WithReadHeaderTimeout) is given to net/http.
//
// On cancellation it stops as svcserver.Server.Serve does: every service is
// reported NOT_SERVING, no new connections are accepted, calls in flight may
// finish within srv's drain timeout (svcserver.WithDrainTimeout) and are
// then cut off; Serve returns nil. A failure to serve is returned as is.
// srv must not also be serving with its own Serve.
func Serve(ctx context.Context, srv *svcserver.Server, lis net.Listener, opts ...Option) error {
	c := newConfig(opts)
	transport := "plaintext"
	if c.tlsConfig == nil && srv.TLSConfig() != nil {
		c.tlsConfig, transport = srv.TLSConfig(), srv.Transport()
	} else if c.tlsConfig != nil {
		transport = "tls"
		if c.tlsConfig.ClientAuth >= tls.VerifyClientCertIfGiven {
			transport = "mtls"
		}
	}
	handler, err := c.handler(srv)
	if err != nil {
		return err
	}
	logger := srv.Logger()
	// net/http gets decrypted connections (see router): HTTP/1.1 over TLS
	// as *tls.Conn, HTTP/2 over TLS as "unencrypted" HTTP/2 whose requests
	// get their TLS state back from the connection's context.
	protocols := new(http.Protocols)
	protocols.SetHTTP1(true)
	protocols.SetUnencryptedHTTP2(true)
	hs := &http.Server{
		Handler:           withTLSState(handler),
		Protocols:         protocols,
		ReadHeaderTimeout: c.readHeaderTimeout,
		ConnContext:       connContext,
		ErrorLog:          slog.NewLogLogger(logger.Handler(), slog.LevelWarn),
		// grpc-go's keepalive applies only to the connections it serves
		// itself; on the connections net/http serves its HTTP/2 server
		// pings instead, with the same parameters (svcserver.WithKeepalive),
		// so a frozen client is dropped there too.
		HTTP2: &http.HTTP2Config{
			SendPingTimeout: srv.Keepalive().Time,
			PingTimeout:     srv.Keepalive().Timeout,
		},
	}
	r := newRouter(lis, c.tlsConfig, c.readHeaderTimeout, logger)

	routerErr := make(chan error, 1)
	go func() { routerErr <- r.serve() }()
	httpErr := make(chan error, 1)
	go func() { httpErr <- hs.Serve(r.http) }()
	grpcErr := make(chan error, 1)
	go func() { grpcErr <- srv.GRPC().Serve(r.grpc) }()
	attrs := []any{
		slog.String("address", lis.Addr().String()),
		slog.String("transport", transport),
		slog.String("protocols", "grpc, grpc-web, connect, rest"),
	}
	if transport == "plaintext" {
		logger.WarnContext(ctx, "http server listening", append(attrs,
			slog.String("note", "no TLS: for local development, or behind a proxy that terminates TLS"))...)
	} else {
		logger.InfoContext(ctx, "http server listening", attrs...)
	}

	var failure error
	select {
	case failure = <-routerErr:
	case failure = <-httpErr:
	case failure = <-grpcErr:
	case <-ctx.Done():
	}
	if failure != nil {
		r.close()
		hs.Close()
		srv.Stop()
		return failure
	}
	drain := srv.DrainTimeout()
	logger.Info("http server stopping", slog.Duration("drain_timeout", drain))
	srv.Health().Shutdown()
	shutdownCtx := context.Background()
	if drain > 0 {
		var cancel context.CancelFunc
		shutdownCtx, cancel = context.WithTimeout(shutdownCtx, drain)
		defer cancel()
	}
	// No new connections; those that have sent no request yet are closed.
	r.close()
	// net/http first: Shutdown waits for its requests in flight (over
	// HTTP/2 it sends GOAWAY first), gRPC through ServeHTTP included, which
	// grpc.Server.GracefulStop would cut off at once. grpc-go's own
	// connections go on serving meanwhile.
	if err := hs.Shutdown(shutdownCtx); err != nil {
		logger.Warn("http server drain timeout passed; closing remaining calls")
		hs.Close()
	}
	// Then grpc-go's: GOAWAY, and the calls in flight may finish within
	// what is left of the drain timeout.
	stopped := make(chan struct{})
	go func() {
		srv.GRPC().GracefulStop()
		close(stopped)
	}()
	select {
	case <-stopped:
	case <-shutdownCtx.Done():
		logger.Warn("grpc server drain timeout passed; closing remaining calls")
		srv.GRPC().Stop()
		<-stopped
	}
	if err := <-httpErr; err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	<-grpcErr // the router's listener closed: not a failure
	if err := <-routerErr; err != nil {
		return err
	}
	logger.Info("http server stopped")
	return nil
}

// withTLSState gives the requests of HTTP/2 connections over TLS their
// TLS state (http.Request.TLS), which net/http cannot set on connections
// the router decrypted (see connContext).
func withTLSState(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.TLS == nil {
			if state, ok := r.Context().Value(tlsStateKey{}).(*tls.ConnectionState); ok {
				r2 := new(http.Request) // a shallow copy, as Request.WithContext makes
				*r2 = *r
				r2.TLS = state
				r = r2
			}
		}
		h.ServeHTTP(w, r)
	})
}
