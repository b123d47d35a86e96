package svcclient

import (
	"context"
	"errors"
	"io"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"go.uber.org/goleak"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/wrapperspb"
)

type watchServer = grpc.ServerStreamingServer[healthpb.HealthCheckResponse]

func serving() *healthpb.HealthCheckResponse {
	return &healthpb.HealthCheckResponse{Status: healthpb.HealthCheckResponse_SERVING}
}

// recvAll drains a stream, returning the number of messages and the error
// that ended it.
func recvAll[T any](st grpc.ServerStreamingClient[T]) (int, error) {
	for n := 0; ; n++ {
		if _, err := st.Recv(); err != nil {
			return n, err
		}
	}
}

// TestServerStreamRetriesBeforeFirstMessage proves that a server stream whose
// first message failed with a retryable code is reopened, with the retry tag,
// and then delivers everything.
func TestServerStreamRetriesBeforeFirstMessage(t *testing.T) {
	e := newEnv(t, &server{watch: func(n int, st watchServer) error {
		if n < 3 {
			return unavailable("down")
		}
		for i := 0; i < 3; i++ {
			if err := st.Send(serving()); err != nil {
				return err
			}
		}
		return nil
	}})
	clock := newFakeClock()
	st, err := e.wrapper(WithClock(clock)).Watch(context.Background(), &healthpb.HealthCheckRequest{})
	if err != nil {
		t.Fatal(err)
	}
	if n, err := recvAll(st); n != 3 || err != io.EOF {
		t.Fatalf("received %d messages, then %v; want 3, io.EOF", n, err)
	}
	if diff := cmp.Diff([]string{"", "1", "2"}, e.srv.retryTags(healthpb.Health_Watch_FullMethodName)); diff != "" {
		t.Errorf("retry tags (-want +got):\n%s", diff)
	}
	if len(clock.delays()) != 2 {
		t.Errorf("waits %v, want 2", clock.delays())
	}
}

