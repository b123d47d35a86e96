package sqlitestore_test

import (
	"context"
	"database/sql"
	"path/filepath"
	"testing"

	"go.uber.org/goleak"
	"google.golang.org/protobuf/proto"

	"github.com/svcgen/protoc-gen-svc/svcstore"
	"github.com/svcgen/protoc-gen-svc/svcstore/internal/fixtures"
	"github.com/svcgen/protoc-gen-svc/svcstore/internal/testpb"
	"github.com/svcgen/protoc-gen-svc/svcstore/sqlitestore"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

var ctx = context.Background()

func openDB(t *testing.T) *sql.DB {
	t.Helper()
	db, err := sqlitestore.Open(filepath.Join(t.TempDir(), "test.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

func opener[M proto.Message](t *testing.T, s svcstore.Schema) svcstore.Repository[M] {
	t.Helper()
	r, err := sqlitestore.New[M](ctx, openDB(t), s)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func TestContract(t *testing.T) {
	fixtures.RunContract(t, fixtures.Openers{
		Book:    opener[*testpb.Book],
		Ticket:  opener[*testpb.Ticket],
		Counter: opener[*testpb.Counter],
		Widget:  opener[*testpb.Widget],
	})
}
