package svclro_test

import (
	"context"
	"testing"
	"time"

	"cloud.google.com/go/longrunning/autogen/longrunningpb"
	"google.golang.org/protobuf/types/known/durationpb"
	"google.golang.org/protobuf/types/known/emptypb"

	"github.com/svcgen/protoc-gen-svc/svclro"
)

// BenchmarkWaitWake measures one pending operation's round trip: Start, a
// WaitOperation over bufconn that blocks, Complete from another goroutine
// once the wait has begun, and the wait's answer. The wait is woken by the
// store's change feed (PostgreSQL: LISTEN/NOTIFY); the poll interval is a
// minute, so a poll never answers.
func BenchmarkWaitWake(b *testing.B) {
	slow := svclro.WithPollBackoff(svclro.Backoff{Initial: time.Minute, Max: time.Minute, Multiplier: 1})
	cases := append([]struct {
		name string
		open func(t testing.TB) svclro.Repository
	}{}, backends...)
	// The same memory store without its feed, polled with DefaultBackoff.
	cases = append(cases, struct {
		name string
		open func(t testing.TB) svclro.Repository
	}{"memory-polled", func(testing.TB) svclro.Repository { return noFeed{svclro.NewMemory()} }})
	for _, be := range cases {
		b.Run(be.name, func(b *testing.B) {
			repo := be.open(b)
			opts := []svclro.ServerOption{slow}
			if _, polled := repo.(noFeed); polled {
				opts = nil
			}
			ops := serve(b, repo, opts...)
			ctx := context.Background()
			for b.Loop() {
				op, err := svclro.Start(ctx, repo, nil)
				if err != nil {
					b.Fatal(err)
				}
				go func() {
					time.Sleep(time.Millisecond) // let the wait begin
					svclro.Complete(ctx, repo, op.GetName(), &emptypb.Empty{}, nil)
				}()
				got, err := ops.WaitOperation(ctx, &longrunningpb.WaitOperationRequest{Name: op.GetName(), Timeout: durationpb.New(30 * time.Second)})
				if err != nil || !got.GetDone() {
					b.Fatalf("WaitOperation = %v, %v", got, err)
				}
			}
		})
	}
}

// noFeed hides a repository's change feed.
type noFeed struct{ svclro.Repository }
