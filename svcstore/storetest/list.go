// List: order, pagination, page sizes and page tokens.

package storetest

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"testing"

	gocmp "github.com/google/go-cmp/cmp"
	"google.golang.org/grpc/codes"
	"google.golang.org/protobuf/proto"

	"github.com/svcgen/protoc-gen-svc/svcstore"
)

func (s *suite[M]) testPagination(t *testing.T) {
	const n = 1000
	repo := s.newRepo(t)
	byKey := s.seed(t, repo, n)
	wantKeys := make([]string, 0, n)
	for k := range byKey {
		wantKeys = append(wantKeys, k)
	}
	slices.SortFunc(wantKeys, s.compareKeys)

	for _, sizes := range [][]int{{1}, {7}, {100}, {1000}, {1001}, {7, 100, 1}} {
		t.Run(fmt.Sprint("page_size=", sizes), func(t *testing.T) {
			keys, items := s.listAll(t, repo, sizes...)
			if d := gocmp.Diff(wantKeys, keys); d != "" {
				t.Fatalf("listed keys are not every key exactly once in order (-want +got):\n%s", d)
			}
			for _, m := range items {
				// proto.Equal first: diffing 1000 messages per page size is slow.
				if want := byKey[s.keyOf(m)]; !proto.Equal(want, m) {
					t.Fatalf("listed %q differs from what was stored:\n%s", s.keyOf(m), diff(want, m))
				}
			}
		})
	}
	// A page that ends exactly at the last item has no next token: the end
	// of a listing is signalled precisely, not by an extra empty page.
	_, next, err := repo.List(ctx, n, "")
	if err != nil || next != "" {
		t.Errorf("List(%d) over %d items: token %q, err %v; want no token", n, n, next, err)
	}
}

func (s *suite[M]) testPageSizes(t *testing.T) {
	const n = svcstore.MaxPageSize + 1
	repo := s.newRepo(t)
	s.seed(t, repo, n)

	page, next, err := repo.List(ctx, 0, "")
	if err != nil {
		t.Fatalf("List(0): %v", err)
	}
	if len(page) == 0 || len(page) > svcstore.DefaultPageSize || next == "" {
		t.Errorf("List(0) = %d items, token %q; want 1..%d items (the default) and a token",
			len(page), next, svcstore.DefaultPageSize)
	}

	page, next, err = repo.List(ctx, n, "")
	if err != nil {
		t.Fatalf("List(%d): %v", n, err)
	}
	if len(page) > svcstore.MaxPageSize || next == "" {
		t.Fatalf("List(%d) = %d items, token %q; want at most %d (clamped) and a token",
			n, len(page), next, svcstore.MaxPageSize)
	}
	rest, next, err := repo.List(ctx, n, next)
	if err != nil || next != "" || len(page)+len(rest) != n {
		t.Errorf("second page: %d items, token %q, err %v; want the remaining %d", len(rest), next, err, n-len(page))
	}

	for _, size := range []int{-1, -1000} {
		_, _, err := repo.List(ctx, size, "")
		wantCode(t, err, codes.InvalidArgument, fmt.Sprintf("List(%d)", size))
	}
}

func (s *suite[M]) testTokenAfterDeletedKey(t *testing.T) {
	repo := s.newRepo(t)
	s.seed(t, repo, 30)
	page, token, err := repo.List(ctx, 10, "")
	if err != nil || len(page) != 10 || token == "" {
		t.Fatalf("List(10) = %d items, token %q, err %v", len(page), token, err)
	}
	// Delete the cursor's own key and the next one: the token must still
	// resume right after the cursor's position.
	for _, k := range []string{s.keyOf(page[9]), s.key(10)} {
		if _, err := repo.Delete(ctx, k, ""); err != nil {
			t.Fatalf("Delete(%q): %v", k, err)
		}
	}
	page, _, err = repo.List(ctx, 5, token)
	if err != nil {
		t.Fatalf("List with a token whose key was deleted: %v", err)
	}
	if len(page) == 0 || s.keyOf(page[0]) != s.key(11) {
		t.Errorf("List after deleted cursor starts at %v, want %q", keysOf(s, page), s.key(11))
	}
}

func (s *suite[M]) testInvalidPageTokens(t *testing.T) {
	repo := s.newRepo(t)
	s.seed(t, repo, 20)
	_, token, err := repo.List(ctx, 5, "")
	if err != nil || token == "" {
		t.Fatalf("List(5): token %q, err %v", token, err)
	}

	bad := []string{
		"not a token",
		"!!!!",
		"AAAA",
		strings.Repeat("A", len(token)),
		token[:len(token)-1],
		token[:len(token)/2],
		token + "A",
		token + token,
	}
	// Every single-character change must be caught: tokens are
	// authenticated, not merely checksummed at the end.
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
	for i := range len(token) {
		c := alphabet[(strings.IndexByte(alphabet, token[i])+1)%len(alphabet)]
		bad = append(bad, token[:i]+string(c)+token[i+1:])
	}
	// A token from another, independent repository holding the same keys.
	other := s.newRepo(t)
	s.seed(t, other, 20)
	_, otherToken, err := other.List(ctx, 5, "")
	if err != nil || otherToken == "" {
		t.Fatalf("other repository's List(5): token %q, err %v", otherToken, err)
	}
	bad = append(bad, otherToken)

	for _, tok := range bad {
		_, _, err := repo.List(ctx, 5, tok)
		wantCode(t, err, codes.InvalidArgument, fmt.Sprintf("List with token %q", tok))
	}
	// The genuine token still works after all that.
	page, _, err := repo.List(ctx, 5, token)
	if err != nil || len(page) == 0 || s.keyOf(page[0]) != s.key(5) {
		t.Errorf("List with the genuine token = %v, %v; want to start at %q", keysOf(s, page), err, s.key(5))
	}
}

func (s *suite[M]) testListDuringInserts(t *testing.T) {
	// Pre-existing resources have even indexes; the inserter adds odd ones,
	// which land between them, and removes some of them again, while the
	// main goroutine pages through.
	const n = 400
	repo := s.newRepo(t)
	present := make([]string, n)
	for i := range n {
		present[i] = s.key(2 * i)
		s.create(t, repo, s.msg(2*i, present[i]))
	}

	stop := make(chan struct{})
	var wg sync.WaitGroup
	var once sync.Once
	halt := func() {
		once.Do(func() { close(stop) })
		wg.Wait()
	}
	defer halt() // also when listAll fails the test, so the inserter never outlives it
	wg.Add(1)
	go func() {
		defer wg.Done()
		r := rand.New(rand.NewPCG(2, 3))
		for _, j := range r.Perm(n) {
			select {
			case <-stop:
				return
			default:
			}
			k := s.key(2*j + 1)
			if _, err := repo.Create(ctx, s.msg(2*j+1, k)); err != nil {
				t.Errorf("concurrent Create(%q): %v", k, err)
				return
			}
			if j%3 == 0 {
				if _, err := repo.Delete(ctx, k, ""); err != nil {
					t.Errorf("concurrent Delete(%q): %v", k, err)
					return
				}
			}
		}
	}()

	keys, _ := s.listAll(t, repo, 7)
	halt()

	for i := 1; i < len(keys); i++ {
		if s.compareKeys(keys[i], keys[i-1]) <= 0 {
			t.Fatalf("listing during inserts returned %q after %q: duplicate or out of order", keys[i], keys[i-1])
		}
	}
	for _, k := range present {
		if _, ok := slices.BinarySearchFunc(keys, k, s.compareKeys); !ok {
			t.Errorf("listing during inserts skipped %q, present throughout", k)
		}
	}
}
