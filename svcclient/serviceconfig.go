package svcclient

import (
	"encoding/json"

	"google.golang.org/grpc/codes"

	"github.com/svcgen/protoc-gen-svc/internal/callpolicy"
	"strconv"
	"strings"
	"time"
)

// GRPCMaxAttempts is the largest maxAttempts grpc-go honours in a service
// config's retryPolicy (unless the channel is built with
// grpc.WithMaxCallAttempts); larger values are silently lowered to it.
const GRPCMaxAttempts = 5

// CodeName returns the canonical name of a gRPC status code, as the service
// config and google.rpc.Code spell it ("RESOURCE_EXHAUSTED"), or "" for a
// code gRPC does not define.
func CodeName(c codes.Code) string { return callpolicy.CodeName(c) }

// The JSON shapes of the service config (grpc/service_config.proto), with
// only the fields ServiceConfigJSON writes. Struct field order makes the
// output deterministic.
type (
	serviceConfig struct {
		MethodConfig    []methodConfig   `json:"methodConfig"`
		RetryThrottling *retryThrottling `json:"retryThrottling,omitempty"`
	}
	methodConfig struct {
		Name          []methodName       `json:"name"`
		Timeout       string             `json:"timeout,omitempty"`
		RetryPolicy   *retryPolicyJSON   `json:"retryPolicy,omitempty"`
		HedgingPolicy *hedgingPolicyJSON `json:"hedgingPolicy,omitempty"`
	}
	hedgingPolicyJSON struct {
		MaxAttempts         int      `json:"maxAttempts"`
		HedgingDelay        string   `json:"hedgingDelay,omitempty"`
		NonFatalStatusCodes []string `json:"nonFatalStatusCodes,omitempty"`
	}
	retryThrottling struct {
		MaxTokens  float64 `json:"maxTokens"`
		TokenRatio float64 `json:"tokenRatio"`
	}
	methodName struct {
		Service string `json:"service"`
		Method  string `json:"method"`
	}
	retryPolicyJSON struct {
		MaxAttempts          int      `json:"maxAttempts"`
		InitialBackoff       string   `json:"initialBackoff"`
		MaxBackoff           string   `json:"maxBackoff"`
		BackoffMultiplier    float64  `json:"backoffMultiplier"`
		RetryableStatusCodes []string `json:"retryableStatusCodes"`
	}
)

// ServiceConfigJSON returns the gRPC service config that makes grpc itself
// apply policies, for grpc.WithDefaultServiceConfig. Equal input gives equal
// bytes. It has one methodConfig per method, in table order, with:
//
//   - "timeout" when Timeout > 0;
//   - "retryPolicy" when the method would be retried by an Invoker: a unary
//     or server-streaming method whose policy has MaxAttempts > 1 and passes
//     [RetryPolicy.Validate]. maxAttempts is clamped to [GRPCMaxAttempts],
//     which is what grpc-go would do anyway, so the JSON states what grpc
//     will really do. PerAttemptTimeout has no equivalent and is left out;
//   - "hedgingPolicy" instead of "retryPolicy" when the method hedges (a
//     unary method whose HedgingPolicy has MaxAttempts > 1 and is valid),
//     with maxAttempts clamped likewise. grpc-go ignores it (it never
//     implemented hedging); other gRPC implementations honour it;
//   - "retryThrottling" with [DefaultThrottling] when some method retries or
//     hedges: the token bucket is per channel in grpc, per wrapper here.
//
// Entries grpc would reject are left out rather than making the whole config
// invalid: a FullMethod that is not "/package.Service/Method", and a repeated
// FullMethod (the first entry wins).
//
// Installing this config and retrying in the wrapper multiplies attempts; see
// the package documentation.
func ServiceConfigJSON(policies []MethodPolicy) string {
	sc := serviceConfig{MethodConfig: make([]methodConfig, 0, len(policies))}
	seen := make(map[string]bool, len(policies))
	for i := range policies {
		p := &policies[i]
		service, method, ok := splitFullMethod(p.FullMethod)
		if !ok || seen[p.FullMethod] {
			continue
		}
		seen[p.FullMethod] = true
		mc := methodConfig{Name: []methodName{{Service: service, Method: method}}}
		if p.Timeout > 0 {
			mc.Timeout = durationJSON(p.Timeout)
		}
		if p.Kind == Unary && p.Hedging.hedges() {
			h := &p.Hedging
			hp := &hedgingPolicyJSON{MaxAttempts: min(h.MaxAttempts, GRPCMaxAttempts)}
			if h.Delay > 0 {
				hp.HedgingDelay = durationJSON(h.Delay)
			}
			for _, c := range h.NonFatalCodes {
				hp.NonFatalStatusCodes = append(hp.NonFatalStatusCodes, CodeName(c))
			}
			mc.HedgingPolicy = hp
		} else if (p.Kind == Unary || p.Kind == ServerStreaming) && p.Retry.retries() {
			r := &p.Retry
			rp := &retryPolicyJSON{
				MaxAttempts:       min(r.MaxAttempts, GRPCMaxAttempts),
				InitialBackoff:    durationJSON(r.InitialBackoff),
				MaxBackoff:        durationJSON(r.MaxBackoff),
				BackoffMultiplier: r.BackoffMultiplier,
			}
			for _, c := range r.RetryableCodes {
				rp.RetryableStatusCodes = append(rp.RetryableStatusCodes, CodeName(c))
			}
			mc.RetryPolicy = rp
		}
		if mc.RetryPolicy != nil || mc.HedgingPolicy != nil {
			t := DefaultThrottling()
			sc.RetryThrottling = &retryThrottling{MaxTokens: t.MaxTokens, TokenRatio: t.TokenRatio}
		}
		sc.MethodConfig = append(sc.MethodConfig, mc)
	}
	// Marshal cannot fail: the values are strings, ints and finite floats
	// (Validate rejects infinite and NaN multipliers).
	b, _ := json.Marshal(sc)
	return string(b)
}

// splitFullMethod splits "/package.Service/Method".
func splitFullMethod(full string) (service, method string, ok bool) {
	rest, ok := strings.CutPrefix(full, "/")
	if !ok {
		return "", "", false
	}
	service, method, ok = strings.Cut(rest, "/")
	if !ok || service == "" || method == "" || strings.Contains(method, "/") {
		return "", "", false
	}
	return service, method, true
}

// durationJSON formats a positive d as a google.protobuf.Duration in JSON:
// seconds with as many fractional digits as needed, e.g. "2s", "0.1s",
// "1.5s", "0.000000001s".
func durationJSON(d time.Duration) string {
	sec, ns := int64(d/time.Second), int64(d%time.Second)
	s := strconv.FormatInt(sec, 10)
	if ns != 0 {
		frac := strconv.FormatInt(ns+1e9, 10)[1:] // 9 digits, zero-padded
		s += "." + strings.TrimRight(frac, "0")
	}
	return s + "s"
}
