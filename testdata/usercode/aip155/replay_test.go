// Behaviour test of AIP-155 request_id in the standard methods of
// testdata/protos/aip155, compiled into the generated package by
// TestGoldensCompile, served over a real gRPC connection (bufconn) and
// called through the generated wrapper.
package aip155

import (
	"context"
	"sync"
	"testing"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/fieldmaskpb"
)

func books(t *testing.T, c *LibraryWrapper) []*Book {
	t.Helper()
	list, err := c.ListBooks(context.Background(), &ListBooksRequest{PageSize: 100})
	if err != nil {
		t.Fatal(err)
	}
	return list.GetBooks()
}

func TestCreateWithRequestIDOnce(t *testing.T) {
	ctx := context.Background()
	c := StartLibraryForTest(t, NewInMemoryLibrarySkeleton())
	req := &CreateBookRequest{Book: &Book{Title: "Dune"}, RequestId: "7c9e6679-7425-40de-944b-e07fc1f90ae7"}
	first, err := c.CreateBook(ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	again, err := c.CreateBook(ctx, req)
	if err != nil || !proto.Equal(first, again) {
		t.Fatalf("repeated CreateBook = %v, %v; want the first answer %v", again, err, first)
	}
	if n := len(books(t, c)); n != 1 {
		t.Fatalf("%d books after a repeated create; want 1", n)
	}
	// The same id with another request is refused, and stores nothing.
	_, err = c.CreateBook(ctx, &CreateBookRequest{Book: &Book{Title: "Emma"}, RequestId: req.RequestId})
	if status.Code(err) != codes.InvalidArgument {
		t.Fatalf("the same request_id with another book = %v; want InvalidArgument", err)
	}
	// Without an id, each request is carried out.
	for range 2 {
		if _, err := c.CreateBook(ctx, &CreateBookRequest{Book: &Book{Title: "Dune"}}); err != nil {
			t.Fatal(err)
		}
	}
	if n := len(books(t, c)); n != 3 {
		t.Fatalf("%d books; want 3", n)
	}
	// A malformed id is refused.
	_, err = c.CreateBook(ctx, &CreateBookRequest{Book: &Book{Title: "x"}, RequestId: "not/an id"})
	if status.Code(err) != codes.InvalidArgument {
		t.Fatalf("request_id with a space and a slash = %v; want InvalidArgument", err)
	}
}

func TestCreateWithRequestIDConcurrently(t *testing.T) {
	ctx := context.Background()
	c := StartLibraryForTest(t, NewInMemoryLibrarySkeleton())
	var wg sync.WaitGroup
	names := make([]string, 12)
	for i := range names {
		wg.Add(1)
		go func() {
			defer wg.Done()
			b, err := c.CreateBook(ctx, &CreateBookRequest{Book: &Book{Title: "Dune"}, RequestId: "same"})
			if err != nil {
				t.Error(err)
				return
			}
			names[i] = b.GetName()
		}()
	}
	wg.Wait()
	for _, n := range names {
		if n != names[0] {
			t.Fatalf("concurrent creates with one request_id answered %v; want one name", names)
		}
	}
	if n := len(books(t, c)); n != 1 {
		t.Fatalf("%d books from 12 concurrent creates with one request_id; want 1", n)
	}
}

func TestUpdateAndDeleteWithRequestID(t *testing.T) {
	ctx := context.Background()
	c := StartLibraryForTest(t, NewInMemoryLibrarySkeleton())
	b, err := c.CreateBook(ctx, &CreateBookRequest{Book: &Book{Title: "v1"}})
	if err != nil {
		t.Fatal(err)
	}
	mask := &fieldmaskpb.FieldMask{Paths: []string{"title"}}
	up := &UpdateBookRequest{Book: &Book{Name: b.Name, Title: "v2"}, UpdateMask: mask, RequestId: "u1"}
	first, err := c.UpdateBook(ctx, up)
	if err != nil {
		t.Fatal(err)
	}
	// Another update in between; the repetition still answers the first
	// update's response and does not write "v2" again.
	if _, err := c.UpdateBook(ctx, &UpdateBookRequest{Book: &Book{Name: b.Name, Title: "v3"}, UpdateMask: mask}); err != nil {
		t.Fatal(err)
	}
	again, err := c.UpdateBook(ctx, up)
	if err != nil || !proto.Equal(first, again) {
		t.Fatalf("repeated UpdateBook = %v, %v; want the first answer %v", again, err, first)
	}
	if got, _ := c.GetBook(ctx, &GetBookRequest{Name: b.Name}); got.GetTitle() != "v3" {
		t.Fatalf("title %q after the repetition; want v3 (the repetition wrote nothing)", got.GetTitle())
	}
	del := &DeleteBookRequest{Name: b.Name, RequestId: "d1"}
	for i := range 2 {
		if _, err := c.DeleteBook(ctx, del); err != nil {
			t.Fatalf("DeleteBook #%d with one request_id: %v; want success (a repetition answers the first response, not NotFound)", i+1, err)
		}
	}
	if _, err := c.DeleteBook(ctx, &DeleteBookRequest{Name: b.Name, RequestId: "d2"}); status.Code(err) != codes.NotFound {
		t.Fatalf("DeleteBook with a new request_id = %v; want NotFound", err)
	}
}

func TestRequestIDWithoutRepository(t *testing.T) {
	ctx := context.Background()
	repos := NewInMemoryLibrarySkeleton().Repositories()
	repos.Requests = nil
	c := StartLibraryForTest(t, NewLibrarySkeleton(repos))
	_, err := c.CreateBook(ctx, &CreateBookRequest{Book: &Book{Title: "x"}, RequestId: "r"})
	if status.Code(err) != codes.Unimplemented {
		t.Fatalf("request_id without a Requests repository = %v; want Unimplemented (never ignored)", err)
	}
	if _, err := c.CreateBook(ctx, &CreateBookRequest{Book: &Book{Title: "y"}}); err != nil {
		t.Fatal(err)
	}
}
