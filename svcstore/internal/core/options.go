package core

import (
	"errors"
	"fmt"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// Page-size limits of List (exported by svcstore as DefaultPageSize and
// MaxPageSize).
const (
	DefaultPageSize = 50
	MaxPageSize     = 1000
)

// Options are the settings every store takes (svcstore.Option sets them).
type Options struct {
	Clock           func() time.Time
	KeyGen          func() string
	MaxPageSize     int
	DefaultPageSize int
	DefaultSet      bool
	MaxPageBytes    int
	MaxScan         int
	PageTokenKey    []byte
	Errs            []error

	// SQL stores only; Memory rejects them.
	SQL SQLOptions
}

// SQLOptions are the settings of the database-backed stores.
type SQLOptions struct {
	Set          bool   // some SQL option was given
	Table        string // table name; default from the message's full name
	SkipMigrate  bool   // the caller creates the table itself
	NoChangeFeed bool   // no LISTEN/NOTIFY (CockroachDB, YugabyteDB)

	// Reads and Listen are the dialect's databases for reads that may lag
	// (replicas) and for the change feed's listener; nil for the main one.
	// Typed by the dialect package (sqlrepo.DB, *pgxpool.Pool).
	Reads, Listen any
}

// Settings are Options checked and completed with defaults.
type Settings struct {
	Clock           func() time.Time
	KeyGen          func() string // nil when none was given
	MaxPageSize     int
	DefaultPageSize int
	MaxPageBytes    int
	MaxScan         int // resources a page may pass over without a match
	PageTokenKey    []byte
}

// Resolve checks o and fills in the defaults. sqlStore says whether the
// SQL-only options are allowed.
func (o *Options) Resolve(l *Layout, sqlStore bool) (Settings, error) {
	if len(o.Errs) > 0 {
		return Settings{}, fmt.Errorf("svcstore: %s: %w", l.TypeName, errors.Join(o.Errs...))
	}
	s := Settings{Clock: time.Now, KeyGen: o.KeyGen, MaxPageSize: MaxPageSize, MaxPageBytes: DefaultMaxPageBytes, MaxScan: DefaultMaxScan, PageTokenKey: o.PageTokenKey}
	if o.Clock != nil {
		s.Clock = o.Clock
	}
	if o.SQL.Set && !sqlStore {
		return Settings{}, fmt.Errorf("svcstore: %s: the SQL stores' options (WithTable, WithoutMigrate, WithoutChangeFeed, WithReadPool, WithListenPool) do not apply to svcstore.Memory", l.TypeName)
	}
	if o.KeyGen != nil && l.IntKey() {
		return Settings{}, fmt.Errorf("svcstore: %s: WithKeyGenerator applies to string keys; %s is %s and keys come from a counter",
			l.TypeName, l.KeyFD.Name(), l.KeyFD.Kind())
	}
	if o.MaxPageSize != 0 {
		s.MaxPageSize = o.MaxPageSize
	}
	if o.MaxScan != 0 {
		s.MaxScan = o.MaxScan
	}
	if o.MaxPageBytes != 0 {
		s.MaxPageBytes = o.MaxPageBytes
	}
	switch {
	case o.DefaultSet && o.DefaultPageSize > s.MaxPageSize:
		return Settings{}, fmt.Errorf("svcstore: %s: default page size %d exceeds maximum page size %d",
			l.TypeName, o.DefaultPageSize, s.MaxPageSize)
	case o.DefaultSet:
		s.DefaultPageSize = o.DefaultPageSize
	default:
		s.DefaultPageSize = min(DefaultPageSize, s.MaxPageSize)
	}
	return s, nil
}

// PageSize applies the page-size rules of List: 0 is the default, above the
// maximum is clamped, negative is InvalidArgument.
func (s *Settings) PageSize(l *Layout, size int) (int, error) {
	switch {
	case size < 0:
		return 0, status.Errorf(codes.InvalidArgument, "list %s: page_size must not be negative, got %d", l.TypeName, size)
	case size == 0:
		return s.DefaultPageSize, nil
	case size > s.MaxPageSize:
		return s.MaxPageSize, nil
	}
	return size, nil
}

// CtxErr turns a finished context into the matching status error, so a
// caller whose deadline has passed gets DeadlineExceeded, as from a server.
func CtxErr(err error) error {
	if err != nil {
		return status.FromContextError(err).Err()
	}
	return nil
}
