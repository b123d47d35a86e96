package svcclient

import (
	"context"
	"io"
	"iter"
	"net"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/grpc/test/bufconn"
	"google.golang.org/protobuf/types/known/wrapperspb"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// finalErr is the error a call ended with, without the *AttemptsError
// that says how many attempts it made.
func finalErr(err error) error {
	if ae, ok := err.(*AttemptsError); ok {
		return ae.Err
	}
	return err
}

// The test service table: grpc's health service (unary Check and List,
// server-streaming Watch) plus a hand-written service with the two other
// kinds, in the shape generated code gives it.
const (
	uploadMethod = "/svcclient.test.Streams/Upload"
	chatMethod   = "/svcclient.test.Streams/Chat"
)

const (
	checkIdx = iota
	listIdx
	watchIdx
	uploadIdx
	chatIdx
)

// testPolicies returns a table like the generator's, with fast backoff so
// that tests using the real clock stay quick.
func testPolicies() []MethodPolicy {
	fast := RetryPolicy{
		MaxAttempts:       4,
		InitialBackoff:    time.Millisecond,
		MaxBackoff:        5 * time.Millisecond,
		BackoffMultiplier: 2,
		RetryableCodes:    []codes.Code{codes.Unavailable},
	}
	return []MethodPolicy{
		{FullMethod: healthpb.Health_Check_FullMethodName, Kind: Unary, Idempotency: NoSideEffects, Timeout: 2 * time.Second, Retry: fast.clone()},
		{FullMethod: healthpb.Health_List_FullMethodName, Kind: Unary, Idempotency: NoSideEffects, Timeout: 2 * time.Second, Retry: fast.clone()},
		{FullMethod: healthpb.Health_Watch_FullMethodName, Kind: ServerStreaming, Idempotency: NoSideEffects, Timeout: 2 * time.Second, Retry: fast.clone()},
		// Retry policies on these two must be ignored: never replayed.
		{FullMethod: uploadMethod, Kind: ClientStreaming, Timeout: 2 * time.Second, Retry: fast.clone()},
		{FullMethod: chatMethod, Kind: BidiStreaming, Timeout: 2 * time.Second, Retry: fast.clone()},
	}
}

// healthWrapper is written exactly as the generator writes wrappers; that it
// satisfies healthpb.HealthClient proves the contract keeps the signatures.
type healthWrapper struct {
	client healthpb.HealthClient
	inv    *Invoker
}

var _ healthpb.HealthClient = (*healthWrapper)(nil)

func newHealthWrapper(cc grpc.ClientConnInterface, opts ...Option) *healthWrapper {
	return &healthWrapper{client: healthpb.NewHealthClient(cc), inv: NewInvoker(testPolicies(), append([]Option{WithoutRetryThrottling()}, opts...)...)}
}

func (c *healthWrapper) Check(ctx context.Context, in *healthpb.HealthCheckRequest, opts ...grpc.CallOption) (*healthpb.HealthCheckResponse, error) {
	var out *healthpb.HealthCheckResponse
	err := c.inv.Unary(ctx, checkIdx, opts, func(ctx context.Context, opts []grpc.CallOption) error {
		var err error
		out, err = c.client.Check(ctx, in, opts...)
		return err
	})
	return out, err
}

func (c *healthWrapper) List(ctx context.Context, in *healthpb.HealthListRequest, opts ...grpc.CallOption) (*healthpb.HealthListResponse, error) {
	var out *healthpb.HealthListResponse
	err := c.inv.Unary(ctx, listIdx, opts, func(ctx context.Context, opts []grpc.CallOption) error {
		var err error
		out, err = c.client.List(ctx, in, opts...)
		return err
	})
	return out, err
}

func (c *healthWrapper) Watch(ctx context.Context, in *healthpb.HealthCheckRequest, opts ...grpc.CallOption) (grpc.ServerStreamingClient[healthpb.HealthCheckResponse], error) {
	return ServerStream(ctx, c.inv, watchIdx, opts, func(ctx context.Context, opts []grpc.CallOption) (grpc.ServerStreamingClient[healthpb.HealthCheckResponse], error) {
		return c.client.Watch(ctx, in, opts...)
	})
}

func (c *healthWrapper) WatchSeq(ctx context.Context, in *healthpb.HealthCheckRequest, opts ...grpc.CallOption) iter.Seq2[*healthpb.HealthCheckResponse, error] {
	return Seq(ctx, c.inv, watchIdx, opts, func(ctx context.Context, opts []grpc.CallOption) (grpc.ServerStreamingClient[healthpb.HealthCheckResponse], error) {
		return c.client.Watch(ctx, in, opts...)
	})
}

type i64 = wrapperspb.Int64Value

// streamsDesc is a hand-written service with a client-streaming and a bidi
// method, in place of generated code.
var streamsDesc = grpc.ServiceDesc{
	ServiceName: "svcclient.test.Streams",
	HandlerType: (*any)(nil),
	Streams: []grpc.StreamDesc{
		{
			StreamName:    "Upload",
			ClientStreams: true,
			Handler: func(srv any, st grpc.ServerStream) error {
				return srv.(*server).handleUpload(&grpc.GenericServerStream[i64, i64]{ServerStream: st})
			},
		},
		{
			StreamName:    "Chat",
			ClientStreams: true,
			ServerStreams: true,
			Handler: func(srv any, st grpc.ServerStream) error {
				return srv.(*server).handleChat(&grpc.GenericServerStream[i64, i64]{ServerStream: st})
			},
		},
	},
}

// streamsClient plays both the grpc-generated client and our wrapper for
// streamsDesc.
type streamsClient struct {
	cc  grpc.ClientConnInterface
	inv *Invoker
}

func (c *streamsClient) rawUpload(ctx context.Context, opts ...grpc.CallOption) (grpc.ClientStreamingClient[i64, i64], error) {
	st, err := c.cc.NewStream(ctx, &streamsDesc.Streams[0], uploadMethod, opts...)
	if err != nil {
		return nil, err
	}
	return &grpc.GenericClientStream[i64, i64]{ClientStream: st}, nil
}

func (c *streamsClient) rawChat(ctx context.Context, opts ...grpc.CallOption) (grpc.BidiStreamingClient[i64, i64], error) {
	st, err := c.cc.NewStream(ctx, &streamsDesc.Streams[1], chatMethod, opts...)
	if err != nil {
		return nil, err
	}
	return &grpc.GenericClientStream[i64, i64]{ClientStream: st}, nil
}

func (c *streamsClient) Upload(ctx context.Context, opts ...grpc.CallOption) (grpc.ClientStreamingClient[i64, i64], error) {
	return ClientStream(ctx, c.inv, uploadIdx, opts, c.rawUpload)
}

func (c *streamsClient) Chat(ctx context.Context, opts ...grpc.CallOption) (grpc.BidiStreamingClient[i64, i64], error) {
	return BidiStream(ctx, c.inv, chatIdx, opts, c.rawChat)
}

// server is a scriptable test server. Each handler gets the 1-based number
// of the call to its method; every call's incoming metadata and deadline
// are recorded.
type server struct {
	healthpb.UnimplementedHealthServer

	check  func(ctx context.Context, n int) (*healthpb.HealthCheckResponse, error)
	watch  func(n int, st grpc.ServerStreamingServer[healthpb.HealthCheckResponse]) error
	upload func(n int, st grpc.ClientStreamingServer[i64, i64]) error
	chat   func(n int, st grpc.BidiStreamingServer[i64, i64]) error

	mu    sync.Mutex
	calls map[string][]call
}

type call struct {
	md          metadata.MD
	deadline    time.Time
	hasDeadline bool
}

func (s *server) record(ctx context.Context, method string) int {
	md, _ := metadata.FromIncomingContext(ctx)
	dl, ok := ctx.Deadline()
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.calls == nil {
		s.calls = map[string][]call{}
	}
	s.calls[method] = append(s.calls[method], call{md: md, deadline: dl, hasDeadline: ok})
	return len(s.calls[method])
}

func (s *server) callsTo(method string) []call {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]call(nil), s.calls[method]...)
}

