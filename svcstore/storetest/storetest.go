// Package storetest is the contract test suite for implementations of
// [svcstore.Repository].
//
// [Run] writes down, once, the behaviour the svcstore package documentation
// promises: CRUD round trips, status codes, no aliasing, key-ordered
// pagination with authenticated page tokens, listing during concurrent
// inserts, concurrent readers and writers, update_mask handling, etags and
// timestamps, and server-assigned keys. It uses nothing but the Repository
// interface, so a database-backed implementation runs it unchanged:
//
//	func TestContract(t *testing.T) {
//		storetest.Run(t, func(t *testing.T) svcstore.Repository[*librarypb.Book] {
//			return newEmptyPostgresRepo(t)
//		}, storetest.Fixture[*librarypb.Book]{
//			Schema:   svcstore.Schema{KeyField: "name", KeyPrefix: "shelves/1/books/", EtagField: "etag"},
//			New:      func(i int) *librarypb.Book { return &librarypb.Book{Title: fmt.Sprint("title ", i)} },
//			Mutate:   func(b *librarypb.Book) { b.Title += " (revised)" },
//			MaskPath: "title",
//		})
//	}
//
// Run it with -race: several subtests exist to give the race detector
// concurrent readers and writers to watch.
package storetest

import (
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/testing/protocmp"
	"google.golang.org/protobuf/types/known/fieldmaskpb"

	"github.com/svcgen/protoc-gen-svc/svcstore"
)

// Fixture describes the message type under test to [Run].
type Fixture[M proto.Message] struct {
	// Schema says where the key, etag and timestamps live. The suite reads
	// and writes those fields through protoreflect, and skips the etag and
	// timestamp subtests for fields the schema does not name.
	Schema svcstore.Schema

	// New returns a new, valid message, distinct for each i (i >= 0). Its
	// key may be set or empty: the suite sets the keys it needs. It is
	// called from several goroutines at once.
	New func(i int) M

	// Mutate changes at least one non-key field of its argument in place,
	// including the field MaskPath names. It is called from several
	// goroutines at once, on different messages.
	Mutate func(M)

	// MaskPath is a valid update_mask path, naming a field Mutate changes.
	MaskPath string
}

// ctx is the context of every call. The suite targets Go 1.23, which has no
// testing.T.Context.
var ctx = context.Background()

// Run runs the contract suite as subtests of t. newRepo must return a new,
// empty repository each time it is called, independent of every other one
// (page tokens of one must be rejected by another), with the default page
// sizes [svcstore.DefaultPageSize] and [svcstore.MaxPageSize]; it may
// register cleanup with t.Cleanup. Subtests create up to a few thousand
// resources each.
//
// Besides the semantics in the svcstore package documentation, the suite
// pins down these details, so that every implementation behaves alike
// behind a generated server:
//   - List signals the end exactly: a page ending at the last resource has
//     no next_page_token, and a page that carries one is never empty. Pages
//     may be shorter than asked.
//   - A page token survives the deletion of the resource it points after.
//   - Changing any single character of a token, or using another
//     repository's token, gives InvalidArgument.
//   - Create ignores client-supplied etags and timestamps.
//   - Delete with a non-empty etag on a schema without an EtagField is
//     InvalidArgument.
//   - update_mask paths naming the key, etag, create_time or update_time
//     (or fields inside them), and "*" combined with other paths, are
//     InvalidArgument; a masked field unset in the incoming message is
//     cleared.
func Run[M proto.Message](t *testing.T, newRepo func(t *testing.T) svcstore.Repository[M], fx Fixture[M]) {
	s := newSuite(t, newRepo, fx)

	t.Run("CRUDRoundTrip", s.testCRUDRoundTrip)
	t.Run("ErrorCodes", s.testErrorCodes)
	t.Run("ServerAssignedKey", s.testServerAssignedKey)
	t.Run("NoAliasing", s.testNoAliasing)
	t.Run("Pagination", s.testPagination)
	t.Run("PageSizes", s.testPageSizes)
	t.Run("PageTokenAfterDeletedKey", s.testTokenAfterDeletedKey)
	t.Run("InvalidPageTokens", s.testInvalidPageTokens)
	t.Run("ListDuringConcurrentInserts", s.testListDuringInserts)
	t.Run("ConcurrentReadersAndWriters", s.testConcurrentReadersWriters)
	t.Run("UpdateMask", s.testUpdateMask)
	t.Run("FullReplacement", s.testFullReplacement)
	t.Run("ImpliedMask", s.testImpliedMask)
	t.Run("InvalidUpdateMask", s.testInvalidUpdateMask)
	t.Run("Etag", s.testEtag)
	t.Run("Timestamps", s.testTimestamps)
}

type suite[M proto.Message] struct {
	newRepo func(t *testing.T) svcstore.Repository[M]
	fx      Fixture[M]

	typeName protoreflect.FullName
	keyFD    protoreflect.FieldDescriptor
	etagFD   protoreflect.FieldDescriptor
	createFD protoreflect.FieldDescriptor
	updateFD protoreflect.FieldDescriptor
	maskPath []protoreflect.FieldDescriptor
}

