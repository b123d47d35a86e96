package server_test

import (
	"slices"
	"testing"

	"google.golang.org/protobuf/reflect/protoreflect"

	shopv1 "github.com/svcgen/protoc-gen-svc/examples/shop/gen/shop/v1"
	svcv1 "github.com/svcgen/protoc-gen-svc/svc/v1"
	"github.com/svcgen/protoc-gen-svc/svcclient"
	"github.com/svcgen/protoc-gen-svc/svcprod"
)

// TestAuthTableMatchesSchema: for every method of the shop, the Auth of the
// generated policy table (which svcprod.WithAuth reads) is what the
// descriptors say (svcprod.SchemaAuth, its fallback), and browsing the
// catalog is all that is public.
func TestAuthTableMatchesSchema(t *testing.T) {
	asTable := map[svcv1.Auth]svcclient.Auth{svcv1.Auth_AUTH_REQUIRED: svcclient.AuthRequired, svcv1.Auth_AUTH_PUBLIC: svcclient.AuthPublic}
	var public []string
	methods := 0
	for _, fd := range []protoreflect.FileDescriptor{shopv1.File_shop_v1_catalog_proto, shopv1.File_shop_v1_customers_proto, shopv1.File_shop_v1_orders_proto} {
		for i := range fd.Services().Len() {
			sd := fd.Services().Get(i)
			for j := range sd.Methods().Len() {
				method := "/" + string(sd.FullName()) + "/" + string(sd.Methods().Get(j).Name())
				methods++
				row, ok := svcclient.RegisteredPolicy(method)
				if !ok {
					t.Errorf("%s: no registered policy row", method)
					continue
				}
				if schema, known := asTable[svcprod.SchemaAuth(method)]; !known || schema != row.Auth {
					t.Errorf("%s: table says %v, descriptor %v", method, row.Auth, svcprod.SchemaAuth(method))
				}
				if row.Auth == svcclient.AuthPublic {
					public = append(public, method)
				}
			}
		}
	}
	want := []string{shopv1.Catalog_GetProduct_FullMethodName, shopv1.Catalog_ListProducts_FullMethodName, shopv1.Catalog_WatchProducts_FullMethodName}
	if !slices.Equal(public, want) {
		t.Errorf("public methods %v, want %v", public, want)
	}
	if methods < 16 {
		t.Errorf("checked %d methods, want the shop's 16", methods)
	}
}
