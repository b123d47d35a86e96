package sqlrepo

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"encoding/hex"
	"errors"
	"fmt"
	"iter"
	"math"
	"strconv"
	"strings"
	"sync"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/fieldmaskpb"

	"github.com/svcgen/protoc-gen-svc/svcstore"
	"github.com/svcgen/protoc-gen-svc/svcstore/internal/core"
)

// maxChunk bounds the rows one statement of a filtered List reads.
const maxChunk = 4096

// maxKeyAttempts bounds retries after a server-assigned key collided.
const maxKeyAttempts = 8

// maxUpdateAttempts bounds how often an unconditional Update re-reads after
// another writer changed the row between its read and its write.
const maxUpdateAttempts = 16

// notifyInline is the largest stored message sent inside a notification
// (hex doubles it; PostgreSQL's payload limit is 8000 bytes). Larger ones
// are read back by the watcher.
const notifyInline = 3500

// Repo is a svcstore.Repository over one table.
type Repo[M proto.Message] struct {
	l      *core.Layout
	set    core.Settings
	tokens *core.Tokens
	db     DB
	reads  DB // Get and List; db unless the store reads replicas
	d      *Dialect
	keyGen func() string

	table      string
	versionSeq string // sequence (or counter row) of versions
	keySeq     string // sequence (or counter row) of integer keys
	channel    string // notification channel; "" when not notifying

	// feed is the in-process change feed, used when the dialect does not
	// notify; writeMu then orders each write's commit and its publication,
	// so watchers see commit order.
	feed    *svcstore.Feed[M]
	writeMu sync.Mutex
}

// New opens a repository of M on db. Unless disabled by an option it
// creates the table (Migrate).
func New[M proto.Message](ctx context.Context, db DB, d *Dialect, schema svcstore.Schema, opts []svcstore.Option) (*Repo[M], error) {
	l, err := svcstore.NewLayout[M](schema)
	if err != nil {
		return nil, err
	}
	o := svcstore.ApplyOptions(opts...)
	set, err := o.Resolve(l, true)
	if err != nil {
		return nil, err
	}
	if db == nil {
		return nil, fmt.Errorf("svcstore/%s: %s: nil database", d.Name, l.TypeName)
	}
	r := &Repo[M]{l: l, set: set, db: db, reads: db, d: d, keyGen: set.KeyGen, table: o.SQL.Table}
	if reads, ok := o.SQL.Reads.(DB); ok && reads != nil {
		r.reads = reads
	}
	if r.keyGen == nil {
		r.keyGen = core.RandomID
	}
	if r.table == "" {
		r.table = DefaultTable(l)
	}
	r.versionSeq, r.keySeq = r.table+"_version_seq", r.table+"_key_seq"
	if d.Notify && !o.SQL.NoChangeFeed {
		r.channel = "svcstore_" + r.table
	}
	if !d.Notify {
		r.feed = svcstore.NewFeed[M]()
	}
	if r.tokens, err = core.NewTokens(string(l.TypeName), set.PageTokenKey); err != nil {
		return nil, err
	}
	if !o.SQL.SkipMigrate {
		if err := r.Migrate(ctx); err != nil {
			return nil, err
		}
	}
	return r, nil
}

// Layout, Table and Channel describe the repository to its dialect package.
func (r *Repo[M]) Layout() *core.Layout { return r.l }
func (r *Repo[M]) Table() string        { return r.table }
func (r *Repo[M]) Channel() string      { return r.channel }

// DDL returns the statements Migrate runs, each idempotent.
func (r *Repo[M]) DDL() []string {
	keyType := r.d.StringKeyType
	if r.l.IntKey() {
		keyType = r.d.IntKeyType
	}
	stmts := []string{fmt.Sprintf(`CREATE TABLE IF NOT EXISTS %s (
	resource_key %s NOT NULL PRIMARY KEY,
	message %s NOT NULL,
	version BIGINT NOT NULL,
	create_time %s NOT NULL,
	update_time %s NOT NULL
)`, r.table, keyType, r.d.BlobType, r.d.TimeType, r.d.TimeType)}
	seqs := []string{r.versionSeq}
	if r.l.IntKey() {
		seqs = append(seqs, r.keySeq)
	}
	for _, seq := range seqs {
		if r.d.InlineSequences {
			stmts = append(stmts, "CREATE SEQUENCE IF NOT EXISTS "+seq)
		} else {
			stmts = append(stmts,
				"CREATE TABLE IF NOT EXISTS svcstore_sequences (name TEXT NOT NULL PRIMARY KEY, value INTEGER NOT NULL)",
				"INSERT INTO svcstore_sequences (name, value) VALUES ('"+seq+"', 0) ON CONFLICT (name) DO NOTHING")
		}
	}
	return stmts
}