func newSuite[M proto.Message](t *testing.T, newRepo func(t *testing.T) svcstore.Repository[M], fx Fixture[M]) *suite[M] {
	t.Helper()
	if newRepo == nil || fx.New == nil || fx.Mutate == nil {
		t.Fatal("storetest: newRepo, Fixture.New and Fixture.Mutate are required")
	}
	md := fx.New(0).ProtoReflect().Descriptor()
	s := &suite[M]{newRepo: newRepo, fx: fx, typeName: md.FullName()}
	field := func(option, name string) protoreflect.FieldDescriptor {
		if name == "" {
			return nil
		}
		fd := md.Fields().ByName(protoreflect.Name(name))
		if fd == nil {
			t.Fatalf("storetest: Fixture.Schema.%s: %s has no field %q", option, md.FullName(), name)
		}
		return fd
	}
	if fx.Schema.KeyField == "" {
		t.Fatal("storetest: Fixture.Schema.KeyField is required")
	}
	s.keyFD = field("KeyField", fx.Schema.KeyField)
	s.etagFD = field("EtagField", fx.Schema.EtagField)
	s.createFD = field("CreateTimeField", fx.Schema.CreateTimeField)
	s.updateFD = field("UpdateTimeField", fx.Schema.UpdateTimeField)
	if s.maskPath = resolvePath(md, fx.MaskPath); s.maskPath == nil {
		t.Fatalf("storetest: Fixture.MaskPath %q is not a field path of %s", fx.MaskPath, md.FullName())
	}
	return s
}

// --- helpers -------------------------------------------------------------

// key returns the i-th test key. Zero padding makes byte order equal numeric
// order, whatever collation a database uses for ASCII.
func (s *suite[M]) key(i int) string {
	return fmt.Sprintf("%sst-%06d", s.fx.Schema.KeyPrefix, i)
}

// msg returns fx.New(i) with its key set to key ("" clears it).
func (s *suite[M]) msg(i int, key string) M {
	m := s.fx.New(i)
	m.ProtoReflect().Set(s.keyFD, protoreflect.ValueOfString(key))
	return m
}

func (s *suite[M]) keyOf(m M) string { return m.ProtoReflect().Get(s.keyFD).String() }

func (s *suite[M]) etagOf(m M) string {
	if s.etagFD == nil {
		return ""
	}
	return m.ProtoReflect().Get(s.etagFD).String()
}

func (s *suite[M]) setEtag(m M, etag string) {
	m.ProtoReflect().Set(s.etagFD, protoreflect.ValueOfString(etag))
}

// without returns a copy of m with the given fields cleared (nil entries
// are skipped), to compare messages modulo server-managed fields.
func without[M proto.Message](m M, fds ...protoreflect.FieldDescriptor) M {
	c := proto.Clone(m).(M)
	for _, fd := range fds {
		if fd != nil {
			c.ProtoReflect().Clear(fd)
		}
	}
	return c
}

// managed lists the fields the server owns on every write.
func (s *suite[M]) managed() []protoreflect.FieldDescriptor {
	return []protoreflect.FieldDescriptor{s.etagFD, s.createFD, s.updateFD}
}

func diff(want, got any) string { return cmp.Diff(want, got, protocmp.Transform()) }

func (s *suite[M]) create(t *testing.T, repo svcstore.Repository[M], m M) M {
	t.Helper()
	got, err := repo.Create(ctx, m)
	if err != nil {
		t.Fatalf("Create(%q): %v", s.keyOf(m), err)
	}
	return got
}

func (s *suite[M]) get(t *testing.T, repo svcstore.Repository[M], key string) M {
	t.Helper()
	got, err := repo.Get(ctx, key)
	if err != nil {
		t.Fatalf("Get(%q): %v", key, err)
	}
	return got
}

// seed creates n resources with keys key(0..n-1), inserted in a shuffled
// order so that no test depends on insertion order, and returns them by key.
func (s *suite[M]) seed(t *testing.T, repo svcstore.Repository[M], n int) map[string]M {
	t.Helper()
	order := rand.New(rand.NewPCG(1, uint64(n))).Perm(n)
	out := make(map[string]M, n)
	for _, i := range order {
		got := s.create(t, repo, s.msg(i, s.key(i)))
		out[s.keyOf(got)] = got
	}
	return out
}

// wantCode fails t unless err is a status error with code want.
func wantCode(t *testing.T, err error, want codes.Code, call string) {
	t.Helper()
	if err == nil {
		t.Errorf("%s: got nil error, want %v", call, want)
		return
	}
	st, ok := status.FromError(err)
	if !ok {
		t.Errorf("%s: got non-status error %v, want code %v", call, err, want)
		return
	}
	if st.Code() != want {
		t.Errorf("%s: got %v (%v), want %v", call, st.Code(), st.Message(), want)
	}
}

// listAll pages through repo with the given page sizes (cycled), checking
// every page's bounds, and returns the keys and items in the order seen.
func (s *suite[M]) listAll(t *testing.T, repo svcstore.Repository[M], sizes ...int) ([]string, []M) {
	t.Helper()
	var keys []string
	var items []M
	token := ""
	for call := 0; ; call++ {
		if call > 100_000 {
			t.Fatal("List never returned an empty next_page_token")
		}
		size := sizes[call%len(sizes)]
		page, next, err := repo.List(ctx, size, token)
		if err != nil {
			t.Fatalf("List(%d, page %d): %v", size, call, err)
		}
		limit := size
		if limit == 0 {
			limit = svcstore.DefaultPageSize
		}
		limit = min(limit, svcstore.MaxPageSize)
		if len(page) > limit {
			t.Fatalf("List(%d) returned %d items, more than %d", size, len(page), limit)
		}
		if next != "" && len(page) == 0 {
			t.Fatalf("List(%d) returned an empty page with a next_page_token", size)
		}
		for _, m := range page {
			keys = append(keys, s.keyOf(m))
			items = append(items, m)
		}
		if next == "" {
			return keys, items
		}
		token = next
	}
}

// --- subtests ------------------------------------------------------------

