package core

import (
	"bytes"
	"math"
	"strings"
	"time"

	"google.golang.org/protobuf/reflect/protoreflect"
)

// CondOp is the kind of a [Cond] node.
type CondOp int

const (
	CondAnd      CondOp = iota // every Arg holds
	CondOr                     // some Arg holds
	CondNot                    // the single Arg does not hold
	CondCompare                // Field Cmp Value
	CondPresent                // Field is set ("f:*"): a set message, a non-empty list or map, a non-default scalar
	CondContains               // a repeated Field has an element matching Value, or a map Field has key Value
)

// CmpOp is the comparison of a [CondCompare] node.
type CmpOp int

const (
	CmpEq CmpOp = iota
	CmpNe
	CmpLt
	CmpLe
	CmpGt
	CmpGe
)

var cmpNames = [...]string{CmpEq: "=", CmpNe: "!=", CmpLt: "<", CmpLe: "<=", CmpGt: ">", CmpGe: ">="}

func (c CmpOp) String() string { return cmpNames[c] }

// FieldRef names the field a [Cond] leaf tests.
type FieldRef struct {
	// Name is the dotted proto path as the filter wrote it ("price.minor_units").
	Name string
	// Path is the field path, outermost first. Its leaf is a scalar, an
	// enum, a google.protobuf.Timestamp or Duration, a repeated field
	// (CondContains, CondPresent) or a map (CondContains, CondPresent, or a
	// comparison of one value with InMap).
	Path FieldPath
	// InMap says the leaf is a map field and the node tests the value
	// under MapKey ("labels.env = prod"). A comparison on a missing key is
	// false, whatever the operator.
	InMap  bool
	MapKey string
}

// Leaf returns the last field of the path.
func (f *FieldRef) Leaf() protoreflect.FieldDescriptor { return f.Path[len(f.Path)-1] }

// Cond is a checked filter, the one form every store evaluates or
// translates. Values are normalised (see [LeafValue]): string, bool, int64
// (every signed integer kind and enum numbers), uint64, float64, []byte,
// time.Time for google.protobuf.Timestamp and time.Duration for
// google.protobuf.Duration. A field behind an unset message reads as its
// default value (an unset Timestamp is the Unix epoch, an unset Duration
// zero), so a comparison is never "unknown": NOT c is exactly the
// complement of c.
type Cond struct {
	Op    CondOp
	Args  []*Cond // CondAnd, CondOr (two or more), CondNot (one)
	Field *FieldRef
	Cmp   CmpOp
	Value any
	// Wildcard marks a string equality (CmpEq, CmpNe, or a CondContains on
	// a repeated string) whose Value has a leading and/or trailing '*'
	// (AIP-160): "*.txt" matches a suffix, "img*" a prefix, "*cat*" a
	// substring.
	Wildcard bool
}

// Eval reports whether m satisfies c.
func (c *Cond) Eval(m protoreflect.Message) bool {
	switch c.Op {
	case CondAnd:
		for _, a := range c.Args {
			if !a.Eval(m) {
				return false
			}
		}
		return true
	case CondOr:
		for _, a := range c.Args {
			if a.Eval(m) {
				return true
			}
		}
		return false
	case CondNot:
		return !c.Args[0].Eval(m)
	}
	parent, leaf := walkTo(m, c.Field.Path)
	switch c.Op {
	case CondPresent:
		if parent == nil {
			return false
		}
		if leaf.IsList() || leaf.IsMap() || leaf.Message() != nil || leaf.HasPresence() {
			return parent.Has(leaf)
		}
		return parent.Has(leaf) // proto3 scalars without presence: Has means non-default
	case CondContains:
		if parent == nil {
			return false
		}
		v := parent.Get(leaf)
		if leaf.IsMap() {
			return v.Map().Has(protoreflect.ValueOfString(c.Value.(string)).MapKey())
		}
		list := v.List()
		for i := range list.Len() {
			if c.matchValue(normalise(leaf, list.Get(i))) {
				return true
			}
		}
		return false
	}
	// CondCompare
	var got any
	switch {
	case c.Field.InMap:
		if parent == nil {
			return false
		}
		mv := parent.Get(leaf).Map().Get(protoreflect.ValueOfString(c.Field.MapKey).MapKey())
		if !mv.IsValid() {
			return false
		}
		got = normalise(leaf.MapValue(), mv)
	case parent == nil:
		got = defaultValue(leaf)
	default:
		got = normalise(leaf, parent.Get(leaf))
	}
	return c.matchValue(got)
}

