// Keys: their order, and the rules for integer keys.

package storetest

import (
	"slices"
	"strconv"
	"testing"

	gocmp "github.com/google/go-cmp/cmp"
	"google.golang.org/grpc/codes"
)

// testKeyOrder checks that List orders keys bytewise for string keys and
// numerically for integer keys (9 < 10 < 100, which byte order gets wrong).
func (s *suite[M]) testKeyOrder(t *testing.T) {
	repo := s.newRepo(t)
	var keys []string
	if s.intKey {
		keys = []string{"100", "9", "10", "1000", "99"}
	} else {
		p := s.fx.Schema.KeyPrefix
		keys = []string{p + "b", p + "a", p + "ab", p + "B", p + "a0", p + "a-"}
	}
	for i, k := range keys {
		s.create(t, repo, s.msg(i, k))
	}
	want := slices.Clone(keys)
	slices.SortFunc(want, s.compareKeys)
	got, _ := s.listAll(t, repo, 2)
	if d := gocmp.Diff(want, got); d != "" {
		t.Errorf("List order (-want +got):\n%s", d)
	}
	if s.intKey && (want[0] != "9" || want[len(want)-1] != "1000") {
		t.Fatalf("suite bug: integer keys sorted as %v", want)
	}
}

// testIntegerKeys checks key validation and server-assigned integer keys.
func (s *suite[M]) testIntegerKeys(t *testing.T) {
	if !s.intKey {
		t.Skip("string key")
	}
	repo := s.newRepo(t)
	for _, bad := range []string{"abc", "1x", " 1", "1.0", "0x10", "007", "+7", "99999999999999999999999"} {
		_, err := repo.Get(ctx, bad)
		wantCode(t, err, codes.InvalidArgument, "Get("+strconv.Quote(bad)+")")
		_, err = repo.Delete(ctx, bad, "")
		wantCode(t, err, codes.InvalidArgument, "Delete("+strconv.Quote(bad)+")")
	}
	// 0 is the unset value of an integer key.
	_, err := repo.Get(ctx, "0")
	wantCode(t, err, codes.InvalidArgument, `Get("0")`)

	// Assigned keys strictly increase and are never reused, even after the
	// latest one is deleted.
	var last int64
	assign := func(i int) string {
		t.Helper()
		k := s.keyOf(s.create(t, repo, s.msg(i, "")))
		v, err := strconv.ParseInt(k, 10, 64)
		if err != nil || v <= last {
			t.Fatalf("assigned key %q after %d; want a larger integer", k, last)
		}
		last = v
		return k
	}
	assign(0)
	k2 := assign(1)
	if _, err := repo.Delete(ctx, k2, ""); err != nil {
		t.Fatalf("Delete(%q): %v", k2, err)
	}
	assign(2)

	// An explicit key moves the assignment past it.
	explicit := strconv.FormatInt(last+100, 10)
	s.create(t, repo, s.msg(3, explicit))
	if _, err := repo.Delete(ctx, explicit, ""); err != nil {
		t.Fatalf("Delete(%q): %v", explicit, err)
	}
	before := last
	assign(4)
	if last <= before+100 {
		t.Errorf("assigned key %d after an explicit key %s; want a larger one", last, explicit)
	}
	// An explicit key below the counter is still accepted when free.
	s.create(t, repo, s.msg(5, strconv.FormatInt(before+50, 10)))
}
