package web_test

// This test needs a Chromium browser (Debian: apt-get install chromium). It
// skips when none is installed, except in CI (CI=true), where it fails.

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	shopv1 "github.com/svcgen/protoc-gen-svc/examples/shop/gen/shop/v1"
	"github.com/svcgen/protoc-gen-svc/internal/testenv"
)

// findChromium returns the browser to drive, or skips (fails in CI) when
// there is none.
func findChromium(t *testing.T) string {
	t.Helper()
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome", "google-chrome-stable"} {
		if path, err := exec.LookPath(name); err == nil {
			return path
		}
	}
	if os.Getenv("CI") == "true" {
		t.Fatal("no chromium in PATH: CI must install Debian's chromium package (.ci/run does)")
	}
	t.Skip("no chromium in PATH; apt-get install chromium to run the browser test")
	return ""
}

// startShopd builds shopd, starts it on a free loopback port and returns its
// base URL; it is stopped with SIGTERM when the test ends.
func startShopd(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "shopd")
	build := exec.Command("go", "build", "-o", bin, "../cmd/shopd")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build shopd: %v\n%s", err, out)
	}
	cmd := exec.Command(bin, "--listen", "127.0.0.1:0", "--drain-timeout", "2s")
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var logs strings.Builder
	cmd.Stderr = &logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	lines := bufio.NewScanner(stdout)
	first := make(chan string, 1)
	done := make(chan struct{})
	go func() {
		defer close(done)
		lines.Scan()
		first <- lines.Text()
		io.Copy(io.Discard, stdout)
	}()
	t.Cleanup(func() {
		if runtime.GOOS == "windows" {
			cmd.Process.Kill()
		} else {
			cmd.Process.Signal(os.Interrupt)
		}
		<-done
		if err := cmd.Wait(); err != nil {
			t.Errorf("shopd: %v", err)
		}
		if t.Failed() {
			t.Logf("shopd logs:\n%s", logs.String())
		}
	})
	select {
	case line := <-first:
		addr, ok := strings.CutPrefix(line, "listening on ")
		if !ok {
			t.Fatalf("shopd printed %q, want listening on ADDR", line)
		}
		return "http://" + addr
	case <-time.After(30 * time.Second):
		t.Fatal("shopd did not print its address")
		return ""
	}
}

