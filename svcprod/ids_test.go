package svcprod_test

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"

	"github.com/svcgen/protoc-gen-svc/svcprod"
	"github.com/svcgen/protoc-gen-svc/svcstore"
)

func TestAIP122(t *testing.T) {
	for _, id := range []string{"espresso", "p1", "usd-thing", "3f2b0c1e-8d4f-4e7a-9c1d-2b3a4c5d6e7f", "orders/abc-1", strings.Repeat("a", 63)} {
		if err := svcprod.AIP122(id); err != nil {
			t.Errorf("AIP122(%q) = %v, want nil", id, err)
		}
	}
	for _, id := range []string{"/", "..", "a/../b", "a//b", "/a", "a/", "Espresso", "a b", "a\x00b", "a\nb", "-a", "a-", "é",
		strings.Repeat("a", 64), strings.Repeat("a/", 600) + "a", strings.Repeat("x", 10<<10)} {
		if err := svcprod.AIP122(id); err == nil {
			t.Errorf("AIP122(%.40q) = nil, want an error", id)
		}
	}
	// Server-assigned ids pass the default rule, alone and under a prefix.
	for range 1000 {
		id := svcstore.NewID()
		if err := svcprod.AIP122(id); err != nil {
			t.Fatalf("AIP122(svcstore.NewID() = %q) = %v, want nil", id, err)
		}
		if err := svcprod.AIP122("shelves/1/books/" + id); err != nil {
			t.Fatalf("AIP122(shelves/1/books/%s) = %v, want nil", id, err)
		}
	}
}

// TestIDCheck sends bad ids in top-level id fields and in the resource of
// a Create request, over gRPC.
func TestIDCheck(t *testing.T) {
	ctx := testCtx(t)
	addr, _ := serve(t, echoItem(t), svcprod.WithIDCheck())
	conn := dial(t, addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	// GetItemRequest.name: the default rule, AIP-122.
	for _, id := range []string{"../etc/passwd", "a\x00b", "x\ny", strings.Repeat("x", 10<<10), "UPPER"} {
		_, err := invoke(ctx, t, conn, "/prodtest.v1.Items/GetItem", set(newMsg(t, "GetItemRequest"), "name", id))
		wantCode(t, fmt.Sprintf("GetItem(%.20q)", id), err, codes.InvalidArgument)
		if fields, _, _ := fieldViolations(t, err); !slices.Equal(fields, []string{"name: INVALID_ID"}) {
			t.Errorf("GetItem(%.20q): violations %q", id, fields)
		}
	}
	for _, id := range []string{"espresso", "3f2b0c1e-8d4f-4e7a-9c1d-2b3a4c5d6e7f", ""} {
		if _, err := invoke(ctx, t, conn, "/prodtest.v1.Items/GetItem", set(newMsg(t, "GetItemRequest"), "name", id)); err != nil {
			t.Errorf("GetItem(%q): %v", id, err)
		}
	}

	// Rules per resource and per field.
	addr, _ = serve(t, echoItem(t), svcprod.WithIDCheck(
		svcprod.IDRuleFor("prodtest.v1.Item", func(id string) error {
			if strings.ContainsAny(id, "\x00\n/") {
				return fmt.Errorf("contains a forbidden character")
			}
			return nil
		}),
		svcprod.IDRuleFor("prodtest.v1.DeleteItemRequest.name", nil)))
	conn = dial(t, addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	// GetItemRequest is Item's: its rule allows upper case, not "/".
	if _, err := invoke(ctx, t, conn, "/prodtest.v1.Items/GetItem", set(newMsg(t, "GetItemRequest"), "name", "UPPER")); err != nil {
		t.Errorf("GetItem(UPPER) under the Item rule: %v", err)
	}
	_, err := invoke(ctx, t, conn, "/prodtest.v1.Items/GetItem", set(newMsg(t, "GetItemRequest"), "name", "a/b"))
	wantCode(t, "GetItem(a/b) under the Item rule", err, codes.InvalidArgument)

	// CreateItemRequest: item_id and item.name follow the Item rule
	// (upper case allowed, "/" not); request_id is not an id.
	create := set(newMsg(t, "CreateItemRequest"), "item_id", "Mixed-Case")
	set(create, "request_id", "Not An Id")
	set(create, "item.name", "Also-Fine")
	if _, err := invoke(ctx, t, conn, "/prodtest.v1.Items/CreateItem", create); err != nil {
		t.Errorf("CreateItem with ids the Item rule allows: %v", err)
	}
	create = set(newMsg(t, "CreateItemRequest"), "item_id", "a/b")
	set(create, "item.name", "x\ny")
	_, err = invoke(ctx, t, conn, "/prodtest.v1.Items/CreateItem", create)
	wantCode(t, "CreateItem with bad ids", err, codes.InvalidArgument)
	if fields, _, _ := fieldViolations(t, err); !slices.Equal(fields, []string{"item.name: INVALID_ID", "item_id: INVALID_ID"}) {
		t.Errorf("CreateItem violations %q", fields)
	}

	// A nil rule: DeleteItemRequest.name is not checked.
	if _, err := invoke(ctx, t, conn, "/prodtest.v1.Items/DeleteItem", set(newMsg(t, "DeleteItemRequest"), "name", "ANY thing")); err != nil {
		t.Errorf("DeleteItem with an unchecked name: %v", err)
	}

	// Streamed messages are checked too.
	stream, err := conn.NewStream(ctx, &grpc.StreamDesc{ClientStreams: true}, "/prodtest.v1.Items/UploadItems")
	if err != nil {
		t.Fatal(err)
	}
	stream.SendMsg(set(newMsg(t, "Item"), "name", "a\x00"))
	stream.CloseSend()
	wantCode(t, "streamed bad id", stream.RecvMsg(newMsg(t, "Item")), codes.InvalidArgument)
}
