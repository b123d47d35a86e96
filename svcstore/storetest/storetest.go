// Package storetest is the contract test suite for implementations of
// [svcstore.Repository].
//
// [Run] writes down, once, the behaviour the svcstore package documentation
// promises: CRUD round trips, status codes, no aliasing, key-ordered
// pagination with authenticated page tokens bound to the listing's filters,
// key-prefix and field filters, listing during concurrent inserts,
// concurrent readers and writers, update_mask handling, etags and
// timestamps, server-assigned string and integer keys, and atomic batch
// creates. It uses nothing but the Repository
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
	"testing"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"

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

	// EqualFilters are svcstore.Equal filters for the filter subtests:
	// the suite stores New(0..99) and checks that each filter lists
	// exactly the resources its own evaluation of the filter keeps. Each
	// should keep some of them but not all. Optional.
	EqualFilters []EqualFilter

	// Queries are AIP-160 filters and AIP-132 orderings with their meaning
	// in Go, for the query subtests (see [Query]). The orderings must be
	// ones the schema's indexes serve. Optional.
	Queries []Query[M]

	// ScanFilter is a filter no index of the schema serves that keeps 1 to
	// 10 of New(0..99), for the scan-bound subtest (which also needs
	// NewRepoWith). Optional.
	ScanFilter Query[M]

	// NewRepoWith returns a new, empty repository like Run's newRepo, but
	// built with opts on top of the defaults. Optional: the subtests that
	// need a store configured otherwise (a small page byte budget, set with
	// svcstore.WithMaxPageBytes) skip without it.
	NewRepoWith func(t *testing.T, opts ...svcstore.Option) svcstore.Repository[M]
}

// EqualFilter is the path and value of an svcstore.Equal filter.
type EqualFilter struct {
	Path  string
	Value any
}

// ctx is the context of every call. The suite targets Go 1.23, which has no
// testing.T.Context.
var ctx = context.Background()

// Run runs the contract suite as subtests of t. newRepo must return a new,
// empty repository each time it is called, independent of every other one
// (page tokens of one must be rejected by another), with the default page
// sizes [svcstore.DefaultPageSize] and [svcstore.MaxPageSize] and the
// default page byte budget [svcstore.DefaultMaxPageBytes]; it may register
// cleanup with t.Cleanup. Subtests create up to a few thousand resources
// each, and a few of them resources of several MiB.
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
//   - Integer keys: a key that is not the canonical decimal form of a value
//     in the field's range is InvalidArgument; server-assigned keys strictly
//     increase and are never reused, even after a Delete, and an explicit
//     key moves the assignment past it.
//   - A KeyPrefix filter on an integer key is InvalidArgument; so is a page
//     token used with filters other than those of the listing that issued
//     it.
//   - CreateBatch of no messages succeeds with none.
//   - A page's items, each counted as proto.Size plus a two-byte tag and
//     its length prefix, never exceed the page byte budget
//     ([svcstore.DefaultMaxPageBytes] unless set otherwise), except for a
//     page of one item; and in the byte-budget subtests, a page ends
//     before its page size only when its next item would not fit.
//   - A string key longer than [svcstore.MaxKeyBytes] is InvalidArgument on
//     Create and CreateBatch, with a message naming the key field and the
//     limit; a key of exactly that length works, page tokens included.
//
// The byte-budget subtests store resources of several MiB, grown through a
// singular string or bytes field other than the key and etag (one not named
// by an Equal filter, for the filtered ones); they skip when the message
// has none.
func Run[M proto.Message](t *testing.T, newRepo func(t *testing.T) svcstore.Repository[M], fx Fixture[M]) {
	s := newSuite(t, newRepo, fx)

	t.Run("CRUDRoundTrip", s.testCRUDRoundTrip)
	t.Run("ErrorCodes", s.testErrorCodes)
	t.Run("ServerAssignedKey", s.testServerAssignedKey)
	t.Run("KeyOrder", s.testKeyOrder)
	t.Run("IntegerKeys", s.testIntegerKeys)
	t.Run("NoAliasing", s.testNoAliasing)
	t.Run("Pagination", s.testPagination)
	t.Run("PageSizes", s.testPageSizes)
	t.Run("PageTokenAfterDeletedKey", s.testTokenAfterDeletedKey)
	t.Run("InvalidPageTokens", s.testInvalidPageTokens)
	t.Run("ListDuringConcurrentInserts", s.testListDuringInserts)
	t.Run("KeyPrefixFilter", s.testKeyPrefixFilter)
	t.Run("EqualFilters", s.testEqualFilters)
	t.Run("InvalidFilters", s.testInvalidFilters)
	t.Run("PageTokenBoundToFilters", s.testTokenBoundToFilters)
	t.Run("CreateBatch", s.testCreateBatch)
	t.Run("CreateBatchIsAtomic", s.testCreateBatchAtomic)
	t.Run("CreateBatchIsAllOrNothingToReaders", s.testCreateBatchVisibility)
	t.Run("ConcurrentReadersAndWriters", s.testConcurrentReadersWriters)
	t.Run("UpdateMask", s.testUpdateMask)
	t.Run("FullReplacement", s.testFullReplacement)
	t.Run("ImpliedMask", s.testImpliedMask)
	t.Run("InvalidUpdateMask", s.testInvalidUpdateMask)
	t.Run("Etag", s.testEtag)
	t.Run("Timestamps", s.testTimestamps)
	t.Run("PageBytes", s.testPageBytes)
	t.Run("PageBytesItemAboveBudget", s.testPageBytesOversized)
	t.Run("PageBytesCustomBudget", s.testPageBytesCustom)
	t.Run("PageBytesExactAccounting", s.testPageBytesExact)
	t.Run("PageBytesWithFilters", s.testPageBytesFilters)
	t.Run("KeySizeCap", s.testKeySizeCap)
	t.Run("Queries", s.testQueries)
	t.Run("QueriesAfterWrites", s.testQueriesAfterWrites)
	t.Run("QueryDuringConcurrentInserts", s.testQueryDuringInserts)
	t.Run("InvalidQueries", s.testInvalidQueries)
	t.Run("PageTokenBoundToQuery", s.testQueryTokensBound)
	t.Run("ScanBound", s.testScanBound)
	t.Run("QueryOracle", s.testQueryOracle)
	t.Run("IndexEntryCap", s.testIndexEntryCap)
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

	intKey      bool // the key field is an integer
	unsignedKey bool // ... an unsigned one
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
	switch s.keyFD.Kind() {
	case protoreflect.StringKind:
	case protoreflect.Uint32Kind, protoreflect.Fixed32Kind, protoreflect.Uint64Kind, protoreflect.Fixed64Kind:
		s.intKey, s.unsignedKey = true, true
	default:
		s.intKey = true
	}
	s.etagFD = field("EtagField", fx.Schema.EtagField)
	s.createFD = field("CreateTimeField", fx.Schema.CreateTimeField)
	s.updateFD = field("UpdateTimeField", fx.Schema.UpdateTimeField)
	if s.maskPath = resolvePath(md, fx.MaskPath); s.maskPath == nil {
		t.Fatalf("storetest: Fixture.MaskPath %q is not a field path of %s", fx.MaskPath, md.FullName())
	}
	return s
}
