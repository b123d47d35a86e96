package shop_test

import (
	"bufio"
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/svcgen/protoc-gen-svc/internal/prodtest"
	"github.com/svcgen/protoc-gen-svc/internal/testenv"

	"github.com/jackc/pgx/v5"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"

	shopv1 "github.com/svcgen/protoc-gen-svc/examples/shop/gen/shop/v1"
)

// buildShopd builds shopd once per test into a temporary directory.
func buildShopd(t *testing.T) string {
	t.Helper()
	if runtime.GOOS == "windows" {
		t.Skip("sends signals")
	}
	testenv.Slow(t, "builds and starts shopd processes")
	bin := t.TempDir()
	out, err := exec.Command("go", "build", "-o", bin+string(filepath.Separator), "./cmd/shopd").CombinedOutput()
	if err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return filepath.Join(bin, "shopd")
}

// shopd is a running shopd process.
type shopd struct {
	cmd    *exec.Cmd
	addr   string
	logs   *prodtest.LogBuffer
	exited chan error
	waited bool // exited has been received from
	conn   *grpc.ClientConn
}

// startShopd starts shopd with args on a free port and connects to it.
// The process is killed when t ends, if still running.
func startShopd(t *testing.T, bin string, args ...string) *shopd {
	t.Helper()
	s := &shopd{logs: &prodtest.LogBuffer{}, exited: make(chan error, 1)}
	s.cmd = exec.Command(bin, append([]string{"--listen", "127.0.0.1:0"}, args...)...)
	stdout, err := s.cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	s.cmd.Stderr = s.logs
	if err := s.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	first := make(chan string, 1)
	go func() {
		lines := bufio.NewScanner(stdout)
		lines.Scan()
		first <- lines.Text()
		io.Copy(io.Discard, stdout)
		s.exited <- s.cmd.Wait()
	}()
	t.Cleanup(func() {
		if s.conn != nil {
			s.conn.Close()
		}
		if !s.waited {
			s.cmd.Process.Kill()
			<-s.exited
		}
		if t.Failed() {
			t.Logf("shopd %v logs:\n%s", args, s.logs.String())
		}
	})
	select {
	case line := <-first:
		var ok bool
		if s.addr, ok = strings.CutPrefix(line, "listening on "); !ok {
			t.Fatalf("shopd printed %q, want \"listening on ADDR\"; logs:\n%s", line, s.logs.String())
		}
	case <-time.After(60 * time.Second):
		t.Fatalf("shopd did not start; logs:\n%s", s.logs.String())
	}
	if s.conn, err = grpc.NewClient(s.addr, grpc.WithTransportCredentials(insecure.NewCredentials())); err != nil {
		t.Fatal(err)
	}
	return s
}

func (s *shopd) catalog() shopv1.CatalogClient { return shopv1.NewCatalogClient(s.conn) }

// stop sends SIGTERM and expects a clean exit.
func (s *shopd) stop(t *testing.T) {
	t.Helper()
	s.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case err := <-s.exited:
		s.waited = true
		if err != nil {
			t.Fatalf("shopd exited with %v; logs:\n%s", err, s.logs.String())
		}
	case <-time.After(30 * time.Second):
		t.Fatal("shopd did not stop after SIGTERM")
	}
}

// postgresDSN returns a DSN whose search_path is a fresh schema, dropped
// when t ends, so the test's tables are its own. Without
// $SVC_TEST_POSTGRES_DSN the test skips, except in CI, where it fails.
func postgresDSN(t *testing.T) string {
	t.Helper()
	dsn := os.Getenv("SVC_TEST_POSTGRES_DSN")
	if dsn == "" {
		if os.Getenv("CI") == "true" {
			t.Fatal("SVC_TEST_POSTGRES_DSN is not set; CI must run the PostgreSQL tests (see .ci/run)")
		}
		t.Skip("PostgreSQL tests skipped: set SVC_TEST_POSTGRES_DSN=postgres://user:pass@host/db to run them")
	}
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Fatalf("PostgreSQL at SVC_TEST_POSTGRES_DSN is unreachable: %v", err)
	}
	var b [6]byte
	rand.Read(b[:])
	schema := "shop_" + hex.EncodeToString(b[:])
	if _, err := conn.Exec(ctx, "CREATE SCHEMA "+schema); err != nil {
		t.Fatal(err)
	}
	conn.Close(ctx)
	t.Cleanup(func() {
		if conn, err := pgx.Connect(ctx, dsn); err == nil {
			conn.Exec(ctx, "DROP SCHEMA "+schema+" CASCADE")
			conn.Close(ctx)
		}
	})
	u, err := url.Parse(dsn)
	if err != nil {
		t.Fatalf("SVC_TEST_POSTGRES_DSN is not a URL: %v", err)
	}
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	return u.String()
}

