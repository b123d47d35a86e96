package pgstore_test

import (
	"context"
	"testing"

	"go.uber.org/goleak"
	"google.golang.org/protobuf/proto"

	"github.com/svcgen/protoc-gen-svc/svcstore"
	"github.com/svcgen/protoc-gen-svc/svcstore/internal/fixtures"
	"github.com/svcgen/protoc-gen-svc/svcstore/internal/pgtest"
	"github.com/svcgen/protoc-gen-svc/svcstore/internal/testpb"
	"github.com/svcgen/protoc-gen-svc/svcstore/pgstore"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

var ctx = context.Background()

// open returns a store of M in a fresh table, closed when t ends.
func open[M proto.Message](t *testing.T, s svcstore.Schema, opts ...svcstore.Option) *pgstore.Store[M] {
	t.Helper()
	pool := pgtest.Pool(t)
	st, err := pgstore.New[M](ctx, pool, s, append([]svcstore.Option{pgstore.WithTable(pgtest.Table(t, pool))}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

func opener[M proto.Message](t *testing.T, s svcstore.Schema) svcstore.Repository[M] {
	return open[M](t, s)
}

func TestContract(t *testing.T) {
	fixtures.RunContract(t, fixtures.Openers{
		Book:    opener[*testpb.Book],
		Ticket:  opener[*testpb.Ticket],
		Counter: opener[*testpb.Counter],
		Widget:  opener[*testpb.Widget],
	})
}
