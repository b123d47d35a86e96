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

	"google.golang.org/grpc"

	shopv1 "github.com/svcgen/protoc-gen-svc/examples/shop/gen/shop/v1"
	"github.com/svcgen/protoc-gen-svc/examples/shop/web"
	"github.com/svcgen/protoc-gen-svc/svcprod"
	"github.com/svcgen/protoc-gen-svc/svcserver"
	"github.com/svcgen/protoc-gen-svc/svcserver/svchttp"
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
	catalog := newCatalog(logger, repos.Products, repos.Requests)
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
// The server is a svcserver.Server (panic recovery, error sanitising, size
// limits, keepalive, the health service with each shop service SERVING, and
// reflection) with svcprod's access log to logger, protovalidate validation,
// AIP-122 resource ids and 64 KiB per string. (Pages of ListProducts are
// bounded in bytes by the store, svcstore.DefaultMaxPageBytes unless the
// repositories were opened with another budget; see [PageBytes].) opts
// come between the access log and the validation: shopd adds TLS,
// authentication ([TokenAuth]) and telemetry there, so that unauthenticated
// calls are refused before anything else looks at them; tests add
// interceptors or change the drain timeout.
func Serve(ctx context.Context, lis net.Listener, logger *slog.Logger, opts ...svcserver.Option) error {
	return ServeOn(ctx, lis, logger, InMemory(), opts...)
}

// ServeOn is Serve on the given repositories (see [OpenStore]); it does not
// close them.
func ServeOn(ctx context.Context, lis net.Listener, logger *slog.Logger, repos *Repositories, opts ...svcserver.Option) error {
	srv, shop := newServer(logger, repos, opts)
	defer shop.Close()
	// Close the watches as soon as the stop begins, in parallel with
	// svcserver's graceful stop, which waits for them.
	stopWatches := context.AfterFunc(ctx, shop.Close)
	defer stopWatches()
	return srv.Serve(ctx, lis)
}

// ServeHTTP is Serve for every kind of client on the one listener: gRPC,
// gRPC-Web, Connect and REST/JSON (from the protos' google.api.http rules)
// through svchttp, and the shop's web page (package web) at "/". The calls
// run through the same interceptors whatever their protocol. httpOpts are
// added after the shop's own (the web page), e.g. svchttp.WithTLSConfig.
func ServeHTTP(ctx context.Context, lis net.Listener, logger *slog.Logger, httpOpts []svchttp.Option, opts ...svcserver.Option) error {
	return ServeHTTPOn(ctx, lis, logger, InMemory(), httpOpts, opts...)
}

// ServeHTTPOn is ServeHTTP on the given repositories (see [OpenStore]); it
// does not close them.
func ServeHTTPOn(ctx context.Context, lis net.Listener, logger *slog.Logger, repos *Repositories, httpOpts []svchttp.Option, opts ...svcserver.Option) error {
	srv, shop := newServer(logger, repos, opts)
	defer shop.Close()
	stopWatches := context.AfterFunc(ctx, shop.Close)
	defer stopWatches()
	return svchttp.Serve(ctx, srv, lis, append([]svchttp.Option{svchttp.WithFallback(web.Handler())}, httpOpts...)...)
}

// newServer returns the svcserver.Server with the shop registered, as
// Serve documents.
func newServer(logger *slog.Logger, repos *Repositories, opts []svcserver.Option) (*svcserver.Server, *Shop) {
	if logger == nil {
		logger = slog.Default()
	}
	shop := NewOn(logger, repos)
	all := []svcserver.Option{svcserver.WithLogger(logger), svcprod.WithAccessLog(logger)}
	all = append(all, opts...)
	all = append(all, svcprod.WithValidation(), svcprod.WithIDCheck(), svcprod.WithFieldSizeLimit(0, nil))
	srv := svcserver.New(all...)
	shop.Register(srv)
	return srv, shop
}
