// Package svcserver is the small runtime behind the server skeletons that
// protoc-gen-svc generates.
//
// It offers what every gRPC service otherwise writes by hand: the
// Unimplemented answer that names the method, interceptors that turn a panic
// in a handler into codes.Internal instead of a crashed process, and a Server
// that registers the standard health service (with a status per registered
// service) and reflection, and stops gracefully when its context is
// cancelled.
//
// A Server is also safe by default where grpc-go is not:
//
//   - a handler error that is not a gRPC status error reaches the client as
//     codes.Internal "internal error in /pkg.Service/Method", never with its
//     text (which may hold file paths, SQL or addresses); the full error is
//     logged ([UnarySanitizer]);
//   - requests grpc cannot decode are logged (method, peer, error);
//   - messages are limited to [DefaultMaxRecvMsgSize] received and
//     [DefaultMaxSendMsgSize] sent ([WithMessageSizeLimits]);
//   - keepalive pings find dead or frozen clients ([DefaultKeepaliveParams])
//     and clients may ping as often as every 10s
//     ([DefaultKeepaliveEnforcement]) without being disconnected;
//   - TLS and mutual TLS are one option away ([WithTLS], [LoadServerTLS]);
//     a server without TLS says so in its "grpc server listening" log line.
//
// Authentication, validation, access logs and OpenTelemetry live in package
// svcprod, so that this package (imported by every generated skeleton) links
// nothing but grpc and protobuf.
//
// A Server is a plain grpc.Server underneath: every grpc-go feature
// (interceptors, credentials, stats handlers, ...) stays available through
// WithServerOptions, and generated Register functions accept it because it
// implements grpc.ServiceRegistrar.
//
//	srv := svcserver.New(svcserver.WithLogger(logger))
//	pb.RegisterGreeterServer(srv, &greeter{})
//	err := srv.Serve(ctx, lis) // returns nil after a graceful stop
package svcserver

import (
	"context"
	"crypto/tls"
	"errors"
	"log/slog"
	"net"
	"runtime"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/keepalive"
	"google.golang.org/grpc/reflection"
	"google.golang.org/grpc/status"
)

// Unimplemented returns the error a skeleton method answers when the user has
// not overridden it: codes.Unimplemented with the method's full name, e.g.
// "/library.v1.Library/GetBook", so a client log says exactly what is missing.
func Unimplemented(fullMethod string) error {
	return status.Error(codes.Unimplemented, "method "+fullMethod+" is not implemented")
}

// DefaultDrainTimeout is how long Serve waits for in-flight calls to finish
// after its context is cancelled, before it closes the remaining connections.
const DefaultDrainTimeout = 30 * time.Second

// Message size limits. The receive limit is grpc-go's own default; grpc-go
// sends messages of any size (up to 2 GiB), which a client with the default
// 4 MiB receive limit then refuses, so a Server limits what it sends to what
// a default client accepts: an oversized answer fails on the server, with
// codes.ResourceExhausted and a log line, instead of on every client.
const (
	DefaultMaxRecvMsgSize = 4 << 20
	DefaultMaxSendMsgSize = 4 << 20
)

// DefaultKeepaliveParams is the server side of keepalive: after 30s without
// activity on a connection the server pings the client, and closes the
// connection when no answer comes within 10s, so calls of a client that
// froze or vanished (a dead host, a dropped NAT mapping) end within ~40s
// instead of never.
var DefaultKeepaliveParams = keepalive.ServerParameters{
	Time:    30 * time.Second,
	Timeout: 10 * time.Second,
}

// DefaultKeepaliveEnforcement lets clients ping every 10s (grpc-go's minimum
// client interval), also without calls in flight. grpc-go's default (5
// minutes, no pings without calls) disconnects clients that use keepalive to
// detect a frozen server, with "too_many_pings".
var DefaultKeepaliveEnforcement = keepalive.EnforcementPolicy{
	MinTime:             10 * time.Second,
	PermitWithoutStream: true,
}

