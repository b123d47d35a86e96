package pgstore_test

// Query benchmarks at 10^5 and 10^6 books, against the same queries written
// by hand on a table with typed columns and B-trees on (author, key) and
// (pages, key), in one run:
//
//	SVC_TEST_POSTGRES_DSN=postgres://... go test -run '^$' -bench BenchmarkQuery -benchtime 200x -count 3 ./svcstore/pgstore/
//
// Each size's tables (svcstore_bench_query_N, svcstore_bench_hand_N) are
// built once and kept in the test database between runs.

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"google.golang.org/protobuf/proto"

	"github.com/svcgen/protoc-gen-svc/svcstore"
	"github.com/svcgen/protoc-gen-svc/svcstore/internal/fixtures"
	"github.com/svcgen/protoc-gen-svc/svcstore/internal/pgtest"
	"github.com/svcgen/protoc-gen-svc/svcstore/internal/testpb"
	"github.com/svcgen/protoc-gen-svc/svcstore/pgstore"
)

// queryTables returns a store over n books (fixtures.PlanBook: 1,000
// authors, so an author matches 1 in 1,000) and the pool, building the
// store's table and the hand-written one when they are not complete.
func queryTables(b *testing.B, n int) (*pgxpool.Pool, *pgstore.Store[*testpb.Book], string) {
	b.Helper()
	ctx := context.Background()
	pool, err := pgxpool.New(ctx, pgtest.DSN(b))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(pool.Close)
	table, hand := fmt.Sprintf("svcstore_bench_query_%d", n), fmt.Sprintf("svcstore_bench_hand_%d", n)
	st, err := pgstore.New[*testpb.Book](ctx, pool, fixtures.BookSchema, pgstore.WithTable(table))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { st.Close() })
	var have int
	if err := pool.QueryRow(ctx, "SELECT count(*) FROM "+table).Scan(&have); err != nil {
		b.Fatal(err)
	}
	if have == n {
		return pool, st, hand
	}
	for _, stmt := range []string{
		"TRUNCATE " + table,
		"DROP TABLE IF EXISTS " + hand,
		"CREATE TABLE " + hand + ` (resource_key TEXT COLLATE "C" PRIMARY KEY, author TEXT NOT NULL, pages INT NOT NULL, message BYTEA NOT NULL)`,
		"CREATE INDEX ON " + hand + " (author, resource_key)",
		"CREATE INDEX ON " + hand + " (pages, resource_key)",
	} {
		if _, err := pool.Exec(ctx, stmt); err != nil {
			b.Fatal(err)
		}
	}
	// The store's rows are written by the store (batches of 500, the
	// columns it maintains); the hand-written table gets the same messages.
	now := time.Now()
	for lo := 0; lo < n; lo += 500 {
		var batch []*testpb.Book
		var rows [][]any
		for i := lo; i < min(n, lo+500); i++ {
			book := fixtures.PlanBook(i)
			book.Name = benchKey(i)
			batch = append(batch, book)
			data, _ := proto.Marshal(book)
			rows = append(rows, []any{book.Name, book.Author, book.Details.Pages, data})
		}
		if _, err := st.CreateBatch(ctx, batch); err != nil {
			b.Fatal(err)
		}
		if _, err := pool.CopyFrom(ctx, pgx.Identifier{hand}, []string{"resource_key", "author", "pages", "message"}, pgx.CopyFromRows(rows)); err != nil {
			b.Fatal(err)
		}
	}
	for _, t := range []string{table, hand} {
		if _, err := pool.Exec(ctx, "VACUUM ANALYZE "+t); err != nil {
			b.Fatal(err)
		}
	}
	b.Logf("built %d books in %v", n, time.Since(now).Round(time.Second))
	return pool, st, hand
}

