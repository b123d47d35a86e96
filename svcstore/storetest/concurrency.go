// Concurrent readers and writers, for the race detector.

package storetest

import (
	"sync"
	"testing"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/fieldmaskpb"
)

func (s *suite[M]) testConcurrentReadersWriters(t *testing.T) {
	const (
		writers = 8
		readers = 8
		rounds  = 50
	)
	repo := s.newRepo(t)
	s.seed(t, repo, 50)
	mask := &fieldmaskpb.FieldMask{Paths: []string{s.fx.MaskPath}}

	var wg sync.WaitGroup
	final := make([]map[string]M, writers)
	for w := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			mine := map[string]M{}
			for r := range rounds {
				i := 1000 + w*rounds + r
				k := s.key(i)
				got, err := repo.Create(ctx, s.msg(i, k))
				if err != nil {
					t.Errorf("writer %d: Create(%q): %v", w, k, err)
					return
				}
				s.fx.Mutate(got)
				if got, err = repo.Update(ctx, got, mask); err != nil {
					t.Errorf("writer %d: Update(%q): %v", w, k, err)
					return
				}
				mine[k] = got
				if r%2 == 1 {
					if _, err := repo.Delete(ctx, k, s.etagOf(got)); err != nil {
						t.Errorf("writer %d: Delete(%q): %v", w, k, err)
						return
					}
					delete(mine, k)
				}
			}
			final[w] = mine
		}()
	}
	for rd := range readers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for r := range rounds {
				k := s.key(1000 + ((rd*7 + r*13) % (writers * rounds)))
				if _, err := repo.Get(ctx, k); err != nil && status.Code(err) != codes.NotFound {
					t.Errorf("reader %d: Get(%q): %v", rd, k, err)
					return
				}
				if _, err := repo.Get(ctx, s.key(r%50)); err != nil {
					t.Errorf("reader %d: Get(%q) of a seeded key: %v", rd, s.key(r%50), err)
					return
				}
				if r%10 == 0 {
					page, tok, err := repo.List(ctx, 25, "")
					for err == nil && tok != "" && len(page) > 0 {
						page, tok, err = repo.List(ctx, 25, tok)
					}
					if err != nil {
						t.Errorf("reader %d: List: %v", rd, err)
						return
					}
				}
			}
		}()
	}
	wg.Wait()
	if t.Failed() {
		return
	}
	for _, mine := range final {
		for k, want := range mine {
			if d := diff(want, s.get(t, repo, k)); d != "" {
				t.Errorf("%q after concurrent writes (-want +got):\n%s", k, d)
			}
		}
	}
}