func product(title string) *shopv1.Product {
	return &shopv1.Product{Title: title, Category: shopv1.ProductCategory(1)}
}

// TestReplicasOnPostgres runs two shopd processes on one database: what one
// writes the other reads, updates and pages through, page tokens cross
// replicas, a watch on one sees the other's changes, and after kill -9 of
// a replica in the middle of a stream of creates every acknowledged create
// is there, once.
func TestReplicasOnPostgres(t *testing.T) {
	dsn := postgresDSN(t)
	bin := buildShopd(t)
	keyFile := filepath.Join(t.TempDir(), "token.key")
	if err := os.WriteFile(keyFile, []byte("0123456789abcdef0123456789abcdef"), 0o600); err != nil {
		t.Fatal(err)
	}
	args := []string{"--store", dsn, "--page-token-key-file", keyFile}
	a, b := startShopd(t, bin, args...), startShopd(t, bin, args...)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()

	// Watch on b before writing through a.
	watch, err := b.catalog().WatchProducts(ctx, &shopv1.WatchProductsRequest{})
	if err != nil {
		t.Fatal(err)
	}
	if ev, err := watch.Recv(); err != nil || ev.GetType() != shopv1.ProductEvent_SYNCED {
		t.Fatalf("first watch event %v, %v; want SYNCED", ev, err)
	}

	var names []string
	for i := range 10 {
		p, err := a.catalog().CreateProduct(ctx, &shopv1.CreateProductRequest{Product: product(fmt.Sprint("product ", i))})
		if err != nil {
			t.Fatalf("create on a: %v", err)
		}
		names = append(names, p.GetName())
	}
	got, err := b.catalog().GetProduct(ctx, &shopv1.GetProductRequest{Name: names[3]})
	if err != nil || got.GetTitle() != "product 3" {
		t.Fatalf("get on b: %v, %v", got, err)
	}
	stale := got
	got.Title = "renamed on b"
	updated, err := b.catalog().UpdateProduct(ctx, &shopv1.UpdateProductRequest{Product: got})
	if err != nil {
		t.Fatalf("update with etag on b: %v", err)
	}
	stale.Title = "stale rename on a"
	_, err = a.catalog().UpdateProduct(ctx, &shopv1.UpdateProductRequest{Product: stale})
	if status.Code(err) != codes.Aborted {
		t.Errorf("update with the old etag on a: %v, want Aborted", err)
	}

	// Page 1 from a, the rest from b with a's token.
	seen := map[string]bool{}
	page, err := a.catalog().ListProducts(ctx, &shopv1.ListProductsRequest{PageSize: 4})
	if err != nil || page.GetNextPageToken() == "" {
		t.Fatalf("list on a: %v", err)
	}
	for token, from := page.GetNextPageToken(), b; ; from = map[*shopd]*shopd{a: b, b: a}[from] {
		for _, p := range page.GetProducts() {
			if seen[p.GetName()] {
				t.Fatalf("%s listed twice", p.GetName())
			}
			seen[p.GetName()] = true
		}
		if token == "" {
			break
		}
		if page, err = from.catalog().ListProducts(ctx, &shopv1.ListProductsRequest{PageSize: 4, PageToken: token}); err != nil {
			t.Fatalf("list page with a token from the other replica: %v", err)
		}
		token = page.GetNextPageToken()
	}
	if len(seen) != 10 {
		t.Errorf("paging across replicas saw %d products, want 10", len(seen))
	}

	// b's watch saw a's creates and its own update, in order.
	for i := range 11 {
		ev, err := watch.Recv()
		if err != nil {
			t.Fatalf("watch event %d: %v", i, err)
		}
		want := shopv1.ProductEvent_CREATED
		if i == 10 {
			want = shopv1.ProductEvent_UPDATED
		}
		if ev.GetType() != want || i < 10 && ev.GetProduct().GetName() != names[i] || i == 10 && ev.GetProduct().GetEtag() != updated.GetEtag() {
			t.Fatalf("watch event %d: %v %s; want %v", i, ev.GetType(), ev.GetProduct().GetName(), want)
		}
	}

	// A create retried with one request_id on both replicas at once is
	// carried out once (AIP-155): every sender gets the same product.
	var rmu sync.Mutex
	created := map[string]int{}
	var rwg sync.WaitGroup
	for i := range 8 {
		rwg.Add(1)
		go func() {
			defer rwg.Done()
			from := []*shopd{a, b}[i%2]
			p, err := from.catalog().CreateProduct(ctx, &shopv1.CreateProductRequest{Product: product("retried"), RequestId: "5f0c2a1e-request-once"})
			if err != nil {
				t.Errorf("create with a request_id on replica %d: %v", i%2, err)
				return
			}
			rmu.Lock()
			created[p.GetName()]++
			rmu.Unlock()
		}()
	}
	rwg.Wait()
	if len(created) != 1 {
		t.Fatalf("8 creates with one request_id on two replicas answered %v; want one product", created)
	}
	retried := 0
	for token := ""; ; {
		page, err := b.catalog().ListProducts(ctx, &shopv1.ListProductsRequest{PageSize: 100, PageToken: token})
		if err != nil {
			t.Fatal(err)
		}
		for _, p := range page.GetProducts() {
			if p.GetTitle() == "retried" {
				retried++
			}
		}
		if token = page.GetNextPageToken(); token == "" {
			break
		}
	}
	if retried != 1 {
		t.Fatalf("%d products stored by 8 creates with one request_id; want 1", retried)
	}

	// kill -9 a during a stream of creates.
	var mu sync.Mutex
	acked := map[string]string{} // title -> name
	done := make(chan struct{})
	go func() {
		defer close(done)
		for i := 0; ; i++ {
			title := fmt.Sprint("burst ", i)
			cctx, ccancel := context.WithTimeout(ctx, 5*time.Second)
			p, err := a.catalog().CreateProduct(cctx, &shopv1.CreateProductRequest{Product: product(title)})
			ccancel()
			if err != nil {
				return
			}
			mu.Lock()
			acked[title] = p.GetName()
			mu.Unlock()
		}
	}()
	waitFor(t, "creates through a", func() bool { mu.Lock(); defer mu.Unlock(); return len(acked) >= 50 })
	a.cmd.Process.Kill()
	<-done

	titles := map[string]int{}
	names2 := map[string]bool{}
	token := ""
	for {
		page, err := b.catalog().ListProducts(ctx, &shopv1.ListProductsRequest{PageSize: 100, PageToken: token})
		if err != nil {
			t.Fatalf("list on b after kill: %v", err)
		}
		for _, p := range page.GetProducts() {
			titles[p.GetTitle()]++
			names2[p.GetName()] = true
		}
		if token = page.GetNextPageToken(); token == "" {
			break
		}
	}
	mu.Lock()
	defer mu.Unlock()
	for title, name := range acked {
		if !names2[name] || titles[title] != 1 {
			t.Errorf("acknowledged create %q (%s): present %v, %d products with its title", title, name, names2[name], titles[title])
		}
	}
	t.Logf("%d creates acknowledged before kill -9; all present once", len(acked))
}

