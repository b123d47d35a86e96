package svcclient

import (
	"math"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"google.golang.org/grpc/codes"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/protobuf/types/descriptorpb"
)

// TestStrings proves the String forms, and that Idempotency matches the
// proto enum in both names and numbers.
func TestStrings(t *testing.T) {
	for k, want := range map[Kind]string{Unary: "Unary", ServerStreaming: "ServerStreaming", ClientStreaming: "ClientStreaming", BidiStreaming: "BidiStreaming", 9: "Kind(9)"} {
		if got := k.String(); got != want {
			t.Errorf("Kind(%d).String() = %q, want %q", int(k), got, want)
		}
	}
	for _, l := range []descriptorpb.MethodOptions_IdempotencyLevel{
		descriptorpb.MethodOptions_IDEMPOTENCY_UNKNOWN, descriptorpb.MethodOptions_NO_SIDE_EFFECTS, descriptorpb.MethodOptions_IDEMPOTENT,
	} {
		if got, want := Idempotency(l).String(), l.String(); got != want {
			t.Errorf("Idempotency(%d).String() = %q, want %q", int(l), got, want)
		}
	}
	if got := Idempotency(-1).String(); got != "Idempotency(-1)" {
		t.Errorf("Idempotency(-1).String() = %q", got)
	}
	for a, want := range map[Auth]string{AuthRequired: "AUTH_REQUIRED", AuthPublic: "AUTH_PUBLIC", 7: "Auth(7)"} {
		if got := a.String(); got != want {
			t.Errorf("Auth(%d).String() = %q, want %q", int(a), got, want)
		}
	}
}

