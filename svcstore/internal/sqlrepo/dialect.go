// Package sqlrepo is the svcstore.Repository on database/sql that the
// PostgreSQL and SQLite stores share. What differs between the two databases
// (placeholders, column types, sequences, locking for migrations, error
// codes, change notification) sits behind Dialect; the queries, pagination,
// masks, etags and batches are written once here.
package sqlrepo

import (
	"context"
	"fmt"
	"regexp"
	"strconv"
	"strings"

	"github.com/svcgen/protoc-gen-svc/svcstore/internal/core"
)

// Dialect is what one database needs said differently.
type Dialect struct {
	Name string

	// Placeholder returns the n-th (1-based) bind parameter: "$1" or "?1".
	Placeholder func(n int) string

	// KeyType is the column type of string and integer keys. String keys
	// must compare bytewise, as Memory's do.
	StringKeyType, IntKeyType string
	BlobType, TimeType        string

	// InlineSequences: the database has SQL sequences (nextval/setval), so
	// keys and versions are drawn inside the writing statement, across
	// replicas. Otherwise Repo keeps counters in a table, inside the
	// writing transaction (one process: SQLite).
	InlineSequences bool

	// TxLock serialises Migrate across processes: it takes a lock held
	// until the transaction tx ends (pg_advisory_xact_lock on PostgreSQL),
	// and Migrate runs in that transaction. Nil: no lock needed.
	TxLock func(ctx context.Context, tx Querier, name string) error

	// ClassifyError maps a driver error to a status error, or returns nil
	// when it does not recognise it.
	ClassifyError func(err error) error

	// SendsAllRows: the server sends every row of a result, whether or
	// not the client reads it (PostgreSQL's protocol; pgx reads and drops
	// the rest when rows are closed early). List then asks the database to
	// leave out messages that cannot fit in the page, rather than stop
	// reading them.
	SendsAllRows bool

	// ColumnsQuery lists the column names of the table named by its one
	// parameter, in the current schema.
	ColumnsQuery string

	// Explain returns the database's plan for query, as text.
	Explain func(ctx context.Context, q Querier, query string, args ...any) (string, error)

	// Notify: writes announce themselves with pg_notify on the table's
	// channel, in the writing statement, so a change is announced exactly
	// when it commits.
	Notify bool
}

// Postgres and SQLite placeholders.
func DollarPlaceholder(n int) string   { return "$" + strconv.Itoa(n) }
func QuestionPlaceholder(n int) string { return "?" + strconv.Itoa(n) }

var tableName = regexp.MustCompile(`^[a-z_][a-z0-9_]{0,50}$`)

// DefaultTable derives a table name from a message's full name:
// "shop.v1.Product" becomes "shop_v1_product".
func DefaultTable(l *core.Layout) string {
	var b strings.Builder
	for _, r := range strings.ToLower(string(l.TypeName)) {
		switch {
		case r >= 'a' && r <= 'z', r >= '0' && r <= '9', r == '_':
			b.WriteRune(r)
		default:
			b.WriteByte('_')
		}
	}
	name := b.String()
	if len(name) > 50 {
		name = name[len(name)-50:]
	}
	if name == "" || name[0] >= '0' && name[0] <= '9' {
		name = "t_" + name
	}
	return name
}

// WithTable, WithoutMigrate and WithoutChangeFeed are the SQL stores'
// options, re-exported by pgstore and sqlitestore.
func WithTable(name string) func(*core.Options) {
	return func(o *core.Options) {
		o.SQL.Set = true
		if !tableName.MatchString(name) {
			o.Errs = append(o.Errs, fmt.Errorf("WithTable: %q is not a lower-case SQL identifier of at most 51 characters ([a-z_][a-z0-9_]*)", name))
			return
		}
		o.SQL.Table = name
	}
}

func WithoutMigrate() func(*core.Options) {
	return func(o *core.Options) { o.SQL.Set, o.SQL.SkipMigrate = true, true }
}

func WithoutChangeFeed() func(*core.Options) {
	return func(o *core.Options) { o.SQL.Set, o.SQL.NoChangeFeed = true, true }
}
