// List filters: key prefixes, field equality, and tokens bound to them.

package storetest

import (
	"bytes"
	"fmt"
	"slices"
	"strings"
	"testing"

	gocmp "github.com/google/go-cmp/cmp"
	"google.golang.org/grpc/codes"
	"google.golang.org/protobuf/reflect/protoreflect"

	"github.com/svcgen/protoc-gen-svc/svcstore"
)

// listFiltered pages through repo with filters, checking page bounds, and
// returns the keys in the order seen.
func (s *suite[M]) listFiltered(t *testing.T, repo svcstore.Repository[M], size int, filters ...svcstore.Filter) []string {
	t.Helper()
	var keys []string
	token := ""
	for call := 0; ; call++ {
		if call > 10_000 {
			t.Fatal("filtered List never returned an empty next_page_token")
		}
		page, next, err := repo.List(ctx, size, token, filters...)
		if err != nil {
			t.Fatalf("List(%d, page %d, filters): %v", size, call, err)
		}
		if len(page) > size {
			t.Fatalf("List(%d) returned %d items", size, len(page))
		}
		if next != "" && len(page) == 0 {
			t.Fatalf("filtered List(%d) returned an empty page with a next_page_token", size)
		}
		for _, m := range page {
			keys = append(keys, s.keyOf(m))
		}
		if next == "" {
			return keys
		}
		token = next
	}
}

func (s *suite[M]) testKeyPrefixFilter(t *testing.T) {
	repo := s.newRepo(t)
	if s.intKey {
		s.seed(t, repo, 3)
		_, _, err := repo.List(ctx, 10, "", svcstore.KeyPrefix("1"))
		wantCode(t, err, codes.InvalidArgument, "List with a KeyPrefix filter on an integer key")
		return
	}
	// Three sibling collections; the middle one is listed. "a/" and "ab/"
	// share a byte prefix with "a", so a store that forgot the separator
	// would show it.
	p := s.fx.Schema.KeyPrefix
	var want []string
	i := 0
	for _, coll := range []string{"a", "a/", "ab/", "b/"} {
		for j := range 12 {
			k := fmt.Sprintf("%s%sk%03d", p, coll, j)
			if coll == "a/" {
				want = append(want, k)
			}
			s.create(t, repo, s.msg(i, k))
			i++
		}
	}
	slices.Sort(want)
	for _, size := range []int{1, 5, 12, 100} {
		got := s.listFiltered(t, repo, size, svcstore.KeyPrefix(p+"a/"))
		if d := gocmp.Diff(want, got); d != "" {
			t.Errorf("List(%d, KeyPrefix(%q)) (-want +got):\n%s", size, p+"a/", d)
		}
	}
	// A prefix nothing has, and the empty prefix (everything).
	if got := s.listFiltered(t, repo, 10, svcstore.KeyPrefix(p+"zz/")); len(got) != 0 {
		t.Errorf("List(KeyPrefix(%q)) = %v, want nothing", p+"zz/", got)
	}
	if got := s.listFiltered(t, repo, 50, svcstore.KeyPrefix("")); len(got) != i {
		t.Errorf(`List(KeyPrefix("")) = %d items, want all %d`, len(got), i)
	}
	// Two prefixes: both must hold.
	if got := s.listFiltered(t, repo, 7, svcstore.KeyPrefix(p+"a"), svcstore.KeyPrefix(p+"a/")); !slices.Equal(got, want) {
		t.Errorf("List with nested prefixes = %v, want %v", got, want)
	}
	if got := s.listFiltered(t, repo, 7, svcstore.KeyPrefix(p+"a/"), svcstore.KeyPrefix(p+"b/")); len(got) != 0 {
		t.Errorf("List with disjoint prefixes = %v, want nothing", got)
	}
}

func (s *suite[M]) testEqualFilters(t *testing.T) {
	if len(s.fx.EqualFilters) == 0 {
		t.Skip("Fixture.EqualFilters is empty")
	}
	const n = 100
	repo := s.newRepo(t)
	byKey := s.seed(t, repo, n)
	var all []string
	for k := range byKey {
		all = append(all, k)
	}
	slices.SortFunc(all, s.compareKeys)

	matching := func(filters ...EqualFilter) []string {
		var out []string
		for _, k := range all {
			ok := true
			for _, f := range filters {
				ok = ok && s.matches(t, byKey[k], f)
			}
			if ok {
				out = append(out, k)
			}
		}
		return out
	}
	var combined []svcstore.Filter
	for _, f := range s.fx.EqualFilters {
		want := matching(f)
		if len(want) == 0 || len(want) == n {
			t.Errorf("Fixture.EqualFilters: Equal(%q, %v) keeps %d of %d resources; want some but not all", f.Path, f.Value, len(want), n)
		}
		for _, size := range []int{3, 1000} {
			got := s.listFiltered(t, repo, size, svcstore.Equal(f.Path, f.Value))
			if d := gocmp.Diff(want, got); d != "" {
				t.Errorf("List(%d, Equal(%q, %v)) (-want +got):\n%s", size, f.Path, f.Value, d)
			}
		}
		combined = append(combined, svcstore.Equal(f.Path, f.Value))
	}
	want := matching(s.fx.EqualFilters...)
	if got := s.listFiltered(t, repo, 4, combined...); !slices.Equal(got, want) {
		t.Errorf("List with every Equal filter = %v, want %v", got, want)
	}
	if !s.intKey {
		// A key prefix and an Equal filter together.
		got := s.listFiltered(t, repo, 4, append(combined, svcstore.KeyPrefix(s.fx.Schema.KeyPrefix+"st-00005"))...)
		var wantP []string
		for _, k := range want {
			if strings.HasPrefix(k, s.fx.Schema.KeyPrefix+"st-00005") {
				wantP = append(wantP, k)
			}
		}
		if !slices.Equal(got, wantP) {
			t.Errorf("List with a prefix and Equal filters = %v, want %v", got, wantP)
		}
	}
}

