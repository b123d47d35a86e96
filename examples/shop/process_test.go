// Package shop_test runs the shop example as a user does: shopd and shopctl
// built and started as processes.
package shop_test

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/svcgen/protoc-gen-svc/internal/testenv"

	"go.uber.org/goleak"

	"github.com/svcgen/protoc-gen-svc/internal/prodtest"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// TestShopdAndShopctl builds shopd and shopctl, starts shopd on a free
// loopback port with mutual TLS and bearer tokens, reads the address it
// prints, uses shopctl against it (create, list, get, watch, errors, no
// token), stops shopd with SIGTERM and expects exit status 0, then sees
// shopctl retry and fail with Unavailable once the server is gone. Last, a
// plaintext shopd says so.
func TestShopdAndShopctl(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("sends SIGTERM")
	}
	testenv.Slow(t, "builds binaries")
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	bin := t.TempDir()
	build := exec.CommandContext(ctx, "go", "build", "-o", bin+string(filepath.Separator), "./cmd/shopd", "./cmd/shopctl")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}

	pki, err := prodtest.Write(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	tokenFile := filepath.Join(t.TempDir(), "tokens.txt")
	if err := os.WriteFile(tokenFile, []byte("# shop tokens\nadmin-token\nreader-token readonly\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	shopd := exec.Command(filepath.Join(bin, "shopd"), "--listen", "127.0.0.1:0",
		"--tls-cert", pki.ServerCert, "--tls-key", pki.ServerKey, "--client-ca", pki.CA,
		"--auth-token-file", tokenFile, "--no-reflection")
	stdout, err := shopd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var logs prodtest.LogBuffer
	shopd.Stderr = &logs
	if err := shopd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	stopped := false // exited has been received from
	lines := bufio.NewScanner(stdout)
	first := make(chan string, 1)
	go func() {
		lines.Scan()
		first <- lines.Text()
		io.Copy(io.Discard, stdout) // Wait needs the pipe drained
		exited <- shopd.Wait()
	}()
	t.Cleanup(func() {
		if !stopped {
			shopd.Process.Kill()
			<-exited
		}
		if t.Failed() {
			t.Logf("shopd logs:\n%s", logs.String())
		}
	})
	var addr string
	var shopctlAnon func(args ...string) (stdout, stderr string, code int)
	select {
	case line := <-first:
		var ok bool
		if addr, ok = strings.CutPrefix(line, "listening on "); !ok {
			t.Fatalf("shopd printed %q first, want \"listening on ADDR\"", line)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("shopd printed no address in 30s")
	}

	tlsFlags := []string{"--tls-ca", pki.CA, "--cert", pki.ClientCert, "--key", pki.ClientKey}
	shopctl := func(args ...string) (stdout, stderr string, code int) {
		t.Helper()
		return shopctlAnon(append(args, "--token", "admin-token")...)
	}
	shopctlAnon = func(args ...string) (stdout, stderr string, code int) {
		t.Helper()
		cmd := exec.CommandContext(ctx, filepath.Join(bin, "shopctl"), append(append(args, "--addr", addr), tlsFlags...)...)
		var out, errOut bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &errOut
		err := cmd.Run()
		var exit *exec.ExitError
		if err != nil && !errors.As(err, &exit) {
			t.Fatalf("shopctl %s: %v", strings.Join(args, " "), err)
		}
		return out.String(), errOut.String(), cmd.ProcessState.ExitCode()
	}

	// A watcher, as a process of its own, until the server goes away.
	// (WatchProducts is public: no token.)
	watch := exec.CommandContext(ctx, filepath.Join(bin, "shopctl"), append([]string{"watch", "--addr", addr}, tlsFlags...)...)
	var watchOut, watchErr prodtest.LogBuffer
	watch.Stdout, watch.Stderr = &watchOut, &watchErr
	if err := watch.Start(); err != nil {
		t.Fatal(err)
	}
	watched := make(chan error, 1)
	go func() { watched <- watch.Wait() }()
	t.Cleanup(func() {
		watch.Process.Kill()
		<-watched
	})
	waitFor(t, "the watch to start", func() bool { return strings.Contains(watchErr.String(), "watching for changes") })

	out, errOut, code := shopctl("create", "--id", "espresso", "--title", "Espresso machine",
		"--category", "electronics", "--price", "249", "--stock", "3", "--tag", "coffee", "--attr", "color=black")
	if code != 0 || !strings.Contains(out, "name:") || !strings.Contains(out, "espresso") || !strings.Contains(out, "EUR 249.00") {
		t.Fatalf("shopctl create: exit %d\nstdout:\n%s\nstderr:\n%s", code, out, errOut)
	}
	out, errOut, code = shopctl("list")
	if code != 0 || !strings.Contains(out, "NAME") || !hasLine(out, "espresso", "Espresso", "machine", "electronics", "EUR", "249.00", "3") {
		t.Fatalf("shopctl list: exit %d\nstdout:\n%s\nstderr:\n%s", code, out, errOut)
	}
	if out, errOut, code = shopctlAnon("list"); code != 0 || !strings.Contains(out, "espresso") {
		t.Errorf("shopctl list without a token (public): exit %d\nstdout:\n%s\nstderr:\n%s", code, out, errOut)
	}
	if _, errOut, code = shopctlAnon("delete", "espresso"); code != 1 || !strings.HasPrefix(errOut, "shopctl delete: Unauthenticated: ") {
		t.Errorf("shopctl delete without a token: exit %d, stderr %q; want exit 1, Unauthenticated", code, errOut)
	}
	if _, errOut, code = shopctlAnon("delete", "espresso", "--token", "reader-token"); code != 1 || !strings.HasPrefix(errOut, "shopctl delete: PermissionDenied: ") {
		t.Errorf("shopctl delete with a read-only token: exit %d, stderr %q; want exit 1, PermissionDenied", code, errOut)
	}
	if _, errOut, code = shopctl("get", "../etc/passwd"); code != 1 || !strings.HasPrefix(errOut, "shopctl get: InvalidArgument: invalid resource id: name ") {
		t.Errorf("shopctl get ../etc/passwd: exit %d, stderr %q; want exit 1, InvalidArgument", code, errOut)
	}
	out, errOut, code = shopctl("get", "nope")
	if code != 1 || out != "" || errOut != "shopctl get: NotFound: shop.v1.Product \"nope\" not found\n" {
		t.Fatalf("shopctl get nope: exit %d, stdout %q, stderr %q; want exit 1 and one line naming NotFound", code, out, errOut)
	}
	if _, errOut, code = shopctl("get"); code != 2 || !strings.Contains(errOut, "usage: shopctl get") {
		t.Errorf("shopctl get without a name: exit %d, stderr %q; want exit 2 and the usage", code, errOut)
	}
	waitFor(t, "the watcher to see the product", func() bool { return strings.Contains(watchOut.String(), "CREATED   espresso") })

	// SIGTERM: a graceful stop, exit status 0; the watcher is told.
	if err := shopd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-exited:
		stopped = true
		if err != nil {
			t.Fatalf("shopd after SIGTERM: %v, want exit status 0", err)
		}
	case <-time.After(15 * time.Second):
		t.Fatal("shopd still running 15s after SIGTERM")
	}
	for _, want := range []string{`msg="http server listening"`, `transport=mtls`, `msg="authentication on" tokens=2`,
		`msg="finished call" protocol=grpc grpc.service=shop.v1.Catalog grpc.method=CreateProduct grpc.method_type=unary peer.address=127.0.0.1:`,
		`grpc.code=PermissionDenied`, `msg="http server stopped"`} {
		if !strings.Contains(logs.String(), want) {
			t.Errorf("shopd logs lack %s", want)
		}
	}
	select {
	case err := <-watched:
		watched <- err // for the cleanup
		if watch.ProcessState.ExitCode() != 1 || !strings.Contains(watchErr.String(), "shopctl watch: Unavailable: the server is shutting down") {
			t.Errorf("shopctl watch when the server stopped: %v, stderr %q; want exit 1, Unavailable", err, watchErr.String())
		}
	case <-time.After(15 * time.Second):
		t.Error("shopctl watch still running 15s after the server stopped")
	}

	// The server is gone. GetProduct may retry, so it waits for the server
	// to come back until its deadline (2s in the schema), then fails with
	// DeadlineExceeded naming the connection error; no attempt was spent,
	// so no retry is announced. CreateProduct is not retried and fails fast
	// with Unavailable.
	start := time.Now()
	out, errOut, code = shopctl("get", "espresso")
	elapsed := time.Since(start)
	if code != 1 || out != "" || strings.Contains(errOut, "retrying") || !strings.HasPrefix(errOut, "shopctl get: DeadlineExceeded: ") || !strings.Contains(errOut, "connection refused") {
		t.Errorf("shopctl get with the server down: exit %d, stdout %q, stderr:\n%s\nwant exit 1, no retry, DeadlineExceeded naming the refused connection", code, out, errOut)
	}
	if elapsed < 2*time.Second || elapsed > 5*time.Second {
		t.Errorf("shopctl get with the server down took %v, want the 2s deadline (plus process start)", elapsed)
	}
	start = time.Now()
	_, errOut, code = shopctl("create", "--title", "Mug")
	if code != 1 || strings.Contains(errOut, "retrying") || !strings.HasPrefix(errOut, "shopctl create: Unavailable: ") {
		t.Errorf("shopctl create with the server down: exit %d, stderr %q; want one attempt, Unavailable", code, errOut)
	}
	if elapsed := time.Since(start); elapsed > 1500*time.Millisecond {
		t.Errorf("shopctl create with the server down took %v, want it to fail fast", elapsed)
	}

	// Plaintext, for development: it works, and says so.
	plain := exec.CommandContext(ctx, filepath.Join(bin, "shopd"), "--listen", "127.0.0.1:0")
	plainOut, err := plain.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var plainLogs prodtest.LogBuffer
	plain.Stderr = &plainLogs
	if err := plain.Start(); err != nil {
		t.Fatal(err)
	}
	plainLines := bufio.NewScanner(plainOut)
	plainLines.Scan()
	plainAddr, _ := strings.CutPrefix(plainLines.Text(), "listening on ")
	go io.Copy(io.Discard, plainOut)
	cmd := exec.CommandContext(ctx, filepath.Join(bin, "shopctl"), "list", "--addr", plainAddr)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Errorf("shopctl list on a plaintext shopd: %v\n%s", err, out)
	}
	cmd = exec.CommandContext(ctx, filepath.Join(bin, "shopctl"), "list", "--addr", plainAddr, "--token", "admin-token")
	if out, _ := cmd.CombinedOutput(); cmd.ProcessState.ExitCode() != 2 || !strings.Contains(string(out), "bearer token over plaintext") {
		t.Errorf("shopctl --token without TLS: exit %d, %s; want exit 2 and a refusal", cmd.ProcessState.ExitCode(), out)
	}
	plain.Process.Signal(syscall.SIGTERM)
	if err := plain.Wait(); err != nil {
		t.Errorf("plaintext shopd after SIGTERM: %v", err)
	}
	for _, want := range []string{`level=WARN msg="http server listening"`, `transport=plaintext`, `msg="authentication off`} {
		if !strings.Contains(plainLogs.String(), want) {
			t.Errorf("plaintext shopd logs lack %s:\n%s", want, plainLogs.String())
		}
	}
}

