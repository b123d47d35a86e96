package svcstore

import (
	"context"
	"errors"
	"time"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/fieldmaskpb"
)

// Page-size limits of List. A page size of 0 asks for DefaultPageSize; a page
// size above MaxPageSize is clamped to MaxPageSize rather than rejected, as
// AIP-158 recommends. Both can be changed per store with [WithDefaultPageSize]
// and [WithMaxPageSize].
const (
	DefaultPageSize = 50
	MaxPageSize     = 1000
)

// Repository is the storage interface generated skeletons serve standard
// methods from. Keys are the values of the message's key field (see
// [Schema]). Every error is a gRPC status error; the package documentation
// lists the codes. Implementations must be safe for concurrent use and must
// not retain or return messages that alias the caller's.
//
// The package svcstore/storetest is the executable specification of this
// interface.
type Repository[M proto.Message] interface {
	// Get returns the resource stored under key, or NotFound.
	Get(ctx context.Context, key string) (M, error)

	// List returns up to pageSize resources in ascending key order, starting
	// after the position recorded in pageToken ("" for the first page), and
	// the token of the next page, which is "" when there are no more.
	// A pageSize of 0 means the default; larger than the maximum is clamped.
	List(ctx context.Context, pageSize int, pageToken string) (items []M, nextPageToken string, err error)

	// Create stores msg and returns it as stored, with its key (assigned by
	// the server when msg's key field is empty), etag and timestamps set.
	// It fails with AlreadyExists when the key is in use.
	Create(ctx context.Context, msg M) (M, error)

	// Update applies msg to the resource with msg's key, restricted to the
	// paths of mask; a nil or empty mask replaces every mutable field.
	// When msg carries a non-empty etag that differs from the stored one it
	// fails with Aborted. It returns the resource as stored.
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
	// KeyField is the singular string field holding the key, usually "name"
	// or "id". Required.
	KeyField string

	// KeyPrefix is prepended to generated ids to form server-assigned keys,
	// e.g. "shelves/" gives keys like "shelves/<id>". Optional.
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
}

// Option configures a store created by [New].
type Option func(*options)

type options struct {
	clock           func() time.Time
	keyGen          func() string
	maxPageSize     int
	defaultPageSize int
	defaultSet      bool
	errs            []error
}

// WithClock sets the clock that stamps create and update times. The default
// is time.Now. Tests inject a fake clock to get exact, reproducible values.
func WithClock(now func() time.Time) Option {
	return func(o *options) {
		if now == nil {
			o.errs = append(o.errs, errors.New("WithClock: nil clock"))
			return
		}
		o.clock = now
	}
}

// WithKeyGenerator sets the function that generates the id part of
// server-assigned keys (the key is Schema.KeyPrefix + id). The default
// returns a random UUIDv4-shaped string read from crypto/rand. If a generated
// key is already in use the store asks for another a few times before giving
// up with codes.Internal.
func WithKeyGenerator(gen func() string) Option {
	return func(o *options) {
		if gen == nil {
			o.errs = append(o.errs, errors.New("WithKeyGenerator: nil generator"))
			return
		}
		o.keyGen = gen
	}
}

// WithMaxPageSize sets the largest page List returns; larger requests are
// clamped to it. The default is [MaxPageSize]. n must be positive.
func WithMaxPageSize(n int) Option {
	return func(o *options) {
		if n < 1 {
			o.errs = append(o.errs, errors.New("WithMaxPageSize: page size must be positive"))
			return
		}
		o.maxPageSize = n
	}
}

// WithDefaultPageSize sets the page size List uses when asked for 0. The
// default is [DefaultPageSize], lowered to the maximum page size when that is
// smaller. n must be positive and not above the maximum page size.
func WithDefaultPageSize(n int) Option {
	return func(o *options) {
		if n < 1 {
			o.errs = append(o.errs, errors.New("WithDefaultPageSize: page size must be positive"))
			return
		}
		o.defaultPageSize = n
		o.defaultSet = true
	}
}
