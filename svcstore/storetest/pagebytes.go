// Byte-bounded pages and the key size cap.

package storetest

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	gocmp "github.com/google/go-cmp/cmp"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"

	"github.com/svcgen/protoc-gen-svc/svcstore"
)

// mib is the size of the big resources: two of them exceed the default
// page byte budget, as each is under it.
const mib = 1 << 20

// itemCost is what svcstore documents a page item to cost: its encoded
// size, its length prefix and a two-byte field tag.
func itemCost(m proto.Message) int { return 2 + protowire.SizeBytes(proto.Size(m)) }

func pageCost[M proto.Message](page []M) int {
	n := 0
	for _, m := range page {
		n += itemCost(m)
	}
	return n
}

// padField returns the field the byte-budget subtests grow resources
// through: a top-level singular string or bytes field other than the key
// and etag, not indexed and, with avoidFilters, not under a path of
// fx.EqualFilters.
func (s *suite[M]) padField(t *testing.T, avoidFilters bool) protoreflect.FieldDescriptor {
	t.Helper()
	fields := s.fx.New(0).ProtoReflect().Descriptor().Fields()
	for i := range fields.Len() {
		fd := fields.Get(i)
		if fd.Cardinality() == protoreflect.Repeated || fd == s.keyFD || fd == s.etagFD ||
			fd.Kind() != protoreflect.StringKind && fd.Kind() != protoreflect.BytesKind {
			continue
		}
		// An indexed field holds a bounded value (MaxIndexEntryBytes).
		if slices.ContainsFunc(s.fx.Schema.Indexes, func(spec string) bool {
			return slices.ContainsFunc(strings.Split(spec, ","), func(p string) bool {
				return strings.Split(strings.TrimSpace(p), ".")[0] == string(fd.Name())
			})
		}) {
			continue
		}
		if avoidFilters && slices.ContainsFunc(s.fx.EqualFilters, func(f EqualFilter) bool {
			return strings.Split(f.Path, ".")[0] == string(fd.Name())
		}) {
			continue
		}
		return fd
	}
	t.Skipf("%s has no singular string or bytes field to grow resources through", s.typeName)
	return nil
}

// grow sets fd of m to n bytes.
func grow[M proto.Message](m M, fd protoreflect.FieldDescriptor, n int) M {
	if fd.Kind() == protoreflect.BytesKind {
		m.ProtoReflect().Set(fd, protoreflect.ValueOfBytes(make([]byte, n)))
	} else {
		m.ProtoReflect().Set(fd, protoreflect.ValueOfString(strings.Repeat("x", n)))
	}
	return m
}

// listPages pages through repo with page size size and filters, checking
// every page against the byte budget: within it unless the page holds a
// single item, and, when a page ends before its page size with more to
// come, only because the next page's first item would not have fitted. It
// returns the pages.
func (s *suite[M]) listPages(t *testing.T, repo svcstore.Repository[M], budget, size int, filters ...svcstore.Filter) [][]M {
	t.Helper()
	limit := size
	if limit == 0 {
		limit = svcstore.DefaultPageSize
	}
	limit = min(limit, svcstore.MaxPageSize)
	var pages [][]M
	token := ""
	for call := 0; ; call++ {
		if call > 10_000 {
			t.Fatal("List never returned an empty next_page_token")
		}
		page, next, err := repo.List(ctx, size, token, filters...)
		if err != nil {
			t.Fatalf("List(%d, page %d): %v", size, call, err)
		}
		if len(page) == 0 && next != "" {
			t.Fatalf("List(%d, page %d) returned an empty page with a next_page_token", size, call)
		}
		if cost := pageCost(page); len(page) > 1 && cost > budget {
			t.Fatalf("List(%d, page %d) returned %d items costing %d bytes, over the budget of %d: %v",
				size, call, len(page), cost, budget, keysOf(s, page))
		}
		if len(page) > limit {
			t.Fatalf("List(%d, page %d) returned %d items, more than %d", size, call, len(page), limit)
		}
		if n := len(pages); n > 0 && len(pages[n-1]) < limit && len(page) > 0 {
			prev := pages[n-1]
			if pageCost(prev)+itemCost(page[0]) <= budget {
				t.Fatalf("page %d ended after %d items (%d bytes) although the next, %q (%d bytes), fitted in the budget of %d",
					n-1, len(prev), pageCost(prev), s.keyOf(page[0]), itemCost(page[0]), budget)
			}
		}
		pages = append(pages, page)
		if next == "" {
			return pages
		}
		token = next
	}
}