// Migrate creates the table and its sequences if they do not exist, and
// the columns and B-trees of the schema's indexes (backfilling a column
// added to a table that has rows; see index.go). It is
// idempotent, and safe to run from several processes at once where the
// dialect has a lock (an advisory lock on PostgreSQL).
func (r *Repo[M]) Migrate(ctx context.Context) error {
	migrate := func(conn Querier) error {
		for _, stmt := range r.DDL() {
			if err := conn.Exec(ctx, stmt); err != nil {
				return fmt.Errorf("svcstore/%s: migrate %s: %w", r.d.Name, r.table, err)
			}
		}
		if err := r.migrateIndexes(ctx, conn); err != nil {
			return fmt.Errorf("svcstore/%s: migrate %s: indexes: %w", r.d.Name, r.table, err)
		}
		return nil
	}
	if r.d.TxLock == nil {
		return r.db.WithConn(ctx, migrate)
	}
	// One transaction holding a transaction-scoped lock: DDL is
	// transactional in PostgreSQL, and the lock needs no session state, so
	// a pooler in transaction mode (pgbouncer) cannot split it.
	tx, err := r.db.Begin(ctx)
	if err != nil {
		return r.fail("migrate", "", err)
	}
	defer tx.Rollback(context.Background())
	if err := r.d.TxLock(ctx, tx, "svcstore migrate "+r.table); err != nil {
		return r.fail("migrate", "", err)
	}
	if err := migrate(tx); err != nil {
		return err
	}
	if err := tx.Commit(ctx); err != nil {
		return r.fail("migrate", "", err)
	}
	return nil
}

// --- reading -------------------------------------------------------------

// reader is the database a Get or List reads: the replicas' unless ctx asks
// for fresh reads (svcstore.ReadFresh).
func (r *Repo[M]) reader(ctx context.Context) DB {
	if svcstore.IsFresh(ctx) {
		return r.db
	}
	return r.reads
}

// sqlKey converts a validated key to its column value.
func (r *Repo[M]) sqlKey(k core.Key) (any, error) {
	switch r.l.KeyKind {
	case core.SignedKey:
		return k.Int, nil
	case core.UnsignedKey:
		if k.Uint > math.MaxInt64 {
			return nil, status.Errorf(codes.InvalidArgument, "%s: %s %s is out of range for the %s store (at most %d)",
				r.l.TypeName, r.l.KeyFD.Name(), k.Text, r.d.Name, int64(math.MaxInt64))
		}
		return int64(k.Uint), nil
	}
	return k.Text, nil
}

// keyFromColumn converts a scanned key column back.
func (r *Repo[M]) keyFromColumn(v any) (core.Key, error) {
	switch x := v.(type) {
	case int64:
		if r.l.KeyKind == core.UnsignedKey {
			return core.UintKey(uint64(x)), nil
		}
		return core.IntKey(x), nil
	case string:
		if r.l.IntKey() {
			return r.l.ParseKey(x)
		}
		return core.Key{Text: x}, nil
	case []byte:
		return r.keyFromColumn(string(x))
	}
	return core.Key{}, fmt.Errorf("unexpected key column type %T", v)
}

// decode rebuilds a resource from its row: the stored message carries
// neither key nor etag, the columns do.
func (r *Repo[M]) decode(k core.Key, data []byte, version int64) (M, error) {
	msg := r.l.MsgType.New().Interface().(M)
	if err := (proto.UnmarshalOptions{}).Unmarshal(data, msg); err != nil {
		var zero M
		return zero, status.Errorf(codes.DataLoss, "%s %s: stored message does not decode", r.l.TypeName, core.Quote(k.Text))
	}
	rm := msg.ProtoReflect()
	r.l.SetKey(rm, k)
	r.l.SetEtag(rm, uint64(version))
	return msg, nil
}

// encode is the stored form of a resource: without key and etag, which
// live in their columns (so keys and versions can be drawn by the database
// in the writing statement).
func (r *Repo[M]) encode(msg M) ([]byte, error) {
	c := proto.Clone(msg)
	cr := c.ProtoReflect()
	cr.Clear(r.l.KeyFD)
	if r.l.EtagFD != nil {
		cr.Clear(r.l.EtagFD)
	}
	b, err := proto.MarshalOptions{Deterministic: true}.Marshal(c)
	if err != nil {
		return nil, status.Errorf(codes.InvalidArgument, "%s: message does not encode: %v", r.l.TypeName, err)
	}
	return b, nil
}

// Get returns the resource stored under key.
func (r *Repo[M]) Get(ctx context.Context, key string) (M, error) {
	var zero M
	if err := core.CtxErr(ctx.Err()); err != nil {
		return zero, err
	}
	k, err := r.l.ParseKey(key)
	if err != nil {
		return zero, err
	}
	col, err := r.sqlKey(k)
	if err != nil {
		return zero, err
	}
	var data []byte
	var version int64
	err = r.reader(ctx).QueryRow(ctx, "SELECT message, version FROM "+r.table+" WHERE resource_key = "+r.d.Placeholder(1), col).Scan(&data, &version)
	if errors.Is(err, ErrNoRows) {
		return zero, r.l.NotFound(key)
	}
	if err != nil {
		return zero, r.fail("get", key, err)
	}
	return r.decode(k, data, version)
}

