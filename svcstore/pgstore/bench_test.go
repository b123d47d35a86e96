package pgstore_test

// Benchmarks at 10^5 rows against a hand-written pgx repository for the
// same table, in one run so that the ratios compare like with like:
//
//	SVC_TEST_POSTGRES_DSN=postgres://... go test -run '^$' -bench . -benchtime 2s ./svcstore/pgstore/
//
// The table (svcstore_bench_books) is built once and kept in the test
// database between runs; building it is not timed.

import (
	"context"
	"fmt"
	"math/rand/v2"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/fieldmaskpb"

	"github.com/svcgen/protoc-gen-svc/svcstore"
	"github.com/svcgen/protoc-gen-svc/svcstore/internal/core"
	"github.com/svcgen/protoc-gen-svc/svcstore/internal/fixtures"
	"github.com/svcgen/protoc-gen-svc/svcstore/internal/pgtest"
	"github.com/svcgen/protoc-gen-svc/svcstore/internal/testpb"
	"github.com/svcgen/protoc-gen-svc/svcstore/pgstore"
)

const (
	benchN     = 100_000
	benchTable = "svcstore_bench_books"
	benchPage  = 50
)

func benchKey(i int) string { return fmt.Sprintf("shelves/1/books/b%07d", i) }

var (
	benchOnce  sync.Once
	benchErr   error
	benchPool  *pgxpool.Pool
	benchStore *pgstore.Store[*testpb.Book]
)

// benchSetup connects and fills the table with benchN books (COPY, in the
// store's row format) unless it already holds them.
func benchSetup(b *testing.B) (*pgxpool.Pool, *pgstore.Store[*testpb.Book]) {
	b.Helper()
	dsn := pgtest.DSN(b)
	benchOnce.Do(func() {
		ctx := context.Background()
		if benchPool, benchErr = pgxpool.New(ctx, dsn); benchErr != nil {
			return
		}
		if benchStore, benchErr = pgstore.New[*testpb.Book](ctx, benchPool, fixtures.BookSchema, pgstore.WithTable(benchTable)); benchErr != nil {
			return
		}
		var n int
		if benchErr = benchPool.QueryRow(ctx, "SELECT count(*) FROM "+benchTable).Scan(&n); benchErr != nil || n >= benchN {
			return
		}
		if _, benchErr = benchPool.Exec(ctx, "TRUNCATE "+benchTable); benchErr != nil {
			return
		}
		now := time.Now()
		rows := make([][]any, benchN)
		for i := range benchN {
			book := fixtures.Book.New(i)
			core.SetTime(book.ProtoReflect(), book.ProtoReflect().Descriptor().Fields().ByName("create_time"), now)
			core.SetTime(book.ProtoReflect(), book.ProtoReflect().Descriptor().Fields().ByName("update_time"), now)
			data, _ := proto.MarshalOptions{Deterministic: true}.Marshal(book) // no key, no etag: the store's row format
			rows[i] = []any{benchKey(i), data, int64(i + 1), now, now}
		}
		if _, benchErr = benchPool.CopyFrom(ctx, pgx.Identifier{benchTable},
			[]string{"resource_key", "message", "version", "create_time", "update_time"}, pgx.CopyFromRows(rows)); benchErr != nil {
			return
		}
		if benchErr = benchStore.Migrate(ctx); benchErr != nil { // fills the index columns
			return
		}
		_, benchErr = benchPool.Exec(ctx, "SELECT setval('"+benchTable+"_version_seq', $1)", benchN+1)
		benchPool.Exec(ctx, "ANALYZE "+benchTable)
	})
	if benchErr != nil {
		b.Fatal(benchErr)
	}
	return benchPool, benchStore
}

// handRepo is what a team writes by hand with pgx for the same table: the
// same row format, no generic layer, no database/sql.
type handRepo struct{ pool *pgxpool.Pool }

