package core

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"go.einride.tech/aip/ordering"
	"google.golang.org/protobuf/reflect/protoreflect"
)

// Index is one declared secondary index (svcstore.Schema.Indexes): the
// fields it orders by, then the key.
type Index struct {
	// Spec is the declaration, normalised: paths joined by ",".
	Spec   string
	Names  []string    // dotted proto paths
	Fields []FieldPath // the same, resolved
}

// resolveIndexes checks every declaration against md.
func (l *Layout) resolveIndexes(specs []string) error {
	seen := map[string]bool{}
	for _, spec := range specs {
		var ix Index
		for raw := range strings.SplitSeq(spec, ",") {
			name := strings.TrimSpace(raw)
			p, err := indexPath(l.MsgType.Descriptor(), name)
			if err != nil {
				return fmt.Errorf("svcstore: %s: Schema.Indexes %q: %v", l.TypeName, spec, err)
			}
			if p[0] == l.KeyFD {
				return fmt.Errorf("svcstore: %s: Schema.Indexes %q: %s is the key, which every store already orders by and every index ends with", l.TypeName, spec, name)
			}
			if l.EtagFD != nil && p[0] == l.EtagFD {
				return fmt.Errorf("svcstore: %s: Schema.Indexes %q: %s is the etag, which the store sets; it cannot be indexed", l.TypeName, spec, name)
			}
			ix.Names = append(ix.Names, name)
			ix.Fields = append(ix.Fields, p)
		}
		ix.Spec = strings.Join(ix.Names, ",")
		if seen[ix.Spec] {
			return fmt.Errorf("svcstore: %s: Schema.Indexes declares %q twice", l.TypeName, ix.Spec)
		}
		seen[ix.Spec] = true
		l.Indexes = append(l.Indexes, ix)
	}
	return nil
}

// indexPath resolves a dotted path through singular message fields to a
// singular leaf that has an order: a scalar, an enum, a Timestamp or a
// Duration.
func indexPath(md protoreflect.MessageDescriptor, path string) (FieldPath, error) {
	if path == "" {
		return nil, errors.New("empty field path")
	}
	var fp FieldPath
	for name := range strings.SplitSeq(path, ".") {
		if md == nil {
			return nil, fmt.Errorf("%s is not a message field", fp[len(fp)-1].FullName())
		}
		fd := md.Fields().ByName(protoreflect.Name(name))
		if fd == nil {
			return nil, fmt.Errorf("%s has no field %q", md.FullName(), name)
		}
		if fd.IsList() || fd.IsMap() {
			return nil, fmt.Errorf("field %s is a %s; only singular fields can be indexed or sorted by", fd.FullName(), DescribeField(fd))
		}
		fp = append(fp, fd)
		md = fd.Message()
		if md != nil && (md.FullName() == timestampFullName || md.FullName() == durationFullName) {
			md = nil
			if len(fp) < strings.Count(path, ".")+1 {
				return nil, fmt.Errorf("field %s is a %s; index or sort by the whole field", fd.FullName(), fd.Message().FullName())
			}
		}
	}
	leaf := fp[len(fp)-1]
	if m := leaf.Message(); m != nil && m.FullName() != timestampFullName && m.FullName() != durationFullName {
		return nil, fmt.Errorf("field %s is a message (%s); name one of its fields", leaf.FullName(), m.FullName())
	}
	return fp, nil
}

// OrderTerm is one field of an ordering, without its direction (an
// ordering has one direction for every term: [Query.Desc]).
type OrderTerm struct {
	Name string
	Path FieldPath
}

// parseOrder resolves an AIP-132 order_by: the key alone, or fields of a
// declared index (optionally followed by the key), every term in the same
// direction. It sets q.Order and q.Desc; chooseOrderIndex picks the index.
func (l *Layout) parseOrder(q *Query, text string) error {
	var ob ordering.OrderBy
	if err := ob.UnmarshalString(text); err != nil {
		return err
	}
	if len(ob.Fields) == 0 {
		return nil
	}
	desc := ob.Fields[0].Desc
	var terms []OrderTerm
	for i, f := range ob.Fields {
		if f.Desc != desc {
			return fmt.Errorf("%q: every field must sort in the same direction (all ascending or all \" desc\")", f.Path)
		}
		p, err := indexPath(l.MsgType.Descriptor(), f.Path)
		if err != nil {
			return fmt.Errorf("%q: %v", f.Path, err)
		}
		if len(p) == 1 && p[0] == l.KeyFD {
			if i != len(ob.Fields)-1 {
				return fmt.Errorf("%q: the key orders resources uniquely, so it can only be the last field", f.Path)
			}
			break
		}
		terms = append(terms, OrderTerm{Name: f.Path, Path: p})
	}
	q.Desc = desc
	q.OrderIndex = -1
	if len(terms) == 0 {
		return nil
	}
	q.Order = terms
	return nil
}

