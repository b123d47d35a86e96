package svcaip_test

import (
	"context"
	"fmt"
	"os"
	"sync"
	"sync/atomic"
	"testing"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/structpb"

	"github.com/svcgen/protoc-gen-svc/internal/pgcluster"
	svcv1 "github.com/svcgen/protoc-gen-svc/svc/v1"
	"github.com/svcgen/protoc-gen-svc/svcaip"
	"github.com/svcgen/protoc-gen-svc/svcstore/pgstore"
)

// counter is a call that counts how often it is carried out and answers
// its count.
type counter struct{ n atomic.Int64 }

func (c *counter) call(context.Context) (*structpb.Value, error) {
	return structpb.NewNumberValue(float64(c.n.Add(1))), nil
}

func TestReplayOnce(t *testing.T) {
	ctx := context.Background()
	repo := svcaip.NewRequests()
	req := structpb.NewStringValue("create a book")
	var c counter
	first, err := svcaip.Replay(ctx, repo, "/lib.Library/CreateBook", "id-1", req, c.call)
	if err != nil {
		t.Fatal(err)
	}
	again, err := svcaip.Replay(ctx, repo, "/lib.Library/CreateBook", "id-1", req, c.call)
	if err != nil || !proto.Equal(first, again) || c.n.Load() != 1 {
		t.Fatalf("repetition = %v, %v after %d calls; want the first response and one call", again, err, c.n.Load())
	}
	// Another id, or the same id on another method, is another request.
	if _, err := svcaip.Replay(ctx, repo, "/lib.Library/CreateBook", "id-2", req, c.call); err != nil || c.n.Load() != 2 {
		t.Fatalf("another id: %v, %d calls", err, c.n.Load())
	}
	if _, err := svcaip.Replay(ctx, repo, "/lib.Library/DeleteBook", "id-1", req, c.call); err != nil || c.n.Load() != 3 {
		t.Fatalf("same id, another method: %v, %d calls", err, c.n.Load())
	}
	// The same id with another request is refused.
	_, err = svcaip.Replay(ctx, repo, "/lib.Library/CreateBook", "id-1", structpb.NewStringValue("another book"), c.call)
	if status.Code(err) != codes.InvalidArgument || c.n.Load() != 3 {
		t.Fatalf("same id, other request = %v (%d calls); want InvalidArgument and no call", err, c.n.Load())
	}
	// No id: carried out every time.
	for range 2 {
		if _, err := svcaip.Replay(ctx, repo, "/lib.Library/CreateBook", "", req, c.call); err != nil {
			t.Fatal(err)
		}
	}
	if c.n.Load() != 5 {
		t.Fatalf("%d calls; want 5", c.n.Load())
	}
}

func TestReplayFailureIsNotRecorded(t *testing.T) {
	ctx := context.Background()
	repo := svcaip.NewRequests()
	req := structpb.NewStringValue("x")
	calls := 0
	fail := func(context.Context) (*structpb.Value, error) {
		calls++
		return nil, status.Error(codes.Unavailable, "down")
	}
	if _, err := svcaip.Replay(ctx, repo, "/m", "r", req, fail); status.Code(err) != codes.Unavailable {
		t.Fatal(err)
	}
	var c counter
	if v, err := svcaip.Replay(ctx, repo, "/m", "r", req, c.call); err != nil || v.GetNumberValue() != 1 {
		t.Fatalf("retry after a failure = %v, %v; want it carried out", v, err)
	}
}

func TestReplayBadIDs(t *testing.T) {
	repo := svcaip.NewRequests()
	var c counter
	for _, id := range []string{"has space", "a/b", string(make([]byte, 65)), "é"} {
		if _, err := svcaip.Replay(context.Background(), repo, "/m", id, structpb.NewNullValue(), c.call); status.Code(err) != codes.InvalidArgument {
			t.Errorf("request_id %q: %v, want InvalidArgument", id, err)
		}
	}
	if c.n.Load() != 0 {
		t.Errorf("%d calls for bad ids", c.n.Load())
	}
}

// testConcurrent sends one request from 16 goroutines at once, spread over
// repos (replicas on one database): it is carried out once, and every
// sender gets its response.
func testConcurrent(t *testing.T, repos ...svcaip.Requests) {
	ctx := context.Background()
	for round := range 5 {
		var c counter
		id := fmt.Sprintf("round-%d", round)
		var wg sync.WaitGroup
		got := make([]*structpb.Value, 16)
		errs := make([]error, 16)
		for i := range got {
			wg.Add(1)
			go func() {
				defer wg.Done()
				got[i], errs[i] = svcaip.Replay(ctx, repos[i%len(repos)], "/m", id, structpb.NewStringValue("same"), c.call)
			}()
		}
		wg.Wait()
		for i := range got {
			if errs[i] != nil || got[i].GetNumberValue() != 1 {
				t.Fatalf("round %d sender %d: %v, %v; want the one response", round, i, got[i], errs[i])
			}
		}
		if c.n.Load() != 1 {
			t.Fatalf("round %d: carried out %d times", round, c.n.Load())
		}
	}
}

func TestReplayConcurrent(t *testing.T) { testConcurrent(t, svcaip.NewRequests()) }

// TestReplayReplicasOnPostgres: two stores on one PostgreSQL table, as two
// replicas: a request sent to both at once is carried out once.
func TestReplayReplicasOnPostgres(t *testing.T) {
	ctx := context.Background()
	pool := pgcluster.TestPool(t)
	table := fmt.Sprintf("svcaip_requests_%d", os.Getpid())
	t.Cleanup(func() {
		for _, stmt := range []string{"DROP TABLE IF EXISTS " + table, "DROP SEQUENCE IF EXISTS " + table + "_version_seq"} {
			pool.Exec(ctx, stmt)
		}
	})
	var repos []svcaip.Requests
	for range 2 {
		st, err := pgstore.New[*svcv1.RequestRecord](ctx, pool, svcaip.RequestsSchema, pgstore.WithTable(table))
		if err != nil {
			t.Fatal(err)
		}
		defer st.Close()
		repos = append(repos, st)
	}
	testConcurrent(t, repos...)
}