// hasLine reports whether some line of out consists of fields, separated by
// spaces.
func hasLine(out string, fields ...string) bool {
	for _, line := range strings.Split(out, "\n") {
		if slices.Equal(strings.Fields(line), fields) {
			return true
		}
	}
	return false
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(15 * time.Second); !cond(); time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
	}
}

// TestWatchOnFrozenShopd stops shopd with SIGSTOP while shopctl watches:
// without keepalive the watch would hang until its deadline (it has none);
// with shopctl's keepalive (here every 10s, the least grpc-go allows) it
// fails with Unavailable within seconds.
func TestWatchOnFrozenShopd(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("sends SIGSTOP")
	}
	testenv.Slow(t, "builds binaries and waits for keepalive")
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	bin := t.TempDir()
	build := exec.CommandContext(ctx, "go", "build", "-o", bin+string(filepath.Separator), "./cmd/shopd", "./cmd/shopctl")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	shopd := exec.Command(filepath.Join(bin, "shopd"), "--listen", "127.0.0.1:0")
	stdout, err := shopd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var logs prodtest.LogBuffer
	shopd.Stderr = &logs
	if err := shopd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() {
		shopd.Process.Signal(syscall.SIGCONT)
		shopd.Process.Kill()
		shopd.Wait()
	}()
	lines := bufio.NewScanner(stdout)
	if !lines.Scan() {
		t.Fatalf("shopd printed nothing; logs:\n%s", logs.String())
	}
	addr, ok := strings.CutPrefix(lines.Text(), "listening on ")
	if !ok {
		t.Fatalf("shopd printed %q first", lines.Text())
	}
	go io.Copy(io.Discard, stdout)

	watch := exec.CommandContext(ctx, filepath.Join(bin, "shopctl"), "watch", "--addr", addr, "--keepalive", "10s")
	var watchErr prodtest.LogBuffer
	watch.Stderr = &watchErr
	if err := watch.Start(); err != nil {
		t.Fatal(err)
	}
	watched := make(chan struct{})
	go func() {
		watch.Wait()
		close(watched)
	}()
	defer func() {
		watch.Process.Kill()
		<-watched
	}()
	waitFor(t, "the watch to start", func() bool { return strings.Contains(watchErr.String(), "watching for changes") })

	if err := shopd.Process.Signal(syscall.SIGSTOP); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	select {
	case <-watched:
		took := time.Since(start)
		if watch.ProcessState.ExitCode() != 1 || !strings.Contains(watchErr.String(), "shopctl watch: Unavailable") {
			t.Errorf("shopctl watch on a frozen shopd: exit %d, stderr %q; want exit 1, Unavailable", watch.ProcessState.ExitCode(), watchErr.String())
		}
		t.Logf("the watch ended %v after shopd froze: %s", took.Round(time.Millisecond), strings.TrimSpace(watchErr.String()))
	case <-time.After(45 * time.Second):
		t.Fatal("shopctl watch still running 45s after shopd froze")
	}
}
