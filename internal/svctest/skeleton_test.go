// Package svctest runs the generated code of proto/svctest over real gRPC
// connections: skeletons served by svcserver, called through generated
// clients.
package svctest

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	reflectionpb "google.golang.org/grpc/reflection/grpc_reflection_v1"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/emptypb"

	"github.com/svcgen/protoc-gen-svc/internal/svctest/echopb"
	"github.com/svcgen/protoc-gen-svc/svcserver"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// partialEcho embeds the skeleton and overrides some methods only, as users
// do; Post, Put, Collect and Chat stay Unimplemented.
type partialEcho struct {
	echopb.EchoSkeleton
	release chan struct{} // when non-nil, Get waits for it: an in-flight call
	started chan struct{}
}

func (s partialEcho) Get(ctx context.Context, in *echopb.EchoRequest) (*echopb.EchoResponse, error) {
	if s.release != nil {
		s.started <- struct{}{}
		select {
		case <-s.release:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
	return &echopb.EchoResponse{Message: in.GetMessage()}, nil
}

func (partialEcho) Listen(in *echopb.EchoRequest, stream grpc.ServerStreamingServer[echopb.EchoResponse]) error {
	for i := range in.GetRepeat() {
		if err := stream.Send(&echopb.EchoResponse{Message: in.GetMessage(), Index: i}); err != nil {
			return err
		}
	}
	return nil
}

func (partialEcho) Panic(context.Context, *emptypb.Empty) (*emptypb.Empty, error) {
	panic("handler bug")
}

// serving is a running svcserver on loopback and a connection to it.
type serving struct {
	conn    *grpc.ClientConn
	stop    context.CancelFunc
	served  chan error
	address string
}

func serve(t *testing.T, impl echopb.EchoServer, opts ...svcserver.Option) *serving {
	t.Helper()
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	opts = append([]svcserver.Option{svcserver.WithLogger(slog.New(slog.NewTextHandler(io.Discard, nil)))}, opts...)
	srv := svcserver.New(opts...)
	echopb.RegisterEchoServer(srv, impl)
	ctx, cancel := context.WithCancel(context.Background())
	s := &serving{stop: cancel, served: make(chan error, 1), address: lis.Addr().String()}
	go func() { s.served <- srv.Serve(ctx, lis) }()
	s.conn, err = grpc.NewClient(s.address, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		s.conn.Close()
		s.stop()
		if err := <-s.served; err != nil {
			t.Errorf("Serve: %v", err)
		}
	})
	return s
}

func wantCode(t *testing.T, err error, code codes.Code, msgContains string) {
	t.Helper()
	st, ok := status.FromError(err)
	if !ok || st.Code() != code || !strings.Contains(st.Message(), msgContains) {
		t.Errorf("got error %v, want code %s with message containing %q", err, code, msgContains)
	}
}

func TestSkeletonUnimplementedForEveryKind(t *testing.T) {
	s := serve(t, partialEcho{})
	client := echopb.NewEchoClient(s.conn)
	ctx := context.Background()

	// Overridden methods work.
	if resp, err := client.Get(ctx, &echopb.EchoRequest{Message: "hi"}); err != nil || resp.GetMessage() != "hi" {
		t.Fatalf("Get = %v, %v", resp, err)
	}
	stream, err := client.Listen(ctx, &echopb.EchoRequest{Message: "x", Repeat: 3})
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for {
		_, err := stream.Recv()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		n++
	}
	if n != 3 {
		t.Errorf("Listen sent %d messages, want 3", n)
	}

	// Unary not overridden.
	_, err = client.Post(ctx, &echopb.EchoRequest{})
	wantCode(t, err, codes.Unimplemented, echopb.Echo_Post_FullMethodName)

	// Client streaming not overridden.
	collect, err := client.Collect(ctx)
	if err != nil {
		t.Fatal(err)
	}
	_, err = collect.CloseAndRecv()
	wantCode(t, err, codes.Unimplemented, echopb.Echo_Collect_FullMethodName)

	// Bidi streaming not overridden.
	chat, err := client.Chat(ctx)
	if err != nil {
		t.Fatal(err)
	}
	_, err = chat.Recv()
	wantCode(t, err, codes.Unimplemented, echopb.Echo_Chat_FullMethodName)
}

func TestSkeletonServerStreamUnimplemented(t *testing.T) {
	s := serve(t, echopb.EchoSkeleton{})
	stream, err := echopb.NewEchoClient(s.conn).Listen(context.Background(), &echopb.EchoRequest{Repeat: 1})
	if err != nil {
		t.Fatal(err)
	}
	_, err = stream.Recv()
	wantCode(t, err, codes.Unimplemented, echopb.Echo_Listen_FullMethodName)
}

func TestPanicBecomesInternalAndServerKeepsServing(t *testing.T) {
	s := serve(t, partialEcho{})
	client := echopb.NewEchoClient(s.conn)
	for range 3 {
		_, err := client.Panic(context.Background(), &emptypb.Empty{})
		wantCode(t, err, codes.Internal, echopb.Echo_Panic_FullMethodName)
		if strings.Contains(status.Convert(err).Message(), "handler bug") {
			t.Errorf("the panic value leaked to the client: %v", err)
		}
	}
	if _, err := client.Get(context.Background(), &echopb.EchoRequest{Message: "still here"}); err != nil {
		t.Fatalf("after panics, Get failed: %v", err)
	}
}

func TestHealthAndReflection(t *testing.T) {
	s := serve(t, partialEcho{})
	health := healthpb.NewHealthClient(s.conn)
	for _, service := range []string{"", "svctest.v1.Echo"} {
		resp, err := health.Check(context.Background(), &healthpb.HealthCheckRequest{Service: service})
		if err != nil || resp.GetStatus() != healthpb.HealthCheckResponse_SERVING {
			t.Errorf("health of %q = %v, %v; want SERVING", service, resp, err)
		}
	}
	_, err := health.Check(context.Background(), &healthpb.HealthCheckRequest{Service: "no.such.Service"})
	wantCode(t, err, codes.NotFound, "")

	refl, err := reflectionpb.NewServerReflectionClient(s.conn).ServerReflectionInfo(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if err := refl.Send(&reflectionpb.ServerReflectionRequest{
		MessageRequest: &reflectionpb.ServerReflectionRequest_ListServices{},
	}); err != nil {
		t.Fatal(err)
	}
	resp, err := refl.Recv()
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, svc := range resp.GetListServicesResponse().GetService() {
		names = append(names, svc.GetName())
	}
	if !strings.Contains(strings.Join(names, ","), "svctest.v1.Echo") {
		t.Errorf("reflection lists %v, want svctest.v1.Echo among them", names)
	}
	if err := refl.CloseSend(); err != nil {
		t.Fatal(err)
	}
	if _, err := refl.Recv(); err != io.EOF {
		t.Errorf("reflection stream end = %v, want io.EOF", err)
	}
}

func TestGracefulStopFinishesInFlightCalls(t *testing.T) {
	impl := partialEcho{release: make(chan struct{}), started: make(chan struct{}, 1)}
	s := serve(t, impl)
	client := echopb.NewEchoClient(s.conn)

	inFlight := make(chan error, 1)
	go func() {
		resp, err := client.Get(context.Background(), &echopb.EchoRequest{Message: "slow"})
		if err == nil && resp.GetMessage() != "slow" {
			err = errors.New("wrong answer " + resp.GetMessage())
		}
		inFlight <- err
	}()
	<-impl.started
	s.stop()

	// New connections are refused once the server is stopping.
	deadline := time.Now().Add(5 * time.Second)
	for {
		conn, err := grpc.NewClient(s.address, grpc.WithTransportCredentials(insecure.NewCredentials()))
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
		_, err = echopb.NewEchoClient(conn).Post(ctx, &echopb.EchoRequest{})
		cancel()
		conn.Close()
		if code := status.Code(err); code == codes.Unavailable || code == codes.DeadlineExceeded {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("new calls still accepted while stopping: last error %v", err)
		}
		time.Sleep(10 * time.Millisecond)
	}

	select {
	case err := <-s.served:
		t.Fatalf("Serve returned (%v) before the in-flight call finished", err)
	case <-time.After(50 * time.Millisecond):
	}
	close(impl.release)
	if err := <-inFlight; err != nil {
		t.Fatalf("the in-flight call failed during graceful stop: %v", err)
	}
	s.served <- <-s.served // let Cleanup read Serve's result
}

func TestDrainTimeoutCutsOffSlowCalls(t *testing.T) {
	impl := partialEcho{release: make(chan struct{}), started: make(chan struct{}, 1)}
	s := serve(t, impl, svcserver.WithDrainTimeout(100*time.Millisecond))
	inFlight := make(chan error, 1)
	go func() {
		_, err := echopb.NewEchoClient(s.conn).Get(context.Background(), &echopb.EchoRequest{})
		inFlight <- err
	}()
	<-impl.started
	s.stop()
	if err := <-inFlight; status.Code(err) != codes.Unavailable && status.Code(err) != codes.Canceled {
		t.Errorf("call cut off by the drain timeout: got %v, want Unavailable or Canceled", err)
	}
	close(impl.release)
}
