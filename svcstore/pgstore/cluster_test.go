package pgstore_test

// Tests on PostgreSQL servers the test builds itself (pgcluster.NewCluster): a
// primary with a streaming standby, failover, read replicas, pgbouncer.
// CI runs them; elsewhere SVC_TEST_PG_CLUSTER=1 does.

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"

	"github.com/svcgen/protoc-gen-svc/internal/pgcluster"
	"github.com/svcgen/protoc-gen-svc/svcstore"
	"github.com/svcgen/protoc-gen-svc/svcstore/internal/fixtures"
	"github.com/svcgen/protoc-gen-svc/svcstore/internal/testpb"
	"github.com/svcgen/protoc-gen-svc/svcstore/pgstore"
)

// TestFailover: writers create continuously through a multi-host DSN
// (target_session_attrs=read-write) while the primary's postmaster is
// killed with SIGKILL and the standby promoted. With a synchronous standby
// every acknowledged create is on the new primary, exactly once; with an
// asynchronous one the test reports what was lost. Writes in the window
// fail with Unavailable, a watch ends with Unavailable, and the store
// writes again on the new primary without being reopened.
func TestFailover(t *testing.T) {
	for _, syncStandby := range []bool{true, false} {
		t.Run(fmt.Sprint("sync=", syncStandby), func(t *testing.T) {
			c := pgcluster.NewCluster(t, pgcluster.ClusterOptions{Standby: true, Sync: syncStandby})
			pool := pgcluster.ConnectPool(t, c.MultiHostDSN("read-write", c.Primary, c.Standby))
			st, err := pgstore.New[*testpb.Book](ctx, pool, fixtures.BookSchema, pgstore.WithTable("books"))
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { st.Close() })

			wctx, cancelWatch := context.WithCancel(ctx)
			defer cancelWatch()
			changes, err := st.Watch(wctx)
			if err != nil {
				t.Fatal(err)
			}
			watchEnd := make(chan error, 1)
			go func() {
				for _, err := range changes {
					if err != nil {
						watchEnd <- err
						return
					}
				}
				watchEnd <- nil
			}()

			var (
				mu        sync.Mutex
				acked     = map[string]string{} // key: title
				failures  = map[codes.Code]int{}
				promoted  atomic.Int64 // unix nanos when the standby accepted writes; 0 before
				firstAck  atomic.Int64 // unix nanos of the first ack after promotion
				stop      = make(chan struct{})
				wg        sync.WaitGroup
				ackBefore atomic.Int64
			)
			for w := range 8 {
				wg.Add(1)
				go func() {
					defer wg.Done()
					for i := 0; ; i++ {
						select {
						case <-stop:
							return
						default:
						}
						title := fmt.Sprintf("w%d-%d", w, i)
						cctx, cancel := context.WithTimeout(ctx, 3*time.Second)
						b, err := st.Create(cctx, &testpb.Book{Title: title, Author: "a"})
						cancel()
						mu.Lock()
						if err != nil {
							failures[status.Code(err)]++
							mu.Unlock()
							time.Sleep(20 * time.Millisecond)
							continue
						}
						acked[b.Name] = title
						mu.Unlock()
						if promoted.Load() == 0 {
							ackBefore.Add(1)
						} else {
							firstAck.CompareAndSwap(0, time.Now().UnixNano())
						}
					}
				}()
			}
			time.Sleep(1500 * time.Millisecond)
			if ackBefore.Load() == 0 {
				t.Fatal("no create acknowledged before the failover")
			}
			killed := time.Now()
			c.Primary.Kill()
			c.Promote(c.Standby)
			promoted.Store(time.Now().UnixNano())
			deadline := time.Now().Add(20 * time.Second)
			for firstAck.Load() == 0 && time.Now().Before(deadline) {
				time.Sleep(50 * time.Millisecond)
			}
			time.Sleep(500 * time.Millisecond) // writes go on on the new primary
			close(stop)
			wg.Wait()
			if firstAck.Load() == 0 {
				t.Fatalf("no create acknowledged within 20 s of the promotion; failures %v", failures)
			}

			// Every failure is Unavailable (or the caller's deadline), never
			// Internal or a driver's text.
			for code, n := range failures {
				if code != codes.Unavailable && code != codes.DeadlineExceeded {
					t.Errorf("%d creates failed with %v during the failover; want Unavailable", n, code)
				}
			}
			select {
			case err := <-watchEnd:
				if status.Code(err) != codes.Unavailable {
					t.Errorf("the watch across the failover ended with %v; want Unavailable", err)
				}
			case <-time.After(10 * time.Second):
				t.Error("the watch did not end when its primary died")
			}

			// What the new primary holds.
			direct := c.Standby.Pool(t)
			stored := map[string]string{}
			rows, err := direct.Query(ctx, "SELECT resource_key FROM books")
			if err != nil {
				t.Fatal(err)
			}
			for rows.Next() {
				var k string
				if err := rows.Scan(&k); err != nil {
					t.Fatal(err)
				}
				stored[k] = ""
			}
			rows.Close()
			lost := 0
			for k := range acked {
				if _, ok := stored[k]; !ok {
					lost++
				}
			}
			titles := map[string]int{}
			for k := range stored {
				b, err := st.Get(ctx, k)
				if err != nil {
					t.Fatal(err)
				}
				titles[b.Title]++
			}
			for title, n := range titles {
				if n > 1 {
					t.Errorf("title %q stored %d times: a create was applied twice", title, n)
				}
			}
			window := time.Duration(firstAck.Load() - killed.UnixNano())
			t.Logf("sync=%v: %d creates acknowledged, %d failed (%v), %d acknowledged creates missing on the new primary; %v from the kill to the first acknowledged create (promotion took %v)",
				syncStandby, len(acked), sum(failures), failures, lost, window.Round(time.Millisecond),
				time.Duration(promoted.Load()-killed.UnixNano()).Round(time.Millisecond))
			if syncStandby && lost > 0 {
				t.Errorf("%d acknowledged creates lost with a synchronous standby", lost)
			}

			// A new watch runs on the new primary.
			w2ctx, cancel2 := context.WithTimeout(ctx, 10*time.Second)
			defer cancel2()
			changes2, err := st.Watch(w2ctx)
			if err != nil {
				t.Fatalf("Watch after the failover: %v", err)
			}
			created, err := st.Create(ctx, &testpb.Book{Title: "after"})
			if err != nil {
				t.Fatal(err)
			}
			for ch, err := range changes2 {
				if err != nil {
					t.Fatalf("watch after the failover: %v", err)
				}
				if ch.Key == created.Name {
					break
				}
			}
		})
	}
}