// retryTags returns the RetryAttemptKey values of each call to method, ""
// when absent.
func (s *server) retryTags(method string) []string {
	var tags []string
	for _, c := range s.callsTo(method) {
		v := c.md.Get(RetryAttemptKey)
		switch len(v) {
		case 0:
			tags = append(tags, "")
		case 1:
			tags = append(tags, v[0])
		default:
			tags = append(tags, "multiple")
		}
	}
	return tags
}

func (s *server) Check(ctx context.Context, _ *healthpb.HealthCheckRequest) (*healthpb.HealthCheckResponse, error) {
	n := s.record(ctx, healthpb.Health_Check_FullMethodName)
	if s.check == nil {
		return &healthpb.HealthCheckResponse{Status: healthpb.HealthCheckResponse_SERVING}, nil
	}
	return s.check(ctx, n)
}

func (s *server) Watch(_ *healthpb.HealthCheckRequest, st grpc.ServerStreamingServer[healthpb.HealthCheckResponse]) error {
	n := s.record(st.Context(), healthpb.Health_Watch_FullMethodName)
	if s.watch == nil {
		return st.Send(&healthpb.HealthCheckResponse{Status: healthpb.HealthCheckResponse_SERVING})
	}
	return s.watch(n, st)
}

func (s *server) handleUpload(st grpc.ClientStreamingServer[i64, i64]) error {
	n := s.record(st.Context(), uploadMethod)
	if s.upload != nil {
		return s.upload(n, st)
	}
	var sum int64
	for {
		m, err := st.Recv()
		if err == io.EOF {
			return st.SendAndClose(wrapperspb.Int64(sum))
		}
		if err != nil {
			return err
		}
		sum += m.GetValue()
	}
}

