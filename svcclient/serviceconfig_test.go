package svcclient

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
)

// TestServiceConfigJSONBytes proves the exact, deterministic output for the
// documented example.
func TestServiceConfigJSONBytes(t *testing.T) {
	policies := []MethodPolicy{{
		FullMethod: "/pkg.Svc/M", Kind: Unary, Idempotency: NoSideEffects, Timeout: 2 * time.Second,
		Retry: DefaultRetryPolicy(),
	}}
	const want = `{"methodConfig":[{"name":[{"service":"pkg.Svc","method":"M"}],"timeout":"2s","retryPolicy":{"maxAttempts":4,"initialBackoff":"0.1s","maxBackoff":"5s","backoffMultiplier":2,"retryableStatusCodes":["UNAVAILABLE"]}}],"retryThrottling":{"maxTokens":10,"tokenRatio":0.1}}`
	for i := 0; i < 3; i++ {
		if got := ServiceConfigJSON(policies); got != want {
			t.Fatalf("got  %s\nwant %s", got, want)
		}
	}
	if got, want := ServiceConfigJSON(nil), `{"methodConfig":[]}`; got != want {
		t.Errorf("empty table: %s, want %s", got, want)
	}
}

// configTable covers every kind of entry ServiceConfigJSON treats apart.
func configTable() []MethodPolicy {
	allCodes := RetryPolicy{MaxAttempts: 3, InitialBackoff: 1500 * time.Millisecond, MaxBackoff: time.Minute, BackoffMultiplier: 1.5, PerAttemptTimeout: time.Second}
	for c := codes.Canceled; c <= codes.Unauthenticated; c++ {
		allCodes.RetryableCodes = append(allCodes.RetryableCodes, c)
	}
	many := DefaultRetryPolicy()
	many.MaxAttempts = 9
	invalid := DefaultRetryPolicy()
	invalid.RetryableCodes = nil
	return []MethodPolicy{
		{FullMethod: "/pkg.v1.Svc/Get", Kind: Unary, Idempotency: NoSideEffects, Timeout: 2 * time.Second, Retry: DefaultRetryPolicy()},
		{FullMethod: "/pkg.v1.Svc/Hedged", Kind: Unary, Idempotency: NoSideEffects, Retry: DefaultRetryPolicy(),
			Hedging: HedgingPolicy{MaxAttempts: 7, Delay: 50 * time.Millisecond, NonFatalCodes: []codes.Code{codes.Unavailable}}},
		{FullMethod: "/pkg.v1.Svc/AllCodes", Kind: Unary, Idempotency: Idempotent, Timeout: 1, Retry: allCodes},
		{FullMethod: "/pkg.v1.Svc/Many", Kind: Unary, Retry: many},
		{FullMethod: "/pkg.v1.Svc/Create", Kind: Unary, Timeout: 250 * time.Millisecond},
		{FullMethod: "/pkg.v1.Svc/Invalid", Kind: Unary, Retry: invalid},
		{FullMethod: "/pkg.v1.Svc/Watch", Kind: ServerStreaming, Retry: DefaultRetryPolicy()},
		{FullMethod: "/pkg.v1.Svc/Upload", Kind: ClientStreaming, Timeout: time.Hour, Retry: DefaultRetryPolicy()},
		{FullMethod: "/pkg.v1.Svc/Chat", Kind: BidiStreaming, Retry: DefaultRetryPolicy()},
		{FullMethod: "/other.Svc/Get", Kind: Unary, Timeout: 90 * time.Second},
		{FullMethod: "/pkg.v1.Svc/Get", Kind: Unary, Timeout: time.Hour}, // duplicate: dropped
		{FullMethod: "pkg.v1.Svc/NoSlash"},                               // malformed: dropped
		{FullMethod: "/pkg.v1.Svc/"},
		{FullMethod: "//M"},
		{FullMethod: "/a/b/c"},
	}
}

