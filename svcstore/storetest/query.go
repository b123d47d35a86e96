// Queries: AIP-160 filters (svcstore.Where) and AIP-132 orderings
// (svcstore.OrderBy), checked against the fixture's own Go meaning of each.

package storetest

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	gocmp "github.com/google/go-cmp/cmp"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/types/known/fieldmaskpb"

	"github.com/svcgen/protoc-gen-svc/svcstore"
)

// Query is a List filter and ordering with its meaning written in Go, for
// the query subtests: the suite stores New(0..99) and checks that the
// listing holds exactly the resources Keep keeps, in the order Compare
// gives, ties broken by key (descending when Desc).
type Query[M any] struct {
	Filter  string // AIP-160; "" for none
	OrderBy string // AIP-132; "" for key order
	Desc    bool   // the ordering is descending: key ties break downwards
	// Keep is the filter in Go; nil keeps everything.
	Keep func(M) bool
	// Compare is the ordering in Go, without the key (which breaks ties);
	// nil for key order.
	Compare func(a, b M) int
}

func (q Query[M]) filters() []svcstore.Filter {
	var fs []svcstore.Filter
	if q.Filter != "" {
		fs = append(fs, svcstore.Where(q.Filter))
	}
	if q.OrderBy != "" {
		fs = append(fs, svcstore.OrderBy(q.OrderBy))
	}
	return fs
}

func (q Query[M]) String() string { return fmt.Sprintf("filter %q order_by %q", q.Filter, q.OrderBy) }

// expected returns the keys q lists from byKey, in order.
func (s *suite[M]) expected(q Query[M], byKey map[string]M) []string {
	var keys []string
	for k, m := range byKey {
		if q.Keep == nil || q.Keep(m) {
			keys = append(keys, k)
		}
	}
	slices.SortFunc(keys, func(a, b string) int {
		if q.Compare != nil {
			if c := q.Compare(byKey[a], byKey[b]); c != 0 {
				return c
			}
		}
		if q.Desc {
			return s.compareKeys(b, a)
		}
		return s.compareKeys(a, b)
	})
	return keys
}

// listQuery pages through a listing, allowing pages that end early
// (empty ones included) as a scan bound makes them, and returns the keys
// and how many calls it took.
func (s *suite[M]) listQuery(t *testing.T, repo svcstore.Repository[M], size int, filters ...svcstore.Filter) ([]string, int) {
	t.Helper()
	var keys []string
	token := ""
	for call := 1; ; call++ {
		if call > 10_000 {
			t.Fatal("List never returned an empty next_page_token")
		}
		page, next, err := repo.List(ctx, size, token, filters...)
		if err != nil {
			t.Fatalf("List(%d, page %d): %v", size, call, err)
		}
		if len(page) > size {
			t.Fatalf("List(%d) returned %d items", size, len(page))
		}
		for _, m := range page {
			keys = append(keys, s.keyOf(m))
		}
		if next == "" {
			return keys, call
		}
		token = next
	}
}

func (s *suite[M]) testQueries(t *testing.T) {
	if len(s.fx.Queries) == 0 {
		t.Skip("Fixture.Queries is empty")
	}
	repo := s.newRepo(t)
	byKey := s.seed(t, repo, 100)
	for _, q := range s.fx.Queries {
		want := s.expected(q, byKey)
		for _, size := range []int{1, 7, 1000} {
			got, _ := s.listQuery(t, repo, size, q.filters()...)
			if d := gocmp.Diff(want, got); d != "" {
				t.Errorf("List(%d, %s) (-want +got):\n%s", size, q, d)
			}
		}
	}
}

// testQueriesAfterWrites checks that updates and deletes move resources
// within and out of filtered, ordered listings (indexes follow the data).
func (s *suite[M]) testQueriesAfterWrites(t *testing.T) {
	if len(s.fx.Queries) == 0 {
		t.Skip("Fixture.Queries is empty")
	}
	repo := s.newRepo(t)
	byKey := s.seed(t, repo, 60)
	i := 0
	for k, m := range byKey {
		switch i % 3 {
		case 0:
			s.fx.Mutate(m)
			s.setEtag0(m)
			got, err := repo.Update(ctx, m, nil)
			if err != nil {
				t.Fatalf("Update(%s): %v", k, err)
			}
			byKey[k] = got
		case 1:
			if _, err := repo.Delete(ctx, k, ""); err != nil {
				t.Fatalf("Delete(%s): %v", k, err)
			}
			delete(byKey, k)
		}
		i++
	}
	for _, q := range s.fx.Queries {
		want := s.expected(q, byKey)
		got, _ := s.listQuery(t, repo, 4, q.filters()...)
		if d := gocmp.Diff(want, got); d != "" {
			t.Errorf("List(4, %s) after updates and deletes (-want +got):\n%s", q, d)
		}
	}
}