// matchValue applies the comparison to one normalised value.
func (c *Cond) matchValue(got any) bool {
	if c.Wildcard {
		ok := wildcardMatch(got.(string), c.Value.(string))
		if c.Cmp == CmpNe {
			return !ok
		}
		return ok
	}
	r, ok := compareValues(got, c.Value)
	if !ok {
		return c.Cmp == CmpNe // incomparable (NaN): only != holds
	}
	switch c.Cmp {
	case CmpEq:
		return r == 0
	case CmpNe:
		return r != 0
	case CmpLt:
		return r < 0
	case CmpLe:
		return r <= 0
	case CmpGt:
		return r > 0
	default:
		return r >= 0
	}
}

// walkTo follows path's message fields from m. It returns the message
// holding the leaf and the leaf, or a nil message when a message on the way
// is unset.
func walkTo(m protoreflect.Message, path FieldPath) (protoreflect.Message, protoreflect.FieldDescriptor) {
	for _, fd := range path[:len(path)-1] {
		if !m.Has(fd) {
			return nil, path[len(path)-1]
		}
		m = m.Get(fd).Message()
	}
	return m, path[len(path)-1]
}

// LeafValue returns the normalised value of the singular leaf at path in m
// (see [Cond]); a field behind an unset message has its default value. It
// is what an index column holds.
func LeafValue(m protoreflect.Message, path FieldPath) any {
	parent, leaf := walkTo(m, path)
	if parent == nil {
		return defaultValue(leaf)
	}
	return normalise(leaf, parent.Get(leaf))
}

func defaultValue(fd protoreflect.FieldDescriptor) any {
	if fd.Message() != nil {
		switch fd.Message().FullName() {
		case timestampFullName:
			return time.Unix(0, 0).UTC()
		case durationFullName:
			return time.Duration(0)
		}
		return nil
	}
	return normalise(fd, fd.Default())
}

const durationFullName protoreflect.FullName = "google.protobuf.Duration"

// normalise converts one value of field fd's kind (or element kind) to the
// Go types Cond uses.
func normalise(fd protoreflect.FieldDescriptor, v protoreflect.Value) any {
	switch fd.Kind() {
	case protoreflect.StringKind:
		return v.String()
	case protoreflect.BoolKind:
		return v.Bool()
	case protoreflect.BytesKind:
		return v.Bytes()
	case protoreflect.EnumKind:
		return int64(v.Enum())
	case protoreflect.Int32Kind, protoreflect.Sint32Kind, protoreflect.Sfixed32Kind,
		protoreflect.Int64Kind, protoreflect.Sint64Kind, protoreflect.Sfixed64Kind:
		return v.Int()
	case protoreflect.Uint32Kind, protoreflect.Fixed32Kind, protoreflect.Uint64Kind, protoreflect.Fixed64Kind:
		return v.Uint()
	case protoreflect.FloatKind, protoreflect.DoubleKind:
		return v.Float()
	case protoreflect.MessageKind, protoreflect.GroupKind:
		msg := v.Message()
		fields := msg.Descriptor().Fields()
		switch msg.Descriptor().FullName() {
		case timestampFullName:
			return time.Unix(msg.Get(fields.ByNumber(1)).Int(), msg.Get(fields.ByNumber(2)).Int()).UTC()
		case durationFullName:
			return durationOf(msg.Get(fields.ByNumber(1)).Int(), msg.Get(fields.ByNumber(2)).Int())
		}
	}
	return nil
}

// durationOf saturates at time.Duration's range (about 292 years), below
// google.protobuf.Duration's 10,000.
func durationOf(seconds, nanos int64) time.Duration {
	const maxSec = math.MaxInt64/int64(time.Second) - 1
	switch {
	case seconds > maxSec:
		return math.MaxInt64
	case seconds < -maxSec:
		return math.MinInt64
	}
	return time.Duration(seconds)*time.Second + time.Duration(nanos)
}

