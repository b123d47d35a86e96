// Package server is the shop example's gRPC server: the three services of
// shop.v1 built from the skeletons protoc-gen-svc generates, on repositories
// in memory, in SQLite or in PostgreSQL ([OpenStore]), with hand-written methods where the API is not a standard
// method (watching and repricing products, placing and cancelling orders).
//
// cmd/shopd is a thin main around [Serve]; the tests start the same server
// on a loopback port.
package server

import (
	"context"
	"log/slog"
	"net"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	shopv1 "github.com/svcgen/protoc-gen-svc/examples/shop/gen/shop/v1"
	"github.com/svcgen/protoc-gen-svc/svcserver"
)

// Shop holds the implementations of the shop's three services. They share
// the product repository: orders take products out of stock, and every
// change to a product reaches the watchers of the catalog.
type Shop struct {
	Catalog   *Catalog
	Customers *Customers
	Orders    *Orders
}

// Customers serves shop.v1.Customers. Every method of the service has a
// standard shape, so the generated skeleton on its in-memory repository
// serves all of them: there is nothing to override.
type Customers struct {
	shopv1.CustomersSkeleton
}

// New returns the shop's services on new, empty in-memory repositories.
func New(logger *slog.Logger) *Shop {
	return NewOn(logger, InMemory())
}

// NewOn returns the shop's services on repos (see [OpenStore]).
func NewOn(logger *slog.Logger, repos *Repositories) *Shop {
	if logger == nil {
		logger = slog.Default()
	}
	catalog := newCatalog(logger, repos.Products)
	customers := &Customers{CustomersSkeleton: shopv1.NewCustomersSkeleton(shopv1.CustomersRepositories{Customer: repos.Customers})}
	return &Shop{
		Catalog:   catalog,
		Customers: customers,
		Orders:    newOrders(logger, repos.Orders, catalog.products, customers),
	}
}

// Register registers the three services with r. With a svcserver.Server,
// each of them is reported SERVING on the health service.
func (s *Shop) Register(r grpc.ServiceRegistrar) {
	shopv1.RegisterCatalogServer(r, s.Catalog)
	shopv1.RegisterCustomersServer(r, s.Customers)
	shopv1.RegisterOrdersServer(r, s.Orders)
}

// Close ends every open WatchProducts stream with codes.Unavailable (clients
// may watch again elsewhere) and refuses new ones. A graceful stop waits for
// the calls in flight, and watches would otherwise never end on their own.
func (s *Shop) Close() {
	s.Catalog.shutdown()
}

// Serve serves the shop on lis until ctx is cancelled, then stops
// gracefully: it ends the watches, refuses new calls, lets the calls in
// flight finish (within svcserver's drain timeout) and returns nil.
//
// The server is a svcserver.Server: panic recovery, the health service
// (each shop service SERVING) and reflection. Every call is logged to
// logger. opts are added after the shop's own options, so tests can add
// interceptors (svcserver.WithServerOptions) or change the drain timeout.
func Serve(ctx context.Context, lis net.Listener, logger *slog.Logger, opts ...svcserver.Option) error {
	return ServeOn(ctx, lis, logger, InMemory(), opts...)
}

// ServeOn is Serve on the given repositories (see [OpenStore]); it does not
// close them.
func ServeOn(ctx context.Context, lis net.Listener, logger *slog.Logger, repos *Repositories, opts ...svcserver.Option) error {
	if logger == nil {
		logger = slog.Default()
	}
	shop := NewOn(logger, repos)
	defer shop.Close()
	srv := svcserver.New(append([]svcserver.Option{
		svcserver.WithLogger(logger),
		svcserver.WithServerOptions(
			grpc.ChainUnaryInterceptor(LogUnary(logger)),
			grpc.ChainStreamInterceptor(LogStream(logger)),
		),
	}, opts...)...)
	shop.Register(srv)
	// Close the watches as soon as the stop begins, in parallel with
	// svcserver's graceful stop, which waits for them.
	stopWatches := context.AfterFunc(ctx, shop.Close)
	defer stopWatches()
	return srv.Serve(ctx, lis)
}

// LogUnary logs every unary call when it ends: method, status code and
// duration, at level Error for codes that mean a server bug and Info
// otherwise.
func LogUnary(logger *slog.Logger) grpc.UnaryServerInterceptor {
	return func(ctx context.Context, req any, info *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
		start := time.Now()
		resp, err := handler(ctx, req)
		logCall(ctx, logger, info.FullMethod, start, err)
		return resp, err
	}
}

// LogStream is LogUnary for streaming calls; it logs when the stream ends.
func LogStream(logger *slog.Logger) grpc.StreamServerInterceptor {
	return func(srv any, ss grpc.ServerStream, info *grpc.StreamServerInfo, handler grpc.StreamHandler) error {
		start := time.Now()
		err := handler(srv, ss)
		logCall(ss.Context(), logger, info.FullMethod, start, err)
		return err
	}
}

func logCall(ctx context.Context, logger *slog.Logger, method string, start time.Time, err error) {
	code := status.Code(err)
	level := slog.LevelInfo
	switch code {
	case codes.Unknown, codes.Internal, codes.DataLoss, codes.Unimplemented:
		level = slog.LevelError
	}
	attrs := []slog.Attr{
		slog.String("method", method),
		slog.String("code", code.String()),
		slog.Duration("duration", time.Since(start)),
	}
	if err != nil {
		attrs = append(attrs, slog.String("error", status.Convert(err).Message()))
	}
	logger.LogAttrs(ctx, level, "rpc", attrs...)
}
