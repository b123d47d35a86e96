package pgstore_test

import (
	"context"
	"fmt"
	"iter"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"

	"github.com/svcgen/protoc-gen-svc/svcstore"
	"github.com/svcgen/protoc-gen-svc/svcstore/internal/fixtures"
	"github.com/svcgen/protoc-gen-svc/svcstore/internal/pgtest"
	"github.com/svcgen/protoc-gen-svc/svcstore/internal/testpb"
	"github.com/svcgen/protoc-gen-svc/svcstore/pgstore"
)

func TestMain(m *testing.M) {
	code := m.Run()
	if benchStore != nil { // the benchmarks share one store and pool
		benchStore.Close()
		benchPool.Close()
	}
	if code == 0 {
		if err := goleak.Find(); err != nil {
			fmt.Fprintln(os.Stderr, err)
			code = 1
		}
	}
	os.Exit(code)
}

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

func opener[M proto.Message](t *testing.T, s svcstore.Schema, opts ...svcstore.Option) svcstore.Repository[M] {
	return open[M](t, s, opts...)
}

func TestContract(t *testing.T) {
	pgtest.DSN(t) // one skip line without a database
	fixtures.RunContract(t, fixtures.Openers{
		Book:    opener[*testpb.Book],
		Ticket:  opener[*testpb.Ticket],
		Counter: opener[*testpb.Counter],
		Widget:  opener[*testpb.Widget],
	})
}

// TestReplicas runs two stores on one table, as two replicas would: keys,
// tokens and changes cross between them.
func TestReplicas(t *testing.T) {
	pool := pgtest.Pool(t)
	table := pgtest.Table(t, pool)
	key := []byte("a shared page-token key for replicas")
	var stores [2]*pgstore.Store[*testpb.Ticket]
	var wg sync.WaitGroup
	errs := make([]error, 2)
	for i := range stores {
		wg.Add(1)
		go func() { // migrate concurrently, as replicas starting together do
			defer wg.Done()
			stores[i], errs[i] = pgstore.New[*testpb.Ticket](ctx, pool, fixtures.TicketSchema,
				pgstore.WithTable(table), svcstore.WithPageTokenKey(key))
		}()
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("replica %d: %v", i, err)
		}
		t.Cleanup(func() { stores[i].Close() })
	}
	a, b := stores[0], stores[1]

	wctx, cancel := context.WithCancel(ctx)
	defer cancel()
	changes, err := b.Watch(wctx)
	if err != nil {
		t.Fatal(err)
	}

	// Keys assigned by either replica never collide.
	seen := map[string]bool{}
	for i := range 20 {
		r := stores[i%2]
		got, err := r.Create(ctx, &testpb.Ticket{Title: fmt.Sprint("t", i)})
		if err != nil {
			t.Fatal(err)
		}
		if seen[fmt.Sprint(got.GetId())] {
			t.Fatalf("key %d assigned twice", got.GetId())
		}
		seen[fmt.Sprint(got.GetId())] = true
	}

	// A token from one replica pages on the other.
	page, tok, err := a.List(ctx, 7, "")
	if err != nil || tok == "" {
		t.Fatalf("List on a: %d, %q, %v", len(page), tok, err)
	}
	page2, _, err := b.List(ctx, 7, tok)
	if err != nil || len(page2) != 7 || page2[0].GetId() <= page[6].GetId() {
		t.Fatalf("List on b with a's token: %v, %v", page2, err)
	}

	// Update with an etag through the other replica.
	got, err := b.Get(ctx, fmt.Sprint(page[0].GetId()))
	if err != nil {
		t.Fatal(err)
	}
	got.Title = "edited on b"
	if _, err := b.Update(ctx, got, nil); err != nil {
		t.Fatal(err)
	}
	stale := page[0]
	stale.Title = "stale edit on a"
	if _, err := a.Update(ctx, stale, nil); status.Code(err) != codes.Aborted {
		t.Errorf("stale etag on a: %v, want Aborted", err)
	}

	// b's watch saw all 20 creates (from both replicas) and the update, in order.
	n := 0
	for c, err := range changes {
		if err != nil {
			t.Fatal(err)
		}
		n++
		if n <= 20 && c.Kind != svcstore.Created || n == 21 && (c.Kind != svcstore.Updated || c.Message.GetTitle() != "edited on b") {
			t.Fatalf("change %d: %v %q %q", n, c.Kind, c.Key, c.Message.GetTitle())
		}
		if n == 21 {
			break
		}
	}

	// A replica with another token key rejects the token, saying why.
	other, err := pgstore.New[*testpb.Ticket](ctx, pool, fixtures.TicketSchema, pgstore.WithTable(table),
		svcstore.WithPageTokenKey([]byte("another key, not shared with a")))
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	_, _, err = other.List(ctx, 7, tok)
	if st := status.Convert(err); st.Code() != codes.InvalidArgument || !strings.Contains(st.Message(), "replicas must share") {
		t.Errorf("token under another key: %v", err)
	}
}