func (s *suite[M]) testCRUDRoundTrip(t *testing.T) {
	repo := s.newRepo(t)
	k := s.key(1)
	in := s.msg(1, k)
	created := s.create(t, repo, in)
	if got := s.keyOf(created); got != k {
		t.Fatalf("Create returned key %q, want %q", got, k)
	}
	if d := diff(without(in, s.managed()...), without(created, s.managed()...)); d != "" {
		t.Errorf("Create returned a different message (-sent +stored):\n%s", d)
	}
	if d := diff(created, s.get(t, repo, k)); d != "" {
		t.Errorf("Get after Create differs from Create's result (-create +get):\n%s", d)
	}
	items, next, err := repo.List(ctx, 10, "")
	if err != nil || next != "" || len(items) != 1 {
		t.Fatalf("List = %d items, token %q, err %v; want 1 item, no token", len(items), next, err)
	}
	if d := diff(created, items[0]); d != "" {
		t.Errorf("List item differs from Create's result:\n%s", d)
	}

	upd := proto.Clone(created).(M)
	s.fx.Mutate(upd)
	updated, err := repo.Update(ctx, upd, &fieldmaskpb.FieldMask{Paths: []string{s.fx.MaskPath}})
	if err != nil {
		t.Fatalf("Update: %v", err)
	}
	if d := diff(updated, s.get(t, repo, k)); d != "" {
		t.Errorf("Get after Update differs from Update's result:\n%s", d)
	}

	deleted, err := repo.Delete(ctx, k, "")
	if err != nil {
		t.Fatalf("Delete: %v", err)
	}
	if d := diff(updated, deleted); d != "" {
		t.Errorf("Delete did not return the last stored version (-want +got):\n%s", d)
	}
	_, err = repo.Get(ctx, k)
	wantCode(t, err, codes.NotFound, "Get after Delete")
	_, err = repo.Delete(ctx, k, "")
	wantCode(t, err, codes.NotFound, "second Delete")
	items, next, err = repo.List(ctx, 10, "")
	if err != nil || next != "" || len(items) != 0 {
		t.Errorf("List after Delete = %d items, token %q, err %v; want empty", len(items), next, err)
	}
	// A deleted key can be used again.
	s.create(t, repo, s.msg(2, k))
}

func (s *suite[M]) testErrorCodes(t *testing.T) {
	repo := s.newRepo(t)
	k := s.key(1)
	orig := s.create(t, repo, s.msg(1, k))
	missing := s.key(999)

	// Messages name the resource type and the key.
	checkMessage := func(err error, call, key string) {
		t.Helper()
		msg := status.Convert(err).Message()
		if !strings.Contains(msg, string(s.typeName)) || !strings.Contains(msg, key) {
			t.Errorf("%s: message %q should name %s and %q", call, msg, s.typeName, key)
		}
	}

	_, err := repo.Get(ctx, missing)
	wantCode(t, err, codes.NotFound, "Get(missing)")
	checkMessage(err, "Get(missing)", missing)
	_, err = repo.Update(ctx, s.msg(2, missing), nil)
	wantCode(t, err, codes.NotFound, "Update(missing)")
	checkMessage(err, "Update(missing)", missing)
	_, err = repo.Delete(ctx, missing, "")
	wantCode(t, err, codes.NotFound, "Delete(missing)")
	checkMessage(err, "Delete(missing)", missing)

	_, err = repo.Create(ctx, s.msg(2, k))
	wantCode(t, err, codes.AlreadyExists, "Create(existing)")
	checkMessage(err, "Create(existing)", k)
	if d := diff(orig, s.get(t, repo, k)); d != "" {
		t.Errorf("a failed Create changed the stored resource:\n%s", d)
	}

	_, err = repo.Get(ctx, "")
	wantCode(t, err, codes.InvalidArgument, `Get("")`)
	_, err = repo.Delete(ctx, "", "")
	wantCode(t, err, codes.InvalidArgument, `Delete("")`)
	_, err = repo.Update(ctx, s.msg(2, ""), nil)
	wantCode(t, err, codes.InvalidArgument, "Update(empty key)")
	_, _, err = repo.List(ctx, -1, "")
	wantCode(t, err, codes.InvalidArgument, "List(page_size=-1)")

	if s.etagFD == nil {
		// Silently ignoring a precondition the store cannot check would be
		// wrong, so a non-empty etag without an etag field is rejected.
		_, err = repo.Delete(ctx, k, `"1"`)
		wantCode(t, err, codes.InvalidArgument, "Delete with an etag on a resource without one")
		s.get(t, repo, k)
	}
}

func (s *suite[M]) testServerAssignedKey(t *testing.T) {
	repo := s.newRepo(t)
	seen := map[string]bool{}
	for i := range 20 {
		got := s.create(t, repo, s.msg(i, ""))
		k := s.keyOf(got)
		if !strings.HasPrefix(k, s.fx.Schema.KeyPrefix) || len(k) == len(s.fx.Schema.KeyPrefix) {
			t.Fatalf("server-assigned key %q: want prefix %q and a non-empty id", k, s.fx.Schema.KeyPrefix)
		}
		if seen[k] {
			t.Fatalf("server-assigned key %q was assigned twice", k)
		}
		seen[k] = true
		if d := diff(got, s.get(t, repo, k)); d != "" {
			t.Errorf("Get(%q) differs from Create's result:\n%s", k, d)
		}
	}
}

