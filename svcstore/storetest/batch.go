// CreateBatch: all or nothing, to writers and to readers.

package storetest

import (
	"sync"
	"testing"

	"google.golang.org/grpc/codes"
	"google.golang.org/protobuf/proto"

	"github.com/svcgen/protoc-gen-svc/svcstore"
)

func (s *suite[M]) testCreateBatch(t *testing.T) {
	repo := s.newRepo(t)
	if got, err := repo.CreateBatch(ctx, nil); err != nil || len(got) != 0 {
		t.Fatalf("CreateBatch(nil) = %d items, %v; want none, nil", len(got), err)
	}
	// A mix of explicit and server-assigned keys.
	in := []M{s.msg(0, s.key(10)), s.msg(1, ""), s.msg(2, s.key(11)), s.msg(3, "")}
	sent := make([]M, len(in))
	for i, m := range in {
		sent[i] = proto.Clone(m).(M)
	}
	got, err := repo.CreateBatch(ctx, in)
	if err != nil {
		t.Fatalf("CreateBatch: %v", err)
	}
	if len(got) != len(in) {
		t.Fatalf("CreateBatch returned %d messages, want %d", len(got), len(in))
	}
	seen := map[string]bool{}
	for i, m := range got {
		k := s.keyOf(m)
		if k == "" || seen[k] {
			t.Fatalf("CreateBatch item %d has key %q: empty or repeated", i, k)
		}
		seen[k] = true
		if want := s.keyOf(sent[i]); want != "" && k != want {
			t.Errorf("CreateBatch item %d: key %q, want %q (input order)", i, k, want)
		}
		if d := diff(without(sent[i], append(s.managed(), s.keyFD)...), without(m, append(s.managed(), s.keyFD)...)); d != "" {
			t.Errorf("CreateBatch item %d differs from what was sent (-sent +stored):\n%s", i, d)
		}
		if d := diff(m, s.get(t, repo, k)); d != "" {
			t.Errorf("Get(%q) differs from CreateBatch's result:\n%s", k, d)
		}
		// No aliasing either way.
		stored := proto.Clone(m).(M)
		scramble(in[i].ProtoReflect())
		scramble(m.ProtoReflect())
		if d := diff(stored, s.get(t, repo, k)); d != "" {
			t.Errorf("mutating CreateBatch's input or result changed %q:\n%s", k, d)
		}
	}
	keys, _ := s.listAll(t, repo, 100)
	if len(keys) != len(in) {
		t.Errorf("after CreateBatch List has %d items, want %d", len(keys), len(in))
	}
}

func (s *suite[M]) testCreateBatchAtomic(t *testing.T) {
	repo := s.newRepo(t)
	existing := s.create(t, repo, s.msg(0, s.key(0)))
	cases := map[string][]M{
		"key repeated in the batch": {s.msg(1, s.key(1)), s.msg(2, s.key(2)), s.msg(3, s.key(1))},
		"key already stored":        {s.msg(4, s.key(4)), s.msg(5, ""), s.msg(6, s.key(0))},
	}
	for name, batch := range cases {
		_, err := repo.CreateBatch(ctx, batch)
		wantCode(t, err, codes.AlreadyExists, "CreateBatch with a "+name)
	}
	var zero M
	_, err := repo.CreateBatch(ctx, []M{s.msg(7, s.key(7)), zero})
	wantCode(t, err, codes.InvalidArgument, "CreateBatch with a nil message")

	keys, _ := s.listAll(t, repo, 100)
	if len(keys) != 1 || keys[0] != s.key(0) {
		t.Errorf("after failed batches List = %v; want only %q", keys, s.key(0))
	}
	if d := diff(existing, s.get(t, repo, s.key(0))); d != "" {
		t.Errorf("a failed batch changed a stored resource:\n%s", d)
	}
	// The keys of a failed batch are free afterwards.
	if _, err := repo.CreateBatch(ctx, []M{s.msg(1, s.key(1)), s.msg(4, s.key(4))}); err != nil {
		t.Errorf("CreateBatch after failed ones: %v", err)
	}
}

// testCreateBatchVisibility lists while batches of ten are created: every
// listing, taken in one page, holds a whole number of batches.
func (s *suite[M]) testCreateBatchVisibility(t *testing.T) {
	const batches, size = 30, 10
	repo := s.newRepo(t)
	var wg sync.WaitGroup
	defer wg.Wait() // also when the test fails early
	done := make(chan struct{})
	wg.Add(1)
	go func() {
		defer wg.Done()
		defer close(done)
		for b := range batches {
			batch := make([]M, size)
			for i := range batch {
				n := b*size + i
				batch[i] = s.msg(n, s.key(n))
			}
			if _, err := repo.CreateBatch(ctx, batch); err != nil {
				t.Errorf("CreateBatch %d: %v", b, err)
				return
			}
		}
	}()
	for {
		select {
		case <-done:
			wg.Wait()
			items, _, err := repo.List(ctx, svcstore.MaxPageSize, "")
			if err != nil || len(items) != batches*size {
				t.Errorf("final List = %d items, %v; want %d", len(items), err, batches*size)
			}
			return
		default:
		}
		items, _, err := repo.List(ctx, svcstore.MaxPageSize, "")
		if err != nil {
			t.Fatalf("List: %v", err)
		}
		if len(items)%size != 0 {
			t.Fatalf("List during batch creates saw %d items: part of a batch", len(items))
		}
	}
}