// Server is a grpc.Server with panic recovery, error sanitising, the health
// service and reflection registered, and graceful shutdown tied to a context.
type Server struct {
	grpc         *grpc.Server
	health       *health.Server
	logger       *slog.Logger
	drainTimeout time.Duration
	tls          *tls.Config // nil: plaintext
	transport    string      // for the log: plaintext, tls or mtls
	keepalive    keepalive.ServerParameters
}

// Option configures a Server.
type Option func(*config)

type config struct {
	logger         *slog.Logger
	serverOptions  []grpc.ServerOption
	checks         []UnaryCheck // given last, not yet in serverOptions (see WithCheck)
	drainTimeout   time.Duration
	withReflection bool
	tls            *tls.Config
	maxRecv        int
	maxSend        int
	keepalive      keepalive.ServerParameters
	enforcement    keepalive.EnforcementPolicy
	inProcess      bool // ServeInProcess: no network, nothing to warn about
}

// WithTLS serves over TLS with cfg (see [LoadServerTLS]); with cfg.ClientCAs
// set and cfg.ClientAuth requiring certificates, over mutual TLS. Without
// it a Server speaks plaintext, for local development and for deployments
// where a sidecar terminates TLS, and logs a warning when it starts.
func WithTLS(cfg *tls.Config) Option {
	return func(c *config) { c.tls = cfg }
}

// WithMessageSizeLimits sets the largest message the server receives and
// sends, in bytes (defaults [DefaultMaxRecvMsgSize], [DefaultMaxSendMsgSize]).
// A larger request fails with codes.ResourceExhausted before the handler
// runs; a larger answer fails with codes.ResourceExhausted on the server.
// Zero or negative keeps the default.
func WithMessageSizeLimits(recv, send int) Option {
	return func(c *config) {
		if recv > 0 {
			c.maxRecv = recv
		}
		if send > 0 {
			c.maxSend = send
		}
	}
}

// WithKeepalive replaces [DefaultKeepaliveParams] and
// [DefaultKeepaliveEnforcement].
func WithKeepalive(params keepalive.ServerParameters, enforcement keepalive.EnforcementPolicy) Option {
	return func(c *config) {
		c.keepalive = params
		c.enforcement = enforcement
	}
}

// WithLogger sets the logger for recovered panics and lifecycle events. The
// default is slog.Default().
func WithLogger(logger *slog.Logger) Option {
	return func(c *config) { c.logger = logger }
}

// WithServerOptions passes options to the underlying grpc.NewServer; they
// come after the Server's own, so they override its limits, keepalive and
// credentials. Unary and stream interceptors given here run after the
// recovery interceptors, so a panic in them is recovered too, and before the
// sanitizing ones ([UnarySanitizer]), so they see the status the client gets.
func WithServerOptions(opts ...grpc.ServerOption) Option {
	return func(c *config) {
		c.flushChecks()
		c.serverOptions = append(c.serverOptions, opts...)
	}
}

// UnaryCheck looks at a unary call before its handler (and the
// interceptors and checks given after it): it returns the context they get
// (ctx itself, or one derived from it: with the caller's identity, say), or
// the error the call is answered with instead.
type UnaryCheck func(ctx context.Context, req any, info *grpc.UnaryServerInfo) (context.Context, error)

// WithCheck runs unary where a unary interceptor given in its place would
// run, and stream, if not nil, as a stream interceptor given in its place:
// it is WithServerOptions(grpc.ChainUnaryInterceptor(...),
// grpc.ChainStreamInterceptor(stream)) for an interceptor that only looks
// at the call before passing it on. Checks given one after another share
// one interceptor: grpc-go's chain allocates a closure per call for every
// interceptor it calls, a shared one runs the checks in a loop.
func WithCheck(unary UnaryCheck, stream grpc.StreamServerInterceptor) Option {
	return func(c *config) {
		if unary != nil {
			c.checks = append(c.checks, unary)
		}
		if stream != nil {
			c.serverOptions = append(c.serverOptions, grpc.ChainStreamInterceptor(stream))
		}
	}
}

