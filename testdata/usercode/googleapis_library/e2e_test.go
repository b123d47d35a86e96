// Behaviour test of googleapis' example library, compiled into the generated
// package by TestGoldensCompile: shelves and the books under them, served
// over a real gRPC connection (bufconn) and called through the wrapper.
package library

import (
	"context"
	"strings"
	"testing"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/fieldmaskpb"
)

func wantCode(t *testing.T, err error, want codes.Code) {
	t.Helper()
	if got := status.Code(err); got != want {
		t.Fatalf("error %v: code %v, want %v", err, got, want)
	}
}

func TestLibrary(t *testing.T) {
	ctx := context.Background()
	c := StartLibraryServiceForTest(t, NewInMemoryLibraryServiceSkeleton())

	var shelves []*Shelf
	for _, theme := range []string{"poetry", "physics"} {
		s, err := c.CreateShelf(ctx, &CreateShelfRequest{Shelf: &Shelf{Theme: theme}})
		if err != nil {
			t.Fatal(err)
		}
		if !strings.HasPrefix(s.GetName(), "shelves/") {
			t.Fatalf("shelf name %q", s.GetName())
		}
		shelves = append(shelves, s)
	}

	// Books are created under their shelf, and listed per shelf.
	for i, title := range []string{"Odes", "Sonnets", "Elegies"} {
		b, err := c.CreateBook(ctx, &CreateBookRequest{Parent: shelves[0].GetName(), Book: &Book{Title: title}})
		if err != nil {
			t.Fatal(err)
		}
		if !strings.HasPrefix(b.GetName(), shelves[0].GetName()+"/books/") {
			t.Fatalf("book %d named %q", i, b.GetName())
		}
	}
	physics, err := c.CreateBook(ctx, &CreateBookRequest{Parent: shelves[1].GetName(), Book: &Book{Title: "Principia"}})
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.CreateBook(ctx, &CreateBookRequest{Parent: "shelves/missing", Book: &Book{Title: "x"}})
	wantCode(t, err, codes.NotFound)
	_, err = c.CreateBook(ctx, &CreateBookRequest{Parent: "bookcases/1", Book: &Book{Title: "x"}})
	wantCode(t, err, codes.InvalidArgument)

	var titles []string
	token := ""
	for {
		page, err := c.ListBooks(ctx, &ListBooksRequest{Parent: shelves[0].GetName(), PageSize: 2, PageToken: token})
		if err != nil {
			t.Fatal(err)
		}
		for _, b := range page.GetBooks() {
			titles = append(titles, b.GetTitle())
		}
		if token = page.GetNextPageToken(); token == "" {
			break
		}
	}
	if len(titles) != 3 {
		t.Fatalf("shelf 0 lists %v, want its 3 books", titles)
	}
	_, err = c.ListBooks(ctx, &ListBooksRequest{Parent: "shelves/missing"})
	wantCode(t, err, codes.NotFound)
	// Reading across shelves (AIP-159) is not served, rather than answered
	// empty.
	_, err = c.ListBooks(ctx, &ListBooksRequest{Parent: "shelves/-"})
	wantCode(t, err, codes.Unimplemented)

	upd, err := c.UpdateBook(ctx, &UpdateBookRequest{Book: &Book{Name: physics.GetName(), Author: "Newton", Title: "ignored"}, UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{"author"}}})
	if err != nil || upd.GetAuthor() != "Newton" || upd.GetTitle() != "Principia" {
		t.Fatalf("UpdateBook = %v, %v", upd, err)
	}
	if _, err := c.DeleteBook(ctx, &DeleteBookRequest{Name: physics.GetName()}); err != nil {
		t.Fatal(err)
	}
	_, err = c.GetBook(ctx, &GetBookRequest{Name: physics.GetName()})
	wantCode(t, err, codes.NotFound)

	list, err := c.ListShelves(ctx, &ListShelvesRequest{})
	if err != nil || len(list.GetShelves()) != 2 {
		t.Fatalf("ListShelves = %v, %v", list, err)
	}
	_, err = c.MergeShelves(ctx, &MergeShelvesRequest{Name: shelves[0].GetName(), OtherShelf: shelves[1].GetName()})
	wantCode(t, err, codes.Unimplemented)
}