// TestPageInChromium loads the shop's page from shopd in headless Chromium,
// creates a product through REST and one through Connect with the page's
// form, and sees them listed, page by page.
func TestPageInChromium(t *testing.T) {
	chromium := findChromium(t)
	testenv.Slow(t, "builds shopd and starts a browser")
	base := startShopd(t)

	// Five products, through REST, so that the list has two pages.
	for _, name := range []string{"bb-beans", "cc-cups", "dd-drip", "ee-espresso", "ff-filter"} {
		body := `{"title":"` + name + `","price":{"currencyCode":"EUR","minorUnits":"450"}}`
		resp, err := http.Post(base+"/v1/products?product_id="+name, "application/json", strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("POST /v1/products: %s", resp.Status)
		}
	}

	allocCtx, cancelAlloc := chromedp.NewExecAllocator(context.Background(),
		chromedp.ExecPath(chromium),
		chromedp.Headless,
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.NoDefaultBrowserCheck,
		chromedp.UserDataDir(t.TempDir()),
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-dev-shm-usage", true),
	)
	defer cancelAlloc()
	browser, cancelBrowser := chromedp.NewContext(allocCtx)
	defer cancelBrowser()
	// The first Run starts the browser, which lives as long as its context:
	// no timeout on it.
	if err := chromedp.Do(browser, chromedp.Navigate(base+"/")); err != nil {
		t.Fatalf("start chromium and load the page: %v", err)
	}
	ctx, cancel := context.WithTimeout(browser, time.Minute)
	defer cancel()

	rows := func() []string {
		t.Helper()
		names, err := chromedp.Run(ctx, chromedp.Evaluate[[]string](
			`Array.from(document.querySelectorAll("#products tbody tr"), (r) => r.dataset.name)`))
		if err != nil {
			t.Fatalf("read the table: %v", err)
		}
		return names
	}
	text := func(sel string) string {
		t.Helper()
		s, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(sel)))
		if err != nil {
			t.Fatalf("read %s: %v", sel, err)
		}
		return s
	}
	// waitFor polls a JavaScript condition, and reports the page's status
	// line when it does not come true.
	waitFor := func(what, cond string) {
		t.Helper()
		if _, err := chromedp.Run(ctx, chromedp.Poll[bool](cond, chromedp.WithPollingTimeout(10*time.Second))); err != nil {
			status, _ := chromedp.Run(ctx, chromedp.Evaluate[string](`document.getElementById("status").textContent`))
			t.Fatalf("%s: %v (status line: %q, rows: %v)", what, err, status, rows())
		}
	}
	rowsAre := func(names ...string) string {
		return `Array.from(document.querySelectorAll("#products tbody tr"), (r) => r.dataset.name).join(",") === "` + strings.Join(names, ",") + `"`
	}
	create := func(name, title, price string) {
		t.Helper()
		err := chromedp.Do(ctx,
			chromedp.SendKeys(chromedp.CSS(`#create input[name="name"]`), name),
			chromedp.SendKeys(chromedp.CSS(`#create input[name="title"]`), title),
			chromedp.SetValue(chromedp.CSS(`#create input[name="price"]`), price),
			chromedp.Click(chromedp.CSS(`#create button[type="submit"]`)),
		)
		if err != nil {
			t.Fatalf("fill in and submit the form: %v", err)
		}
	}

	waitFor("first page listed", rowsAre("bb-beans", "cc-cups", "dd-drip", "ee-espresso", "ff-filter"))

	// REST (the page's default): the new product sorts last, on page 2.
	create("zz-zebra", "Zebra mug", "12.50")
	waitFor("created through REST", `document.getElementById("status").textContent === "Created zz-zebra through REST."`)
	waitFor("Next enabled", `!document.getElementById("next").disabled`)
	if err := chromedp.Do(ctx, chromedp.Click(chromedp.CSS("#next"))); err != nil {
		t.Fatal(err)
	}
	waitFor("second page listed", rowsAre("zz-zebra"))
	if got := text("#products tbody tr td:nth-child(4)"); got != "12.50 EUR" {
		t.Errorf("price cell %q, want 12.50 EUR", got)
	}
	if got := text("#page"); got != "Page 2" {
		t.Errorf("pager says %q, want Page 2", got)
	}

	// Connect: switching protocols starts over at page 1; the new product
	// sorts first.
	if _, err := chromedp.Run(ctx, chromedp.Evaluate[bool](
		`(() => { const s = document.getElementById("protocol"); s.value = "connect"; return s.dispatchEvent(new Event("change")); })()`)); err != nil {
		t.Fatal(err)
	}
	waitFor("first page listed through Connect", rowsAre("bb-beans", "cc-cups", "dd-drip", "ee-espresso", "ff-filter"))
	create("aa-apron", "Apron", "20")
	waitFor("created through Connect", `document.getElementById("status").textContent === "Created aa-apron through CONNECT."`)
	waitFor("listed first", rowsAre("aa-apron", "bb-beans", "cc-cups", "dd-drip", "ee-espresso"))

	// An error comes back to the page: the name exists.
	create("aa-apron", "Again", "1")
	waitFor("error shown", `document.getElementById("status").textContent.startsWith("Creating failed: already_exists: ")`)
}

