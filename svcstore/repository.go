package svcstore

import (
	"context"
	"errors"
	"fmt"
	"time"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/fieldmaskpb"

	"github.com/svcgen/protoc-gen-svc/svcstore/internal/core"
)

// Page-size limits of List. A page size of 0 asks for DefaultPageSize; a page
// size above MaxPageSize is clamped to MaxPageSize rather than rejected, as
// AIP-158 recommends. Both can be changed per store with [WithDefaultPageSize]
// and [WithMaxPageSize].
const (
	DefaultPageSize = core.DefaultPageSize
	MaxPageSize     = core.MaxPageSize
)

// DefaultMaxPageBytes is the default byte budget of a List page: the items
// of a page, counted as they are encoded in a List response (each item's
// proto.Size plus its length prefix and a two-byte field tag, enough for
// field numbers up to 2047), never add up to more.
// It is 4 MiB less 64 KiB: 4 MiB is gRPC's default limit on a received
// message (grpc-go's default MaxCallRecvMsgSize and MaxRecvMsgSize), and
// the 64 KiB leave room for the rest of the response, chiefly the
// next_page_token (under 3 KB, as keys are at most [MaxKeyBytes]). So a
// client with default limits can always receive a page, however large the
// stored resources. Change it per store with [WithMaxPageBytes], for
// instance to stay below a server's own grpc.MaxSendMsgSize.
const DefaultMaxPageBytes = core.DefaultMaxPageBytes

// MaxKeyBytes is the longest string key Create and CreateBatch accept;
// a longer one is InvalidArgument naming the key field and the limit.
// Page tokens carry a key, so this keeps every token small enough (about
// 2.8 KB at most) to be sent back. 2048 bytes also fits under PostgreSQL's
// B-tree index entry limit (about 2.7 KB), so every store accepts the same
// keys. Integer keys are never near it.
const MaxKeyBytes = core.MaxKeyBytes

// MaxIndexEntryBytes bounds a resource's values in one index plus its key
// (see [Schema].Indexes): every store refuses a write past it.
const MaxIndexEntryBytes = core.MaxIndexEntryBytes

// Repository is the storage interface generated skeletons serve standard
// methods from. Keys are the values of the message's key field (see
// [Schema]) as strings: the value itself for a string key, the canonical
// decimal form (strconv.FormatInt / FormatUint) for an integer key. Every error is a gRPC status error; the package documentation
// lists the codes. Implementations must be safe for concurrent use and must
// not retain or return messages that alias the caller's.
//
// The package svcstore/storetest is the executable specification of this
// interface.
type Repository[M proto.Message] interface {
	// Get returns the resource stored under key, or NotFound.
	Get(ctx context.Context, key string) (M, error)

	// List returns up to pageSize resources that pass every filter, in
	// ascending key order (numeric for integer keys) unless an [OrderBy]
	// filter says otherwise, starting after the
	// position recorded in pageToken ("" for the first page), and the token
	// of the next page, which is "" when there are no more. A pageSize of 0
	// means the default; larger than the maximum is clamped. A page is also
	// bounded in bytes ([DefaultMaxPageBytes], or [WithMaxPageBytes]): it
	// ends early, with a token right after its last item, rather than
	// exceed the budget. It always holds at least one item while any
	// remain, so an item larger than the whole budget comes alone, and the
	// server's message size limit decides whether it can be sent. A page
	// token is bound to the filters of the listing that issued it: using it
	// with other filters or another ordering is InvalidArgument. A page
	// that passes over the store's scan bound of non-matching resources
	// ([WithMaxScan]) ends early, with a token. See [Filter] for what each
	// filter costs.
	List(ctx context.Context, pageSize int, pageToken string, filters ...Filter) (items []M, nextPageToken string, err error)

	// Create stores msg and returns it as stored, with its key (assigned by
	// the server when msg's key field is empty, or zero for an integer key),
	// etag and timestamps set. It fails with AlreadyExists when the key is
	// in use.
	Create(ctx context.Context, msg M) (M, error)

	// CreateBatch stores every message of msgs, or none: keys are assigned
	// as Create assigns them, and a key used twice in the batch or already
	// stored fails the whole batch with AlreadyExists. It returns the
	// stored messages in the order of msgs.
	CreateBatch(ctx context.Context, msgs []M) ([]M, error)

	// Update applies msg to the resource with msg's key, restricted to the
	// paths of mask. A nil or empty mask means the fields msg populates
	// (AIP-134: a field left at its zero value is kept; name it in a mask to
	// clear it); the single path "*" replaces every mutable field. When msg
	// carries a non-empty etag that differs from the stored one it fails
	// with Aborted. It returns the resource as stored.
	Update(ctx context.Context, msg M, mask *fieldmaskpb.FieldMask) (M, error)

	// Delete removes the resource stored under key and returns it as it was.
	// A non-empty etag must equal the stored etag (else Aborted); "" deletes
	// unconditionally.
	Delete(ctx context.Context, key string, etag string) (M, error)
}