// List returns a page of resources in key order, or in the order of an
// ordering filter; see svcstore.Repository. The listing is one range scan
// of a B-tree, O(log n + page) whatever its depth: the primary key for key
// order (key prefixes are a key range), an index's column for an ordering
// (see index.go), resuming strictly after the token's position. The
// filter's conditions on indexed fields become ranges of index columns in
// the WHERE clause, so the database seeks them; the whole filter is then
// evaluated on each row read, and a page that passes over MaxScan rows
// without a match ends early, with a token after the last row read.
func (r *Repo[M]) List(ctx context.Context, pageSize int, pageToken string, filters ...svcstore.Filter) ([]M, string, error) {
	if err := core.CtxErr(ctx.Err()); err != nil {
		return nil, "", err
	}
	pageSize, err := r.set.PageSize(r.l, pageSize)
	if err != nil {
		return nil, "", err
	}
	q, err := r.l.CompileFilters(svcstore.FilterSpecs(filters))
	if err != nil {
		return nil, "", err
	}
	p := r.plan(q)
	if pageToken != "" {
		c, err := r.tokens.Decode(pageToken, q.Fingerprint)
		if err != nil {
			return nil, "", status.Errorf(codes.InvalidArgument, "list %s: invalid page_token: %v", r.l.TypeName, err)
		}
		if err := r.decodeCursor(q, &p, c); err != nil {
			return nil, "", err
		}
	}
	if q.None {
		return nil, "", nil
	}

	// The page ends at the first match that does not fit, by count or by
	// bytes: that match is how we know a next page exists. Rows are read in
	// chunks, the first of pageSize+1 rows (all a page needs when the
	// index ranges are the whole filter); with a filter, chunks are read
	// until enough rows match, the range ends or MaxScan rows failed the
	// filter, each larger than the last (up to maxChunk), so a selective
	// filter costs few round trips. Rows are sized before they are decoded,
	// and reading stops at the first that does not fit, so a page of huge
	// rows is never decoded whole.
	chunk := pageSize + 1
	db := r.reader(ctx)
	page := make([]M, 0, min(pageSize, 1024))
	budget := r.set.NewPageBudget()
	var last cursor // position of the page's last item, or the last row passed over
	more := false   // a further match, or rows not yet read, may exist
	skipped := 0    // rows read that failed the filter
	for !more {
		query, args := r.listQuery(q, &p, chunk)
		rows, err := db.Query(ctx, query, args...)
		if err != nil {
			return nil, "", r.fail("list", "", err)
		}
		n := 0        // rows read in this chunk
		left := false // the database left out a row's message (see listQuery)
		for rows.Next() {
			n++
			var col any
			var data, ixv []byte
			var version int64
			var sent bool
			dest := []any{&col, &version, &data, &sent}
			if p.orderCol != "" {
				dest = append(dest, &ixv)
			}
			if err := rows.Scan(dest...); err != nil {
				rows.Close()
				return nil, "", r.fail("list", "", err)
			}
			k, err := r.keyFromColumn(col)
			if err != nil {
				rows.Close()
				return nil, "", status.Errorf(codes.Internal, "list %s: %v", r.l.TypeName, err)
			}
			if !sent {
				left = true
				break
			}
			keyCol, _ := r.sqlKey(k)
			here := cursor{key: k, keyCol: keyCol, ix: ixv, set: true}
			p.after = here
			size := len(data) + r.l.KeyEtagSize(k, uint64(version))
			var msg M
			if q.HasCond() {
				if msg, err = r.decode(k, data, version); err != nil {
					rows.Close()
					return nil, "", err
				}
				if !q.Match(msg.ProtoReflect()) {
					if skipped++; skipped >= r.set.MaxScan {
						last, more = here, true
						break
					}
					continue
				}
			}
			if len(page) == pageSize || !budget.Take(size) {
				more = true
				break
			}
			if !q.HasCond() {
				if msg, err = r.decode(k, data, version); err != nil {
					rows.Close()
					return nil, "", err
				}
			}
			page = append(page, msg)
			last = here
		}
		err = rows.Err()
		rows.Close()
		if err != nil {
			return nil, "", r.fail("list", "", err)
		}
		switch {
		case more:
		case left && !q.HasCond():
			// Every row before the left-out one is on the page, and their
			// messages alone reach the budget: the left-out row exists and
			// cannot fit.
			more = true
		case left:
			// Rows before it were skipped by the filter, so it may still
			// fit: read on from it, with a fresh running sum.
			continue
		case n == chunk:
			if q.HasCond() {
				chunk = min(max(chunk*4, 256), maxChunk)
			}
			continue
		}
		break
	}
	var next string
	if more && last.set {
		c := last.key.Text
		if p.orderCol != "" && !p.exact {
			c = string(last.ix) + r.l.SortKey(last.key)
		}
		next = r.tokens.Encode(c, q.Fingerprint)
	}
	return page, next, nil
}

// cursor is a position in a listing: a row's key (as text and as its column
// value) and, when the listing follows an index, the row's index column.
type cursor struct {
	key    core.Key
	keyCol any
	ix     []byte
	set    bool
}

// listPlan is how a List reads: the index column it orders by ("" for the
// key), the direction, the index ranges the filter implies, and where the
// next chunk starts.
type listPlan struct {
	orderCol string
	// exact: key order, read from orderCol, an index whose every field
	// the filter fixes (its entries with those values are in key order;
	// ordering by the column too lets the planner see the index serves
	// the order). exactLo is that column's one value. Tokens hold keys.
	exact   bool
	exactLo []byte
	desc    bool
	ranges  []ixRange
	after   cursor
}

type ixRange struct {
	col string
	b   core.Bounds
}