func sum(m map[codes.Code]int) int {
	n := 0
	for _, v := range m {
		n += v
	}
	return n
}

// TestReadReplica: with WithReadPool on a standby that replays 1 s late,
// Get and List answer from the standby (a fresh create is not there yet),
// svcstore.ReadFresh reads the primary (read your writes), and Update and
// Delete, which read before they write, act on the primary's state.
func TestReadReplica(t *testing.T) {
	c := pgcluster.NewCluster(t, pgcluster.ClusterOptions{Standby: true, ApplyDelay: time.Second})
	primary := c.Primary.Pool(t)
	standby := pgcluster.ConnectPool(t, c.MultiHostDSN("standby", c.Standby))
	st, err := pgstore.New[*testpb.Book](ctx, primary, fixtures.BookSchema, pgstore.WithTable("books"), pgstore.WithReadPool(standby))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	// The table reaches the standby after the delay.
	waitFor(t, func() bool { _, _, err := st.List(ctx, 1, ""); return err == nil })

	b, err := st.Create(ctx, &testpb.Book{Title: "fresh"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := st.Get(ctx, b.Name); status.Code(err) != codes.NotFound {
		t.Fatalf("Get right after Create through the read pool = %v; want NotFound (the standby replays 1 s late)", err)
	}
	if page, _, err := st.List(ctx, 10, ""); err != nil || len(page) != 0 {
		t.Fatalf("List right after Create through the read pool = %d items, %v; want none yet", len(page), err)
	}
	if got, err := st.Get(svcstore.ReadFresh(ctx), b.Name); err != nil || got.Title != "fresh" {
		t.Fatalf("Get with ReadFresh = %v, %v; want the new book from the primary", got, err)
	}
	b.Title = "updated"
	if _, err := st.Update(ctx, b, nil); err != nil {
		t.Fatalf("Update of a book the standby has not replayed yet: %v", err)
	}
	waitFor(t, func() bool { got, err := st.Get(ctx, b.Name); return err == nil && got.Title == "updated" })
	var standbyReads int
	if err := standby.QueryRow(ctx, "SELECT pg_is_in_recovery()::int").Scan(&standbyReads); err != nil || standbyReads != 1 {
		t.Fatalf("the read pool is not on a standby: %v", err)
	}
}

func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not reached within 15 s")
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// TestContractThroughPgbouncer runs the store contract suite through
// pgbouncer in transaction mode: pgx in exec mode (no named prepared
// statements, which pgbouncer before 1.21 cannot keep), Migrate's
// transaction-scoped lock, and the change feed on a direct pool.
func TestContractThroughPgbouncer(t *testing.T) {
	c := pgcluster.NewCluster(t, pgcluster.ClusterOptions{})
	bounced := pgcluster.ConnectPool(t, c.Bouncer(c.Primary, "exec"))
	direct := c.Primary.Pool(t)
	var tables atomic.Int64
	fixtures.RunContract(t, fixtures.Openers{
		Book:    bouncedOpener[*testpb.Book](bounced, direct, &tables),
		Ticket:  bouncedOpener[*testpb.Ticket](bounced, direct, &tables),
		Counter: bouncedOpener[*testpb.Counter](bounced, direct, &tables),
		Widget:  bouncedOpener[*testpb.Widget](bounced, direct, &tables),
	})
}

func bouncedOpener[M proto.Message](bounced, direct *pgxpool.Pool, tables *atomic.Int64) func(*testing.T, svcstore.Schema, ...svcstore.Option) svcstore.Repository[M] {
	return func(t *testing.T, s svcstore.Schema, opts ...svcstore.Option) svcstore.Repository[M] {
		t.Helper()
		name := fmt.Sprintf("t%d", tables.Add(1))
		st, err := pgstore.New[M](ctx, bounced, s, append([]svcstore.Option{pgstore.WithTable(name), pgstore.WithListenPool(direct)}, opts...)...)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { st.Close() })
		return st
	}
}

// BenchmarkReadReplica: Gets from 16 goroutines through a store reading
// the primary, and through one reading a streaming standby
// (WithReadPool), side by side in one run:
//
//	SVC_TEST_PG_CLUSTER=1 go test -run '^$' -bench ReadReplica -benchtime 3s -count 3 ./svcstore/pgstore/
//
// Both servers run on this machine, so the standby adds no CPU: the ratio
// shows what routing reads costs, not what a second machine would add.
func BenchmarkReadReplica(b *testing.B) {
	c := pgcluster.NewCluster(b, pgcluster.ClusterOptions{Standby: true})
	primary := c.Primary.Pool(b)
	standby := pgcluster.ConnectPool(b, c.MultiHostDSN("standby", c.Standby))
	writer, err := pgstore.New[*testpb.Book](ctx, primary, fixtures.BookSchema, pgstore.WithTable("books"))
	if err != nil {
		b.Fatal(err)
	}
	defer writer.Close()
	var keys []string
	for i := range 200 {
		book, err := writer.Create(ctx, fixtures.PlanBook(i))
		if err != nil {
			b.Fatal(err)
		}
		keys = append(keys, book.Name)
	}
	replica, err := pgstore.New[*testpb.Book](ctx, primary, fixtures.BookSchema, pgstore.WithTable("books"), pgstore.WithReadPool(standby))
	if err != nil {
		b.Fatal(err)
	}
	defer replica.Close()
	// Every book has reached the standby.
	for {
		if _, err := replica.Get(ctx, keys[len(keys)-1]); err == nil {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	for _, tc := range []struct {
		name  string
		store *pgstore.Store[*testpb.Book]
	}{{"reads=primary", writer}, {"reads=standby", replica}} {
		b.Run(tc.name, func(b *testing.B) {
			b.SetParallelism(8)
			var n atomic.Int64
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					i := n.Add(1)
					if _, err := tc.store.Get(ctx, keys[int(i)%len(keys)]); err != nil {
						b.Error(err)
						return
					}
				}
			})
		})
	}
}
