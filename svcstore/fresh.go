package svcstore

import "context"

type freshKey struct{}

// ReadFresh marks ctx so that reads made with it see every write committed
// before they start, on stores that may serve reads from replicas that lag
// (pgstore.WithReadPool): Get and List then read the primary. Use it for a
// read that must see the caller's own write (read your writes), or that
// decides a write (a read before an Update). Stores that always read their
// latest state (Memory, SQLite, PostgreSQL without a read pool) ignore it.
func ReadFresh(ctx context.Context) context.Context {
	return context.WithValue(ctx, freshKey{}, true)
}

// IsFresh reports whether ctx was marked by [ReadFresh].
func IsFresh(ctx context.Context) bool {
	v, _ := ctx.Value(freshKey{}).(bool)
	return v
}
