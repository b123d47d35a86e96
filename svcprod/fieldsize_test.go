package svcprod_test

import (
	"slices"
	"strings"
	"testing"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/protobuf/reflect/protoreflect"

	"github.com/svcgen/protoc-gen-svc/svcprod"
)

// TestFieldSizeLimit sends values over the limit at several depths, and a
// field allowed more.
func TestFieldSizeLimit(t *testing.T) {
	addr, _ := serve(t, echoItem(t), svcprod.WithFieldSizeLimit(1000, map[protoreflect.FullName]int{"prodtest.v1.Item.blob": 5000}))
	conn := dial(t, addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	ctx := testCtx(t)
	big := strings.Repeat("x", 1001)

	for path, want := range map[string]string{
		"item_id":                  "item_id: FIELD_TOO_LARGE",
		"item.title":               "item.title: FIELD_TOO_LARGE",
		"item.price.currency_code": "item.price.currency_code: FIELD_TOO_LARGE",
	} {
		_, err := invoke(ctx, t, conn, "/prodtest.v1.Items/CreateItem", set(newMsg(t, "CreateItemRequest"), path, big))
		wantCode(t, path, err, codes.InvalidArgument)
		if fields, _, _ := fieldViolations(t, err); !slices.Equal(fields, []string{want}) {
			t.Errorf("%s: violations %q, want %q", path, fields, want)
		}
	}
	ok := set(newMsg(t, "CreateItemRequest"), "item.title", strings.Repeat("x", 1000))
	set(ok, "item.blob", make([]byte, 5000))
	if _, err := invoke(ctx, t, conn, "/prodtest.v1.Items/CreateItem", ok); err != nil {
		t.Errorf("values at their limits: %v", err)
	}
	// Lists and maps.
	withTags := set(newMsg(t, "CreateItemRequest"), "item.title", "t")
	item := withTags.Mutable(withTags.Descriptor().Fields().ByName("item")).Message()
	tags := item.Mutable(item.Descriptor().Fields().ByName("tags")).List()
	tags.Append(protoreflect.ValueOfString("short"))
	tags.Append(protoreflect.ValueOfString(big))
	_, err := invoke(ctx, t, conn, "/prodtest.v1.Items/CreateItem", withTags)
	if fields, _, _ := fieldViolations(t, err); !slices.Equal(fields, []string{"item.tags[1]: FIELD_TOO_LARGE"}) {
		t.Errorf("long tag: %v, violations %q", err, fields)
	}
	withAttrs := set(newMsg(t, "CreateItemRequest"), "item.title", "t")
	item = withAttrs.Mutable(withAttrs.Descriptor().Fields().ByName("item")).Message()
	item.Mutable(item.Descriptor().Fields().ByName("attributes")).Map().Set(protoreflect.ValueOfString("k").MapKey(), protoreflect.ValueOfString(big))
	_, err = invoke(ctx, t, conn, "/prodtest.v1.Items/CreateItem", withAttrs)
	if fields, _, _ := fieldViolations(t, err); !slices.Equal(fields, []string{`item.attributes["k"]: FIELD_TOO_LARGE`}) {
		t.Errorf("long attribute: %v, violations %q", err, fields)
	}

	set(ok, "item.blob", make([]byte, 5001))
	_, err = invoke(ctx, t, conn, "/prodtest.v1.Items/CreateItem", ok)
	if fields, _, _ := fieldViolations(t, err); !slices.Equal(fields, []string{"item.blob: FIELD_TOO_LARGE"}) {
		t.Errorf("blob over its own limit: %v, violations %q", err, fields)
	}
}
