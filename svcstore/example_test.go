package svcstore_test

import (
	"context"
	"fmt"
	"strconv"
	"time"

	"google.golang.org/protobuf/types/known/fieldmaskpb"

	"github.com/svcgen/protoc-gen-svc/svcstore"
	"github.com/svcgen/protoc-gen-svc/svcstore/internal/testpb"
)

func Example() {
	ctx := context.Background()
	var next int
	books := svcstore.MustNew[*testpb.Book](svcstore.Schema{
		KeyField:        "name",
		KeyPrefix:       "shelves/1/books/",
		EtagField:       "etag",
		CreateTimeField: "create_time",
		UpdateTimeField: "update_time",
	},
		// Fixed clock and ids so the output is reproducible.
		svcstore.WithClock(func() time.Time { return time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC) }),
		svcstore.WithKeyGenerator(func() string { next++; return strconv.Itoa(next) }),
	)

	for _, title := range []string{"Dune", "Emma", "Ulysses"} {
		b, _ := books.Create(ctx, &testpb.Book{Title: title})
		fmt.Println("created", b.GetName(), b.GetEtag())
	}

	// Update only the title; the etag makes it a conditional update.
	b, _ := books.Get(ctx, "shelves/1/books/2")
	b.Title = "Emma (annotated)"
	b, err := books.Update(ctx, b, &fieldmaskpb.FieldMask{Paths: []string{"title"}})
	fmt.Println("updated", b.GetTitle(), b.GetEtag(), err)

	// A second writer holding the old etag loses.
	_, err = books.Delete(ctx, "shelves/1/books/2", `"2"`)
	fmt.Println(err)

	// Page through in key order.
	page, token, _ := books.List(ctx, 2, "")
	for token != "" {
		for _, b := range page {
			fmt.Println("listed", b.GetName(), b.GetTitle())
		}
		page, token, _ = books.List(ctx, 2, token)
	}
	for _, b := range page {
		fmt.Println("listed", b.GetName(), b.GetTitle())
	}

	// Output:
	// created shelves/1/books/1 "1"
	// created shelves/1/books/2 "2"
	// created shelves/1/books/3 "3"
	// updated Emma (annotated) "4" <nil>
	// rpc error: code = Aborted desc = svcstore.test.v1.Book "shelves/1/books/2": etag "2" does not match current etag "4"; re-read and retry
	// listed shelves/1/books/1 Dune
	// listed shelves/1/books/2 Emma (annotated)
	// listed shelves/1/books/3 Ulysses
}