func (s *suite[M]) testNoAliasing(t *testing.T) {
	repo := s.newRepo(t)
	k := s.key(1)
	check := func(want M, after string) {
		t.Helper()
		if d := diff(want, s.get(t, repo, k)); d != "" {
			t.Errorf("stored resource changed after %s (-want +got):\n%s", after, d)
		}
	}

	in := s.msg(1, k)
	created := s.create(t, repo, in)
	want := proto.Clone(created).(M)
	scramble(in.ProtoReflect())
	check(want, "mutating the message passed to Create")
	proto.Reset(in)
	check(want, "resetting the message passed to Create")
	scramble(created.ProtoReflect())
	check(want, "mutating Create's result")

	got := s.get(t, repo, k)
	scramble(got.ProtoReflect())
	check(want, "mutating Get's result")

	items, _, err := repo.List(ctx, 10, "")
	if err != nil || len(items) != 1 {
		t.Fatalf("List = %d items, %v", len(items), err)
	}
	scramble(items[0].ProtoReflect())
	check(want, "mutating List's result")

	upd := proto.Clone(want).(M)
	s.fx.Mutate(upd)
	updated, err := repo.Update(ctx, upd, nil)
	if err != nil {
		t.Fatalf("Update: %v", err)
	}
	want = proto.Clone(updated).(M)
	scramble(upd.ProtoReflect())
	check(want, "mutating the message passed to Update")
	scramble(updated.ProtoReflect())
	check(want, "mutating Update's result")

	masked := proto.Clone(want).(M)
	s.fx.Mutate(masked)
	updated, err = repo.Update(ctx, masked, &fieldmaskpb.FieldMask{Paths: []string{s.fx.MaskPath}})
	if err != nil {
		t.Fatalf("Update with mask: %v", err)
	}
	want = proto.Clone(updated).(M)
	scramble(masked.ProtoReflect())
	check(want, "mutating the message passed to a masked Update")
	scramble(updated.ProtoReflect())
	check(want, "mutating a masked Update's result")

	deleted, err := repo.Delete(ctx, k, "")
	if err != nil {
		t.Fatalf("Delete: %v", err)
	}
	if d := diff(want, deleted); d != "" {
		t.Errorf("Delete returned (-want +got):\n%s", d)
	}
}

func (s *suite[M]) testPagination(t *testing.T) {
	const n = 1000
	repo := s.newRepo(t)
	byKey := s.seed(t, repo, n)
	wantKeys := make([]string, 0, n)
	for k := range byKey {
		wantKeys = append(wantKeys, k)
	}
	slices.Sort(wantKeys)

	for _, sizes := range [][]int{{1}, {7}, {100}, {1000}, {1001}, {7, 100, 1}} {
		t.Run(fmt.Sprint("page_size=", sizes), func(t *testing.T) {
			keys, items := s.listAll(t, repo, sizes...)
			if d := cmp.Diff(wantKeys, keys); d != "" {
				t.Fatalf("listed keys are not every key exactly once in order (-want +got):\n%s", d)
			}
			for _, m := range items {
				// proto.Equal first: diffing 1000 messages per page size is slow.
				if want := byKey[s.keyOf(m)]; !proto.Equal(want, m) {
					t.Fatalf("listed %q differs from what was stored:\n%s", s.keyOf(m), diff(want, m))
				}
			}
		})
	}
	// A page that ends exactly at the last item has no next token: the end
	// of a listing is signalled precisely, not by an extra empty page.
	_, next, err := repo.List(ctx, n, "")
	if err != nil || next != "" {
		t.Errorf("List(%d) over %d items: token %q, err %v; want no token", n, n, next, err)
	}
}

func (s *suite[M]) testPageSizes(t *testing.T) {
	const n = svcstore.MaxPageSize + 1
	repo := s.newRepo(t)
	s.seed(t, repo, n)

	page, next, err := repo.List(ctx, 0, "")
	if err != nil {
		t.Fatalf("List(0): %v", err)
	}
	if len(page) == 0 || len(page) > svcstore.DefaultPageSize || next == "" {
		t.Errorf("List(0) = %d items, token %q; want 1..%d items (the default) and a token",
			len(page), next, svcstore.DefaultPageSize)
	}

	page, next, err = repo.List(ctx, n, "")
	if err != nil {
		t.Fatalf("List(%d): %v", n, err)
	}
	if len(page) > svcstore.MaxPageSize || next == "" {
		t.Fatalf("List(%d) = %d items, token %q; want at most %d (clamped) and a token",
			n, len(page), next, svcstore.MaxPageSize)
	}
	rest, next, err := repo.List(ctx, n, next)
	if err != nil || next != "" || len(page)+len(rest) != n {
		t.Errorf("second page: %d items, token %q, err %v; want the remaining %d", len(rest), next, err, n-len(page))
	}

	for _, size := range []int{-1, -1000} {
		_, _, err := repo.List(ctx, size, "")
		wantCode(t, err, codes.InvalidArgument, fmt.Sprintf("List(%d)", size))
	}
}

func (s *suite[M]) testTokenAfterDeletedKey(t *testing.T) {
	repo := s.newRepo(t)
	s.seed(t, repo, 30)
	page, token, err := repo.List(ctx, 10, "")
	if err != nil || len(page) != 10 || token == "" {
		t.Fatalf("List(10) = %d items, token %q, err %v", len(page), token, err)
	}
	// Delete the cursor's own key and the next one: the token must still
	// resume right after the cursor's position.
	for _, k := range []string{s.keyOf(page[9]), s.key(10)} {
		if _, err := repo.Delete(ctx, k, ""); err != nil {
			t.Fatalf("Delete(%q): %v", k, err)
		}
	}
	page, _, err = repo.List(ctx, 5, token)
	if err != nil {
		t.Fatalf("List with a token whose key was deleted: %v", err)
	}
	if len(page) == 0 || s.keyOf(page[0]) != s.key(11) {
		t.Errorf("List after deleted cursor starts at %v, want %q", keysOf(s, page), s.key(11))
	}
}

