package svcclient

import (
	"errors"
	"fmt"
	"github.com/svcgen/protoc-gen-svc/internal/callpolicy"
	"math"
	"slices"
	"strconv"
	"time"

	"google.golang.org/grpc/codes"
)

// Kind is the RPC kind of a method: which sides send a stream of messages.
type Kind int

// The four RPC kinds. Only Unary and ServerStreaming methods are ever
// retried: the messages of client-streaming and bidi calls are not replayed.
const (
	Unary Kind = iota
	ServerStreaming
	ClientStreaming
	BidiStreaming
)

// String returns the constant's name, e.g. "ServerStreaming".
func (k Kind) String() string {
	switch k {
	case Unary:
		return "Unary"
	case ServerStreaming:
		return "ServerStreaming"
	case ClientStreaming:
		return "ClientStreaming"
	case BidiStreaming:
		return "BidiStreaming"
	}
	return "Kind(" + strconv.Itoa(int(k)) + ")"
}

// Idempotency mirrors google.protobuf.MethodOptions.IdempotencyLevel, with the
// same numeric values. The generator uses it to decide which methods retry by
// default; the runtime only carries it as data.
type Idempotency int

// The idempotency levels of descriptor.proto.
const (
	IdempotencyUnknown Idempotency = iota // IDEMPOTENCY_UNKNOWN
	NoSideEffects                         // NO_SIDE_EFFECTS
	Idempotent                            // IDEMPOTENT
)

// String returns the proto enum value name, e.g. "NO_SIDE_EFFECTS".
func (i Idempotency) String() string {
	switch i {
	case IdempotencyUnknown:
		return "IDEMPOTENCY_UNKNOWN"
	case NoSideEffects:
		return "NO_SIDE_EFFECTS"
	case Idempotent:
		return "IDEMPOTENT"
	}
	return "Idempotency(" + strconv.Itoa(int(i)) + ")"
}

// Auth says whether a server that authenticates its callers
// (svcprod.WithAuth) requires credentials for a method: the schema's
// (svc.v1.method).auth, else its service's (svc.v1.service).auth, resolved
// by the generator. The client wrapper does not use it.
//
// Unlike Idempotency, its values are not the proto enum's: the zero value
// is AuthRequired, so that a row built by hand without an Auth field never
// opens a method to anonymous callers.
type Auth int

// The authentication requirements of a method.
const (
	AuthRequired Auth = iota // AUTH_REQUIRED, and AUTH_UNSPECIFIED once inherited
	AuthPublic               // AUTH_PUBLIC: anyone may call the method
)

// String returns the proto enum value name, e.g. "AUTH_PUBLIC".
func (a Auth) String() string {
	switch a {
	case AuthRequired:
		return "AUTH_REQUIRED"
	case AuthPublic:
		return "AUTH_PUBLIC"
	}
	return "Auth(" + strconv.Itoa(int(a)) + ")"
}

// RetryPolicy says whether and how a failed attempt is retried. Its fields
// follow the retryPolicy of the gRPC service config (gRFC A6), plus
// PerAttemptTimeout.
type RetryPolicy struct {
	// MaxAttempts bounds the number of attempts, the first call included.
	// MaxAttempts <= 1 means no retry; the other fields are then ignored.
	MaxAttempts int
	// InitialBackoff is the upper bound of the random wait before the first
	// retry. Required (> 0) when MaxAttempts > 1.
	InitialBackoff time.Duration
	// MaxBackoff caps the upper bound of every wait. Required (> 0) when
	// MaxAttempts > 1.
	MaxBackoff time.Duration
	// BackoffMultiplier grows the upper bound after each retry. Required
	// (finite, > 0) when MaxAttempts > 1.
	BackoffMultiplier float64
	// RetryableCodes are the status codes that are retried; every other
	// code ends the call with exactly that error. Required (non-empty, no
	// codes.OK) when MaxAttempts > 1.
	RetryableCodes []codes.Code
	// PerAttemptTimeout, if > 0, additionally bounds each attempt of a unary
	// call (never beyond the call's deadline). An attempt cut off by it fails
	// with codes.DeadlineExceeded and is retried only if that code is in
	// RetryableCodes. It applies only while retrying is on, and not to
	// streams, whose attempts last as long as the stream. It has no
	// equivalent in the gRPC service config.
	PerAttemptTimeout time.Duration
}

// DefaultRetryPolicy returns the policy used for methods that are safe to
// retry (NO_SIDE_EFFECTS or IDEMPOTENT) when the schema says nothing else:
// 4 attempts, backoff bounds starting at 100ms and doubling up to 5s, retrying
// only codes.Unavailable, no per-attempt timeout.
func DefaultRetryPolicy() RetryPolicy {
	return RetryPolicy{
		MaxAttempts:       callpolicy.MaxAttempts,
		InitialBackoff:    callpolicy.InitialBackoff,
		MaxBackoff:        callpolicy.MaxBackoff,
		BackoffMultiplier: callpolicy.BackoffMultiplier,
		RetryableCodes:    callpolicy.RetryableCodes(),
	}
}

