// Package pgtest gives tests a PostgreSQL database, from the DSN in
// $SVC_TEST_POSTGRES_DSN. Without it tests skip, saying how to run them;
// in CI (CI=true) they fail instead, so a missing database is never
// mistaken for a pass.
package pgtest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"os"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
)

// EnvDSN names the environment variable holding the test database's DSN.
const EnvDSN = "SVC_TEST_POSTGRES_DSN"

// DSN returns the test database's DSN, or skips (fails in CI) without one.
func DSN(t testing.TB) string {
	t.Helper()
	dsn := os.Getenv(EnvDSN)
	if dsn == "" {
		if os.Getenv("CI") == "true" {
			t.Fatalf("%s is not set; CI must run the PostgreSQL tests (see .ci/run)", EnvDSN)
		}
		t.Skipf("PostgreSQL tests skipped: set %s=postgres://user:pass@host/db to run them", EnvDSN)
	}
	return dsn
}

// Pool returns a pool on the test database, closed when t ends. An
// unreachable database fails the test.
func Pool(t testing.TB) *pgxpool.Pool {
	t.Helper()
	dsn := DSN(t)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	pool, err := pgxpool.New(ctx, dsn)
	if err == nil {
		err = pool.Ping(ctx)
	}
	if err != nil {
		t.Fatalf("PostgreSQL at %s=%q is unreachable: %v", EnvDSN, dsn, err)
	}
	t.Cleanup(pool.Close)
	return pool
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
