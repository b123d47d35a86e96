package server_test

import (
	"fmt"
	"strings"
	"testing"

	"google.golang.org/grpc/codes"
	"google.golang.org/protobuf/proto"

	shopv1 "github.com/svcgen/protoc-gen-svc/examples/shop/gen/shop/v1"
	"github.com/svcgen/protoc-gen-svc/examples/shop/server"
	"github.com/svcgen/protoc-gen-svc/svcserver"
	"github.com/svcgen/protoc-gen-svc/svcstore"
)

// seedCatalog stores products p00..p{n-1} straight into the catalog's
// repository, those in big with a description of that many bytes: the API
// caps every string at 64 KiB, which is the point here, as a product
// stored by an older server, by another service or by an import can still
// be large. It returns the names in order.
func seedCatalog(t *testing.T, repos *server.Repositories, n int, big map[int]int) []string {
	t.Helper()
	var names []string
	for i := range n {
		p := &shopv1.Product{Name: fmt.Sprintf("p%02d", i), Title: fmt.Sprint("Product ", i), Price: eur(100)}
		if size, ok := big[i]; ok {
			p.Description = strings.Repeat("d", size)
		}
		if _, err := repos.Products.Create(t.Context(), p); err != nil {
			t.Fatal(err)
		}
		names = append(names, p.GetName())
	}
	return names
}

// listAllNames pages through ListProducts with the generated wrapper's
// iterator, page size 0 (the server's default), and returns the names.
func listAllNames(t *testing.T, s *testShop) []string {
	t.Helper()
	var names []string
	for p, err := range s.catalog.ListProductsAll(testContext(t), &shopv1.ListProductsRequest{}) {
		if err != nil {
			t.Fatalf("ListProductsAll after %d products: %v", len(names), err)
		}
		names = append(names, p.GetName())
	}
	return names
}

// TestListProductsBoundedByBytes is issue 11's check: two 3 MiB products
// used to make the default page of ListProducts 6 MiB, which every client
// with gRPC's default 4 MiB receive limit refused (ResourceExhausted). The
// store's page byte budget ends pages early instead, and a default client
// (the generated wrapper, default grpc limits) gets every product.
func TestListProductsBoundedByBytes(t *testing.T) {
	repos := server.InMemory()
	want := seedCatalog(t, repos, 10, map[int]int{3: 3 << 20, 4: 3 << 20})
	s := startShopOn(t, repos, production(t), clientConfig("reader-token"))

	if got := listAllNames(t, s); strings.Join(got, " ") != strings.Join(want, " ") {
		t.Fatalf("ListProductsAll = %v, want %v", got, want)
	}
	// Page by page: every response is within a default client's limit.
	token := ""
	for page := 0; ; page++ {
		resp, err := s.catalog.ListProducts(testContext(t), &shopv1.ListProductsRequest{PageToken: token})
		if err != nil {
			t.Fatalf("ListProducts page %d: %v", page, err)
		}
		if n := proto.Size(resp); n > 4<<20 {
			t.Fatalf("ListProducts page %d has %d bytes, over 4 MiB", page, n)
		}
		if token = resp.GetNextPageToken(); token == "" {
			break
		}
	}
}

// TestListProductsUnboundedFails shows that TestListProductsBoundedByBytes
// tests what it claims: with the byte budget lifted, the same catalog makes
// a page no default client can receive.
func TestListProductsUnboundedFails(t *testing.T) {
	repos := server.InMemory(svcstore.WithMaxPageBytes(1 << 30))
	seedCatalog(t, repos, 10, map[int]int{3: 3 << 20, 4: 3 << 20})
	s := startShopOn(t, repos, append(production(t), svcserver.WithMessageSizeLimits(0, 64<<20)), clientConfig("reader-token"))
	_, err := s.catalog.ListProducts(testContext(t), &shopv1.ListProductsRequest{})
	wantCode(t, err, codes.ResourceExhausted)
}

// TestPageBytesBelowMessageSize: a server whose message size limit is
// lowered (shopd --max-message-size) lists with the budget PageBytes
// derives from it, so that no page exceeds what the server may send.
func TestPageBytesBelowMessageSize(t *testing.T) {
	for _, tc := range []struct{ limit, want int }{
		{0, svcstore.DefaultMaxPageBytes},
		{4 << 20, svcstore.DefaultMaxPageBytes},
		{64 << 20, svcstore.DefaultMaxPageBytes}, // default clients still receive 4 MiB
		{1 << 20, 1<<20 - 64<<10},
		{64 << 10, 32 << 10},
		{1, 1},
	} {
		if got := server.PageBytes(tc.limit); got != tc.want {
			t.Errorf("PageBytes(%d) = %d, want %d", tc.limit, got, tc.want)
		}
	}

	const limit = 1 << 20
	repos := server.InMemory(svcstore.WithMaxPageBytes(server.PageBytes(limit)))
	// Ten products of 200 KiB: a default page of 2 MiB, twice the limit.
	big := map[int]int{}
	for i := range 10 {
		big[i] = 200 << 10
	}
	want := seedCatalog(t, repos, 10, big)
	s := startShopOn(t, repos, append(production(t), svcserver.WithMessageSizeLimits(limit, limit)), clientConfig("reader-token"))
	if got := listAllNames(t, s); strings.Join(got, " ") != strings.Join(want, " ") {
		t.Fatalf("ListProductsAll = %v, want %v", got, want)
	}
}
