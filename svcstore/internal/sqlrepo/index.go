package sqlrepo

import (
	"context"
	"fmt"
	"hash/fnv"
	"strings"

	"github.com/svcgen/protoc-gen-svc/svcstore/internal/core"
)

// Secondary indexes (svcstore.Schema.Indexes) are one column each, holding
// the order-preserving, prefix-free encoding of the index's values
// (core.Layout.IndexValues), with a B-tree on (column, resource_key). One
// byte string per index, rather than a typed column per field, because:
//
//   - the encoding is the one Memory orders by, so every store sorts alike
//     (bytewise: bytea and BLOB compare with memcmp in PostgreSQL,
//     CockroachDB, YugabyteDB and SQLite), whatever the field's type —
//     enums by number, Timestamps and Durations, unsigned 64-bit integers
//     that no SQL integer type holds;
//   - a composite index is one column, so an ordering of several fields,
//     a filter that fixes the leading ones, and the keyset cursor are each
//     a single range on it: (column, resource_key) > ($1, $2);
//   - the filter's conditions on an index become ranges of encodings
//     (core.Query.IndexBounds), bound as parameters: no value is ever
//     written into the SQL text.
//
// The columns are filled by Repo's writes; Migrate adds a missing one and
// backfills it from the stored messages.

// backfillBatch is how many rows Migrate indexes per statement batch.
const backfillBatch = 500

// ixColumn is the column of index i: named by a hash of its declaration, so
// renaming nothing but the order of declarations keeps the column, and a
// changed declaration gets a new one.
func (r *Repo[M]) ixColumn(i int) string {
	h := fnv.New32a()
	h.Write([]byte(r.l.Indexes[i].Spec))
	return fmt.Sprintf("ix_%08x", h.Sum32())
}

// ixValues returns each index's column value for msg (as stored).
func (r *Repo[M]) ixValues(msg M) []any {
	vals := make([]any, len(r.l.Indexes))
	for i := range r.l.Indexes {
		vals[i] = r.l.IndexValues(i, msg.ProtoReflect())
	}
	return vals
}

// migrateIndexes adds the columns and B-trees of the schema's indexes that
// the table lacks, and fills columns that have no value yet (rows written
// before the index was declared).
func (r *Repo[M]) migrateIndexes(ctx context.Context, conn Querier) error {
	if len(r.l.Indexes) == 0 {
		return nil
	}
	have := map[string]bool{}
	rows, err := conn.Query(ctx, r.d.ColumnsQuery, r.table)
	if err != nil {
		return err
	}
	for rows.Next() {
		var name string
		if err := rows.Scan(&name); err != nil {
			rows.Close()
			return err
		}
		have[strings.ToLower(name)] = true
	}
	err = rows.Err()
	rows.Close()
	if err != nil {
		return err
	}
	for i := range r.l.Indexes {
		col := r.ixColumn(i)
		if !have[col] {
			if err := conn.Exec(ctx, "ALTER TABLE "+r.table+" ADD COLUMN "+col+" "+r.d.BlobType); err != nil {
				return err
			}
		}
		if err := conn.Exec(ctx, "CREATE INDEX IF NOT EXISTS "+r.table+"_"+col+" ON "+r.table+" ("+col+", resource_key)"); err != nil {
			return err
		}
	}
	return r.backfill(ctx, conn)
}

// backfill computes the index columns of rows that lack one, in key order
// and in batches. A row rewritten meanwhile (its version moved) is left
// alone: the write that moved it set its columns.
func (r *Repo[M]) backfill(ctx context.Context, conn Querier) error {
	var missing []string
	for i := range r.l.Indexes {
		missing = append(missing, r.ixColumn(i)+" IS NULL")
	}
	var after any
	for {
		var args []any
		arg := func(v any) string { args = append(args, v); return r.d.Placeholder(len(args)) }
		query := "SELECT resource_key, message, version FROM " + r.table + " WHERE (" + strings.Join(missing, " OR ") + ")"
		if after != nil {
			query += " AND resource_key > " + arg(after)
		}
		query += " ORDER BY resource_key LIMIT " + arg(backfillBatch)
		type row struct {
			col     any
			msg     M
			version int64
		}
		var batch []row
		rows, err := conn.Query(ctx, query, args...)
		if err != nil {
			return err
		}
		for rows.Next() {
			var col any
			var data []byte
			var version int64
			if err := rows.Scan(&col, &data, &version); err != nil {
				rows.Close()
				return err
			}
			k, err := r.keyFromColumn(col)
			if err != nil {
				rows.Close()
				return err
			}
			msg, err := r.decode(k, data, version)
			if err != nil {
				rows.Close()
				return fmt.Errorf("row %s: %v", core.Quote(k.Text), err)
			}
			keyCol, err := r.sqlKey(k)
			if err != nil {
				rows.Close()
				return err
			}
			batch = append(batch, row{col: keyCol, msg: msg, version: version})
		}
		err = rows.Err()
		rows.Close()
		if err != nil {
			return err
		}
		for _, b := range batch {
			var uargs []any
			uarg := func(v any) string { uargs = append(uargs, v); return r.d.Placeholder(len(uargs)) }
			var set []string
			for i, v := range r.ixValues(b.msg) {
				set = append(set, r.ixColumn(i)+" = "+uarg(v))
			}
			stmt := "UPDATE " + r.table + " SET " + strings.Join(set, ", ") +
				" WHERE resource_key = " + uarg(b.col) + " AND version = " + uarg(b.version)
			if err := conn.Exec(ctx, stmt, uargs...); err != nil {
				return err
			}
			after = b.col
		}
		if len(batch) < backfillBatch {
			return nil
		}
	}
}
