package callpolicy

import (
	"strings"
	"testing"

	"google.golang.org/grpc/codes"
)

// TestCodeNames checks the names against grpc's own spelling of the codes
// (CamelCase, "Canceled") turned into google.rpc.Code's.
func TestCodeNames(t *testing.T) {
	for c := codes.OK; c <= codes.Unauthenticated; c++ {
		var b strings.Builder
		for i, r := range c.String() {
			if i > 0 && r >= 'A' && r <= 'Z' {
				b.WriteByte('_')
			}
			b.WriteRune(r)
		}
		want := strings.ReplaceAll(strings.ToUpper(b.String()), "CANCELED", "CANCELLED")
		if c == codes.OK {
			want = "OK"
		}
		if got := CodeName(c); got != want {
			t.Errorf("CodeName(%v) = %q, want %q", c, got, want)
		}
		if back, ok := CodeByName(want); !ok || back != c {
			t.Errorf("CodeByName(%q) = %v, %v", want, back, ok)
		}
	}
	if CodeName(codes.Unauthenticated+1) != "" {
		t.Error("a code gRPC does not define has a name")
	}
	if _, ok := CodeByName("unavailable"); ok {
		t.Error("names are upper case only")
	}
}
