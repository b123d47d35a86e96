// Package pgstore is the svcstore.Repository on PostgreSQL, through a pgx
// connection pool (github.com/jackc/pgx/v5/pgxpool): the store for
// services that run as several replicas. It passes the same contract suite
// (svcstore/storetest) as svcstore.Memory.
//
//	pool, err := pgxpool.New(ctx, "postgres://...")
//	products, err := pgstore.New[*shopv1.Product](ctx, pool, shopv1.ProductSchema(),
//		svcstore.WithPageTokenKey(key)) // the same key on every replica
//
// # Table layout
//
// One table per resource type, named after the message ("shop.v1.Product"
// is shop_v1_product; [WithTable] overrides):
//
//	resource_key  TEXT COLLATE "C" (string keys) or BIGINT (integer keys), primary key
//	message       BYTEA: the resource as protobuf binary, without key and etag
//	version       BIGINT: the etag ("<version>"), from <table>_version_seq
//	create_time, update_time  TIMESTAMPTZ, for operators (the message has its own)
//
// and the sequences <table>_version_seq and, for integer keys,
// <table>_key_seq. New creates them if missing (unless [WithoutMigrate]),
// with IF NOT EXISTS statements under a session advisory lock, so any
// number of replicas may start at once. [Store.DDL] returns the statements
// for teams that manage schemas themselves.
//
// # Behaviour
//
//   - Pagination is keyset: a page is "WHERE resource_key > $cursor ORDER
//     BY resource_key LIMIT n", an index range scan, never an OFFSET.
//     KeyPrefix filters are a key range on the same index; Equal filters are
//     evaluated in Go on the decoded rows (no JSONB copy to keep in sync),
//     reading rows in chunks until the page is full.
//   - Versions and integer keys come from sequences, drawn in the writing
//     statement: replicas never hand out the same key or etag. Sequences
//     have gaps (a failed insert burns a value); keys still strictly
//     increase.
//   - Update reads, merges the mask in Go, and writes with "WHERE version =
//     <read>": a concurrent writer in between makes it retry from the read
//     (or fail with Aborted if the client sent an etag). No lost updates,
//     no row locks held across round trips.
//   - CreateBatch is one transaction.
//   - Errors: unique violations are AlreadyExists; serialization failures
//     and deadlocks Aborted; lost connections, shutdowns and timeouts
//     Unavailable; other database errors Internal with a fixed message. SQL
//     text and values never reach the client.
//   - Page tokens are authenticated with the key from
//     svcstore.WithPageTokenKey; give every replica the same key so a
//     client can page across replicas.
//
// # Change feed
//
// Every write calls pg_notify on the channel svcstore_<table> in the
// writing statement, so a notification is sent exactly when the write
// commits, and PostgreSQL delivers notifications in commit order.
// [Store.Watch] listens on one dedicated connection per Store and sees the
// writes of every replica. A message up to 3500 bytes travels inside the
// notification; a larger one is read back (a watcher then sees the latest
// version, and a deleted large message carries only its key). When the
// listening connection is lost, every watcher's sequence ends with
// Unavailable: changes may have been missed, so re-list and watch again.
//
// # CockroachDB and YugabyteDB
//
// The store drives pgx directly (statements prepared and cached per
// connection by pgx); the SQL itself is shared with svcstore/sqlitestore.
//
// The SQL is limited to what both accept: CREATE ... IF NOT EXISTS,
// sequences with nextval/setval, INSERT/UPDATE/DELETE ... RETURNING, a
// data-modifying WITH, COLLATE "C", no OFFSET, no SELECT FOR UPDATE, no
// triggers, no stored procedures, no JSONB, no ON CONFLICT. Advisory locks
// and LISTEN/NOTIFY are PostgreSQL features: Migrate proceeds without the
// lock where the function does not exist, and [WithoutChangeFeed] turns the
// notifications off (Watch is then Unimplemented).
package pgstore

import (
	"context"
	"errors"
	"hash/fnv"
	"io"
	"iter"
	"net"
	"strings"
	"sync"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"

	"github.com/svcgen/protoc-gen-svc/svcstore"
	"github.com/svcgen/protoc-gen-svc/svcstore/internal/core"
	"github.com/svcgen/protoc-gen-svc/svcstore/internal/sqlrepo"
)

// Store is a repository of M in one PostgreSQL table. It implements
// svcstore.Repository and svcstore.Watcher. Close it to stop its listener.
type Store[M proto.Message] struct {
	*sqlrepo.Repo[M]
	listenPool *pgxpool.Pool // where the change feed runs LISTEN

	mu     sync.Mutex
	feed   *svcstore.Feed[M] // nil while no listener runs
	stop   context.CancelFunc
	done   chan struct{}
	closed bool
}

var (
	_ svcstore.Repository[proto.Message] = (*Store[proto.Message])(nil)
	_ svcstore.Watcher[proto.Message]    = (*Store[proto.Message])(nil)
)

