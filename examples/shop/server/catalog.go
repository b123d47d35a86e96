package server

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"sync"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/fieldmaskpb"
	"google.golang.org/protobuf/types/known/timestamppb"

	shopv1 "github.com/svcgen/protoc-gen-svc/examples/shop/gen/shop/v1"
)

// Catalog serves shop.v1.Catalog. The generated skeleton serves the standard
// methods (Get, List, Create, Update, Delete and the ImportProducts client
// stream) from the product repository; Catalog adds WatchProducts and
// RepriceProducts. The repository the skeleton uses is wrapped so that every
// change to a product, whoever makes it, is published to the watchers.
type Catalog struct {
	shopv1.CatalogSkeleton
	products shopv1.ProductRepository // the same repository the skeleton serves from
	events   *hub
	logger   *slog.Logger
}

func newCatalog(logger *slog.Logger) *Catalog {
	events := newHub()
	products := &watchedProducts{ProductRepository: shopv1.NewInMemoryProductRepository(), events: events}
	return &Catalog{
		CatalogSkeleton: shopv1.NewCatalogSkeleton(shopv1.CatalogRepositories{Product: products}),
		products:        products,
		events:          events,
		logger:          logger,
	}
}

// WatchProducts sends the existing products when asked, then SYNCED, then
// every change as it happens, until the client cancels, the server shuts
// down (Unavailable) or the client reads too slowly to keep up
// (ResourceExhausted).
//
// A product changed while the existing ones are being sent may be sent
// twice: first as EXISTING, then as the change. The later event is always
// the newer state.
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
	// Subscribe before reading the existing products, so that no change
	// falls between the two.
	w, err := c.events.subscribe()
	if err != nil {
		return err
	}
	defer c.events.unsubscribe(w)

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
	for {
		select {
		case ev := <-w.events:
			if !wanted(ev.GetProduct()) {
				continue
			}
			if err := stream.Send(ev); err != nil {
				return err
			}
		case <-w.done:
			return w.err
		case <-ctx.Done():
			return status.FromContextError(ctx.Err()).Err()
		}
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

// watchedProducts is the product repository the catalog serves from: every
// successful change is published to the watchers as a ProductEvent. Writes
// are serialised so that watchers see the changes in the order the
// repository applied them; reads are not.
type watchedProducts struct {
	shopv1.ProductRepository // Get and List pass through
	events                   *hub
	mu                       sync.Mutex
}

func (r *watchedProducts) Create(ctx context.Context, msg *shopv1.Product) (*shopv1.Product, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	p, err := r.ProductRepository.Create(ctx, msg)
	if err == nil {
		r.events.publish(shopv1.ProductEvent_CREATED, p)
	}
	return p, err
}

// CreateBatch is how ImportProducts stores a whole import at once.
func (r *watchedProducts) CreateBatch(ctx context.Context, msgs []*shopv1.Product) ([]*shopv1.Product, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	ps, err := r.ProductRepository.CreateBatch(ctx, msgs)
	if err == nil {
		for _, p := range ps {
			r.events.publish(shopv1.ProductEvent_CREATED, p)
		}
	}
	return ps, err
}

func (r *watchedProducts) Update(ctx context.Context, msg *shopv1.Product, mask *fieldmaskpb.FieldMask) (*shopv1.Product, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	p, err := r.ProductRepository.Update(ctx, msg, mask)
	if err == nil {
		r.events.publish(shopv1.ProductEvent_UPDATED, p)
	}
	return p, err
}

func (r *watchedProducts) Delete(ctx context.Context, key, etag string) (*shopv1.Product, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	p, err := r.ProductRepository.Delete(ctx, key, etag)
	if err == nil {
		r.events.publish(shopv1.ProductEvent_DELETED, p)
	}
	return p, err
}

// watchBuffer is how many events a watcher may fall behind before it is
// dropped.
const watchBuffer = 256

// hub fans product events out to watchers. Publishing never blocks: a
// watcher whose buffer is full is dropped with ResourceExhausted, so one slow
// client cannot hold up writers or other watchers.
type hub struct {
	mu       sync.Mutex
	watchers map[*watcher]struct{}
	closed   bool
}

type watcher struct {
	events chan *shopv1.ProductEvent
	done   chan struct{} // closed when the watcher is dropped; err says why
	err    error
}

func newHub() *hub {
	return &hub{watchers: make(map[*watcher]struct{})}
}

func (h *hub) subscribe() (*watcher, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.closed {
		return nil, status.Error(codes.Unavailable, "the server is shutting down")
	}
	w := &watcher{events: make(chan *shopv1.ProductEvent, watchBuffer), done: make(chan struct{})}
	h.watchers[w] = struct{}{}
	return w, nil
}

func (h *hub) unsubscribe(w *watcher) {
	h.mu.Lock()
	defer h.mu.Unlock()
	delete(h.watchers, w)
}

// drop ends w with err; h.mu must be held.
func (h *hub) drop(w *watcher, err error) {
	delete(h.watchers, w)
	w.err = err
	close(w.done)
}

func (h *hub) publish(typ shopv1.ProductEvent_Type, p *shopv1.Product) {
	// One event for every watcher: stream.Send only reads it.
	ev := &shopv1.ProductEvent{Type: typ, Product: p, EventTime: timestamppb.Now()}
	h.mu.Lock()
	defer h.mu.Unlock()
	for w := range h.watchers {
		select {
		case w.events <- ev:
		default:
			h.drop(w, status.Errorf(codes.ResourceExhausted, "watcher fell more than %d events behind; watch again", watchBuffer))
		}
	}
}

// close drops every watcher with Unavailable and refuses new ones.
func (h *hub) close() {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.closed = true
	for w := range h.watchers {
		h.drop(w, status.Error(codes.Unavailable, "the server is shutting down"))
	}
}
