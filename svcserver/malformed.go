package svcserver

import (
	"context"
	"log/slog"
	"strings"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/peer"
	"google.golang.org/grpc/stats"
	"google.golang.org/grpc/status"
)

// malformedLogger is a stats.Handler that logs the failures grpc answers by
// itself, outside every interceptor, so that neither an interceptor nor a
// handler can log them: requests it could not decode (bad protobuf
// encoding, invalid UTF-8 in a string field; codes.Internal), and answers
// larger than the send limit (codes.ResourceExhausted).
type malformedLogger struct{ logger *slog.Logger }

type methodKey struct{}

// The messages of grpc's status errors for a request it could not decode
// (grpc-go rpc_util.go, recv) and for an answer over the send limit
// (rpc_util.go, msgHeader callers).
const (
	unmarshalPrefix = "grpc: failed to unmarshal the received message"
	tooLargeSubstr  = "trying to send message larger than max"
)

func (h malformedLogger) TagRPC(ctx context.Context, info *stats.RPCTagInfo) context.Context {
	return context.WithValue(ctx, methodKey{}, info.FullMethodName)
}

func (h malformedLogger) HandleRPC(ctx context.Context, s stats.RPCStats) {
	end, ok := s.(*stats.End)
	if !ok || end.Error == nil {
		return
	}
	st, _ := status.FromError(end.Error)
	var msg string
	switch {
	case st.Code() == codes.Internal && strings.HasPrefix(st.Message(), unmarshalPrefix):
		msg = "malformed request"
	case st.Code() == codes.ResourceExhausted && strings.Contains(st.Message(), tooLargeSubstr):
		msg = "answer over the send limit"
	default:
		return
	}
	method, _ := ctx.Value(methodKey{}).(string)
	attrs := []slog.Attr{
		slog.String("method", method),
		slog.String("error", st.Message()),
	}
	if p, ok := peer.FromContext(ctx); ok && p.Addr != nil {
		attrs = append(attrs, slog.String("peer", p.Addr.String()))
	}
	h.logger.LogAttrs(ctx, slog.LevelWarn, msg, attrs...)
}

func (malformedLogger) TagConn(ctx context.Context, _ *stats.ConnTagInfo) context.Context {
	return ctx
}

func (malformedLogger) HandleConn(context.Context, stats.ConnStats) {}
