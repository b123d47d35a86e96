package server

import (
	"context"
	"fmt"
	"log/slog"
	"slices"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/fieldmaskpb"

	shopv1 "github.com/svcgen/protoc-gen-svc/examples/shop/gen/shop/v1"
)

// Shipping rules, in the minor unit of the order's currency.
const (
	// FlatShipping is what an order below FreeShippingFrom pays for shipping.
	FlatShipping = 490
	// FreeShippingFrom is the subtotal from which shipping is free.
	FreeShippingFrom = 5000
)

// Orders serves shop.v1.Orders. The generated skeleton serves GetOrder and
// ListOrders from the order repository; PlaceOrder and CancelOrder are
// written here, on the same repository.
type Orders struct {
	shopv1.OrdersSkeleton
	orders    shopv1.OrderRepository
	products  shopv1.ProductRepository
	customers *Customers
	logger    *slog.Logger
}

func newOrders(logger *slog.Logger, orders shopv1.OrderRepository, products shopv1.ProductRepository, customers *Customers) *Orders {
	return &Orders{
		OrdersSkeleton: shopv1.NewOrdersSkeleton(shopv1.OrdersRepositories{Order: orders}),
		orders:         orders,
		products:       products,
		customers:      customers,
		logger:         logger,
	}
}

// PlaceOrder prices the items from the catalog, takes them out of stock and
// stores the order:
//
//   - every product must exist, have a price, and all prices one currency;
//   - a product whose stock is tracked must have enough units: otherwise
//     FailedPrecondition, and nothing is taken out of stock;
//   - shipping is free for members and from FreeShippingFrom, FlatShipping
//     otherwise.
func (o *Orders) PlaceOrder(ctx context.Context, req *shopv1.PlaceOrderRequest) (*shopv1.Order, error) {
	// The schema's buf.validate rules refuse these requests before the
	// handler when the server validates (shopd always does); the handler
	// checks again because an order must never be stored without them,
	// however the service is served (ServeInProcess, a test, another main).
	if req.GetCustomer() == "" {
		return nil, status.Error(codes.InvalidArgument, "customer is required")
	}
	if len(req.GetItems()) == 0 {
		return nil, status.Error(codes.InvalidArgument, "items: an order needs at least one product")
	}
	for name, qty := range req.GetItems() {
		if qty <= 0 {
			return nil, status.Errorf(codes.InvalidArgument, "items[%q]: quantity %d must be positive", name, qty)
		}
	}
	order := &shopv1.Order{
		Customer: req.GetCustomer(),
		State:    shopv1.OrderState_ORDER_STATE_PLACED,
		Note:     req.Note,
	}
	switch p := req.GetPayment().(type) {
	case *shopv1.PlaceOrderRequest_Card:
		if len(p.Card.GetLast4()) != 4 {
			return nil, status.Error(codes.InvalidArgument, "card.last4 must have 4 digits")
		}
		order.Payment = &shopv1.Order_Card{Card: p.Card}
	case *shopv1.PlaceOrderRequest_BankTransfer:
		if p.BankTransfer.GetIban() == "" {
			return nil, status.Error(codes.InvalidArgument, "bank_transfer.iban is required")
		}
		order.Payment = &shopv1.Order_BankTransfer{BankTransfer: p.BankTransfer}
	case *shopv1.PlaceOrderRequest_CashOnDelivery:
		order.Payment = &shopv1.Order_CashOnDelivery{CashOnDelivery: p.CashOnDelivery}
	default:
		return nil, status.Error(codes.InvalidArgument, "payment is required: card, bank_transfer or cash_on_delivery")
	}

	// The customer service is in the same process: call its skeleton.
	customer, err := o.customers.GetCustomer(ctx, &shopv1.GetCustomerRequest{Name: req.GetCustomer()})
	if err != nil {
		return nil, err
	}

	// Take the items out of stock one by one, in name order; on any failure
	// put back what was taken.
	names := make([]string, 0, len(req.GetItems()))
	for name := range req.GetItems() {
		names = append(names, name)
	}
	slices.Sort(names)
	taken := make(map[string]int32)
	undo := func() {
		for name, qty := range taken {
			// A fresh context: the caller's may be what failed.
			if _, err := o.adjustStock(context.WithoutCancel(ctx), name, qty); err != nil {
				o.logger.ErrorContext(ctx, "put back stock", slog.String("product", name), slog.Any("error", err))
			}
		}
	}
	var currency string
	var subtotal int64
	for _, name := range names {
		qty := req.GetItems()[name]
		p, err := o.adjustStock(ctx, name, -qty)
		if err != nil {
			undo()
			return nil, err
		}
		taken[name] = qty
		price := p.GetPrice()
		switch {
		case price == nil:
			err = status.Errorf(codes.FailedPrecondition, "product %q has no price", name)
		case currency == "":
			currency = price.GetCurrencyCode()
		case price.GetCurrencyCode() != currency:
			err = status.Errorf(codes.InvalidArgument, "product %q is priced in %s, the others in %s: place one order per currency",
				name, price.GetCurrencyCode(), currency)
		}
		if err != nil {
			undo()
			return nil, err
		}
		line := price.GetMinorUnits() * int64(qty)
		subtotal += line
		order.LineItems = append(order.LineItems, &shopv1.LineItem{
			Product:   name,
			Title:     p.GetTitle(),
			Quantity:  qty,
			UnitPrice: price,
			Total:     &shopv1.Money{CurrencyCode: currency, MinorUnits: line},
		})
	}
	shipping := int64(FlatShipping)
	if customer.GetTier() == shopv1.CustomerTier_CUSTOMER_TIER_MEMBER || subtotal >= FreeShippingFrom {
		shipping = 0
	}
	order.Subtotal = &shopv1.Money{CurrencyCode: currency, MinorUnits: subtotal}
	order.Shipping = &shopv1.Money{CurrencyCode: currency, MinorUnits: shipping}
	order.Total = &shopv1.Money{CurrencyCode: currency, MinorUnits: subtotal + shipping}

	placed, err := o.orders.Create(ctx, order)
	if err != nil {
		undo()
		return nil, err
	}
	o.logger.InfoContext(ctx, "order placed",
		slog.String("order", placed.GetName()),
		slog.String("customer", placed.GetCustomer()),
		slog.Int("items", len(placed.GetLineItems())),
		slog.String("total", fmt.Sprintf("%s %d", currency, placed.GetTotal().GetMinorUnits())))
	return placed, nil
}

