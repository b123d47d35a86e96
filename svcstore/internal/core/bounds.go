package core

import (
	"math"
	"strings"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/reflect/protoreflect"
)

// Bounds is a range of one index's value encodings ([Layout.IndexValues]):
// [Lo, Hi), with Hi "" unbounded. Exact says every field of the index is
// fixed by an equality, so every entry in range encodes exactly Lo (and
// entries with one value are in key order).
type Bounds struct {
	Lo, Hi string
	Exact  bool
}

// IndexBounds returns the range of index i's entries that can satisfy q's
// filter, from the conjuncts at its top level: equalities on the index's
// leading fields, then comparisons (or a string prefix, "abc*") on the next
// field. It is a necessary condition, not the whole filter: stores still
// evaluate the filter on each entry in range. False when no conjunct
// narrows the index.
func (q *Query) IndexBounds(i int) (Bounds, bool) {
	if q.Cond == nil {
		return Bounds{}, false
	}
	conjuncts := []*Cond{q.Cond}
	if q.Cond.Op == CondAnd {
		conjuncts = q.Cond.Args
	}
	ix := q.l.Indexes[i]
	var prefix []byte
	fixed := 0
	for ; fixed < len(ix.Fields); fixed++ {
		v, ok := q.Equality(ix.Fields[fixed])
		if !ok {
			break
		}
		if f, isFloat := v.(float64); isFloat && (f == 0 || math.IsNaN(f)) {
			// -0 and +0 are equal but encode apart; NaN equals nothing.
			// Bound by a comparison below instead.
			break
		}
		prefix = appendOrdered(prefix, v)
	}
	if fixed == len(ix.Fields) {
		return Bounds{Lo: string(prefix), Exact: true}, true
	}
	lo := string(prefix)
	hi, _ := PrefixEnd(lo)
	narrowed := fixed > 0
	for _, c := range conjuncts {
		l, h, ok := compareBounds(c, ix.Fields[fixed], prefix)
		if !ok {
			continue
		}
		narrowed = true
		lo = max(lo, l)
		if h != "" && (hi == "" || h < hi) {
			hi = h
		}
	}
	if !narrowed {
		return Bounds{}, false
	}
	if hi != "" && lo >= hi {
		hi = lo // empty, but a valid range
	}
	return Bounds{Lo: lo, Hi: hi}, true
}

// compareBounds is the range of encodings, after prefix, of the values of
// the field at path that satisfy c, when c is a comparison on that field.
func compareBounds(c *Cond, path FieldPath, prefix []byte) (lo, hi string, ok bool) {
	if c.Op != CondCompare || c.Field.InMap || !samePath(c.Field.Path, path) || c.Cmp == CmpNe {
		return "", "", false
	}
	end, _ := PrefixEnd(string(prefix)) // "" when prefix is empty: unbounded
	if c.Wildcard {
		p := c.Value.(string)
		if c.Cmp != CmpEq || strings.HasPrefix(p, "*") || !strings.HasSuffix(p, "*") || p == "*" {
			return "", "", false
		}
		// A prefix pattern: the escaped prefix, without the terminator.
		enc := appendOrdered(append([]byte(nil), prefix...), strings.TrimSuffix(p, "*"))
		lo := string(enc[:len(enc)-2])
		hi, _ := PrefixEnd(lo)
		return lo, hi, true
	}
	v, ok := CoerceToLeaf(c.Value, path[len(path)-1])
	if !ok {
		return "", "", false
	}
	// The smallest and the largest encoding of a value equal to v: they
	// differ only for zero floats (-0 and +0).
	vlo, vhi := v, v
	if f, isFloat := v.(float64); isFloat {
		if math.IsNaN(f) {
			return "", "", false
		}
		if f == 0 {
			vlo, vhi = math.Copysign(0, -1), float64(0)
		}
	}
	first := string(appendOrdered(append([]byte(nil), prefix...), vlo))
	last := string(appendOrdered(append([]byte(nil), prefix...), vhi))
	afterLast, _ := PrefixEnd(last)
	switch c.Cmp {
	case CmpEq:
		return first, afterLast, true
	case CmpLt:
		return string(prefix), first, true
	case CmpLe:
		return string(prefix), afterLast, true
	case CmpGt:
		return afterLast, end, true
	default: // CmpGe
		return first, end, true
	}
}

// IndexValues is the encoding of m's values in index i, without the key:
// what an SQL store keeps in the index's column.
func (l *Layout) IndexValues(i int, m protoreflect.Message) []byte {
	var b []byte
	for _, p := range l.Indexes[i].Fields {
		b = appendOrdered(b, LeafValue(m, p))
	}
	return b
}

// MaxIndexEntryBytes bounds one index entry: the encoding of a resource's
// values in the index plus its key. Every store refuses a write past it,
// so the stores stay alike: PostgreSQL refuses B-tree entries above about
// 2.7 KB (see MaxKeyBytes).
const MaxIndexEntryBytes = 2600

// CheckIndexEntries refuses a resource (to be stored under key) whose
// values in some index, with the key, exceed MaxIndexEntryBytes.
func (l *Layout) CheckIndexEntries(op string, m protoreflect.Message, key Key) error {
	keyBytes := len(key.Text)
	if l.IntKey() {
		keyBytes = 8
	}
	for i, ix := range l.Indexes {
		if n := len(l.IndexValues(i, m)) + keyBytes; n > MaxIndexEntryBytes {
			return status.Errorf(codes.InvalidArgument,
				"%s %s: the fields of index %q (%s) take %d bytes with the key; an index entry holds at most %d",
				op, l.TypeName, ix.Spec, strings.Join(ix.Names, ", "), n, MaxIndexEntryBytes)
		}
	}
	return nil
}
