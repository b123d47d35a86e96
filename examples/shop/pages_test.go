package shop_test

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"

	shopv1 "github.com/svcgen/protoc-gen-svc/examples/shop/gen/shop/v1"
	"github.com/svcgen/protoc-gen-svc/examples/shop/server"
)

// TestShopdPagesBelowMaxMessageSize: shopd --max-message-size 1 MiB, on a
// catalog of ten 200 KiB products (a default page of 2 MiB, stored
// straight into its SQLite file, as the API caps strings at 64 KiB), lists
// them in pages it can send: the store's page budget follows the flag.
func TestShopdPagesBelowMaxMessageSize(t *testing.T) {
	bin := buildShopd(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	store := "sqlite:" + filepath.Join(t.TempDir(), "shop.db")
	repos, err := server.OpenStore(ctx, store)
	if err != nil {
		t.Fatal(err)
	}
	var want []string
	for i := range 10 {
		p := &shopv1.Product{Name: fmt.Sprintf("p%02d", i), Title: fmt.Sprint("Product ", i), Description: strings.Repeat("d", 200<<10)}
		if _, err := repos.Products.Create(ctx, p); err != nil {
			t.Fatal(err)
		}
		want = append(want, p.GetName())
	}
	repos.Close()

	const limit = 1 << 20
	d := startShopd(t, bin, "--grpc-only", "--store", store, "--max-message-size", fmt.Sprint(limit))
	var got []string
	token := ""
	for page := 0; ; page++ {
		resp, err := d.catalog().ListProducts(ctx, &shopv1.ListProductsRequest{PageToken: token})
		if err != nil {
			t.Fatalf("ListProducts page %d: %v", page, err)
		}
		if n := proto.Size(resp); n > limit {
			t.Fatalf("ListProducts page %d has %d bytes, over --max-message-size %d", page, n, limit)
		}
		for _, p := range resp.GetProducts() {
			got = append(got, p.GetName())
		}
		if token = resp.GetNextPageToken(); token == "" {
			break
		}
	}
	if strings.Join(got, " ") != strings.Join(want, " ") {
		t.Errorf("ListProducts listed %v, want %v", got, want)
	}
	d.stop(t)
}
