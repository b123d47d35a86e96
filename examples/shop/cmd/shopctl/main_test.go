package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/svcgen/protoc-gen-svc/internal/prodtest"

	"go.uber.org/goleak"

	"github.com/svcgen/protoc-gen-svc/examples/shop/server"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// startServer serves the shop on a loopback port until the test ends and
// returns its address.
func startServer(t *testing.T) string {
	t.Helper()
	return startServing(t, func(ctx context.Context, lis net.Listener, logger *slog.Logger) error {
		return server.Serve(ctx, lis, logger)
	})
}

// startHTTPServer is startServer with every protocol on the one port
// (gRPC, gRPC-Web, Connect, REST), as shopd serves.
func startHTTPServer(t *testing.T) string {
	t.Helper()
	return startServing(t, func(ctx context.Context, lis net.Listener, logger *slog.Logger) error {
		return server.ServeHTTP(ctx, lis, logger, nil)
	})
}

func startServing(t *testing.T, serve func(context.Context, net.Listener, *slog.Logger) error) string {
	t.Helper()
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	served := make(chan error, 1)
	go func() { served <- serve(ctx, lis, slog.New(slog.NewTextHandler(io.Discard, nil))) }()
	t.Cleanup(func() {
		cancel()
		if err := <-served; err != nil {
			t.Errorf("Serve: %v", err)
		}
	})
	return lis.Addr().String()
}

// shopctl runs the command line args in process, against addr.
func shopctl(t *testing.T, ctx context.Context, addr string, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	var out, errOut bytes.Buffer
	code = run(ctx, append(args, "--addr", addr), &out, &errOut)
	return out.String(), errOut.String(), code
}

// field returns the value of "key:" in a product printed by printProduct.
func field(out, key string) string {
	for _, line := range strings.Split(out, "\n") {
		if v, ok := strings.CutPrefix(line, key+":"); ok {
			return strings.TrimSpace(v)
		}
	}
	return ""
}

