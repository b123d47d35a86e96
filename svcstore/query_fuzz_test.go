package svcstore_test

import (
	"testing"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/svcgen/protoc-gen-svc/svcstore"
	"github.com/svcgen/protoc-gen-svc/svcstore/internal/testpb"
)

// FuzzQuery: whatever a client sends as filter and order_by, List answers
// or fails with InvalidArgument; it never panics nor answers another code.
func FuzzQuery(f *testing.F) {
	for _, s := range []string{
		`status = STATUS_OPEN`, `category.id = "c1" OR urgent = true`, `tags:"7"`, `-category.id:*`,
		`id > 50 AND id <= 60.5`, `update_time < "2030-01-01T00:00:00Z"`, `title = "*5"`, `(`, `a.b.c = 1`,
		`urgent = "x"`, `status < STATUS_OPEN`, `id = 9223372036854775808`, `tags = "x"`, `NOT NOT NOT id = 1`,
	} {
		f.Add(s, "")
		f.Add(s, "status desc")
	}
	f.Add("", "category.id, title")
	f.Add("", "id desc, status")
	repo := svcstore.MustNew[*testpb.Ticket](ticketSchema)
	for i := range 20 {
		if _, err := repo.Create(ctx, ticketFixture.New(i)); err != nil {
			f.Fatal(err)
		}
	}
	f.Fuzz(func(t *testing.T, filter, orderBy string) {
		_, _, err := repo.List(ctx, 5, "", svcstore.Where(filter), svcstore.OrderBy(orderBy))
		if err != nil && status.Code(err) != codes.InvalidArgument {
			t.Fatalf("List(filter %q, order_by %q) = %v; want success or InvalidArgument", filter, orderBy, err)
		}
	})
}