// Schema says where the standard fields are in a message type M, by proto
// field name (not Go or JSON name). All fields are top-level fields of M.
// [New] checks every named field against M's descriptor.
type Schema struct {
	// KeyField is the singular field holding the key, usually "name" or
	// "id": a string, or an integer (int32, int64, uint32, uint64, sint32,
	// sint64, sfixed32, sfixed64, fixed32, fixed64). Integer keys are
	// ordered numerically, and zero means "unset": a Create with key 0 gets
	// the next value of a per-store counter. Required.
	KeyField string

	// KeyPrefix is prepended to generated ids to form server-assigned keys,
	// e.g. "shelves/" gives keys like "shelves/<id>". Optional; string keys
	// only.
	KeyPrefix string

	// EtagField is the singular string field holding the etag. Optional;
	// without it the store does no optimistic concurrency control.
	EtagField string

	// CreateTimeField is a singular google.protobuf.Timestamp field stamped
	// on Create and preserved afterwards. Optional.
	CreateTimeField string

	// UpdateTimeField is a singular google.protobuf.Timestamp field stamped
	// on Create and on every Update. Optional.
	UpdateTimeField string

	// Indexes declares secondary indexes, each one or more comma-separated
	// proto field paths ("category", "price.currency_code,price.minor_units")
	// through singular message fields to a singular scalar, enum,
	// google.protobuf.Timestamp or Duration, neither the key nor the etag.
	// An index makes a [Where] equality on its fields, a comparison or a
	// string prefix on its first field (or on the field after those the
	// equalities fix), and an [OrderBy] on its leading fields, cost what a
	// key-ordered page costs: O(log n + page size). Filters on other fields
	// still work, as a bounded scan (see [WithMaxScan]). Each index costs
	// every write O(log n) (a B-tree on Memory, a column and a B-tree on
	// the SQL stores, added and backfilled by their migration), and bounds
	// the values it holds ([MaxIndexEntryBytes]). Optional.
	Indexes []string
}

func (s Schema) spec() core.SchemaSpec {
	return core.SchemaSpec{
		KeyField:        s.KeyField,
		KeyPrefix:       s.KeyPrefix,
		EtagField:       s.EtagField,
		CreateTimeField: s.CreateTimeField,
		UpdateTimeField: s.UpdateTimeField,
		Indexes:         s.Indexes,
	}
}

// Option configures a store created by [New] (and by the database-backed
// stores in svcstore's subpackages, which take the same options).
type Option func(*core.Options)

// ApplyOptions folds opts into one value; stores in svcstore's subpackages
// use it to read the options they share with [Memory].
func ApplyOptions(opts ...Option) core.Options {
	var o core.Options
	for _, opt := range opts {
		if opt != nil {
			opt(&o)
		}
	}
	return o
}

// WithClock sets the clock that stamps create and update times. The default
// is time.Now. Tests inject a fake clock to get exact, reproducible values.
func WithClock(now func() time.Time) Option {
	return func(o *core.Options) {
		if now == nil {
			o.Errs = append(o.Errs, errors.New("WithClock: nil clock"))
			return
		}
		o.Clock = now
	}
}