// testQueryDuringInserts pages through every ordered query while others
// insert: no resource twice, and none skipped that matched throughout.
func (s *suite[M]) testQueryDuringInserts(t *testing.T) {
	repo := s.newRepo(t)
	byKey := s.seed(t, repo, 80)
	inserted := 0
	for _, q := range s.fx.Queries {
		if q.OrderBy == "" {
			continue
		}
		want := s.expected(q, byKey)
		seen := map[string]bool{}
		token := ""
		for {
			page, next, err := repo.List(ctx, 6, token, q.filters()...)
			if err != nil {
				t.Fatalf("List(%s): %v", q, err)
			}
			for _, m := range page {
				k := s.keyOf(m)
				if seen[k] {
					t.Fatalf("List(%s) returned %s twice while others inserted", q, k)
				}
				seen[k] = true
			}
			// Two inserts per page, anywhere in the order.
			for range 2 {
				i := 1000 + inserted
				s.create(t, repo, s.msg(i, s.key(i)))
				inserted++
			}
			if next == "" {
				break
			}
			token = next
		}
		for _, k := range want {
			if !seen[k] {
				t.Errorf("List(%s) while others inserted skipped %s, which matched throughout", q, k)
			}
		}
	}
}

func (s *suite[M]) testInvalidQueries(t *testing.T) {
	repo := s.newRepo(t)
	s.seed(t, repo, 3)
	for _, tc := range []struct {
		filters []svcstore.Filter
		want    string // in the message
	}{
		{[]svcstore.Filter{svcstore.Where("(")}, "filter"},
		{[]svcstore.Filter{svcstore.Where("no_such_field = 1")}, "column 1"},
		{[]svcstore.Filter{svcstore.Where(fmt.Sprintf("%s = %q AND no_such_field = 1", s.fx.Schema.KeyField, "x"))}, "no_such_field"},
		{[]svcstore.Filter{svcstore.Where("= 3")}, "filter"},
		{[]svcstore.Filter{svcstore.Where(`"x" = 3`)}, "filter"},
		{[]svcstore.Filter{svcstore.OrderBy("no_such_field")}, "no_such_field"},
		{[]svcstore.Filter{svcstore.OrderBy(s.fx.Schema.KeyField + " sideways")}, "order_by"},
		{[]svcstore.Filter{svcstore.OrderBy(s.fx.Schema.KeyField), svcstore.OrderBy(s.fx.Schema.KeyField + " desc")}, "ordering"},
	} {
		_, _, err := repo.List(ctx, 10, "", tc.filters...)
		wantCode(t, err, codes.InvalidArgument, fmt.Sprintf("List with %v", tc.filters))
		if err != nil && !strings.Contains(status.Convert(err).Message(), tc.want) {
			t.Errorf("List with %v: message %q does not mention %q", tc.filters, status.Convert(err).Message(), tc.want)
		}
	}
}

func (s *suite[M]) testQueryTokensBound(t *testing.T) {
	if len(s.fx.Queries) < 2 {
		t.Skip("Fixture.Queries has fewer than two queries")
	}
	repo := s.newRepo(t)
	s.seed(t, repo, 40)
	for i, a := range s.fx.Queries {
		_, token, err := repo.List(ctx, 1, "", a.filters()...)
		if err != nil || token == "" {
			continue // a query keeping at most one resource issues no token
		}
		b := s.fx.Queries[(i+1)%len(s.fx.Queries)]
		if a.Filter == b.Filter && a.OrderBy == b.OrderBy {
			continue
		}
		_, _, err = repo.List(ctx, 1, token, b.filters()...)
		wantCode(t, err, codes.InvalidArgument, fmt.Sprintf("List(%s) with a token of List(%s)", b, a))
		// Plain key order, when a was not.
		if a.Filter != "" || a.OrderBy != "" {
			_, _, err = repo.List(ctx, 1, token)
			wantCode(t, err, codes.InvalidArgument, fmt.Sprintf("unfiltered List with a token of List(%s)", a))
		}
	}
}