func (s *server) handleChat(st grpc.BidiStreamingServer[i64, i64]) error {
	n := s.record(st.Context(), chatMethod)
	if s.chat != nil {
		return s.chat(n, st)
	}
	for { // echo
		m, err := st.Recv()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
		if err := st.Send(m); err != nil {
			return err
		}
	}
}

// env is a server and a client connection over bufconn.
type env struct {
	srv    *server
	cc     *grpc.ClientConn
	health healthpb.HealthClient
	close  func()
}

func newEnv(tb testing.TB, srv *server, dialOpts ...grpc.DialOption) *env {
	tb.Helper()
	lis := bufconn.Listen(1 << 20)
	gs := grpc.NewServer()
	healthpb.RegisterHealthServer(gs, srv)
	gs.RegisterService(&streamsDesc, srv)
	go func() { _ = gs.Serve(lis) }()
	dialOpts = append([]grpc.DialOption{
		grpc.WithContextDialer(func(ctx context.Context, _ string) (net.Conn, error) { return lis.DialContext(ctx) }),
		grpc.WithTransportCredentials(insecure.NewCredentials()),
	}, dialOpts...)
	cc, err := grpc.NewClient("passthrough:///bufnet", dialOpts...)
	if err != nil {
		tb.Fatal(err)
	}
	e := &env{srv: srv, cc: cc, health: healthpb.NewHealthClient(cc)}
	e.close = sync.OnceFunc(func() {
		cc.Close()
		gs.Stop()
		lis.Close()
	})
	tb.Cleanup(e.close)
	return e
}

func (e *env) wrapper(opts ...Option) *healthWrapper { return newHealthWrapper(e.cc, opts...) }

func (e *env) streams(opts ...Option) *streamsClient {
	return &streamsClient{cc: e.cc, inv: NewInvoker(testPolicies(), append([]Option{WithoutRetryThrottling()}, opts...)...)}
}

