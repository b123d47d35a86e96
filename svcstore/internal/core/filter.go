package core

import (
	"bytes"
	"encoding/hex"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/reflect/protoreflect"
)

// FilterSpec mirrors one svcstore.Filter: a key prefix, or a field path that
// must equal a value.
type FilterSpec struct {
	IsPrefix bool
	Prefix   string
	Path     string
	Value    any
}

// Query is a validated set of List filters for one message type.
type Query struct {
	// Prefix is the key prefix every listed key has ("" for none): the
	// longest of the KeyPrefix filters.
	Prefix string
	// None reports KeyPrefix filters that contradict each other: nothing
	// can match, and the listing is empty.
	None bool
	// Fingerprint identifies the filter set, independent of its order; page
	// tokens are bound to it.
	Fingerprint string

	equals []equality
}

type equality struct {
	path FieldPath
	want protoreflect.Value
}

// CompileFilters validates specs against the layout's message type. Every
// problem is InvalidArgument naming the path (never a panic).
func (l *Layout) CompileFilters(specs []FilterSpec) (*Query, error) {
	q := &Query{}
	if len(specs) == 0 {
		return q, nil
	}
	var prints []string
	md := l.MsgType.Descriptor()
	for _, f := range specs {
		if f.IsPrefix {
			if l.IntKey() {
				return nil, status.Errorf(codes.InvalidArgument,
					"list %s: a key prefix filter needs a string key, but %s is %s", l.TypeName, l.KeyFD.Name(), l.KeyFD.Kind())
			}
			switch {
			case strings.HasPrefix(f.Prefix, q.Prefix):
				q.Prefix = f.Prefix
			case !strings.HasPrefix(q.Prefix, f.Prefix):
				q.None = true
			}
			prints = append(prints, "prefix:"+strconv.Quote(f.Prefix))
			continue
		}
		fp, err := filterPath(md, f.Path)
		if err != nil {
			return nil, status.Errorf(codes.InvalidArgument, "list %s: filter %q: %v", l.TypeName, f.Path, err)
		}
		leaf := fp[len(fp)-1]
		want, text, err := filterValue(leaf, f.Value)
		if err != nil {
			return nil, status.Errorf(codes.InvalidArgument, "list %s: filter %q: %v", l.TypeName, f.Path, err)
		}
		q.equals = append(q.equals, equality{path: fp, want: want})
		prints = append(prints, "equal:"+f.Path+"="+text)
	}
	slices.Sort(prints)
	prints = slices.Compact(prints)
	q.Fingerprint = strings.Join(prints, "\x00")
	return q, nil
}

// filterPath resolves a dotted path through singular message fields to a
// singular scalar (or enum) leaf.
func filterPath(md protoreflect.MessageDescriptor, path string) (FieldPath, error) {
	if path == "" {
		return nil, fmt.Errorf("empty field path")
	}
	var fp FieldPath
	for name := range strings.SplitSeq(path, ".") {
		if md == nil {
			return nil, fmt.Errorf("%s is not a message field", fp[len(fp)-1].Name())
		}
		fd := md.Fields().ByName(protoreflect.Name(name))
		if fd == nil {
			return nil, fmt.Errorf("%s has no field %q", md.FullName(), name)
		}
		if fd.IsList() || fd.IsMap() {
			return nil, fmt.Errorf("field %s is a %s; only singular fields can be filtered", fd.FullName(), DescribeField(fd))
		}
		fp = append(fp, fd)
		md = fd.Message()
	}
	if leaf := fp[len(fp)-1]; leaf.Message() != nil {
		return nil, fmt.Errorf("field %s is a message (%s); filter on one of its fields", leaf.FullName(), leaf.Message().FullName())
	}
	return fp, nil
}

