// Package sqlitestore is the svcstore.Repository on SQLite, through
// modernc.org/sqlite (pure Go, no cgo): one durable process, its data in a
// file. It passes the same contract suite (svcstore/storetest) as
// svcstore.Memory.
//
// Each resource type has its own table (see svcstore/pgstore for the
// layout, which is the same with SQLite's types: INTEGER or TEXT key, BLOB
// message). Keys and versions come from counter rows in the table
// svcstore_sequences, drawn in the writing transaction. Writes are
// serialised (SQLite has one writer), and the change feed is in-process:
// [Store.Watch] sees every write made through this Store, in commit order,
// and nothing written by another process.
//
//	db, err := sqlitestore.Open("shop.db")
//	products, err := sqlitestore.New[*shopv1.Product](ctx, db, shopv1.ProductSchema())
package sqlitestore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"strings"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"

	"github.com/svcgen/protoc-gen-svc/svcstore"
	"github.com/svcgen/protoc-gen-svc/svcstore/internal/sqlrepo"
)

// Store is a repository of M in one SQLite table. It implements
// svcstore.Repository and svcstore.Watcher.
type Store[M proto.Message] struct {
	*sqlrepo.Repo[M]
}

var (
	_ svcstore.Repository[proto.Message] = (*Store[proto.Message])(nil)
	_ svcstore.Watcher[proto.Message]    = (*Store[proto.Message])(nil)
)

var dialect = &sqlrepo.Dialect{
	Name:          "sqlite",
	Placeholder:   sqlrepo.QuestionPlaceholder,
	StringKeyType: "TEXT", // BINARY collation: bytewise, as Memory orders
	IntKeyType:    "INTEGER",
	BlobType:      "BLOB",
	TimeType:      "TIMESTAMP",
	ClassifyError: classify,
	ColumnsQuery:  "SELECT name FROM pragma_table_info(?1)",
	Explain:       explain,
}

// explain runs EXPLAIN QUERY PLAN and joins the detail of each step.
func explain(ctx context.Context, q sqlrepo.Querier, query string, args ...any) (string, error) {
	rows, err := q.Query(ctx, "EXPLAIN QUERY PLAN "+query, args...)
	if err != nil {
		return "", err
	}
	defer rows.Close()
	var b strings.Builder
	for rows.Next() {
		var id, parent, unused int64
		var detail string
		if err := rows.Scan(&id, &parent, &unused, &detail); err != nil {
			return "", err
		}
		b.WriteString(detail + "\n")
	}
	return b.String(), rows.Err()
}

// Open opens (creating it if needed) the SQLite database at path with the
// settings the stores rely on: write-ahead logging (readers do not block
// the writer), a busy timeout instead of immediate SQLITE_BUSY errors, and
// transactions that take the write lock when they begin, so two writers
// never deadlock upgrading their locks.
func Open(path string) (*sql.DB, error) {
	q := url.Values{}
	q.Add("_pragma", "busy_timeout(10000)")
	q.Add("_pragma", "journal_mode(WAL)")
	q.Add("_pragma", "synchronous(NORMAL)")
	q.Set("_txlock", "immediate")
	db, err := sql.Open("sqlite", "file:"+path+"?"+q.Encode())
	if err != nil {
		return nil, fmt.Errorf("sqlitestore: open %s: %w", path, err)
	}
	if err := db.Ping(); err != nil {
		db.Close()
		return nil, fmt.Errorf("sqlitestore: open %s: %w", path, err)
	}
	return db, nil
}

// New returns the repository of M in db (opened with [Open]), creating its
// table unless [WithoutMigrate] is given. It takes svcstore's options
// (page sizes and page byte budget, clock, key generator, page token key)
// and this package's.
func New[M proto.Message](ctx context.Context, db *sql.DB, schema svcstore.Schema, opts ...svcstore.Option) (*Store[M], error) {
	r, err := sqlrepo.New[M](ctx, sqlrepo.SQLDB(db), dialect, schema, opts)
	if err != nil {
		return nil, err
	}
	return &Store[M]{Repo: r}, nil
}

// WithTable names the table (default: the message's full name in lower
// case with dots as underscores, "shop_v1_product").
func WithTable(name string) svcstore.Option { return sqlrepo.WithTable(name) }

// WithoutMigrate skips creating the table: the caller manages the schema
// (see [Store.DDL]).
func WithoutMigrate() svcstore.Option { return sqlrepo.WithoutMigrate() }

func classify(err error) error {
	var se *sqlite.Error
	if !errors.As(err, &se) {
		return nil
	}
	switch se.Code() {
	case sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY, sqlite3.SQLITE_CONSTRAINT_UNIQUE:
		return status.Error(codes.AlreadyExists, "already exists")
	}
	switch se.Code() & 0xff {
	case sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED:
		return status.Error(codes.Unavailable, "database is busy; retry")
	case sqlite3.SQLITE_FULL:
		return status.Error(codes.ResourceExhausted, "database or disk is full")
	case sqlite3.SQLITE_CONSTRAINT:
		return status.Error(codes.FailedPrecondition, "constraint violated")
	case sqlite3.SQLITE_READONLY, sqlite3.SQLITE_CANTOPEN, sqlite3.SQLITE_IOERR:
		return status.Error(codes.Unavailable, "database unavailable")
	case sqlite3.SQLITE_CORRUPT, sqlite3.SQLITE_NOTADB:
		return status.Error(codes.DataLoss, "database file is corrupt")
	}
	return nil
}
