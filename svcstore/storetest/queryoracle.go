// A differential test of queries: random AIP-160 expressions over the
// message's own fields and values, each checked against a plain Go
// evaluation written here, independently of the stores' evaluator.

package storetest

import (
	"math/rand/v2"
	"strconv"
	"strings"
	"testing"

	gocmp "github.com/google/go-cmp/cmp"
	"google.golang.org/protobuf/reflect/protoreflect"

	"github.com/svcgen/protoc-gen-svc/svcstore"
)

// oracleField is a singular scalar field the generator compares.
type oracleField struct {
	name string
	path []protoreflect.FieldDescriptor
}

// oracleTerm is one generated expression: its text and its meaning.
type oracleTerm struct {
	text string
	eval func(protoreflect.Message) bool
}

// oracleFields lists the singular string, bool, integer, enum and double
// fields of md, through singular messages, two levels deep.
func oracleFields(md protoreflect.MessageDescriptor) []oracleField {
	var out []oracleField
	var walk func(md protoreflect.MessageDescriptor, prefix string, path []protoreflect.FieldDescriptor, depth int)
	walk = func(md protoreflect.MessageDescriptor, prefix string, path []protoreflect.FieldDescriptor, depth int) {
		for i := range md.Fields().Len() {
			fd := md.Fields().Get(i)
			if fd.IsList() || fd.IsMap() {
				continue
			}
			p := append(append([]protoreflect.FieldDescriptor(nil), path...), fd)
			switch fd.Kind() {
			case protoreflect.StringKind, protoreflect.BoolKind, protoreflect.EnumKind, protoreflect.DoubleKind,
				protoreflect.Int32Kind, protoreflect.Int64Kind, protoreflect.Uint32Kind, protoreflect.Uint64Kind:
				out = append(out, oracleField{name: prefix + string(fd.Name()), path: p})
			case protoreflect.MessageKind:
				if depth < 2 && !strings.HasPrefix(string(fd.Message().FullName()), "google.protobuf.") {
					walk(fd.Message(), prefix+string(fd.Name())+".", p, depth+1)
				}
			}
		}
	}
	walk(md, "", nil, 0)
	return out
}

// oracleValue reads a field the plain way: a field behind an unset message
// is its default.
func oracleValue(m protoreflect.Message, path []protoreflect.FieldDescriptor) protoreflect.Value {
	for _, fd := range path[:len(path)-1] {
		if !m.Has(fd) {
			return path[len(path)-1].Default()
		}
		m = m.Get(fd).Message()
	}
	return m.Get(path[len(path)-1])
}

// oracleCompare compares a field value with the literal's value; both of
// the field's kind.
func oracleCompare(fd protoreflect.FieldDescriptor, a, b protoreflect.Value) int {
	switch fd.Kind() {
	case protoreflect.StringKind:
		return strings.Compare(a.String(), b.String())
	case protoreflect.BoolKind:
		return cmpInt(b2i(a.Bool()), b2i(b.Bool()))
	case protoreflect.EnumKind:
		return cmpInt(int64(a.Enum()), int64(b.Enum()))
	case protoreflect.DoubleKind:
		switch x, y := a.Float(), b.Float(); {
		case x < y:
			return -1
		case x > y:
			return 1
		}
		return 0
	case protoreflect.Uint32Kind, protoreflect.Uint64Kind:
		switch x, y := a.Uint(), b.Uint(); {
		case x < y:
			return -1
		case x > y:
			return 1
		}
		return 0
	}
	return cmpInt(a.Int(), b.Int())
}