// fakeClock has a fixed Now and records the timers it creates. Its timers
// fire at once, unless hold is set: then they never fire, and each new timer
// is announced on created.
type fakeClock struct {
	now     time.Time
	hold    bool
	created chan *fakeTimer
	log     *eventLog

	mu     sync.Mutex
	timers []*fakeTimer
}

func newFakeClock() *fakeClock { return &fakeClock{now: time.Now()} }

func (c *fakeClock) Now() time.Time { return c.now }

func (c *fakeClock) NewTimer(d time.Duration) Timer {
	t := &fakeTimer{d: d, ch: make(chan time.Time, 1)}
	if !c.hold {
		t.ch <- c.now.Add(d)
	}
	c.mu.Lock()
	c.timers = append(c.timers, t)
	c.mu.Unlock()
	if c.log != nil {
		c.log.add("timer")
	}
	if c.created != nil {
		c.created <- t
	}
	return t
}

func (c *fakeClock) delays() []time.Duration {
	c.mu.Lock()
	defer c.mu.Unlock()
	var ds []time.Duration
	for _, t := range c.timers {
		ds = append(ds, t.d)
	}
	return ds
}

type fakeTimer struct {
	d  time.Duration
	ch chan time.Time

	mu      sync.Mutex
	stopped bool
}

func (t *fakeTimer) C() <-chan time.Time { return t.ch }

func (t *fakeTimer) Stop() bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	was := !t.stopped && len(t.ch) == 0
	t.stopped = true
	return was
}

func (t *fakeTimer) isStopped() bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.stopped
}

// eventLog records the order of events from several sources.
type eventLog struct {
	mu     sync.Mutex
	events []string
}

func (l *eventLog) add(e string) {
	l.mu.Lock()
	l.events = append(l.events, e)
	l.mu.Unlock()
}

func (l *eventLog) get() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]string(nil), l.events...)
}

// fixedRand returns a jitter source that yields vs in turn, then repeats the
// last one.
func fixedRand(vs ...float64) func() float64 {
	var mu sync.Mutex
	i := 0
	return func() float64 {
		mu.Lock()
		defer mu.Unlock()
		v := vs[min(i, len(vs)-1)]
		i++
		return v
	}
}

// retryPolicy edits the retry policy of every method of the table.
func retryPolicy(edit func(*RetryPolicy)) Option {
	return WithAllPolicies(func(p *MethodPolicy) { edit(&p.Retry) })
}

func unavailable(msg string) error { return status.Error(codes.Unavailable, msg) }

// wantCode fails the test unless err is a status error with code want.
func wantCode(tb testing.TB, err error, want codes.Code) {
	tb.Helper()
	st, ok := status.FromError(err)
	if !ok {
		tb.Fatalf("error %v (%T) is not a status error, want code %v", err, err, want)
	}
	if st.Code() != want {
		tb.Fatalf("error %v has code %v, want %v", err, st.Code(), want)
	}
}

// fakeStream is a server stream without a network, for unit tests: it
// yields msgs then fails with err (io.EOF for a normal end).
type fakeStream struct {
	grpc.ClientStream // unused methods
	ctx               context.Context
	msgs              []int
	err               error
	trailer           metadata.MD
}

type msg struct{ n int }

func (f *fakeStream) Recv() (*msg, error) {
	m := new(msg)
	if err := f.RecvMsg(m); err != nil {
		return nil, err
	}
	return m, nil
}

func (f *fakeStream) RecvMsg(m any) error {
	if len(f.msgs) == 0 {
		return f.err
	}
	m.(*msg).n = f.msgs[0]
	f.msgs = f.msgs[1:]
	return nil
}

func (f *fakeStream) Trailer() metadata.MD         { return f.trailer }
func (f *fakeStream) Context() context.Context     { return f.ctx }
func (f *fakeStream) Header() (metadata.MD, error) { return nil, nil }