// chooseOrderIndex picks the index that serves q's ordering: one whose
// leading fields the filter fixes by equality and whose next fields are the
// ordering (category = X ORDER BY price on an index "category,price"), else
// one that starts with the ordering. Called once every filter is known.
func (l *Layout) chooseOrderIndex(q *Query) error {
	if len(q.Order) == 0 {
		return nil
	}
	best, bestFixed := -1, -1
	for i, ix := range l.Indexes {
		fixed := 0
		for fixed < len(ix.Fields) {
			if _, ok := q.Equality(ix.Fields[fixed]); !ok {
				break
			}
			fixed++
		}
		// Try every split: the fixed fields may also be ordered by.
		for k := fixed; k >= 0; k-- {
			if k+len(q.Order) > len(ix.Fields) {
				continue
			}
			match := true
			for j, t := range q.Order {
				if !samePath(ix.Fields[k+j], t.Path) {
					match = false
					break
				}
			}
			if match && k > bestFixed {
				best, bestFixed = i, k
			}
		}
	}
	if best < 0 {
		return fmt.Errorf("%s cannot be sorted by %s; it sorts by %s", l.TypeName, joinNames(q.Order), l.sortable())
	}
	q.OrderIndex = best
	return nil
}

func samePath(a, b FieldPath) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func joinNames(terms []OrderTerm) string {
	names := make([]string, len(terms))
	for i, t := range terms {
		names[i] = t.Name
	}
	return strings.Join(names, ", ")
}

// sortable describes the orderings a List accepts, for error messages.
func (l *Layout) sortable() string {
	s := strconv.Quote(string(l.KeyFD.Name()))
	for _, ix := range l.Indexes {
		s += ", " + strconv.Quote(strings.Join(ix.Names, ", "))
	}
	if len(l.Indexes) == 0 {
		return s + " only (declare indexes to sort by other fields)"
	}
	return s + " (or a leading part of one, or the fields after those the filter fixes with =), each optionally \" desc\""
}

// Cursor returns the position of m (whose key is key) in q's order: the
// key for key order, else the order-preserving encoding of the ordering
// index's values followed by the key's sort form. Byte order of cursors is
// ascending List order, so a descending listing walks them backwards.
func (q *Query) Cursor(m protoreflect.Message, key Key) string {
	if q.OrderIndex < 0 {
		return key.Text
	}
	return q.l.IndexKey(q.OrderIndex, m, key)
}

// IndexKey is the sort key of m in index i: its values, then the key.
func (l *Layout) IndexKey(i int, m protoreflect.Message, key Key) string {
	return string(append(l.IndexValues(i, m), l.SortKey(key)...))
}

// IndexPrefix encodes leading values of index i (as from LeafValue), for
// seeking to every entry that has them.
func (l *Layout) IndexPrefix(values ...any) string {
	var b []byte
	for _, v := range values {
		b = appendOrdered(b, v)
	}
	return string(b)
}

// DecodeCursor splits a cursor made by [Query.Cursor] into the ordering
// index's values (normalised as [LeafValue] returns them; nil for key order)
// and the key.
func (q *Query) DecodeCursor(c string) (values []any, key string, err error) {
	if q.OrderIndex < 0 {
		return nil, c, nil
	}
	b := []byte(c)
	for _, p := range q.l.Indexes[q.OrderIndex].Fields {
		var v any
		if v, b, err = readOrdered(b, p[len(p)-1]); err != nil {
			return nil, "", err
		}
		values = append(values, v)
	}
	switch q.l.KeyKind {
	case SignedKey:
		if len(b) != 8 {
			return nil, "", errCursor
		}
		return values, strconv.FormatInt(int64(binary.BigEndian.Uint64(b)^(1<<63)), 10), nil
	case UnsignedKey:
		if len(b) != 8 {
			return nil, "", errCursor
		}
		return values, strconv.FormatUint(binary.BigEndian.Uint64(b), 10), nil
	}
	return values, string(b), nil
}

