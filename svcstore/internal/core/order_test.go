package core

import (
	"bytes"
	"math"
	"math/rand/v2"
	"testing"
	"time"
)

// TestOrderedEncoding: for every type an index holds, the byte order of
// appendOrdered is the values' order, and no encoding is a prefix of
// another of the same type (so a second field never changes the order
// decided by the first).
func TestOrderedEncoding(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	gens := map[string]func() any{
		"string": func() any {
			b := make([]byte, r.IntN(4))
			for i := range b {
				b[i] = []byte{0, 1, 'a', 0xff}[r.IntN(4)]
			}
			return string(b)
		},
		"int64": func() any {
			return []int64{math.MinInt64, -1, 0, 1, math.MaxInt64, r.Int64() - math.MaxInt64/2}[r.IntN(6)]
		},
		"uint64": func() any { return []uint64{0, 1, math.MaxUint64, r.Uint64()}[r.IntN(4)] },
		"float64": func() any {
			return []float64{math.Inf(-1), -1.5, -0.25, 0, 0.25, 3, math.Inf(1), r.NormFloat64() * 1e6}[r.IntN(8)]
		},
		"bool": func() any { return r.IntN(2) == 1 },
		"time": func() any {
			return time.Unix([]int64{-62135596800, -1, 0, 1, 253402300799}[r.IntN(5)], int64(r.IntN(1e9))).UTC()
		},
		"duration": func() any { return time.Duration(r.Int64() - math.MaxInt64/2) },
	}
	for name, gen := range gens {
		for range 2000 {
			a, b := gen(), gen()
			want, _ := compareValues(a, b)
			ea, eb := appendOrdered(nil, a), appendOrdered(nil, b)
			if got := bytes.Compare(ea, eb); got != want {
				t.Fatalf("%s: order of %v and %v: encodings compare %d, values %d", name, a, b, got, want)
			}
			if want != 0 && (bytes.HasPrefix(ea, eb) || bytes.HasPrefix(eb, ea)) {
				t.Fatalf("%s: encoding of %v and %v: one is a prefix of the other", name, a, b)
			}
		}
	}
}
