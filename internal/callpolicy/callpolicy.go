// Package callpolicy holds what the generator and the client runtime must
// agree on, written once: the built-in defaults of a call policy and the
// canonical names of the gRPC status codes. It depends on nothing heavier
// than grpc/codes, so the plugin can use it without linking grpc.
package callpolicy

import (
	"time"

	"google.golang.org/grpc/codes"
)

// Built-in defaults, used when neither the schema nor a plugin or client
// option says otherwise.
const (
	// UnaryTimeout bounds unary and client-streaming calls. Server streams
	// and bidi calls get no default deadline: a watch is meant to outlive
	// any fixed timeout.
	UnaryTimeout = 30 * time.Second

	MaxAttempts       = 4 // the first call counts
	InitialBackoff    = 100 * time.Millisecond
	MaxBackoff        = 5 * time.Second
	BackoffMultiplier = 2.0

	HedgingAttempts = 2
	HedgingDelay    = 100 * time.Millisecond
)

// RetryableCodes are the codes retried by default.
func RetryableCodes() []codes.Code { return []codes.Code{codes.Unavailable} }

// codeNames are the canonical upper-case names of the codes, indexed by
// code, as google.rpc.Code and the gRPC service config spell them.
var codeNames = [...]string{
	"OK", "CANCELLED", "UNKNOWN", "INVALID_ARGUMENT", "DEADLINE_EXCEEDED",
	"NOT_FOUND", "ALREADY_EXISTS", "PERMISSION_DENIED", "RESOURCE_EXHAUSTED",
	"FAILED_PRECONDITION", "ABORTED", "OUT_OF_RANGE", "UNIMPLEMENTED",
	"INTERNAL", "UNAVAILABLE", "DATA_LOSS", "UNAUTHENTICATED",
}

// CodeName returns the canonical name of c ("RESOURCE_EXHAUSTED"), or ""
// for a code gRPC does not define.
func CodeName(c codes.Code) string {
	if int(c) >= len(codeNames) {
		return ""
	}
	return codeNames[c]
}

// CodeByName returns the code of a canonical name.
func CodeByName(name string) (codes.Code, bool) {
	for i, n := range codeNames {
		if n == name {
			return codes.Code(i), true
		}
	}
	return 0, false
}