var errCursor = errors.New("malformed cursor")

// appendOrdered appends an encoding of v whose byte order is v's order and
// which no other encoding of the same type prefixes: strings and bytes
// escape 0x00 as 00 ff and end with 00 01; integers are fixed-width
// big-endian with the sign bit flipped; floats flip to sort as unsigned.
func appendOrdered(b []byte, v any) []byte {
	switch x := v.(type) {
	case string:
		return appendOrderedBytes(b, []byte(x))
	case []byte:
		return appendOrderedBytes(b, x)
	case bool:
		if x {
			return append(b, 1)
		}
		return append(b, 0)
	case int64:
		return binary.BigEndian.AppendUint64(b, uint64(x)^(1<<63))
	case uint64:
		return binary.BigEndian.AppendUint64(b, x)
	case float64:
		bits := math.Float64bits(x)
		if bits&(1<<63) != 0 {
			bits = ^bits
		} else {
			bits |= 1 << 63
		}
		return binary.BigEndian.AppendUint64(b, bits)
	case time.Time:
		b = binary.BigEndian.AppendUint64(b, uint64(x.Unix())^(1<<63))
		return binary.BigEndian.AppendUint32(b, uint32(x.Nanosecond()))
	case time.Duration:
		return binary.BigEndian.AppendUint64(b, uint64(x)^(1<<63))
	}
	panic(fmt.Sprintf("svcstore: no order for %T", v)) // indexPath admits only the types above
}

func appendOrderedBytes(b, s []byte) []byte {
	for _, c := range s {
		if c == 0 {
			b = append(b, 0, 0xff)
		} else {
			b = append(b, c)
		}
	}
	return append(b, 0, 1)
}

// readOrdered decodes one value of leaf's type written by appendOrdered.
func readOrdered(b []byte, leaf protoreflect.FieldDescriptor) (any, []byte, error) {
	u64 := func() (uint64, error) {
		if len(b) < 8 {
			return 0, errCursor
		}
		v := binary.BigEndian.Uint64(b)
		b = b[8:]
		return v, nil
	}
	switch leaf.Kind() {
	case protoreflect.StringKind, protoreflect.BytesKind:
		var out []byte
		for i := 0; ; i++ {
			if i >= len(b) {
				return nil, nil, errCursor
			}
			if b[i] != 0 {
				out = append(out, b[i])
				continue
			}
			if i+1 >= len(b) {
				return nil, nil, errCursor
			}
			switch b[i+1] {
			case 0xff:
				out = append(out, 0)
				i++
				continue
			case 1:
				rest := b[i+2:]
				if leaf.Kind() == protoreflect.StringKind {
					return string(out), rest, nil
				}
				if out == nil {
					out = []byte{}
				}
				return out, rest, nil
			}
			return nil, nil, errCursor
		}
	case protoreflect.BoolKind:
		if len(b) < 1 || b[0] > 1 {
			return nil, nil, errCursor
		}
		return b[0] == 1, b[1:], nil
	case protoreflect.FloatKind, protoreflect.DoubleKind:
		bits, err := u64()
		if err != nil {
			return nil, nil, err
		}
		if bits&(1<<63) != 0 {
			bits &^= 1 << 63
		} else {
			bits = ^bits
		}
		return math.Float64frombits(bits), b, nil
	case protoreflect.Uint32Kind, protoreflect.Fixed32Kind, protoreflect.Uint64Kind, protoreflect.Fixed64Kind:
		v, err := u64()
		return v, b, err
	case protoreflect.MessageKind:
		v, err := u64()
		if err != nil {
			return nil, nil, err
		}
		if leaf.Message().FullName() == durationFullName {
			return time.Duration(v ^ (1 << 63)), b, nil
		}
		if len(b) < 4 {
			return nil, nil, errCursor
		}
		nanos := binary.BigEndian.Uint32(b)
		return time.Unix(int64(v^(1<<63)), int64(nanos)).UTC(), b[4:], nil
	}
	// Signed integers and enums.
	v, err := u64()
	return int64(v ^ (1 << 63)), b, err
}