func (r *Repo[M]) plan(q *core.Query) listPlan {
	p := listPlan{desc: q.Desc}
	if q.OrderIndex >= 0 {
		p.orderCol = r.ixColumn(q.OrderIndex)
	}
	for i := range r.l.Indexes {
		b, ok := q.IndexBounds(i)
		if !ok {
			continue
		}
		p.ranges = append(p.ranges, ixRange{col: r.ixColumn(i), b: b})
		if b.Exact && p.orderCol == "" {
			p.orderCol, p.exact, p.exactLo = r.ixColumn(i), true, []byte(b.Lo)
		}
	}
	return p
}

// decodeCursor sets p.after from a page token's position.
func (r *Repo[M]) decodeCursor(q *core.Query, p *listPlan, c string) error {
	invalid := status.Errorf(codes.InvalidArgument, "list %s: invalid page_token", r.l.TypeName)
	values, keyText, err := q.DecodeCursor(c)
	if err != nil {
		return invalid // authentic tokens always decode
	}
	k, err := r.l.ParseKey(keyText)
	if err != nil {
		return invalid
	}
	keyCol, err := r.sqlKey(k)
	if err != nil {
		return err
	}
	p.after = cursor{key: k, keyCol: keyCol, set: true}
	switch {
	case p.exact:
		p.after.ix = p.exactLo
	case p.orderCol != "":
		p.after.ix = []byte(r.l.IndexPrefix(values...))
	}
	return nil
}

// listQuery is the SELECT of one chunk of a List: up to limit rows after
// p.after in p's order, within the key prefix and the index ranges, as
// resource key, version, message, whether the message was sent and (when
// ordered by an index) the index column. Every value is a parameter.
//
// Dialects whose server sends every row of a result whether or not the
// client reads it (PostgreSQL) send the message only while the messages
// before it in the chunk add up to less than the page's byte budget. That
// running sum counts stored bytes, which are fewer than the bytes an item
// costs in a page (key, etag, tag and length prefix come on top), so a row
// whose message is left out could never have fitted after the rows before
// it; the page's byte accounting is still done exactly, in List. The
// running sum does not cost a scan: PostgreSQL computes the window as the
// index scan streams rows, and the scan stops at the limit (EXPLAIN ANALYZE
// shows the index scan reading limit rows). Elsewhere (SQLite, which
// computes rows only as they are read) every message is sent: List stops
// reading at the first row that does not fit.
func (r *Repo[M]) listQuery(q *core.Query, p *listPlan, limit int) (string, []any) {
	var args []any
	arg := func(v any) string { args = append(args, v); return r.d.Placeholder(len(args)) }
	var where strings.Builder
	where.WriteString(" WHERE 1=1")
	if q.Prefix != "" {
		where.WriteString(" AND resource_key >= " + arg(q.Prefix))
		if end, ok := core.PrefixEnd(q.Prefix); ok {
			where.WriteString(" AND resource_key < " + arg(end))
		}
	}
	for _, x := range p.ranges {
		switch {
		case x.b.Exact:
			where.WriteString(" AND " + x.col + " = " + arg([]byte(x.b.Lo)))
		default:
			if x.b.Lo != "" {
				where.WriteString(" AND " + x.col + " >= " + arg([]byte(x.b.Lo)))
			}
			if x.b.Hi != "" {
				where.WriteString(" AND " + x.col + " < " + arg([]byte(x.b.Hi)))
			}
		}
	}
	cmp, dir := " > ", ""
	if p.desc {
		cmp, dir = " < ", " DESC"
	}
	order := "resource_key" + dir
	ord := ""
	if p.orderCol != "" {
		order = p.orderCol + dir + ", " + order
		ord = ", " + p.orderCol
	}
	if p.after.set {
		if p.orderCol != "" {
			where.WriteString(" AND (" + p.orderCol + ", resource_key)" + cmp + "(" + arg(p.after.ix) + ", " + arg(p.after.keyCol) + ")")
		} else {
			where.WriteString(" AND resource_key" + cmp + arg(p.after.keyCol))
		}
	}
	if !r.d.SendsAllRows {
		return "SELECT resource_key, version, message, TRUE" + ord + " FROM " + r.table + where.String() +
			" ORDER BY " + order + " LIMIT " + arg(limit), args
	}
	budget := arg(r.set.MaxPageBytes)
	inner := "SELECT resource_key, version, message" + ord + ", COALESCE(SUM(LENGTH(message)) OVER " +
		"(ORDER BY " + order + " ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING), 0) AS before FROM " +
		r.table + where.String() + " ORDER BY " + order + " LIMIT " + arg(limit)
	return "SELECT resource_key, version, CASE WHEN before < " + budget + " THEN message END, before < " + budget + ord +
		" FROM (" + inner + ") AS chunk ORDER BY " + order, args
}

// ExplainList returns the database's plan for the first chunk of a List
// with these filters (EXPLAIN on PostgreSQL, EXPLAIN QUERY PLAN on SQLite):
// which index it seeks, for tests and for operators sizing a filter.
func (r *Repo[M]) ExplainList(ctx context.Context, pageSize int, filters ...svcstore.Filter) (string, error) {
	pageSize, err := r.set.PageSize(r.l, pageSize)
	if err != nil {
		return "", err
	}
	q, err := r.l.CompileFilters(svcstore.FilterSpecs(filters))
	if err != nil {
		return "", err
	}
	p := r.plan(q)
	query, args := r.listQuery(q, &p, pageSize+1)
	plan, err := r.d.Explain(ctx, r.db, query, args...)
	if err != nil {
		return "", r.fail("explain", "", err)
	}
	return plan, nil
}

