// Package svcclient is the runtime behind the client wrappers that
// protoc-gen-svc generates: per-method default deadlines, bounded retries with
// jittered exponential backoff that ride out a server restart, retry
// throttling, hedging, server streams and paginated lists as Go iterators,
// and the same policy exported as data and as a gRPC service config.
//
// Generated code is a thin typed layer: for every service it holds a
// []MethodPolicy table (one entry per RPC, in declaration order), builds an
// [Invoker] from it and binds each method to [Invoker.Unary], [Hedge],
// [ServerStream], [Seq], [ClientStream], [BidiStream] or [Pages] by its index
// in that table. The wrapper keeps the exact method signatures of the
// grpc-generated XClient interface. Generated code also registers each table
// ([RegisterPolicies]), so that server-side code can look a method's row up
// by its full name ([RegisteredPolicy]): svcprod.WithAuth reads
// [MethodPolicy.Auth] there.
//
// # Options
//
// Wrapper options ([Option], given to NewXWrapper) are named With...:
// [WithHook], [WithMethodPolicy], [WithAllPolicies], [WithoutRetries],
// [WithRetryThrottling], [WithReadyWait], ... A wrong one (a misspelt
// method name, an invalid policy) makes the constructor panic with a message
// naming it; [CheckOptions] reports the same as an error, for options built
// at run time.
//
// Per-call options are grpc.CallOptions named Call...: [CallTimeout],
// [CallNoRetry], [CallHook], [CallRetryPolicy]. They embed
// grpc.EmptyCallOption, so grpc ignores them: given to a plain grpc client
// instead of a wrapper, they do nothing, unless the connection was built with
// [CheckCallOptions], which then fails such a call naming the option. The names of earlier releases
// (WithTimeout, WithoutRetry, WithRetryHook, WithRetryPolicy, WithPolicy)
// remain as deprecated aliases for one release.
//
// # Deadlines
//
// Every call gets the deadline min(caller's deadline, now + method timeout).
// The method timeout comes from [MethodPolicy.Timeout] and can be replaced for
// one call with [CallTimeout]; neither ever extends the caller's deadline, and
// a timeout of 0 means "no default", i.e. only the caller's deadline applies.
// One deadline covers all attempts of a call, the waits for a connection and
// the backoff between attempts.
//
// # Retries
//
// Unary calls, and server streams before their first message reached the
// caller, are retried when the attempt failed with one of
// [RetryPolicy.RetryableCodes], up to [RetryPolicy.MaxAttempts] attempts in
// total (the first call counts). The wait before retry n (n >= 1 since the
// last server pushback) is drawn uniformly from
// [0, min(MaxBackoff, InitialBackoff * BackoffMultiplier^(n-1))), the "full
// jitter" of gRFC A6. A valid grpc-retry-pushback-ms trailer from the server
// replaces that wait and restarts the exponential sequence; a malformed or
// negative one stops retrying, as A6 prescribes. Retries carry the outgoing
// metadata [RetryAttemptKey] = number of previous attempts, so servers can
// tell them apart. Client-streaming and bidi calls are never retried: their
// messages are not replayed.
//
// Every attempt of a call that may retry or hedge waits for the connection
// to be ready (grpc.WaitForReady), so that a server restarting or a replica
// dying does not burn attempts while grpc reconnects: an attempt is spent
// only on a server that answered. Calls that may not retry fail fast, as
// plain grpc calls do.
//
// # When the server is down
//
// What a caller gets when no server can be reached for longer than the
// call's deadline:
//
//   - a call that may retry: after waiting until the deadline, a status
//     error with code DeadlineExceeded whose message is grpc's, naming the
//     last connection error ("latest balancer error: connection error: ...
//     connection refused"), wrapped in an [*AttemptsError] (usually 1
//     attempt, since none was spent);
//   - a call that may retry and has no deadline at all (no caller deadline,
//     timeout 0: typically a server stream): after at most the ready wait
//     ([DefaultReadyWait], 20s, see [WithReadyWait]), codes.Unavailable
//     "svcclient: no connection became ready within 20s ...", not retried;
//   - a call that may not retry: at once, grpc's codes.Unavailable error,
//     unchanged.
//
// A server that goes away while an attempt is in flight fails that attempt
// with Unavailable; it is retried (after the backoff) and the retry waits
// for the server to come back, within the deadline.
//
// # Throttling
//
// Each Invoker (each wrapper) has a gRFC A6 token bucket, [DefaultThrottling]
// unless [WithRetryThrottling] or [WithoutRetryThrottling] says otherwise:
// failed attempts with a retryable code take a token, successes give a
// fraction back, and while the bucket is at most half full nothing is
// retried or hedged. When most calls fail, retries stop multiplying the load.
//
// # Hedging
//
// A unary method whose schema marks it NO_SIDE_EFFECTS and asks for hedging
// ((svc.v1.method).hedging) sends further attempts while earlier ones are
// still in flight; see [HedgingPolicy] and [Hedge]. grpc-go never
// implemented the hedging of gRFC A6; this package does.
//
// # Errors
//
// A call that may retry and fails returns an [*AttemptsError]: status.Code,
// status.FromError and status.Convert see the final status unchanged (code,
// message, details), and errors.As gives the attempt count. Once the call's
// context is done no further attempt starts and the call fails promptly with
// DeadlineExceeded or Canceled. Calls that cannot retry return grpc's error
// unchanged.
//
// # Two layers of retries multiply
//
// grpc-go can retry on its own when a service config with a retryPolicy is
// installed (see [ServiceConfigJSON]). Retrying in both places multiplies the
// attempts: a wrapper allowing 4 attempts over a channel allowing 5 can send
// 20 requests for one call, and every wrapper attempt restarts grpc's backoff.
// Use one layer only:
//
//   - the wrapper (the default): do not install a retryPolicy in the
//     channel's service config; or
//   - grpc: pass the generated <Service>ServiceConfig() to
//     grpc.WithDefaultServiceConfig and build the wrapper with
//     [WithoutRetries], which keeps the wrapper's deadlines but never retries
//     (nor waits for a ready connection). Note that grpc caps maxAttempts at 5
//     unless grpc.WithMaxCallAttempts says otherwise, that grpc has no
//     per-attempt timeout, and that grpc-go ignores hedgingPolicy.
//
// Deadlines may be set in both layers safely: the earliest one wins.
//
// # Resources
//
// An Invoker is safe for concurrent use; apart from its throttling bucket it
// is immutable. Each call releases everything it created before it returns
// (hedged attempts included: losers are cancelled and waited for); a stream
// releases its context as soon as it ends (RecvMsg returned an error, io.EOF
// included, or CloseAndRecv returned). As with grpc itself, a stream that is
// abandoned before it ends holds its resources until the caller's context is
// done.
package svcclient
