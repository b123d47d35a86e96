package server_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"net/url"
	"os"
	"path/filepath"
	"testing"

	"github.com/jackc/pgx/v5"
)

// TestOnEveryStore runs the end-to-end tests of the shop's services (the
// skeleton's standard methods and the hand-written watch, repricing and
// orders) on SQLite and on PostgreSQL; the other tests run them in memory.
func TestOnEveryStore(t *testing.T) {
	tests := map[string]func(*testing.T){
		"CatalogStandardMethods": TestCatalogStandardMethods,
		"WatchAndImport":         TestWatchAndImport,
		"RepriceProducts":        TestRepriceProducts,
		"Customers":              TestCustomers,
		"Orders":                 TestOrders,
	}
	stores := map[string]func(t *testing.T) string{
		"sqlite":   func(t *testing.T) string { return "sqlite:" + filepath.Join(t.TempDir(), "shop.db") },
		"postgres": postgresStore,
	}
	defer func() { storeURL = nil }()
	for _, store := range []string{"sqlite", "postgres"} {
		t.Run(store, func(t *testing.T) {
			if store == "postgres" {
				postgresDSN(t) // skip (or fail in CI) once, not per test
			}
			storeURL = stores[store]
			for _, name := range []string{"CatalogStandardMethods", "WatchAndImport", "RepriceProducts", "Customers", "Orders"} {
				t.Run(name, tests[name])
			}
		})
	}
}

// postgresDSN returns $SVC_TEST_POSTGRES_DSN, skipping without it (failing
// in CI).
func postgresDSN(t *testing.T) string {
	t.Helper()
	dsn := os.Getenv("SVC_TEST_POSTGRES_DSN")
	if dsn == "" {
		if os.Getenv("CI") == "true" {
			t.Fatal("SVC_TEST_POSTGRES_DSN is not set; CI must run the PostgreSQL tests (see .ci/run)")
		}
		t.Skip("PostgreSQL tests skipped: set SVC_TEST_POSTGRES_DSN=postgres://user:pass@host/db to run them")
	}
	return dsn
}

// postgresStore returns a store URL on a fresh schema of the test
// database, dropped when t ends.
func postgresStore(t *testing.T) string {
	dsn := postgresDSN(t)
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Fatalf("PostgreSQL at SVC_TEST_POSTGRES_DSN is unreachable: %v", err)
	}
	defer conn.Close(ctx)
	var b [6]byte
	rand.Read(b[:])
	schema := "shop_" + hex.EncodeToString(b[:])
	if _, err := conn.Exec(ctx, "CREATE SCHEMA "+schema); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if conn, err := pgx.Connect(ctx, dsn); err == nil {
			conn.Exec(ctx, "DROP SCHEMA "+schema+" CASCADE")
			conn.Close(ctx)
		}
	})
	u, err := url.Parse(dsn)
	if err != nil {
		t.Fatal(err)
	}
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	return u.String()
}
