package svcstore

// Benchmarks at 10^6 stored resources, against a baseline of what people
// write by hand: a map behind a sync.RWMutex whose List collects and sorts
// every key on each call. Run with, for example:
//
//	go test -run '^$' -bench . -benchmem ./svcstore/
//
// The two stores are built once per process (about ten seconds) and shared by
// every benchmark; building is not timed.

import (
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/fieldmaskpb"

	"github.com/svcgen/protoc-gen-svc/svcstore/internal/testpb"
)

const benchN = 1_000_000

var benchSchema = Schema{
	KeyField:        "name",
	KeyPrefix:       "shelves/1/books/",
	EtagField:       "etag",
	CreateTimeField: "create_time",
	UpdateTimeField: "update_time",
}

type benchFixture struct {
	mem  *Memory[*testpb.Book]
	base *mapStore
	keys []string // every stored key, in random order
	mid  string   // the median key: deep pages start after it
}

var (
	fixtureOnce sync.Once
	fixture     *benchFixture
)

// getFixture builds the shared 10^6-entry stores on first use. Keys are
// inserted in random order so the tree sees a realistic insertion pattern.
func getFixture(b *testing.B) *benchFixture {
	b.Helper()
	fixtureOnce.Do(func() {
		ctx := context.Background()
		f := &benchFixture{
			mem:  MustNew[*testpb.Book](benchSchema),
			base: &mapStore{m: make(map[string]*testpb.Book, benchN)},
			keys: make([]string, benchN),
		}
		r := rand.New(rand.NewPCG(1, 2))
		for i, n := range r.Perm(benchN) {
			k := fmt.Sprintf("shelves/1/books/%07d", n)
			f.keys[i] = k
			got, err := f.mem.Create(ctx, &testpb.Book{
				Name:    k,
				Title:   fmt.Sprint("Title ", n),
				Author:  fmt.Sprint("Author ", n%1000),
				Details: &testpb.Details{Pages: int32(n % 900), Isbn: fmt.Sprint("isbn-", n)},
			})
			if err != nil {
				panic(err)
			}
			f.base.m[k] = proto.Clone(got).(*testpb.Book)
		}
		f.mid = fmt.Sprintf("shelves/1/books/%07d", benchN/2)
		fixture = f
	})
	b.ResetTimer()
	return fixture
}

// mapStore is the hand-written baseline: correct, simple, and O(n log n) per
// List page because the map has no order.
type mapStore struct {
	mu sync.RWMutex
	m  map[string]*testpb.Book
}

func (s *mapStore) Get(key string) (*testpb.Book, bool) {
	s.mu.RLock()
	b, ok := s.m[key]
	s.mu.RUnlock()
	if !ok {
		return nil, false
	}
	return proto.Clone(b).(*testpb.Book), true
}

// List returns the page after key "after" ("" for the first page).
func (s *mapStore) List(pageSize int, after string) ([]*testpb.Book, string) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	keys := make([]string, 0, len(s.m))
	for k := range s.m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	i := 0
	if after != "" {
		i = sort.SearchStrings(keys, after)
		if i < len(keys) && keys[i] == after {
			i++
		}
	}
	end := min(i+pageSize, len(keys))
	out := make([]*testpb.Book, 0, end-i)
	for _, k := range keys[i:end] {
		out = append(out, proto.Clone(s.m[k]).(*testpb.Book))
	}
	next := ""
	if end < len(keys) {
		next = keys[end-1]
	}
	return out, next
}

