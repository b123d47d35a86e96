package svctest

import (
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/testing/protocmp"

	"github.com/svcgen/protoc-gen-svc/internal/svctest/echopb"
	"github.com/svcgen/protoc-gen-svc/svcstore"
)

// Helpers of the repository behaviour tests. Their names start with "lib"
// so that they stay clear of the other test files of this package.

// libTimeout bounds every test's calls; a hang fails the test instead of
// the whole package.
const libTimeout = 30 * time.Second

// libCtx returns a context for the calls of one test, cancelled when the
// test ends. (The module targets Go 1.23, which has no testing.T.Context.)
func libCtx(t *testing.T) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), libTimeout)
	t.Cleanup(cancel)
	return ctx
}

// libWantCode fails t unless err is a status error with code want and, when
// msgContains is not empty, a message containing it.
func libWantCode(t *testing.T, err error, want codes.Code, msgContains, call string) {
	t.Helper()
	if err == nil {
		t.Errorf("%s: got no error, want %v", call, want)
		return
	}
	st, ok := status.FromError(err)
	switch {
	case !ok:
		t.Errorf("%s: got non-status error %v, want %v", call, err, want)
	case st.Code() != want:
		t.Errorf("%s: got %v (%q), want %v", call, st.Code(), st.Message(), want)
	case !strings.Contains(st.Message(), msgContains):
		t.Errorf("%s: message %q does not contain %q", call, st.Message(), msgContains)
	}
}

// libDiff compares protobuf messages (or structures of them).
func libDiff(want, got any) string { return cmp.Diff(want, got, protocmp.Transform()) }

// libClock is a fake clock: every reading is one second after the previous
// one, so each write gets a distinct, predictable time. Safe for concurrent
// use.
type libClock struct{ ticks atomic.Int64 }

var libT0 = time.Date(2030, 1, 2, 3, 4, 5, 600, time.UTC)

func (c *libClock) now() time.Time {
	return libT0.Add(time.Duration(c.ticks.Add(1)) * time.Second)
}

// libBookKey is the i-th test key; zero padding makes key order numeric.
func libBookKey(i int) string { return fmt.Sprintf("books/%05d", i) }

// libBook is the i-th test book, with key libBookKey(i).
func libBook(i int) *echopb.Book {
	return &echopb.Book{
		Name:   libBookKey(i),
		Title:  fmt.Sprintf("Title %d", i),
		Author: fmt.Sprintf("Author %d", i%17),
		Pages:  int32(100 + i),
	}
}

// libSeedBooks creates libBook(i) for every i in idx directly in repo, in a
// shuffled order so that nothing depends on insertion order, and returns
// the stored books by key.
func libSeedBooks(t *testing.T, repo echopb.BookRepository, idx []int) map[string]*echopb.Book {
	t.Helper()
	ctx := libCtx(t)
	out := make(map[string]*echopb.Book, len(idx))
	r := rand.New(rand.NewPCG(7, uint64(len(idx))))
	for _, j := range r.Perm(len(idx)) {
		got, err := repo.Create(ctx, libBook(idx[j]))
		if err != nil {
			t.Fatalf("seeding Create(%q): %v", libBookKey(idx[j]), err)
		}
		out[got.GetName()] = got
	}
	return out
}

// libRange returns 0, 1, ..., n-1.
func libRange(n int) []int {
	out := make([]int, n)
	for i := range out {
		out[i] = i
	}
	return out
}

// libListAllBooks pages through ListBooks with the given page sizes (cycled)
// and returns every book in the order received. It checks that no page is
// larger than wantMax(size) allows, that only the last page has an empty
// next_page_token and that no page but the last is empty. pages reports the
// number of calls.
func libListAllBooks(t *testing.T, c *echopb.LibraryWrapper, sizes ...int) (books []*echopb.Book, pages int) {
	t.Helper()
	ctx := libCtx(t)
	token := ""
	for call := 0; ; call++ {
		if call > 20_000 {
			t.Fatal("ListBooks never returned an empty next_page_token")
		}
		size := sizes[call%len(sizes)]
		resp, err := c.ListBooks(ctx, &echopb.ListBooksRequest{PageSize: int32(size), PageToken: token})
		if err != nil {
			t.Fatalf("ListBooks(page_size %d, call %d): %v", size, call, err)
		}
		if limit := libPageLimit(size); len(resp.GetBooks()) > limit {
			t.Fatalf("ListBooks(page_size %d) returned %d books, more than %d", size, len(resp.GetBooks()), limit)
		}
		if resp.GetNextPageToken() != "" && len(resp.GetBooks()) == 0 {
			t.Fatalf("ListBooks(page_size %d) returned an empty page with a next_page_token", size)
		}
		books = append(books, resp.GetBooks()...)
		if resp.GetNextPageToken() == "" {
			return books, call + 1
		}
		token = resp.GetNextPageToken()
	}
}

// libPageLimit is the largest page svcstore.Memory returns for size.
func libPageLimit(size int) int {
	switch {
	case size == 0:
		return svcstore.DefaultPageSize
	case size > svcstore.MaxPageSize:
		return svcstore.MaxPageSize
	default:
		return size
	}
}

// libNames returns the names of books, in order.
func libNames(books []*echopb.Book) []string {
	out := make([]string, len(books))
	for i, b := range books {
		out[i] = b.GetName()
	}
	return out
}

// libStrictlyAscending reports the first index i with keys[i] <= keys[i-1],
// or -1: a listing in key order has no duplicates exactly when it is
// strictly ascending.
func libStrictlyAscending(keys []string) int {
	for i := 1; i < len(keys); i++ {
		if keys[i] <= keys[i-1] {
			return i
		}
	}
	return -1
}

// libImport streams books to ImportBooks and returns the response, or the
// call's status error. A Send that fails with io.EOF means the server has
// already ended the call; the real status then comes from CloseAndRecv.
func libImport(ctx context.Context, c *echopb.LibraryWrapper, books []*echopb.Book) (*echopb.ImportBooksResponse, error) {
	stream, err := c.ImportBooks(ctx)
	if err != nil {
		return nil, err
	}
	for _, b := range books {
		if err := stream.Send(b); err == io.EOF {
			break
		} else if err != nil {
			return nil, err
		}
	}
	return stream.CloseAndRecv()
}