func TestCommands(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	addr := startServer(t)
	must := func(args ...string) string {
		t.Helper()
		out, errOut, code := shopctl(t, ctx, addr, args...)
		if code != exitOK {
			t.Fatalf("shopctl %s: exit %d: %s", strings.Join(args, " "), code, errOut)
		}
		return out
	}
	fails := func(code int, wantErr string, args ...string) {
		t.Helper()
		out, errOut, got := shopctl(t, ctx, addr, args...)
		if got != code || !strings.Contains(errOut, wantErr) {
			t.Errorf("shopctl %s: exit %d, stdout %q, stderr %q; want exit %d and %q", strings.Join(args, " "), got, out, errOut, code, wantErr)
		}
	}

	out := must("create", "--id", "espresso", "--title", "Espresso machine", "--category", "ELECTRONICS",
		"--price", "249", "--stock", "3", "--tag", "coffee", "--tag", "kitchen", "--attr", "voltage=230V", "--attr", "color=black")
	for key, want := range map[string]string{
		"name": "espresso", "title": "Espresso machine", "category": "electronics", "price": "EUR 249.00",
		"stock": "3", "tags": "coffee, kitchen", "attributes": "color=black, voltage=230V", "etag": `"1"`,
	} {
		if got := field(out, key); got != want {
			t.Errorf("create printed %s %q, want %q:\n%s", key, got, want, out)
		}
	}

	// Update: the mask is the fields given as flags...
	out = must("update", "espresso", "--price", "229.9")
	if field(out, "price") != "EUR 229.90" || field(out, "title") != "Espresso machine" || field(out, "stock") != "3" {
		t.Errorf("update --price changed more than the price:\n%s", out)
	}
	// ...or --mask: a field in the mask but not given is cleared.
	out = must("update", "espresso", "--mask", "stock_quantity")
	if field(out, "stock") != "untracked" || field(out, "price") != "EUR 229.90" {
		t.Errorf("update --mask stock_quantity:\n%s", out)
	}
	etag := field(out, "etag")
	fails(exitError, `shopctl update: Aborted: `, "update", "espresso", "--title", "x", "--etag", `"1"`)
	fails(exitError, `shopctl delete: Aborted: `, "delete", "espresso", "--etag", `"1"`)
	if out := must("delete", "espresso", "--etag", etag); out != "deleted espresso\n" {
		t.Errorf("delete printed %q", out)
	}
	fails(exitError, `shopctl get: NotFound: shop.v1.Product "espresso" not found`, "get", "espresso")

	// Paging.
	for _, id := range []string{"a", "b", "c"} {
		must("create", "--id", id, "--title", "Product "+id, "--price", "1.05")
	}
	out = must("list", "--page-size", "2")
	more := out[strings.LastIndex(out, "--page-token ")+len("--page-token "):]
	if !strings.Contains(out, "Product a") || !strings.Contains(out, "Product b") || strings.Contains(out, "Product c") || more == "" {
		t.Fatalf("list --page-size 2:\n%s", out)
	}
	out = must("list", "--page-size", "2", "--page-token", strings.TrimSpace(more))
	if !strings.Contains(out, "Product c") || strings.Contains(out, "Product a") || strings.Contains(out, "more:") {
		t.Errorf("second page:\n%s", out)
	}
	out = must("list", "--page-size", "1", "--all")
	if strings.Count(out, "Product ") != 3 || strings.Contains(out, "more:") || !strings.Contains(out, "EUR 1.05") {
		t.Errorf("list --all:\n%s", out)
	}

	// Mistakes on the command line: exit 2 and a clear message.
	fails(exitUsage, `unknown command "frobnicate"`, "frobnicate")
	fails(exitUsage, `--price "1.234": at most two decimals`, "create", "--price", "1.234")
	fails(exitUsage, `unknown category "toys"`, "create", "--category", "toys")
	fails(exitUsage, `nothing to update`, "update", "a")
	fails(exitUsage, `want one product name`, "get")
	fails(exitUsage, `flag provided but not defined: -bogus`, "list", "--bogus")
}

func TestWatchCommand(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	addr := startServer(t)
	if _, errOut, code := shopctl(t, ctx, addr, "create", "--id", "old", "--title", "Old", "--category", "books"); code != 0 {
		t.Fatal(errOut)
	}

	watchCtx, stopWatch := context.WithCancel(ctx)
	var out, errOut prodtest.LogBuffer
	done := make(chan int, 1)
	go func() {
		done <- run(watchCtx, []string{"watch", "--existing", "--category", "books", "--addr", addr}, &out, &errOut)
	}()
	waitFor(t, func() bool { return strings.Contains(errOut.String(), "watching for changes") })
	if !strings.Contains(out.String(), "EXISTING  old") {
		t.Errorf("watch --existing printed %q", out.String())
	}
	shopctl(t, ctx, addr, "create", "--id", "new", "--title", "New", "--category", "books", "--price", "9.99")
	shopctl(t, ctx, addr, "create", "--id", "tv", "--title", "TV", "--category", "electronics")
	waitFor(t, func() bool { return strings.Contains(out.String(), `CREATED   new  "New"  EUR 9.99  stock untracked`) })
	stopWatch() // Ctrl-C
	if code := <-done; code != exitOK {
		t.Errorf("watch ended by Ctrl-C: exit %d, stderr %q", code, errOut.String())
	}
	if strings.Contains(out.String(), "tv") {
		t.Errorf("watch --category books printed an electronics product:\n%s", out.String())
	}
}

func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); !cond(); time.Sleep(5 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("timed out")
		}
	}
}

