package svcprod_test

import (
	"context"
	"log/slog"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/grpc-ecosystem/go-grpc-middleware/v2/interceptors/auth"
	"go.opentelemetry.io/contrib/instrumentation/google.golang.org/grpc/otelgrpc"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/propagation"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/keepalive"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"

	"github.com/svcgen/protoc-gen-svc/internal/prodtest"
	"github.com/svcgen/protoc-gen-svc/internal/testenv"
	"github.com/svcgen/protoc-gen-svc/svcclient"
	"github.com/svcgen/protoc-gen-svc/svcprod"
	"github.com/svcgen/protoc-gen-svc/svcserver"
)

// TestAccessLog checks one line per call, with method, code, duration and
// peer, also for calls that authentication refuses and for sanitised
// internal errors (logged as the client sees them).
func TestAccessLog(t *testing.T) {
	h := func(ctx context.Context, fullMethod string, reqs []proto.Message) (proto.Message, error) {
		if strings.HasSuffix(fullMethod, "/Ping") {
			return nil, errSecretAuth // a plain error: Internal for the client
		}
		return echoItem(t)(ctx, fullMethod, reqs)
	}
	deny := func(ctx context.Context, _ string) (context.Context, error) {
		return nil, status.Error(codes.Unauthenticated, "no")
	}
	accessLog := &prodtest.LogBuffer{}
	addr, _ := serve(t, h, svcprod.WithAccessLog(slog.New(slog.NewTextHandler(accessLog, nil))), svcprod.WithAuth(deny))
	conn := dial(t, addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	ctx := testCtx(t)
	invoke(ctx, t, conn, "/prodtest.v1.Items/GetItem", newMsg(t, "GetItemRequest"))
	invoke(ctx, t, conn, "/prodtest.v1.Items/CreateItem", newMsg(t, "CreateItemRequest"))
	invoke(ctx, t, conn, "/prodtest.v1.Open/Ping", newMsg(t, "GetItemRequest"))
	if !accessLog.WaitFor("grpc.method=Ping") {
		t.Fatalf("no access log line for Ping:\n%s", accessLog)
	}
	log := accessLog.String()
	t.Logf("access log:\n%s", log)
	for _, want := range []string{
		`level=INFO msg="finished call" protocol=grpc grpc.service=prodtest.v1.Items grpc.method=GetItem grpc.method_type=unary peer.address=127.0.0.1:`,
		`grpc.method=CreateItem grpc.method_type=unary peer.address=127.0.0.1:`,
		`grpc.code=Unauthenticated grpc.error="rpc error: code = Unauthenticated desc = no"`,
		`level=ERROR msg="finished call" protocol=grpc grpc.service=prodtest.v1.Open grpc.method=Ping`,
		`grpc.code=Internal grpc.error="rpc error: code = Internal desc = internal error in /prodtest.v1.Open/Ping"`,
		`grpc.code=OK grpc.duration=`,
	} {
		if !strings.Contains(log, want) {
			t.Errorf("access log lacks %s:\n%s", want, log)
		}
	}
	if strings.Contains(log, "ldap") {
		t.Errorf("the access log has the internal error (it belongs to the error log only):\n%s", log)
	}
}

// TestAccessLogStreamsAndLevels checks the record of a client stream and
// that a logger set to Warn gets the failures only.
func TestAccessLogStreamsAndLevels(t *testing.T) {
	h := func(ctx context.Context, fullMethod string, reqs []proto.Message) (proto.Message, error) {
		if strings.HasSuffix(fullMethod, "/Ping") {
			return nil, status.Error(codes.Unavailable, "draining")
		}
		return echoItem(t)(ctx, fullMethod, reqs)
	}
	accessLog := &prodtest.LogBuffer{}
	logger := slog.New(slog.NewTextHandler(accessLog, &slog.HandlerOptions{Level: slog.LevelWarn}))
	addr, _ := serve(t, h, svcprod.WithAccessLog(logger))
	conn := dial(t, addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	ctx := testCtx(t)
	invoke(ctx, t, conn, "/prodtest.v1.Items/GetItem", newMsg(t, "GetItemRequest"))
	upload, err := conn.NewStream(ctx, &grpc.StreamDesc{ClientStreams: true}, "/prodtest.v1.Items/UploadItems")
	if err != nil {
		t.Fatal(err)
	}
	if err := upload.SendMsg(newMsg(t, "Item")); err != nil {
		t.Fatal(err)
	}
	if err := upload.CloseSend(); err != nil {
		t.Fatal(err)
	}
	if err := upload.RecvMsg(newMsg(t, "Item")); err != nil {
		t.Fatalf("UploadItems: %v", err)
	}
	invoke(ctx, t, conn, "/prodtest.v1.Open/Ping", newMsg(t, "GetItemRequest"))
	if !accessLog.WaitFor("grpc.method=Ping") {
		t.Fatalf("no access log line for Ping:\n%s", accessLog)
	}
	log := accessLog.String()
	if want := `level=WARN msg="finished call" protocol=grpc grpc.service=prodtest.v1.Open grpc.method=Ping grpc.method_type=unary peer.address=127.0.0.1:`; !strings.Contains(log, want) {
		t.Errorf("access log lacks %s:\n%s", want, log)
	}
	if strings.Contains(log, "GetItem") || strings.Contains(log, "UploadItems") {
		t.Errorf("a Warn logger got the successful calls:\n%s", log)
	}

	accessLog = &prodtest.LogBuffer{}
	addr, _ = serve(t, h, svcprod.WithAccessLog(slog.New(slog.NewTextHandler(accessLog, nil))))
	conn = dial(t, addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	upload, err = conn.NewStream(ctx, &grpc.StreamDesc{ClientStreams: true}, "/prodtest.v1.Items/UploadItems")
	if err != nil {
		t.Fatal(err)
	}
	if err := upload.CloseSend(); err != nil {
		t.Fatal(err)
	}
	if err := upload.RecvMsg(newMsg(t, "Item")); err != nil {
		t.Fatalf("UploadItems: %v", err)
	}
	want := "grpc.method=UploadItems grpc.method_type=client_stream peer.address=127.0.0.1:"
	if !accessLog.WaitFor(want) {
		t.Errorf("access log lacks %s:\n%s", want, accessLog)
	}
}

// TestTelemetrySpansAndRetryEvents calls a method that fails twice with
// Unavailable through a svcclient.Invoker that retries it: three client
// spans and three server spans, all in the caller's trace, and two "retry"
// events on the caller's span with attempt and delay.
func TestTelemetrySpansAndRetryEvents(t *testing.T) {
	exporter := tracetest.NewInMemoryExporter()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSyncer(exporter))
	defer tp.Shutdown(context.Background())
	otelOpts := []otelgrpc.Option{otelgrpc.WithTracerProvider(tp), otelgrpc.WithPropagators(propagation.TraceContext{})}

	var calls atomic.Int32
	h := func(ctx context.Context, fullMethod string, reqs []proto.Message) (proto.Message, error) {
		if calls.Add(1) <= 2 {
			return nil, status.Error(codes.Unavailable, "warming up")
		}
		return echoItem(t)(ctx, fullMethod, reqs)
	}
	addr, _ := serve(t, h, svcprod.WithTelemetry(otelOpts...))
	opts, err := svcprod.DialOptions(svcprod.ClientConfig{})
	if err != nil {
		t.Fatal(err)
	}
	conn := dial(t, addr, append(opts, svcprod.ClientTelemetry(otelOpts...)...)...)

	const method = "/prodtest.v1.Items/GetItem"
	inv := svcclient.NewInvoker([]svcclient.MethodPolicy{{
		FullMethod: method,
		Kind:       svcclient.Unary,
		Timeout:    10 * time.Second,
		Retry: svcclient.RetryPolicy{
			MaxAttempts: 5, InitialBackoff: 20 * time.Millisecond, MaxBackoff: 100 * time.Millisecond,
			BackoffMultiplier: 2, RetryableCodes: []codes.Code{codes.Unavailable},
		},
	}}, svcprod.RetrySpanEvents())
	ctx, caller := tp.Tracer("test").Start(testCtx(t), "caller")
	req, resp := newMsg(t, "GetItemRequest"), newMsg(t, "Item")
	err = inv.Unary(ctx, 0, nil, func(ctx context.Context, opts []grpc.CallOption) error {
		return conn.Invoke(ctx, method, req, resp, opts...)
	})
	caller.End()
	if err != nil {
		t.Fatalf("call with two retries: %v", err)
	}

	prodtest.WaitForServerSpans(exporter, "prodtest.v1.Items/GetItem", 3)
	var clientSpans, serverSpans int
	var callerSpan tracetest.SpanStub
	for _, s := range exporter.GetSpans() {
		switch {
		case s.Name == "caller":
			callerSpan = s
		case s.Name == "prodtest.v1.Items/GetItem" && s.SpanKind == trace.SpanKindClient:
			clientSpans++
			if s.Parent.SpanID() != caller.SpanContext().SpanID() {
				t.Errorf("client span %v is not a child of the caller's span", s.SpanContext.SpanID())
			}
		case s.Name == "prodtest.v1.Items/GetItem" && s.SpanKind == trace.SpanKindServer:
			serverSpans++
			if s.SpanContext.TraceID() != caller.SpanContext().TraceID() {
				t.Error("a server span is not in the caller's trace")
			}
		}
	}
	if clientSpans != 3 || serverSpans != 3 {
		t.Errorf("%d client and %d server spans, want 3 and 3 (one per attempt)", clientSpans, serverSpans)
	}
	var events []string
	for _, e := range callerSpan.Events {
		attrs := attribute.NewSet(e.Attributes...)
		attempt, _ := attrs.Value("svc.retry.attempt")
		delay, _ := attrs.Value("svc.retry.delay_ms")
		code, _ := attrs.Value("rpc.grpc.status_code")
		if e.Name != "retry" || delay.AsFloat64() <= 0 || code.AsInt64() != int64(codes.Unavailable) {
			t.Errorf("event %s: attempt %v, delay %v ms, code %v", e.Name, attempt.String(), delay.String(), code.String())
		}
		events = append(events, e.Name+" "+attempt.String())
	}
	if strings.Join(events, ", ") != "retry 1, retry 2" {
		t.Errorf("caller span events %q, want retry 1, retry 2", events)
	}
}

// TestDialOptions connects with DialOptions to a server that requires
// mutual TLS and a bearer token.
func TestDialOptions(t *testing.T) {
	files, err := prodtest.Write(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	tlsCfg, err := svcserver.LoadServerTLS(files.ServerCert, files.ServerKey, files.CA)
	if err != nil {
		t.Fatal(err)
	}
	checkToken := func(ctx context.Context, _ string) (context.Context, error) {
		token, err := auth.AuthFromMD(ctx, "bearer")
		if err != nil {
			return nil, err
		}
		if token != "s3cret" {
			return nil, status.Error(codes.Unauthenticated, "unknown token")
		}
		return ctx, nil
	}
	addr, _ := serve(t, echoItem(t), svcserver.WithTLS(tlsCfg), svcprod.WithAuth(checkToken))
	ctx := testCtx(t)
	call := func(cfg svcprod.ClientConfig) error {
		opts, err := svcprod.DialOptions(cfg)
		if err != nil {
			t.Fatal(err)
		}
		_, err = invoke(ctx, t, dial(t, addr, opts...), "/prodtest.v1.Items/CreateItem", newMsg(t, "CreateItemRequest"))
		return err
	}
	full := svcprod.ClientConfig{CAFile: files.CA, CertFile: files.ClientCert, KeyFile: files.ClientKey, Token: "s3cret"}
	if err := call(full); err != nil {
		t.Errorf("mTLS with a token: %v", err)
	}
	noToken := full
	noToken.Token = ""
	wantCode(t, "mTLS without a token", call(noToken), codes.Unauthenticated)
	noCert := full
	noCert.CertFile, noCert.KeyFile = "", ""
	wantCode(t, "TLS without a client certificate", call(noCert), codes.Unavailable)

	if _, err := svcprod.DialOptions(svcprod.ClientConfig{Token: "s3cret"}); err == nil {
		t.Error("DialOptions accepted a token over plaintext")
	}
	if _, err := svcprod.DialOptions(svcprod.ClientConfig{CertFile: files.ClientCert, KeyFile: files.ClientKey}); err == nil {
		t.Error("DialOptions accepted a client certificate without TLS")
	}
	if _, err := svcprod.DialOptions(svcprod.ClientConfig{Token: "dev", AllowTokenWithoutTLS: true}); err != nil {
		t.Errorf("DialOptions with AllowTokenWithoutTLS: %v", err)
	}
}

// TestClientKeepaliveFindsFrozenServer watches through a proxy that then
// freezes, as a server under SIGSTOP would: the client's keepalive ends the
// watch with Unavailable long before its deadline.
func TestClientKeepaliveFindsFrozenServer(t *testing.T) {
	testenv.Slow(t, "waits for grpc's 10s minimum keepalive interval")
	addr, _ := serve(t, echoItem(t))
	proxy, err := prodtest.NewProxy(addr)
	if err != nil {
		t.Fatal(err)
	}
	defer proxy.Close()
	// grpc-go raises client keepalive intervals below 10s to 10s.
	opts, err := svcprod.DialOptions(svcprod.ClientConfig{Keepalive: keepalive.ClientParameters{Time: 10 * time.Second, Timeout: time.Second}})
	if err != nil {
		t.Fatal(err)
	}
	conn := dial(t, proxy.Addr(), opts...)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	watch, err := conn.NewStream(ctx, &grpc.StreamDesc{ServerStreams: true}, "/prodtest.v1.Items/WatchItems")
	if err != nil {
		t.Fatal(err)
	}
	watch.SendMsg(newMsg(t, "GetItemRequest"))
	watch.CloseSend()
	if err := watch.RecvMsg(newMsg(t, "Item")); err != nil {
		t.Fatal(err)
	}
	proxy.Freeze()
	start := time.Now()
	err = watch.RecvMsg(newMsg(t, "Item"))
	took := time.Since(start)
	if status.Code(err) != codes.Unavailable || took > 20*time.Second {
		t.Fatalf("watch on a frozen server ended after %v with %v; want Unavailable within ~11s", took, err)
	}
	t.Logf("keepalive ended the watch %v after the server froze: %v", took.Round(time.Millisecond), err)
}