func (h handRepo) get(ctx context.Context, key string) (*testpb.Book, error) {
	var data []byte
	var version int64
	if err := h.pool.QueryRow(ctx, "SELECT message, version FROM "+benchTable+" WHERE resource_key = $1", key).Scan(&data, &version); err != nil {
		return nil, err
	}
	b := &testpb.Book{}
	if err := proto.Unmarshal(data, b); err != nil {
		return nil, err
	}
	b.Name, b.Etag = key, fmt.Sprintf(`"%d"`, version)
	return b, nil
}

func (h handRepo) create(ctx context.Context, b *testpb.Book) error {
	data, err := proto.Marshal(b)
	if err != nil {
		return err
	}
	now := time.Now()
	var version int64
	return h.pool.QueryRow(ctx, "INSERT INTO "+benchTable+" (resource_key, message, version, create_time, update_time) VALUES ($1, $2, nextval('"+benchTable+"_version_seq'), $3, $3) RETURNING version",
		"shelves/1/books/"+core.RandomID(), data, now).Scan(&version)
}

// updateTitle reads, changes the title, and writes if nobody else did.
func (h handRepo) updateTitle(ctx context.Context, key, title string) error {
	var data []byte
	var version int64
	if err := h.pool.QueryRow(ctx, "SELECT message, version FROM "+benchTable+" WHERE resource_key = $1", key).Scan(&data, &version); err != nil {
		return err
	}
	b := &testpb.Book{}
	if err := proto.Unmarshal(data, b); err != nil {
		return err
	}
	b.Title = title
	if data, err := proto.Marshal(b); err != nil {
		return err
	} else {
		tag, err := h.pool.Exec(ctx, "UPDATE "+benchTable+" SET message = $1, version = nextval('"+benchTable+"_version_seq'), update_time = $2 WHERE resource_key = $3 AND version = $4",
			data, time.Now(), key, version)
		if err == nil && tag.RowsAffected() != 1 {
			return fmt.Errorf("conflict")
		}
		return err
	}
}

func (h handRepo) listAfter(ctx context.Context, after string, n int) ([]*testpb.Book, error) {
	rows, err := h.pool.Query(ctx, "SELECT resource_key, message, version FROM "+benchTable+" WHERE resource_key > $1 ORDER BY resource_key LIMIT $2", after, n+1)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []*testpb.Book
	for rows.Next() {
		var key string
		var data []byte
		var version int64
		if err := rows.Scan(&key, &data, &version); err != nil {
			return nil, err
		}
		b := &testpb.Book{}
		if err := proto.Unmarshal(data, b); err != nil {
			return nil, err
		}
		b.Name, b.Etag = key, fmt.Sprintf(`"%d"`, version)
		out = append(out, b)
	}
	return out, rows.Err()
}

