package sqlrepo

import (
	"context"
	"database/sql"
	"errors"
)

// DB is the little of a database Repo uses, so that PostgreSQL can be
// driven through pgx directly (no database/sql layer on the hot path) and
// SQLite through database/sql, with the same queries.
type DB interface {
	Querier
	// Begin starts a transaction.
	Begin(ctx context.Context) (Tx, error)
	// WithConn runs fn on one dedicated connection (for session state such
	// as an advisory lock).
	WithConn(ctx context.Context, fn func(q Querier) error) error
}

// Querier runs statements.
type Querier interface {
	QueryRow(ctx context.Context, query string, args ...any) Row
	Query(ctx context.Context, query string, args ...any) (Rows, error)
	Exec(ctx context.Context, query string, args ...any) error
}

// Tx is a transaction.
type Tx interface {
	Querier
	Commit(ctx context.Context) error
	Rollback(ctx context.Context) error
}

// Row is one result row; Scan returns ErrNoRows when there is none.
type Row interface{ Scan(dest ...any) error }

// Rows iterates over results.
type Rows interface {
	Next() bool
	Scan(dest ...any) error
	Err() error
	Close()
}

// ErrNoRows is what Row.Scan returns for an empty result, whatever the
// driver.
var ErrNoRows = errors.New("no rows in result set")

// SQLDB adapts a *sql.DB.
func SQLDB(db *sql.DB) DB { return sqlDB{db} }

type sqlDB struct{ db *sql.DB }

type sqlQuerier interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

type sqlQ struct{ q sqlQuerier }

func (q sqlQ) QueryRow(ctx context.Context, query string, args ...any) Row {
	return sqlRow{q.q.QueryRowContext(ctx, query, args...)}
}

func (q sqlQ) Query(ctx context.Context, query string, args ...any) (Rows, error) {
	rows, err := q.q.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	return sqlRows{rows}, nil
}

func (q sqlQ) Exec(ctx context.Context, query string, args ...any) error {
	_, err := q.q.ExecContext(ctx, query, args...)
	return err
}

type sqlRow struct{ r *sql.Row }

func (r sqlRow) Scan(dest ...any) error {
	err := r.r.Scan(dest...)
	if errors.Is(err, sql.ErrNoRows) {
		return ErrNoRows
	}
	return err
}

type sqlRows struct{ *sql.Rows }

func (r sqlRows) Close() { r.Rows.Close() }

func (d sqlDB) QueryRow(ctx context.Context, query string, args ...any) Row {
	return sqlQ{d.db}.QueryRow(ctx, query, args...)
}

func (d sqlDB) Query(ctx context.Context, query string, args ...any) (Rows, error) {
	return sqlQ{d.db}.Query(ctx, query, args...)
}

func (d sqlDB) Exec(ctx context.Context, query string, args ...any) error {
	return sqlQ{d.db}.Exec(ctx, query, args...)
}

func (d sqlDB) Begin(ctx context.Context) (Tx, error) {
	tx, err := d.db.BeginTx(ctx, nil)
	if err != nil {
		return nil, err
	}
	return sqlTx{sqlQ{tx}, tx}, nil
}

func (d sqlDB) WithConn(ctx context.Context, fn func(q Querier) error) error {
	conn, err := d.db.Conn(ctx)
	if err != nil {
		return err
	}
	defer conn.Close()
	return fn(sqlQ{conn})
}

type sqlTx struct {
	sqlQ
	tx *sql.Tx
}

func (t sqlTx) Commit(context.Context) error   { return t.tx.Commit() }
func (t sqlTx) Rollback(context.Context) error { return t.tx.Rollback() }
