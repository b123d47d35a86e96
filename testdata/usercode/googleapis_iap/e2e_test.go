// Behaviour test of Lists and Creates under a parent for resources that
// declare no pattern (testdata/protos/googleapis_iap, trimmed from
// Identity-Aware Proxy): served over a real gRPC connection (bufconn) and
// called through the generated wrapper.
package iap

import (
	"context"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

func TestCollectionsWithoutPatterns(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	c := StartIdentityAwareProxyOAuthServiceForTest(t, NewInMemoryIdentityAwareProxyOAuthServiceSkeleton())

	var brands []*Brand
	for _, parent := range []string{"projects/1", "projects/2", "projects/1"} {
		b, err := c.CreateBrand(ctx, &CreateBrandRequest{Parent: parent, Brand: &Brand{Name: "projects/9/brands/mine", SupportEmail: "help@example.com", OrgInternalOnly: true}})
		if err != nil {
			t.Fatal(err)
		}
		// The name is composed under the parent; OUTPUT_ONLY fields sent
		// are not stored.
		if !strings.HasPrefix(b.GetName(), parent+"/brands/") || b.GetOrgInternalOnly() {
			t.Fatalf("CreateBrand under %s = %v", parent, b)
		}
		brands = append(brands, b)
	}
	list, err := c.ListBrands(ctx, &ListBrandsRequest{Parent: "projects/1"})
	if err != nil || len(list.GetBrands()) != 2 || list.GetBrands()[0].GetName() != brands[0].GetName() || list.GetBrands()[1].GetName() != brands[2].GetName() {
		t.Fatalf("ListBrands(projects/1) = %v, %v", list, err)
	}
	got, err := c.GetBrand(ctx, &GetBrandRequest{Name: brands[1].GetName()})
	if err != nil || got.GetSupportEmail() != "help@example.com" {
		t.Fatalf("GetBrand = %v, %v", got, err)
	}

	// A parent that is not a resource name is refused naming the field;
	// the wildcard of AIP-159 is not served.
	for _, bad := range []string{"", "projects", "projects/1/", "projects//brands/x"} {
		_, err := c.ListBrands(ctx, &ListBrandsRequest{Parent: bad})
		if st := status.Convert(err); st.Code() != codes.InvalidArgument || !strings.Contains(st.Message(), "parent") {
			t.Fatalf("ListBrands(parent %q): %v", bad, err)
		}
	}
	_, err = c.ListBrands(ctx, &ListBrandsRequest{Parent: "projects/-"})
	if status.Code(err) != codes.Unimplemented {
		t.Fatalf("ListBrands(projects/-): %v", err)
	}

	// Children of a brand, in a collection named by the Create's noun and
	// the List's field alike.
	client, err := c.CreateIdentityAwareProxyClient(ctx, &CreateIdentityAwareProxyClientRequest{Parent: brands[0].GetName(), IdentityAwareProxyClient: &IdentityAwareProxyClient{DisplayName: "web"}})
	if err != nil || !strings.HasPrefix(client.GetName(), brands[0].GetName()+"/identityAwareProxyClients/") {
		t.Fatalf("CreateIdentityAwareProxyClient = %v, %v", client, err)
	}
	clients, err := c.ListIdentityAwareProxyClients(ctx, &ListIdentityAwareProxyClientsRequest{Parent: brands[0].GetName()})
	if err != nil || len(clients.GetIdentityAwareProxyClients()) != 1 {
		t.Fatalf("ListIdentityAwareProxyClients = %v, %v", clients, err)
	}
	clients, err = c.ListIdentityAwareProxyClients(ctx, &ListIdentityAwareProxyClientsRequest{Parent: brands[2].GetName()})
	if err != nil || len(clients.GetIdentityAwareProxyClients()) != 0 {
		t.Fatalf("ListIdentityAwareProxyClients of another brand = %v, %v", clients, err)
	}
}