// BenchmarkGet reads keys in a random order over all 10^6 (keys=random),
// which is bound by memory latency: the index probe and the stored
// message's four heap objects are rarely in cache. keys=hot cycles through
// 1,024 keys, which stay in cache, to show the CPU cost alone.
func BenchmarkGet(b *testing.B) {
	ctx := context.Background()
	for _, pattern := range []string{"random", "hot"} {
		keys := func(f *benchFixture) []string {
			if pattern == "hot" {
				return f.keys[:1024]
			}
			return f.keys
		}
		b.Run("impl=btree/keys="+pattern, func(b *testing.B) {
			f := getFixture(b)
			ks := keys(f)
			b.ReportAllocs()
			for i := 0; i < b.N; i++ {
				if _, err := f.mem.Get(ctx, ks[i%len(ks)]); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run("impl=map/keys="+pattern, func(b *testing.B) {
			f := getFixture(b)
			ks := keys(f)
			b.ReportAllocs()
			for i := 0; i < b.N; i++ {
				if _, ok := f.base.Get(ks[i%len(ks)]); !ok {
					b.Fatal("missing key")
				}
			}
		})
	}
}

func BenchmarkGetParallel(b *testing.B) {
	ctx := context.Background()
	var seed atomic.Uint64
	b.Run("impl=btree", func(b *testing.B) {
		f := getFixture(b)
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			r := rand.New(rand.NewPCG(seed.Add(1), 0))
			for pb.Next() {
				if _, err := f.mem.Get(ctx, f.keys[r.IntN(benchN)]); err != nil {
					b.Error(err)
					return
				}
			}
		})
	})
	b.Run("impl=map", func(b *testing.B) {
		f := getFixture(b)
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			r := rand.New(rand.NewPCG(seed.Add(1), 0))
			for pb.Next() {
				if _, ok := f.base.Get(f.keys[r.IntN(benchN)]); !ok {
					b.Error("missing key")
					return
				}
			}
		})
	})
}

// BenchmarkList reads one page of DefaultPageSize items, either the first
// page or the page after the median key, where an offset-based store would
// have to skip 500,000 items.
func BenchmarkList(b *testing.B) {
	ctx := context.Background()
	for _, depth := range []string{"first", "middle"} {
		b.Run("impl=btree/page="+depth, func(b *testing.B) {
			f := getFixture(b)
			token := ""
			if depth == "middle" {
				token = f.mem.tokens.Encode(f.mid, "")
			}
			b.ReportAllocs()
			for i := 0; i < b.N; i++ {
				items, next, err := f.mem.List(ctx, DefaultPageSize, token)
				if err != nil || len(items) != DefaultPageSize || next == "" {
					b.Fatalf("List = %d items, token %q, %v", len(items), next, err)
				}
			}
		})
	}
	for _, depth := range []string{"first", "middle"} {
		b.Run("impl=map/page="+depth, func(b *testing.B) {
			f := getFixture(b)
			after := ""
			if depth == "middle" {
				after = f.mid
			}
			b.ReportAllocs()
			for i := 0; i < b.N; i++ {
				if items, _ := f.base.List(DefaultPageSize, after); len(items) != DefaultPageSize {
					b.Fatalf("List = %d items", len(items))
				}
			}
		})
	}
}