var dialect = &sqlrepo.Dialect{
	Name:            "postgres",
	Placeholder:     sqlrepo.DollarPlaceholder,
	StringKeyType:   `TEXT COLLATE "C"`, // bytewise, as Memory orders, whatever the database's locale
	IntKeyType:      "BIGINT",
	BlobType:        "BYTEA",
	TimeType:        "TIMESTAMPTZ",
	InlineSequences: true,
	TxLock:          advisoryLock,
	ClassifyError:   classify,
	Notify:          true,
	SendsAllRows:    true,
	ColumnsQuery:    "SELECT column_name FROM information_schema.columns WHERE table_schema = current_schema() AND table_name = $1",
	Explain:         explain,
}

// explain runs EXPLAIN and joins its lines.
func explain(ctx context.Context, q sqlrepo.Querier, query string, args ...any) (string, error) {
	rows, err := q.Query(ctx, "EXPLAIN "+query, args...)
	if err != nil {
		return "", err
	}
	defer rows.Close()
	var b strings.Builder
	for rows.Next() {
		var line string
		if err := rows.Scan(&line); err != nil {
			return "", err
		}
		b.WriteString(line + "\n")
	}
	return b.String(), rows.Err()
}

// New returns the repository of M in pool's database, creating its table
// and sequences unless [WithoutMigrate] is given. It takes svcstore's
// options (page sizes and page byte budget, clock, key generator, page
// token key) and this package's. The pool stays the caller's: Close does
// not close it.
func New[M proto.Message](ctx context.Context, pool *pgxpool.Pool, schema svcstore.Schema, opts ...svcstore.Option) (*Store[M], error) {
	if pool == nil {
		return nil, errors.New("pgstore: nil pool")
	}
	r, err := sqlrepo.New[M](ctx, pgxDB{pool}, dialect, schema, opts)
	if err != nil {
		return nil, err
	}
	listen := pool
	if p, ok := svcstore.ApplyOptions(opts...).SQL.Listen.(*pgxpool.Pool); ok && p != nil {
		listen = p
	}
	return &Store[M]{Repo: r, listenPool: listen}, nil
}

// WithReadPool serves Get and List from pool, typically connected to
// streaming standbys (a multi-host DSN with target_session_attrs=standby
// or prefer-standby): reads then lag the primary by the replication delay,
// and see neither the caller's own last write nor anything newer until the
// standby has replayed it. Writes, the reads inside Update and Delete, and
// the change feed stay on the main pool; so do reads whose context is
// marked with svcstore.ReadFresh (read your writes). The pool stays the
// caller's.
func WithReadPool(pool *pgxpool.Pool) svcstore.Option {
	return func(o *core.Options) {
		o.SQL.Set = true
		if pool == nil {
			o.Errs = append(o.Errs, errors.New("WithReadPool: nil pool"))
			return
		}
		o.SQL.Reads = sqlrepo.DB(pgxDB{pool})
	}
}

// WithListenPool runs the change feed's LISTEN on a connection from pool
// rather than the main pool: for a main pool behind a pooler in transaction
// mode (pgbouncer), where LISTEN does not survive the transaction, give a
// pool connected to PostgreSQL directly (or through a session-mode pool).
// One connection is held while any Watch runs.
func WithListenPool(pool *pgxpool.Pool) svcstore.Option {
	return func(o *core.Options) {
		o.SQL.Set = true
		if pool == nil {
			o.Errs = append(o.Errs, errors.New("WithListenPool: nil pool"))
			return
		}
		o.SQL.Listen = pool
	}
}

// WithTable names the table (default: the message's full name in lower
// case with dots as underscores, "shop_v1_product").
func WithTable(name string) svcstore.Option { return sqlrepo.WithTable(name) }

// WithoutMigrate skips creating the table: the caller manages the schema
// (see [Store.DDL]).
func WithoutMigrate() svcstore.Option { return sqlrepo.WithoutMigrate() }

// WithoutChangeFeed stops writes from calling pg_notify, for databases
// without LISTEN/NOTIFY (CockroachDB, YugabyteDB). Watch is then
// Unimplemented.
func WithoutChangeFeed() svcstore.Option { return sqlrepo.WithoutChangeFeed() }

// Close stops the change-feed listener, ending every watch. It does not
// close the pool.
func (s *Store[M]) Close() error {
	s.mu.Lock()
	s.closed = true
	stop, done := s.stop, s.done
	s.mu.Unlock()
	if stop != nil {
		stop()
		<-done
	}
	return nil
}

// Watch subscribes to the changes committed from now on by any replica;
// see svcstore.Watcher and the package documentation.
func (s *Store[M]) Watch(ctx context.Context) (iter.Seq2[svcstore.Change[M], error], error) {
	if s.Channel() == "" {
		return nil, status.Errorf(codes.Unimplemented, "watch %s: the change feed is off (WithoutChangeFeed)", s.Layout().TypeName)
	}
	if err := ctx.Err(); err != nil {
		return nil, status.FromContextError(err).Err()
	}
	feed, err := s.listening(ctx)
	if err != nil {
		return nil, err
	}
	return feed.Watch(ctx)
}

