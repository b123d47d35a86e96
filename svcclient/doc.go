// Package svcclient is the runtime behind the client wrappers that
// protoc-gen-svc generates: per-method default deadlines, bounded retries with
// jittered exponential backoff, server streams as Go iterators, and the same
// policy exported as data and as a gRPC service config.
//
// Generated code is a thin typed layer: for every service it holds a
// []MethodPolicy table (one entry per RPC, in declaration order), builds an
// [Invoker] from it and binds each method to [Invoker.Unary], [ServerStream],
// [Seq], [ClientStream] or [BidiStream] by its index in that table. The
// wrapper keeps the exact method signatures of the grpc-generated XClient
// interface, so per-call settings are grpc.CallOption values ([WithTimeout],
// [WithoutRetry], [WithRetryHook], [WithRetryPolicy]); grpc ignores them,
// because they embed grpc.EmptyCallOption.
//
// # Deadlines
//
// Every call gets the deadline min(caller's deadline, now + method timeout).
// The method timeout comes from [MethodPolicy.Timeout] and can be replaced for
// one call with [WithTimeout]; neither ever extends the caller's deadline, and
// a timeout of 0 means "no default", i.e. only the caller's deadline applies.
// One deadline covers all attempts of a call and the backoff between them.
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
// negative one stops retrying, as A6 prescribes. Once the call's context is
// done no further attempt starts and the call fails promptly with a status
// error of code DeadlineExceeded or Canceled. Otherwise the error of the last
// attempt is returned unchanged. Retries carry the outgoing metadata
// [RetryAttemptKey] = number of previous attempts, so servers can tell them
// apart. Client-streaming and bidi calls are never retried: their messages
// are not replayed.
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
//     [WithoutRetries], which keeps the wrapper's deadlines but never retries.
//     Note that grpc caps maxAttempts at 5 unless grpc.WithMaxCallAttempts
//     says otherwise, and that grpc has no per-attempt timeout.
//
// Deadlines may be set in both layers safely: the earliest one wins.
//
// # Resources
//
// An Invoker is immutable and safe for concurrent use. Each call releases
// everything it created before it returns; a stream releases its context as
// soon as it ends (RecvMsg returned an error, io.EOF included, or
// CloseAndRecv returned). As with grpc itself, a stream that is abandoned
// before it ends holds its resources until the caller's context is done.
package svcclient
