package svcserver_test

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/encoding"
	testgrpc "google.golang.org/grpc/interop/grpc_testing"
	"google.golang.org/grpc/keepalive"
	"google.golang.org/grpc/mem"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/encoding/protowire"

	"github.com/svcgen/protoc-gen-svc/internal/prodtest"
	"github.com/svcgen/protoc-gen-svc/svcserver"
)

// testService answers UnaryCall with a payload of the requested size, or
// with the error that errFor returns for the request's response_status
// message; StreamingOutputCall waits until its context ends.
type testService struct {
	testgrpc.UnimplementedTestServiceServer
	errFor   func(msg string) error
	streamed chan context.Context
}

func (s *testService) UnaryCall(ctx context.Context, req *testgrpc.SimpleRequest) (*testgrpc.SimpleResponse, error) {
	if msg := req.GetResponseStatus().GetMessage(); msg != "" && s.errFor != nil {
		if err := s.errFor(msg); err != nil {
			return nil, err
		}
	}
	return &testgrpc.SimpleResponse{Payload: &testgrpc.Payload{Body: make([]byte, req.GetResponseSize())}}, nil
}

func (s *testService) StreamingOutputCall(req *testgrpc.StreamingOutputCallRequest, stream testgrpc.TestService_StreamingOutputCallServer) error {
	if err := stream.Send(&testgrpc.StreamingOutputCallResponse{}); err != nil {
		return err
	}
	s.streamed <- stream.Context()
	<-stream.Context().Done()
	return stream.Context().Err()
}

// serveTest starts a svcserver.Server with the test service on a loopback
// port and returns its address and its log.
func serveTest(t *testing.T, svc *testService, opts ...svcserver.Option) (string, *prodtest.LogBuffer) {
	t.Helper()
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	logs := &prodtest.LogBuffer{}
	logger := slog.New(slog.NewTextHandler(logs, nil))
	srv := svcserver.New(append([]svcserver.Option{svcserver.WithLogger(logger), svcserver.WithDrainTimeout(time.Second)}, opts...)...)
	testgrpc.RegisterTestServiceServer(srv, svc)
	ctx, cancel := context.WithCancel(context.Background())
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ctx, lis) }()
	t.Cleanup(func() {
		cancel()
		if err := <-served; err != nil {
			t.Errorf("Serve: %v", err)
		}
		if t.Failed() {
			t.Logf("server log:\n%s", logs.String())
		}
	})
	return lis.Addr().String(), logs
}

func connect(t *testing.T, addr string, opts ...grpc.DialOption) testgrpc.TestServiceClient {
	t.Helper()
	if len(opts) == 0 {
		opts = []grpc.DialOption{grpc.WithTransportCredentials(insecure.NewCredentials())}
	}
	conn, err := grpc.NewClient(addr, opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	return testgrpc.NewTestServiceClient(conn)
}

func testCtx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func clientTLS(t *testing.T, caFile, certFile, keyFile string) grpc.DialOption {
	t.Helper()
	pool, err := svcserver.LoadCertPool(caFile)
	if err != nil {
		t.Fatal(err)
	}
	cfg := &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}
	if certFile != "" {
		cert, err := tls.LoadX509KeyPair(certFile, keyFile)
		if err != nil {
			t.Fatal(err)
		}
		cfg.Certificates = []tls.Certificate{cert}
	}
	return grpc.WithTransportCredentials(credentials.NewTLS(cfg))
}