// WithKeyGenerator sets the function that generates the id part of
// server-assigned string keys (the key is Schema.KeyPrefix + id); it is an
// error with an integer key, whose values come from a counter. The default
// returns a time-ordered UUIDv7 (a millisecond timestamp, a counter and 62
// bits from crypto/rand), so that key order is creation order. If a generated
// key is already in use the store asks for another a few times before giving
// up with codes.Internal.
func WithKeyGenerator(gen func() string) Option {
	return func(o *core.Options) {
		if gen == nil {
			o.Errs = append(o.Errs, errors.New("WithKeyGenerator: nil generator"))
			return
		}
		o.KeyGen = gen
	}
}

// WithMaxPageSize sets the largest page List returns; larger requests are
// clamped to it. The default is [MaxPageSize]. n must be positive.
func WithMaxPageSize(n int) Option {
	return func(o *core.Options) {
		if n < 1 {
			o.Errs = append(o.Errs, errors.New("WithMaxPageSize: page size must be positive"))
			return
		}
		o.MaxPageSize = n
	}
}

// WithDefaultPageSize sets the page size List uses when asked for 0. The
// default is [DefaultPageSize], lowered to the maximum page size when that is
// smaller. n must be positive and not above the maximum page size.
func WithDefaultPageSize(n int) Option {
	return func(o *core.Options) {
		if n < 1 {
			o.Errs = append(o.Errs, errors.New("WithDefaultPageSize: page size must be positive"))
			return
		}
		o.DefaultPageSize = n
		o.DefaultSet = true
	}
}

// WithMaxPageBytes sets the byte budget of a List page (see
// [DefaultMaxPageBytes] for how items are counted). A server that raises
// or lowers its message size limits should set it a little below the
// smaller of its own send limit and its clients' receive limit. n must be
// positive.
func WithMaxPageBytes(n int) Option {
	return func(o *core.Options) {
		if n < 1 {
			o.Errs = append(o.Errs, errors.New("WithMaxPageBytes: byte budget must be positive"))
			return
		}
		o.MaxPageBytes = n
	}
}

// WithMaxScan sets how many resources that fail its filter a List page may
// pass over before it ends early: the page then holds what it found (possibly
// nothing) and a next_page_token to continue from where it stopped, as
// AIP-158 allows. This bounds the cost of a page whose filter no index
// serves. The default is [DefaultMaxScan]; n must be positive.
func WithMaxScan(n int) Option {
	return func(o *core.Options) {
		if n < 1 {
			o.Errs = append(o.Errs, errors.New("WithMaxScan: scan bound must be positive"))
			return
		}
		o.MaxScan = n
	}
}

// DefaultMaxScan is the default of [WithMaxScan].
const DefaultMaxScan = core.DefaultMaxScan

// MinPageTokenKeyLen is the shortest key [WithPageTokenKey] accepts.
const MinPageTokenKeyLen = 16

// WithPageTokenKey sets the secret that authenticates page tokens. Without
// it every store draws a random secret, so its tokens are valid only in the
// process that issued them. Replicas of one service that share a database
// must share a key (at least [MinPageTokenKeyLen] bytes, e.g. 32 random
// bytes from a file every replica reads), so that a client may fetch page 1
// from one replica and page 2 from another. A token issued under another
// key is InvalidArgument, with a message saying the replicas' keys differ.
func WithPageTokenKey(key []byte) Option {
	return func(o *core.Options) {
		if len(key) < MinPageTokenKeyLen {
			o.Errs = append(o.Errs, fmt.Errorf("WithPageTokenKey: key has %d bytes, want at least %d", len(key), MinPageTokenKeyLen))
			return
		}
		o.PageTokenKey = append([]byte(nil), key...)
	}
}

// Filter restricts or orders a List. Build one with [KeyPrefix], [Equal],
// [Where] or [OrderBy]; several filters must all hold, and at most one
// orders. The zero Filter is invalid.
type Filter struct {
	spec core.FilterSpec
}

// KeyPrefix keeps only the resources whose key starts with p, such as the
// books of one shelf, "shelves/1/books/". It costs nothing beyond the page:
// stores seek to p in their key order and stop at the first key without it,
// O(log n + page size). Only for string keys (InvalidArgument otherwise).
func KeyPrefix(p string) Filter {
	return Filter{spec: core.FilterSpec{IsPrefix: true, Prefix: p}}
}