// TestServiceConfigJSONAcceptedByGRPC proves that grpc accepts the config,
// with a control showing that grpc.NewClient does validate it.
func TestServiceConfigJSONAcceptedByGRPC(t *testing.T) {
	for name, table := range map[string][]MethodPolicy{"test table": testPolicies(), "config table": configTable(), "empty": nil} {
		cc, err := grpc.NewClient("passthrough:///x", grpc.WithTransportCredentials(insecure.NewCredentials()),
			grpc.WithDefaultServiceConfig(ServiceConfigJSON(table)))
		if err != nil {
			t.Errorf("%s: grpc rejects %s: %v", name, ServiceConfigJSON(table), err)
			continue
		}
		cc.Close()
	}
	bad := `{"methodConfig":[{"name":[{"service":"s","method":"m"}],"retryPolicy":{"maxAttempts":4}}]}`
	if cc, err := grpc.NewClient("passthrough:///x", grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithDefaultServiceConfig(bad)); err == nil {
		cc.Close()
		t.Error("control: grpc.NewClient accepted an invalid retry policy, so the test above proves nothing")
	}
}

// TestServiceConfigJSONRoundTrip parses the config back and compares every
// method and value with the policy table.
func TestServiceConfigJSONRoundTrip(t *testing.T) {
	type name struct{ Service, Method string }
	type retry struct {
		MaxAttempts          int
		InitialBackoff       string
		MaxBackoff           string
		BackoffMultiplier    float64
		RetryableStatusCodes []string
	}
	type hedging struct {
		MaxAttempts         int
		HedgingDelay        string
		NonFatalStatusCodes []string
	}
	type entry struct {
		Name          []name
		Timeout       string
		RetryPolicy   *retry
		HedgingPolicy *hedging
	}
	var parsed struct{ MethodConfig []json.RawMessage }
	table := configTable()
	js := ServiceConfigJSON(table)
	if err := json.Unmarshal([]byte(js), &parsed); err != nil {
		t.Fatal(err)
	}
	got := map[string]entry{}
	for _, raw := range parsed.MethodConfig {
		var keys map[string]any
		if err := json.Unmarshal(raw, &keys); err != nil {
			t.Fatal(err)
		}
		for k := range keys {
			if k != "name" && k != "timeout" && k != "retryPolicy" && k != "hedgingPolicy" {
				t.Errorf("unexpected key %q in %s", k, raw)
			}
		}
		var e entry
		if err := json.Unmarshal(raw, &e); err != nil {
			t.Fatal(err)
		}
		if len(e.Name) != 1 {
			t.Fatalf("%d names in %s, want 1 per entry", len(e.Name), raw)
		}
		full := "/" + e.Name[0].Service + "/" + e.Name[0].Method
		if _, dup := got[full]; dup {
			t.Errorf("%s appears twice", full)
		}
		got[full] = e
	}

	seen := map[string]bool{}
	for _, p := range table {
		if _, _, ok := splitFullMethod(p.FullMethod); !ok || seen[p.FullMethod] {
			continue // documented as dropped
		}
		seen[p.FullMethod] = true
		e, ok := got[p.FullMethod]
		if !ok {
			t.Errorf("%s missing", p.FullMethod)
			continue
		}
		delete(got, p.FullMethod)
		if d := parseDuration(t, e.Timeout); d != max(p.Timeout, 0) {
			t.Errorf("%s: timeout %q, want %v", p.FullMethod, e.Timeout, p.Timeout)
		}
		wantHedging := p.Kind == Unary && p.Hedging.MaxAttempts > 1
		if (e.HedgingPolicy != nil) != wantHedging {
			t.Errorf("%s: hedgingPolicy present %v, want %v", p.FullMethod, e.HedgingPolicy != nil, wantHedging)
		}
		if wantHedging {
			want := hedging{MaxAttempts: min(p.Hedging.MaxAttempts, 5), HedgingDelay: durationJSON(p.Hedging.Delay), NonFatalStatusCodes: []string{"UNAVAILABLE"}}
			if diff := cmp.Diff(want, *e.HedgingPolicy); diff != "" {
				t.Errorf("%s: hedgingPolicy (-want +got):\n%s", p.FullMethod, diff)
			}
		}
		wantRetry := !wantHedging && (p.Kind == Unary || p.Kind == ServerStreaming) && p.Retry.MaxAttempts > 1 && p.Retry.Validate() == nil
		if (e.RetryPolicy != nil) != wantRetry {
			t.Errorf("%s: retryPolicy present %v, want %v", p.FullMethod, e.RetryPolicy != nil, wantRetry)
			continue
		}
		if !wantRetry {
			continue
		}
		r := e.RetryPolicy
		var codeNames []string
		for _, c := range p.Retry.RetryableCodes {
			codeNames = append(codeNames, strings.ToUpper(strings.ReplaceAll(snake(c.String()), "Canceled", "Cancelled")))
		}
		want := retry{
			MaxAttempts:          min(p.Retry.MaxAttempts, 5),
			InitialBackoff:       r.InitialBackoff,
			MaxBackoff:           r.MaxBackoff,
			BackoffMultiplier:    p.Retry.BackoffMultiplier,
			RetryableStatusCodes: codeNames,
		}
		if diff := cmp.Diff(want, *r); diff != "" {
			t.Errorf("%s: retryPolicy (-want +got):\n%s", p.FullMethod, diff)
		}
		if parseDuration(t, r.InitialBackoff) != p.Retry.InitialBackoff || parseDuration(t, r.MaxBackoff) != p.Retry.MaxBackoff {
			t.Errorf("%s: backoffs %s, %s, want %v, %v", p.FullMethod, r.InitialBackoff, r.MaxBackoff, p.Retry.InitialBackoff, p.Retry.MaxBackoff)
		}
	}
	for m := range got {
		t.Errorf("unexpected entry %s", m)
	}
}