// Validate reports the first field that makes p unusable, or nil. A policy
// with MaxAttempts <= 1 is valid whatever its backoff fields say, because it
// never retries. The rules for retrying policies are those gRPC applies to a
// service config's retryPolicy, so a valid policy is always accepted there.
//
// [NewInvoker] rejects an invalid policy set with [WithMethodPolicy]; a
// per-call [CallRetryPolicy] that is invalid means no retry.
func (p RetryPolicy) Validate() error {
	if p.PerAttemptTimeout < 0 {
		return fmt.Errorf("svcclient: retry policy: PerAttemptTimeout %v is negative", p.PerAttemptTimeout)
	}
	if p.MaxAttempts <= 1 {
		return nil
	}
	switch {
	case p.InitialBackoff <= 0:
		return fmt.Errorf("svcclient: retry policy: InitialBackoff must be > 0 when MaxAttempts > 1, got %v", p.InitialBackoff)
	case p.MaxBackoff <= 0:
		return fmt.Errorf("svcclient: retry policy: MaxBackoff must be > 0 when MaxAttempts > 1, got %v", p.MaxBackoff)
	case !(p.BackoffMultiplier > 0) || math.IsInf(p.BackoffMultiplier, 1):
		return fmt.Errorf("svcclient: retry policy: BackoffMultiplier must be finite and > 0 when MaxAttempts > 1, got %v", p.BackoffMultiplier)
	case len(p.RetryableCodes) == 0:
		return errors.New("svcclient: retry policy: RetryableCodes must not be empty when MaxAttempts > 1")
	}
	for _, c := range p.RetryableCodes {
		if c == codes.OK || CodeName(c) == "" {
			return fmt.Errorf("svcclient: retry policy: %v is not a retryable status code", c)
		}
	}
	return nil
}

// retries reports whether p allows a second attempt.
func (p *RetryPolicy) retries() bool {
	return p.MaxAttempts > 1 && p.Validate() == nil
}

// clone returns p with its own copy of RetryableCodes.
func (p RetryPolicy) clone() RetryPolicy {
	p.RetryableCodes = slices.Clone(p.RetryableCodes)
	return p
}

// MethodPolicy is the client policy of one RPC: a row of the table that
// generated code declares per service and exports through
// <Service>MethodPolicies().
type MethodPolicy struct {
	// FullMethod is the gRPC method name, "/package.Service/Method".
	FullMethod string
	// Kind is the RPC kind.
	Kind Kind
	// Idempotency is the method's idempotency_level from the schema.
	Idempotency Idempotency
	// Auth is whether the server requires credentials for the method, from
	// the schema; the zero value requires them. Servers read it from the
	// tables generated code registers (see [RegisterPolicies]).
	Auth Auth
	// Timeout is the default deadline of a call, counted from its start.
	// It never extends the caller's deadline; <= 0 means no default.
	Timeout time.Duration
	// Retry says how failed attempts are retried. It is ignored for
	// client-streaming and bidi methods, and while Hedging is on.
	Retry RetryPolicy
	// Hedging, when on (MaxAttempts > 1), replaces Retry: see
	// [HedgingPolicy]. Only methods whose generated table has hedging (the
	// schema's (svc.v1.method).hedging on a NO_SIDE_EFFECTS unary method) can
	// hedge; [WithMethodPolicy] may tune or turn off their hedging, not turn
	// it on elsewhere.
	Hedging HedgingPolicy
}

// HedgingPolicy sends the same request more than once without waiting for
// a failure (gRFC A6 hedging, which grpc-go does not implement): the first
// attempt at once, then another every Delay until one answers or
// MaxAttempts have been sent; an attempt that fails with one of
// NonFatalCodes sends the next one at once. The first answer that is a
// success or a fatal error wins, and every other attempt still in flight is
// cancelled (the server sees its context cancelled). A method may hedge only
// if it has no side effects.
type HedgingPolicy struct {
	// MaxAttempts bounds the attempts, the first included; <= 1 means no
	// hedging and the other fields are ignored.
	MaxAttempts int
	// Delay is the wait before each further attempt. 0 sends all attempts
	// at once.
	Delay time.Duration
	// NonFatalCodes are the codes after which the next attempt is sent at
	// once, and which do not end the call while attempts remain. Other
	// codes end the call with that error.
	NonFatalCodes []codes.Code
}

// Validate reports the first field that makes h unusable, or nil. A policy
// with MaxAttempts <= 1 is always valid.
func (h HedgingPolicy) Validate() error {
	if h.MaxAttempts <= 1 {
		return nil
	}
	if h.Delay < 0 {
		return fmt.Errorf("svcclient: hedging policy: Delay %v is negative", h.Delay)
	}
	for _, c := range h.NonFatalCodes {
		if c == codes.OK || CodeName(c) == "" {
			return fmt.Errorf("svcclient: hedging policy: %v is not a status code to hedge on", c)
		}
	}
	return nil
}

// hedges reports whether h sends more than one attempt.
func (h *HedgingPolicy) hedges() bool {
	return h.MaxAttempts > 1 && h.Validate() == nil
}

// ClonePolicies returns a deep copy of policies, so that callers of a
// generated XMethodPolicies() cannot change the table behind the wrappers.
func ClonePolicies(policies []MethodPolicy) []MethodPolicy {
	if policies == nil {
		return nil
	}
	out := slices.Clone(policies)
	for i := range out {
		out[i].Retry = out[i].Retry.clone()
		out[i].Hedging.NonFatalCodes = slices.Clone(out[i].Hedging.NonFatalCodes)
	}
	return out
}
