// Behaviour test of AIP-164 soft delete in the standard methods of
// testdata/protos/aip164, compiled into the generated package by
// TestGoldensCompile, served over a real gRPC connection (bufconn) and
// called through the generated wrapper.
package aip164

import (
	"context"
	"slices"
	"testing"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

func names(t *testing.T, c *LibraryWrapper, showDeleted bool) []string {
	t.Helper()
	list, err := c.ListBooks(context.Background(), &ListBooksRequest{PageSize: 100, ShowDeleted: showDeleted})
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, b := range list.GetBooks() {
		out = append(out, b.GetName())
	}
	return out
}

func TestSoftDeleteAndUndelete(t *testing.T) {
	ctx := context.Background()
	c := StartLibraryForTest(t, NewInMemoryLibrarySkeleton())
	for _, id := range []string{"a", "b"} {
		if _, err := c.CreateBook(ctx, &CreateBookRequest{BookId: id, Book: &Book{Title: id}}); err != nil {
			t.Fatal(err)
		}
	}
	deleted, err := c.DeleteBook(ctx, &DeleteBookRequest{Name: "books/a"})
	if err != nil || deleted.GetDeleteTime() == nil || deleted.GetTitle() != "a" {
		t.Fatalf("DeleteBook = %v, %v; want the book marked with delete_time", deleted, err)
	}
	// Get still answers it; List hides it unless show_deleted.
	if got, err := c.GetBook(ctx, &GetBookRequest{Name: "books/a"}); err != nil || got.GetDeleteTime() == nil {
		t.Fatalf("GetBook of a deleted book = %v, %v; want it, marked", got, err)
	}
	if got := names(t, c, false); !slices.Equal(got, []string{"books/b"}) {
		t.Fatalf("ListBooks = %v; want [books/b]", got)
	}
	if got := names(t, c, true); !slices.Equal(got, []string{"books/a", "books/b"}) {
		t.Fatalf("ListBooks(show_deleted) = %v; want both", got)
	}
	if _, err := c.DeleteBook(ctx, &DeleteBookRequest{Name: "books/a"}); status.Code(err) != codes.NotFound {
		t.Fatalf("deleting a deleted book = %v; want NotFound", err)
	}
	if _, err := c.UndeleteBook(ctx, &UndeleteBookRequest{Name: "books/b"}); status.Code(err) != codes.FailedPrecondition {
		t.Fatalf("undeleting a book that is not deleted = %v; want FailedPrecondition", err)
	}
	// A stale etag refuses the undelete; the current one restores.
	if _, err := c.UndeleteBook(ctx, &UndeleteBookRequest{Name: "books/a", Etag: `"1"`}); status.Code(err) != codes.Aborted {
		t.Fatalf("undelete with a stale etag = %v; want Aborted", err)
	}
	restored, err := c.UndeleteBook(ctx, &UndeleteBookRequest{Name: "books/a", Etag: deleted.GetEtag()})
	if err != nil || restored.GetDeleteTime() != nil || restored.GetTitle() != "a" {
		t.Fatalf("UndeleteBook = %v, %v; want the book without delete_time", restored, err)
	}
	if got := names(t, c, false); !slices.Equal(got, []string{"books/a", "books/b"}) {
		t.Fatalf("ListBooks after undelete = %v; want both", got)
	}
	// Delete with a stale etag is Aborted and marks nothing.
	if _, err := c.DeleteBook(ctx, &DeleteBookRequest{Name: "books/b", Etag: `"1"`}); status.Code(err) != codes.Aborted {
		t.Fatalf("delete with a stale etag = %v; want Aborted", err)
	}
	if got := names(t, c, false); len(got) != 2 {
		t.Fatalf("ListBooks after a refused delete = %v", got)
	}
	// Marking a book is not a client's to do: delete_time is OUTPUT_ONLY.
	b, err := c.CreateBook(ctx, &CreateBookRequest{BookId: "c", Book: &Book{Title: "c", DeleteTime: deleted.GetDeleteTime()}})
	if err != nil || b.GetDeleteTime() != nil {
		t.Fatalf("CreateBook with delete_time = %v, %v; want it cleared", b, err)
	}
}

func TestSoftDeleteWithoutShowDeleted(t *testing.T) {
	ctx := context.Background()
	c := StartLibraryForTest(t, NewInMemoryLibrarySkeleton())
	if _, err := c.CreateNote(ctx, &CreateNoteRequest{NoteId: "n", Note: &Note{Text: "t"}}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.DeleteNote(ctx, &DeleteNoteRequest{Name: "notes/n"}); err != nil {
		t.Fatal(err)
	}
	list, err := c.ListNotes(ctx, &ListNotesRequest{})
	if err != nil || len(list.GetNotes()) != 0 {
		t.Fatalf("ListNotes after the delete = %v, %v; want none", list, err)
	}
	// The note is kept: the repository still has it, marked.
	if _, err := c.DeleteNote(ctx, &DeleteNoteRequest{Name: "notes/n"}); status.Code(err) != codes.NotFound {
		t.Fatalf("deleting it again = %v; want NotFound", err)
	}
	if _, err := c.DeleteNote(ctx, &DeleteNoteRequest{Name: "notes/missing", AllowMissing: true}); err != nil {
		t.Fatalf("DeleteNote(allow_missing) of a missing note = %v; want success", err)
	}
}