// --- writing -------------------------------------------------------------

// write runs fn, in a transaction unless single says one statement on the
// pool is enough (databases with inline sequences). Without notification
// it holds writeMu so that commits and their publication keep one order.
func (r *Repo[M]) write(ctx context.Context, single bool, fn func(q Querier) ([]svcstore.Change[M], error)) error {
	if r.feed != nil {
		r.writeMu.Lock()
		defer r.writeMu.Unlock()
	}
	var changes []svcstore.Change[M]
	if single && r.d.InlineSequences {
		var err error
		if changes, err = fn(r.db); err != nil {
			return err
		}
	} else {
		tx, err := r.db.Begin(ctx)
		if err != nil {
			return r.fail("begin", "", err)
		}
		if changes, err = fn(tx); err != nil {
			tx.Rollback(context.Background())
			return err
		}
		if err := tx.Commit(ctx); err != nil {
			return r.fail("commit", "", err)
		}
	}
	if r.feed != nil {
		for _, c := range changes {
			r.feed.Publish(c)
		}
	}
	return nil
}

// nextVal returns the SQL expression for the next value of seq: nextval
// inline, or a value drawn from the counter table in q (a transaction).
func (r *Repo[M]) nextVal(ctx context.Context, q Querier, seq string, arg func(any) string) (string, error) {
	if r.d.InlineSequences {
		return "nextval('" + seq + "')", nil
	}
	var v int64
	err := q.QueryRow(ctx, "UPDATE svcstore_sequences SET value = value + 1 WHERE name = "+r.d.Placeholder(1)+" RETURNING value", seq).Scan(&v)
	if err != nil {
		return "", r.fail("sequence", "", err)
	}
	return arg(v), nil
}

// advanceKeySeq moves the integer key sequence to at least v, so that an
// explicitly chosen key is never assigned later. On PostgreSQL nextval and
// setval are not transactional; two racing calls may leave the sequence
// below the larger key, which Create repairs when an assigned key collides.
func (r *Repo[M]) advanceKeySeq(ctx context.Context, q Querier, v int64) error {
	var err error
	if r.d.InlineSequences {
		err = q.Exec(ctx, "SELECT CASE WHEN nextval('"+r.keySeq+"') < $1 THEN setval('"+r.keySeq+"', $1) END", v)
	} else {
		err = q.Exec(ctx, "UPDATE svcstore_sequences SET value = MAX(value, "+r.d.Placeholder(2)+") WHERE name = "+r.d.Placeholder(1), r.keySeq, v)
	}
	if err != nil {
		return r.fail("sequence", "", err)
	}
	return nil
}

// repairKeySeq moves the key sequence past the largest stored key.
func (r *Repo[M]) repairKeySeq(ctx context.Context) error {
	var maxKey *int64
	if err := r.db.QueryRow(ctx, "SELECT MAX(resource_key) FROM "+r.table).Scan(&maxKey); err != nil {
		return r.fail("sequence", "", err)
	}
	if maxKey == nil {
		return nil
	}
	return r.advanceKeySeq(ctx, r.db, *maxKey)
}

// returning wraps a writing statement so that it also notifies the
// table's channel when it commits. stmt must end in a RETURNING clause of
// resource_key, version and message. The payload is
// "<kind> <version> <hex message or -> <key>".
func (r *Repo[M]) returning(stmt string, kind byte, arg func(any) string) string {
	if r.channel == "" {
		return stmt
	}
	ch := arg(r.channel)
	return "WITH w AS (" + stmt + ") SELECT w.resource_key, w.version, w.message FROM w CROSS JOIN LATERAL (SELECT pg_notify(" + ch +
		", '" + string(kind) + " ' || w.version || ' ' || CASE WHEN length(w.message) <= " + strconv.Itoa(notifyInline) +
		" THEN encode(w.message, 'hex') ELSE '-' END || ' ' || w.resource_key)) AS n"
}

// insert stores one prepared message (key set or to be assigned, times
// stamped) and returns it as stored.
func (r *Repo[M]) insert(ctx context.Context, q Querier, in M, now time.Time) (M, svcstore.Change[M], error) {
	var zero M
	var none svcstore.Change[M]
	key := r.l.KeyValue(in.ProtoReflect())
	data, err := r.encode(in)
	if err != nil {
		return zero, none, err
	}
	var args []any
	arg := func(v any) string { args = append(args, v); return r.d.Placeholder(len(args)) }
	var keyExpr string
	switch {
	case key.Text != "":
		col, err := r.sqlKey(key)
		if err != nil {
			return zero, none, err
		}
		if r.l.IntKey() {
			if err := r.advanceKeySeq(ctx, q, col.(int64)); err != nil {
				return zero, none, err
			}
		}
		keyExpr = arg(col)
	default: // an integer key to assign
		if keyExpr, err = r.nextVal(ctx, q, r.keySeq, arg); err != nil {
			return zero, none, err
		}
	}
	versionExpr, err := r.nextVal(ctx, q, r.versionSeq, arg)
	if err != nil {
		return zero, none, err
	}
	if err := r.l.CheckIndexEntries("create", in.ProtoReflect(), key); err != nil {
		return zero, none, err
	}
	msgArg, timeArg := arg(data), arg(now.UTC())
	cols, vals := "", ""
	for i, v := range r.ixValues(in) {
		cols += ", " + r.ixColumn(i)
		vals += ", " + arg(v)
	}
	stmt := "INSERT INTO " + r.table + " (resource_key, message, version, create_time, update_time" + cols + ") VALUES (" +
		keyExpr + ", " + msgArg + ", " + versionExpr + ", " + timeArg + ", " + timeArg + vals + ") RETURNING resource_key, version, message"
	var col any
	var version int64
	var stored []byte
	if err := q.QueryRow(ctx, r.returning(stmt, 'c', arg), args...).Scan(&col, &version, &stored); err != nil {
		return zero, none, r.fail("create", key.Text, err)
	}
	k, err := r.keyFromColumn(col)
	if err != nil {
		return zero, none, status.Errorf(codes.Internal, "create %s: %v", r.l.TypeName, err)
	}
	out := in
	r.l.SetKey(out.ProtoReflect(), k)
	r.l.SetEtag(out.ProtoReflect(), uint64(version))
	return out, svcstore.Change[M]{Kind: svcstore.Created, Key: k.Text, Message: proto.Clone(out).(M)}, nil
}

