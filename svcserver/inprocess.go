package svcserver

import (
	"bytes"
	"context"
	"log/slog"
	"net"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/test/bufconn"
)

// TB is the part of testing.TB that ServeInProcess uses; *testing.T and
// *testing.B satisfy it. It is an interface here so that this package, and
// the generated code that calls it, do not import package testing.
type TB interface {
	Helper()
	Cleanup(func())
	Fatalf(format string, args ...any)
	Logf(format string, args ...any)
}

// inProcessBufferSize is the bufconn buffer per connection direction.
const inProcessBufferSize = 1 << 20

// ServeInProcess starts a Server (panic recovery, health, reflection) on an
// in-process connection (bufconn), lets register add services to it, and
// returns a client connection to it. When the test ends the connection is
// closed and the server stopped gracefully. Server logs go to the test log.
// Generated StartXForTest functions are built on it.
func ServeInProcess(tb TB, register func(grpc.ServiceRegistrar), opts ...Option) *grpc.ClientConn {
	tb.Helper()
	lis := bufconn.Listen(inProcessBufferSize)
	logger := slog.New(slog.NewTextHandler(testLogWriter{tb}, &slog.HandlerOptions{Level: slog.LevelWarn}))
	srv := New(append([]Option{WithLogger(logger), func(c *config) { c.inProcess = true }}, opts...)...)
	register(srv)
	ctx, cancel := context.WithCancel(context.Background())
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ctx, lis) }()

	conn, err := grpc.NewClient("passthrough:///in-process",
		grpc.WithContextDialer(func(ctx context.Context, _ string) (net.Conn, error) { return lis.DialContext(ctx) }),
		grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		cancel()
		<-served
		tb.Fatalf("svcserver: connecting in process: %v", err)
	}
	tb.Cleanup(func() {
		conn.Close()
		cancel()
		if err := <-served; err != nil {
			tb.Fatalf("svcserver: serving in process: %v", err)
		}
	})
	return conn
}

// testLogWriter sends each log line to the test log.
type testLogWriter struct{ tb TB }

func (w testLogWriter) Write(p []byte) (int, error) {
	w.tb.Logf("%s", bytes.TrimRight(p, "\n"))
	return len(p), nil
}