// compareValues orders two normalised values of compatible types: -1, 0 or
// 1, and false when they cannot be ordered (a NaN).
func compareValues(a, b any) (int, bool) {
	switch x := a.(type) {
	case string:
		return strings.Compare(x, b.(string)), true
	case []byte:
		return bytes.Compare(x, b.([]byte)), true
	case bool:
		y := b.(bool)
		switch {
		case x == y:
			return 0, true
		case !x:
			return -1, true
		}
		return 1, true
	case int64:
		switch y := b.(type) {
		case int64:
			return cmpOrdered(x, y), true
		case uint64:
			if x < 0 {
				return -1, true
			}
			return cmpOrdered(uint64(x), y), true
		case float64:
			return cmpFloat(float64(x), y)
		}
	case uint64:
		switch y := b.(type) {
		case uint64:
			return cmpOrdered(x, y), true
		case int64:
			if y < 0 {
				return 1, true
			}
			return cmpOrdered(x, uint64(y)), true
		case float64:
			return cmpFloat(float64(x), y)
		}
	case float64:
		switch y := b.(type) {
		case float64:
			return cmpFloat(x, y)
		case int64:
			return cmpFloat(x, float64(y))
		case uint64:
			return cmpFloat(x, float64(y))
		}
	case time.Time:
		return x.Compare(b.(time.Time)), true
	case time.Duration:
		return cmpOrdered(x, b.(time.Duration)), true
	}
	return 0, false
}

func cmpOrdered[T int64 | uint64 | time.Duration](a, b T) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

func cmpFloat(a, b float64) (int, bool) {
	switch {
	case a < b:
		return -1, true
	case a > b:
		return 1, true
	case a == b:
		return 0, true
	}
	return 0, false
}

// wildcardMatch applies an AIP-160 string pattern: a leading '*' lets the
// value start with anything, a trailing '*' lets it end with anything.
func wildcardMatch(s, pattern string) bool {
	prefix := strings.HasPrefix(pattern, "*")
	suffix := len(pattern) > 1 && strings.HasSuffix(pattern, "*")
	core := strings.TrimSuffix(strings.TrimPrefix(pattern, "*"), "*")
	if pattern == "*" {
		return true
	}
	switch {
	case prefix && suffix:
		return strings.Contains(s, core)
	case prefix:
		return strings.HasSuffix(s, core)
	case suffix:
		return strings.HasPrefix(s, core)
	}
	return s == core
}

// Equality returns the value q's filter requires the field at path to
// equal, when its Cond is (or ANDs) a plain equality on that field, as the
// field's normalised type ([LeafValue]). Stores seek an index with it.
func (q *Query) Equality(path FieldPath) (any, bool) {
	return q.Cond.equality(path)
}

func (c *Cond) equality(path FieldPath) (any, bool) {
	if c == nil {
		return nil, false
	}
	switch c.Op {
	case CondAnd:
		for _, a := range c.Args {
			if v, ok := a.equality(path); ok {
				return v, true
			}
		}
	case CondCompare:
		if c.Cmp == CmpEq && !c.Wildcard && !c.Field.InMap && samePath(c.Field.Path, path) {
			return CoerceToLeaf(c.Value, path[len(path)-1])
		}
	}
	return nil, false
}

// CoerceToLeaf converts a Cond value to the normalised type of fd's values
// (a literal 5 for a uint64 field becomes uint64(5)), and false when no
// value of fd's type equals it (a negative number for an unsigned field,
// 2.5 for an integer field).
func CoerceToLeaf(v any, fd protoreflect.FieldDescriptor) (any, bool) {
	switch fd.Kind() {
	case protoreflect.Uint32Kind, protoreflect.Fixed32Kind, protoreflect.Uint64Kind, protoreflect.Fixed64Kind:
		switch x := v.(type) {
		case uint64:
			return x, true
		case int64:
			return uint64(x), x >= 0
		}
		return nil, false
	case protoreflect.FloatKind, protoreflect.DoubleKind:
		switch x := v.(type) {
		case float64:
			return x, true
		case int64:
			return float64(x), true
		}
		return nil, false
	case protoreflect.StringKind, protoreflect.BytesKind, protoreflect.BoolKind, protoreflect.MessageKind:
		return v, true
	}
	_, ok := v.(int64) // signed integers and enums
	return v, ok
}
