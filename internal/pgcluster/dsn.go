package pgcluster

import (
	"os"
	"testing"

	"github.com/jackc/pgx/v5/pgxpool"
)

// EnvDSN names the environment variable holding the test database's DSN
// (.ci/run starts a PostgreSQL and sets it).
const EnvDSN = "SVC_TEST_POSTGRES_DSN"

// TestDSN returns the test database's DSN. Without one the test skips,
// saying how to run it; in CI (CI=true) it fails instead, so a missing
// database is never mistaken for a pass.
func TestDSN(t testing.TB) string {
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

// TestPool returns a pool on the test database, closed when t ends; an
// unreachable database fails the test.
func TestPool(t testing.TB) *pgxpool.Pool {
	t.Helper()
	return ConnectPool(t, TestDSN(t))
}