// testScanBound checks that a filter no index serves passes over a bounded
// number of resources per page, ending pages early with a token, and still
// lists exactly what matches.
func (s *suite[M]) testScanBound(t *testing.T) {
	if s.fx.ScanFilter.Filter == "" || s.fx.NewRepoWith == nil {
		t.Skip("Fixture.ScanFilter or Fixture.NewRepoWith is unset")
	}
	repo := s.fx.NewRepoWith(t, svcstore.WithMaxScan(10))
	byKey := s.seed(t, repo, 100)
	want := s.expected(s.fx.ScanFilter, byKey)
	if len(want) == 0 || len(want) > 10 {
		t.Fatalf("Fixture.ScanFilter keeps %d of 100 resources; want 1 to 10", len(want))
	}
	got, calls := s.listQuery(t, repo, 50, s.fx.ScanFilter.filters()...)
	if d := gocmp.Diff(want, got); d != "" {
		t.Errorf("List(50, %s) with a scan bound of 10 (-want +got):\n%s", s.fx.ScanFilter, d)
	}
	// 100 resources, fewer than 10 matching: at least 90 passed over, at
	// most 10 (in a row) per page.
	if calls < 90/10 {
		t.Errorf("List(50, %s) with a scan bound of 10 took %d calls; a page that passes over at most 10 non-matching resources needs at least 9", s.fx.ScanFilter, calls)
	}
}

// testIndexEntryCap: a resource whose values in an index, with its key,
// exceed MaxIndexEntryBytes is refused on Create and Update in every store
// (PostgreSQL's B-trees could not hold it), and nothing is stored.
func (s *suite[M]) testIndexEntryCap(t *testing.T) {
	md := s.fx.New(0).ProtoReflect().Descriptor()
	var fd protoreflect.FieldDescriptor
	for _, spec := range s.fx.Schema.Indexes {
		for p := range strings.SplitSeq(spec, ",") {
			f := md.Fields().ByName(protoreflect.Name(strings.TrimSpace(p)))
			if f != nil && !f.IsList() && (f.Kind() == protoreflect.StringKind || f.Kind() == protoreflect.BytesKind) {
				fd = f
				break
			}
		}
		if fd != nil {
			break
		}
	}
	if fd == nil {
		t.Skip("no index of the fixture has a top-level string or bytes field")
	}
	repo := s.newRepo(t)
	big := grow(s.msg(0, s.key(0)), fd, svcstore.MaxIndexEntryBytes)
	_, err := repo.Create(ctx, big)
	if status.Code(err) != codes.InvalidArgument || !strings.Contains(err.Error(), "index") {
		t.Fatalf("Create with %s of %d bytes (indexed) = %v; want InvalidArgument naming the index", fd.Name(), svcstore.MaxIndexEntryBytes, err)
	}
	if _, err := repo.Get(ctx, s.key(0)); !s.intKey && status.Code(err) != codes.NotFound {
		t.Fatalf("Get after the refused Create = %v; want NotFound", err)
	}
	stored := s.create(t, repo, s.msg(1, s.key(1)))
	grown := grow(proto.Clone(stored).(M), fd, svcstore.MaxIndexEntryBytes)
	if _, err := repo.Update(ctx, grown, &fieldmaskpb.FieldMask{Paths: []string{string(fd.Name())}}); status.Code(err) != codes.InvalidArgument {
		t.Fatalf("Update growing %s to %d bytes (indexed) = %v; want InvalidArgument", fd.Name(), svcstore.MaxIndexEntryBytes, err)
	}
	after := s.get(t, repo, s.keyOf(stored))
	if !proto.Equal(after, stored) {
		t.Fatalf("the refused Update changed the resource")
	}
	// At the cap's edge the entry fits.
	fits := grow(s.msg(2, s.key(2)), fd, svcstore.MaxIndexEntryBytes/2)
	s.create(t, repo, fits)
}