func cmpInt(a, b int64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

func b2i(b bool) int64 {
	if b {
		return 1
	}
	return 0
}

// literal renders v of fd's kind as AIP-160 text, or false when the
// generator should not use it (strings needing escapes or wildcards).
func literal(fd protoreflect.FieldDescriptor, v protoreflect.Value) (string, bool) {
	switch fd.Kind() {
	case protoreflect.StringKind:
		s := v.String()
		if strings.ContainsAny(s, "\"\\*") {
			return "", false
		}
		return `"` + s + `"`, true
	case protoreflect.BoolKind:
		return strconv.FormatBool(v.Bool()), true
	case protoreflect.EnumKind:
		ev := fd.Enum().Values().ByNumber(v.Enum())
		if ev == nil {
			return "", false
		}
		return string(ev.Name()), true
	case protoreflect.DoubleKind:
		return strconv.FormatFloat(v.Float(), 'f', -1, 64), true
	case protoreflect.Uint32Kind, protoreflect.Uint64Kind:
		return strconv.FormatUint(v.Uint(), 10), true
	}
	return strconv.FormatInt(v.Int(), 10), true
}

var oracleOps = []struct {
	text string
	test func(c int) bool
}{
	{"=", func(c int) bool { return c == 0 }},
	{"!=", func(c int) bool { return c != 0 }},
	{"<", func(c int) bool { return c < 0 }},
	{"<=", func(c int) bool { return c <= 0 }},
	{">", func(c int) bool { return c > 0 }},
	{">=", func(c int) bool { return c >= 0 }},
}

// randomTerm builds a random expression of the given depth from fields and
// the values of samples.
func randomTerm(r *rand.Rand, fields []oracleField, samples []protoreflect.Message, depth int) oracleTerm {
	if depth > 0 && r.IntN(3) > 0 {
		a := randomTerm(r, fields, samples, depth-1)
		switch r.IntN(3) {
		case 0:
			return oracleTerm{"NOT (" + a.text + ")", func(m protoreflect.Message) bool { return !a.eval(m) }}
		case 1:
			b := randomTerm(r, fields, samples, depth-1)
			return oracleTerm{"(" + a.text + ") AND (" + b.text + ")", func(m protoreflect.Message) bool { return a.eval(m) && b.eval(m) }}
		default:
			b := randomTerm(r, fields, samples, depth-1)
			return oracleTerm{"(" + a.text + ") OR (" + b.text + ")", func(m protoreflect.Message) bool { return a.eval(m) || b.eval(m) }}
		}
	}
	for {
		f := fields[r.IntN(len(fields))]
		leaf := f.path[len(f.path)-1]
		v := oracleValue(samples[r.IntN(len(samples))], f.path)
		lit, ok := literal(leaf, v)
		if !ok {
			continue
		}
		op := oracleOps[r.IntN(len(oracleOps))]
		if (leaf.Kind() == protoreflect.BoolKind || leaf.Kind() == protoreflect.EnumKind) && op.text != "=" && op.text != "!=" {
			continue // AIP-160 orders neither
		}
		return oracleTerm{
			text: f.name + " " + op.text + " " + lit,
			eval: func(m protoreflect.Message) bool { return op.test(oracleCompare(leaf, oracleValue(m, f.path), v)) },
		}
	}
}

// testQueryOracle lists 300 random expressions, each under a random
// ordering of the fixture's and a random page size, and compares every
// listing with the plain evaluation.
func (s *suite[M]) testQueryOracle(t *testing.T) {
	repo := s.newRepo(t)
	byKey := s.seed(t, repo, 120)
	var samples []protoreflect.Message
	for _, m := range byKey {
		samples = append(samples, m.ProtoReflect())
	}
	fields := oracleFields(s.fx.New(0).ProtoReflect().Descriptor())
	if len(fields) == 0 {
		t.Skip("the message has no field the generator compares")
	}
	orderings := []Query[M]{{}, {OrderBy: s.fx.Schema.KeyField + " desc", Desc: true}}
	for _, q := range s.fx.Queries {
		// Orderings that need no filter (some are served only when the
		// filter fixes an index's leading field).
		if q.OrderBy != "" && q.Filter == "" {
			orderings = append(orderings, Query[M]{OrderBy: q.OrderBy, Desc: q.Desc, Compare: q.Compare})
		}
	}
	r := rand.New(rand.NewPCG(7, 160))
	for i := range 300 {
		term := randomTerm(r, fields, samples, 3)
		q := orderings[r.IntN(len(orderings))]
		q.Filter = term.text
		q.Keep = func(m M) bool { return term.eval(m.ProtoReflect()) }
		want := s.expected(q, byKey)
		size := 1 + r.IntN(25)
		got, _ := s.listQuery(t, repo, size, svcstore.Where(q.Filter), svcstore.OrderBy(q.OrderBy))
		if d := gocmp.Diff(want, got); d != "" {
			t.Fatalf("expression %d: List(%d, %s) (-want +got):\n%s", i, size, q, d)
		}
	}
}