// matches is the suite's own reading of an Equal filter.
func (s *suite[M]) matches(t *testing.T, m M, f EqualFilter) bool {
	t.Helper()
	path := resolvePath(m.ProtoReflect().Descriptor(), f.Path)
	if path == nil {
		t.Fatalf("Fixture.EqualFilters: %q is not a field path", f.Path)
	}
	r := m.ProtoReflect()
	for _, fd := range path[:len(path)-1] {
		r = r.Get(fd).Message()
	}
	got := r.Get(path[len(path)-1])
	var want protoreflect.Value
	switch v := f.Value.(type) {
	case protoreflect.Enum:
		want = protoreflect.ValueOfEnum(v.Number())
	default:
		want = protoreflect.ValueOf(v)
	}
	if b, ok := got.Interface().([]byte); ok {
		return bytes.Equal(b, want.Bytes())
	}
	return got.Interface() == want.Interface()
}

func (s *suite[M]) testInvalidFilters(t *testing.T) {
	repo := s.newRepo(t)
	s.seed(t, repo, 5)
	md := s.fx.New(0).ProtoReflect().Descriptor()
	bad := map[string]svcstore.Filter{
		"unknown field":         svcstore.Equal("no_such_field_xyz", "x"),
		"empty path":            svcstore.Equal("", "x"),
		"zero Filter":           {},
		"unknown nested field":  svcstore.Equal(s.fx.Schema.KeyField+".x", "x"),
		"value of another type": svcstore.Equal(s.fx.Schema.KeyField, struct{}{}),
		"untyped int":           svcstore.Equal(s.fx.Schema.KeyField, 1.5),
		"nil value":             svcstore.Equal(s.fx.Schema.KeyField, nil),
	}
	for i := range md.Fields().Len() {
		fd := md.Fields().Get(i)
		switch {
		case fd.IsList() || fd.IsMap():
			bad["repeated or map field "+string(fd.Name())] = svcstore.Equal(string(fd.Name()), "x")
		case fd.Message() != nil:
			bad["message field "+string(fd.Name())] = svcstore.Equal(string(fd.Name()), "x")
		}
	}
	for name, f := range bad {
		_, _, err := repo.List(ctx, 10, "", f)
		wantCode(t, err, codes.InvalidArgument, "List with "+name)
		if path, _, ok := f.Field(); ok && path != "" && err != nil && !strings.Contains(err.Error(), path) {
			t.Errorf("List with %s: error %q does not name the path %q", name, err, path)
		}
	}
}

func (s *suite[M]) testTokenBoundToFilters(t *testing.T) {
	repo := s.newRepo(t)
	s.seed(t, repo, 20)
	// Integer keys have no prefixes: filter on the key's value instead.
	filtered := []svcstore.Filter{svcstore.KeyPrefix(s.fx.Schema.KeyPrefix + "st-0000")}
	if s.intKey {
		filtered = []svcstore.Filter{svcstore.Equal(s.fx.Schema.KeyField, s.keyValue(s.key(3)))}
	}
	_, plainToken, err := repo.List(ctx, 2, "")
	if err != nil || plainToken == "" {
		t.Fatalf("List(2): token %q, %v", plainToken, err)
	}
	_, _, err = repo.List(ctx, 2, plainToken, filtered...)
	wantCode(t, err, codes.InvalidArgument, "List with filters and a token from an unfiltered listing")

	if s.intKey {
		return // one match: no second page to take a token from
	}
	_, filteredToken, err := repo.List(ctx, 2, "", filtered...)
	if err != nil || filteredToken == "" {
		t.Fatalf("filtered List(2): token %q, %v", filteredToken, err)
	}
	_, _, err = repo.List(ctx, 2, filteredToken)
	wantCode(t, err, codes.InvalidArgument, "List without filters and a token from a filtered listing")
	_, _, err = repo.List(ctx, 2, filteredToken, svcstore.KeyPrefix(s.fx.Schema.KeyPrefix+"st-000"))
	wantCode(t, err, codes.InvalidArgument, "List with other filters")
	// The same filters, in any order and repeated, keep the token valid.
	if _, _, err := repo.List(ctx, 2, filteredToken, append(filtered, filtered...)...); err != nil {
		t.Errorf("List with the same filters repeated: %v", err)
	}
}

// keyValue returns the Go value of the key field for an Equal filter.
func (s *suite[M]) keyValue(key string) any {
	m := s.fx.New(0)
	s.setKey(m, key)
	return m.ProtoReflect().Get(s.keyFD).Interface()
}
