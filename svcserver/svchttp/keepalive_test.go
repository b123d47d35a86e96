package svchttp_test

import (
	"context"
	"io"
	"log/slog"
	"net"
	"testing"
	"time"

	"google.golang.org/grpc/keepalive"

	"github.com/svcgen/protoc-gen-svc/svcserver"
	"github.com/svcgen/protoc-gen-svc/svcserver/svchttp"
)

// TestKeepaliveDropsFrozenClient: svchttp pings idle HTTP/2 connections with
// the server's keepalive parameters, and closes one whose peer never
// answers — a client that froze — as grpc-go's own transport does.
func TestKeepaliveDropsFrozenClient(t *testing.T) {
	closedAfter := func(params keepalive.ServerParameters, wait time.Duration) time.Duration {
		t.Helper()
		lis, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		srv := svcserver.New(svcserver.WithLogger(slog.New(slog.DiscardHandler)),
			svcserver.WithKeepalive(params, keepalive.EnforcementPolicy{MinTime: time.Second, PermitWithoutStream: true}))
		ctx, cancel := context.WithCancel(context.Background())
		served := make(chan error, 1)
		go func() { served <- svchttp.Serve(ctx, srv, lis) }()
		defer func() { cancel(); <-served }()

		// An HTTP/2 client (prior knowledge, cleartext) that says hello and
		// then reads without ever answering: no SETTINGS ack, no PING ack.
		conn, err := net.Dial("tcp", lis.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		preface := "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"
		emptySettings := []byte{0, 0, 0, 4, 0, 0, 0, 0, 0}
		if _, err := conn.Write(append([]byte(preface), emptySettings...)); err != nil {
			t.Fatal(err)
		}
		start := time.Now()
		conn.SetReadDeadline(start.Add(wait))
		io.Copy(io.Discard, conn) // until the server closes, or the deadline
		return time.Since(start)
	}
	// Pings after 1s idle, 1s to answer: closed after about 2s.
	if d := closedAfter(keepalive.ServerParameters{Time: time.Second, Timeout: time.Second}, 20*time.Second); d > 15*time.Second {
		t.Errorf("a frozen client stayed connected %v with keepalive 1s+1s", d)
	}
	// The default (a ping after 30s idle) leaves it alone for longer.
	if d := closedAfter(svcserver.DefaultKeepaliveParams, 4*time.Second); d < 4*time.Second {
		t.Errorf("a silent client was dropped after %v with the default keepalive", d)
	}
}
