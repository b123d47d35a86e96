package server

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"slices"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/fieldmaskpb"
	"google.golang.org/protobuf/types/known/timestamppb"

	shopv1 "github.com/svcgen/protoc-gen-svc/examples/shop/gen/shop/v1"
	"github.com/svcgen/protoc-gen-svc/svcaip"
	"github.com/svcgen/protoc-gen-svc/svcstore"
)

// Catalog serves shop.v1.Catalog. The generated skeleton serves the standard
// methods (Get, List, Create, Update, Delete and the ImportProducts client
// stream) from the product repository; Catalog adds WatchProducts, on the
// repository's change feed (so a watcher sees the changes made through
// every replica sharing the store), and RepriceProducts.
type Catalog struct {
	shopv1.CatalogSkeleton
	products ProductStore // the same repository the skeleton serves from
	logger   *slog.Logger

	// closing is cancelled by shutdown: open watches then end with
	// Unavailable, and new ones are refused.
	closing  context.Context
	shutdown context.CancelFunc
}

func newCatalog(logger *slog.Logger, products ProductStore, requests svcaip.Requests) *Catalog {
	closing, shutdown := context.WithCancel(context.Background())
	return &Catalog{
		CatalogSkeleton: shopv1.NewCatalogSkeleton(shopv1.CatalogRepositories{Product: products, Requests: requests}),
		products:        products,
		logger:          logger,
		closing:         closing,
		shutdown:        shutdown,
	}
}

// errShuttingDown ends watches when the server stops: clients may watch
// again elsewhere.
var errShuttingDown = status.Error(codes.Unavailable, "the server is shutting down")

// WatchProducts sends the existing products when asked, then SYNCED, then
// every change as it happens, until the client cancels, the server shuts
// down (Unavailable) or the client reads too slowly to keep up
// (ResourceExhausted, after svcstore.WatchBuffer changes).
//
// A product changed while the existing ones are being sent may be sent
// twice: first as EXISTING, then as the change. The later event is always
// the newer state. Changes arrive in the order the store committed them.
func (c *Catalog) WatchProducts(req *shopv1.WatchProductsRequest, stream grpc.ServerStreamingServer[shopv1.ProductEvent]) error {
	ctx := stream.Context()
	for _, cat := range req.GetCategories() {
		if _, ok := shopv1.ProductCategory_name[int32(cat)]; !ok || cat == shopv1.ProductCategory_PRODUCT_CATEGORY_UNSPECIFIED {
			return status.Errorf(codes.InvalidArgument, "categories: %d is not a product category", cat)
		}
	}
	wanted := func(p *shopv1.Product) bool {
		return len(req.GetCategories()) == 0 || slices.Contains(req.GetCategories(), p.GetCategory())
	}
	if c.closing.Err() != nil {
		return errShuttingDown
	}
	// The watch ends with the call or with the server.
	wctx, cancel := context.WithCancel(ctx)
	defer cancel()
	defer context.AfterFunc(c.closing, cancel)()
	// Subscribe before reading the existing products, so that no change
	// falls between the two.
	changes, err := c.products.Watch(wctx)
	if err != nil {
		return err
	}

	if req.GetIncludeExisting() {
		token := ""
		for {
			page, next, err := c.products.List(ctx, 0, token)
			if err != nil {
				return err
			}
			for _, p := range page {
				if !wanted(p) {
					continue
				}
				if err := stream.Send(&shopv1.ProductEvent{Type: shopv1.ProductEvent_EXISTING, Product: p, EventTime: timestamppb.Now()}); err != nil {
					return err
				}
			}
			if next == "" {
				break
			}
			token = next
		}
	}
	if err := stream.Send(&shopv1.ProductEvent{Type: shopv1.ProductEvent_SYNCED, EventTime: timestamppb.Now()}); err != nil {
		return err
	}
	for change, err := range changes {
		if err != nil {
			if status.Code(err) == codes.Aborted {
				// The feed dropped us: the client reads too slowly.
				return status.Errorf(codes.ResourceExhausted, "watcher fell more than %d changes behind; watch again", svcstore.WatchBuffer)
			}
			return err
		}
		if !wanted(change.Message) {
			continue
		}
		ev := &shopv1.ProductEvent{Type: eventType(change.Kind), Product: change.Message, EventTime: timestamppb.Now()}
		if err := stream.Send(ev); err != nil {
			return err
		}
	}
	if ctx.Err() != nil {
		return status.FromContextError(ctx.Err()).Err()
	}
	return errShuttingDown
}

