package pgstore

import (
	"context"
	"errors"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/svcgen/protoc-gen-svc/svcstore/internal/sqlrepo"
)

// pgxDB drives the shared SQL repository through pgx directly: statements
// are prepared and cached per connection by pgx, and no database/sql layer
// sits between the store and the pool.
type pgxDB struct{ pool *pgxpool.Pool }

type pgxQ struct {
	query    func(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
	queryRow func(ctx context.Context, sql string, args ...any) pgx.Row
	exec     func(ctx context.Context, sql string, args ...any) error
}

func (q pgxQ) QueryRow(ctx context.Context, query string, args ...any) sqlrepo.Row {
	return pgxRow{q.queryRow(ctx, query, args...)}
}

func (q pgxQ) Query(ctx context.Context, query string, args ...any) (sqlrepo.Rows, error) {
	rows, err := q.query(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	return rows, nil
}

func (q pgxQ) Exec(ctx context.Context, query string, args ...any) error {
	return q.exec(ctx, query, args...)
}

type pgxRow struct{ r pgx.Row }

func (r pgxRow) Scan(dest ...any) error {
	err := r.r.Scan(dest...)
	if errors.Is(err, pgx.ErrNoRows) {
		return sqlrepo.ErrNoRows
	}
	return err
}

// conn is what *pgxpool.Pool, *pgxpool.Conn and pgx.Tx have in common.
type conn interface {
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
}

func querier(c conn, exec func(ctx context.Context, sql string, args ...any) error) pgxQ {
	return pgxQ{query: c.Query, queryRow: c.QueryRow, exec: exec}
}

func (d pgxDB) q() pgxQ {
	return querier(d.pool, func(ctx context.Context, sql string, args ...any) error {
		_, err := d.pool.Exec(ctx, sql, args...)
		return err
	})
}

func (d pgxDB) QueryRow(ctx context.Context, query string, args ...any) sqlrepo.Row {
	return d.q().QueryRow(ctx, query, args...)
}

func (d pgxDB) Query(ctx context.Context, query string, args ...any) (sqlrepo.Rows, error) {
	return d.q().Query(ctx, query, args...)
}

func (d pgxDB) Exec(ctx context.Context, query string, args ...any) error {
	return d.q().Exec(ctx, query, args...)
}

func (d pgxDB) Begin(ctx context.Context) (sqlrepo.Tx, error) {
	tx, err := d.pool.Begin(ctx)
	if err != nil {
		return nil, err
	}
	return pgxTx{querier(tx, func(ctx context.Context, sql string, args ...any) error {
		_, err := tx.Exec(ctx, sql, args...)
		return err
	}), tx}, nil
}

func (d pgxDB) WithConn(ctx context.Context, fn func(q sqlrepo.Querier) error) error {
	c, err := d.pool.Acquire(ctx)
	if err != nil {
		return err
	}
	defer c.Release()
	return fn(querier(c, func(ctx context.Context, sql string, args ...any) error {
		_, err := c.Exec(ctx, sql, args...)
		return err
	}))
}

type pgxTx struct {
	pgxQ
	tx pgx.Tx
}

func (t pgxTx) Commit(ctx context.Context) error   { return t.tx.Commit(ctx) }
func (t pgxTx) Rollback(ctx context.Context) error { return t.tx.Rollback(ctx) }