// flushChecks puts the checks given since the last server option into one
// unary interceptor, in order.
func (c *config) flushChecks() {
	if len(c.checks) == 0 {
		return
	}
	checks := c.checks
	c.checks = nil
	c.serverOptions = append(c.serverOptions, grpc.ChainUnaryInterceptor(
		func(ctx context.Context, req any, info *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
			for _, check := range checks {
				var err error
				if ctx, err = check(ctx, req, info); err != nil {
					return nil, err
				}
			}
			return handler(ctx, req)
		}))
}

// WithDrainTimeout bounds how long Serve waits for in-flight calls after its
// context is cancelled; calls still running then are cut off. The default is
// DefaultDrainTimeout. Zero or negative means wait without bound.
func WithDrainTimeout(d time.Duration) Option {
	return func(c *config) { c.drainTimeout = d }
}

// WithoutReflection leaves the server reflection service unregistered, for
// deployments that must not describe their API to anyone who asks.
func WithoutReflection() Option {
	return func(c *config) { c.withReflection = false }
}

// New returns a Server with recovery and sanitizing interceptors, message
// size limits, keepalive, the health service and (unless WithoutReflection
// is given) reflection registered.
//
// Calls are served by a pool of worker goroutines, one per CPU
// (grpc.NumStreamWorkers), started here and ended when the server stops
// (Serve's graceful stop, or Stop); WithServerOptions(grpc.NumStreamWorkers(0))
// serves every call on a goroutine of its own instead.
func New(opts ...Option) *Server {
	c := config{
		logger:         slog.Default(),
		drainTimeout:   DefaultDrainTimeout,
		withReflection: true,
		maxRecv:        DefaultMaxRecvMsgSize,
		maxSend:        DefaultMaxSendMsgSize,
		keepalive:      DefaultKeepaliveParams,
		enforcement:    DefaultKeepaliveEnforcement,
	}
	for _, opt := range opts {
		opt(&c)
	}
	c.flushChecks()
	transport := "plaintext"
	if c.inProcess {
		transport = "in-process"
	}
	serverOptions := []grpc.ServerOption{
		grpc.MaxRecvMsgSize(c.maxRecv),
		grpc.MaxSendMsgSize(c.maxSend),
		grpc.KeepaliveParams(c.keepalive),
		grpc.KeepaliveEnforcementPolicy(c.enforcement),
		grpc.StatsHandler(malformedLogger{c.logger}),
		// Calls run on a pool of goroutines, one per CPU, whose stacks have
		// already grown to what a call through the interceptors needs,
		// instead of a new goroutine per call that grows its stack, by
		// copying, on every call (a sixth of the CPU time of a call through
		// svcprod's production chain); when every worker is busy, grpc-go
		// starts a goroutine as it does without them.
		grpc.NumStreamWorkers(uint32(runtime.GOMAXPROCS(0))),
		// Chained interceptors run in the order they are given: the recovery
		// interceptors outermost, so that they also catch panics in
		// interceptors the user adds, and the sanitizers innermost.
		grpc.ChainUnaryInterceptor(UnaryRecovery(c.logger)),
		grpc.ChainStreamInterceptor(StreamRecovery(c.logger)),
	}
	var creds handshakenCreds
	if c.tls != nil {
		creds.base = credentials.NewTLS(c.tls)
		transport = "tls"
		if c.tls.ClientAuth >= tls.VerifyClientCertIfGiven {
			transport = "mtls"
		}
	}
	serverOptions = append(serverOptions, grpc.Creds(creds))
	serverOptions = append(serverOptions, c.serverOptions...)
	serverOptions = append(serverOptions,
		grpc.ChainUnaryInterceptor(UnarySanitizer(c.logger)),
		grpc.ChainStreamInterceptor(StreamSanitizer(c.logger)))
	s := &Server{
		grpc:         grpc.NewServer(serverOptions...),
		health:       health.NewServer(),
		logger:       c.logger,
		drainTimeout: c.drainTimeout,
		tls:          c.tls,
		transport:    transport,
		keepalive:    c.keepalive,
	}
	healthpb.RegisterHealthServer(s.grpc, s.health)
	if c.withReflection {
		reflection.Register(s.grpc)
	}
	return s
}

