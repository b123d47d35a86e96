package svcprod

import (
	"context"
	"fmt"
	"strconv"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"

	"github.com/svcgen/protoc-gen-svc/svcserver"
)

// DefaultMaxFieldSize is the size limit of WithFieldSizeLimit when it is
// given zero: 64 KiB per string or bytes value.
const DefaultMaxFieldSize = 64 << 10

// WithFieldSizeLimit refuses requests (and streamed messages) in which any
// string or bytes value, at any depth (in repeated fields and map keys and
// values too), is longer than maxBytes (DefaultMaxFieldSize when zero):
// codes.InvalidArgument with a google.rpc.BadRequest field violation (reason
// FIELD_TOO_LARGE) naming the field's path. Together with the message size
// limit it bounds what one stored item can weigh, so that a few items cannot
// make a page of a List answer larger than a client accepts. Fields that
// must hold more are named in larger, by full name
// ("shop.v1.Product.description"), with their own limit (0: no limit).
//
// protovalidate rules (string.max_len, bytes.max_len) say the same per
// field in the schema; this is the catch-all for fields without one.
func WithFieldSizeLimit(maxBytes int, larger map[protoreflect.FullName]int) svcserver.Option {
	if maxBytes <= 0 {
		maxBytes = DefaultMaxFieldSize
	}
	l := &sizeLimit{max: maxBytes, larger: larger}
	return checkRequests(l.check)
}

type sizeLimit struct {
	max    int
	larger map[protoreflect.FullName]int
}

func (l *sizeLimit) check(req any) error {
	m, ok := req.(proto.Message)
	if !ok {
		return nil
	}
	path, size, limit := l.walk(m.ProtoReflect(), "")
	if path == "" {
		return nil
	}
	desc := fmt.Sprintf("%s is %d bytes long; at most %d are allowed", path, size, limit)
	st := status.New(codes.InvalidArgument, "field too large: "+desc)
	if ds, err := st.WithDetails(&errdetails.BadRequest{FieldViolations: []*errdetails.BadRequest_FieldViolation{{
		Field: path, Description: desc, Reason: "FIELD_TOO_LARGE",
	}}}); err == nil {
		st = ds
	}
	return st.Err()
}

// walk returns the path, size and limit of the first value over its limit,
// or "" when there is none.
func (l *sizeLimit) walk(msg protoreflect.Message, prefix string) (path string, size, limit int) {
	msg.Range(func(fd protoreflect.FieldDescriptor, v protoreflect.Value) bool {
		name := prefix + string(fd.Name())
		max := l.max
		if n, ok := l.larger[fd.FullName()]; ok {
			max = n
		}
		over := func(kind protoreflect.Kind, v protoreflect.Value, at string) bool {
			n := valueSize(kind, v)
			if max > 0 && n > max {
				path, size, limit = at, n, max
				return true
			}
			return false
		}
		switch {
		case fd.IsMap():
			v.Map().Range(func(k protoreflect.MapKey, mv protoreflect.Value) bool {
				at := name + "[" + strconv.Quote(k.String()) + "]"
				if over(fd.MapKey().Kind(), k.Value(), at) {
					return false
				}
				if fd.MapValue().Kind() == protoreflect.MessageKind {
					path, size, limit = l.walk(mv.Message(), at+".")
					return path == ""
				}
				return !over(fd.MapValue().Kind(), mv, at)
			})
		case fd.IsList():
			list := v.List()
			for i := 0; i < list.Len() && path == ""; i++ {
				at := name + "[" + strconv.Itoa(i) + "]"
				if fd.Kind() == protoreflect.MessageKind || fd.Kind() == protoreflect.GroupKind {
					path, size, limit = l.walk(list.Get(i).Message(), at+".")
				} else {
					over(fd.Kind(), list.Get(i), at)
				}
			}
		case fd.Kind() == protoreflect.MessageKind || fd.Kind() == protoreflect.GroupKind:
			path, size, limit = l.walk(v.Message(), name+".")
		default:
			over(fd.Kind(), v, name)
		}
		return path == ""
	})
	return path, size, limit
}

func valueSize(kind protoreflect.Kind, v protoreflect.Value) int {
	switch kind {
	case protoreflect.StringKind:
		return len(v.String())
	case protoreflect.BytesKind:
		return len(v.Bytes())
	}
	return 0
}

// checkRequests runs check on every request message, unary or streamed,
// before the handler sees it; an error answers the call (or ends the
// stream) instead.
func checkRequests(check func(req any) error) svcserver.Option {
	return svcserver.WithServerOptions(
		grpc.ChainUnaryInterceptor(func(ctx context.Context, req any, info *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
			if err := check(req); err != nil {
				return nil, err
			}
			return handler(ctx, req)
		}),
		grpc.ChainStreamInterceptor(func(srv any, ss grpc.ServerStream, info *grpc.StreamServerInfo, handler grpc.StreamHandler) error {
			return handler(srv, checkingStream{ss, check})
		}),
	)
}

// checkingStream checks every message the client streams.
type checkingStream struct {
	grpc.ServerStream
	check func(req any) error
}

func (s checkingStream) RecvMsg(m any) error {
	if err := s.ServerStream.RecvMsg(m); err != nil {
		return err
	}
	return s.check(m)
}