// TestSQLiteRestart: a shopd on a SQLite file keeps its data across a
// restart.
func TestSQLiteRestart(t *testing.T) {
	bin := buildShopd(t)
	store := "sqlite:" + filepath.Join(t.TempDir(), "shop.db")
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()

	s := startShopd(t, bin, "--store", store)
	var want []*shopv1.Product
	for i := range 5 {
		p, err := s.catalog().CreateProduct(ctx, &shopv1.CreateProductRequest{Product: product(fmt.Sprint("kept ", i))})
		if err != nil {
			t.Fatal(err)
		}
		want = append(want, p)
	}
	s.stop(t)

	s = startShopd(t, bin, "--store", store)
	for _, w := range want {
		got, err := s.catalog().GetProduct(ctx, &shopv1.GetProductRequest{Name: w.GetName()})
		if err != nil || got.GetTitle() != w.GetTitle() || got.GetEtag() != w.GetEtag() {
			t.Errorf("after restart %s: %v, %v; want %v", w.GetName(), got, err, w)
		}
	}
	list, err := s.catalog().ListProducts(ctx, &shopv1.ListProductsRequest{})
	if err != nil || len(list.GetProducts()) != len(want) {
		t.Errorf("after restart List: %d products, %v; want %d", len(list.GetProducts()), err, len(want))
	}
	s.stop(t)
}