// CancelOrder cancels a placed order and puts its items back in stock.
// Cancelling a cancelled order returns it unchanged. The state change is an
// etag-checked update, so of two concurrent cancellations exactly one puts
// the items back.
func (o *Orders) CancelOrder(ctx context.Context, req *shopv1.CancelOrderRequest) (*shopv1.Order, error) {
	for range maxConflicts {
		order, err := o.orders.Get(ctx, req.GetName())
		if err != nil {
			return nil, err
		}
		switch order.GetState() {
		case shopv1.OrderState_ORDER_STATE_CANCELLED:
			return order, nil
		case shopv1.OrderState_ORDER_STATE_PLACED:
		default:
			return nil, status.Errorf(codes.FailedPrecondition, "order %q is %s and cannot be cancelled", req.GetName(), order.GetState())
		}
		cancelled, err := o.orders.Update(ctx,
			&shopv1.Order{Name: order.GetName(), Etag: order.GetEtag(), State: shopv1.OrderState_ORDER_STATE_CANCELLED, CancelReason: req.Reason},
			&fieldmaskpb.FieldMask{Paths: []string{"state", "cancel_reason"}})
		if status.Code(err) == codes.Aborted {
			continue
		}
		if err != nil {
			return nil, err
		}
		for _, item := range cancelled.GetLineItems() {
			// The order is cancelled whatever happens to the stock: a
			// product deleted since is simply not restocked.
			if _, err := o.adjustStock(context.WithoutCancel(ctx), item.GetProduct(), item.GetQuantity()); err != nil && status.Code(err) != codes.NotFound {
				o.logger.ErrorContext(ctx, "restock", slog.String("product", item.GetProduct()), slog.Any("error", err))
			}
		}
		o.logger.InfoContext(ctx, "order cancelled", slog.String("order", cancelled.GetName()))
		return cancelled, nil
	}
	return nil, status.Errorf(codes.Aborted, "order %q kept changing; try again", req.GetName())
}

// adjustStock adds delta to a product's stock when its stock is tracked,
// with an etag-checked read-modify-write retried on conflicts, and returns
// the product as it is afterwards.
func (o *Orders) adjustStock(ctx context.Context, name string, delta int32) (*shopv1.Product, error) {
	for range maxConflicts {
		p, err := o.products.Get(ctx, name)
		if err != nil {
			return nil, err
		}
		if p.StockQuantity == nil {
			return p, nil // not tracked: always available
		}
		n := p.GetStockQuantity() + delta
		if n < 0 {
			return nil, status.Errorf(codes.FailedPrecondition, "only %d of product %q in stock, %d ordered", p.GetStockQuantity(), name, -delta)
		}
		updated, err := o.products.Update(ctx,
			&shopv1.Product{Name: name, Etag: p.GetEtag(), StockQuantity: proto.Int32(n)},
			&fieldmaskpb.FieldMask{Paths: []string{"stock_quantity"}})
		if status.Code(err) == codes.Aborted {
			continue
		}
		return updated, err
	}
	return nil, status.Errorf(codes.Aborted, "product %q kept changing; try again", name)
}
