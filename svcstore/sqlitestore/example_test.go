package sqlitestore_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"

	"github.com/svcgen/protoc-gen-svc/svcstore"
	"github.com/svcgen/protoc-gen-svc/svcstore/internal/testpb"
	"github.com/svcgen/protoc-gen-svc/svcstore/sqlitestore"
)

func Example() {
	ctx := context.Background()
	dir, _ := os.MkdirTemp("", "example")
	defer os.RemoveAll(dir)

	db, err := sqlitestore.Open(filepath.Join(dir, "tickets.db"))
	if err != nil {
		panic(err)
	}
	defer db.Close()
	tickets, err := sqlitestore.New[*testpb.Ticket](ctx, db, svcstore.Schema{KeyField: "id", EtagField: "etag"})
	if err != nil {
		panic(err)
	}
	for _, title := range []string{"printer jam", "no coffee", "printer on fire"} {
		t, _ := tickets.Create(ctx, &testpb.Ticket{Title: title, Status: testpb.Status_STATUS_OPEN})
		fmt.Println("created", t.GetId(), t.GetEtag())
	}
	open, _, _ := tickets.List(ctx, 10, "", svcstore.Equal("status", testpb.Status_STATUS_OPEN))
	fmt.Println(len(open), "open tickets")
	// Output:
	// created 1 "1"
	// created 2 "2"
	// created 3 "3"
	// 3 open tickets
}