// BenchmarkCreate inserts resources with server-assigned (random) keys into
// the 10^6-entry store, then removes them untimed so later benchmarks see
// the same store.
func BenchmarkCreate(b *testing.B) {
	ctx := context.Background()
	f := getFixture(b)
	created := make([]string, 0, b.N)
	msg := &testpb.Book{Title: "new", Author: "someone", Details: &testpb.Details{Pages: 1}}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		got, err := f.mem.Create(ctx, msg)
		if err != nil {
			b.Fatal(err)
		}
		created = append(created, got.GetName())
	}
	b.StopTimer()
	for _, k := range created {
		if _, err := f.mem.Delete(ctx, k, ""); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkUpdate applies a one-field update_mask to random existing keys.
func BenchmarkUpdate(b *testing.B) {
	ctx := context.Background()
	f := getFixture(b)
	mask := &fieldmaskpb.FieldMask{Paths: []string{"title"}}
	msgs := make([]*testpb.Book, 1024)
	for i := range msgs {
		msgs[i] = &testpb.Book{Name: f.keys[(i*7919)%benchN], Title: fmt.Sprint("Updated ", i)}
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := f.mem.Update(ctx, msgs[i%len(msgs)], mask); err != nil {
			b.Fatal(err)
		}
	}
}

// TestBenchBaselineAgrees keeps the baseline honest: on a small store it
// must page exactly like Memory, or its figures would mean nothing.
func TestBenchBaselineAgrees(t *testing.T) {
	ctx := context.Background()
	mem := MustNew[*testpb.Book](benchSchema)
	base := &mapStore{m: map[string]*testpb.Book{}}
	for _, n := range rand.New(rand.NewPCG(3, 4)).Perm(57) {
		got, err := mem.Create(ctx, &testpb.Book{Name: fmt.Sprintf("shelves/1/books/%03d", n)})
		if err != nil {
			t.Fatal(err)
		}
		base.m[got.GetName()] = got
	}
	var memKeys, baseKeys []string
	for tok := ""; ; {
		items, next, err := mem.List(ctx, 10, tok)
		if err != nil {
			t.Fatal(err)
		}
		for _, b := range items {
			memKeys = append(memKeys, b.GetName())
		}
		if tok = next; tok == "" {
			break
		}
	}
	for after := ""; ; {
		items, next := base.List(10, after)
		for _, b := range items {
			baseKeys = append(baseKeys, b.GetName())
		}
		if after = next; after == "" {
			break
		}
	}
	if !slices.Equal(memKeys, baseKeys) || len(memKeys) != 57 || !slices.IsSorted(memKeys) {
		t.Errorf("Memory listed %v\nbaseline listed %v", memKeys, baseKeys)
	}
}

// BenchmarkListLarge reads the first page of the default size from a store
// of 60 books of 256 KiB each (15 MiB): without a byte budget that page
// copies all 50 requested (12.5 MiB, more than a default gRPC client
// accepts); with one it stops at about 4 MiB.
func BenchmarkListLarge(b *testing.B) {
	ctx := context.Background()
	m := MustNew[*testpb.Book](benchSchema)
	for i := range 60 {
		book := &testpb.Book{Name: fmt.Sprintf("shelves/1/books/b%07d", i), Title: strings.Repeat("t", 256<<10)}
		if _, err := m.Create(ctx, book); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportAllocs()
	for b.Loop() {
		items, next, err := m.List(ctx, 0, "")
		if err != nil || len(items) == 0 || next == "" {
			b.Fatalf("List: %d items, token %q, %v", len(items), next, err)
		}
	}
}

var (
	queryOnce sync.Once
	queryMem  *Memory[*testpb.Book]
)

// queryFixture is 10^6 books with indexes on author (1,000 values) and
// details.pages (900 values).
func queryFixture(b *testing.B) *Memory[*testpb.Book] {
	b.Helper()
	queryOnce.Do(func() {
		s := benchSchema
		s.Indexes = []string{"author", "details.pages"}
		queryMem = MustNew[*testpb.Book](s)
		r := rand.New(rand.NewPCG(3, 4))
		for _, n := range r.Perm(benchN) {
			if _, err := queryMem.Create(context.Background(), &testpb.Book{
				Name:    fmt.Sprintf("shelves/1/books/%07d", n),
				Title:   fmt.Sprint("Title ", n),
				Author:  fmt.Sprint("Author ", n%1000),
				Details: &testpb.Details{Pages: int32(n % 900), Isbn: fmt.Sprint("isbn-", n)},
			}); err != nil {
				panic(err)
			}
		}
	})
	b.ResetTimer()
	return queryMem
}

// BenchmarkQuery lists a default page of 10^6 books: unfiltered, with a
// selective equality on an indexed field (1 book in 1,000), sorted by an
// indexed field at page 1 and page 1,000, and with a filter no index serves
// (a bounded scan: the page ends after DefaultMaxScan books).
func BenchmarkQuery(b *testing.B) {
	ctx := context.Background()
	cases := []struct {
		name    string
		filters []Filter
		depth   int // pages to skip before timing
	}{
		{"unfiltered", nil, 0},
		{"filter=indexed", []Filter{Where(`author = "Author 7"`)}, 0},
		{"sort=indexed/page=1", []Filter{OrderBy("details.pages desc")}, 0},
		{"sort=indexed/page=1000", []Filter{OrderBy("details.pages desc")}, 999},
		{"filter=indexed+sort=indexed", []Filter{Where(`author = "Author 7"`), OrderBy("details.pages")}, 0},
		{"filter=scan", []Filter{Where(`title = "Title 7"`)}, 0},
	}
	for _, c := range cases {
		b.Run(c.name, func(b *testing.B) {
			m := queryFixture(b)
			token := ""
			for range c.depth {
				_, next, err := m.List(ctx, DefaultPageSize, token, c.filters...)
				if err != nil || next == "" {
					b.Fatalf("List while skipping pages: token %q, %v", next, err)
				}
				token = next
			}
			b.ReportAllocs()
			b.ResetTimer()
			for b.Loop() {
				items, _, err := m.List(ctx, DefaultPageSize, token, c.filters...)
				if err != nil || len(items) == 0 && c.name != "filter=scan" {
					b.Fatalf("List = %d items, %v", len(items), err)
				}
			}
		})
	}
}
