package svclro

import (
	"context"

	"cloud.google.com/go/longrunning/autogen/longrunningpb"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/anypb"
	"google.golang.org/protobuf/types/known/fieldmaskpb"

	"github.com/svcgen/protoc-gen-svc/svcstore"
)

// Repository is where operations are kept.
type Repository = svcstore.Repository[*longrunningpb.Operation]

// Collection is the collection of operation names: every operation this
// package creates is named "operations/<id>", with an id the repository
// assigns.
const Collection = "operations/"

// Schema is the repository schema of operations, for svcstore.New and the
// database-backed stores (sqlitestore.New, pgstore.New): keyed by name, with
// server-assigned names under [Collection].
var Schema = svcstore.Schema{KeyField: "name", KeyPrefix: Collection}

// NewMemory returns an empty in-memory repository of operations.
func NewMemory(opts ...svcstore.Option) *svcstore.Memory[*longrunningpb.Operation] {
	return svcstore.MustNew[*longrunningpb.Operation](Schema, opts...)
}

// Done stores a new operation that is done, with response packed as its
// response and metadata (may be nil) as its metadata, and returns it as
// stored, named by the repository.
func Done(ctx context.Context, repo Repository, response, metadata proto.Message) (*longrunningpb.Operation, error) {
	op, err := newOperation(metadata)
	if err != nil {
		return nil, err
	}
	res, err := pack("response", response)
	if err != nil {
		return nil, err
	}
	op.Done = true
	op.Result = &longrunningpb.Operation_Response{Response: res}
	return repo.Create(ctx, op)
}

// Preview returns an operation that is done, with response and metadata
// packed as Done packs them, without storing it: the answer of a request
// with validate_only (AIP-163), which must leave nothing behind. It has no
// name, since no Operations method can find it; waiting for it returns at
// once, as it is done.
func Preview(response, metadata proto.Message) (*longrunningpb.Operation, error) {
	op, err := newOperation(metadata)
	if err != nil {
		return nil, err
	}
	res, err := pack("response", response)
	if err != nil {
		return nil, err
	}
	op.Done = true
	op.Result = &longrunningpb.Operation_Response{Response: res}
	return op, nil
}

// Start stores a new operation that is not done, with metadata (may be nil),
// and returns it as stored. Finish it later with [Complete] or [Fail]; its
// name is all they need, so another goroutine or another replica on the
// same database may do it.
func Start(ctx context.Context, repo Repository, metadata proto.Message) (*longrunningpb.Operation, error) {
	op, err := newOperation(metadata)
	if err != nil {
		return nil, err
	}
	return repo.Create(ctx, op)
}

// Complete marks the operation called name done with response packed as
// its response, and with metadata as its metadata unless metadata is nil.
// An operation that is already done (completed, failed or cancelled) is
// left as it is: the answer is FailedPrecondition.
//
// The check and the write are two repository calls: a Cancel that lands
// between them (on another replica) is overwritten by the completion.
func Complete(ctx context.Context, repo Repository, name string, response, metadata proto.Message) (*longrunningpb.Operation, error) {
	res, err := pack("response", response)
	if err != nil {
		return nil, err
	}
	return finish(ctx, repo, name, metadata, &longrunningpb.Operation_Response{Response: res})
}

// Fail marks the operation called name done with err as its error (a gRPC
// status error keeps its code, message and details; any other error becomes
// Unknown), and with metadata unless it is nil. Like [Complete], it refuses
// an operation that is already done.
func Fail(ctx context.Context, repo Repository, name string, cause error, metadata proto.Message) (*longrunningpb.Operation, error) {
	if cause == nil {
		return nil, status.Error(codes.InvalidArgument, "svclro.Fail: nil error")
	}
	return finish(ctx, repo, name, metadata, &longrunningpb.Operation_Error{Error: status.Convert(cause).Proto()})
}

// SetMetadata replaces the metadata of the operation called name, done or
// not (progress reports, for instance), and returns the operation.
func SetMetadata(ctx context.Context, repo Repository, name string, metadata proto.Message) (*longrunningpb.Operation, error) {
	md, err := pack("metadata", metadata)
	if err != nil {
		return nil, err
	}
	return repo.Update(ctx, &longrunningpb.Operation{Name: name, Metadata: md}, &fieldmaskpb.FieldMask{Paths: []string{"metadata"}})
}

func finish(ctx context.Context, repo Repository, name string, metadata proto.Message, result any) (*longrunningpb.Operation, error) {
	cur, err := repo.Get(ctx, name)
	if err != nil {
		return nil, err
	}
	if cur.GetDone() {
		return nil, status.Errorf(codes.FailedPrecondition, "operation %s is already done", name)
	}
	op := &longrunningpb.Operation{Name: name, Done: true}
	paths := []string{"done", "response", "error"}
	switch r := result.(type) {
	case *longrunningpb.Operation_Response:
		op.Result = r
	case *longrunningpb.Operation_Error:
		op.Result = r
	}
	if metadata != nil {
		if op.Metadata, err = pack("metadata", metadata); err != nil {
			return nil, err
		}
		paths = append(paths, "metadata")
	}
	return repo.Update(ctx, op, &fieldmaskpb.FieldMask{Paths: paths})
}

func newOperation(metadata proto.Message) (*longrunningpb.Operation, error) {
	op := &longrunningpb.Operation{}
	if metadata != nil {
		md, err := pack("metadata", metadata)
		if err != nil {
			return nil, err
		}
		op.Metadata = md
	}
	return op, nil
}

func pack(what string, m proto.Message) (*anypb.Any, error) {
	if m == nil {
		return nil, status.Errorf(codes.Internal, "svclro: nil %s", what)
	}
	a, err := anypb.New(m)
	if err != nil {
		return nil, status.Errorf(codes.Internal, "svclro: packing the %s: %v", what, err)
	}
	return a, nil
}

// errorOf returns op's error as a status error, or nil.
func errorOf(op *longrunningpb.Operation) error {
	if e := op.GetError(); e != nil {
		return status.ErrorProto(e)
	}
	return nil
}

// Unpack reads a done operation: its error as a status error, or its
// response into res and, when md is not nil, its metadata into md. A
// response or metadata of another type than res's or md's is Internal
// (naming both types); an operation that is not done is FailedPrecondition.
//
// An *anypb.Any md receives the metadata as packed, whatever its type: the
// wrapper of a method whose metadata type its file cannot name uses one.
func Unpack(op *longrunningpb.Operation, res, md proto.Message) error {
	if a, ok := md.(*anypb.Any); ok && op.GetMetadata() != nil {
		proto.Reset(a)
		proto.Merge(a, op.GetMetadata())
		md = nil
	}
	if md != nil && op.GetMetadata() != nil {
		if err := op.GetMetadata().UnmarshalTo(md); err != nil {
			return status.Errorf(codes.Internal, "operation %s: metadata %s is not a %s: %v", op.GetName(), op.GetMetadata().GetTypeUrl(), md.ProtoReflect().Descriptor().FullName(), err)
		}
	}
	if !op.GetDone() {
		return status.Errorf(codes.FailedPrecondition, "operation %s is not done", op.GetName())
	}
	if err := errorOf(op); err != nil {
		return err
	}
	r := op.GetResponse()
	if r == nil {
		return status.Errorf(codes.Internal, "operation %s is done with neither a response nor an error", op.GetName())
	}
	if err := r.UnmarshalTo(res); err != nil {
		return status.Errorf(codes.Internal, "operation %s: response %s is not a %s: %v", op.GetName(), r.GetTypeUrl(), res.ProtoReflect().Descriptor().FullName(), err)
	}
	return nil
}