// TestListFilterAndOrder: an AIP-160 filter and an AIP-132 order_by reach
// the store over gRPC (shopctl), REST (GET /v1/products) and the Connect
// protocol, on one port, with the same answer; a bad filter is
// InvalidArgument naming the column.
func TestListFilterAndOrder(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	addr := startHTTPServer(t)
	for _, p := range []struct{ id, category, price string }{
		{"novel", "BOOKS", "12.50"}, {"atlas", "BOOKS", "49.99"}, {"encyclopedia", "BOOKS", "120"},
		{"poems", "BOOKS", "8"}, {"kettle", "HOME", "30"}, {"radio", "ELECTRONICS", "25"},
	} {
		if _, errOut, code := shopctl(t, ctx, addr, "create", "--id", p.id, "--title", "T "+p.id, "--category", p.category, "--price", p.price); code != exitOK {
			t.Fatalf("create %s: %s", p.id, errOut)
		}
	}
	const filter, orderBy = "category = BOOKS AND price.minor_units < 5000", "price.minor_units desc"
	want := []string{"atlas", "novel", "poems"}

	out, errOut, code := shopctl(t, ctx, addr, "list", "--page-size", "1", "--all", "--filter", filter, "--order-by", orderBy)
	if code != exitOK {
		t.Fatalf("shopctl list --filter: exit %d: %s", code, errOut)
	}
	var got []string
	for _, line := range strings.Split(out, "\n") {
		if strings.Contains(line, "T ") {
			for _, id := range []string{"novel", "atlas", "encyclopedia", "poems", "kettle", "radio"} {
				if strings.Contains(line, "T "+id) {
					got = append(got, id)
				}
			}
		}
	}
	if !slices.Equal(got, want) {
		t.Errorf("shopctl list --filter %q --order-by %q printed %v, want %v:\n%s", filter, orderBy, got, want, out)
	}

	names := func(body []byte) []string {
		var resp struct {
			Products []struct{ Name string }
		}
		if err := json.Unmarshal(body, &resp); err != nil {
			t.Fatalf("response %s: %v", body, err)
		}
		var out []string
		for _, p := range resp.Products {
			out = append(out, p.Name)
		}
		return out
	}
	q := url.Values{"filter": {filter}, "order_by": {orderBy}}
	restURL := "http://" + addr + "/v1/products?" + q.Encode()
	body, status := httpDo(t, ctx, "GET", restURL, "")
	if status != 200 || !slices.Equal(names(body), want) {
		t.Errorf("GET %s: %d %s; want 200 and %v", restURL, status, body, want)
	}
	connectBody := fmt.Sprintf(`{"filter": %q, "orderBy": %q}`, filter, orderBy)
	body, status = httpDo(t, ctx, "POST", "http://"+addr+"/shop.v1.Catalog/ListProducts", connectBody)
	if status != 200 || !slices.Equal(names(body), want) {
		t.Errorf("Connect ListProducts %s: %d %s; want 200 and %v", connectBody, status, body, want)
	}

	_, errOut, code = shopctl(t, ctx, addr, "list", "--filter", "category = BOOKS AND pryce < 3")
	if code != exitError || !strings.Contains(errOut, "InvalidArgument") || !strings.Contains(errOut, "column 22") || !strings.Contains(errOut, "pryce") {
		t.Errorf("list with an unknown field: exit %d, %q; want InvalidArgument naming column 22 and pryce", code, errOut)
	}
	_, errOut, code = shopctl(t, ctx, addr, "list", "--order-by", "title")
	if code != exitError || !strings.Contains(errOut, "InvalidArgument") || !strings.Contains(errOut, "price.minor_units") {
		t.Errorf("list --order-by title (no index): exit %d, %q; want InvalidArgument listing the sortable fields", code, errOut)
	}
}

// httpDo sends one request with a JSON body (when not empty) and returns
// the response body and status.
func httpDo(t *testing.T, ctx context.Context, method, target, body string) ([]byte, int) {
	t.Helper()
	req, err := http.NewRequestWithContext(ctx, method, target, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, target, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return b, resp.StatusCode
}
