// Package svcprod makes a svcserver.Server ready for production, and
// clients ready to talk to one, by gluing together the libraries the gRPC
// ecosystem already trusts:
//
//   - authentication per method ([WithAuth]): go-grpc-middleware's auth and
//     selector interceptors around a hook of yours; which methods are public
//     comes from the schema, (svc.v1.method).auth = AUTH_PUBLIC, read from the
//     policy tables generated code registers (the descriptors for services
//     generated without them); health and reflection are public by default;
//   - validation ([WithValidation]): protovalidate (buf.validate rules in
//     the .proto) through go-grpc-middleware's interceptor; a violation
//     answers codes.InvalidArgument with google.rpc.BadRequest field
//     violations;
//   - resource ids ([WithIDCheck]): AIP-122 ids by default, so that ids with
//     "/", "..", NUL, newlines or 10 KiB never reach a repository; and field
//     sizes ([WithFieldSizeLimit]): 64 KiB per string or bytes value by
//     default, so that no stored item can make a List page unanswerable;
//   - an access log through log/slog ([WithAccessLog]): one record per call
//     with method, code, duration and peer, under go-grpc-middleware's
//     logging keys and levels (a small interceptor of ours: theirs cost a
//     third of the production chain);
//   - OpenTelemetry traces and metrics ([WithTelemetry], [ClientTelemetry]):
//     otelgrpc stats handlers, off unless asked for, and the generated client
//     wrappers' retries as span events ([RetrySpanEvents]);
//   - client connections ([DialOptions]): TLS or mutual TLS, a bearer token,
//     keepalive that finds a frozen server.
//
// TLS, keepalive, message size limits and error sanitising need nothing but
// grpc and live in package svcserver itself, which every generated skeleton
// imports. This package is separate because of what it links (CEL,
// OpenTelemetry): programs that do not import it do not carry them.
//
// A server with everything on:
//
//	srv := svcserver.New(
//		svcserver.WithLogger(logger),
//		svcserver.WithTLS(tlsConfig),
//		svcprod.WithAccessLog(logger),
//		svcprod.WithTelemetry(),
//		svcprod.WithAuth(checkToken),
//		svcprod.WithValidation(),
//		svcprod.WithIDCheck(),
//		svcprod.WithFieldSizeLimit(0, nil),
//	)
//
// Interceptors run in the order their options are given (after svcserver's
// panic recovery, before its error sanitiser): give the access log first so
// that it also records calls refused by authentication or validation.
package svcprod
