package svcprod

import (
	"context"

	validatepb "buf.build/gen/go/bufbuild/protovalidate/protocolbuffers/go/buf/validate"
	"buf.build/go/protovalidate"
	mwvalidate "github.com/grpc-ecosystem/go-grpc-middleware/v2/interceptors/protovalidate"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/protoadapt"

	"github.com/svcgen/protoc-gen-svc/svcserver"
)

// WithValidation checks every request (and every message a client streams)
// against the protovalidate rules of its message (buf.validate options in
// the .proto) before the handler sees it, with protovalidate's global
// validator. See WithValidator.
func WithValidation() svcserver.Option {
	return WithValidator(protovalidate.GlobalValidator)
}

// WithValidator is WithValidation with a validator of yours (built with
// protovalidate.New and its options).
//
// It is go-grpc-middleware's protovalidate interceptor, whose violations it
// also answers as gRPC clients expect them: codes.InvalidArgument with a
// google.rpc.BadRequest detail, one field violation per broken rule (field
// path such as "product.price.currency_code", the rule's message, and its
// id as the reason), followed by protovalidate's own buf.validate.Violations
// detail. Messages without rules pass at the cost of a map look-up.
func WithValidator(v protovalidate.Validator) svcserver.Option {
	unary := mwvalidate.UnaryServerInterceptor(v)
	stream := mwvalidate.StreamServerInterceptor(v)
	return svcserver.WithCheck(
		func(ctx context.Context, req any, info *grpc.UnaryServerInfo) (context.Context, error) {
			// The middleware calls next only for a valid request, and next
			// returns no error; any error is the middleware's own. next is a
			// function, not a closure: nothing to allocate per call.
			if _, err := unary(ctx, req, info, validNext); err != nil {
				return nil, badRequest(err)
			}
			return ctx, nil
		},
		func(srv any, ss grpc.ServerStream, info *grpc.StreamServerInfo, handler grpc.StreamHandler) error {
			return stream(srv, ss, info, func(srv any, validating grpc.ServerStream) error {
				return handler(srv, badRequestStream{validating})
			})
		},
	)
}

// validNext is the handler WithValidator gives the middleware's unary
// interceptor: reached only by valid requests.
func validNext(context.Context, any) (any, error) { return nil, nil }

// badRequestStream turns the validation errors of RecvMsg into BadRequest.
type badRequestStream struct{ grpc.ServerStream }

func (s badRequestStream) RecvMsg(m any) error {
	err := s.ServerStream.RecvMsg(m)
	if err != nil && status.Code(err) == codes.InvalidArgument {
		return badRequest(err)
	}
	return err
}

// badRequest adds a google.rpc.BadRequest detail before the
// buf.validate.Violations detail of a validation error.
func badRequest(err error) error {
	st, ok := status.FromError(err)
	if !ok || st.Code() != codes.InvalidArgument {
		return err
	}
	var violations *validatepb.Violations
	for _, d := range st.Details() {
		if v, ok := d.(*validatepb.Violations); ok {
			violations = v
			break
		}
	}
	if violations == nil {
		return err
	}
	br := &errdetails.BadRequest{}
	for _, v := range violations.GetViolations() {
		br.FieldViolations = append(br.FieldViolations, &errdetails.BadRequest_FieldViolation{
			Field:       protovalidate.FieldPathString(v.GetField()),
			Description: v.GetMessage(),
			Reason:      v.GetRuleId(),
		})
	}
	p := st.Proto()
	out := status.New(codes.InvalidArgument, p.GetMessage())
	details := []protoadapt.MessageV1{br, violations}
	withDetails, derr := out.WithDetails(details...)
	if derr != nil {
		return err
	}
	return withDetails.Err()
}