func (s *suite[M]) testInvalidPageTokens(t *testing.T) {
	repo := s.newRepo(t)
	s.seed(t, repo, 20)
	_, token, err := repo.List(ctx, 5, "")
	if err != nil || token == "" {
		t.Fatalf("List(5): token %q, err %v", token, err)
	}

	bad := []string{
		"not a token",
		"!!!!",
		"AAAA",
		strings.Repeat("A", len(token)),
		token[:len(token)-1],
		token[:len(token)/2],
		token + "A",
		token + token,
	}
	// Every single-character change must be caught: tokens are
	// authenticated, not merely checksummed at the end.
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
	for i := range len(token) {
		c := alphabet[(strings.IndexByte(alphabet, token[i])+1)%len(alphabet)]
		bad = append(bad, token[:i]+string(c)+token[i+1:])
	}
	// A token from another, independent repository holding the same keys.
	other := s.newRepo(t)
	s.seed(t, other, 20)
	_, otherToken, err := other.List(ctx, 5, "")
	if err != nil || otherToken == "" {
		t.Fatalf("other repository's List(5): token %q, err %v", otherToken, err)
	}
	bad = append(bad, otherToken)

	for _, tok := range bad {
		_, _, err := repo.List(ctx, 5, tok)
		wantCode(t, err, codes.InvalidArgument, fmt.Sprintf("List with token %q", tok))
	}
	// The genuine token still works after all that.
	page, _, err := repo.List(ctx, 5, token)
	if err != nil || len(page) == 0 || s.keyOf(page[0]) != s.key(5) {
		t.Errorf("List with the genuine token = %v, %v; want to start at %q", keysOf(s, page), err, s.key(5))
	}
}

func (s *suite[M]) testListDuringInserts(t *testing.T) {
	// Pre-existing resources have even indexes; the inserter adds odd ones,
	// which land between them, and removes some of them again, while the
	// main goroutine pages through.
	const n = 400
	repo := s.newRepo(t)
	present := make([]string, n)
	for i := range n {
		present[i] = s.key(2 * i)
		s.create(t, repo, s.msg(2*i, present[i]))
	}

	stop := make(chan struct{})
	var wg sync.WaitGroup
	var once sync.Once
	halt := func() {
		once.Do(func() { close(stop) })
		wg.Wait()
	}
	defer halt() // also when listAll fails the test, so the inserter never outlives it
	wg.Add(1)
	go func() {
		defer wg.Done()
		r := rand.New(rand.NewPCG(2, 3))
		for _, j := range r.Perm(n) {
			select {
			case <-stop:
				return
			default:
			}
			k := s.key(2*j + 1)
			if _, err := repo.Create(ctx, s.msg(2*j+1, k)); err != nil {
				t.Errorf("concurrent Create(%q): %v", k, err)
				return
			}
			if j%3 == 0 {
				if _, err := repo.Delete(ctx, k, ""); err != nil {
					t.Errorf("concurrent Delete(%q): %v", k, err)
					return
				}
			}
		}
	}()

	keys, _ := s.listAll(t, repo, 7)
	halt()

	for i := 1; i < len(keys); i++ {
		if keys[i] <= keys[i-1] {
			t.Fatalf("listing during inserts returned %q after %q: duplicate or out of order", keys[i], keys[i-1])
		}
	}
	for _, k := range present {
		if _, ok := slices.BinarySearch(keys, k); !ok {
			t.Errorf("listing during inserts skipped %q, present throughout", k)
		}
	}
}