// RegisterService registers a service implementation, as generated
// RegisterXServer functions do, and reports the service SERVING on the health
// service. It implements grpc.ServiceRegistrar.
func (s *Server) RegisterService(desc *grpc.ServiceDesc, impl any) {
	s.grpc.RegisterService(desc, impl)
	s.health.SetServingStatus(desc.ServiceName, healthpb.HealthCheckResponse_SERVING)
}

// GRPC returns the underlying grpc.Server, for APIs that need it directly.
func (s *Server) GRPC() *grpc.Server { return s.grpc }

// Logger returns the logger the server logs to (WithLogger).
func (s *Server) Logger() *slog.Logger { return s.logger }

// TLSConfig returns the TLS configuration given to WithTLS, or nil for a
// plaintext server. Packages that serve the same grpc.Server another way
// (svchttp) serve with it too, so one option secures every protocol.
func (s *Server) TLSConfig() *tls.Config { return s.tls }

// Transport names what the server speaks, for logs: "plaintext", "tls" or
// "mtls" (client certificates verified).
func (s *Server) Transport() string { return s.transport }

// DrainTimeout returns how long a graceful stop waits for calls in flight
// (WithDrainTimeout); zero or negative means without bound. Packages that
// serve the same grpc.Server another way (svchttp) stop by the same rule.
func (s *Server) DrainTimeout() time.Duration { return s.drainTimeout }

// Keepalive returns the server's keepalive parameters (WithKeepalive,
// DefaultKeepaliveParams). grpc-go applies them to the connections it
// serves itself; packages that serve the same grpc.Server over net/http
// (svchttp) should apply them too (http.HTTP2Config's SendPingTimeout and
// PingTimeout), since grpc-go cannot on connections it does not own.
func (s *Server) Keepalive() keepalive.ServerParameters { return s.keepalive }

// Health returns the health service, to report a service NOT_SERVING while a
// dependency is down, for example. The empty service name is the server as a
// whole.
func (s *Server) Health() *health.Server { return s.health }

// Serve accepts connections on lis until ctx is cancelled or serving fails.
//
// On cancellation it reports every service NOT_SERVING (so load balancers
// stop routing to it), stops accepting new calls, waits for in-flight calls
// for at most the drain timeout, and returns nil. A failure to serve is
// returned as is.
func (s *Server) Serve(ctx context.Context, lis net.Listener) error {
	serveErr := make(chan error, 1)
	go func() { serveErr <- s.grpc.Serve(lis) }()
	if s.transport == "plaintext" {
		s.logger.WarnContext(ctx, "grpc server listening", slog.String("address", lis.Addr().String()),
			slog.String("transport", "plaintext"),
			slog.String("note", "no TLS: for local development, or behind a proxy that terminates TLS"))
	} else {
		s.logger.InfoContext(ctx, "grpc server listening", slog.String("address", lis.Addr().String()),
			slog.String("transport", s.transport))
	}

	select {
	case err := <-serveErr:
		return err
	case <-ctx.Done():
	}
	s.logger.Info("grpc server stopping", slog.Duration("drain_timeout", s.drainTimeout))
	s.health.Shutdown()
	s.stopGracefully()
	if err := <-serveErr; err != nil && !errors.Is(err, grpc.ErrServerStopped) {
		return err
	}
	s.logger.Info("grpc server stopped")
	return nil
}

// stopGracefully waits for in-flight calls, then forces the rest to stop once
// the drain timeout has passed.
func (s *Server) stopGracefully() {
	if s.drainTimeout <= 0 {
		s.grpc.GracefulStop()
		return
	}
	done := make(chan struct{})
	go func() {
		s.grpc.GracefulStop()
		close(done)
	}()
	timer := time.NewTimer(s.drainTimeout)
	defer timer.Stop()
	select {
	case <-done:
	case <-timer.C:
		s.logger.Warn("grpc server drain timeout passed; closing remaining calls")
		s.grpc.Stop()
		<-done
	}
}

// Stop closes every connection and cancels in-flight calls at once. Prefer
// cancelling the context given to Serve, which drains calls first.
func (s *Server) Stop() {
	s.health.Shutdown()
	s.grpc.Stop()
}

var _ grpc.ServiceRegistrar = (*Server)(nil)
