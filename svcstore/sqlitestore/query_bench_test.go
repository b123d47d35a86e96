package sqlitestore_test

// Query benchmarks at 10^5 and 10^6 books, against the same queries written
// by hand on a table with typed columns and B-trees on (author, key) and
// (pages, key), in one file and one run:
//
//	go test -run '^$' -bench BenchmarkQuery -benchtime 200x -count 3 ./svcstore/sqlitestore/
//
// The database files are built in a temporary folder, once per run.

import (
	"context"
	"database/sql"
	"fmt"
	"path/filepath"
	"testing"

	"google.golang.org/protobuf/proto"

	"github.com/svcgen/protoc-gen-svc/svcstore"
	"github.com/svcgen/protoc-gen-svc/svcstore/internal/fixtures"
	"github.com/svcgen/protoc-gen-svc/svcstore/internal/testpb"
	"github.com/svcgen/protoc-gen-svc/svcstore/sqlitestore"
)

const benchPage = 50

func BenchmarkQuery(b *testing.B) {
	for _, n := range []int{100_000, 1_000_000} {
		b.Run(fmt.Sprintf("n=%d", n), func(b *testing.B) { benchQuery(b, n) })
	}
}

func benchQuery(b *testing.B, n int) {
	ctx := context.Background()
	db, err := sqlitestore.Open(filepath.Join(b.TempDir(), "bench.db"))
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	st, err := sqlitestore.New[*testpb.Book](ctx, db, fixtures.BookSchema, sqlitestore.WithTable("books"))
	if err != nil {
		b.Fatal(err)
	}
	for _, stmt := range []string{
		"CREATE TABLE hand (resource_key TEXT PRIMARY KEY, author TEXT NOT NULL, pages INTEGER NOT NULL, message BLOB NOT NULL)",
		"CREATE INDEX hand_author ON hand (author, resource_key)",
		"CREATE INDEX hand_pages ON hand (pages, resource_key)",
	} {
		if _, err := db.Exec(stmt); err != nil {
			b.Fatal(err)
		}
	}
	for lo := 0; lo < n; lo += 1000 {
		var batch []*testpb.Book
		tx, err := db.Begin()
		if err != nil {
			b.Fatal(err)
		}
		for i := lo; i < min(n, lo+1000); i++ {
			book := fixtures.PlanBook(i)
			book.Name = fmt.Sprintf("shelves/1/books/b%07d", i)
			batch = append(batch, book)
			data, _ := proto.Marshal(book)
			if _, err := tx.Exec("INSERT INTO hand VALUES (?, ?, ?, ?)", book.Name, book.Author, book.Details.Pages, data); err != nil {
				b.Fatal(err)
			}
		}
		if err := tx.Commit(); err != nil {
			b.Fatal(err)
		}
		if _, err := st.CreateBatch(ctx, batch); err != nil {
			b.Fatal(err)
		}
	}
	if _, err := db.Exec("ANALYZE"); err != nil {
		b.Fatal(err)
	}
	sorted := svcstore.OrderBy("details.pages desc")
	token := ""
	var deepPages int32
	var deepKey string
	for range 999 {
		items, next, err := st.List(ctx, benchPage, token, sorted)
		if err != nil {
			b.Fatal(err)
		}
		last := items[len(items)-1]
		token, deepPages, deepKey = next, last.Details.Pages, last.Name
	}
	deepToken := token

	store := []struct {
		name    string
		token   string
		filters []svcstore.Filter
	}{
		{"unfiltered", "", nil},
		{"indexed-equality", "", []svcstore.Filter{svcstore.Where(`author = "Author 0003"`)}},
		{"indexed-sort/page=1", "", []svcstore.Filter{sorted}},
		{"indexed-sort/page=1000", deepToken, []svcstore.Filter{sorted}},
	}
	for _, c := range store {
		b.Run("impl=sqlitestore/"+c.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				items, _, err := st.List(ctx, benchPage, c.token, c.filters...)
				if err != nil || len(items) != benchPage {
					b.Fatalf("List: %d items, %v", len(items), err)
				}
			}
		})
	}
	hand := []struct {
		name  string
		query string
		args  []any
	}{
		{"unfiltered", "SELECT resource_key, message FROM hand ORDER BY resource_key LIMIT 51", nil},
		{"indexed-equality", "SELECT resource_key, message FROM hand WHERE author = ? ORDER BY resource_key LIMIT 51", []any{"Author 0003"}},
		{"indexed-sort/page=1", "SELECT resource_key, message FROM hand ORDER BY pages DESC, resource_key DESC LIMIT 51", nil},
		{"indexed-sort/page=1000", "SELECT resource_key, message FROM hand WHERE (pages, resource_key) < (?, ?) ORDER BY pages DESC, resource_key DESC LIMIT 51",
			[]any{deepPages, deepKey}},
	}
	for _, c := range hand {
		b.Run("impl=handsql/"+c.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if got := handQuery(b, db, c.query, c.args...); got != benchPage+1 {
					b.Fatalf("%d rows", got)
				}
			}
		})
	}
}

// handQuery runs query and decodes each row's message, as a hand-written
// repository would; it returns the number of rows.
func handQuery(b *testing.B, db *sql.DB, query string, args ...any) int {
	rows, err := db.Query(query, args...)
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
