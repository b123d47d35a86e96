// Package pgtest gives tests a PostgreSQL database, from the DSN in
// $SVC_TEST_POSTGRES_DSN. Without it tests skip, saying how to run them;
// in CI (CI=true) they fail instead, so a missing database is never
// mistaken for a pass.
package pgtest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"testing"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/svcgen/protoc-gen-svc/internal/pgcluster"
)

// EnvDSN names the environment variable holding the test database's DSN.
const EnvDSN = pgcluster.EnvDSN

// DSN returns the test database's DSN, or skips (fails in CI) without one.
func DSN(t testing.TB) string {
	t.Helper()
	return pgcluster.TestDSN(t)
}

// Pool returns a pool on the test database, closed when t ends. An
// unreachable database fails the test.
func Pool(t testing.TB) *pgxpool.Pool {
	t.Helper()
	return pgcluster.TestPool(t)
}

// Table returns a fresh table name and drops the table and its sequences
// when t ends.
func Table(t testing.TB, pool *pgxpool.Pool) string {
	t.Helper()
	var b [6]byte
	rand.Read(b[:])
	name := "t_" + hex.EncodeToString(b[:])
	t.Cleanup(func() {
		ctx := context.Background()
		for _, stmt := range []string{
			"DROP TABLE IF EXISTS " + name,
			"DROP SEQUENCE IF EXISTS " + name + "_version_seq",
			"DROP SEQUENCE IF EXISTS " + name + "_key_seq",
		} {
			pool.Exec(ctx, stmt)
		}
	})
	return name
}
