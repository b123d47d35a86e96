package svcclient

import (
	"testing"

	"google.golang.org/grpc/codes"
)

// TestRegistry: rows are found by full method, are copies, and a method two
// tables disagree about requires credentials.
func TestRegistry(t *testing.T) {
	table := []MethodPolicy{
		{FullMethod: "/registry.test.S/Open", Auth: AuthPublic, Retry: DefaultRetryPolicy()},
		{FullMethod: "/registry.test.S/Closed"}, // built by hand: the zero Auth
		{FullMethod: "/registry.test.S/Disputed", Auth: AuthPublic},
	}
	RegisterPolicies(table)
	table[0].Auth = AuthRequired // the registry keeps its own copy
	RegisterPolicies([]MethodPolicy{
		{FullMethod: "/registry.test.S/Disputed", Auth: AuthRequired},
		{FullMethod: "/registry.test.S/Open", Auth: AuthPublic, Timeout: 1},
	})

	for method, want := range map[string]Auth{
		"/registry.test.S/Open":     AuthPublic,
		"/registry.test.S/Closed":   AuthRequired,
		"/registry.test.S/Disputed": AuthRequired,
	} {
		row, ok := RegisteredPolicy(method)
		if !ok || row.Auth != want {
			t.Errorf("RegisteredPolicy(%s) = %v, %v; want Auth %v", method, row.Auth, ok, want)
		}
	}
	row, _ := RegisteredPolicy("/registry.test.S/Open")
	if row.Timeout != 0 {
		t.Errorf("a second registration replaced the first row: timeout %v", row.Timeout)
	}
	row.Retry.RetryableCodes[0] = codes.Internal
	if again, _ := RegisteredPolicy("/registry.test.S/Open"); again.Retry.RetryableCodes[0] != codes.Unavailable {
		t.Error("changing a returned row changed the registry")
	}
	if _, ok := RegisteredPolicy("/registry.test.S/Missing"); ok {
		t.Error("RegisteredPolicy found a method nobody registered")
	}
}
