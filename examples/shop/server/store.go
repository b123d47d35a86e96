package server

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/jackc/pgx/v5/pgxpool"

	shopv1 "github.com/svcgen/protoc-gen-svc/examples/shop/gen/shop/v1"
	svcv1 "github.com/svcgen/protoc-gen-svc/svc/v1"
	"github.com/svcgen/protoc-gen-svc/svcaip"
	"github.com/svcgen/protoc-gen-svc/svcstore"
	"github.com/svcgen/protoc-gen-svc/svcstore/pgstore"
	"github.com/svcgen/protoc-gen-svc/svcstore/sqlitestore"
)

// ProductStore is what the catalog needs of its product repository: the
// standard methods, and a change feed for WatchProducts.
type ProductStore interface {
	shopv1.ProductRepository
	svcstore.Watcher[*shopv1.Product]
}

// Repositories are the shop's repositories, on one store: its three
// resources, and the records of requests that carried a request_id
// (AIP-155), so a retried create is carried out once on any replica.
type Repositories struct {
	Products  ProductStore
	Customers shopv1.CustomerRepository
	Orders    shopv1.OrderRepository
	Requests  svcaip.Requests

	close func()
}

// Close releases the store's connections.
func (r *Repositories) Close() {
	if r.close != nil {
		r.close()
	}
}

// InMemory returns empty in-memory repositories.
func InMemory(opts ...svcstore.Option) *Repositories {
	return &Repositories{
		Products:  shopv1.NewInMemoryProductRepository(opts...),
		Customers: shopv1.NewInMemoryCustomerRepository(opts...),
		Orders:    shopv1.NewInMemoryOrderRepository(opts...),
		Requests:  svcaip.NewRequests(opts...),
	}
}

// PageBytes is the List page byte budget (svcstore.WithMaxPageBytes) for a
// server whose messages are limited to maxMessageSize bytes (shopd's
// --max-message-size; 0 or less means gRPC's default, 4 MiB). A page must
// fit both the server's send limit and a default client's 4 MiB receive
// limit, so the budget is the smaller of svcstore.DefaultMaxPageBytes and
// maxMessageSize less the same room for the rest of the response:
// 64 KiB, or half of a limit below 128 KiB.
func PageBytes(maxMessageSize int) int {
	if maxMessageSize <= 0 {
		return svcstore.DefaultMaxPageBytes
	}
	headroom := min(4<<20-svcstore.DefaultMaxPageBytes, maxMessageSize/2)
	return max(1, min(svcstore.DefaultMaxPageBytes, maxMessageSize-headroom))
}

// OpenStore opens the repositories the store URL names:
//
//	memory:                     in memory (the default; lost on exit)
//	sqlite:PATH                 a SQLite file, created if missing (one process)
//	postgres://... postgresql://...  PostgreSQL (any number of replicas)
//
// Tables are created when missing. opts go to every repository; replicas
// on one PostgreSQL database need the same svcstore.WithPageTokenKey.
func OpenStore(ctx context.Context, url string, opts ...svcstore.Option) (*Repositories, error) {
	switch {
	case url == "" || url == "memory:":
		return InMemory(opts...), nil
	case strings.HasPrefix(url, "sqlite:"):
		path := strings.TrimPrefix(url, "sqlite:")
		if path == "" {
			return nil, errors.New("store sqlite: needs a file path, as in sqlite:shop.db")
		}
		db, err := sqlitestore.Open(path)
		if err != nil {
			return nil, err
		}
		repos, err := openSQL(
			func() (ProductStore, error) {
				return sqlitestore.New[*shopv1.Product](ctx, db, shopv1.ProductSchema(), opts...)
			},
			func() (shopv1.CustomerRepository, error) {
				return sqlitestore.New[*shopv1.Customer](ctx, db, shopv1.CustomerSchema(), opts...)
			},
			func() (shopv1.OrderRepository, error) {
				return sqlitestore.New[*shopv1.Order](ctx, db, shopv1.OrderSchema(), opts...)
			},
			func() (svcaip.Requests, error) {
				return sqlitestore.New[*svcv1.RequestRecord](ctx, db, svcaip.RequestsSchema, opts...)
			})
		if err != nil {
			db.Close()
			return nil, err
		}
		repos.close = func() { db.Close() }
		return repos, nil
	case strings.HasPrefix(url, "postgres://"), strings.HasPrefix(url, "postgresql://"):
		pool, err := pgxpool.New(ctx, url)
		if err != nil {
			return nil, fmt.Errorf("store postgres: %w", err)
		}
		if err := pool.Ping(ctx); err != nil {
			pool.Close()
			return nil, fmt.Errorf("store postgres: cannot reach the database: %w", err)
		}
		var stores []interface{ Close() error }
		keep := func(s interface{ Close() error }) { stores = append(stores, s) }
		repos, err := openSQL(
			func() (ProductStore, error) {
				s, err := pgstore.New[*shopv1.Product](ctx, pool, shopv1.ProductSchema(), opts...)
				if err == nil {
					keep(s)
				}
				return s, err
			},
			func() (shopv1.CustomerRepository, error) {
				s, err := pgstore.New[*shopv1.Customer](ctx, pool, shopv1.CustomerSchema(), opts...)
				if err == nil {
					keep(s)
				}
				return s, err
			},
			func() (shopv1.OrderRepository, error) {
				s, err := pgstore.New[*shopv1.Order](ctx, pool, shopv1.OrderSchema(), opts...)
				if err == nil {
					keep(s)
				}
				return s, err
			},
			func() (svcaip.Requests, error) {
				s, err := pgstore.New[*svcv1.RequestRecord](ctx, pool, svcaip.RequestsSchema, opts...)
				if err == nil {
					keep(s)
				}
				return s, err
			})
		closeAll := func() {
			for _, s := range stores {
				s.Close()
			}
			pool.Close()
		}
		if err != nil {
			closeAll()
			return nil, err
		}
		repos.close = closeAll
		return repos, nil
	}
	return nil, fmt.Errorf("store %q: want memory:, sqlite:PATH or a postgres:// URL", url)
}

func openSQL(products func() (ProductStore, error), customers func() (shopv1.CustomerRepository, error), orders func() (shopv1.OrderRepository, error),
	requests func() (svcaip.Requests, error)) (*Repositories, error) {
	var r Repositories
	var err error
	if r.Products, err = products(); err != nil {
		return nil, err
	}
	if r.Customers, err = customers(); err != nil {
		return nil, err
	}
	if r.Orders, err = orders(); err != nil {
		return nil, err
	}
	if r.Requests, err = requests(); err != nil {
		return nil, err
	}
	return &r, nil
}