func eventType(k svcstore.ChangeKind) shopv1.ProductEvent_Type {
	switch k {
	case svcstore.Created:
		return shopv1.ProductEvent_CREATED
	case svcstore.Updated:
		return shopv1.ProductEvent_UPDATED
	default:
		return shopv1.ProductEvent_DELETED
	}
}

// RepriceProducts answers every request as soon as it is applied. A product
// that cannot be repriced (not found, no price, a bad change) gets an answer
// with an error and the stream goes on; only a broken stream ends it.
func (c *Catalog) RepriceProducts(stream grpc.BidiStreamingServer[shopv1.RepriceProductsRequest, shopv1.RepriceProductsResponse]) error {
	ctx := stream.Context()
	for {
		req, err := stream.Recv()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
		resp := c.reprice(ctx, req)
		if err := ctx.Err(); err != nil {
			return status.FromContextError(err).Err()
		}
		if err := stream.Send(resp); err != nil {
			return err
		}
	}
}

// maxConflicts bounds the read-modify-write retries of one change when other
// writers keep changing the same product.
const maxConflicts = 10

// reprice applies one repricing request: an etag-checked read-modify-write
// of the product's price, retried when another writer got there first.
func (c *Catalog) reprice(ctx context.Context, req *shopv1.RepriceProductsRequest) *shopv1.RepriceProductsResponse {
	resp := &shopv1.RepriceProductsResponse{Name: req.GetName()}
	fail := func(err error) *shopv1.RepriceProductsResponse {
		s := status.Convert(err)
		resp.Result = &shopv1.RepriceProductsResponse_Error{Error: s.Code().String() + ": " + s.Message()}
		return resp
	}
	if req.GetName() == "" {
		return fail(status.Error(codes.InvalidArgument, "name is required"))
	}
	for range maxConflicts {
		p, err := c.products.Get(ctx, req.GetName())
		if err != nil {
			return fail(err)
		}
		price, err := newPrice(p.GetPrice(), req)
		if err != nil {
			return fail(err)
		}
		updated, err := c.products.Update(ctx,
			&shopv1.Product{Name: p.GetName(), Etag: p.GetEtag(), Price: price},
			&fieldmaskpb.FieldMask{Paths: []string{"price"}})
		if status.Code(err) == codes.Aborted {
			continue // changed since we read it: read it again
		}
		if err != nil {
			return fail(err)
		}
		resp.OldPrice = p.GetPrice()
		resp.Result = &shopv1.RepriceProductsResponse_Product{Product: updated}
		return resp
	}
	return fail(status.Errorf(codes.Aborted, "product %q kept changing; try again", req.GetName()))
}

// newPrice computes the price a repricing request asks for.
func newPrice(old *shopv1.Money, req *shopv1.RepriceProductsRequest) (*shopv1.Money, error) {
	switch change := req.GetChange().(type) {
	case *shopv1.RepriceProductsRequest_NewPrice:
		if err := validMoney(change.NewPrice); err != nil {
			return nil, status.Errorf(codes.InvalidArgument, "new_price: %v", err)
		}
		return change.NewPrice, nil
	case *shopv1.RepriceProductsRequest_AdjustBasisPoints:
		bp := int64(change.AdjustBasisPoints)
		if bp < -10000 {
			return nil, status.Errorf(codes.InvalidArgument, "adjust_basis_points: %d would make the price negative", bp)
		}
		if old == nil {
			return nil, status.Errorf(codes.FailedPrecondition, "product %q has no price to adjust", req.GetName())
		}
		// Round half up, in integers: prices are never negative.
		units := (old.GetMinorUnits()*(10000+bp) + 5000) / 10000
		return &shopv1.Money{CurrencyCode: old.GetCurrencyCode(), MinorUnits: units}, nil
	default:
		return nil, status.Error(codes.InvalidArgument, "set new_price or adjust_basis_points")
	}
}

func validMoney(m *shopv1.Money) error {
	switch {
	case len(m.GetCurrencyCode()) != 3:
		return fmt.Errorf("currency_code %q is not an ISO 4217 code", m.GetCurrencyCode())
	case m.GetMinorUnits() < 0:
		return errors.New("minor_units must not be negative")
	}
	return nil
}