// flatKeys returns the keys of pages in order.
func (s *suite[M]) flatKeys(pages [][]M) []string {
	var keys []string
	for _, p := range pages {
		keys = append(keys, keysOf(s, p)...)
	}
	return keys
}

// seedSized stores resources i = 0..n-1 with keys key(i), those named in
// big grown to big[i] bytes through fd, and returns the keys in key order.
func (s *suite[M]) seedSized(t *testing.T, repo svcstore.Repository[M], n int, fd protoreflect.FieldDescriptor, big map[int]int) []string {
	t.Helper()
	keys := make([]string, n)
	for i := range n {
		m := s.msg(i, s.key(i))
		if size, ok := big[i]; ok {
			grow(m, fd, size)
		}
		keys[i] = s.keyOf(s.create(t, repo, m))
	}
	slices.SortFunc(keys, s.compareKeys)
	return keys
}

// testPageBytes is the case of issue 11: two resources of 3 MiB each, next
// to each other, make a default page of 6 MiB, more than a gRPC client
// accepts by default. Pages must end early instead, every resource coming
// once, in order.
func (s *suite[M]) testPageBytes(t *testing.T) {
	fd := s.padField(t, false)
	repo := s.newRepo(t)
	want := s.seedSized(t, repo, 12, fd, map[int]int{3: 3 * mib, 4: 3 * mib})
	for _, size := range []int{0, 1, 5, svcstore.MaxPageSize} {
		t.Run(fmt.Sprint("page_size=", size), func(t *testing.T) {
			pages := s.listPages(t, repo, svcstore.DefaultMaxPageBytes, size)
			if d := gocmp.Diff(want, s.flatKeys(pages)); d != "" {
				t.Fatalf("listed keys are not every key once in order (-want +got):\n%s", d)
			}
			if size != 1 && len(pages) < 2 {
				t.Fatalf("one page of %d bytes: the two big resources were not split", pageCost(pages[0]))
			}
			for _, p := range pages {
				for _, m := range p {
					if k := s.keyOf(m); (k == want[3] || k == want[4]) && proto.Size(m) < 3*mib {
						t.Fatalf("%q came back with %d bytes, want over 3 MiB", k, proto.Size(m))
					}
				}
			}
		})
	}
}

// testPageBytesOversized: a resource above the whole budget is returned
// alone (the server's send limit then decides), and the pages around it
// are unaffected.
func (s *suite[M]) testPageBytesOversized(t *testing.T) {
	fd := s.padField(t, false)
	repo := s.newRepo(t)
	want := s.seedSized(t, repo, 5, fd, map[int]int{2: svcstore.DefaultMaxPageBytes + 1})
	pages := s.listPages(t, repo, svcstore.DefaultMaxPageBytes, 0)
	got := make([][]string, len(pages))
	for i, p := range pages {
		got[i] = keysOf(s, p)
	}
	if d := gocmp.Diff([][]string{want[:2], want[2:3], want[3:]}, got); d != "" {
		t.Fatalf("pages around a resource above the budget (-want +got):\n%s", d)
	}
}

// testPageBytesCustom: WithMaxPageBytes sets the budget, and a page
// token works with any page size afterwards.
func (s *suite[M]) testPageBytesCustom(t *testing.T) {
	if s.fx.NewRepoWith == nil {
		t.Skip("Fixture.NewRepoWith is not set")
	}
	fd := s.padField(t, false)
	const budget = 10_000
	repo := s.fx.NewRepoWith(t, svcstore.WithMaxPageBytes(budget))
	big := map[int]int{}
	for i := range 40 {
		big[i] = 1000 + 150*(i%7) // 3 to 8 resources a page
	}
	want := s.seedSized(t, repo, 40, fd, big)
	for _, size := range []int{0, 1, 3, 7, svcstore.MaxPageSize} {
		t.Run(fmt.Sprint("page_size=", size), func(t *testing.T) {
			pages := s.listPages(t, repo, budget, size)
			if d := gocmp.Diff(want, s.flatKeys(pages)); d != "" {
				t.Fatalf("listed keys (-want +got):\n%s", d)
			}
		})
	}
}

