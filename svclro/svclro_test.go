package svclro_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"net"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"cloud.google.com/go/longrunning/autogen/longrunningpb"
	"github.com/jackc/pgx/v5/pgxpool"
	"go.uber.org/goleak"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"
	"google.golang.org/grpc/test/bufconn"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/durationpb"
	"google.golang.org/protobuf/types/known/emptypb"
	"google.golang.org/protobuf/types/known/structpb"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/svcgen/protoc-gen-svc/internal/pgcluster"
	"github.com/svcgen/protoc-gen-svc/svclro"
	"github.com/svcgen/protoc-gen-svc/svcstore"
	"github.com/svcgen/protoc-gen-svc/svcstore/pgstore"
	"github.com/svcgen/protoc-gen-svc/svcstore/sqlitestore"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// backends opens a fresh repository of operations on each store.
var backends = []struct {
	name string
	open func(t testing.TB) svclro.Repository
}{
	{"memory", func(t testing.TB) svclro.Repository { return svclro.NewMemory() }},
	{"sqlite", func(t testing.TB) svclro.Repository {
		db, err := sqlitestore.Open(filepath.Join(t.TempDir(), "ops.db"))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { db.Close() })
		r, err := sqlitestore.New[*longrunningpb.Operation](context.Background(), db, svclro.Schema)
		if err != nil {
			t.Fatal(err)
		}
		return r
	}},
	{"postgres", func(t testing.TB) svclro.Repository {
		pool := pgPool(t)
		return pgRepo(t, pool, pgTable(t, pool))
	}},
}

// pgPool returns a pool on $SVC_TEST_POSTGRES_DSN; without it the test
// skips, except in CI, where it fails.
func pgPool(t testing.TB) *pgxpool.Pool {
	t.Helper()
	return pgcluster.TestPool(t)
}

// pgTable returns a fresh table name, dropped with its sequences when t ends.
func pgTable(t testing.TB, pool *pgxpool.Pool) string {
	var b [6]byte
	rand.Read(b[:])
	name := "lro_" + hex.EncodeToString(b[:])
	t.Cleanup(func() {
		for _, s := range []string{"DROP TABLE IF EXISTS " + name, "DROP SEQUENCE IF EXISTS " + name + "_version_seq", "DROP SEQUENCE IF EXISTS " + name + "_key_seq"} {
			pool.Exec(context.Background(), s)
		}
	})
	return name
}

func pgRepo(t testing.TB, pool *pgxpool.Pool, table string) *pgstore.Store[*longrunningpb.Operation] {
	st, err := pgstore.New[*longrunningpb.Operation](context.Background(), pool, svclro.Schema, pgstore.WithTable(table), svcstore.WithPageTokenKey([]byte("0123456789abcdef0123456789abcdef")))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

// serve runs svclro's Operations server on repo over bufconn and returns a
// client of it.
func serve(t testing.TB, repo svclro.Repository, opts ...svclro.ServerOption) longrunningpb.OperationsClient {
	t.Helper()
	lis := bufconn.Listen(1 << 20)
	s := grpc.NewServer()
	svclro.Register(s, repo, opts...)
	go s.Serve(lis)
	conn, err := grpc.NewClient("passthrough:///bufnet",
		grpc.WithContextDialer(func(ctx context.Context, _ string) (net.Conn, error) { return lis.DialContext(ctx) }),
		grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close(); s.Stop() })
	return longrunningpb.NewOperationsClient(conn)
}

func wantCode(t *testing.T, err error, want codes.Code) {
	t.Helper()
	if got := status.Code(err); got != want {
		t.Fatalf("error %v: code %v, want %v", err, got, want)
	}
}