// prepare copies msg for Create: output-only fields dropped, times stamped,
// a string key generated when empty.
func (r *Repo[M]) prepare(msg M, now time.Time) (M, bool, error) {
	var zero M
	if any(msg) == nil || !msg.ProtoReflect().IsValid() {
		return zero, false, r.l.NilMessage("create")
	}
	in := proto.Clone(msg).(M)
	rm := in.ProtoReflect()
	if err := r.l.CheckNewKey("create", r.l.KeyOf(rm), false); err != nil {
		return zero, false, err
	}
	r.l.ClearManaged(rm)
	r.l.StampCreate(rm, now)
	generated := false
	if !r.l.IntKey() && r.l.KeyOf(rm) == "" {
		id := r.keyGen()
		if id == "" {
			return zero, false, status.Errorf(codes.Internal, "create %s: key generator returned an empty id", r.l.TypeName)
		}
		key := r.l.KeyPrefix + id
		if err := r.l.CheckNewKey("create", key, true); err != nil {
			return zero, false, err
		}
		r.l.SetKey(rm, core.Key{Text: key})
		generated = true
	}
	return in, generated, nil
}

// Create stores msg; see svcstore.Repository.
func (r *Repo[M]) Create(ctx context.Context, msg M) (M, error) {
	var zero M
	if err := core.CtxErr(ctx.Err()); err != nil {
		return zero, err
	}
	for attempt := 1; ; attempt++ {
		in, generated, err := r.prepare(msg, r.set.Clock())
		if err != nil {
			return zero, err
		}
		assigned := r.l.IntKey() && r.l.KeyOf(in.ProtoReflect()) == ""
		var out M
		err = r.write(ctx, !(r.l.IntKey() && !assigned), func(q Querier) ([]svcstore.Change[M], error) {
			o, c, err := r.insert(ctx, q, in, r.set.Clock())
			out = o
			return []svcstore.Change[M]{c}, err
		})
		if status.Code(err) == codes.AlreadyExists && (generated || assigned) && attempt < maxKeyAttempts {
			if assigned {
				// The sequence fell behind an explicitly chosen key.
				if err := r.repairKeySeq(ctx); err != nil {
					return zero, err
				}
			}
			continue
		}
		if err != nil {
			return zero, err
		}
		return proto.Clone(out).(M), nil
	}
}

// CreateBatch stores every message in one transaction; see
// svcstore.Repository.
func (r *Repo[M]) CreateBatch(ctx context.Context, msgs []M) ([]M, error) {
	if err := core.CtxErr(ctx.Err()); err != nil {
		return nil, err
	}
	if len(msgs) == 0 {
		return []M{}, nil
	}
	now := r.set.Clock()
	ins := make([]M, len(msgs))
	seen := make(map[string]bool, len(msgs))
	for i, msg := range msgs {
		in, _, err := r.prepare(msg, now)
		if err != nil {
			return nil, err
		}
		if k := r.l.KeyOf(in.ProtoReflect()); k != "" {
			if seen[k] {
				return nil, r.l.AlreadyExists(k)
			}
			seen[k] = true
			if r.l.IntKey() {
				if _, err := r.l.ParseKey(k); err != nil {
					return nil, err
				}
			}
		}
		ins[i] = in
	}
	out := make([]M, len(ins))
	err := r.write(ctx, false, func(q Querier) ([]svcstore.Change[M], error) {
		// Explicit integer keys move the sequence first, so that a key
		// assigned early in the batch never takes one chosen later in it.
		if r.l.IntKey() {
			for _, in := range ins {
				if k := r.l.KeyValue(in.ProtoReflect()); k.Text != "" {
					col, err := r.sqlKey(k)
					if err != nil {
						return nil, err
					}
					if err := r.advanceKeySeq(ctx, q, col.(int64)); err != nil {
						return nil, err
					}
				}
			}
		}
		changes := make([]svcstore.Change[M], len(ins))
		for i, in := range ins {
			o, c, err := r.insert(ctx, q, in, now)
			if err != nil {
				return nil, err
			}
			out[i], changes[i] = o, c
		}
		return changes, nil
	})
	if err != nil {
		return nil, err
	}
	for i, o := range out {
		out[i] = proto.Clone(o).(M)
	}
	return out, nil
}