// BenchmarkQuery: a first page of 50 unfiltered, with a selective
// equality on an indexed field (1 in 1,000), and sorted by an indexed
// field at pages 1 and 1,000; each by the store and by hand.
func BenchmarkQuery(b *testing.B) {
	for _, n := range []int{100_000, 1_000_000} {
		b.Run(fmt.Sprintf("n=%d", n), func(b *testing.B) { benchQuery(b, n) })
	}
}

func benchQuery(b *testing.B, n int) {
	ctx := context.Background()
	pool, st, hand := queryTables(b, n)
	sorted := svcstore.OrderBy("details.pages desc")
	deepToken := ""
	var deepPages int32
	var deepKey string
	b.Run("impl=pgstore", func(b *testing.B) {
		cases := []struct {
			name    string
			token   func() string
			filters []svcstore.Filter
			want    int
		}{
			{"unfiltered", nil, nil, benchPage},
			{"indexed-equality", nil, []svcstore.Filter{svcstore.Where(`author = "Author 0003"`)}, benchPage},
			{"indexed-sort/page=1", nil, []svcstore.Filter{sorted}, benchPage},
			{"indexed-sort/page=1000", func() string {
				if deepToken == "" {
					token := ""
					for range 999 {
						items, next, err := st.List(ctx, benchPage, token, sorted)
						if err != nil {
							b.Fatal(err)
						}
						last := items[len(items)-1]
						token, deepPages, deepKey = next, last.Details.Pages, last.Name
					}
					deepToken = token
				}
				return deepToken
			}, []svcstore.Filter{sorted}, benchPage},
		}
		for _, c := range cases {
			b.Run(c.name, func(b *testing.B) {
				token := ""
				if c.token != nil {
					token = c.token()
				}
				b.ReportAllocs()
				for b.Loop() {
					items, _, err := st.List(ctx, benchPage, token, c.filters...)
					if err != nil || len(items) != c.want {
						b.Fatalf("List: %d items, %v", len(items), err)
					}
				}
			})
		}
	})
	b.Run("impl=handpgx", func(b *testing.B) {
		cases := []struct {
			name  string
			query string
			args  func() []any
		}{
			{"unfiltered", "SELECT resource_key, message FROM " + hand + " ORDER BY resource_key LIMIT 51", nil},
			{"indexed-equality", "SELECT resource_key, message FROM " + hand + " WHERE author = $1 ORDER BY resource_key LIMIT 51",
				func() []any { return []any{"Author 0003"} }},
			{"indexed-sort/page=1", "SELECT resource_key, message FROM " + hand + " ORDER BY pages DESC, resource_key DESC LIMIT 51", nil},
			{"indexed-sort/page=1000", "SELECT resource_key, message FROM " + hand +
				" WHERE (pages, resource_key) < ($1, $2) ORDER BY pages DESC, resource_key DESC LIMIT 51",
				func() []any { return []any{deepPages, deepKey} }},
		}
		for _, c := range cases {
			b.Run(c.name, func(b *testing.B) {
				var args []any
				if c.args != nil {
					args = c.args()
				}
				b.ReportAllocs()
				for b.Loop() {
					if got := handQuery(b, pool, c.query, args...); got != benchPage+1 && got != 100 {
						b.Fatalf("%d rows", got)
					}
				}
			})
		}
	})
}

// handQuery runs query and decodes each row's message, as a hand-written
// repository would; it returns the number of rows.
func handQuery(b *testing.B, pool *pgxpool.Pool, query string, args ...any) int {
	rows, err := pool.Query(context.Background(), query, args...)
	if err != nil {
		b.Fatal(err)
	}
	defer rows.Close()
	n := 0
	for rows.Next() {
		var key string
		var data []byte
		if err := rows.Scan(&key, &data); err != nil {
			b.Fatal(err)
		}
		var book testpb.Book
		if err := proto.Unmarshal(data, &book); err != nil {
			b.Fatal(err)
		}
		n++
	}
	if err := rows.Err(); err != nil {
		b.Fatal(err)
	}
	return n
}