func (s *suite[M]) testConcurrentReadersWriters(t *testing.T) {
	const (
		writers = 8
		readers = 8
		rounds  = 50
	)
	repo := s.newRepo(t)
	s.seed(t, repo, 50)
	mask := &fieldmaskpb.FieldMask{Paths: []string{s.fx.MaskPath}}

	var wg sync.WaitGroup
	final := make([]map[string]M, writers)
	for w := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			mine := map[string]M{}
			for r := range rounds {
				i := 1000 + w*rounds + r
				k := s.key(i)
				got, err := repo.Create(ctx, s.msg(i, k))
				if err != nil {
					t.Errorf("writer %d: Create(%q): %v", w, k, err)
					return
				}
				s.fx.Mutate(got)
				if got, err = repo.Update(ctx, got, mask); err != nil {
					t.Errorf("writer %d: Update(%q): %v", w, k, err)
					return
				}
				mine[k] = got
				if r%2 == 1 {
					if _, err := repo.Delete(ctx, k, s.etagOf(got)); err != nil {
						t.Errorf("writer %d: Delete(%q): %v", w, k, err)
						return
					}
					delete(mine, k)
				}
			}
			final[w] = mine
		}()
	}
	for rd := range readers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for r := range rounds {
				k := s.key(1000 + ((rd*7 + r*13) % (writers * rounds)))
				if _, err := repo.Get(ctx, k); err != nil && status.Code(err) != codes.NotFound {
					t.Errorf("reader %d: Get(%q): %v", rd, k, err)
					return
				}
				if _, err := repo.Get(ctx, s.key(r%50)); err != nil {
					t.Errorf("reader %d: Get(%q) of a seeded key: %v", rd, s.key(r%50), err)
					return
				}
				if r%10 == 0 {
					page, tok, err := repo.List(ctx, 25, "")
					for err == nil && tok != "" && len(page) > 0 {
						page, tok, err = repo.List(ctx, 25, tok)
					}
					if err != nil {
						t.Errorf("reader %d: List: %v", rd, err)
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
	for _, mine := range final {
		for k, want := range mine {
			if d := diff(want, s.get(t, repo, k)); d != "" {
				t.Errorf("%q after concurrent writes (-want +got):\n%s", k, d)
			}
		}
	}
}

func (s *suite[M]) testUpdateMask(t *testing.T) {
	repo := s.newRepo(t)
	k := s.key(1)
	base := s.create(t, repo, s.msg(1, k))
	mask := &fieldmaskpb.FieldMask{Paths: []string{s.fx.MaskPath}}
	managed := []protoreflect.FieldDescriptor{s.etagFD, s.updateFD}

	// Mutate a copy of the stored resource and update the masked path.
	in := proto.Clone(base).(M)
	s.fx.Mutate(in)
	got, err := repo.Update(ctx, in, mask)
	if err != nil {
		t.Fatalf("Update(mask %v): %v", mask.GetPaths(), err)
	}
	want := proto.Clone(base).(M)
	copyPath(want.ProtoReflect(), in.ProtoReflect(), s.maskPath)
	if d := diff(without(want, managed...), without(got, managed...)); d != "" {
		t.Errorf("Update(mask %v) result (-want +got):\n%s", mask.GetPaths(), d)
	}
	if proto.Equal(without(base, managed...), without(got, managed...)) {
		t.Errorf("Update(mask %v) changed nothing; Fixture.Mutate must change the field MaskPath names", mask.GetPaths())
	}
	if d := diff(got, s.get(t, repo, k)); d != "" {
		t.Errorf("Get after Update differs from Update's result:\n%s", d)
	}

	// Fields outside the mask are left alone even when the incoming message
	// differs there: send an unrelated message under the same key.
	cur := got
	other := s.msg(2, k)
	s.fx.Mutate(other)
	s.setEtag0(other)
	got, err = repo.Update(ctx, other, mask)
	if err != nil {
		t.Fatalf("Update(mask %v) with another message: %v", mask.GetPaths(), err)
	}
	want = proto.Clone(cur).(M)
	copyPath(want.ProtoReflect(), other.ProtoReflect(), s.maskPath)
	if d := diff(without(want, managed...), without(got, managed...)); d != "" {
		t.Errorf("Update(mask %v) touched fields outside the mask (-want +got):\n%s", mask.GetPaths(), d)
	}

	// A masked field that is unset in the incoming message is cleared.
	cur = got
	cleared := proto.Clone(cur).(M)
	s.setEtag0(cleared)
	clearPath(cleared.ProtoReflect(), s.maskPath)
	got, err = repo.Update(ctx, cleared, mask)
	if err != nil {
		t.Fatalf("Update(mask %v) clearing the field: %v", mask.GetPaths(), err)
	}
	if d := diff(without(cleared, managed...), without(got, managed...)); d != "" {
		t.Errorf("Update(mask %v) with the field unset did not clear it (-want +got):\n%s", mask.GetPaths(), d)
	}
}

// setEtag0 clears m's etag, if the schema has one, making an update
// unconditional.
func (s *suite[M]) setEtag0(m M) {
	if s.etagFD != nil {
		s.setEtag(m, "")
	}
}

// clearPath clears the field at path in m, if m has it.
func clearPath(m protoreflect.Message, path []protoreflect.FieldDescriptor) {
	last := len(path) - 1
	for _, fd := range path[:last] {
		if !m.Has(fd) {
			return
		}
		m = m.Mutable(fd).Message()
	}
	m.Clear(path[last])
}

func (s *suite[M]) testFullReplacement(t *testing.T) {
	masks := map[string]*fieldmaskpb.FieldMask{
		"*": {Paths: []string{"*"}},
	}
	for name, mask := range masks {
		t.Run("mask="+name, func(t *testing.T) {
			repo := s.newRepo(t)
			k := s.key(1)
			base := s.create(t, repo, s.msg(1, k))
			in := s.msg(2, k)
			s.fx.Mutate(in)
			s.setEtag0(in)
			got, err := repo.Update(ctx, in, mask)
			if err != nil {
				t.Fatalf("Update: %v", err)
			}
			if d := diff(without(in, s.managed()...), without(got, s.managed()...)); d != "" {
				t.Errorf("full replacement result (-sent +stored):\n%s", d)
			}
			if s.createFD != nil {
				if d := diff(base.ProtoReflect().Get(s.createFD).Message().Interface(),
					got.ProtoReflect().Get(s.createFD).Message().Interface()); d != "" {
					t.Errorf("full replacement changed %s:\n%s", s.createFD.Name(), d)
				}
			}
			if d := diff(got, s.get(t, repo, k)); d != "" {
				t.Errorf("Get after Update differs from Update's result:\n%s", d)
			}
		})
	}
}

// testImpliedMask checks AIP-134's reading of an update without a mask: the
// fields the request populates are updated, every other field is kept.
func (s *suite[M]) testImpliedMask(t *testing.T) {
	for name, mask := range map[string]*fieldmaskpb.FieldMask{"nil": nil, "empty": {}} {
		t.Run("mask="+name, func(t *testing.T) {
			repo := s.newRepo(t)
			k := s.key(1)
			base := s.create(t, repo, s.msg(1, k))
			in := s.msg(2, k)
			s.fx.Mutate(in)
			s.setEtag0(in)
			// Leave out one field the stored resource has: the implied
			// mask must keep its stored value.
			managed := s.managed()
			var kept protoreflect.FieldDescriptor
			base.ProtoReflect().Range(func(fd protoreflect.FieldDescriptor, _ protoreflect.Value) bool {
				if fd != s.keyFD && !slices.Contains(managed, fd) {
					kept = fd
				}
				return kept == nil
			})
			if kept != nil {
				in.ProtoReflect().Clear(kept)
			}
			got, err := repo.Update(ctx, in, mask)
			if err != nil {
				t.Fatalf("Update: %v", err)
			}
			want := proto.Clone(base).(M)
			in.ProtoReflect().Range(func(fd protoreflect.FieldDescriptor, v protoreflect.Value) bool {
				want.ProtoReflect().Set(fd, v)
				return true
			})
			if d := diff(without(want, managed...), without(got, managed...)); d != "" {
				t.Errorf("Update without a mask must change only the populated fields (-want +got):\n%s", d)
			}
			if d := diff(got, s.get(t, repo, k)); d != "" {
				t.Errorf("Get after Update differs from Update's result:\n%s", d)
			}
		})
	}
}

func (s *suite[M]) testInvalidUpdateMask(t *testing.T) {
	repo := s.newRepo(t)
	k := s.key(1)
	base := s.create(t, repo, s.msg(1, k))
	in := proto.Clone(base).(M)
	s.fx.Mutate(in)

	bad := [][]string{
		{"no_such_field_xyz"},
		{""},
		{s.fx.MaskPath + ".no_such_field_xyz"},
		{s.fx.MaskPath, "no_such_field_xyz"},
		{"*", s.fx.MaskPath},
		{s.fx.Schema.KeyField},
	}
	for _, f := range []string{s.fx.Schema.EtagField, s.fx.Schema.CreateTimeField, s.fx.Schema.UpdateTimeField} {
		if f != "" {
			bad = append(bad, []string{f}, []string{s.fx.MaskPath, f})
		}
	}
	for _, f := range []string{s.fx.Schema.CreateTimeField, s.fx.Schema.UpdateTimeField} {
		if f != "" {
			bad = append(bad, []string{f + ".seconds"})
		}
	}
	for _, paths := range bad {
		_, err := repo.Update(ctx, in, &fieldmaskpb.FieldMask{Paths: paths})
		wantCode(t, err, codes.InvalidArgument, fmt.Sprintf("Update(mask %q)", paths))
	}
	if d := diff(base, s.get(t, repo, k)); d != "" {
		t.Errorf("rejected updates changed the stored resource:\n%s", d)
	}
}

func (s *suite[M]) testEtag(t *testing.T) {
	if s.etagFD == nil {
		t.Skip("Schema has no EtagField")
	}
	repo := s.newRepo(t)
	k := s.key(1)
	in := s.msg(1, k)
	const clientEtag = `"client-supplied"`
	s.setEtag(in, clientEtag)
	created := s.create(t, repo, in)
	etag1 := s.etagOf(created)
	if etag1 == "" || etag1 == clientEtag {
		t.Fatalf("Create: etag %q; want a server-assigned etag", etag1)
	}

	// An Update without an etag is unconditional and yields a new etag.
	upd := proto.Clone(created).(M)
	s.setEtag(upd, "")
	s.fx.Mutate(upd)
	v2, err := repo.Update(ctx, upd, nil)
	if err != nil {
		t.Fatalf("unconditional Update: %v", err)
	}
	etag2 := s.etagOf(v2)
	if etag2 == "" || etag2 == etag1 {
		t.Fatalf("Update: etag %q after %q; want a new etag", etag2, etag1)
	}

	// A stale etag is a conflict; the resource is unchanged.
	stale := proto.Clone(created).(M)
	_, err = repo.Update(ctx, stale, nil)
	wantCode(t, err, codes.Aborted, "Update with a stale etag")
	_, err = repo.Delete(ctx, k, etag1)
	wantCode(t, err, codes.Aborted, "Delete with a stale etag")
	if d := diff(v2, s.get(t, repo, k)); d != "" {
		t.Fatalf("a rejected write changed the resource:\n%s", d)
	}

	// The current etag is accepted, by Update and by Delete.
	cur := proto.Clone(v2).(M)
	s.fx.Mutate(cur)
	v3, err := repo.Update(ctx, cur, &fieldmaskpb.FieldMask{Paths: []string{s.fx.MaskPath}})
	if err != nil {
		t.Fatalf("Update with the current etag: %v", err)
	}
	if e := s.etagOf(v3); e == etag2 || e == etag1 || e == "" {
		t.Errorf("Update: etag %q; want one different from %q and %q", e, etag1, etag2)
	}
	if _, err := repo.Delete(ctx, k, etag2); status.Code(err) != codes.Aborted {
		t.Errorf("Delete with the previous etag: %v; want Aborted", err)
	}
	if _, err := repo.Delete(ctx, k, s.etagOf(v3)); err != nil {
		t.Errorf("Delete with the current etag: %v", err)
	}
	// A re-created resource never reuses an etag an old client may hold.
	again := s.create(t, repo, s.msg(1, k))
	if e := s.etagOf(again); e == etag1 || e == etag2 || e == s.etagOf(v3) {
		t.Errorf("re-created resource reuses etag %q", e)
	}
}

func (s *suite[M]) testTimestamps(t *testing.T) {
	if s.createFD == nil && s.updateFD == nil {
		t.Skip("Schema has neither CreateTimeField nor UpdateTimeField")
	}
	repo := s.newRepo(t)
	k := s.key(1)
	in := s.msg(1, k)
	// Output-only fields sent by the client are ignored.
	bogus := time.Unix(1, 1)
	for _, fd := range []protoreflect.FieldDescriptor{s.createFD, s.updateFD} {
		if fd != nil {
			setTimestamp(in.ProtoReflect(), fd, bogus)
		}
	}
	created := s.create(t, repo, in)
	ct, ut := s.times(t, created, "Create")
	if s.createFD != nil && s.updateFD != nil && ut.Before(ct) {
		t.Errorf("after Create update_time %v is before create_time %v", ut, ct)
	}

	prevUT := ut
	for i, mask := range []*fieldmaskpb.FieldMask{{Paths: []string{s.fx.MaskPath}}, nil} {
		upd := s.get(t, repo, k)
		s.fx.Mutate(upd)
		s.setEtag0(upd)
		// Even a full replacement that omits or changes create_time keeps it.
		if s.createFD != nil && mask == nil {
			setTimestamp(upd.ProtoReflect(), s.createFD, bogus)
		}
		got, err := repo.Update(ctx, upd, mask)
		if err != nil {
			t.Fatalf("Update %d: %v", i, err)
		}
		gotCT, gotUT := s.times(t, got, "Update")
		if s.createFD != nil && !gotCT.Equal(ct) {
			t.Errorf("Update %d changed create_time from %v to %v", i, ct, gotCT)
		}
		if s.updateFD != nil && gotUT.Before(prevUT) {
			t.Errorf("Update %d: update_time %v went back from %v", i, gotUT, prevUT)
		}
		prevUT = gotUT
	}
}

// times returns m's create and update times, failing t when a configured
// one is unset or equal to the bogus client value.
func (s *suite[M]) times(t *testing.T, m M, after string) (ct, ut time.Time) {
	t.Helper()
	get := func(fd protoreflect.FieldDescriptor) time.Time {
		if fd == nil {
			return time.Time{}
		}
		r := m.ProtoReflect()
		if !r.Has(fd) {
			t.Fatalf("after %s, %s is unset", after, fd.Name())
		}
		ts := r.Get(fd).Message()
		f := ts.Descriptor().Fields()
		v := time.Unix(ts.Get(f.ByName("seconds")).Int(), ts.Get(f.ByName("nanos")).Int())
		if v.Equal(time.Unix(1, 1)) {
			t.Fatalf("after %s, %s is the value the client sent", after, fd.Name())
		}
		return v
	}
	return get(s.createFD), get(s.updateFD)
}

func setTimestamp(r protoreflect.Message, fd protoreflect.FieldDescriptor, t time.Time) {
	ts := r.Mutable(fd).Message()
	f := ts.Descriptor().Fields()
	ts.Set(f.ByName("seconds"), protoreflect.ValueOfInt64(t.Unix()))
	ts.Set(f.ByName("nanos"), protoreflect.ValueOfInt32(int32(t.Nanosecond())))
}

func keysOf[M proto.Message](s *suite[M], ms []M) []string {
	out := make([]string, len(ms))
	for i, m := range ms {
		out[i] = s.keyOf(m)
	}
	return out
}

// --- reference implementations used as test oracles ------------------------

// resolvePath maps a dotted field path of md to its field descriptors, or
// returns nil.
func resolvePath(md protoreflect.MessageDescriptor, path string) []protoreflect.FieldDescriptor {
	if path == "" {
		return nil
	}
	var fds []protoreflect.FieldDescriptor
	for _, name := range strings.Split(path, ".") {
		if md == nil {
			return nil
		}
		fd := md.Fields().ByName(protoreflect.Name(name))
		if fd == nil {
			return nil
		}
		fds = append(fds, fd)
		md = fd.Message()
		if fd.IsList() || fd.IsMap() {
			md = nil
		}
	}
	return fds
}

// copyPath is the reference meaning of one update_mask path: the field at
// path in dst becomes a copy of the one in src (unset if src has none).
func copyPath(dst, src protoreflect.Message, path []protoreflect.FieldDescriptor) {
	last := len(path) - 1
	for _, fd := range path[:last] {
		if src != nil && src.Has(fd) {
			src = src.Get(fd).Message()
		} else {
			src = nil // the leaf is unset in src
		}
		if src == nil && !dst.Has(fd) {
			return // unset in both: nothing to clear, nothing to copy
		}
		dst = dst.Mutable(fd).Message()
	}
	leaf := path[last]
	dst.Clear(leaf)
	if src != nil && src.Has(leaf) {
		c := proto.Clone(src.Interface()).ProtoReflect()
		dst.Set(leaf, c.Get(leaf))
	}
}

// scramble changes every populated field of m in place, recursing into
// nested messages, lists and maps, so that any memory shared with a stored
// message, at any depth, shows up as a change to it.
func scramble(m protoreflect.Message) {
	type entry struct {
		fd protoreflect.FieldDescriptor
		v  protoreflect.Value
	}
	var set []entry
	m.Range(func(fd protoreflect.FieldDescriptor, v protoreflect.Value) bool {
		set = append(set, entry{fd, v})
		return true
	})
	for _, e := range set {
		switch {
		case e.fd.IsList():
			l := e.v.List()
			for i := range l.Len() {
				if e.fd.Message() != nil {
					scramble(l.Get(i).Message())
				} else {
					l.Set(i, scrambleScalar(e.fd, l.Get(i)))
				}
			}
		case e.fd.IsMap():
			mp := e.v.Map()
			var keys []protoreflect.MapKey
			mp.Range(func(k protoreflect.MapKey, _ protoreflect.Value) bool {
				keys = append(keys, k)
				return true
			})
			for _, k := range keys {
				if vd := e.fd.MapValue(); vd.Message() != nil {
					scramble(mp.Get(k).Message())
				} else {
					mp.Set(k, scrambleScalar(vd, mp.Get(k)))
				}
			}
		case e.fd.Message() != nil:
			scramble(m.Mutable(e.fd).Message())
		default:
			m.Set(e.fd, scrambleScalar(e.fd, e.v))
		}
	}
}

func scrambleScalar(fd protoreflect.FieldDescriptor, v protoreflect.Value) protoreflect.Value {
	switch fd.Kind() {
	case protoreflect.BoolKind:
		return protoreflect.ValueOfBool(!v.Bool())
	case protoreflect.StringKind:
		return protoreflect.ValueOfString(v.String() + "~scrambled")
	case protoreflect.BytesKind:
		// In place, so that a shared backing array is caught too.
		if b := v.Bytes(); len(b) > 0 {
			b[0] ^= 0xff
			return protoreflect.ValueOfBytes(b)
		}
		return protoreflect.ValueOfBytes([]byte{0xff})
	case protoreflect.EnumKind:
		return protoreflect.ValueOfEnum(v.Enum() + 1)
	case protoreflect.Int32Kind, protoreflect.Sint32Kind, protoreflect.Sfixed32Kind:
		return protoreflect.ValueOfInt32(int32(v.Int()) + 1)
	case protoreflect.Int64Kind, protoreflect.Sint64Kind, protoreflect.Sfixed64Kind:
		return protoreflect.ValueOfInt64(v.Int() + 1)
	case protoreflect.Uint32Kind, protoreflect.Fixed32Kind:
		return protoreflect.ValueOfUint32(uint32(v.Uint()) + 1)
	case protoreflect.Uint64Kind, protoreflect.Fixed64Kind:
		return protoreflect.ValueOfUint64(v.Uint() + 1)
	case protoreflect.FloatKind:
		return protoreflect.ValueOfFloat32(float32(v.Float()) + 1)
	case protoreflect.DoubleKind:
		return protoreflect.ValueOfFloat64(v.Float() + 1)
	}
	return v
}
