package svcclient

import (
	"strconv"

	"google.golang.org/grpc/status"
)

// AttemptsError is the error of a call that could retry or hedge and failed:
// it says how many attempts were made. It keeps the status of the error the
// call ended with, so status.Code, status.FromError and status.Convert see
// that status (code, message and details) unchanged:
//
//	_, err := c.GetBook(ctx, req)
//	if status.Code(err) == codes.Unavailable { ... }
//	var ae *svcclient.AttemptsError
//	if errors.As(err, &ae) { log.Printf("%d attempts", ae.Attempts) }
//
// Calls that cannot retry (non-idempotent methods, client and bidi streams,
// [CallNoRetry], [WithoutRetries]) return grpc's error unchanged, after their
// single attempt. A server stream's errors after its first message are not
// wrapped either.
type AttemptsError struct {
	// FullMethod is the gRPC method name, "/package.Service/Method".
	FullMethod string
	// Attempts is the number of attempts started, the first included; with
	// hedging, those in flight together all count.
	Attempts int
	// Err is the error the call ended with: the last attempt's error, or a
	// DeadlineExceeded / Canceled status error when the call's context ended
	// between attempts.
	Err error
	// LastAttempt is the error of the last attempt that failed, when it is
	// not Err (the context ended while waiting to retry); otherwise nil.
	LastAttempt error
	// Throttled reports that a retry or hedge was refused by retry
	// throttling (see [Throttling]).
	Throttled bool
}

// Error returns the final error's text, prefixed with the method and the
// attempt count.
func (e *AttemptsError) Error() string {
	s := e.FullMethod + ": " + strconv.Itoa(e.Attempts) + " attempt"
	if e.Attempts != 1 {
		s += "s"
	}
	if e.Throttled {
		s += " (retries throttled)"
	}
	s += ": " + e.Err.Error()
	if e.LastAttempt != nil {
		s += " (last attempt: " + e.LastAttempt.Error() + ")"
	}
	return s
}

// Unwrap returns Err.
func (e *AttemptsError) Unwrap() error { return e.Err }

// GRPCStatus returns the status of Err, unchanged, for the status package.
func (e *AttemptsError) GRPCStatus() *status.Status { return status.Convert(e.Err) }