func TestOperations(t *testing.T) {
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			repo := b.open(t)
			ops := serve(t, repo)

			// A done operation, its response and metadata typed.
			res := &structpb.Struct{Fields: map[string]*structpb.Value{"title": structpb.NewStringValue("Odes")}}
			md := timestamppb.New(time.Unix(1700000000, 0))
			done, err := svclro.Done(ctx, repo, res, md)
			if err != nil {
				t.Fatal(err)
			}
			if !done.GetDone() || len(done.GetName()) <= len(svclro.Collection) || done.GetName()[:len(svclro.Collection)] != svclro.Collection {
				t.Fatalf("Done = %v", done)
			}
			got, err := ops.GetOperation(ctx, &longrunningpb.GetOperationRequest{Name: done.GetName()})
			if err != nil || !proto.Equal(got, done) {
				t.Fatalf("GetOperation = %v, %v; want %v", got, err, done)
			}
			gotRes, gotMD, err := svclro.WaitFor[*structpb.Struct, *timestamppb.Timestamp](ctx, ops, got)
			if err != nil || !proto.Equal(gotRes, res) || !proto.Equal(gotMD, md) {
				t.Fatalf("WaitFor = %v, %v, %v", gotRes, gotMD, err)
			}
			_, _, err = svclro.WaitFor[*emptypb.Empty, *timestamppb.Timestamp](ctx, ops, got)
			wantCode(t, err, codes.Internal) // a response of another type

			// Two pending operations; one is cancelled.
			p1, err := svclro.Start(ctx, repo, md)
			if err != nil {
				t.Fatal(err)
			}
			p2, err := svclro.Start(ctx, repo, nil)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := ops.CancelOperation(ctx, &longrunningpb.CancelOperationRequest{Name: p2.GetName()}); err != nil {
				t.Fatal(err)
			}
			c, err := ops.GetOperation(ctx, &longrunningpb.GetOperationRequest{Name: p2.GetName()})
			if err != nil || !c.GetDone() || codes.Code(c.GetError().GetCode()) != codes.Canceled {
				t.Fatalf("cancelled operation = %v, %v", c, err)
			}
			_, err = svclro.Complete(ctx, repo, p2.GetName(), res, nil)
			wantCode(t, err, codes.FailedPrecondition)
			_, _, err = svclro.WaitFor[*structpb.Struct, *timestamppb.Timestamp](ctx, ops, c)
			wantCode(t, err, codes.Canceled)
			// Cancelling a done operation changes nothing.
			if _, err := ops.CancelOperation(ctx, &longrunningpb.CancelOperationRequest{Name: done.GetName()}); err != nil {
				t.Fatal(err)
			}
			if again, _ := ops.GetOperation(ctx, &longrunningpb.GetOperationRequest{Name: done.GetName()}); !proto.Equal(again, done) {
				t.Fatalf("cancel changed a done operation: %v", again)
			}
			_, err = ops.CancelOperation(ctx, &longrunningpb.CancelOperationRequest{Name: "operations/missing"})
			wantCode(t, err, codes.NotFound)

			// List, with the filters.
			list := func(filter string) []string {
				t.Helper()
				var names []string
				token := ""
				for {
					page, err := ops.ListOperations(ctx, &longrunningpb.ListOperationsRequest{Name: "operations", Filter: filter, PageSize: 1, PageToken: token})
					if err != nil {
						t.Fatalf("ListOperations(%q): %v", filter, err)
					}
					for _, op := range page.GetOperations() {
						names = append(names, op.GetName())
					}
					if token = page.GetNextPageToken(); token == "" {
						return names
					}
				}
			}
			all := []string{done.GetName(), p1.GetName(), p2.GetName()}
			slices.Sort(all)
			if got := list(""); !slices.Equal(got, all) {
				t.Fatalf("all operations, in name order: %v, want %v", got, all)
			}
			if got := list("done = false"); len(got) != 1 || got[0] != p1.GetName() {
				t.Fatalf("done = false: %v", got)
			}
			if got := list("done = true"); len(got) != 2 {
				t.Fatalf("done = true: %v", got)
			}
			if got := list(`name = "` + p1.GetName() + `"`); len(got) != 1 || got[0] != p1.GetName() {
				t.Fatalf("name =: %v", got)
			}
			if got := list(`name = "operations/*" AND done = true`); len(got) != 2 {
				t.Fatalf("prefix AND done: %v", got)
			}
			if got := list(`name = "operations/x AND done = true*"`); len(got) != 0 {
				t.Fatalf("AND inside a quoted name is part of the name: %v", got)
			}
			if got := list(`name = "other/*"`); len(got) != 0 {
				t.Fatalf("another prefix: %v", got)
			}
			for _, bad := range []string{"done = maybe", "metadata.x = 1", "done", `name = operations/x`, `name = "a*b*"`} {
				_, err := ops.ListOperations(ctx, &longrunningpb.ListOperationsRequest{Filter: bad})
				wantCode(t, err, codes.InvalidArgument)
			}
			_, err = ops.ListOperations(ctx, &longrunningpb.ListOperationsRequest{Name: "projects/p"})
			wantCode(t, err, codes.InvalidArgument)

			// Wait times out: the operation comes back not done.
			start := time.Now()
			w, err := ops.WaitOperation(ctx, &longrunningpb.WaitOperationRequest{Name: p1.GetName(), Timeout: durationpb.New(200 * time.Millisecond)})
			if err != nil || w.GetDone() || time.Since(start) < 200*time.Millisecond {
				t.Fatalf("WaitOperation with a timeout = %v, %v after %v", w, err, time.Since(start))
			}
			_, err = ops.WaitOperation(ctx, &longrunningpb.WaitOperationRequest{Name: p1.GetName(), Timeout: durationpb.New(-time.Second)})
			wantCode(t, err, codes.InvalidArgument)
			_, err = ops.WaitOperation(ctx, &longrunningpb.WaitOperationRequest{Name: "operations/missing"})
			wantCode(t, err, codes.NotFound)
			// The client's wait ends with the caller's deadline.
			short, cancelShort := context.WithTimeout(ctx, 300*time.Millisecond)
			_, err = svclro.Wait(short, ops, p1)
			cancelShort()
			wantCode(t, err, codes.DeadlineExceeded)

			// Completed later by another goroutine: both waits see it.
			go func() {
				time.Sleep(300 * time.Millisecond)
				svclro.SetMetadata(context.Background(), repo, p1.GetName(), timestamppb.New(time.Unix(1800000000, 0)))
				svclro.Complete(context.Background(), repo, p1.GetName(), res, nil)
			}()
			for _, opts := range [][]svclro.WaitOption{nil, {svclro.WithGetOperationOnly(), svclro.WithBackoff(svclro.Backoff{Initial: 10 * time.Millisecond, Max: 50 * time.Millisecond, Multiplier: 2})}} {
				r, m, err := svclro.WaitFor[*structpb.Struct, *timestamppb.Timestamp](ctx, ops, p1, opts...)
				if err != nil || !proto.Equal(r, res) || m.GetSeconds() != 1800000000 {
					t.Fatalf("WaitFor(%d options) = %v, %v, %v", len(opts), r, m, err)
				}
			}

			// Fail keeps a status's code and message.
			p3, _ := svclro.Start(ctx, repo, nil)
			if _, err := svclro.Fail(ctx, repo, p3.GetName(), status.Error(codes.ResourceExhausted, "quota"), nil); err != nil {
				t.Fatal(err)
			}
			_, _, err = svclro.WaitFor[*structpb.Struct, *timestamppb.Timestamp](ctx, ops, p3)
			if st := status.Convert(err); st.Code() != codes.ResourceExhausted || st.Message() != "quota" {
				t.Fatalf("failed operation: %v", err)
			}

			// Delete forgets it.
			if _, err := ops.DeleteOperation(ctx, &longrunningpb.DeleteOperationRequest{Name: p3.GetName()}); err != nil {
				t.Fatal(err)
			}
			_, err = ops.GetOperation(ctx, &longrunningpb.GetOperationRequest{Name: p3.GetName()})
			wantCode(t, err, codes.NotFound)
			_, err = ops.DeleteOperation(ctx, &longrunningpb.DeleteOperationRequest{Name: p3.GetName()})
			wantCode(t, err, codes.NotFound)
		})
	}
}