func BenchmarkGet(b *testing.B) {
	pool, st := benchSetup(b)
	ctx := context.Background()
	b.Run("impl=pgstore", func(b *testing.B) {
		r := rand.New(rand.NewPCG(1, 2))
		for b.Loop() {
			if _, err := st.Get(ctx, benchKey(r.IntN(benchN))); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("impl=handpgx", func(b *testing.B) {
		h, r := handRepo{pool}, rand.New(rand.NewPCG(1, 2))
		for b.Loop() {
			if _, err := h.get(ctx, benchKey(r.IntN(benchN))); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// BenchmarkCreate inserts books with server-assigned keys; they are
// deleted afterwards, untimed.
func BenchmarkCreate(b *testing.B) {
	pool, st := benchSetup(b)
	ctx := context.Background()
	cleanup := func() {
		pool.Exec(ctx, "DELETE FROM "+benchTable+" WHERE resource_key NOT LIKE 'shelves/1/books/b%'")
	}
	b.Run("impl=pgstore", func(b *testing.B) {
		for b.Loop() {
			if _, err := st.Create(ctx, &testpb.Book{Title: "new"}); err != nil {
				b.Fatal(err)
			}
		}
		b.StopTimer()
		cleanup()
	})
	b.Run("impl=handpgx", func(b *testing.B) {
		h := handRepo{pool}
		for b.Loop() {
			if err := h.create(ctx, &testpb.Book{Title: "new", CreateTime: nil}); err != nil {
				b.Fatal(err)
			}
		}
		b.StopTimer()
		cleanup()
	})
}

// BenchmarkUpdate changes one field of a random book: read, merge, write
// conditionally, in both.
func BenchmarkUpdate(b *testing.B) {
	pool, st := benchSetup(b)
	ctx := context.Background()
	mask := &fieldmaskpb.FieldMask{Paths: []string{"title"}}
	b.Run("impl=pgstore", func(b *testing.B) {
		r := rand.New(rand.NewPCG(3, 4))
		for b.Loop() {
			if _, err := st.Update(ctx, &testpb.Book{Name: benchKey(r.IntN(benchN)), Title: "t"}, mask); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("impl=handpgx", func(b *testing.B) {
		h, r := handRepo{pool}, rand.New(rand.NewPCG(3, 4))
		for b.Loop() {
			if err := h.updateTitle(ctx, benchKey(r.IntN(benchN)), "t"); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// BenchmarkList reads page 1 and page 1000 (after 49,950 rows) of 50.
func BenchmarkList(b *testing.B) {
	pool, st := benchSetup(b)
	ctx := context.Background()
	deep := benchKey(999*benchPage - 1)
	for _, page := range []int{1, 1000} {
		b.Run(fmt.Sprintf("impl=pgstore/page=%d", page), func(b *testing.B) {
			token := ""
			if page > 1 {
				token = pageToken(b, st, deep)
			}
			for b.Loop() {
				items, next, err := st.List(ctx, benchPage, token)
				if err != nil || len(items) != benchPage || next == "" {
					b.Fatalf("List: %d items, %v", len(items), err)
				}
			}
		})
		b.Run(fmt.Sprintf("impl=handpgx/page=%d", page), func(b *testing.B) {
			h, after := handRepo{pool}, ""
			if page > 1 {
				after = deep
			}
			for b.Loop() {
				if items, err := h.listAfter(ctx, after, benchPage); err != nil || len(items) != benchPage+1 {
					b.Fatalf("list: %d items, %v", len(items), err)
				}
			}
		})
	}
}

// pageToken pages to the item after key and returns the token there, by
// listing one page that ends at key: a page of one starting after the
// previous key.
func pageToken(b *testing.B, st *pgstore.Store[*testpb.Book], key string) string {
	b.Helper()
	ctx := context.Background()
	// Walk with big pages to the page ending at key.
	token := ""
	for {
		items, next, err := st.List(ctx, svcstore.MaxPageSize, token)
		if err != nil || next == "" {
			b.Fatalf("walking to %q: %v", key, err)
		}
		if items[len(items)-1].GetName() >= key {
			// The token after key: list from the previous token with the
			// exact size that ends at key.
			for i, it := range items {
				if it.GetName() == key {
					_, tok, err := st.List(ctx, i+1, token)
					if err != nil {
						b.Fatal(err)
					}
					return tok
				}
			}
		}
		token = next
	}
}

// BenchmarkListLarge reads the first page of the default size from a table
// of 60 books of 256 KiB each (15 MiB): without a byte budget that page
// holds all 50 requested (12.5 MiB, more than a default gRPC client
// accepts); with one it stops at about 4 MiB.
func BenchmarkListLarge(b *testing.B) {
	ctx := context.Background()
	pool := pgtest.Pool(b)
	st, err := pgstore.New[*testpb.Book](ctx, pool, fixtures.BookSchema, pgstore.WithTable(pgtest.Table(b, pool)))
	if err != nil {
		b.Fatal(err)
	}
	defer st.Close()
	for i := range 60 {
		book := fixtures.Book.New(i)
		book.Name, book.Title = benchKey(i), strings.Repeat("t", 256<<10)
		if _, err := st.Create(ctx, book); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportAllocs()
	for b.Loop() {
		items, next, err := st.List(ctx, 0, "")
		if err != nil || len(items) == 0 || next == "" {
			b.Fatalf("List: %d items, token %q, %v", len(items), next, err)
		}
	}
}
