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

// FilterSpec mirrors one svcstore.Filter: a key prefix, a field path that
// must equal a value, an AIP-160 expression or an AIP-132 ordering.
type FilterSpec struct {
	IsPrefix bool
	Prefix   string
	Path     string
	Value    any
	IsWhere  bool
	Where    string
	IsOrder  bool
	OrderBy  string
}

// DefaultMaxScan is how many resources a List page may pass over without
// a match before it ends early (svcstore.WithMaxScan changes it).
const DefaultMaxScan = 10000

// Query is a validated set of List filters and an ordering for one message
// type.
type Query struct {
	// Prefix is the key prefix every listed key has ("" for none): the
	// longest of the KeyPrefix filters.
	Prefix string
	// None reports KeyPrefix filters that contradict each other: nothing
	// can match, and the listing is empty.
	None bool
	// Fingerprint identifies the filters and the ordering, independent of
	// the filters' order; page tokens are bound to it.
	Fingerprint string

	// Cond is every Where and Equal filter, ANDed; nil for none.
	Cond *Cond
	// Order is the requested ordering without the key that breaks ties;
	// empty for key order. OrderIndex is the index of Layout.Indexes that
	// serves it (-1 for key order): its leading fields are fixed by
	// equalities of Cond (or none are), and the next ones are Order. A
	// listing walks that index in order, so ties are broken by the index's
	// remaining fields, then the key. Desc applies to every term.
	Order      []OrderTerm
	OrderIndex int
	Desc       bool

	l *Layout
}

// CompileFilters validates specs against the layout's message type. Every
// problem is InvalidArgument naming the filter, the position and the field
// (never a panic).
func (l *Layout) CompileFilters(specs []FilterSpec) (*Query, error) {
	q := &Query{OrderIndex: -1, l: l}
	if len(specs) == 0 {
		return q, nil
	}
	var prints []string
	var conds []*Cond
	md := l.MsgType.Descriptor()
	ordered := false
	for _, f := range specs {
		switch {
		case f.IsPrefix:
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
		case f.IsWhere:
			c, err := l.parseFilter(f.Where)
			if err != nil {
				return nil, status.Errorf(codes.InvalidArgument, "list %s: invalid filter %s: %v", l.TypeName, Quote(f.Where), err)
			}
			if c != nil {
				conds = append(conds, c)
				prints = append(prints, "where:"+strings.TrimSpace(f.Where))
			}
		case f.IsOrder:
			if ordered {
				return nil, status.Errorf(codes.InvalidArgument, "list %s: more than one ordering", l.TypeName)
			}
			ordered = true
			if err := l.parseOrder(q, f.OrderBy); err != nil {
				return nil, status.Errorf(codes.InvalidArgument, "list %s: invalid order_by: %v", l.TypeName, err)
			}
			dir := "asc"
			if q.Desc {
				dir = "desc"
			}
			prints = append(prints, "order:"+dir+":"+joinNames(q.Order))
		default:
			fp, err := filterPath(md, f.Path)
			if err != nil {
				return nil, status.Errorf(codes.InvalidArgument, "list %s: filter %q: %v", l.TypeName, f.Path, err)
			}
			leaf := fp[len(fp)-1]
			want, text, err := filterValue(leaf, f.Value)
			if err != nil {
				return nil, status.Errorf(codes.InvalidArgument, "list %s: filter %q: %v", l.TypeName, f.Path, err)
			}
			conds = append(conds, &Cond{Op: CondCompare, Field: &FieldRef{Name: f.Path, Path: fp}, Cmp: CmpEq, Value: normalise(leaf, want)})
			prints = append(prints, "equal:"+f.Path+"="+text)
		}
	}
	switch len(conds) {
	case 0:
	case 1:
		q.Cond = conds[0]
	default:
		q.Cond = &Cond{Op: CondAnd}
		for _, c := range conds {
			if c.Op == CondAnd {
				q.Cond.Args = append(q.Cond.Args, c.Args...)
			} else {
				q.Cond.Args = append(q.Cond.Args, c)
			}
		}
	}
	if err := l.chooseOrderIndex(q); err != nil {
		return nil, status.Errorf(codes.InvalidArgument, "list %s: invalid order_by: %v", l.TypeName, err)
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

// HasCond reports whether q has field filters, which need the message to
// be decoded to decide.
func (q *Query) HasCond() bool { return q.Cond != nil }

// Match reports whether r satisfies q's Cond. Key prefixes are not checked
// here: stores apply them as a key range.
func (q *Query) Match(r protoreflect.Message) bool {
	return q.Cond == nil || q.Cond.Eval(r)
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