// parseEtag returns the version an etag names, or -1 when it names none
// (it then matches nothing).
func parseEtag(etag string) int64 {
	if len(etag) < 3 || etag[0] != '"' || etag[len(etag)-1] != '"' {
		return -1
	}
	v, err := strconv.ParseInt(etag[1:len(etag)-1], 10, 64)
	if err != nil || v <= 0 {
		return -1
	}
	return v
}

// Update applies msg as mask says; see svcstore.Repository. It reads the
// row, merges in Go, and writes with "WHERE version = <read version>": a
// concurrent writer in between makes the write miss, and the update is
// retried from the read (or fails with Aborted when the client sent an
// etag, which is then stale). No lock is held between the two statements.
func (r *Repo[M]) Update(ctx context.Context, msg M, mask *fieldmaskpb.FieldMask) (M, error) {
	var zero M
	if err := core.CtxErr(ctx.Err()); err != nil {
		return zero, err
	}
	if any(msg) == nil || !msg.ProtoReflect().IsValid() {
		return zero, r.l.NilMessage("update")
	}
	in := proto.Clone(msg).(M)
	rm := in.ProtoReflect()
	key := r.l.KeyOf(rm)
	if key == "" {
		return zero, r.l.EmptyKey()
	}
	k, err := r.l.ParseKey(key)
	if err != nil {
		return zero, err
	}
	col, err := r.sqlKey(k)
	if err != nil {
		return zero, err
	}
	paths, full, err := r.l.ResolveMask(mask, rm)
	if err != nil {
		return zero, err
	}
	etag := r.l.Etag(rm)

	for attempt := 1; ; attempt++ {
		var out M
		var conflict bool
		err := r.write(ctx, true, func(q Querier) ([]svcstore.Change[M], error) {
			var data []byte
			var version int64
			err := q.QueryRow(ctx, "SELECT message, version FROM "+r.table+" WHERE resource_key = "+r.d.Placeholder(1), col).Scan(&data, &version)
			if errors.Is(err, ErrNoRows) {
				return nil, r.l.NotFound(key)
			}
			if err != nil {
				return nil, r.fail("update", key, err)
			}
			old, err := r.decode(k, data, version)
			if err != nil {
				return nil, err
			}
			if err := r.l.CheckEtag(key, r.l.Etag(old.ProtoReflect()), etag); err != nil {
				return nil, err
			}
			var next M
			if full {
				next = proto.Clone(in).(M)
				r.l.PrepareReplacement(next.ProtoReflect(), old.ProtoReflect())
			} else {
				next = old
				core.ApplyPaths(next.ProtoReflect(), proto.Clone(in).ProtoReflect(), paths)
			}
			now := r.set.Clock()
			core.SetTime(next.ProtoReflect(), r.l.UpdateFD, now)
			enc, err := r.encode(next)
			if err != nil {
				return nil, err
			}
			var args []any
			arg := func(v any) string { args = append(args, v); return r.d.Placeholder(len(args)) }
			versionExpr, err := r.nextVal(ctx, q, r.versionSeq, arg)
			if err != nil {
				return nil, err
			}
			if err := r.l.CheckIndexEntries("update", next.ProtoReflect(), k); err != nil {
				return nil, err
			}
			set := ""
			for i, v := range r.ixValues(next) {
				set += ", " + r.ixColumn(i) + " = " + arg(v)
			}
			stmt := "UPDATE " + r.table + " SET message = " + arg(enc) + ", version = " + versionExpr + ", update_time = " + arg(now.UTC()) + set +
				" WHERE resource_key = " + arg(col) + " AND version = " + arg(version) + " RETURNING resource_key, version, message"
			var newVersion int64
			var c any
			var stored []byte
			err = q.QueryRow(ctx, r.returning(stmt, 'u', arg), args...).Scan(&c, &newVersion, &stored)
			if errors.Is(err, ErrNoRows) {
				conflict = true
				return nil, nil
			}
			if err != nil {
				return nil, r.fail("update", key, err)
			}
			r.l.SetEtag(next.ProtoReflect(), uint64(newVersion))
			out = next
			return []svcstore.Change[M]{{Kind: svcstore.Updated, Key: key, Message: proto.Clone(next).(M)}}, nil
		})
		if err != nil {
			return zero, err
		}
		if !conflict {
			return proto.Clone(out).(M), nil
		}
		// Another writer got in between our read and our write.
		if etag != "" || attempt == maxUpdateAttempts {
			return zero, status.Errorf(codes.Aborted, "%s %s was changed concurrently; re-read and retry", r.l.TypeName, core.Quote(key))
		}
	}
}