// Equal keeps only the resources whose field at path equals value. path
// names proto fields (not Go or JSON names), dotted through singular message
// fields ("status", "category.id"); a field behind an unset message has its
// default value. value must have the Go type of the field: string, bool,
// int32, int64, uint32, uint64, float32, float64 or []byte, and for an enum
// field the generated enum type or a protoreflect.EnumNumber. An unknown
// path, a repeated or map field, a message-typed leaf or a value of another
// type is InvalidArgument naming the path.
//
// Cost: stores evaluate Equal filters on the decoded message, so a page
// scans the resources in key order (after any KeyPrefix seek) and skips the
// ones that do not match: O(log n + scanned) per page, where scanned is
// every resource passed over to fill the page. A selective filter over a
// large collection therefore reads far more than it returns; give such
// lists a collection of their own (a key prefix) or a dedicated index in
// your own store.
func Equal(path string, value any) Filter {
	return Filter{spec: core.FilterSpec{Path: path, Value: value}}
}

// Where keeps only the resources matching an AIP-160 filter expression,
// checked against M's fields: comparisons (= != < <= > >=) on scalars,
// enums (by value name), timestamps (RFC 3339 strings) and durations
// ("1.5s"); nested fields ("price.minor_units"); ":" for presence
// ("f:*"), membership in a repeated field ("tags:blue") and map keys
// ("labels:env"), map values ("labels.env = prod"); AND, OR, NOT (or "-")
// and parentheses; and '*' at the start or end of a string value as a
// wildcard. A field behind an unset message has its default value; a
// comparison on a missing map key is false. An empty expression keeps
// everything. A bad expression or an unknown field is InvalidArgument
// naming its column.
//
// Cost: an equality on the first field of a declared index (Schema.Indexes),
// ANDed with the rest, is a seek; so is any filter on a listing ordered by
// an index. Every other filter is a scan in list order that passes over at
// most the store's scan bound of non-matching resources per page
// ([WithMaxScan]), so a page reads at most page size + scan bound.
func Where(filter string) Filter {
	return Filter{spec: core.FilterSpec{IsWhere: true, Where: filter}}
}

// OrderBy orders a List as an AIP-132 order_by says: comma-separated
// fields, each optionally followed by " desc". A listing may be ordered by
// its key ("name desc"), or by the leading fields of a declared index
// (Schema.Indexes), every field in the same direction; ties are broken by
// the index's remaining fields, then the key, in that direction. Anything
// else is InvalidArgument listing the orderings M supports. An empty
// order_by is key order.
func OrderBy(orderBy string) Filter {
	return Filter{spec: core.FilterSpec{IsOrder: true, OrderBy: orderBy}}
}

// Prefix returns the prefix of a [KeyPrefix] filter. It is for
// implementations of [Repository] in other packages.
func (f Filter) Prefix() (prefix string, ok bool) { return f.spec.Prefix, f.spec.IsPrefix }

// Field returns the path and value of an [Equal] filter. It is for
// implementations of [Repository] in other packages.
func (f Filter) Field() (path string, value any, ok bool) {
	return f.spec.Path, f.spec.Value, !f.spec.IsPrefix && !f.spec.IsWhere && !f.spec.IsOrder
}

// Expr returns the expression of a [Where] filter. It is for
// implementations of [Repository] in other packages.
func (f Filter) Expr() (filter string, ok bool) { return f.spec.Where, f.spec.IsWhere }

// Ordering returns the order_by of an [OrderBy] filter. It is for
// implementations of [Repository] in other packages.
func (f Filter) Ordering() (orderBy string, ok bool) { return f.spec.OrderBy, f.spec.IsOrder }

// FilterSpecs converts filters for the shared store machinery.
func FilterSpecs(filters []Filter) []core.FilterSpec {
	if len(filters) == 0 {
		return nil
	}
	out := make([]core.FilterSpec, len(filters))
	for i, f := range filters {
		out[i] = f.spec
	}
	return out
}