// TestOnePortThreeClients: grpc-go's own client (whose connections the
// shared port hands to grpc-go's transport: svchttp's tests check which
// transport serves what), curl (REST over HTTP/1.1 and over h2c) and the browser
// (Connect and REST from the page) use shopd's one port at the same time;
// every call succeeds and each sees the others' writes.
func TestOnePortThreeClients(t *testing.T) {
	chromium := findChromium(t)
	curl, err := exec.LookPath("curl")
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("no curl in PATH: CI must install Debian's curl package (.ci/run does)")
		}
		t.Skip("no curl in PATH; apt-get install curl to run this test")
	}
	testenv.Slow(t, "builds shopd and starts a browser")
	base := startShopd(t)
	conn, err := grpc.NewClient(strings.TrimPrefix(base, "http://"), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	catalog := shopv1.NewCatalogClient(conn)

	stop := make(chan struct{})
	var wg sync.WaitGroup
	var mu sync.Mutex
	var failures []string
	fail := func(format string, args ...any) {
		mu.Lock()
		defer mu.Unlock()
		failures = append(failures, fmt.Sprintf(format, args...))
	}
	var grpcCalls, curlCalls atomic.Int64
	wg.Add(3)
	go func() { // gRPC: creates products gg-0, gg-1, ... and lists
		defer wg.Done()
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			default:
			}
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			_, err := catalog.CreateProduct(ctx, &shopv1.CreateProductRequest{ProductId: fmt.Sprintf("gg-%03d", i),
				Product: &shopv1.Product{Title: fmt.Sprint("grpc ", i), Price: &shopv1.Money{CurrencyCode: "EUR", MinorUnits: 100}}})
			if err == nil {
				_, err = catalog.ListProducts(ctx, &shopv1.ListProductsRequest{PageSize: 10})
			}
			cancel()
			if err != nil {
				fail("gRPC call %d: %v", i, err)
				return
			}
			grpcCalls.Add(1)
			time.Sleep(5 * time.Millisecond)
		}
	}()
	for _, mode := range []string{"--http1.1", "--http2-prior-knowledge"} {
		go func() { // curl: REST reads
			defer wg.Done()
			for {
				select {
				case <-stop:
					return
				default:
				}
				out, err := exec.Command(curl, "-sS", "--fail", mode, base+"/v1/products?page_size=5").CombinedOutput()
				if err != nil || !strings.Contains(string(out), `"products"`) {
					fail("curl %s: %v: %s", mode, err, out)
					return
				}
				curlCalls.Add(1)
			}
		}()
	}

	allocCtx, cancelAlloc := chromedp.NewExecAllocator(context.Background(),
		chromedp.ExecPath(chromium), chromedp.Headless, chromedp.NoSandbox, chromedp.DisableGPU,
		chromedp.NoFirstRun, chromedp.NoDefaultBrowserCheck, chromedp.UserDataDir(t.TempDir()),
		chromedp.Flag("disable-quic", true), chromedp.Flag("disable-dev-shm-usage", true))
	defer cancelAlloc()
	browser, cancelBrowser := chromedp.NewContext(allocCtx)
	defer cancelBrowser()
	if err := chromedp.Do(browser, chromedp.Navigate(base+"/")); err != nil {
		t.Fatalf("start chromium and load the page: %v", err)
	}
	ctx, cancel := context.WithTimeout(browser, time.Minute)
	defer cancel()
	// The page lists, through REST and then Connect, what gRPC created.
	for _, protocol := range []string{"rest", "connect"} {
		if _, err := chromedp.Run(ctx, chromedp.Evaluate[bool](
			`(() => { const s = document.getElementById("protocol"); s.value = "`+protocol+`"; return s.dispatchEvent(new Event("change")); })()`)); err != nil {
			t.Fatal(err)
		}
		if _, err := chromedp.Run(ctx, chromedp.Poll[bool](
			`document.querySelector("#products tbody tr") !== null && document.querySelector("#products tbody tr").dataset.name.startsWith("gg-")`,
			chromedp.WithPollingTimeout(20*time.Second))); err != nil {
			t.Fatalf("the page (%s) does not list the products gRPC creates: %v", protocol, err)
		}
	}
	// Let the three run together a moment longer.
	time.Sleep(time.Second)
	close(stop)
	wg.Wait()
	for _, f := range failures {
		t.Error(f)
	}
	if grpcCalls.Load() == 0 || curlCalls.Load() == 0 {
		t.Errorf("gRPC made %d calls, curl %d; want both on the port at once", grpcCalls.Load(), curlCalls.Load())
	}
	t.Logf("on one port at once: %d gRPC create+list pairs, %d curl REST reads, the page through REST and Connect", grpcCalls.Load(), curlCalls.Load())
}