// TestReplicasOnPostgres runs two Operations servers on one table, as two
// replicas would: an operation started on one and completed by the other
// (its own store) ends the WaitOperation pending on the first, through the
// database's change feed, well before the poll interval.
func TestReplicasOnPostgres(t *testing.T) {
	pool := pgPool(t)
	table := pgTable(t, pool)
	a, b := pgRepo(t, pool, table), pgRepo(t, pool, table)
	slowPoll := svclro.WithPollBackoff(svclro.Backoff{Initial: time.Minute, Max: time.Minute, Multiplier: 1})
	opsA, opsB := serve(t, a, slowPoll), serve(t, b, slowPoll)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()

	op, err := svclro.Start(ctx, a, nil)
	if err != nil {
		t.Fatal(err)
	}
	if got, err := opsB.GetOperation(ctx, &longrunningpb.GetOperationRequest{Name: op.GetName()}); err != nil || got.GetDone() {
		t.Fatalf("replica B's GetOperation = %v, %v", got, err)
	}
	go func() {
		time.Sleep(300 * time.Millisecond)
		svclro.Complete(context.Background(), b, op.GetName(), &emptypb.Empty{}, nil)
	}()
	start := time.Now()
	got, err := opsA.WaitOperation(ctx, &longrunningpb.WaitOperationRequest{Name: op.GetName(), Timeout: durationpb.New(15 * time.Second)})
	if err != nil || !got.GetDone() {
		t.Fatalf("replica A's WaitOperation = %v, %v", got, err)
	}
	if d := time.Since(start); d > 10*time.Second {
		t.Fatalf("WaitOperation took %v: the change feed did not wake it", d)
	}
	if _, _, err := svclro.WaitFor[*emptypb.Empty, *emptypb.Empty](ctx, opsB, got); err != nil {
		t.Fatal(err)
	}
}