// TestTLSAndMutualTLS makes real TLS handshakes: a client that trusts the
// server's CA gets in over TLS; with a client CA configured only clients
// with a certificate signed by it do; plaintext clients never do.
func TestTLSAndMutualTLS(t *testing.T) {
	files, err := prodtest.Write(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	ctx := testCtx(t)
	call := func(c testgrpc.TestServiceClient) error {
		_, err := c.UnaryCall(ctx, &testgrpc.SimpleRequest{})
		return err
	}

	t.Run("tls", func(t *testing.T) {
		cfg, err := svcserver.LoadServerTLS(files.ServerCert, files.ServerKey, "")
		if err != nil {
			t.Fatal(err)
		}
		addr, logs := serveTest(t, &testService{}, svcserver.WithTLS(cfg))
		if err := call(connect(t, addr, clientTLS(t, files.CA, "", ""))); err != nil {
			t.Errorf("TLS client: %v", err)
		}
		if err := call(connect(t, addr, clientTLS(t, files.OtherCA, "", ""))); status.Code(err) != codes.Unavailable {
			t.Errorf("client that does not trust the server's CA: %v, want Unavailable", err)
		}
		if err := call(connect(t, addr)); status.Code(err) != codes.Unavailable {
			t.Errorf("plaintext client: %v, want Unavailable", err)
		}
		if !strings.Contains(logs.String(), "transport=tls") {
			t.Errorf("log lacks transport=tls:\n%s", logs)
		}
	})

	t.Run("mtls", func(t *testing.T) {
		cfg, err := svcserver.LoadServerTLS(files.ServerCert, files.ServerKey, files.CA)
		if err != nil {
			t.Fatal(err)
		}
		addr, logs := serveTest(t, &testService{}, svcserver.WithTLS(cfg))
		if err := call(connect(t, addr, clientTLS(t, files.CA, files.ClientCert, files.ClientKey))); err != nil {
			t.Errorf("client with a certificate from the client CA: %v", err)
		}
		if err := call(connect(t, addr, clientTLS(t, files.CA, "", ""))); status.Code(err) != codes.Unavailable {
			t.Errorf("client without a certificate: %v, want Unavailable", err)
		}
		if err := call(connect(t, addr, clientTLS(t, files.CA, files.OtherClientCert, files.OtherClientKey))); status.Code(err) != codes.Unavailable {
			t.Errorf("client with a certificate from another CA: %v, want Unavailable", err)
		}
		if !strings.Contains(logs.String(), "transport=mtls") {
			t.Errorf("log lacks transport=mtls:\n%s", logs)
		}
	})

	t.Run("plaintext says so", func(t *testing.T) {
		addr, logs := serveTest(t, &testService{})
		if err := call(connect(t, addr)); err != nil {
			t.Fatal(err)
		}
		if log := logs.String(); !strings.Contains(log, "level=WARN") || !strings.Contains(log, "transport=plaintext") {
			t.Errorf("a plaintext server does not warn about it:\n%s", log)
		}
	})

	if _, err := svcserver.LoadServerTLS(files.ServerCert, files.ServerKey, files.ServerKey); err == nil {
		t.Error("LoadServerTLS accepted a key file as client CA")
	}
}

// errSecret is what a careless handler returns: a plain Go error whose
// text names internal things.
var errSecret = errors.New("open /srv/app/secrets/db.conf: permission denied (postgres://admin@10.0.0.7)")

// TestNonStatusErrorsBecomeInternal checks that the text of a plain Go error
// never reaches the client, that the server logs it in full, and that
// status errors and context errors keep their codes.
func TestNonStatusErrorsBecomeInternal(t *testing.T) {
	svc := &testService{errFor: func(msg string) error {
		switch msg {
		case "plain":
			return errSecret
		case "wrapped":
			return fmt.Errorf("loading: %w", errSecret)
		case "status":
			return status.Error(codes.NotFound, "no such thing")
		case "deadline":
			return fmt.Errorf("querying 10.0.0.7: %w", context.DeadlineExceeded)
		case "panic":
			panic(errSecret)
		}
		return nil
	}}
	addr, logs := serveTest(t, svc)
	client := connect(t, addr)
	ctx := testCtx(t)
	for _, tc := range []struct {
		msg  string
		code codes.Code
	}{
		{"plain", codes.Internal},
		{"wrapped", codes.Internal},
		{"panic", codes.Internal},
		{"status", codes.NotFound},
		{"deadline", codes.DeadlineExceeded},
	} {
		_, err := client.UnaryCall(ctx, &testgrpc.SimpleRequest{ResponseStatus: &testgrpc.EchoStatus{Message: tc.msg}})
		st := status.Convert(err)
		if st.Code() != tc.code {
			t.Errorf("%s: %v, want %v", tc.msg, err, tc.code)
		}
		if strings.Contains(st.Message(), "secrets") || strings.Contains(st.Message(), "postgres") || strings.Contains(st.Message(), "10.0.0.7") {
			t.Errorf("%s: the client sees the internal error: %q", tc.msg, st.Message())
		}
		if tc.code == codes.Internal && st.Message() != "internal error in /grpc.testing.TestService/UnaryCall" {
			t.Errorf("%s: message %q, want \"internal error in\" and the method", tc.msg, st.Message())
		}
	}
	log := logs.String()
	if strings.Count(log, "db.conf") < 3 || !strings.Contains(log, "method=/grpc.testing.TestService/UnaryCall") {
		t.Errorf("server log lacks the full errors with their method:\n%s", log)
	}
}

// rawCodec sends bytes as they are, to put a malformed message on the wire.
type rawCodec struct{}

func (rawCodec) Marshal(v any) (mem.BufferSlice, error) {
	return mem.BufferSlice{mem.SliceBuffer(*v.(*[]byte))}, nil
}
func (rawCodec) Unmarshal(data mem.BufferSlice, v any) error {
	*v.(*[]byte) = data.Materialize()
	return nil
}
func (rawCodec) Name() string { return "proto" }

var _ encoding.CodecV2 = rawCodec{}

// TestMalformedRequestIsLogged sends a SimpleRequest whose string field
// holds invalid UTF-8: grpc refuses it before any handler runs, and the
// server logs it with the method and the peer.
func TestMalformedRequestIsLogged(t *testing.T) {
	addr, logs := serveTest(t, &testService{})
	conn, err := grpc.NewClient(addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	// response_status (7) { message (2): "\xff" }
	inner := protowire.AppendBytes(protowire.AppendTag(nil, 2, protowire.BytesType), []byte{0xff, 'x'})
	req := protowire.AppendBytes(protowire.AppendTag(nil, 7, protowire.BytesType), inner)
	var resp []byte
	err = conn.Invoke(testCtx(t), "/grpc.testing.TestService/UnaryCall", &req, &resp, grpc.ForceCodecV2(rawCodec{}))
	if status.Code(err) != codes.Internal {
		t.Fatalf("malformed request: %v, want grpc's Internal", err)
	}
	if !logs.WaitFor(`msg="malformed request" method=/grpc.testing.TestService/UnaryCall`) {
		t.Fatalf("the malformed request was not logged:\n%s", logs)
	}
	if !strings.Contains(logs.String(), "peer=127.0.0.1:") || !strings.Contains(logs.String(), "invalid UTF-8") {
		t.Errorf("log line lacks the peer or the reason:\n%s", logs)
	}
}

// TestMessageSizeLimits checks the documented defaults (4 MiB each way) and
// WithMessageSizeLimits.
func TestMessageSizeLimits(t *testing.T) {
	const big = 5 << 20
	ctx := testCtx(t)
	bigClient := func(addr string) testgrpc.TestServiceClient {
		return connect(t, addr, grpc.WithTransportCredentials(insecure.NewCredentials()),
			grpc.WithDefaultCallOptions(grpc.MaxCallRecvMsgSize(64<<20)))
	}

	addr, logs := serveTest(t, &testService{})
	client := bigClient(addr)
	_, err := client.UnaryCall(ctx, &testgrpc.SimpleRequest{Payload: &testgrpc.Payload{Body: make([]byte, big)}})
	if status.Code(err) != codes.ResourceExhausted {
		t.Errorf("5 MiB request: %v, want ResourceExhausted", err)
	}
	_, err = client.UnaryCall(ctx, &testgrpc.SimpleRequest{ResponseSize: big})
	if status.Code(err) != codes.ResourceExhausted || !strings.Contains(status.Convert(err).Message(), "trying to send message larger than max") {
		t.Errorf("5 MiB answer: %v, want ResourceExhausted from the server's send limit", err)
	}
	if _, err := client.UnaryCall(ctx, &testgrpc.SimpleRequest{ResponseSize: 3 << 20, Payload: &testgrpc.Payload{Body: make([]byte, 3<<20)}}); err != nil {
		t.Errorf("3 MiB each way: %v", err)
	}
	if !logs.WaitFor(`msg="answer over the send limit" method=/grpc.testing.TestService/UnaryCall`) {
		t.Errorf("the oversized answer was not logged:\n%s", logs)
	}

	addr, _ = serveTest(t, &testService{}, svcserver.WithMessageSizeLimits(16<<20, 16<<20))
	client = bigClient(addr)
	if _, err := client.UnaryCall(ctx, &testgrpc.SimpleRequest{ResponseSize: big, Payload: &testgrpc.Payload{Body: make([]byte, big)}}); err != nil {
		t.Errorf("5 MiB each way with 16 MiB limits: %v", err)
	}
}

// TestKeepaliveFindsFrozenClient opens a stream through a proxy, freezes
// the proxy (the client looks like a stopped process), and expects the
// server's keepalive to end the call.
func TestKeepaliveFindsFrozenClient(t *testing.T) {
	svc := &testService{streamed: make(chan context.Context, 1)}
	addr, _ := serveTest(t, svc, svcserver.WithKeepalive(
		keepalive.ServerParameters{Time: time.Second, Timeout: time.Second},
		svcserver.DefaultKeepaliveEnforcement))
	proxy, err := prodtest.NewProxy(addr)
	if err != nil {
		t.Fatal(err)
	}
	defer proxy.Close()
	ctx, cancel := context.WithCancel(testCtx(t))
	defer cancel()
	stream, err := connect(t, proxy.Addr()).StreamingOutputCall(ctx, &testgrpc.StreamingOutputCallRequest{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := stream.Recv(); err != nil {
		t.Fatal(err)
	}
	serverCtx := <-svc.streamed
	proxy.Freeze()
	start := time.Now()
	select {
	case <-serverCtx.Done():
		t.Logf("the server ended the call %v after the client froze", time.Since(start).Round(time.Millisecond))
	case <-time.After(10 * time.Second):
		t.Fatal("the server's call still runs 10s after its client froze")
	}
}

func TestKeepaliveAccessor(t *testing.T) {
	if got := svcserver.New().Keepalive(); got != svcserver.DefaultKeepaliveParams {
		t.Errorf("Keepalive() = %+v, want the defaults", got)
	}
	params := keepalive.ServerParameters{Time: time.Minute, Timeout: 5 * time.Second}
	if got := svcserver.New(svcserver.WithKeepalive(params, svcserver.DefaultKeepaliveEnforcement)).Keepalive(); got != params {
		t.Errorf("Keepalive() = %+v, want %+v", got, params)
	}
}
