package svcprod_test

import (
	"context"
	"slices"
	"strings"
	"testing"

	validatepb "buf.build/gen/go/bufbuild/protovalidate/protocolbuffers/go/buf/validate"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"

	"github.com/svcgen/protoc-gen-svc/svcprod"
)

// fieldViolations returns the BadRequest field violations of err as
// "field: reason" strings, and whether protovalidate's own detail is there.
func fieldViolations(t *testing.T, err error) (fields []string, descriptions []string, hasViolations bool) {
	t.Helper()
	for _, d := range status.Convert(err).Details() {
		switch d := d.(type) {
		case *errdetails.BadRequest:
			for _, v := range d.GetFieldViolations() {
				fields = append(fields, v.GetField()+": "+v.GetReason())
				descriptions = append(descriptions, v.GetDescription())
			}
		case *validatepb.Violations:
			hasViolations = true
		case error:
			t.Errorf("undecodable detail: %v", d)
		}
	}
	slices.Sort(fields)
	return fields, descriptions, hasViolations
}

// TestValidation sends requests that break buf.validate rules, unary and
// streamed, and expects InvalidArgument with BadRequest field paths; the
// handler never sees them.
func TestValidation(t *testing.T) {
	handled := 0
	h := func(ctx context.Context, fullMethod string, reqs []proto.Message) (proto.Message, error) {
		handled++
		return echoItem(t)(ctx, fullMethod, reqs)
	}
	addr, _ := serve(t, h, svcprod.WithValidation())
	conn := dial(t, addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	ctx := testCtx(t)

	bad := newMsg(t, "CreateItemRequest")
	set(bad, "item.title", "")
	set(bad, "item.price.currency_code", "EU")
	set(bad, "item.price.minor_units", int64(-5))
	_, err := invoke(ctx, t, conn, "/prodtest.v1.Items/CreateItem", bad)
	wantCode(t, "invalid CreateItem", err, codes.InvalidArgument)
	fields, descs, hasViolations := fieldViolations(t, err)
	want := []string{"item.price.currency_code: string.len", "item.price.minor_units: int64.gte", "item.title: string.min_len"}
	if !slices.Equal(fields, want) || !hasViolations {
		t.Errorf("field violations %q (buf.validate.Violations: %v), want %q and protovalidate's detail", fields, hasViolations, want)
	}
	if !slices.ContainsFunc(descs, func(d string) bool { return strings.Contains(d, "3 characters") }) {
		t.Errorf("descriptions lack the rule's message: %q", descs)
	}

	_, err = invoke(ctx, t, conn, "/prodtest.v1.Items/CreateItem", newMsg(t, "CreateItemRequest"))
	wantCode(t, "CreateItem without an item", err, codes.InvalidArgument)
	if fields, _, _ := fieldViolations(t, err); !slices.Equal(fields, []string{"item: required"}) {
		t.Errorf("missing item: %q, want item: required", fields)
	}

	good := set(newMsg(t, "CreateItemRequest"), "item.title", "Mug")
	set(good, "item.price.currency_code", "EUR")
	if _, err := invoke(ctx, t, conn, "/prodtest.v1.Items/CreateItem", good); err != nil {
		t.Errorf("valid CreateItem: %v", err)
	}
	if handled != 1 {
		t.Errorf("the handler ran %d times, want once (for the valid request)", handled)
	}

	// A client stream: the second message is invalid.
	stream, err := conn.NewStream(ctx, &grpc.StreamDesc{ClientStreams: true}, "/prodtest.v1.Items/UploadItems")
	if err != nil {
		t.Fatal(err)
	}
	stream.SendMsg(set(newMsg(t, "Item"), "title", "ok"))
	stream.SendMsg(set(newMsg(t, "Item"), "title", strings.Repeat("x", 101)))
	stream.CloseSend()
	err = stream.RecvMsg(newMsg(t, "Item"))
	wantCode(t, "invalid streamed item", err, codes.InvalidArgument)
	if fields, _, _ := fieldViolations(t, err); !slices.Equal(fields, []string{"title: string.max_len"}) {
		t.Errorf("streamed violations %q, want title: string.max_len", fields)
	}
}