// TestValidate proves which retry policies are usable.
func TestValidate(t *testing.T) {
	ok := DefaultRetryPolicy()
	for _, tc := range []struct {
		name    string
		edit    func(*RetryPolicy)
		wantErr string // substring; "" = valid
	}{
		{"default", func(*RetryPolicy) {}, ""},
		{"no retry ignores the rest", func(p *RetryPolicy) { *p = RetryPolicy{MaxAttempts: 1} }, ""},
		{"zero value", func(p *RetryPolicy) { *p = RetryPolicy{} }, ""},
		{"max below initial is fine", func(p *RetryPolicy) { p.MaxBackoff = time.Millisecond }, ""},
		{"shrinking multiplier is fine", func(p *RetryPolicy) { p.BackoffMultiplier = 0.5 }, ""},
		{"negative per-attempt", func(p *RetryPolicy) { p.PerAttemptTimeout = -1 }, "PerAttemptTimeout"},
		{"negative per-attempt without retry", func(p *RetryPolicy) { p.MaxAttempts = 1; p.PerAttemptTimeout = -1 }, "PerAttemptTimeout"},
		{"zero initial", func(p *RetryPolicy) { p.InitialBackoff = 0 }, "InitialBackoff"},
		{"zero max", func(p *RetryPolicy) { p.MaxBackoff = 0 }, "MaxBackoff"},
		{"zero multiplier", func(p *RetryPolicy) { p.BackoffMultiplier = 0 }, "BackoffMultiplier"},
		{"NaN multiplier", func(p *RetryPolicy) { p.BackoffMultiplier = math.NaN() }, "BackoffMultiplier"},
		{"infinite multiplier", func(p *RetryPolicy) { p.BackoffMultiplier = math.Inf(1) }, "BackoffMultiplier"},
		{"no codes", func(p *RetryPolicy) { p.RetryableCodes = nil }, "RetryableCodes"},
		{"OK code", func(p *RetryPolicy) { p.RetryableCodes = []codes.Code{codes.OK} }, "OK"},
		{"unknown code", func(p *RetryPolicy) { p.RetryableCodes = []codes.Code{17} }, "Code(17)"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := ok.clone()
			tc.edit(&p)
			err := p.Validate()
			if tc.wantErr == "" {
				if err != nil {
					t.Fatalf("Validate() = %v, want nil", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Fatalf("Validate() = %v, want an error about %s", err, tc.wantErr)
			}
		})
	}
}

// TestDefaultRetryPolicy proves the documented default.
func TestDefaultRetryPolicy(t *testing.T) {
	want := RetryPolicy{MaxAttempts: 4, InitialBackoff: 100 * time.Millisecond, MaxBackoff: 5 * time.Second, BackoffMultiplier: 2, RetryableCodes: []codes.Code{codes.Unavailable}}
	p := DefaultRetryPolicy()
	if diff := cmp.Diff(want, p); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
	p.RetryableCodes[0] = codes.Internal
	if DefaultRetryPolicy().RetryableCodes[0] != codes.Unavailable {
		t.Error("DefaultRetryPolicy shares its codes slice")
	}
}

// TestClonePolicies proves that a clone shares nothing with the original.
func TestClonePolicies(t *testing.T) {
	if ClonePolicies(nil) != nil {
		t.Error("ClonePolicies(nil) != nil")
	}
	orig := testPolicies()
	c := ClonePolicies(orig)
	if diff := cmp.Diff(orig, c); diff != "" {
		t.Fatalf("clone differs (-orig +clone):\n%s", diff)
	}
	c[0].Timeout = time.Hour
	c[0].Retry.RetryableCodes[0] = codes.Internal
	if orig[0].Timeout == time.Hour || orig[0].Retry.RetryableCodes[0] == codes.Internal {
		t.Error("changing the clone changed the original")
	}
}

// TestInvokerPolicies proves that NewInvoker copies its table, that
// WithMethodPolicy and WithAllPolicies edit it (but not FullMethod and
// Kind), and that unknown methods, invalid policies, hedging where the
// table has none and bad throttling are errors at construction: CheckOptions
// reports them and NewInvoker panics with the same message.
func TestInvokerPolicies(t *testing.T) {
	table := testPolicies()
	codesArg := []codes.Code{codes.Aborted}
	inv := NewInvoker(table,
		WithAllPolicies(func(p *MethodPolicy) { p.Timeout = time.Minute }),
		WithMethodPolicy(healthpb.Health_Check_FullMethodName, func(p *MethodPolicy) {
			p.Timeout = time.Second
			p.FullMethod = "/renamed/X"
			p.Kind = BidiStreaming
			p.Retry.RetryableCodes = codesArg
		}),
		WithPolicy(healthpb.Health_List_FullMethodName, func(p *MethodPolicy) { p.Retry.MaxAttempts = 2 }), // the deprecated name still works
		WithMethodPolicy(healthpb.Health_Watch_FullMethodName, nil),
	)
	table[0].Timeout = time.Hour // must not reach the Invoker
	codesArg[0] = codes.Internal // nor this

	got := inv.Policies()
	want := testPolicies()
	for i := range want {
		want[i].Timeout = time.Minute
	}
	want[checkIdx].Timeout = time.Second
	want[checkIdx].Retry.RetryableCodes = []codes.Code{codes.Aborted}
	want[listIdx].Retry.MaxAttempts = 2
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("policies (-want +got):\n%s", diff)
	}
	if err := CheckOptions(testPolicies()); err != nil {
		t.Errorf("CheckOptions() of a good table = %v", err)
	}

	for _, tc := range []struct {
		name string
		opts []Option
		want []string
	}{
		{"misspelt method", []Option{WithMethodPolicy("/grpc.health.v1.Health/Chek", func(p *MethodPolicy) {})},
			[]string{`svcclient: WithMethodPolicy: unknown method "/grpc.health.v1.Health/Chek"; the methods are /grpc.health.v1.Health/Check, `}},
		{"invalid retry policy", []Option{WithMethodPolicy(healthpb.Health_List_FullMethodName, func(p *MethodPolicy) { p.Retry.InitialBackoff = 0 })},
			[]string{healthpb.Health_List_FullMethodName + ": svcclient: retry policy: InitialBackoff"}},
		{"hedging not in the table", []Option{WithMethodPolicy(healthpb.Health_Check_FullMethodName, func(p *MethodPolicy) { p.Hedging.MaxAttempts = 2 })},
			[]string{"svcclient: /grpc.health.v1.Health/Check: hedging is only possible for unary methods whose schema asks for it"}},
		{"bad throttling", []Option{WithRetryThrottling(Throttling{MaxTokens: 0, TokenRatio: 0.1})},
			[]string{"svcclient: WithRetryThrottling: MaxTokens must be in (0, 1000]"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := CheckOptions(testPolicies(), tc.opts...)
			if err == nil {
				t.Fatal("CheckOptions() = nil, want an error")
			}
			for _, s := range tc.want {
				if !strings.Contains(err.Error(), s) {
					t.Errorf("CheckOptions() = %q, want it to mention %q", err, s)
				}
			}
			defer func() {
				p := recover()
				if perr, ok := p.(error); !ok || perr.Error() != err.Error() {
					t.Errorf("NewInvoker panicked with %v, want %v", p, err)
				}
			}()
			NewInvoker(testPolicies(), tc.opts...)
		})
	}
}