// TestWaitNeedsClient: a pending operation cannot be waited for without an
// Operations client; a done one can.
func TestWaitNeedsClient(t *testing.T) {
	_, err := svclro.Wait(context.Background(), nil, &longrunningpb.Operation{Name: "operations/x"})
	wantCode(t, err, codes.FailedPrecondition)
	done := &longrunningpb.Operation{Name: "operations/y", Done: true}
	if got, err := svclro.Wait(context.Background(), nil, done); err != nil || got != done {
		t.Fatalf("Wait(done) = %v, %v", got, err)
	}
}

// TestPreview: a done operation holding the response and metadata, that
// waits at once and unpacks as a stored one does.
func TestPreview(t *testing.T) {
	op, err := svclro.Preview(&structpb.Value{Kind: &structpb.Value_StringValue{StringValue: "r"}}, &emptypb.Empty{})
	if err != nil || !op.GetDone() || op.GetName() != "" {
		t.Fatalf("Preview = %v, %v", op, err)
	}
	res, _, err := svclro.WaitFor[*structpb.Value, *emptypb.Empty](context.Background(), nil, op)
	if err != nil || res.GetStringValue() != "r" {
		t.Fatalf("WaitFor(preview) = %v, %v", res, err)
	}
	if _, err := svclro.Preview(nil, nil); status.Code(err) != codes.Internal {
		t.Errorf("Preview(nil) = %v, want Internal", err)
	}
}

// TestWaitFallsBackToGet: a server without WaitOperation is polled with
// GetOperation.
func TestWaitFallsBackToGet(t *testing.T) {
	repo := svclro.NewMemory()
	lis := bufconn.Listen(1 << 20)
	s := grpc.NewServer()
	longrunningpb.RegisterOperationsServer(s, getOnly{svclro.NewServer(repo)})
	go s.Serve(lis)
	conn, err := grpc.NewClient("passthrough:///bufnet",
		grpc.WithContextDialer(func(ctx context.Context, _ string) (net.Conn, error) { return lis.DialContext(ctx) }),
		grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer func() { conn.Close(); s.Stop() }()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	op, _ := svclro.Start(ctx, repo, nil)
	go func() {
		time.Sleep(100 * time.Millisecond)
		svclro.Complete(context.Background(), repo, op.GetName(), &emptypb.Empty{}, nil)
	}()
	got, err := svclro.Wait(ctx, longrunningpb.NewOperationsClient(conn), op, svclro.WithBackoff(svclro.Backoff{Initial: 10 * time.Millisecond, Max: 20 * time.Millisecond, Multiplier: 2}))
	if err != nil || !got.GetDone() {
		t.Fatalf("Wait = %v, %v", got, err)
	}
}

// getOnly is an Operations server whose WaitOperation is Unimplemented.
type getOnly struct{ *svclro.Server }

func (getOnly) WaitOperation(context.Context, *longrunningpb.WaitOperationRequest) (*longrunningpb.Operation, error) {
	return nil, status.Error(codes.Unimplemented, "no WaitOperation")
}