// Delete removes the resource stored under key; see svcstore.Repository.
func (r *Repo[M]) Delete(ctx context.Context, key string, etag string) (M, error) {
	var zero M
	if err := core.CtxErr(ctx.Err()); err != nil {
		return zero, err
	}
	k, err := r.l.ParseKey(key)
	if err != nil {
		return zero, err
	}
	if err := r.l.CheckDeleteEtag(key, etag); err != nil {
		return zero, err
	}
	col, err := r.sqlKey(k)
	if err != nil {
		return zero, err
	}
	var out M
	err = r.write(ctx, true, func(q Querier) ([]svcstore.Change[M], error) {
		var args []any
		arg := func(v any) string { args = append(args, v); return r.d.Placeholder(len(args)) }
		stmt := "DELETE FROM " + r.table + " WHERE resource_key = " + arg(col)
		if etag != "" {
			stmt += " AND version = " + arg(parseEtag(etag))
		}
		stmt += " RETURNING resource_key, version, message"
		var c any
		var version int64
		var data []byte
		err := q.QueryRow(ctx, r.returning(stmt, 'd', arg), args...).Scan(&c, &version, &data)
		if errors.Is(err, ErrNoRows) {
			// Missing, or there with another version.
			var cur int64
			err := q.QueryRow(ctx, "SELECT version FROM "+r.table+" WHERE resource_key = "+r.d.Placeholder(1), col).Scan(&cur)
			switch {
			case errors.Is(err, ErrNoRows):
				return nil, r.l.NotFound(key)
			case err != nil:
				return nil, r.fail("delete", key, err)
			}
			return nil, r.l.CheckEtag(key, core.FormatEtag(uint64(cur)), etag)
		}
		if err != nil {
			return nil, r.fail("delete", key, err)
		}
		if out, err = r.decode(k, data, version); err != nil {
			return nil, err
		}
		return []svcstore.Change[M]{{Kind: svcstore.Deleted, Key: key, Message: proto.Clone(out).(M)}}, nil
	})
	if err != nil {
		return zero, err
	}
	return out, nil
}

// --- change feed -----------------------------------------------------------

// Watch subscribes to the in-process change feed (dialects without
// notification).
func (r *Repo[M]) Watch(ctx context.Context) (iter.Seq2[svcstore.Change[M], error], error) {
	if r.feed == nil {
		return nil, status.Errorf(codes.Unimplemented, "watch %s: this store announces changes through its database; use its own Watch", r.l.TypeName)
	}
	return r.feed.Watch(ctx)
}

// ParseNotification turns a notification payload written by returning
// back into a change. A message too large to travel in the payload is
// read back (and skipped when it changed or went away meanwhile: a later
// notification carries that); a large deleted one carries only its key.
func (r *Repo[M]) ParseNotification(ctx context.Context, payload string) (svcstore.Change[M], bool, error) {
	var c svcstore.Change[M]
	parts := strings.SplitN(payload, " ", 4)
	if len(parts) != 4 {
		return c, false, fmt.Errorf("malformed notification %q", payload)
	}
	switch parts[0] {
	case "c":
		c.Kind = svcstore.Created
	case "u":
		c.Kind = svcstore.Updated
	case "d":
		c.Kind = svcstore.Deleted
	default:
		return c, false, fmt.Errorf("malformed notification kind %q", parts[0])
	}
	version, err := strconv.ParseInt(parts[1], 10, 64)
	if err != nil {
		return c, false, fmt.Errorf("malformed notification version %q", parts[1])
	}
	k, err := r.keyFromColumn(parts[3])
	if err != nil {
		return c, false, err
	}
	if !r.l.IntKey() {
		k = core.Key{Text: parts[3]}
	}
	c.Key = k.Text
	if parts[2] != "-" {
		data, err := hex.DecodeString(parts[2])
		if err != nil {
			return c, false, fmt.Errorf("malformed notification message")
		}
		if c.Message, err = r.decode(k, data, version); err != nil {
			return c, false, err
		}
		return c, true, nil
	}
	if c.Kind == svcstore.Deleted {
		c.Message = r.l.MsgType.New().Interface().(M)
		r.l.SetKey(c.Message.ProtoReflect(), k)
		return c, true, nil
	}
	cur, err := r.Get(ctx, k.Text)
	if status.Code(err) == codes.NotFound {
		return c, false, nil
	}
	if err != nil {
		return c, false, err
	}
	if r.l.EtagFD != nil && r.l.Etag(cur.ProtoReflect()) != core.FormatEtag(uint64(version)) {
		return c, false, nil
	}
	c.Message = cur
	return c, true, nil
}

// --- errors ------------------------------------------------------------------

// fail maps a database error to a status error for op on key. The driver's
// text (which may quote SQL or data) never reaches the client: codes and
// short fixed messages only.
func (r *Repo[M]) fail(op, key string, err error) error {
	if _, ok := status.FromError(err); ok {
		return err
	}
	if cerr := core.CtxErr(contextErr(err)); cerr != nil {
		return cerr
	}
	what := fmt.Sprintf("%s %s", op, r.l.TypeName)
	if key != "" {
		what += " " + core.Quote(key)
	}
	if r.d.ClassifyError != nil {
		if st := r.d.ClassifyError(err); st != nil {
			code := status.Code(st)
			if code == codes.AlreadyExists && key != "" {
				return r.l.AlreadyExists(key)
			}
			return status.Errorf(code, "%s: %s", what, status.Convert(st).Message())
		}
	}
	if errors.Is(err, driver.ErrBadConn) || errors.Is(err, sql.ErrConnDone) {
		return status.Errorf(codes.Unavailable, "%s: database connection lost; retry", what)
	}
	return status.Errorf(codes.Internal, "%s: database error", what)
}

func contextErr(err error) error {
	switch {
	case errors.Is(err, context.Canceled):
		return context.Canceled
	case errors.Is(err, context.DeadlineExceeded):
		return context.DeadlineExceeded
	}
	return nil
}