// TestEtagsSerialiseWriters: with etags, concurrent read-modify-write
// cycles that retry on Aborted lose nothing.
func TestEtagsSerialiseWriters(t *testing.T) {
	st := open[*testpb.Ticket](t, fixtures.TicketSchema)
	tk, err := st.Create(ctx, &testpb.Ticket{})
	if err != nil {
		t.Fatal(err)
	}
	key := fmt.Sprint(tk.GetId())
	const writers, rounds = 6, 8
	var wg sync.WaitGroup
	for range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range rounds {
				for {
					cur, err := st.Get(ctx, key)
					if err != nil {
						t.Error(err)
						return
					}
					cur.Title += "x"
					_, err = st.Update(ctx, cur, nil)
					if status.Code(err) == codes.Aborted {
						continue
					}
					if err != nil {
						t.Error(err)
						return
					}
					break
				}
			}
		}()
	}
	wg.Wait()
	got, err := st.Get(ctx, key)
	if err != nil || len(got.GetTitle()) != writers*rounds {
		t.Errorf("title has %d characters, want %d (lost updates): %v", len(got.GetTitle()), writers*rounds, err)
	}
}

// TestErrorsHideSQL: database errors reach callers as status codes with
// fixed messages, never SQL text.
func TestErrorsHideSQL(t *testing.T) {
	pool := pgtest.Pool(t)
	st, err := pgstore.New[*testpb.Widget](ctx, pool, fixtures.WidgetSchema, pgstore.WithTable(pgtest.Table(t, pool)), pgstore.WithoutMigrate())
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	_, err = st.Get(ctx, "w") // the table was never created
	if st := status.Convert(err); st.Code() != codes.FailedPrecondition || strings.Contains(st.Message(), "SELECT") || strings.Contains(st.Message(), "relation") {
		t.Errorf("Get on a missing table: %v", err)
	}
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := st.Get(cctx, "w"); status.Code(err) != codes.Canceled {
		t.Errorf("Get with a canceled context: %v", err)
	}
	if _, err := pgstore.New[*testpb.Widget](ctx, pool, fixtures.WidgetSchema, pgstore.WithTable("Bad-Name")); err == nil {
		t.Error("WithTable with a bad name: no error")
	}
	if _, err := svcstore.New[*testpb.Widget](fixtures.WidgetSchema, pgstore.WithTable("x")); err == nil {
		t.Error("svcstore.New with a SQL option: no error")
	}
}

// TestWatchLosesConnection: when the listening connection dies, watches
// end with Unavailable (changes may have been missed), and the next Watch
// listens again.
func TestWatchLosesConnection(t *testing.T) {
	pool := pgtest.Pool(t)
	st := open[*testpb.Ticket](t, fixtures.TicketSchema)
	wctx, cancel := context.WithCancel(ctx)
	defer cancel()
	changes, err := st.Watch(wctx)
	if err != nil {
		t.Fatal(err)
	}
	var killed int
	err = pool.QueryRow(ctx, "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE query = $1",
		`LISTEN "`+st.Channel()+`"`).Scan(&killed)
	if err != nil || killed != 1 {
		t.Fatalf("terminating the listener: %d backends, %v", killed, err)
	}
	for _, err := range changes {
		if status.Code(err) != codes.Unavailable {
			t.Fatalf("watch after the connection died: %v, want Unavailable", err)
		}
		break
	}
	var again iter.Seq2[svcstore.Change[*testpb.Ticket], error]
	for range 50 { // the old listener may still be winding down
		if again, err = st.Watch(wctx); err == nil {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if err != nil {
		t.Fatalf("Watch after reconnecting: %v", err)
	}
	if _, err := st.Create(ctx, &testpb.Ticket{Title: "after"}); err != nil {
		t.Fatal(err)
	}
	for c, err := range again {
		if err != nil || c.Message.GetTitle() != "after" {
			t.Fatalf("second watch: %v, %v", c, err)
		}
		break
	}
}

// TestIndexPlans reads PostgreSQL's plans (EXPLAIN) of selective filters
// and orderings on declared indexes: each is an index scan of the index's
// column, and an ordering is read in index order, without a sort.
func TestIndexPlans(t *testing.T) {
	pool := pgtest.Pool(t)
	table := pgtest.Table(t, pool)
	st, err := pgstore.New[*testpb.Book](ctx, pool, fixtures.BookSchema, pgstore.WithTable(table))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	fixtures.SeedPlanBooks(t, st, 20000)
	if _, err := pool.Exec(ctx, "ANALYZE "+table); err != nil {
		t.Fatal(err)
	}
	for _, c := range fixtures.PlanCases {
		plan, err := st.ExplainList(ctx, 50, c.Filters...)
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(plan, "Index Scan") || !strings.Contains(plan, table+"_ix_") || strings.Contains(plan, "Seq Scan") {
			t.Errorf("%s: not an index scan of an index column:\n%s", c.Name, plan)
		}
		if c.Ordered && strings.Contains(plan, "Sort") {
			t.Errorf("%s: the ordering is sorted, not read from the index:\n%s", c.Name, plan)
		}
	}
}

// TestIndexBackfill: indexes declared on a table that already has rows are
// added and filled by the migration.
func TestIndexBackfill(t *testing.T) {
	pool := pgtest.Pool(t)
	table := pgtest.Table(t, pool)
	fixtures.RunBackfill(t, func(t *testing.T, s svcstore.Schema) svcstore.Repository[*testpb.Book] {
		st, err := pgstore.New[*testpb.Book](ctx, pool, s, pgstore.WithTable(table))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { st.Close() })
		return st
	})
}