// testPageBytesFilters: byte limits combined with a key prefix and Equal
// filters: a filtered page counts only the resources it returns, and
// large resources the filters skip do not end it.
func (s *suite[M]) testPageBytesFilters(t *testing.T) {
	if s.fx.NewRepoWith == nil {
		t.Skip("Fixture.NewRepoWith is not set")
	}
	const n, budget = 100, 10_000
	fd := s.padField(t, true)
	repo := s.fx.NewRepoWith(t, svcstore.WithMaxPageBytes(budget))
	big := map[int]int{}
	for i := range n {
		big[i] = 800 + 100*(i%5)
	}
	all := s.seedSized(t, repo, n, fd, big)

	var filters [][]svcstore.Filter
	if !s.intKey {
		filters = append(filters, []svcstore.Filter{svcstore.KeyPrefix(s.fx.Schema.KeyPrefix + "st-00001")})
	}
	for _, f := range s.fx.EqualFilters {
		filters = append(filters, []svcstore.Filter{svcstore.Equal(f.Path, f.Value)})
		if !s.intKey {
			filters = append(filters, []svcstore.Filter{svcstore.KeyPrefix(s.fx.Schema.KeyPrefix + "st-0000"), svcstore.Equal(f.Path, f.Value)})
		}
	}
	if len(filters) == 0 {
		t.Skip("no filters apply: an integer key and no Fixture.EqualFilters")
	}
	for i, fs := range filters {
		// The oracle: every key, listed one at a time with the filters
		// (pages of one item are never limited by bytes), is what each
		// byte-limited listing must return.
		var want []string
		for _, p := range s.listPages(t, repo, budget, 1, fs...) {
			want = append(want, keysOf(s, p)...)
		}
		if len(want) == len(all) {
			t.Fatalf("filter set %d keeps all %d resources; the test needs filters that skip some", i, len(all))
		}
		for _, size := range []int{0, 4, svcstore.MaxPageSize} {
			pages := s.listPages(t, repo, budget, size, fs...)
			if d := gocmp.Diff(want, s.flatKeys(pages)); d != "" {
				t.Fatalf("filter set %d, page size %d: listed keys (-want +got):\n%s", i, size, d)
			}
		}
	}
}

// testKeySizeCap: keys up to MaxKeyBytes are accepted and make page tokens
// that work; longer ones are refused on Create and CreateBatch.
func (s *suite[M]) testKeySizeCap(t *testing.T) {
	repo := s.newRepo(t)
	if s.intKey {
		// Integer keys are at most 20 digits: the largest value works.
		largest := strconv.FormatInt(1<<63-1, 10)
		if s.keyFD.Kind() == protoreflect.Int32Kind || s.keyFD.Kind() == protoreflect.Sint32Kind ||
			s.keyFD.Kind() == protoreflect.Sfixed32Kind || s.keyFD.Kind() == protoreflect.Uint32Kind ||
			s.keyFD.Kind() == protoreflect.Fixed32Kind {
			largest = strconv.FormatInt(1<<31-1, 10)
		}
		s.create(t, repo, s.msg(0, largest))
		s.get(t, repo, largest)
		return
	}
	// key(0) < atLimit < key(1): the token of a page ending at atLimit
	// carries the longest key there is.
	atLimit := s.key(0) + strings.Repeat("~", svcstore.MaxKeyBytes-len(s.key(0)))
	for i, k := range []string{s.key(0), atLimit, s.key(1)} {
		s.create(t, repo, s.msg(i, k))
	}
	s.get(t, repo, atLimit)
	page, token, err := repo.List(ctx, 2, "")
	if err != nil || len(page) != 2 || s.keyOf(page[1]) != atLimit || token == "" {
		t.Fatalf("List(2) = %d items, token %q, err %v; want to end at the longest key, with a token", len(page), token, err)
	}
	// A token embeds its page's last key: at the cap it must still be
	// small enough to send back in any request (under 4 KiB).
	if len(token) > 4096 {
		t.Errorf("page token after a key of %d bytes has %d bytes, want at most 4096", len(atLimit), len(token))
	}
	page, next, err := repo.List(ctx, 2, token)
	if err != nil || len(page) != 1 || s.keyOf(page[0]) != s.key(1) || next != "" {
		t.Fatalf("List after the longest key = %v, token %q, err %v; want [%q] and no token", keysOf(s, page), next, err, s.key(1))
	}

	for _, n := range []int{svcstore.MaxKeyBytes + 1, 7 * mib / 2} {
		tooLong := s.key(2) + strings.Repeat("~", n-len(s.key(2)))
		_, err := repo.Create(ctx, s.msg(2, tooLong))
		s.wantKeyTooLong(t, err, fmt.Sprintf("Create with a key of %d bytes", n))
		_, err = repo.CreateBatch(ctx, []M{s.msg(3, s.key(3)), s.msg(2, tooLong)})
		s.wantKeyTooLong(t, err, fmt.Sprintf("CreateBatch with a key of %d bytes", n))
	}
	if _, err := repo.Get(ctx, s.key(3)); status.Code(err) != codes.NotFound {
		t.Errorf("Get(%q) after a refused CreateBatch: %v, want NotFound", s.key(3), err)
	}

	// Keys a client sends but the store never took come back in error
	// messages cut short: a status message travels in the trailers, which
	// a client reads only up to 16 KiB.
	huge := s.key(4) + strings.Repeat("~", 3*mib)
	_, getErr := repo.Get(ctx, huge)
	_, deleteErr := repo.Delete(ctx, huge, "")
	_, updateErr := repo.Update(ctx, s.msg(4, huge), nil)
	for call, err := range map[string]error{"Get": getErr, "Delete": deleteErr, "Update": updateErr} {
		wantCode(t, err, codes.NotFound, call+" of a 3 MiB key")
		if msg := status.Convert(err).Message(); len(msg) > 500 || !strings.Contains(msg, "bytes") {
			t.Errorf("%s of a 3 MiB key: message of %d bytes (%.80q…); want the key cut short, with its length", call, len(msg), msg)
		}
	}
}