// filterValue converts v to a protoreflect value of fd's type, and a
// canonical text for the fingerprint. v must have exactly the Go type of
// the field (int32 for an int32 field, and so on).
func filterValue(fd protoreflect.FieldDescriptor, v any) (protoreflect.Value, string, error) {
	wrong := func(want string) (protoreflect.Value, string, error) {
		return protoreflect.Value{}, "", fmt.Errorf("value %v of type %T does not match field %s of type %s (want a Go %s)",
			v, v, fd.FullName(), fd.Kind(), want)
	}
	switch fd.Kind() {
	case protoreflect.StringKind:
		if s, ok := v.(string); ok {
			return protoreflect.ValueOfString(s), strconv.Quote(s), nil
		}
		return wrong("string")
	case protoreflect.BoolKind:
		if b, ok := v.(bool); ok {
			return protoreflect.ValueOfBool(b), strconv.FormatBool(b), nil
		}
		return wrong("bool")
	case protoreflect.BytesKind:
		if b, ok := v.([]byte); ok {
			return protoreflect.ValueOfBytes(bytes.Clone(b)), hex.EncodeToString(b), nil
		}
		return wrong("[]byte")
	case protoreflect.Int32Kind, protoreflect.Sint32Kind, protoreflect.Sfixed32Kind:
		if i, ok := v.(int32); ok {
			return protoreflect.ValueOfInt32(i), strconv.FormatInt(int64(i), 10), nil
		}
		return wrong("int32")
	case protoreflect.Int64Kind, protoreflect.Sint64Kind, protoreflect.Sfixed64Kind:
		if i, ok := v.(int64); ok {
			return protoreflect.ValueOfInt64(i), strconv.FormatInt(i, 10), nil
		}
		return wrong("int64")
	case protoreflect.Uint32Kind, protoreflect.Fixed32Kind:
		if i, ok := v.(uint32); ok {
			return protoreflect.ValueOfUint32(i), strconv.FormatUint(uint64(i), 10), nil
		}
		return wrong("uint32")
	case protoreflect.Uint64Kind, protoreflect.Fixed64Kind:
		if i, ok := v.(uint64); ok {
			return protoreflect.ValueOfUint64(i), strconv.FormatUint(i, 10), nil
		}
		return wrong("uint64")
	case protoreflect.FloatKind:
		if f, ok := v.(float32); ok {
			return protoreflect.ValueOfFloat32(f), strconv.FormatFloat(float64(f), 'g', -1, 32), nil
		}
		return wrong("float32")
	case protoreflect.DoubleKind:
		if f, ok := v.(float64); ok {
			return protoreflect.ValueOfFloat64(f), strconv.FormatFloat(f, 'g', -1, 64), nil
		}
		return wrong("float64")
	case protoreflect.EnumKind:
		var n protoreflect.EnumNumber
		switch e := v.(type) {
		case protoreflect.EnumNumber:
			n = e
		case interface {
			Number() protoreflect.EnumNumber
		}:
			// A generated enum: it must be the field's enum type.
			if d, ok := v.(interface {
				Descriptor() protoreflect.EnumDescriptor
			}); ok &&
				d.Descriptor().FullName() != fd.Enum().FullName() {
				return protoreflect.Value{}, "", fmt.Errorf("value %v is a %s, but field %s is a %s",
					v, d.Descriptor().FullName(), fd.FullName(), fd.Enum().FullName())
			}
			n = e.Number()
		default:
			return wrong(string(fd.Enum().FullName()) + " or protoreflect.EnumNumber")
		}
		return protoreflect.ValueOfEnum(n), strconv.FormatInt(int64(n), 10), nil
	}
	return wrong("scalar")
}

// HasEquals reports whether q has field filters, which need the message to
// be decoded to decide.
func (q *Query) HasEquals() bool { return len(q.equals) > 0 }

// Match reports whether r satisfies every Equal filter of q. A field behind
// an unset message has its default value. Key prefixes are not checked
// here: stores apply them as a key range.
func (q *Query) Match(r protoreflect.Message) bool {
	for _, eq := range q.equals {
		m := r
		for _, fd := range eq.path[:len(eq.path)-1] {
			m = m.Get(fd).Message() // an unset message reads as empty
		}
		got := m.Get(eq.path[len(eq.path)-1])
		if !valuesEqual(got, eq.want) {
			return false
		}
	}
	return true
}

func valuesEqual(a, b protoreflect.Value) bool {
	switch x := a.Interface().(type) {
	case []byte:
		return bytes.Equal(x, b.Bytes())
	default:
		return a.Interface() == b.Interface()
	}
}

// PrefixEnd returns the smallest string greater than every string with
// prefix p, and false when there is none (p is empty or all 0xff bytes).
func PrefixEnd(p string) (string, bool) {
	b := []byte(p)
	for i := len(b) - 1; i >= 0; i-- {
		if b[i] < 0xff {
			b[i]++
			return string(b[:i+1]), true
		}
	}
	return "", false
}
