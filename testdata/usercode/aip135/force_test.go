// Behaviour test of AIP-135 force on testdata/protos/aip135, compiled into
// the generated package by TestGoldensCompile, served over a real gRPC
// connection (bufconn) and called through the generated wrapper.
package aip135

import (
	"context"
	"testing"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

func TestDeleteWithForce(t *testing.T) {
	ctx := context.Background()
	c := StartLibraryForTest(t, NewInMemoryLibrarySkeleton())
	for _, id := range []string{"full", "empty", "other"} {
		if _, err := c.CreateShelf(ctx, &CreateShelfRequest{ShelfId: id, Shelf: &Shelf{Theme: id}}); err != nil {
			t.Fatal(err)
		}
	}
	for _, b := range []struct{ shelf, id string }{{"full", "a"}, {"full", "b"}, {"other", "c"}} {
		if _, err := c.CreateBook(ctx, &CreateBookRequest{Parent: "shelves/" + b.shelf, BookId: b.id, Book: &Book{Title: b.id}}); err != nil {
			t.Fatal(err)
		}
	}
	books := func(shelf string) int {
		t.Helper()
		list, err := c.ListBooks(ctx, &ListBooksRequest{Parent: "shelves/" + shelf})
		if err != nil {
			t.Fatal(err)
		}
		return len(list.GetBooks())
	}
	if _, err := c.DeleteShelf(ctx, &DeleteShelfRequest{Name: "shelves/full"}); status.Code(err) != codes.FailedPrecondition {
		t.Fatalf("DeleteShelf of a shelf with books, without force = %v; want FailedPrecondition", err)
	}
	if books("full") != 2 {
		t.Fatal("the refused delete removed books")
	}
	if _, err := c.DeleteShelf(ctx, &DeleteShelfRequest{Name: "shelves/empty"}); err != nil {
		t.Fatalf("DeleteShelf of an empty shelf without force: %v", err)
	}
	if _, err := c.DeleteShelf(ctx, &DeleteShelfRequest{Name: "shelves/full", Force: true}); err != nil {
		t.Fatalf("DeleteShelf with force: %v", err)
	}
	if _, err := c.GetBook(ctx, &GetBookRequest{Name: "shelves/full/books/a"}); status.Code(err) != codes.NotFound {
		t.Fatalf("a book of the force-deleted shelf = %v; want NotFound", err)
	}
	// A missing shelf is NotFound, and its orphans (if any) stay.
	if _, err := c.DeleteShelf(ctx, &DeleteShelfRequest{Name: "shelves/missing", Force: true}); status.Code(err) != codes.NotFound {
		t.Fatalf("DeleteShelf(force) of a missing shelf = %v; want NotFound", err)
	}
	if books("other") != 1 {
		t.Fatal("force deleted another shelf's book")
	}
	if _, err := c.CreateBook(ctx, &CreateBookRequest{Parent: "shelves/full", BookId: "z", Book: &Book{Title: "z"}}); status.Code(err) != codes.NotFound {
		t.Fatalf("CreateBook under the deleted shelf = %v; want NotFound", err)
	}
}

// TestForceUnderEitherPattern: a Box named by either of its patterns finds
// its Items under the same one.
func TestForceUnderEitherPattern(t *testing.T) {
	ctx := context.Background()
	c := StartStorageForTest(t, NewInMemoryStorageSkeleton())
	for _, parent := range []string{"projects/p", "projects/p/locations/l"} {
		box, err := c.CreateBox(ctx, &CreateBoxRequest{Parent: parent, BoxId: "b", Box: &Box{}})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := c.CreateItem(ctx, &CreateItemRequest{Parent: box.GetName(), ItemId: "i", Item: &Item{}}); err != nil {
			t.Fatal(err)
		}
		if _, err := c.DeleteBox(ctx, &DeleteBoxRequest{Name: box.GetName()}); status.Code(err) != codes.FailedPrecondition {
			t.Fatalf("DeleteBox(%s) with an item, without force = %v; want FailedPrecondition", box.GetName(), err)
		}
		if _, err := c.DeleteBox(ctx, &DeleteBoxRequest{Name: box.GetName(), Force: true}); err != nil {
			t.Fatalf("DeleteBox(%s) with force: %v", box.GetName(), err)
		}
		// A box made again under the same name has no items left over.
		if _, err := c.CreateBox(ctx, &CreateBoxRequest{Parent: parent, BoxId: "b", Box: &Box{}}); err != nil {
			t.Fatal(err)
		}
		items, err := c.ListItems(ctx, &ListItemsRequest{Parent: box.GetName()})
		if err != nil || len(items.GetItems()) != 0 {
			t.Fatalf("items of the force-deleted %s = %v, %v; want none", box.GetName(), items.GetItems(), err)
		}
	}
}
