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
// A Server is a plain grpc.Server underneath: every grpc-go feature
// (interceptors, credentials, keepalive, ...) stays available through
// WithServerOptions, and generated Register functions accept it because it
// implements grpc.ServiceRegistrar.
//
//	srv := svcserver.New(svcserver.WithLogger(logger))
//	pb.RegisterGreeterServer(srv, &greeter{})
//	err := srv.Serve(ctx, lis) // returns nil after a graceful stop
package svcserver

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
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

// Server is a grpc.Server with panic recovery, the health service and
// reflection registered, and graceful shutdown tied to a context.
type Server struct {
	grpc         *grpc.Server
	health       *health.Server
	logger       *slog.Logger
	drainTimeout time.Duration
}

// Option configures a Server.
type Option func(*config)

type config struct {
	logger         *slog.Logger
	serverOptions  []grpc.ServerOption
	drainTimeout   time.Duration
	withReflection bool
}

// WithLogger sets the logger for recovered panics and lifecycle events. The
// default is slog.Default().
func WithLogger(logger *slog.Logger) Option {
	return func(c *config) { c.logger = logger }
}

// WithServerOptions passes options to the underlying grpc.NewServer. Unary and
// stream interceptors given here run after the recovery interceptors, so a
// panic in them is recovered too.
func WithServerOptions(opts ...grpc.ServerOption) Option {
	return func(c *config) { c.serverOptions = append(c.serverOptions, opts...) }
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

// New returns a Server with recovery interceptors, the health service and
// (unless WithoutReflection is given) reflection registered.
func New(opts ...Option) *Server {
	c := config{logger: slog.Default(), drainTimeout: DefaultDrainTimeout, withReflection: true}
	for _, opt := range opts {
		opt(&c)
	}
	// ChainUnaryInterceptor puts the recovery interceptors outermost, so they
	// also catch panics in interceptors the user adds.
	serverOptions := append([]grpc.ServerOption{
		grpc.ChainUnaryInterceptor(UnaryRecovery(c.logger)),
		grpc.ChainStreamInterceptor(StreamRecovery(c.logger)),
	}, c.serverOptions...)
	s := &Server{
		grpc:         grpc.NewServer(serverOptions...),
		health:       health.NewServer(),
		logger:       c.logger,
		drainTimeout: c.drainTimeout,
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

// DrainTimeout returns how long a graceful stop waits for calls in flight
// (WithDrainTimeout); zero or negative means without bound. Packages that
// serve the same grpc.Server another way (svchttp) stop by the same rule.
func (s *Server) DrainTimeout() time.Duration { return s.drainTimeout }

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
	s.logger.InfoContext(ctx, "grpc server listening", slog.String("address", lis.Addr().String()))

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
