// Behaviour test of the AIP batch methods (AIP-231, 233, 234, 235) of
// testdata/protos/aipbatch, compiled into the generated package by
// TestGoldensCompile, served over a real gRPC connection (bufconn) and
// called through the generated wrapper.
package aipbatch

import (
	"context"
	"slices"
	"strings"
	"testing"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/fieldmaskpb"
)

func bookNames(books []*Book) []string {
	var out []string
	for _, b := range books {
		out = append(out, b.GetName())
	}
	return out
}

// seed creates books a, b and c under shelves/s1 through BatchCreateBooks.
func seed(t *testing.T, c *LibraryWrapper) []*Book {
	t.Helper()
	res, err := c.BatchCreateBooks(context.Background(), &BatchCreateBooksRequest{
		Parent: "shelves/s1",
		Requests: []*CreateBookRequest{
			{BookId: "a", Book: &Book{Title: "A"}},
			{Parent: "shelves/s1", BookId: "b", Book: &Book{Title: "B"}},
			{BookId: "c", Book: &Book{Title: "C"}},
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	return res.GetBooks()
}

func TestBatchCreate(t *testing.T) {
	ctx := context.Background()
	c := StartLibraryForTest(t, NewInMemoryLibrarySkeleton())
	books := seed(t, c)
	// Names are composed from the batch's parent (or the request's) and the id.
	if got, want := bookNames(books), []string{"shelves/s1/books/a", "shelves/s1/books/b", "shelves/s1/books/c"}; !slices.Equal(got, want) {
		t.Fatalf("BatchCreateBooks names = %v; want %v", got, want)
	}
	if b, err := c.GetBook(ctx, &GetBookRequest{Name: "shelves/s1/books/b"}); err != nil || b.GetTitle() != "B" {
		t.Fatalf("GetBook after BatchCreateBooks = %v, %v", b, err)
	}
	// One invalid request refuses the whole batch, and nothing is stored.
	for _, tc := range []struct {
		name string
		reqs []*CreateBookRequest
		code codes.Code
	}{
		{"REQUIRED title unset", []*CreateBookRequest{{BookId: "d", Book: &Book{Title: "D"}}, {BookId: "e", Book: &Book{}}}, codes.InvalidArgument},
		{"another parent", []*CreateBookRequest{{BookId: "d", Book: &Book{Title: "D"}}, {Parent: "shelves/s2", BookId: "e", Book: &Book{Title: "E"}}}, codes.InvalidArgument},
		{"an id used twice", []*CreateBookRequest{{BookId: "d", Book: &Book{Title: "D"}}, {BookId: "d", Book: &Book{Title: "D2"}}}, codes.AlreadyExists},
		{"an id already stored", []*CreateBookRequest{{BookId: "d", Book: &Book{Title: "D"}}, {BookId: "a", Book: &Book{Title: "A2"}}}, codes.AlreadyExists},
		{"no book", []*CreateBookRequest{{BookId: "d", Book: &Book{Title: "D"}}, {BookId: "e"}}, codes.InvalidArgument},
	} {
		_, err := c.BatchCreateBooks(ctx, &BatchCreateBooksRequest{Parent: "shelves/s1", Requests: tc.reqs})
		if status.Code(err) != tc.code {
			t.Errorf("%s: BatchCreateBooks = %v; want %v", tc.name, err, tc.code)
		}
		if _, err := c.GetBook(ctx, &GetBookRequest{Name: "shelves/s1/books/d"}); status.Code(err) != codes.NotFound {
			t.Errorf("%s: books/d after a refused batch: %v; want NotFound (nothing stored)", tc.name, err)
		}
	}
	// The failing element is named.
	_, err := c.BatchCreateBooks(ctx, &BatchCreateBooksRequest{Parent: "shelves/s1", Requests: []*CreateBookRequest{{BookId: "d", Book: &Book{Title: "D"}}, {BookId: "e", Book: &Book{}}}})
	if msg := status.Convert(err).Message(); !strings.HasPrefix(msg, "requests[1]: ") {
		t.Errorf("BatchCreateBooks error %q does not name requests[1]", msg)
	}
	// validate_only is refused, never ignored.
	if _, err := c.BatchCreateBooks(ctx, &BatchCreateBooksRequest{ValidateOnly: true, Requests: []*CreateBookRequest{{Parent: "shelves/s1", BookId: "d", Book: &Book{Title: "D"}}}}); status.Code(err) != codes.Unimplemented {
		t.Errorf("BatchCreateBooks with validate_only = %v; want Unimplemented", err)
	}
}

func TestBatchGet(t *testing.T) {
	ctx := context.Background()
	c := StartLibraryForTest(t, NewInMemoryLibrarySkeleton())
	seed(t, c)
	// The answer is in the order of the request.
	want := []string{"shelves/s1/books/c", "shelves/s1/books/a", "shelves/s1/books/b", "shelves/s1/books/a"}
	res, err := c.BatchGetBooks(ctx, &BatchGetBooksRequest{Parent: "shelves/s1", Names: want})
	if err != nil {
		t.Fatal(err)
	}
	if got := bookNames(res.GetBooks()); !slices.Equal(got, want) {
		t.Fatalf("BatchGetBooks = %v; want %v", got, want)
	}
	if res.GetBooks()[0].GetTitle() != "C" {
		t.Fatalf("BatchGetBooks[0] = %v", res.GetBooks()[0])
	}
	// All or nothing: a missing one is NotFound, naming it.
	_, err = c.BatchGetBooks(ctx, &BatchGetBooksRequest{Names: []string{"shelves/s1/books/a", "shelves/s1/books/zz"}})
	if status.Code(err) != codes.NotFound || !strings.Contains(status.Convert(err).Message(), "shelves/s1/books/zz") || !strings.HasPrefix(status.Convert(err).Message(), "names[1]: ") {
		t.Fatalf("BatchGetBooks with a missing book = %v; want NotFound naming names[1] shelves/s1/books/zz", err)
	}
	// A name outside the parent, or not a Book name, is InvalidArgument.
	if _, err := c.BatchGetBooks(ctx, &BatchGetBooksRequest{Parent: "shelves/s2", Names: []string{"shelves/s1/books/a"}}); status.Code(err) != codes.InvalidArgument {
		t.Fatalf("BatchGetBooks outside the parent = %v; want InvalidArgument", err)
	}
	if _, err := c.BatchGetBooks(ctx, &BatchGetBooksRequest{Parent: "shelves/-", Names: []string{"shelves/s1/books/a"}}); err != nil {
		t.Fatalf("BatchGetBooks under shelves/- = %v", err)
	}
	if _, err := c.BatchGetBooks(ctx, &BatchGetBooksRequest{Names: []string{"books/a"}}); status.Code(err) != codes.InvalidArgument {
		t.Fatalf("BatchGetBooks of a malformed name = %v; want InvalidArgument", err)
	}
}

func TestBatchUpdate(t *testing.T) {
	ctx := context.Background()
	c := StartLibraryForTest(t, NewInMemoryLibrarySkeleton())
	seed(t, c)
	res, err := c.BatchUpdateBooks(ctx, &BatchUpdateBooksRequest{
		Parent: "shelves/s1",
		Requests: []*UpdateBookRequest{
			{Book: &Book{Name: "shelves/s1/books/b", Author: "Bea"}, UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{"author"}}},
			{Book: &Book{Name: "shelves/s1/books/a", Title: "A2"}},
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	if got := bookNames(res.GetBooks()); !slices.Equal(got, []string{"shelves/s1/books/b", "shelves/s1/books/a"}) {
		t.Fatalf("BatchUpdateBooks = %v", got)
	}
	if b := res.GetBooks()[0]; b.GetAuthor() != "Bea" || b.GetTitle() != "B" {
		t.Fatalf("BatchUpdateBooks[0] = %v; want author Bea, title B kept", b)
	}
	if b, _ := c.GetBook(ctx, &GetBookRequest{Name: "shelves/s1/books/a"}); b.GetTitle() != "A2" {
		t.Fatalf("book a after BatchUpdateBooks = %v", b)
	}
	// A missing one is NotFound naming its request; a book outside the
	// parent is InvalidArgument before it is touched.
	_, err = c.BatchUpdateBooks(ctx, &BatchUpdateBooksRequest{Requests: []*UpdateBookRequest{{Book: &Book{Name: "shelves/s1/books/zz", Title: "Z"}}}})
	if status.Code(err) != codes.NotFound || !strings.HasPrefix(status.Convert(err).Message(), "requests[0]: ") {
		t.Fatalf("BatchUpdateBooks of a missing book = %v; want NotFound naming requests[0]", err)
	}
	_, err = c.BatchUpdateBooks(ctx, &BatchUpdateBooksRequest{Parent: "shelves/s2", Requests: []*UpdateBookRequest{{Book: &Book{Name: "shelves/s1/books/c", Title: "C2"}}}})
	if status.Code(err) != codes.InvalidArgument {
		t.Fatalf("BatchUpdateBooks outside the parent = %v; want InvalidArgument", err)
	}
	if b, _ := c.GetBook(ctx, &GetBookRequest{Name: "shelves/s1/books/c"}); b.GetTitle() != "C" {
		t.Fatalf("book c after a refused update = %v", b)
	}
}

func TestBatchDelete(t *testing.T) {
	ctx := context.Background()
	c := StartLibraryForTest(t, NewInMemoryLibrarySkeleton())
	seed(t, c)
	// A missing one fails the batch before anything is deleted.
	_, err := c.BatchDeleteBooks(ctx, &BatchDeleteBooksRequest{Names: []string{"shelves/s1/books/a", "shelves/s1/books/zz"}})
	if status.Code(err) != codes.NotFound || !strings.HasPrefix(status.Convert(err).Message(), "names[1]: ") {
		t.Fatalf("BatchDeleteBooks with a missing book = %v; want NotFound naming names[1]", err)
	}
	if _, err := c.GetBook(ctx, &GetBookRequest{Name: "shelves/s1/books/a"}); err != nil {
		t.Fatalf("book a after a refused batch delete: %v", err)
	}
	if _, err := c.BatchDeleteBooks(ctx, &BatchDeleteBooksRequest{Parent: "shelves/s2", Names: []string{"shelves/s1/books/a"}}); status.Code(err) != codes.InvalidArgument {
		t.Fatalf("BatchDeleteBooks outside the parent = %v; want InvalidArgument", err)
	}
	if _, err := c.BatchDeleteBooks(ctx, &BatchDeleteBooksRequest{Parent: "shelves/s1", Names: []string{"shelves/s1/books/a", "shelves/s1/books/c"}}); err != nil {
		t.Fatal(err)
	}
	res, err := c.BatchGetBooks(ctx, &BatchGetBooksRequest{Names: []string{"shelves/s1/books/b"}})
	if err != nil || len(res.GetBooks()) != 1 {
		t.Fatalf("book b after BatchDeleteBooks(a, c) = %v, %v", res, err)
	}
	for _, n := range []string{"shelves/s1/books/a", "shelves/s1/books/c"} {
		if _, err := c.GetBook(ctx, &GetBookRequest{Name: n}); status.Code(err) != codes.NotFound {
			t.Fatalf("%s after BatchDeleteBooks = %v; want NotFound", n, err)
		}
	}
}

func TestBatchDeleteRequests(t *testing.T) {
	ctx := context.Background()
	c := StartLibraryForTest(t, NewInMemoryLibrarySkeleton())
	var notes []*Note
	for _, id := range []string{"n1", "n2", "n3"} {
		n, err := c.CreateNote(ctx, &CreateNoteRequest{NoteId: id, Note: &Note{Text: id}})
		if err != nil {
			t.Fatal(err)
		}
		notes = append(notes, n)
	}
	// Each request is a DeleteNote, etag included; the batch is not atomic
	// (as its doc comment says): the first failure stops it, and the
	// deletes before it stay done.
	_, err := c.BatchDeleteNotes(ctx, &BatchDeleteNotesRequest{Requests: []*DeleteNoteRequest{
		{Name: "notes/n1", Etag: notes[0].GetEtag()},
		{Name: "notes/n2", Etag: `"stale"`},
		{Name: "notes/n3"},
	}})
	if status.Code(err) != codes.Aborted || !strings.HasPrefix(status.Convert(err).Message(), "requests[1]: ") {
		t.Fatalf("BatchDeleteNotes with a stale etag = %v; want Aborted naming requests[1]", err)
	}
	if _, err := c.GetNote(ctx, &GetNoteRequest{Name: "notes/n1"}); status.Code(err) != codes.NotFound {
		t.Fatalf("notes/n1, before the failure: %v; want deleted", err)
	}
	for _, n := range []string{"notes/n2", "notes/n3"} {
		if _, err := c.GetNote(ctx, &GetNoteRequest{Name: n}); err != nil {
			t.Fatalf("%s, at and after the failure: %v; want kept", n, err)
		}
	}
	if _, err := c.BatchDeleteNotes(ctx, &BatchDeleteNotesRequest{Requests: []*DeleteNoteRequest{{Name: "notes/n2"}, {Name: "notes/n3", Etag: notes[2].GetEtag()}}}); err != nil {
		t.Fatal(err)
	}
	for _, n := range []string{"notes/n2", "notes/n3"} {
		if _, err := c.GetNote(ctx, &GetNoteRequest{Name: n}); status.Code(err) != codes.NotFound {
			t.Fatalf("%s after BatchDeleteNotes = %v; want NotFound", n, err)
		}
	}
}

// TestBatchGetUnderParentWithoutPatterns: Memos declare no pattern, and a
// BatchGet's parent still holds every name under it.
func TestBatchGetUnderParentWithoutPatterns(t *testing.T) {
	ctx := context.Background()
	c := StartLibraryForTest(t, NewInMemoryLibrarySkeleton())
	var names []string
	for _, parent := range []string{"projects/1", "projects/2"} {
		m, err := c.CreateMemo(ctx, &CreateMemoRequest{Parent: parent, MemoId: "m", Memo: &Memo{Text: parent}})
		if err != nil {
			t.Fatal(err)
		}
		names = append(names, m.GetName())
	}
	got, err := c.BatchGetMemos(ctx, &BatchGetMemosRequest{Parent: "projects/1", Names: names[:1]})
	if err != nil || len(got.GetMemos()) != 1 || got.GetMemos()[0].GetText() != "projects/1" {
		t.Fatalf("BatchGetMemos under its parent = %v, %v", got.GetMemos(), err)
	}
	if _, err := c.BatchGetMemos(ctx, &BatchGetMemosRequest{Parent: "projects/1", Names: names}); status.Code(err) != codes.InvalidArgument || !strings.Contains(err.Error(), names[1]) {
		t.Fatalf("BatchGetMemos with a name under another parent = %v; want InvalidArgument naming %s", err, names[1])
	}
	if got, err := c.BatchGetMemos(ctx, &BatchGetMemosRequest{Names: names}); err != nil || len(got.GetMemos()) != 2 {
		t.Fatalf("BatchGetMemos without a parent = %v, %v", got.GetMemos(), err)
	}
}

// TestBatchCreateOfResources: BatchCreateMemos holds the memos themselves;
// each is created under the batch's parent as CreateMemo would, all or
// nothing.
func TestBatchCreateOfResources(t *testing.T) {
	ctx := context.Background()
	c := StartLibraryForTest(t, NewInMemoryLibrarySkeleton())
	res, err := c.BatchCreateMemos(ctx, &BatchCreateMemosRequest{Parent: "projects/1", Memos: []*Memo{{Text: "a"}, {Text: "b"}}})
	if err != nil || len(res.GetMemos()) != 2 || res.GetMemos()[1].GetText() != "b" {
		t.Fatalf("BatchCreateMemos = %v, %v", res.GetMemos(), err)
	}
	for _, m := range res.GetMemos() {
		if !strings.HasPrefix(m.GetName(), "projects/1/memos/") {
			t.Fatalf("memo %q is not under the batch's parent", m.GetName())
		}
	}
	got, err := c.BatchGetMemos(ctx, &BatchGetMemosRequest{Names: []string{res.GetMemos()[0].GetName(), res.GetMemos()[1].GetName()}})
	if err != nil || len(got.GetMemos()) != 2 {
		t.Fatalf("BatchGetMemos of the created memos = %v, %v", got.GetMemos(), err)
	}
	if _, err := c.BatchCreateMemos(ctx, &BatchCreateMemosRequest{Parent: "projects", Memos: []*Memo{{Text: "c"}}}); status.Code(err) != codes.InvalidArgument {
		t.Fatalf("BatchCreateMemos under a parent that is no name = %v; want InvalidArgument", err)
	}
}

// TestBatchCreateAnsweringResults: Archive's BatchCreateMemos answers each
// memo in a MemoResult, its status left OK (the batch is all or nothing).
func TestBatchCreateAnsweringResults(t *testing.T) {
	ctx := context.Background()
	c := StartArchiveForTest(t, NewInMemoryArchiveSkeleton())
	res, err := c.BatchCreateMemos(ctx, &BatchCreateMemosRequest{Parent: "projects/1", Memos: []*Memo{{Text: "a"}, {Text: "b"}}})
	if err != nil || len(res.GetResults()) != 2 {
		t.Fatalf("BatchCreateMemos = %v, %v", res, err)
	}
	for i, want := range []string{"a", "b"} {
		r := res.GetResults()[i]
		if r.GetMemo().GetText() != want || !strings.HasPrefix(r.GetMemo().GetName(), "projects/1/memos/") || r.GetStatus().GetCode() != 0 {
			t.Fatalf("result %d = %v; want memo %s under projects/1, status OK", i, r, want)
		}
	}
}
