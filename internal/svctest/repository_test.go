package svctest

// Behaviour tests of the resource services of proto/svctest/v1/library.proto:
// generated skeletons serving standard methods from svcstore repositories,
// called through the generated wrapper clients over real gRPC connections
// (bufconn through StartXForTest, and loopback TCP in
// TestLibraryOverLoopbackTCP), plus the svcstore contract suite run against
// the generated repository constructors.

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"io"
	"log/slog"
	mrand "math/rand/v2"
	"net"
	"regexp"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/fieldmaskpb"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/svcgen/protoc-gen-svc/internal/svctest/echopb"
	"github.com/svcgen/protoc-gen-svc/svcserver"
	"github.com/svcgen/protoc-gen-svc/svcstore"
	"github.com/svcgen/protoc-gen-svc/svcstore/storetest"
)

// libUUIDv7 is the shape of the default server-assigned id, a time-ordered
// UUIDv7. Book's schema has no key prefix (the proto declares no resource
// pattern), so a server-assigned name is the bare id.
var libUUIDv7 = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`)

func libMask(paths ...string) *fieldmaskpb.FieldMask { return &fieldmaskpb.FieldMask{Paths: paths} }

// TestServerAssignedNamesInCreationOrder: names the server assigns are
// time-ordered, so a List without order_by answers resources in the order
// they were created, over a real connection through the generated wrapper.
func TestServerAssignedNamesInCreationOrder(t *testing.T) {
	ctx := libCtx(t)
	c := echopb.StartLibraryForTest(t, echopb.NewInMemoryLibrarySkeleton())
	const n = 300 // several to each millisecond on a fast machine
	var created []string
	for i := range n {
		b, err := c.CreateBook(ctx, &echopb.CreateBookRequest{Book: &echopb.Book{Title: fmt.Sprint("book ", i)}})
		if err != nil {
			t.Fatalf("CreateBook %d: %v", i, err)
		}
		if !libUUIDv7.MatchString(b.GetName()) {
			t.Fatalf("server-assigned name %q: want a UUIDv7", b.GetName())
		}
		created = append(created, b.GetName())
	}
	listed, _ := libListAllBooks(t, c, 7, 50)
	if d := cmp.Diff(created, libNames(listed)); d != "" {
		t.Errorf("ListBooks without order_by is not in creation order (-created +listed):\n%s", d)
	}
}

// TestBookCRUD: Create (with and without book_id, server-assigned names),
// Get, Update under an update_mask and as a full replacement, Delete, over
// a real gRPC connection through the generated wrapper.
func TestBookCRUD(t *testing.T) {
	ctx := libCtx(t)
	clk := &libClock{}
	c := echopb.StartLibraryForTest(t, echopb.NewInMemoryLibrarySkeleton(svcstore.WithClock(clk.now)))

	// book_id names the resource (AIP-133), whatever book.name says, and
	// output-only fields sent by the client are ignored.
	bogus := timestamppb.New(time.Unix(1, 1))
	in := &echopb.Book{
		Name: "books/ignored", Title: "Dune", Author: "Frank Herbert", Pages: 412,
		Etag: `"client"`, CreateTime: bogus, UpdateTime: bogus,
	}
	created, err := c.CreateBook(ctx, &echopb.CreateBookRequest{Book: in, BookId: "books/dune"})
	if err != nil {
		t.Fatalf("CreateBook with book_id: %v", err)
	}
	want := &echopb.Book{Name: "books/dune", Title: "Dune", Author: "Frank Herbert", Pages: 412}
	if d := libDiff(want, libWithoutManaged(created)); d != "" {
		t.Errorf("CreateBook result (-want +got):\n%s", d)
	}
	if created.GetEtag() == "" || created.GetEtag() == `"client"` {
		t.Errorf("CreateBook etag = %q, want a server-assigned etag", created.GetEtag())
	}
	for name, ts := range map[string]*timestamppb.Timestamp{"create_time": created.GetCreateTime(), "update_time": created.GetUpdateTime()} {
		if ts == nil || ts.AsTime().Before(libT0) {
			t.Errorf("CreateBook %s = %v, want a time from the store's clock (after %v)", name, ts, libT0)
		}
	}
	if _, err := c.GetBook(ctx, &echopb.GetBookRequest{Name: "books/ignored"}); status.Code(err) != codes.NotFound {
		t.Errorf("GetBook(book.name that book_id overrode) = %v, want NotFound", err)
	}
	got, err := c.GetBook(ctx, &echopb.GetBookRequest{Name: "books/dune"})
	if err != nil {
		t.Fatalf("GetBook: %v", err)
	}
	if d := libDiff(created, got); d != "" {
		t.Errorf("GetBook differs from CreateBook's result (-create +get):\n%s", d)
	}

	// Without book_id, a client-chosen name is taken as given, and an empty
	// one is assigned by the server: distinct each time, and servable.
	named, err := c.CreateBook(ctx, &echopb.CreateBookRequest{Book: &echopb.Book{Name: "books/named", Title: "Named"}})
	if err != nil || named.GetName() != "books/named" {
		t.Fatalf("CreateBook with book.name = %v, %v; want name books/named", named, err)
	}
	assigned := map[string]bool{}
	for i := range 3 {
		b, err := c.CreateBook(ctx, &echopb.CreateBookRequest{Book: &echopb.Book{Title: fmt.Sprint("anonymous ", i)}})
		if err != nil {
			t.Fatalf("CreateBook without a name: %v", err)
		}
		if !libUUIDv7.MatchString(b.GetName()) || assigned[b.GetName()] {
			t.Errorf("server-assigned name %q: want a fresh UUIDv7", b.GetName())
		}
		assigned[b.GetName()] = true
		if g, err := c.GetBook(ctx, &echopb.GetBookRequest{Name: b.GetName()}); err != nil || g.GetTitle() != b.GetTitle() {
			t.Errorf("GetBook(%q) = %v, %v; want the created book", b.GetName(), g, err)
		}
	}

	// update_mask: only the masked field changes, although the request
	// differs in other fields too; create_time stays, update_time and the
	// etag change.
	upd, err := c.UpdateBook(ctx, &echopb.UpdateBookRequest{
		Book:       &echopb.Book{Name: "books/dune", Title: "Dune Messiah", Author: "someone else", Pages: 1},
		UpdateMask: libMask("title"),
	})
	if err != nil {
		t.Fatalf("UpdateBook(mask title): %v", err)
	}
	want = proto.Clone(created).(*echopb.Book)
	want.Title = "Dune Messiah"
	if d := libDiff(libWithoutManaged(want), libWithoutManaged(upd)); d != "" {
		t.Errorf("UpdateBook(mask title) (-want +got):\n%s", d)
	}
	libCheckUpdateStamps(t, "UpdateBook(mask title)", created, upd)
	if got, err := c.GetBook(ctx, &echopb.GetBookRequest{Name: "books/dune"}); err != nil || libDiff(upd, got) != "" {
		t.Errorf("GetBook after UpdateBook = %v, %v; want %v", got, err, upd)
	}

	// Several paths; a masked field the request leaves unset is cleared.
	upd2, err := c.UpdateBook(ctx, &echopb.UpdateBookRequest{
		Book:       &echopb.Book{Name: "books/dune", Title: "ignored", Author: "F. Herbert"},
		UpdateMask: libMask("author", "pages"),
	})
	if err != nil {
		t.Fatalf("UpdateBook(mask author, pages): %v", err)
	}
	want = proto.Clone(upd).(*echopb.Book)
	want.Author, want.Pages = "F. Herbert", 0
	if d := libDiff(libWithoutManaged(want), libWithoutManaged(upd2)); d != "" {
		t.Errorf("UpdateBook(mask author, pages) (-want +got):\n%s", d)
	}
	libCheckUpdateStamps(t, "UpdateBook(mask author, pages)", upd, upd2)

	// Mask "*": a full replacement (AIP-134): fields the request leaves
	// unset are cleared; create_time is kept even when the client sends
	// another one.
	full, err := c.UpdateBook(ctx, &echopb.UpdateBookRequest{
		Book:       &echopb.Book{Name: "books/dune", Title: "Children of Dune", Pages: 444, CreateTime: bogus},
		UpdateMask: libMask("*"),
	})
	if err != nil {
		t.Fatalf(`UpdateBook(mask "*"): %v`, err)
	}
	want = &echopb.Book{Name: "books/dune", Title: "Children of Dune", Pages: 444}
	if d := libDiff(want, libWithoutManaged(full)); d != "" {
		t.Errorf(`UpdateBook(mask "*") (-want +got):\n%s`, d)
	}
	libCheckUpdateStamps(t, `UpdateBook(mask "*")`, upd2, full)

	// No mask at all: AIP-134's implied mask, the fields the request
	// populates. Title and pages are kept; only the author is set.
	full, err = c.UpdateBook(ctx, &echopb.UpdateBookRequest{
		Book: &echopb.Book{Name: "books/dune", Author: "Herbert"},
	})
	if err != nil {
		t.Fatalf("UpdateBook without a mask: %v", err)
	}
	want = &echopb.Book{Name: "books/dune", Title: "Children of Dune", Pages: 444, Author: "Herbert"}
	if d := libDiff(want, libWithoutManaged(full)); d != "" {
		t.Errorf("UpdateBook without a mask (-want +got):\n%s", d)
	}

	// Delete, then it is gone for every method.
	if _, err := c.DeleteBook(ctx, &echopb.DeleteBookRequest{Name: "books/dune"}); err != nil {
		t.Fatalf("DeleteBook: %v", err)
	}
	_, err = c.GetBook(ctx, &echopb.GetBookRequest{Name: "books/dune"})
	libWantCode(t, err, codes.NotFound, "books/dune", "GetBook after DeleteBook")
	_, err = c.DeleteBook(ctx, &echopb.DeleteBookRequest{Name: "books/dune"})
	libWantCode(t, err, codes.NotFound, "books/dune", "libErr DeleteBook")
	_, err = c.UpdateBook(ctx, &echopb.UpdateBookRequest{Book: &echopb.Book{Name: "books/dune", Title: "x"}, UpdateMask: libMask("title")})
	libWantCode(t, err, codes.NotFound, "books/dune", "UpdateBook after DeleteBook")
	// The name is free again.
	if _, err := c.CreateBook(ctx, &echopb.CreateBookRequest{Book: &echopb.Book{Title: "again"}, BookId: "books/dune"}); err != nil {
		t.Errorf("CreateBook after DeleteBook: %v", err)
	}
}

// libWithoutManaged returns a copy of b without the fields the store owns.
func libWithoutManaged(b *echopb.Book) *echopb.Book {
	c := proto.Clone(b).(*echopb.Book)
	c.Etag, c.CreateTime, c.UpdateTime = "", nil, nil
	return c
}

// libCheckUpdateStamps checks what an Update from before to after must do to
// the store-managed fields.
func libCheckUpdateStamps(t *testing.T, call string, before, after *echopb.Book) {
	t.Helper()
	if d := libDiff(before.GetCreateTime(), after.GetCreateTime()); d != "" {
		t.Errorf("%s changed create_time (-before +after):\n%s", call, d)
	}
	if !after.GetUpdateTime().AsTime().After(before.GetUpdateTime().AsTime()) {
		t.Errorf("%s: update_time %v, want later than %v", call, after.GetUpdateTime().AsTime(), before.GetUpdateTime().AsTime())
	}
	if after.GetEtag() == "" || after.GetEtag() == before.GetEtag() {
		t.Errorf("%s: etag %q after %q, want a new etag", call, after.GetEtag(), before.GetEtag())
	}
}

// TestBookErrorCodes: every rejected request answers the right status
// code, and a rejected Update leaves the stored book alone.
func TestBookErrorCodes(t *testing.T) {
	ctx := libCtx(t)
	c := echopb.StartLibraryForTest(t, echopb.NewInMemoryLibrarySkeleton())
	stored, err := c.CreateBook(ctx, &echopb.CreateBookRequest{Book: &echopb.Book{Title: "T", Author: "A"}, BookId: "books/1"})
	if err != nil {
		t.Fatal(err)
	}
	update := func(paths ...string) error {
		_, err := c.UpdateBook(ctx, &echopb.UpdateBookRequest{
			Book:       &echopb.Book{Name: "books/1", Title: "changed", Etag: `"999"`},
			UpdateMask: libMask(paths...),
		})
		return err
	}
	cases := []struct {
		call        string
		err         error
		code        codes.Code
		msgContains string
	}{
		{"CreateBook(existing book_id)", libErr(c.CreateBook(ctx, &echopb.CreateBookRequest{Book: &echopb.Book{}, BookId: "books/1"})), codes.AlreadyExists, "books/1"},
		{"CreateBook(existing book.name)", libErr(c.CreateBook(ctx, &echopb.CreateBookRequest{Book: &echopb.Book{Name: "books/1"}})), codes.AlreadyExists, "books/1"},
		{"CreateBook(no book)", libErr(c.CreateBook(ctx, &echopb.CreateBookRequest{BookId: "books/2"})), codes.InvalidArgument, ""},
		{"GetBook(empty name)", libErr(c.GetBook(ctx, &echopb.GetBookRequest{})), codes.InvalidArgument, "name"},
		{"GetBook(missing)", libErr(c.GetBook(ctx, &echopb.GetBookRequest{Name: "books/missing"})), codes.NotFound, `"books/missing"`},
		{"UpdateBook(missing)", libErr(c.UpdateBook(ctx, &echopb.UpdateBookRequest{Book: &echopb.Book{Name: "books/missing"}, UpdateMask: libMask("title")})), codes.NotFound, "books/missing"},
		{"UpdateBook(empty name)", libErr(c.UpdateBook(ctx, &echopb.UpdateBookRequest{Book: &echopb.Book{Title: "x"}, UpdateMask: libMask("title")})), codes.InvalidArgument, ""},
		{"UpdateBook(no book)", libErr(c.UpdateBook(ctx, &echopb.UpdateBookRequest{UpdateMask: libMask("title")})), codes.InvalidArgument, ""},
		// An invalid mask is reported before the etag is looked at.
		{`UpdateBook(mask "no_such_field")`, update("no_such_field"), codes.InvalidArgument, "no_such_field"},
		{`UpdateBook(mask "title.no_such_field")`, update("title.no_such_field"), codes.InvalidArgument, ""},
		{`UpdateBook(mask "")`, update(""), codes.InvalidArgument, ""},
		{`UpdateBook(mask "name")`, update("name"), codes.InvalidArgument, "name"},
		{`UpdateBook(mask "etag")`, update("etag"), codes.InvalidArgument, "etag"},
		{`UpdateBook(mask "title", "etag")`, update("title", "etag"), codes.InvalidArgument, "etag"},
		{`UpdateBook(mask "create_time")`, update("create_time"), codes.InvalidArgument, "create_time"},
		{`UpdateBook(mask "update_time.seconds")`, update("update_time.seconds"), codes.InvalidArgument, "update_time"},
		{`UpdateBook(mask "*", "title")`, update("*", "title"), codes.InvalidArgument, ""},
		{"DeleteBook(empty name)", libErr(c.DeleteBook(ctx, &echopb.DeleteBookRequest{})), codes.InvalidArgument, ""},
		{"DeleteBook(missing)", libErr(c.DeleteBook(ctx, &echopb.DeleteBookRequest{Name: "books/missing"})), codes.NotFound, "books/missing"},
		{"ListBooks(page_size -1)", libErr(c.ListBooks(ctx, &echopb.ListBooksRequest{PageSize: -1})), codes.InvalidArgument, "page_size"},
		{"ListBooks(page_token garbage)", libErr(c.ListBooks(ctx, &echopb.ListBooksRequest{PageToken: "garbage"})), codes.InvalidArgument, "page_token"},
	}
	for _, tc := range cases {
		libWantCode(t, tc.err, tc.code, tc.msgContains, tc.call)
	}
	got, err := c.GetBook(ctx, &echopb.GetBookRequest{Name: "books/1"})
	if err != nil || libDiff(stored, got) != "" {
		t.Errorf("after rejected requests GetBook = %v, %v; want unchanged %v", got, err, stored)
	}
}

// libErr returns the error of a (result, error) pair.
func libErr[T any](_ T, err error) error { return err }

// TestBookEtagConflict: optimistic concurrency. A write carrying a stale
// etag is Aborted and changes nothing; the current etag is accepted.
func TestBookEtagConflict(t *testing.T) {
	ctx := libCtx(t)
	c := echopb.StartLibraryForTest(t, echopb.NewInMemoryLibrarySkeleton())
	v1, err := c.CreateBook(ctx, &echopb.CreateBookRequest{Book: &echopb.Book{Title: "v1", Author: "A"}, BookId: "books/e"})
	if err != nil {
		t.Fatal(err)
	}

	// Read-modify-write with the etag just read succeeds.
	rmw := proto.Clone(v1).(*echopb.Book)
	rmw.Title = "v2"
	v2, err := c.UpdateBook(ctx, &echopb.UpdateBookRequest{Book: rmw, UpdateMask: libMask("title")})
	if err != nil {
		t.Fatalf("UpdateBook with the current etag: %v", err)
	}
	if v2.GetEtag() == v1.GetEtag() {
		t.Fatalf("UpdateBook kept etag %q", v2.GetEtag())
	}

	// A libErr writer still holding v1 loses, masked or full replacement.
	lost := proto.Clone(v1).(*echopb.Book)
	lost.Title, lost.Author = "lost update", "B"
	_, err = c.UpdateBook(ctx, &echopb.UpdateBookRequest{Book: lost, UpdateMask: libMask("title")})
	libWantCode(t, err, codes.Aborted, "etag", "UpdateBook(mask title) with a stale etag")
	_, err = c.UpdateBook(ctx, &echopb.UpdateBookRequest{Book: lost})
	libWantCode(t, err, codes.Aborted, "etag", "UpdateBook (full) with a stale etag")
	_, err = c.DeleteBook(ctx, &echopb.DeleteBookRequest{Name: "books/e", Etag: v1.GetEtag()})
	libWantCode(t, err, codes.Aborted, "etag", "DeleteBook with a stale etag")
	_, err = c.DeleteBook(ctx, &echopb.DeleteBookRequest{Name: "books/e", Etag: `"not-an-etag"`})
	libWantCode(t, err, codes.Aborted, "", "DeleteBook with a made-up etag")
	if got, err := c.GetBook(ctx, &echopb.GetBookRequest{Name: "books/e"}); err != nil || libDiff(v2, got) != "" {
		t.Fatalf("after rejected writes GetBook = %v, %v; want %v", got, err, v2)
	}

	// The loser re-reads and retries: now it wins.
	cur, err := c.GetBook(ctx, &echopb.GetBookRequest{Name: "books/e"})
	if err != nil {
		t.Fatal(err)
	}
	cur.Author = "B"
	v3, err := c.UpdateBook(ctx, &echopb.UpdateBookRequest{Book: cur, UpdateMask: libMask("author")})
	if err != nil || v3.GetTitle() != "v2" || v3.GetAuthor() != "B" {
		t.Fatalf("UpdateBook after re-read = %v, %v; want title v2, author B", v3, err)
	}
	_, err = c.DeleteBook(ctx, &echopb.DeleteBookRequest{Name: "books/e", Etag: v2.GetEtag()})
	libWantCode(t, err, codes.Aborted, "", "DeleteBook with the previous etag")
	if _, err := c.DeleteBook(ctx, &echopb.DeleteBookRequest{Name: "books/e", Etag: v3.GetEtag()}); err != nil {
		t.Fatalf("DeleteBook with the current etag: %v", err)
	}
	_, err = c.GetBook(ctx, &echopb.GetBookRequest{Name: "books/e"})
	libWantCode(t, err, codes.NotFound, "", "GetBook after DeleteBook")

	// A re-created book never repeats an etag an old client may hold.
	again, err := c.CreateBook(ctx, &echopb.CreateBookRequest{Book: &echopb.Book{}, BookId: "books/e"})
	if err != nil {
		t.Fatal(err)
	}
	if e := again.GetEtag(); e == v1.GetEtag() || e == v2.GetEtag() || e == v3.GetEtag() {
		t.Errorf("re-created book reuses etag %q", e)
	}
}

// TestListBooksPagination: a 1,000-book store listed through unary
// ListBooks pages of several sizes yields every book exactly once, in key
// order, with exactly the expected number of pages; 0 means the default
// and an oversized page is clamped.
func TestListBooksPagination(t *testing.T) {
	const n = 1000
	repo := echopb.NewInMemoryBookRepository()
	stored := libSeedBooks(t, repo, libRange(n))
	c := echopb.StartLibraryForTest(t, echopb.NewLibrarySkeleton(echopb.LibraryRepositories{Book: repo}))
	wantKeys := make([]string, n)
	for i := range wantKeys {
		wantKeys[i] = libBookKey(i)
	}

	for _, tc := range []struct {
		name      string
		sizes     []int
		wantPages int // 0: not checked
	}{
		{"1", []int{1}, 1000},
		{"7", []int{7}, 143},
		{"100", []int{100}, 10},
		{"1000", []int{1000}, 1},
		{"0 (default)", []int{0}, n / svcstore.DefaultPageSize},
		{"5000 (clamped)", []int{5000}, 1},
		{"changing between pages", []int{3, 0, 1, 250}, 0},
	} {
		t.Run("page_size="+tc.name, func(t *testing.T) {
			books, pages := libListAllBooks(t, c, tc.sizes...)
			if d := libDiff(wantKeys, libNames(books)); d != "" {
				t.Fatalf("listed names are not every name once in key order (-want +got):\n%s", d)
			}
			if tc.wantPages != 0 && pages != tc.wantPages {
				t.Errorf("%d pages, want %d (full pages; no empty page at the end)", pages, tc.wantPages)
			}
			for _, b := range books {
				if !proto.Equal(stored[b.GetName()], b) {
					t.Fatalf("listed %q differs from what was stored:\n%s", b.GetName(), libDiff(stored[b.GetName()], b))
				}
			}
		})
	}

	// With one more book than the maximum page, the clamp shows: 5000 gives
	// MaxPageSize books and a token to the rest.
	ctx := libCtx(t)
	if _, err := c.CreateBook(ctx, &echopb.CreateBookRequest{Book: libBook(n)}); err != nil {
		t.Fatal(err)
	}
	resp, err := c.ListBooks(ctx, &echopb.ListBooksRequest{PageSize: 5000})
	if err != nil || len(resp.GetBooks()) != svcstore.MaxPageSize || resp.GetNextPageToken() == "" {
		t.Fatalf("ListBooks(5000) over %d books = %d books, token %q, err %v; want %d and a token",
			n+1, len(resp.GetBooks()), resp.GetNextPageToken(), err, svcstore.MaxPageSize)
	}
	rest, err := c.ListBooks(ctx, &echopb.ListBooksRequest{PageSize: 5000, PageToken: resp.GetNextPageToken()})
	if err != nil || len(rest.GetBooks()) != 1 || rest.GetBooks()[0].GetName() != libBookKey(n) || rest.GetNextPageToken() != "" {
		t.Errorf("libErr ListBooks(5000) = %v, token %q, err %v; want only %q", libNames(rest.GetBooks()), rest.GetNextPageToken(), err, libBookKey(n))
	}
}

// TestListShelvesStream: the server-streaming ListShelves, which pages
// through the repository on the server, streams every shelf exactly once
// in key order whatever the page size, through both the stream and the
// generated iterator; bad requests fail the stream with InvalidArgument,
// and breaking out of the iterator early ends the call cleanly (goleak in
// TestMain would catch a leaked stream).
func TestListShelvesStream(t *testing.T) {
	const n = 1000
	ctx := libCtx(t)
	repo := echopb.NewInMemoryShelfRepository()
	stored := map[string]*echopb.Shelf{}
	for _, i := range mrand.New(mrand.NewPCG(1, 2)).Perm(n) {
		in := &echopb.Shelf{Id: fmt.Sprintf("shelf-%04d", i), Theme: fmt.Sprint("theme ", i)}
		if i%2 == 0 {
			in.Capacity = proto.Int32(int32(i))
		}
		s, err := repo.Create(ctx, in)
		if err != nil {
			t.Fatal(err)
		}
		stored[s.GetId()] = s
	}
	wantIDs := make([]string, 0, n)
	for id := range stored {
		wantIDs = append(wantIDs, id)
	}
	slices.Sort(wantIDs)
	c := echopb.StartShelvesForTest(t, echopb.NewShelvesSkeleton(echopb.ShelvesRepositories{Shelf: repo}))

	check := func(t *testing.T, got []*echopb.Shelf) {
		t.Helper()
		ids := make([]string, len(got))
		for i, s := range got {
			ids[i] = s.GetId()
			if !proto.Equal(stored[s.GetId()], s) {
				t.Fatalf("streamed %q differs from what was stored:\n%s", s.GetId(), libDiff(stored[s.GetId()], s))
			}
		}
		if d := libDiff(wantIDs, ids); d != "" {
			t.Fatalf("streamed ids are not every id once in key order (-want +got):\n%s", d)
		}
	}
	for _, size := range []int32{0, 1, 7, 1000, 5000} {
		req := &echopb.ListShelvesRequest{PageSize: size}
		t.Run(fmt.Sprint("stream/page_size=", size), func(t *testing.T) {
			stream, err := c.ListShelves(ctx, req)
			if err != nil {
				t.Fatalf("ListShelves: %v", err)
			}
			var got []*echopb.Shelf
			for {
				s, err := stream.Recv()
				if err == io.EOF {
					break
				}
				if err != nil {
					t.Fatalf("ListShelves Recv after %d shelves: %v", len(got), err)
				}
				got = append(got, s)
			}
			check(t, got)
		})
		t.Run(fmt.Sprint("seq/page_size=", size), func(t *testing.T) {
			var got []*echopb.Shelf
			for s, err := range c.ListShelvesSeq(ctx, req) {
				if err != nil {
					t.Fatalf("ListShelvesSeq after %d shelves: %v", len(got), err)
				}
				got = append(got, s)
			}
			check(t, got)
		})
	}

	t.Run("bad requests", func(t *testing.T) {
		for _, req := range []*echopb.ListShelvesRequest{{PageSize: -1}, {PageToken: "garbage"}} {
			var errs []error
			for s, err := range c.ListShelvesSeq(ctx, req) {
				if s != nil {
					t.Errorf("ListShelvesSeq(%v) yielded %v before failing", req, s)
				}
				errs = append(errs, err)
			}
			if len(errs) != 1 {
				t.Fatalf("ListShelvesSeq(%v) yielded %d errors, want 1", req, len(errs))
			}
			libWantCode(t, errs[0], codes.InvalidArgument, "", fmt.Sprintf("ListShelvesSeq(%v)", req))
		}
	})

	t.Run("break early", func(t *testing.T) {
		var got []string
		for s, err := range c.ListShelvesSeq(ctx, &echopb.ListShelvesRequest{PageSize: 3}) {
			if err != nil {
				t.Fatal(err)
			}
			if got = append(got, s.GetId()); len(got) == 10 {
				break
			}
		}
		if d := libDiff(wantIDs[:10], got); d != "" {
			t.Errorf("first 10 shelves (-want +got):\n%s", d)
		}
		// The connection is still fine for the next call.
		if _, err := c.GetShelf(ctx, &echopb.GetShelfRequest{Id: wantIDs[0]}); err != nil {
			t.Errorf("GetShelf after an abandoned stream: %v", err)
		}
	})
}

// TestListBooksInvalidPageToken: page tokens are authenticated. Any
// changed character, a random string, a token re-encoded with another key,
// or a token from another server instance is InvalidArgument; the genuine
// token keeps working.
func TestListBooksInvalidPageToken(t *testing.T) {
	ctx := libCtx(t)
	newServer := func() *echopb.LibraryWrapper {
		repo := echopb.NewInMemoryBookRepository()
		libSeedBooks(t, repo, libRange(30))
		return echopb.StartLibraryForTest(t, echopb.NewLibrarySkeleton(echopb.LibraryRepositories{Book: repo}))
	}
	c, other := newServer(), newServer()
	first, err := c.ListBooks(ctx, &echopb.ListBooksRequest{PageSize: 5})
	token := first.GetNextPageToken()
	if err != nil || token == "" {
		t.Fatalf("ListBooks(5): token %q, err %v", token, err)
	}
	otherFirst, err := other.ListBooks(ctx, &echopb.ListBooksRequest{PageSize: 5})
	if err != nil || otherFirst.GetNextPageToken() == "" || otherFirst.GetNextPageToken() == token {
		t.Fatalf("other server's ListBooks(5): token %q, err %v; want a token of its own", otherFirst.GetNextPageToken(), err)
	}

	bad := map[string]string{
		"not base64":          "not a token!",
		"truncated":           token[:len(token)-1],
		"half":                token[:len(token)/2],
		"extended":            token + "A",
		"doubled":             token + token,
		"padded":              token + "==",
		"all A":               strings.Repeat("A", len(token)),
		"other server's":      otherFirst.GetNextPageToken(),
		"other server's, cut": otherFirst.GetNextPageToken()[:len(token)-2],
	}
	// Every single-character change is caught: the whole token is
	// authenticated, not merely checksummed.
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
	for i := range len(token) {
		ch := alphabet[(strings.IndexByte(alphabet, token[i])+1)%len(alphabet)]
		bad[fmt.Sprint("flipped at ", i)] = token[:i] + string(ch) + token[i+1:]
	}
	// Random base64 strings of many lengths, in both alphabets.
	for i := range 24 {
		b := make([]byte, 1+3*i)
		if _, err := rand.Read(b); err != nil {
			t.Fatal(err)
		}
		bad[fmt.Sprint("random url ", i)] = base64.RawURLEncoding.EncodeToString(b)
		bad[fmt.Sprint("random std ", i)] = base64.StdEncoding.EncodeToString(b)
	}
	// A client that has worked out the layout and swaps the cursor key for
	// another one of the same length still fails the MAC.
	if raw, err := base64.RawURLEncoding.DecodeString(token); err == nil && bytes.Contains(raw, []byte(libBookKey(4))) {
		forged := bytes.Replace(raw, []byte(libBookKey(4)), []byte(libBookKey(19)), 1)
		bad["re-encoded with another key"] = base64.RawURLEncoding.EncodeToString(forged)
	} else {
		t.Logf("token layout not as expected (raw %q, err %v); skipping the re-encoding case", raw, err)
	}

	for name, tok := range bad {
		_, err := c.ListBooks(ctx, &echopb.ListBooksRequest{PageSize: 5, PageToken: tok})
		libWantCode(t, err, codes.InvalidArgument, "page_token", fmt.Sprintf("ListBooks with %s token %q", name, tok))
	}

	// The genuine token still works after all that, with any page size.
	for _, size := range []int32{5, 1, 0} {
		resp, err := c.ListBooks(ctx, &echopb.ListBooksRequest{PageSize: size, PageToken: token})
		if err != nil || len(resp.GetBooks()) == 0 || resp.GetBooks()[0].GetName() != libBookKey(5) {
			t.Errorf("ListBooks(%d) with the genuine token = %v, %v; want to start at %q", size, libNames(resp.GetBooks()), err, libBookKey(5))
		}
	}
}

// TestBookConcurrentWritersAndReaders: 8 writers create, update and delete
// books of their own (with etags) while 8 readers get and list, all over
// one gRPC connection and under -race. Readers never see a torn or
// foreign-looking book, listings are strictly ordered, and in the end the
// store holds exactly what the writers left.
func TestBookConcurrentWritersAndReaders(t *testing.T) {
	const (
		writers = 8
		readers = 8
		rounds  = 30
		seeded  = 50
	)
	ctx := libCtx(t)
	c := echopb.StartLibraryForTest(t, echopb.NewInMemoryLibrarySkeleton())
	seed := make([]*echopb.Book, seeded)
	for i := range seed {
		seed[i] = libBook(i)
	}
	resp, err := libImport(ctx, c, seed)
	if err != nil || len(resp.GetBooks()) != seeded {
		t.Fatalf("ImportBooks(%d seed books) = %d books, %v", seeded, len(resp.GetBooks()), err)
	}
	seededByName := map[string]*echopb.Book{}
	for _, b := range resp.GetBooks() {
		seededByName[b.GetName()] = b
	}
	writerKey := func(w, r int) string { return fmt.Sprintf("books/w%d-%03d", w, r) }

	var wg sync.WaitGroup
	final := make([]map[string]*echopb.Book, writers)
	for w := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			mine := map[string]*echopb.Book{}
			defer func() { final[w] = mine }()
			for r := range rounds {
				k := writerKey(w, r)
				// Author == name: a reader can tell a book is whole.
				v1, err := c.CreateBook(ctx, &echopb.CreateBookRequest{Book: &echopb.Book{Title: "v1", Author: k}, BookId: k})
				if err != nil {
					t.Errorf("writer %d: CreateBook(%q): %v", w, k, err)
					return
				}
				v2, err := c.UpdateBook(ctx, &echopb.UpdateBookRequest{
					Book: &echopb.Book{Name: k, Title: "v2", Etag: v1.GetEtag()}, UpdateMask: libMask("title"),
				})
				if err != nil || v2.GetTitle() != "v2" || v2.GetAuthor() != k {
					t.Errorf("writer %d: UpdateBook(%q) = %v, %v", w, k, v2, err)
					return
				}
				switch r % 3 {
				case 0:
					if _, err := c.DeleteBook(ctx, &echopb.DeleteBookRequest{Name: k, Etag: v2.GetEtag()}); err != nil {
						t.Errorf("writer %d: DeleteBook(%q): %v", w, k, err)
						return
					}
				case 1:
					// Nobody else writes k, so v1's etag is stale for sure.
					_, err := c.UpdateBook(ctx, &echopb.UpdateBookRequest{
						Book: &echopb.Book{Name: k, Title: "lost", Etag: v1.GetEtag()}, UpdateMask: libMask("title"),
					})
					if status.Code(err) != codes.Aborted {
						t.Errorf("writer %d: UpdateBook(%q) with a stale etag = %v, want Aborted", w, k, err)
						return
					}
					mine[k] = v2
				default:
					mine[k] = v2
				}
			}
		}()
	}
	for rd := range readers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rnd := mrand.New(mrand.NewPCG(uint64(rd), 99))
			for r := range rounds {
				k := writerKey(rnd.IntN(writers), rnd.IntN(rounds))
				b, err := c.GetBook(ctx, &echopb.GetBookRequest{Name: k})
				switch {
				case status.Code(err) == codes.NotFound:
				case err != nil:
					t.Errorf("reader %d: GetBook(%q): %v", rd, k, err)
					return
				case b.GetAuthor() != k || (b.GetTitle() != "v1" && b.GetTitle() != "v2"):
					t.Errorf("reader %d: GetBook(%q) = %v: not a version any writer stored", rd, k, b)
				}
				sk := libBookKey(r % seeded)
				if b, err := c.GetBook(ctx, &echopb.GetBookRequest{Name: sk}); err != nil || !proto.Equal(b, seededByName[sk]) {
					t.Errorf("reader %d: GetBook(%q) of a seeded book = %v, %v", rd, sk, b, err)
					return
				}
				if r%5 == 0 {
					if err := libCheckListing(ctx, c, seededByName); err != nil {
						t.Errorf("reader %d: %v", rd, err)
						return
					}
				}
			}
		}()
	}
	wg.Wait()
	if t.Failed() {
		return
	}

	want := map[string]*echopb.Book{}
	for k, b := range seededByName {
		want[k] = b
	}
	for _, mine := range final {
		for k, b := range mine {
			want[k] = b
		}
	}
	books, _ := libListAllBooks(t, c, 100)
	if len(books) != len(want) {
		t.Errorf("after concurrent writes %d books, want %d", len(books), len(want))
	}
	for _, b := range books {
		if !proto.Equal(want[b.GetName()], b) {
			t.Errorf("after concurrent writes %q = %v, want %v", b.GetName(), b, want[b.GetName()])
		}
	}
}

// TestBookEtagCounterUnderContention: 8 clients increment one book's page
// count by read-modify-write with its etag, retrying on Aborted, while
// readers watch. No increment is lost (the etag check and the write are
// one atomic step) and no reader ever sees a half-applied update.
func TestBookEtagCounterUnderContention(t *testing.T) {
	ctx := libCtx(t)
	c := echopb.StartLibraryForTest(t, echopb.NewInMemoryLibrarySkeleton())
	libRunCounter(t, libCounterStore{
		create: func(b *echopb.Book) (*echopb.Book, error) {
			return c.CreateBook(ctx, &echopb.CreateBookRequest{Book: b})
		},
		get: func(name string) (*echopb.Book, error) {
			return c.GetBook(ctx, &echopb.GetBookRequest{Name: name})
		},
		update: func(b *echopb.Book, m *fieldmaskpb.FieldMask) (*echopb.Book, error) {
			return c.UpdateBook(ctx, &echopb.UpdateBookRequest{Book: b, UpdateMask: m})
		},
		list: func() ([]*echopb.Book, error) {
			resp, err := c.ListBooks(ctx, &echopb.ListBooksRequest{})
			return resp.GetBooks(), err
		},
	}, 8, 10)
}

// TestBookRepositoryCounterUnderContention is the same directly on the
// generated in-memory repository, with more contention than gRPC allows:
// under -race it also shows that an Update never writes to a stored
// message that a concurrent Get or List may still be copying.
func TestBookRepositoryCounterUnderContention(t *testing.T) {
	ctx := libCtx(t)
	repo := echopb.NewInMemoryBookRepository()
	libRunCounter(t, libCounterStore{
		create: func(b *echopb.Book) (*echopb.Book, error) { return repo.Create(ctx, b) },
		get:    func(name string) (*echopb.Book, error) { return repo.Get(ctx, name) },
		update: func(b *echopb.Book, m *fieldmaskpb.FieldMask) (*echopb.Book, error) {
			return repo.Update(ctx, b, m)
		},
		list: func() ([]*echopb.Book, error) {
			items, _, err := repo.List(ctx, 0, "")
			return items, err
		},
	}, 8, 50)
}

// libCounterStore is the part of the Book API libRunCounter drives.
type libCounterStore struct {
	create func(*echopb.Book) (*echopb.Book, error)
	get    func(name string) (*echopb.Book, error)
	update func(*echopb.Book, *fieldmaskpb.FieldMask) (*echopb.Book, error)
	list   func() ([]*echopb.Book, error)
}

// libRunCounter has workers goroutines each add increments to the page
// count of one book by etag-guarded read-modify-write, alternating masked
// and full updates, while 4 readers check that every version they see is
// whole (title == page count, author untouched).
func libRunCounter(t *testing.T, s libCounterStore, workers, increments int) {
	t.Helper()
	const name = "books/counter"
	if _, err := s.create(&echopb.Book{Name: name, Title: "0", Author: "counter"}); err != nil {
		t.Fatal(err)
	}
	whole := func(b *echopb.Book) bool {
		return b.GetTitle() == fmt.Sprint(b.GetPages()) && b.GetAuthor() == "counter"
	}
	var conflicts atomic.Int64
	var writers, readers sync.WaitGroup
	stop := make(chan struct{})
	for w := range workers {
		writers.Add(1)
		go func() {
			defer writers.Done()
			for done := 0; done < increments; {
				b, err := s.get(name)
				if err != nil {
					t.Errorf("worker %d: Get: %v", w, err)
					return
				}
				b.Pages++
				b.Title = fmt.Sprint(b.Pages)
				m := libMask("pages", "title")
				if done%2 == 1 {
					m = libMask("*") // full replacement, still guarded by the etag
				}
				switch _, err := s.update(b, m); status.Code(err) {
				case codes.OK:
					done++
				case codes.Aborted:
					conflicts.Add(1)
				default:
					t.Errorf("worker %d: Update: %v", w, err)
					return
				}
			}
		}()
	}
	for rd := range 4 {
		readers.Add(1)
		go func() {
			defer readers.Done()
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				var seen []*echopb.Book
				if i%2 == 0 {
					b, err := s.get(name)
					if err != nil {
						t.Errorf("reader %d: Get: %v", rd, err)
						return
					}
					seen = append(seen, b)
				} else {
					items, err := s.list()
					if err != nil {
						t.Errorf("reader %d: List: %v", rd, err)
						return
					}
					seen = items
				}
				for _, b := range seen {
					if !whole(b) {
						t.Errorf("reader %d saw a torn version: %v", rd, b)
						return
					}
				}
			}
		}()
	}
	writers.Wait()
	close(stop)
	readers.Wait()
	if t.Failed() {
		return
	}
	got, err := s.get(name)
	if err != nil {
		t.Fatal(err)
	}
	if want := int32(workers * increments); got.GetPages() != want || !whole(got) {
		t.Errorf("after %d×%d increments the book is %v, want pages %d: an update was lost", workers, increments, got, want)
	}
	t.Logf("%d increments, %d etag conflicts retried", workers*increments, conflicts.Load())
}

// libCheckListing lists every book in pages of 25 and checks that
// the listing is strictly ascending, contains every seeded book unchanged
// and only whole writer books.
func libCheckListing(ctx context.Context, c *echopb.LibraryWrapper, seeded map[string]*echopb.Book) error {
	var names []string
	token := ""
	for {
		resp, err := c.ListBooks(ctx, &echopb.ListBooksRequest{PageSize: 25, PageToken: token})
		if err != nil {
			return fmt.Errorf("ListBooks after %d books: %w", len(names), err)
		}
		for _, b := range resp.GetBooks() {
			names = append(names, b.GetName())
			if s, ok := seeded[b.GetName()]; ok {
				if !proto.Equal(s, b) {
					return fmt.Errorf("listed seeded book %v, want %v", b, s)
				}
			} else if b.GetAuthor() != b.GetName() {
				return fmt.Errorf("listed writer book %v is not whole", b)
			}
		}
		if token = resp.GetNextPageToken(); token == "" {
			break
		}
	}
	if i := libStrictlyAscending(names); i >= 0 {
		return fmt.Errorf("listing returned %q after %q: duplicate or out of order", names[i], names[i-1])
	}
	for k := range seeded {
		if _, ok := slices.BinarySearch(names, k); !ok {
			return fmt.Errorf("listing skipped seeded book %q", k)
		}
	}
	return nil
}

// TestBookNoAliasingOverGRPC: mutating the message given to CreateBook or
// UpdateBook after the call, or one returned by GetBook or ListBooks, never
// changes what a fresh GetBook shows. Over gRPC this already follows from
// serialization; TestBookRepositoryNoAliasing checks the repository itself.
func TestBookNoAliasingOverGRPC(t *testing.T) {
	ctx := libCtx(t)
	c := echopb.StartLibraryForTest(t, echopb.NewInMemoryLibrarySkeleton())
	get := func() *echopb.Book {
		t.Helper()
		b, err := c.GetBook(ctx, &echopb.GetBookRequest{Name: "books/a"})
		if err != nil {
			t.Fatalf("GetBook: %v", err)
		}
		return b
	}
	in := &echopb.Book{Title: "original", Author: "A", Pages: 10}
	created, err := c.CreateBook(ctx, &echopb.CreateBookRequest{Book: in, BookId: "books/a"})
	if err != nil {
		t.Fatal(err)
	}
	want := proto.Clone(created).(*echopb.Book)
	in.Title, in.Pages = "mutated input", 99
	libScramble(created)
	if d := libDiff(want, get()); d != "" {
		t.Errorf("after mutating CreateBook's input and result (-want +got):\n%s", d)
	}
	libScramble(get())
	if d := libDiff(want, get()); d != "" {
		t.Errorf("after mutating GetBook's result (-want +got):\n%s", d)
	}
	list, err := c.ListBooks(ctx, &echopb.ListBooksRequest{})
	if err != nil || len(list.GetBooks()) != 1 {
		t.Fatalf("ListBooks = %v, %v", list, err)
	}
	libScramble(list.GetBooks()[0])
	if d := libDiff(want, get()); d != "" {
		t.Errorf("after mutating ListBooks' result (-want +got):\n%s", d)
	}
	updIn := &echopb.Book{Name: "books/a", Title: "updated"}
	upd, err := c.UpdateBook(ctx, &echopb.UpdateBookRequest{Book: updIn, UpdateMask: libMask("title")})
	if err != nil {
		t.Fatal(err)
	}
	want = proto.Clone(upd).(*echopb.Book)
	libScramble(updIn)
	libScramble(upd)
	if d := libDiff(want, get()); d != "" {
		t.Errorf("after mutating UpdateBook's input and result (-want +got):\n%s", d)
	}
}

// libScramble changes every field of b in place, the nested timestamps
// included, so that memory shared with a stored book at any depth shows.
func libScramble(b *echopb.Book) {
	b.Name += "~"
	b.Title += "~"
	b.Author += "~"
	b.Pages++
	b.Etag += "~"
	for _, ts := range []*timestamppb.Timestamp{b.GetCreateTime(), b.GetUpdateTime()} {
		if ts != nil {
			ts.Seconds++
			ts.Nanos++
		}
	}
}

// TestBookRepositoryNoAliasing: the generated in-memory repository copies
// on the way in and on the way out, at every depth (the nested timestamps),
// and never writes into the caller's message.
func TestBookRepositoryNoAliasing(t *testing.T) {
	ctx := libCtx(t)
	clk := &libClock{}
	repo := echopb.NewInMemoryBookRepository(svcstore.WithClock(clk.now))
	get := func() *echopb.Book {
		t.Helper()
		b, err := repo.Get(ctx, "books/a")
		if err != nil {
			t.Fatalf("Get: %v", err)
		}
		return b
	}

	in := &echopb.Book{Name: "books/a", Title: "original", Author: "A", Pages: 10}
	created, err := repo.Create(ctx, in)
	if err != nil {
		t.Fatal(err)
	}
	if in.GetEtag() != "" || in.GetCreateTime() != nil {
		t.Errorf("Create wrote into the caller's message: %v", in)
	}
	anon := &echopb.Book{Title: "anonymous"}
	if got, err := repo.Create(ctx, anon); err != nil || anon.GetName() != "" || got.GetName() == "" {
		t.Errorf("Create with a server-assigned name = %v, %v; caller's message now %v, want its name untouched", got, err, anon)
	}
	want := proto.Clone(created).(*echopb.Book)
	libScramble(in)
	if d := libDiff(want, get()); d != "" {
		t.Errorf("after mutating Create's input (-want +got):\n%s", d)
	}
	libScramble(created)
	if d := libDiff(want, get()); d != "" {
		t.Errorf("after mutating Create's result (-want +got):\n%s", d)
	}
	libScramble(get())
	if d := libDiff(want, get()); d != "" {
		t.Errorf("after mutating Get's result (-want +got):\n%s", d)
	}
	page, _, err := repo.List(ctx, 10, "")
	if err != nil || len(page) != 2 {
		t.Fatalf("List = %d books, %v", len(page), err)
	}
	for _, b := range page {
		libScramble(b)
	}
	if d := libDiff(want, get()); d != "" {
		t.Errorf("after mutating List's result (-want +got):\n%s", d)
	}

	for _, m := range []*fieldmaskpb.FieldMask{libMask("title"), nil} {
		updIn := &echopb.Book{Name: "books/a", Title: fmt.Sprint("updated, mask ", m.GetPaths()), Pages: 7}
		upd, err := repo.Update(ctx, updIn, m)
		if err != nil {
			t.Fatalf("Update(mask %v): %v", m.GetPaths(), err)
		}
		if updIn.GetEtag() != "" || updIn.GetUpdateTime() != nil {
			t.Errorf("Update(mask %v) wrote into the caller's message: %v", m.GetPaths(), updIn)
		}
		want = proto.Clone(upd).(*echopb.Book)
		libScramble(updIn)
		libScramble(upd)
		if d := libDiff(want, get()); d != "" {
			t.Errorf("after mutating Update(mask %v)'s input and result (-want +got):\n%s", m.GetPaths(), d)
		}
	}

	deleted, err := repo.Delete(ctx, "books/a", "")
	if err != nil || libDiff(want, deleted) != "" {
		t.Fatalf("Delete = %v, %v; want %v", deleted, err, want)
	}
}

// TestListBooksWhileInserting: a listing in small pages while another
// goroutine inserts (and removes) books whose names fall between the
// pre-existing ones returns every pre-existing book exactly once and no
// book twice. A book inserted behind the cursor is not seen, one inserted
// ahead of it is.
func TestListBooksWhileInserting(t *testing.T) {
	const n = 300 // pre-existing books have even numbers 0, 2, ..., 598
	ctx := libCtx(t)
	repo := echopb.NewInMemoryBookRepository()
	present := make([]int, n)
	for i := range present {
		present[i] = 2 * i
	}
	libSeedBooks(t, repo, present)
	c := echopb.StartLibraryForTest(t, echopb.NewLibrarySkeleton(echopb.LibraryRepositories{Book: repo}))

	// The first batch runs between the first and libErr pages, to pin down
	// behind/ahead; later batches run concurrently with the listing.
	const behind, ahead = 1, 401
	odd := []int{}
	for _, j := range mrand.New(mrand.NewPCG(3, 4)).Perm(n) {
		if k := 2*j + 1; k != behind && k != ahead {
			odd = append(odd, k)
		}
	}
	firstPage := make(chan struct{})
	firstDone := make(chan struct{})
	stop := make(chan struct{})
	var wg sync.WaitGroup
	var inserted sync.Map // names created by the inserter
	var insertsDone atomic.Int64
	insert := func(i int, thenDelete bool) bool {
		k := libBookKey(i)
		if _, err := c.CreateBook(ctx, &echopb.CreateBookRequest{Book: libBook(i)}); err != nil {
			t.Errorf("concurrent CreateBook(%q): %v", k, err)
			return false
		}
		inserted.Store(k, true)
		insertsDone.Add(1)
		if thenDelete {
			if _, err := c.DeleteBook(ctx, &echopb.DeleteBookRequest{Name: k}); err != nil {
				t.Errorf("concurrent DeleteBook(%q): %v", k, err)
				return false
			}
		}
		return true
	}
	wg.Add(1)
	go func() {
		defer wg.Done()
		select {
		case <-stop:
			return
		case <-firstPage:
		}
		ok := insert(behind, false) && insert(ahead, false)
		close(firstDone)
		for _, i := range odd {
			select {
			case <-stop:
				return
			default:
			}
			if !ok || !insert(i, i%5 == 0) {
				return
			}
		}
	}()
	var stopOnce sync.Once
	halt := func() {
		stopOnce.Do(func() { close(stop) })
		wg.Wait()
	}
	defer halt()

	var names []string
	token := ""
	for page := 0; ; page++ {
		resp, err := c.ListBooks(ctx, &echopb.ListBooksRequest{PageSize: 7, PageToken: token})
		if err != nil {
			t.Fatalf("ListBooks page %d: %v", page, err)
		}
		names = append(names, libNames(resp.GetBooks())...)
		if token = resp.GetNextPageToken(); token == "" {
			break
		}
		if page == 0 {
			close(firstPage)
			<-firstDone
		}
	}
	during := insertsDone.Load()
	halt()
	if t.Failed() {
		return
	}

	if i := libStrictlyAscending(names); i >= 0 {
		t.Fatalf("listing returned %q after %q: a duplicate or out of order", names[i], names[i-1])
	}
	for _, i := range present {
		if _, ok := slices.BinarySearch(names, libBookKey(i)); !ok {
			t.Errorf("listing skipped %q, present throughout", libBookKey(i))
		}
	}
	extra := 0
	for _, k := range names {
		if _, ok := inserted.Load(k); ok {
			extra++
		} else if _, ok := slices.BinarySearch(present, libParseBookKey(t, k)); !ok {
			t.Errorf("listing returned %q, which nobody created", k)
		}
	}
	if slices.Contains(names, libBookKey(behind)) {
		t.Errorf("listing returned %q, inserted behind the cursor", libBookKey(behind))
	}
	if !slices.Contains(names, libBookKey(ahead)) {
		t.Errorf("listing skipped %q, inserted ahead of the cursor and never deleted", libBookKey(ahead))
	}
	t.Logf("listed %d books: %d pre-existing, %d of the %d inserted during the listing", len(names), n, extra, during)
}

func libParseBookKey(t *testing.T, k string) int {
	t.Helper()
	var i int
	if _, err := fmt.Sscanf(k, "books/%05d", &i); err != nil {
		t.Fatalf("unexpected book name %q", k)
	}
	return i
}

// TestImportBooks: the client-streaming ImportBooks creates every streamed
// book (server-assigned names included) and answers them as created. A
// failure mid-stream ends the call with that status.
//
// Import is NOT atomic: the skeleton creates each book as it arrives and
// stops at the first failure, so the books before it stay created and the
// ones after it are never read. Clients that need all-or-nothing must
// override ImportBooks.
func TestImportBooks(t *testing.T) {
	ctx := libCtx(t)
	c := echopb.StartLibraryForTest(t, echopb.NewInMemoryLibrarySkeleton())
	var books []*echopb.Book
	for i := range 10 {
		b := libBook(i)
		if i >= 8 {
			b.Name = "" // server-assigned
		}
		books = append(books, b)
	}
	resp, err := libImport(ctx, c, books)
	if err != nil {
		t.Fatalf("ImportBooks: %v", err)
	}
	if len(resp.GetBooks()) != len(books) {
		t.Fatalf("ImportBooks created %d books, want %d", len(resp.GetBooks()), len(books))
	}
	for i, got := range resp.GetBooks() {
		want := proto.Clone(books[i]).(*echopb.Book)
		if want.Name == "" {
			if !libUUIDv7.MatchString(got.GetName()) {
				t.Errorf("imported book %d: server-assigned name %q, want a UUIDv7", i, got.GetName())
			}
			want.Name = got.GetName()
		}
		if d := libDiff(want, libWithoutManaged(got)); d != "" {
			t.Errorf("imported book %d (-sent +created):\n%s", i, d)
		}
		if got.GetEtag() == "" || got.GetCreateTime() == nil {
			t.Errorf("imported book %d has no etag or create_time: %v", i, got)
		}
		stored, err := c.GetBook(ctx, &echopb.GetBookRequest{Name: got.GetName()})
		if err != nil || libDiff(got, stored) != "" {
			t.Errorf("GetBook(%q) = %v, %v; want %v", got.GetName(), stored, err, got)
		}
	}

	// A name already in use mid-stream: AlreadyExists, and the import is
	// atomic: none of its books is created, so a retry cannot duplicate.
	_, err = libImport(ctx, c, []*echopb.Book{libBook(10), libBook(11), libBook(3), libBook(12)})
	libWantCode(t, err, codes.AlreadyExists, libBookKey(3), "ImportBooks with a duplicate mid-stream")
	for _, i := range []int{10, 11, 12} {
		_, err = c.GetBook(ctx, &echopb.GetBookRequest{Name: libBookKey(i)})
		libWantCode(t, err, codes.NotFound, "", "GetBook of a book of the failed import")
	}

	// A duplicate within one stream: nothing created either.
	_, err = libImport(ctx, c, []*echopb.Book{libBook(20), libBook(20)})
	libWantCode(t, err, codes.AlreadyExists, libBookKey(20), "ImportBooks of the same book twice")
	_, err = c.GetBook(ctx, &echopb.GetBookRequest{Name: libBookKey(20)})
	libWantCode(t, err, codes.NotFound, "", "GetBook of the book imported twice in one stream")
	// And an empty stream.
	if resp, err := libImport(ctx, c, nil); err != nil || len(resp.GetBooks()) != 0 {
		t.Errorf("ImportBooks of nothing = %v, %v; want an empty response", resp, err)
	}
}

// TestShelvesStandardMethods: the Shelves service's non-canonical shapes:
// a wrapped Get response, Create from flat fields with a server-assigned
// id, Update from optional fields (presence decides what changes), and a
// Delete that returns the deleted shelf.
func TestShelvesStandardMethods(t *testing.T) {
	ctx := libCtx(t)
	c := echopb.StartShelvesForTest(t, echopb.NewInMemoryShelvesSkeleton())
	get := func(id string) *echopb.Shelf {
		t.Helper()
		resp, err := c.GetShelf(ctx, &echopb.GetShelfRequest{Id: id})
		if err != nil {
			t.Fatalf("GetShelf(%q): %v", id, err)
		}
		return resp.GetShelf()
	}

	s1, err := c.CreateShelf(ctx, &echopb.CreateShelfRequest{Theme: "sci-fi", Capacity: proto.Int32(40)})
	if err != nil {
		t.Fatalf("CreateShelf: %v", err)
	}
	if !libUUIDv7.MatchString(s1.GetId()) || s1.GetTheme() != "sci-fi" || s1.Capacity == nil || s1.GetCapacity() != 40 {
		t.Errorf("CreateShelf = %v; want a server-assigned id, theme sci-fi, capacity 40", s1)
	}
	s2, err := c.CreateShelf(ctx, &echopb.CreateShelfRequest{Theme: "poetry"})
	if err != nil {
		t.Fatalf("CreateShelf without capacity: %v", err)
	}
	if s2.GetId() == "" || s2.GetId() == s1.GetId() || s2.Capacity != nil {
		t.Errorf("CreateShelf without capacity = %v; want a new id and no capacity", s2)
	}
	if d := libDiff(s1, get(s1.GetId())); d != "" {
		t.Errorf("GetShelf (-created +got):\n%s", d)
	}

	update := func(req *echopb.UpdateShelfRequest, want *echopb.Shelf) {
		t.Helper()
		got, err := c.UpdateShelf(ctx, req)
		if err != nil {
			t.Fatalf("UpdateShelf(%v): %v", req, err)
		}
		if d := libDiff(want, got); d != "" {
			t.Errorf("UpdateShelf(%v) (-want +got):\n%s", req, d)
		}
		if d := libDiff(want, get(req.GetId())); d != "" {
			t.Errorf("GetShelf after UpdateShelf(%v) (-want +got):\n%s", req, d)
		}
	}
	id := s1.GetId()
	update(&echopb.UpdateShelfRequest{Id: id, Capacity: proto.Int32(55)},
		&echopb.Shelf{Id: id, Theme: "sci-fi", Capacity: proto.Int32(55)})
	update(&echopb.UpdateShelfRequest{Id: id, Theme: proto.String("fantasy")},
		&echopb.Shelf{Id: id, Theme: "fantasy", Capacity: proto.Int32(55)})
	// Presence, not value, decides: an explicit 0 / "" is set.
	update(&echopb.UpdateShelfRequest{Id: id, Capacity: proto.Int32(0)},
		&echopb.Shelf{Id: id, Theme: "fantasy", Capacity: proto.Int32(0)})
	update(&echopb.UpdateShelfRequest{Id: s2.GetId(), Theme: proto.String("")},
		&echopb.Shelf{Id: s2.GetId()})
	// Nothing set: the shelf comes back unchanged (not a full replacement).
	update(&echopb.UpdateShelfRequest{Id: id},
		&echopb.Shelf{Id: id, Theme: "fantasy", Capacity: proto.Int32(0)})

	for _, req := range []*echopb.UpdateShelfRequest{{Id: "missing"}, {Id: "missing", Theme: proto.String("x")}} {
		_, err := c.UpdateShelf(ctx, req)
		libWantCode(t, err, codes.NotFound, "missing", fmt.Sprintf("UpdateShelf(%v)", req))
	}
	_, err = c.UpdateShelf(ctx, &echopb.UpdateShelfRequest{Capacity: proto.Int32(1)})
	libWantCode(t, err, codes.InvalidArgument, "", "UpdateShelf without an id")

	last := get(id)
	deleted, err := c.DeleteShelf(ctx, &echopb.DeleteShelfRequest{Id: id})
	if err != nil {
		t.Fatalf("DeleteShelf: %v", err)
	}
	if d := libDiff(last, deleted); d != "" {
		t.Errorf("DeleteShelf did not return the deleted shelf (-want +got):\n%s", d)
	}
	_, err = c.GetShelf(ctx, &echopb.GetShelfRequest{Id: id})
	libWantCode(t, err, codes.NotFound, id, "GetShelf after DeleteShelf")
	_, err = c.DeleteShelf(ctx, &echopb.DeleteShelfRequest{Id: id})
	libWantCode(t, err, codes.NotFound, id, "libErr DeleteShelf")
	_, err = c.GetShelf(ctx, &echopb.GetShelfRequest{})
	libWantCode(t, err, codes.InvalidArgument, "id", "GetShelf without an id")

	var left []*echopb.Shelf
	for s, err := range c.ListShelvesSeq(ctx, &echopb.ListShelvesRequest{}) {
		if err != nil {
			t.Fatalf("ListShelvesSeq: %v", err)
		}
		left = append(left, s)
	}
	if d := libDiff([]*echopb.Shelf{{Id: s2.GetId()}}, left); d != "" {
		t.Errorf("shelves left (-want +got):\n%s", d)
	}
}

// TestLibraryUnimplemented: a method that is not a standard method stays
// Unimplemented naming its full method, and a skeleton without repositories
// (the zero value) answers Unimplemented for the standard methods too, for
// every RPC kind.
func TestLibraryUnimplemented(t *testing.T) {
	ctx := libCtx(t)
	c := echopb.StartLibraryForTest(t, echopb.NewInMemoryLibrarySkeleton())
	_, err := c.Recommend(ctx, &echopb.GetBookRequest{Name: "books/1"})
	libWantCode(t, err, codes.Unimplemented, echopb.Library_Recommend_FullMethodName, "Recommend")

	for name, impl := range map[string]echopb.LibraryServer{
		"zero LibrarySkeleton":                echopb.LibrarySkeleton{},
		"NewLibrarySkeleton(no repositories)": echopb.NewLibrarySkeleton(echopb.LibraryRepositories{}),
	} {
		t.Run(name, func(t *testing.T) {
			z := echopb.StartLibraryForTest(t, impl)
			for method, err := range map[string]error{
				echopb.Library_GetBook_FullMethodName:     libErr(z.GetBook(ctx, &echopb.GetBookRequest{Name: "books/1"})),
				echopb.Library_ListBooks_FullMethodName:   libErr(z.ListBooks(ctx, &echopb.ListBooksRequest{})),
				echopb.Library_CreateBook_FullMethodName:  libErr(z.CreateBook(ctx, &echopb.CreateBookRequest{Book: &echopb.Book{}})),
				echopb.Library_UpdateBook_FullMethodName:  libErr(z.UpdateBook(ctx, &echopb.UpdateBookRequest{Book: &echopb.Book{Name: "books/1"}})),
				echopb.Library_DeleteBook_FullMethodName:  libErr(z.DeleteBook(ctx, &echopb.DeleteBookRequest{Name: "books/1"})),
				echopb.Library_ImportBooks_FullMethodName: libErr(libImport(ctx, z, []*echopb.Book{libBook(1)})),
				echopb.Library_Recommend_FullMethodName:   libErr(z.Recommend(ctx, &echopb.GetBookRequest{})),
			} {
				libWantCode(t, err, codes.Unimplemented, method, method)
			}
		})
	}

	z := echopb.StartShelvesForTest(t, echopb.ShelvesSkeleton{})
	var seqErr error
	for _, err := range z.ListShelvesSeq(ctx, &echopb.ListShelvesRequest{}) {
		seqErr = err
	}
	for method, err := range map[string]error{
		echopb.Shelves_GetShelf_FullMethodName:    libErr(z.GetShelf(ctx, &echopb.GetShelfRequest{Id: "1"})),
		echopb.Shelves_ListShelves_FullMethodName: seqErr,
		echopb.Shelves_CreateShelf_FullMethodName: libErr(z.CreateShelf(ctx, &echopb.CreateShelfRequest{})),
		echopb.Shelves_UpdateShelf_FullMethodName: libErr(z.UpdateShelf(ctx, &echopb.UpdateShelfRequest{Id: "1"})),
		echopb.Shelves_DeleteShelf_FullMethodName: libErr(z.DeleteShelf(ctx, &echopb.DeleteShelfRequest{Id: "1"})),
	} {
		libWantCode(t, err, codes.Unimplemented, method, method)
	}
}

// libRecommender is what users write: the in-memory skeleton embedded, one
// non-standard method added on top of the standard ones it serves.
type libRecommender struct{ echopb.LibrarySkeleton }

func (r libRecommender) Recommend(ctx context.Context, _ *echopb.GetBookRequest) (*echopb.Book, error) {
	resp, err := r.ListBooks(ctx, &echopb.ListBooksRequest{PageSize: 1})
	if err != nil {
		return nil, err
	}
	if len(resp.GetBooks()) == 0 {
		return nil, status.Error(codes.NotFound, "no books to recommend")
	}
	return resp.GetBooks()[0], nil
}

// TestEmbeddedSkeletonServesStandardMethods: embedding the in-memory
// skeleton and overriding a method keeps the standard methods served from
// the same repository.
func TestEmbeddedSkeletonServesStandardMethods(t *testing.T) {
	ctx := libCtx(t)
	c := echopb.StartLibraryForTest(t, libRecommender{echopb.NewInMemoryLibrarySkeleton()})
	_, err := c.Recommend(ctx, &echopb.GetBookRequest{})
	libWantCode(t, err, codes.NotFound, "", "Recommend on an empty library")
	created, err := c.CreateBook(ctx, &echopb.CreateBookRequest{Book: libBook(1)})
	if err != nil {
		t.Fatal(err)
	}
	got, err := c.Recommend(ctx, &echopb.GetBookRequest{})
	if err != nil || libDiff(created, got) != "" {
		t.Errorf("Recommend = %v, %v; want %v", got, err, created)
	}
}

// TestLibraryOverLoopbackTCP: the same service through svcserver.New on a
// real TCP listener and grpc.NewClient, to show nothing depends on bufconn;
// the server then stops gracefully.
func TestLibraryOverLoopbackTCP(t *testing.T) {
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := svcserver.New(svcserver.WithLogger(slog.New(slog.NewTextHandler(io.Discard, nil))))
	echopb.RegisterLibraryServer(srv, echopb.NewInMemoryLibrarySkeleton())
	serveCtx, stop := context.WithCancel(context.Background())
	served := make(chan error, 1)
	go func() { served <- srv.Serve(serveCtx, lis) }()
	conn, err := grpc.NewClient(lis.Addr().String(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		stop()
		<-served
		t.Fatal(err)
	}
	t.Cleanup(func() {
		conn.Close()
		stop()
		select {
		case err := <-served:
			if err != nil {
				t.Errorf("Serve: %v", err)
			}
		case <-time.After(10 * time.Second):
			t.Error("Serve did not return after its context was cancelled")
		}
	})
	c := echopb.NewLibraryWrapper(conn)
	ctx := libCtx(t)

	var seed []*echopb.Book
	for i := range 25 {
		seed = append(seed, libBook(24-i))
	}
	if resp, err := libImport(ctx, c, seed); err != nil || len(resp.GetBooks()) != 25 {
		t.Fatalf("ImportBooks over TCP = %v, %v", resp, err)
	}
	books, pages := libListAllBooks(t, c, 10)
	if pages != 3 || len(books) != 25 || libStrictlyAscending(libNames(books)) >= 0 || books[0].GetName() != libBookKey(0) {
		t.Errorf("ListBooks over TCP: %d pages, names %v; want 3 pages of 25 names in order", pages, libNames(books))
	}
	b, err := c.GetBook(ctx, &echopb.GetBookRequest{Name: libBookKey(7)})
	if err != nil {
		t.Fatalf("GetBook over TCP: %v", err)
	}
	b.Title = "retitled"
	upd, err := c.UpdateBook(ctx, &echopb.UpdateBookRequest{Book: b, UpdateMask: libMask("title")})
	if err != nil || upd.GetTitle() != "retitled" {
		t.Fatalf("UpdateBook over TCP = %v, %v", upd, err)
	}
	_, err = c.UpdateBook(ctx, &echopb.UpdateBookRequest{Book: b, UpdateMask: libMask("title")})
	libWantCode(t, err, codes.Aborted, "", "UpdateBook over TCP with a stale etag")
	if _, err := c.DeleteBook(ctx, &echopb.DeleteBookRequest{Name: upd.GetName(), Etag: upd.GetEtag()}); err != nil {
		t.Fatalf("DeleteBook over TCP: %v", err)
	}
	_, err = c.GetBook(ctx, &echopb.GetBookRequest{Name: upd.GetName()})
	libWantCode(t, err, codes.NotFound, "", "GetBook over TCP after DeleteBook")
	_, err = c.Recommend(ctx, &echopb.GetBookRequest{})
	libWantCode(t, err, codes.Unimplemented, echopb.Library_Recommend_FullMethodName, "Recommend over TCP")
}

// TestBookRepositoryContract: the generated constructor and schema pass the
// svcstore contract suite.
func TestBookRepositoryContract(t *testing.T) {
	storetest.Run(t, func(*testing.T) svcstore.Repository[*echopb.Book] {
		return echopb.NewInMemoryBookRepository()
	}, storetest.Fixture[*echopb.Book]{
		Schema: echopb.BookSchema(),
		New: func(i int) *echopb.Book {
			return &echopb.Book{Title: fmt.Sprint("title ", i), Author: fmt.Sprint("author ", i%7), Pages: int32(i)}
		},
		Mutate: func(b *echopb.Book) {
			b.Title += " (revised)"
			b.Pages++
		},
		MaskPath: "title",
	})
}

// TestShelfRepositoryContract: the same for Shelf, whose schema has no etag
// and no timestamps (those subtests skip) and whose masked field is a
// proto3 optional.
func TestShelfRepositoryContract(t *testing.T) {
	storetest.Run(t, func(*testing.T) svcstore.Repository[*echopb.Shelf] {
		return echopb.NewInMemoryShelfRepository()
	}, storetest.Fixture[*echopb.Shelf]{
		Schema: echopb.ShelfSchema(),
		New: func(i int) *echopb.Shelf {
			return &echopb.Shelf{Theme: fmt.Sprint("theme ", i), Capacity: proto.Int32(int32(i))}
		},
		Mutate: func(s *echopb.Shelf) {
			s.Theme += " (revised)"
			s.Capacity = proto.Int32(s.GetCapacity() + 1)
		},
		MaskPath: "capacity",
	})
}
