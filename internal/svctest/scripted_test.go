package svctest

import (
	"context"
	"errors"
	"io"
	"net"
	"sync"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/test/bufconn"

	"github.com/svcgen/protoc-gen-svc/internal/svctest/echopb"
	"github.com/svcgen/protoc-gen-svc/svcclient"
)

// attempt is what the scripted server saw of one attempt of a call.
type attempt struct {
	start       time.Time // when the handler started
	deadline    time.Time // the handler context's deadline, if hasDeadline
	hasDeadline bool
	retryTag    []string // the values of svcclient.RetryAttemptKey in the incoming metadata
}

// scripted is an Echo server whose answers a test scripts per attempt. Every
// handler records its attempt (start, deadline, retry tag) under the method's
// full name before running the script, so that when a call returns, the
// server's record of it is complete. A nil script gives a plain echo.
type scripted struct {
	echopb.EchoSkeleton

	// unary answers attempt n (1-based, counted per method) of Get, Post or
	// Put, named by their full method name.
	unary func(ctx context.Context, method string, n int, in *echopb.EchoRequest) (*echopb.EchoResponse, error)
	// listen answers attempt n of Listen.
	listen func(n int, in *echopb.EchoRequest, stream grpc.ServerStreamingServer[echopb.EchoResponse]) error
	// collect answers attempt n of Collect.
	collect func(n int, stream grpc.ClientStreamingServer[echopb.EchoRequest, echopb.EchoResponse]) error
	// chat answers attempt n of Chat.
	chat func(n int, stream grpc.BidiStreamingServer[echopb.EchoRequest, echopb.EchoResponse]) error

	mu       sync.Mutex
	attempts map[string][]attempt
}

var _ echopb.EchoServer = (*scripted)(nil)

// record notes an attempt of method and returns its 1-based number.
func (s *scripted) record(ctx context.Context, method string) int {
	a := attempt{start: time.Now()}
	a.deadline, a.hasDeadline = ctx.Deadline()
	if md, ok := metadata.FromIncomingContext(ctx); ok {
		a.retryTag = md.Get(svcclient.RetryAttemptKey)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.attempts == nil {
		s.attempts = make(map[string][]attempt)
	}
	s.attempts[method] = append(s.attempts[method], a)
	return len(s.attempts[method])
}

// seen returns the attempts of method so far.
func (s *scripted) seen(method string) []attempt {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]attempt(nil), s.attempts[method]...)
}

// count returns the number of attempts of method so far.
func (s *scripted) count(method string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.attempts[method])
}

func (s *scripted) handleUnary(ctx context.Context, method string, in *echopb.EchoRequest) (*echopb.EchoResponse, error) {
	n := s.record(ctx, method)
	if s.unary != nil {
		return s.unary(ctx, method, n, in)
	}
	return &echopb.EchoResponse{Message: in.GetMessage(), Index: int32(n)}, nil
}

func (s *scripted) Get(ctx context.Context, in *echopb.EchoRequest) (*echopb.EchoResponse, error) {
	return s.handleUnary(ctx, echopb.Echo_Get_FullMethodName, in)
}

func (s *scripted) Post(ctx context.Context, in *echopb.EchoRequest) (*echopb.EchoResponse, error) {
	return s.handleUnary(ctx, echopb.Echo_Post_FullMethodName, in)
}

func (s *scripted) Put(ctx context.Context, in *echopb.EchoRequest) (*echopb.EchoResponse, error) {
	return s.handleUnary(ctx, echopb.Echo_Put_FullMethodName, in)
}

func (s *scripted) Lookup(ctx context.Context, in *echopb.EchoRequest) (*echopb.EchoResponse, error) {
	return s.handleUnary(ctx, echopb.Echo_Lookup_FullMethodName, in)
}

func (s *scripted) Listen(in *echopb.EchoRequest, stream grpc.ServerStreamingServer[echopb.EchoResponse]) error {
	n := s.record(stream.Context(), echopb.Echo_Listen_FullMethodName)
	if s.listen != nil {
		return s.listen(n, in, stream)
	}
	return sendN(stream, in.GetMessage(), int(in.GetRepeat()))
}

func (s *scripted) Collect(stream grpc.ClientStreamingServer[echopb.EchoRequest, echopb.EchoResponse]) error {
	n := s.record(stream.Context(), echopb.Echo_Collect_FullMethodName)
	if s.collect != nil {
		return s.collect(n, stream)
	}
	var got int32
	var last string
	for {
		in, err := stream.Recv()
		if err == io.EOF {
			return stream.SendAndClose(&echopb.EchoResponse{Message: last, Index: got})
		}
		if err != nil {
			return err
		}
		got++
		last = in.GetMessage()
	}
}

func (s *scripted) Chat(stream grpc.BidiStreamingServer[echopb.EchoRequest, echopb.EchoResponse]) error {
	n := s.record(stream.Context(), echopb.Echo_Chat_FullMethodName)
	if s.chat != nil {
		return s.chat(n, stream)
	}
	for i := int32(0); ; i++ {
		in, err := stream.Recv()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
		if err := stream.Send(&echopb.EchoResponse{Message: in.GetMessage(), Index: i}); err != nil {
			return err
		}
	}
}

// sendN sends n messages numbered from 0.
func sendN(stream grpc.ServerStreamingServer[echopb.EchoResponse], msg string, n int) error {
	for i := range n {
		if err := stream.Send(&echopb.EchoResponse{Message: msg, Index: int32(i)}); err != nil {
			return err
		}
	}
	return nil
}

// bufServer serves impl on a plain grpc.Server over bufconn, with a client
// connection to it. stop closes both and waits for Serve to return; it is
// idempotent and also runs at cleanup.
type bufServer struct {
	conn *grpc.ClientConn
	stop func()
}

func startBufServer(tb testing.TB, impl echopb.EchoServer, dialOpts ...grpc.DialOption) *bufServer {
	tb.Helper()
	lis := bufconn.Listen(1 << 20)
	srv := grpc.NewServer()
	echopb.RegisterEchoServer(srv, impl)
	served := make(chan error, 1)
	go func() { served <- srv.Serve(lis) }()
	dialOpts = append([]grpc.DialOption{
		grpc.WithContextDialer(func(ctx context.Context, _ string) (net.Conn, error) { return lis.DialContext(ctx) }),
		grpc.WithTransportCredentials(insecure.NewCredentials()),
	}, dialOpts...)
	conn, err := grpc.NewClient("passthrough:///bufnet", dialOpts...)
	if err != nil {
		srv.Stop()
		tb.Fatal(err)
	}
	var once sync.Once
	b := &bufServer{conn: conn}
	b.stop = func() {
		once.Do(func() {
			conn.Close()
			srv.Stop()
			if err := <-served; err != nil && !errors.Is(err, grpc.ErrServerStopped) {
				tb.Errorf("Serve: %v", err)
			}
		})
	}
	tb.Cleanup(b.stop)
	return b
}
