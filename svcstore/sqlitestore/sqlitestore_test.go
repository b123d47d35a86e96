package sqlitestore_test

import (
	"context"
	"database/sql"
	"path/filepath"
	"strings"
	"testing"

	"go.uber.org/goleak"
	"google.golang.org/protobuf/proto"

	"github.com/svcgen/protoc-gen-svc/internal/testenv"
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

func opener[M proto.Message](t *testing.T, s svcstore.Schema, opts ...svcstore.Option) svcstore.Repository[M] {
	t.Helper()
	r, err := sqlitestore.New[M](ctx, openDB(t), s, opts...)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func TestContract(t *testing.T) {
	testenv.Slow(t, "the contract suite on a SQLite file (about a minute under -race)")
	fixtures.RunContract(t, fixtures.Openers{
		Book:    opener[*testpb.Book],
		Ticket:  opener[*testpb.Ticket],
		Counter: opener[*testpb.Counter],
		Widget:  opener[*testpb.Widget],
	})
}

// TestReopen: data, the key counter and versions survive closing and
// reopening the file; the in-process feed sees this Store's writes.
func TestReopenAndWatch(t *testing.T) {
	path := filepath.Join(t.TempDir(), "reopen.db")
	db, err := sqlitestore.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	s, err := sqlitestore.New[*testpb.Ticket](ctx, db, fixtures.TicketSchema)
	if err != nil {
		t.Fatal(err)
	}
	wctx, cancel := context.WithCancel(ctx)
	defer cancel()
	changes, err := s.Watch(wctx)
	if err != nil {
		t.Fatal(err)
	}
	first, err := s.Create(ctx, &testpb.Ticket{Title: "a"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Delete(ctx, "1", ""); err != nil {
		t.Fatal(err)
	}
	var kinds []svcstore.ChangeKind
	for c, err := range changes {
		if err != nil {
			t.Fatal(err)
		}
		kinds = append(kinds, c.Kind)
		if len(kinds) == 2 {
			break
		}
	}
	if kinds[0] != svcstore.Created || kinds[1] != svcstore.Deleted {
		t.Errorf("changes %v", kinds)
	}
	if _, err := s.Create(ctx, &testpb.Ticket{Title: "b"}); err != nil {
		t.Fatal(err)
	}
	db.Close()

	db, err = sqlitestore.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	s, err = sqlitestore.New[*testpb.Ticket](ctx, db, fixtures.TicketSchema)
	if err != nil {
		t.Fatal(err)
	}
	b, err := s.Get(ctx, "2")
	if err != nil || b.GetTitle() != "b" {
		t.Fatalf("after reopening: %v, %v", b, err)
	}
	c, err := s.Create(ctx, &testpb.Ticket{Title: "c"})
	if err != nil || c.GetId() != 3 || c.GetEtag() == first.GetEtag() || c.GetEtag() == b.GetEtag() {
		t.Errorf("create after reopening: id %d etag %s, %v; want id 3 and a new etag", c.GetId(), c.GetEtag(), err)
	}
}

// TestIndexPlans reads SQLite's plans (EXPLAIN QUERY PLAN) of selective
// filters and orderings on declared indexes: each searches the index's
// column, and an ordering is read in index order, without a temporary
// B-tree to sort.
func TestIndexPlans(t *testing.T) {
	db := openDB(t)
	st, err := sqlitestore.New[*testpb.Book](ctx, db, fixtures.BookSchema, sqlitestore.WithTable("books"))
	if err != nil {
		t.Fatal(err)
	}
	fixtures.SeedPlanBooks(t, st, 20000)
	if _, err := db.Exec("ANALYZE"); err != nil {
		t.Fatal(err)
	}
	for _, c := range fixtures.PlanCases {
		plan, err := st.ExplainList(ctx, 50, c.Filters...)
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(plan, "USING INDEX books_ix_") && !strings.Contains(plan, "USING COVERING INDEX books_ix_") {
			t.Errorf("%s: does not search an index column:\n%s", c.Name, plan)
		}
		if c.Ordered && strings.Contains(plan, "TEMP B-TREE") {
			t.Errorf("%s: the ordering is sorted, not read from the index:\n%s", c.Name, plan)
		}
	}
}

// TestIndexBackfill: indexes declared on a table that already has rows are
// added and filled by the migration.
func TestIndexBackfill(t *testing.T) {
	db := openDB(t)
	fixtures.RunBackfill(t, func(t *testing.T, s svcstore.Schema) svcstore.Repository[*testpb.Book] {
		st, err := sqlitestore.New[*testpb.Book](ctx, db, s, sqlitestore.WithTable("books"))
		if err != nil {
			t.Fatal(err)
		}
		return st
	})
}