// snake turns a Go code name into its canonical form: "DeadlineExceeded"
// -> "Deadline_Exceeded"; the caller upper-cases it. "OK" is not retryable.
func snake(s string) string {
	var b strings.Builder
	for i, r := range s {
		if i > 0 && r >= 'A' && r <= 'Z' {
			b.WriteByte('_')
		}
		b.WriteRune(r)
	}
	return b.String()
}

func parseDuration(t *testing.T, s string) time.Duration {
	t.Helper()
	if s == "" {
		return 0
	}
	if !strings.HasSuffix(s, "s") || strings.ContainsAny(s[:len(s)-1], "hmun") {
		t.Fatalf("duration %q is not in proto-JSON seconds form", s)
	}
	d, err := time.ParseDuration(s)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// TestDurationJSON proves the proto-JSON duration form.
func TestDurationJSON(t *testing.T) {
	for d, want := range map[time.Duration]string{
		2 * time.Second:              "2s",
		100 * time.Millisecond:       "0.1s",
		1500 * time.Millisecond:      "1.5s",
		time.Nanosecond:              "0.000000001s",
		time.Hour + time.Microsecond: "3600.000001s",
		90 * time.Second:             "90s",
	} {
		if got := durationJSON(d); got != want {
			t.Errorf("durationJSON(%v) = %q, want %q", d, got, want)
		}
	}
}

// TestRetryLayers proves the advice of the package documentation with real
// grpc retries: grpc retrying from ServiceConfigJSON under a wrapper built
// WithoutRetries makes MaxAttempts attempts, while retrying in both layers
// multiplies them.
func TestRetryLayers(t *testing.T) {
	for _, tc := range []struct {
		name string
		opts []Option
		want int
	}{
		{"grpc only", []Option{WithoutRetries()}, 4},
		{"both layers", nil, 16}, // 4 x 4: both throttles off

	} {
		t.Run(tc.name, func(t *testing.T) {
			policies := testPolicies()
			for i := range policies {
				policies[i].Retry.InitialBackoff, policies[i].Retry.MaxBackoff = time.Millisecond, time.Millisecond
			}
			e := newEnv(t, &server{check: func(context.Context, int) (*healthpb.HealthCheckResponse, error) {
				return nil, unavailable("down")
			}}, grpc.WithDefaultServiceConfig(strings.Replace(ServiceConfigJSON(policies), `"retryThrottling":{"maxTokens":10,"tokenRatio":0.1}`, `"retryThrottling":{"maxTokens":1000,"tokenRatio":1}`, 1)))
			w := &healthWrapper{client: healthpb.NewHealthClient(e.cc), inv: NewInvoker(policies, append(tc.opts, WithClock(newFakeClock()), WithoutRetryThrottling())...)}
			_, err := w.Check(context.Background(), &healthpb.HealthCheckRequest{})
			wantCode(t, err, codes.Unavailable)
			if n := len(e.srv.callsTo(healthpb.Health_Check_FullMethodName)); n != tc.want {
				t.Errorf("server saw %d attempts, want %d", n, tc.want)
			}
		})
	}
}