// wantKeyTooLong checks the refusal of an over-long key: InvalidArgument,
// naming the key field and the limit, and not quoting the key.
func (s *suite[M]) wantKeyTooLong(t *testing.T, err error, call string) {
	t.Helper()
	wantCode(t, err, codes.InvalidArgument, call)
	msg := status.Convert(err).Message()
	if !strings.Contains(msg, string(s.keyFD.Name())) || !strings.Contains(msg, strconv.Itoa(svcstore.MaxKeyBytes)) || len(msg) > 500 {
		t.Errorf("%s: message %q; want one naming %s and the limit %d, without the key", call, msg, s.keyFD.Name(), svcstore.MaxKeyBytes)
	}
}

// testPageBytesExact checks that a store counts items as documented, to the
// byte: nine resources of equal cost c (the same content and clock, keys
// and etags of one length) are listed under budgets of 5c, where five fit,
// and 6c-1, where the sixth would be one byte too many. A store counting
// too few bytes puts six on a page; one counting too many puts four.
func (s *suite[M]) testPageBytesExact(t *testing.T) {
	if s.fx.NewRepoWith == nil {
		t.Skip("Fixture.NewRepoWith is not set")
	}
	fd := s.padField(t, false)
	clock := svcstore.WithClock(func() time.Time { return time.Unix(1_700_000_000, 123_456_789) })
	item := func(i int) M { return grow(s.msg(0, s.key(i)), fd, 1000) }

	probe := s.fx.NewRepoWith(t, clock)
	s.create(t, probe, item(0))
	page, _, err := probe.List(ctx, 1, "")
	if err != nil || len(page) != 1 {
		t.Fatalf("List(1) = %d items, %v", len(page), err)
	}
	c := itemCost(page[0])

	for _, tc := range []struct {
		budget int
		want   []int // page lengths
	}{{5 * c, []int{5, 4}}, {6*c - 1, []int{5, 4}}, {c - 1, []int{1, 1, 1, 1, 1, 1, 1, 1, 1}}} {
		repo := s.fx.NewRepoWith(t, clock, svcstore.WithMaxPageBytes(tc.budget))
		for i := range 9 {
			s.create(t, repo, item(i))
		}
		pages := s.listPages(t, repo, tc.budget, 0)
		var got []int
		for _, p := range pages {
			got = append(got, len(p))
			for _, m := range p {
				if itemCost(m) != c {
					t.Fatalf("%q costs %d bytes, want %d like the others", s.keyOf(m), itemCost(m), c)
				}
			}
		}
		if !slices.Equal(got, tc.want) {
			t.Errorf("items of %d bytes each under a budget of %d: pages of %v, want %v", c, tc.budget, got, tc.want)
		}
	}
}
