package svcprod

import (
	"context"
	"fmt"
	"strconv"
	"strings"

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
	w := sizeWalk{l: l}
	if !w.message(m.ProtoReflect()) {
		return nil
	}
	path, size, limit := w.path(), w.size, w.limit
	desc := fmt.Sprintf("%s is %d bytes long; at most %d are allowed", path, size, limit)
	st := status.New(codes.InvalidArgument, "field too large: "+desc)
	if ds, err := st.WithDetails(&errdetails.BadRequest{FieldViolations: []*errdetails.BadRequest_FieldViolation{{
		Field: path, Description: desc, Reason: "FIELD_TOO_LARGE",
	}}}); err == nil {
		st = ds
	}
	return st.Err()
}

// sizeWalk finds the first value over its limit in a message, its size
// and limit, and its path, which is put together only once the value is
// found, step by step on the way back up: walking a request within the
// limits allocates nothing (maps, and messages with extensions, are walked
// through closures, with a walker of their own).
type sizeWalk struct {
	l *sizeLimit

	found       bool
	size, limit int
	steps       []pathStep // the path of the value found, innermost first
}

// pathStep is one field of a path: "name", "name[3]" or "name[\"key\"]".
type pathStep struct {
	name   protoreflect.Name
	index  int // of a list element, or -1
	key    protoreflect.MapKey
	hasKey bool
}

// path is the path of the value found: "items[\"mug\"].title".
func (w *sizeWalk) path() string {
	var b strings.Builder
	for i := len(w.steps) - 1; i >= 0; i-- {
		s := w.steps[i]
		b.WriteString(string(s.name))
		switch {
		case s.hasKey:
			b.WriteString("[" + strconv.Quote(s.key.String()) + "]")
		case s.index >= 0:
			b.WriteString("[" + strconv.Itoa(s.index) + "]")
		}
		if i > 0 {
			b.WriteByte('.')
		}
	}
	return b.String()
}

// message walks the populated fields of msg, reporting whether one holds a
// value over its limit.
func (w *sizeWalk) message(msg protoreflect.Message) bool {
	md := msg.Descriptor()
	if md.ExtensionRanges().Len() > 0 {
		// Extensions are populated fields too: only Range finds them.
		sub := &sizeWalk{l: w.l}
		msg.Range(func(fd protoreflect.FieldDescriptor, v protoreflect.Value) bool {
			return !sub.field(fd, v)
		})
		return w.from(sub)
	}
	fields := md.Fields()
	for i := 0; i < fields.Len(); i++ {
		fd := fields.Get(i)
		if !fd.IsList() && !fd.IsMap() && !holdsBytes(fd.Kind()) {
			continue // a number, a bool or an enum: nothing to measure
		}
		if msg.Has(fd) && w.field(fd, msg.Get(fd)) {
			return true
		}
	}
	return false
}

// from takes the finding of sub, a walker of a closure, reporting whether
// there is one.
func (w *sizeWalk) from(sub *sizeWalk) bool {
	if !sub.found {
		return false
	}
	w.found, w.size, w.limit, w.steps = true, sub.size, sub.limit, append(w.steps, sub.steps...)
	return true
}

func holdsBytes(kind protoreflect.Kind) bool {
	switch kind {
	case protoreflect.StringKind, protoreflect.BytesKind, protoreflect.MessageKind, protoreflect.GroupKind:
		return true
	}
	return false
}

// field walks the value v of the populated field fd.
func (w *sizeWalk) field(fd protoreflect.FieldDescriptor, v protoreflect.Value) bool {
	max := w.l.max
	if n, ok := w.l.larger[fd.FullName()]; ok {
		max = n
	}
	switch {
	case fd.IsMap():
		sub := &sizeWalk{l: w.l}
		keyKind, valueKind := fd.MapKey().Kind(), fd.MapValue().Kind()
		v.Map().Range(func(k protoreflect.MapKey, mv protoreflect.Value) bool {
			found := sub.over(keyKind, k.Value(), max)
			if !found {
				if valueKind == protoreflect.MessageKind {
					found = sub.message(mv.Message())
				} else {
					found = sub.over(valueKind, mv, max)
				}
			}
			if found {
				sub.steps = append(sub.steps, pathStep{name: fd.Name(), index: -1, key: k, hasKey: true})
			}
			return !found
		})
		return w.from(sub)
	case fd.IsList():
		list := v.List()
		message := fd.Kind() == protoreflect.MessageKind || fd.Kind() == protoreflect.GroupKind
		for i := 0; i < list.Len(); i++ {
			var found bool
			if message {
				found = w.message(list.Get(i).Message())
			} else {
				found = w.over(fd.Kind(), list.Get(i), max)
			}
			if found {
				w.steps = append(w.steps, pathStep{name: fd.Name(), index: i})
				return true
			}
		}
		return false
	}
	var found bool
	if fd.Kind() == protoreflect.MessageKind || fd.Kind() == protoreflect.GroupKind {
		found = w.message(v.Message())
	} else {
		found = w.over(fd.Kind(), v, max)
	}
	if found {
		w.steps = append(w.steps, pathStep{name: fd.Name(), index: -1})
	}
	return found
}

// over records the value v if it is over max (when max is positive), and
// reports whether it was.
func (w *sizeWalk) over(kind protoreflect.Kind, v protoreflect.Value, max int) bool {
	n := valueSize(kind, v)
	if max <= 0 || n <= max {
		return false
	}
	w.found, w.size, w.limit = true, n, max
	return true
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
	return svcserver.WithCheck(
		func(ctx context.Context, req any, _ *grpc.UnaryServerInfo) (context.Context, error) {
			return ctx, check(req)
		},
		func(srv any, ss grpc.ServerStream, info *grpc.StreamServerInfo, handler grpc.StreamHandler) error {
			return handler(srv, checkingStream{ss, check})
		},
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