// TestServerStreamNoRetryAfterFirstMessage proves that once a message
// reached the caller, a retryable failure is returned as is.
func TestServerStreamNoRetryAfterFirstMessage(t *testing.T) {
	e := newEnv(t, &server{watch: func(n int, st watchServer) error {
		if err := st.Send(serving()); err != nil {
			return err
		}
		return unavailable("gone")
	}})
	st, err := e.wrapper(WithClock(newFakeClock())).Watch(context.Background(), &healthpb.HealthCheckRequest{})
	if err != nil {
		t.Fatal(err)
	}
	n, err := recvAll(st)
	if n != 1 {
		t.Errorf("received %d messages, want 1", n)
	}
	wantCode(t, err, codes.Unavailable)
	if got := len(e.srv.callsTo(healthpb.Health_Watch_FullMethodName)); got != 1 {
		t.Errorf("%d attempts, want 1", got)
	}

	// The same without a network, where error identity can be checked.
	final := unavailable("gone")
	inv := NewInvoker(testPolicies(), WithoutRetryThrottling(), WithClock(newFakeClock()))
	opens := 0
	fs, err := ServerStream(context.Background(), inv, watchIdx, nil, func(ctx context.Context, _ []grpc.CallOption) (grpc.ServerStreamingClient[msg], error) {
		opens++
		return &fakeStream{ctx: ctx, msgs: []int{1}, err: final}, nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if n, err := recvAll(fs); n != 1 || err != final || opens != 1 {
		t.Errorf("%d messages, error %v, %d opens; want 1, the stream's error value, 1", n, err, opens)
	}
}

// TestServerStreamRecvRetriesBounded proves that failures of the first
// receive are retried up to MaxAttempts, that the last error is returned
// unchanged, and that the ended stream keeps returning it without new
// attempts.
func TestServerStreamRecvRetriesBounded(t *testing.T) {
	inv := NewInvoker(testPolicies(), WithoutRetryThrottling(), WithClock(newFakeClock()))
	var errs []error
	st, err := ServerStream(context.Background(), inv, watchIdx, nil, func(ctx context.Context, _ []grpc.CallOption) (grpc.ServerStreamingClient[msg], error) {
		errs = append(errs, unavailable("down"))
		return &fakeStream{ctx: ctx, err: errs[len(errs)-1]}, nil
	})
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 3; i++ {
		if _, err := st.Recv(); finalErr(err) != errs[len(errs)-1] {
			t.Fatalf("Recv #%d: %v, want the last attempt's error value", i+1, err)
		}
	}
	if len(errs) != 4 {
		t.Errorf("%d attempts, want 4", len(errs))
	}
}

// TestServerStreamOpenRetry proves that failures to open the stream are
// retried per policy, bounded by MaxAttempts, with the last error returned
// unchanged, and that non-retryable ones are not.
func TestServerStreamOpenRetry(t *testing.T) {
	for _, tc := range []struct {
		name      string
		failures  int
		code      codes.Code
		wantOpens int
		wantErr   bool
	}{
		{"recovers", 2, codes.Unavailable, 3, false},
		{"bounded", 10, codes.Unavailable, 4, true},
		{"not retryable", 10, codes.PermissionDenied, 1, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			inv := NewInvoker(testPolicies(), WithoutRetryThrottling(), WithClock(newFakeClock()))
			var errs []error
			st, err := ServerStream(context.Background(), inv, watchIdx, nil, func(ctx context.Context, _ []grpc.CallOption) (grpc.ServerStreamingClient[msg], error) {
				if len(errs) < tc.failures {
					errs = append(errs, status.Error(tc.code, "no"))
					return nil, errs[len(errs)-1]
				}
				errs = append(errs, nil)
				return &fakeStream{ctx: ctx, msgs: []int{7}, err: io.EOF}, nil
			})
			if len(errs) != tc.wantOpens {
				t.Errorf("%d opens, want %d", len(errs), tc.wantOpens)
			}
			if tc.wantErr {
				if err == nil || finalErr(err) != errs[len(errs)-1] {
					t.Errorf("error %v, want the last open's error value", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if n, err := recvAll(st); n != 1 || err != io.EOF {
				t.Errorf("%d messages then %v, want 1, io.EOF", n, err)
			}
		})
	}
}

// TestServerStreamReleasesContexts proves that each attempt's context is
// released when the attempt fails, and the stream's when it ends, whether
// by io.EOF or by an error, and that the pushback trailer of a stream is
// honoured.
func TestServerStreamReleasesContexts(t *testing.T) {
	for _, end := range []error{io.EOF, status.Error(codes.Internal, "boom")} {
		t.Run(status.Code(end).String(), func(t *testing.T) {
			clock := newFakeClock()
			inv := NewInvoker(testPolicies(), WithoutRetryThrottling(), WithClock(clock))
			var ctxs []context.Context
			var firstLiveAtSecond bool
			st, err := ServerStream(context.Background(), inv, watchIdx, nil, func(ctx context.Context, _ []grpc.CallOption) (grpc.ServerStreamingClient[msg], error) {
				ctxs = append(ctxs, ctx)
				if len(ctxs) == 1 {
					return &fakeStream{ctx: ctx, err: unavailable("x"), trailer: metadata.Pairs(pushbackKey, "42")}, nil
				}
				firstLiveAtSecond = ctxs[0].Err() == nil
				return &fakeStream{ctx: ctx, msgs: []int{1, 2}, err: end}, nil
			})
			if err != nil {
				t.Fatal(err)
			}
			n, err := recvAll(st)
			if n != 2 || err != end {
				t.Fatalf("%d messages then %v, want 2, %v", n, err, end)
			}
			if len(ctxs) != 2 || firstLiveAtSecond {
				t.Errorf("%d attempts, first live at second open: %v; want 2, false", len(ctxs), firstLiveAtSecond)
			}
			if ctxs[1].Err() == nil {
				t.Error("stream context still live after the stream ended")
			}
			if diff := cmp.Diff([]time.Duration{42 * time.Millisecond}, clock.delays()); diff != "" {
				t.Errorf("waits (-want +got):\n%s", diff)
			}
		})
	}
}

// TestSeq proves the iterator form: all messages then a clean end, one
// (nil, err) for a failure, retries before the first message, and a new
// call for every range.
func TestSeq(t *testing.T) {
	e := newEnv(t, &server{watch: func(n int, st watchServer) error {
		switch n {
		case 1: // retried: no message yet
			return unavailable("down")
		case 2:
			for i := 0; i < 3; i++ {
				if err := st.Send(serving()); err != nil {
					return err
				}
			}
			return nil
		default:
			if err := st.Send(serving()); err != nil {
				return err
			}
			return status.Error(codes.DataLoss, "broken")
		}
	}})
	w := e.wrapper(WithClock(newFakeClock()))
	seq := w.WatchSeq(context.Background(), &healthpb.HealthCheckRequest{})

	var got []string
	for m, err := range seq {
		if err != nil {
			got = append(got, status.Code(err).String())
			continue
		}
		got = append(got, m.GetStatus().String())
	}
	if diff := cmp.Diff([]string{"SERVING", "SERVING", "SERVING"}, got); diff != "" {
		t.Errorf("first range (-want +got):\n%s", diff)
	}

	got = nil
	for m, err := range seq {
		if err != nil {
			if m != nil {
				t.Error("message with error")
			}
			got = append(got, status.Code(err).String())
			continue
		}
		got = append(got, m.GetStatus().String())
	}
	if diff := cmp.Diff([]string{"SERVING", "DataLoss"}, got); diff != "" {
		t.Errorf("second range (-want +got):\n%s", diff)
	}
	if n := len(e.srv.callsTo(healthpb.Health_Watch_FullMethodName)); n != 3 {
		t.Errorf("%d calls, want 3", n)
	}

	t.Run("open error", func(t *testing.T) {
		inv := NewInvoker(testPolicies(), WithoutRetryThrottling(), WithClock(newFakeClock()))
		want := status.Error(codes.NotFound, "no")
		var errs []error
		for m, err := range Seq(context.Background(), inv, watchIdx, nil, func(context.Context, []grpc.CallOption) (grpc.ServerStreamingClient[msg], error) {
			return nil, want
		}) {
			if m != nil {
				t.Error("unexpected message")
			}
			errs = append(errs, err)
		}
		if len(errs) != 1 || finalErr(errs[0]) != want {
			t.Errorf("yielded %v, want exactly the open error", errs)
		}
	})
}

// TestSeqEarlyBreak proves that breaking out of the loop cancels the call
// (the server sees it) and leaves nothing behind.
func TestSeqEarlyBreak(t *testing.T) {
	ignore := goleak.IgnoreCurrent()
	serverDone := make(chan error, 1)
	e := newEnv(t, &server{watch: func(_ int, st watchServer) error {
		for { // endless until the client goes away
			if err := st.Send(serving()); err != nil {
				serverDone <- err
				return err
			}
			select {
			case <-st.Context().Done():
				serverDone <- st.Context().Err()
				return st.Context().Err()
			case <-time.After(time.Millisecond):
			}
		}
	}})
	// No timeout, so only the break can end the stream.
	w := e.wrapper(WithAllPolicies(func(p *MethodPolicy) { p.Timeout = 0 }))
	n := 0
	for _, err := range w.WatchSeq(context.Background(), &healthpb.HealthCheckRequest{}) {
		if err != nil {
			t.Fatal(err)
		}
		if n++; n == 2 {
			break
		}
	}
	select {
	case <-serverDone:
	case <-time.After(5 * time.Second):
		t.Fatal("server stream still running after the consumer broke out")
	}
	e.close()
	goleak.VerifyNone(t, ignore)
}

// TestClientStream proves that a client-streaming call gets the deadline,
// works, is never replayed even when its failure is retryable, and releases
// its context when CloseAndRecv returns.
func TestClientStream(t *testing.T) {
	e := newEnv(t, &server{upload: func(n int, st grpc.ClientStreamingServer[i64, i64]) error {
		var sum int64
		for {
			m, err := st.Recv()
			if err == io.EOF {
				break
			}
			if err != nil {
				return err
			}
			sum += m.GetValue()
		}
		if sum < 0 {
			return unavailable("negative")
		}
		return st.SendAndClose(wrapperspb.Int64(sum))
	}})
	c := e.streams(WithClock(newFakeClock()))
	var opened context.Context
	upload := func(ctx context.Context, opts ...grpc.CallOption) (grpc.ClientStreamingClient[i64, i64], error) {
		opened = ctx
		return c.rawUpload(ctx, opts...)
	}
	send := func(vs ...int64) (*i64, error) {
		st, err := ClientStream(context.Background(), c.inv, uploadIdx, []grpc.CallOption{WithRetryPolicy(DefaultRetryPolicy())}, upload)
		if err != nil {
			return nil, err
		}
		if dl, ok := opened.Deadline(); !ok || time.Until(dl) > 2*time.Second {
			t.Errorf("stream deadline %v (set %v), want within 2s", dl, ok)
		}
		for _, v := range vs {
			if err := st.Send(wrapperspb.Int64(v)); err != nil {
				return nil, err
			}
		}
		if opened.Err() != nil {
			t.Error("context released before the stream ended")
		}
		m, err := st.CloseAndRecv()
		if opened.Err() == nil {
			t.Error("context not released after CloseAndRecv")
		}
		return m, err
	}

	m, err := send(1, 2, 3)
	if err != nil || m.GetValue() != 6 {
		t.Fatalf("sum %v, %v; want 6", m.GetValue(), err)
	}
	_, err = send(-1)
	wantCode(t, err, codes.Unavailable)
	if diff := cmp.Diff([]string{"", ""}, e.srv.retryTags(uploadMethod)); diff != "" {
		t.Errorf("calls/retry tags (-want +got):\n%s", diff)
	}
}

// TestClientStreamRecvMsg proves that RecvMsg, the other way to get the
// response, also releases the context.
func TestClientStreamRecvMsg(t *testing.T) {
	e := newEnv(t, &server{})
	c := e.streams()
	var opened context.Context
	st, err := ClientStream(context.Background(), c.inv, uploadIdx, nil, func(ctx context.Context, opts ...grpc.CallOption) (grpc.ClientStreamingClient[i64, i64], error) {
		opened = ctx
		return c.rawUpload(ctx, opts...)
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := st.Send(wrapperspb.Int64(5)); err != nil {
		t.Fatal(err)
	}
	if err := st.CloseSend(); err != nil {
		t.Fatal(err)
	}
	var m i64
	if err := st.RecvMsg(&m); err != nil || m.GetValue() != 5 {
		t.Fatalf("got %v, %v; want 5", m.GetValue(), err)
	}
	if opened.Err() == nil {
		t.Error("context not released after RecvMsg")
	}
}

// TestBidiStream proves that a bidi call gets the deadline, works, is never
// replayed, and releases its context when receiving ends.
func TestBidiStream(t *testing.T) {
	e := newEnv(t, &server{chat: func(n int, st grpc.BidiStreamingServer[i64, i64]) error {
		if n == 2 {
			return unavailable("down")
		}
		for {
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
	}})
	c := e.streams(WithClock(newFakeClock()))
	var opened context.Context
	chat := func(ctx context.Context, opts ...grpc.CallOption) (grpc.BidiStreamingClient[i64, i64], error) {
		opened = ctx
		return c.rawChat(ctx, opts...)
	}
	ctx := context.Background()

	st, err := BidiStream(ctx, c.inv, chatIdx, nil, chat)
	if err != nil {
		t.Fatal(err)
	}
	if dl, ok := opened.Deadline(); !ok || time.Until(dl) > 2*time.Second {
		t.Errorf("stream deadline %v (set %v), want within 2s", dl, ok)
	}
	for i := int64(1); i <= 3; i++ {
		if err := st.Send(wrapperspb.Int64(i)); err != nil {
			t.Fatal(err)
		}
		m, err := st.Recv()
		if err != nil || m.GetValue() != i {
			t.Fatalf("echo %v, %v; want %d", m.GetValue(), err, i)
		}
	}
	if opened.Err() != nil {
		t.Error("context released while the stream is open")
	}
	if err := st.CloseSend(); err != nil {
		t.Fatal(err)
	}
	if _, err := st.Recv(); err != io.EOF {
		t.Fatalf("Recv after CloseSend: %v, want io.EOF", err)
	}
	if opened.Err() == nil {
		t.Error("context not released after the stream ended")
	}

	// The second call fails with a retryable code: never replayed.
	st, err = BidiStream(ctx, c.inv, chatIdx, []grpc.CallOption{WithRetryPolicy(DefaultRetryPolicy())}, chat)
	if err != nil {
		t.Fatal(err)
	}
	var m i64
	err = st.RecvMsg(&m)
	wantCode(t, err, codes.Unavailable)
	if opened.Err() == nil {
		t.Error("context not released after RecvMsg failed")
	}
	if n := len(e.srv.callsTo(chatMethod)); n != 2 {
		t.Errorf("%d calls, want 2 (no replay)", n)
	}
}

// TestStreamOpenFailureReleases proves that a client or bidi stream that
// fails to open releases its context at once and returns the error as is.
func TestStreamOpenFailureReleases(t *testing.T) {
	inv := NewInvoker(testPolicies(), WithoutRetryThrottling())
	want := errors.New("no stream")
	var opened context.Context
	_, err := ClientStream(context.Background(), inv, uploadIdx, nil, func(ctx context.Context, _ ...grpc.CallOption) (grpc.ClientStreamingClient[msg, msg], error) {
		opened = ctx
		return nil, want
	})
	if err != want || opened.Err() == nil {
		t.Errorf("ClientStream: %v, context released %v; want the open error, true", err, opened.Err() != nil)
	}
	_, err = BidiStream(context.Background(), inv, chatIdx, nil, func(ctx context.Context, _ ...grpc.CallOption) (grpc.BidiStreamingClient[msg, msg], error) {
		opened = ctx
		return nil, want
	})
	if err != want || opened.Err() == nil {
		t.Errorf("BidiStream: %v, context released %v; want the open error, true", err, opened.Err() != nil)
	}
}