// listening returns the feed of a running listener, starting one (and
// waiting until it has run LISTEN) when none runs.
func (s *Store[M]) listening(ctx context.Context) (*svcstore.Feed[M], error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil, status.Errorf(codes.Unavailable, "watch %s: store is closed", s.Layout().TypeName)
	}
	if s.feed != nil {
		return s.feed, nil
	}
	conn, err := s.listenPool.Acquire(ctx)
	if err != nil {
		return nil, status.Errorf(codes.Unavailable, "watch %s: cannot connect to the database", s.Layout().TypeName)
	}
	if _, err := conn.Exec(ctx, `LISTEN "`+s.Channel()+`"`); err != nil {
		conn.Release()
		return nil, status.Errorf(codes.Unavailable, "watch %s: LISTEN failed", s.Layout().TypeName)
	}
	feed := svcstore.NewFeed[M]()
	lctx, stop := context.WithCancel(context.Background())
	done := make(chan struct{})
	s.feed, s.stop, s.done = feed, stop, done
	go s.listen(lctx, conn, feed, done)
	return feed, nil
}

// listen forwards notifications to feed until ctx ends or the connection
// fails; then it ends every watch (Unavailable on failure) and lets the
// next Watch start a new listener.
func (s *Store[M]) listen(ctx context.Context, conn *pgxpool.Conn, feed *svcstore.Feed[M], done chan struct{}) {
	defer close(done)
	var failure error
	for {
		n, err := conn.Conn().WaitForNotification(ctx)
		if err != nil {
			if ctx.Err() == nil {
				failure = status.Errorf(codes.Unavailable, "watch %s: lost the database connection; changes may have been missed: list again, then watch again", s.Layout().TypeName)
			}
			break
		}
		c, ok, err := s.ParseNotification(ctx, n.Payload)
		if err != nil {
			if ctx.Err() == nil {
				failure = status.Errorf(codes.Unavailable, "watch %s: could not read a change; list again, then watch again", s.Layout().TypeName)
			}
			break
		}
		if ok {
			feed.Publish(c)
		}
	}
	// The connection may be mid-wait or broken: do not return it to the
	// pool for reuse.
	conn.Hijack().Close(context.Background())
	s.mu.Lock()
	if s.feed == feed {
		s.feed, s.stop = nil, nil
	}
	s.mu.Unlock()
	feed.End(failure)
}

// advisoryLock takes a transaction-scoped advisory lock in tx, derived
// from name, so concurrent Migrates run one after another; it needs no
// session state, so it holds through pgbouncer in transaction mode. Where
// the function does not exist (CockroachDB), it proceeds without: CREATE
// ... IF NOT EXISTS is then the only guard, which those databases make
// transactional. The savepoint keeps that failure from aborting tx.
func advisoryLock(ctx context.Context, tx sqlrepo.Querier, name string) error {
	h := fnv.New64a()
	h.Write([]byte(name))
	id := int64(h.Sum64())
	if err := tx.Exec(ctx, "SAVEPOINT svcstore_lock"); err != nil {
		return err
	}
	if err := tx.Exec(ctx, "SELECT pg_advisory_xact_lock($1)", id); err != nil {
		var pe *pgconn.PgError
		if errors.As(err, &pe) && (pe.Code == "42883" || pe.Code == "0A000") {
			return tx.Exec(ctx, "ROLLBACK TO SAVEPOINT svcstore_lock")
		}
		return err
	}
	return tx.Exec(ctx, "RELEASE SAVEPOINT svcstore_lock")
}

// classify maps PostgreSQL errors (by SQLSTATE) and connection failures to
// status errors with fixed messages.
func classify(err error) error {
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		switch {
		case pe.Code == "23505":
			return status.Error(codes.AlreadyExists, "already exists")
		case pe.Code == "40001" || pe.Code == "40P01":
			return status.Error(codes.Aborted, "transaction conflict; retry")
		case pe.Code == "42P01":
			return status.Error(codes.FailedPrecondition, "table missing; run the store's migration")
		case pe.Code[:2] == "08" || pe.Code == "57P01" || pe.Code == "57P02" || pe.Code == "57P03" || pe.Code == "57014":
			return status.Error(codes.Unavailable, "database unavailable; retry")
		case pe.Code == "25006":
			// A write reached a server that is (still or again) read-only:
			// a standby, during a failover before the pool found the new
			// primary. Nothing was written.
			return status.Error(codes.Unavailable, "database unavailable; retry")
		case pe.Code[:2] == "53":
			return status.Error(codes.Unavailable, "database out of resources; retry")
		case pe.Code[:2] == "23":
			return status.Error(codes.FailedPrecondition, "constraint violated")
		case pe.Code[:2] == "22":
			return status.Error(codes.InvalidArgument, "value rejected by the database")
		}
		return nil
	}
	var ne net.Error
	if errors.As(err, &ne) || errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) ||
		pgconn.Timeout(err) || pgconn.SafeToRetry(err) {
		return status.Error(codes.Unavailable, "database connection lost; retry")
	}
	var ce *pgconn.ConnectError
	if errors.As(err, &ce) {
		return status.Error(codes.Unavailable, "cannot connect to the database; retry")
	}
	return nil
}
