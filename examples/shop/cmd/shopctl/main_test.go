package main

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"net"
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
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	served := make(chan error, 1)
	go func() { served <- server.Serve(ctx, lis, slog.New(slog.NewTextHandler(io.Discard, nil))) }()
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
