package svciam

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"cloud.google.com/go/iam/apiv1/iampb"
	"github.com/jackc/pgx/v5/pgxpool"
	"google.golang.org/genproto/googleapis/type/expr"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/fieldmaskpb"

	"github.com/svcgen/protoc-gen-svc/internal/pgcluster"
	svcv1 "github.com/svcgen/protoc-gen-svc/svc/v1"
	"github.com/svcgen/protoc-gen-svc/svcstore/pgstore"
	"github.com/svcgen/protoc-gen-svc/svcstore/sqlitestore"
)

func code(t *testing.T, err error, want codes.Code) {
	t.Helper()
	if status.Code(err) != want {
		t.Fatalf("got %v, want %v", err, want)
	}
}

// stores are the repositories the policy tests run on.
var stores = []struct {
	name string
	open func(t *testing.T) Policies
}{
	{"memory", func(t *testing.T) Policies { return NewPolicies() }},
	{"sqlite", func(t *testing.T) Policies {
		db, err := sqlitestore.Open(filepath.Join(t.TempDir(), "policies.db"))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { db.Close() })
		r, err := sqlitestore.New[*svcv1.PolicyRecord](context.Background(), db, Schema)
		if err != nil {
			t.Fatal(err)
		}
		return r
	}},
	{"postgres", func(t *testing.T) Policies { return pgPolicies(t, pgcluster.TestPool(t), uniqueTable()) }},
}

// uniqueTable names a table of this test process's own.
func uniqueTable() string {
	return fmt.Sprintf("svciam_policies_%d_%d", os.Getpid(), time.Now().UnixNano())
}

// pgPolicies opens a repository of policies on table, dropped after the test.
func pgPolicies(t *testing.T, pool *pgxpool.Pool, table string) Policies {
	ctx := context.Background()
	t.Cleanup(func() {
		for _, stmt := range []string{"DROP TABLE IF EXISTS " + table, "DROP SEQUENCE IF EXISTS " + table + "_version_seq"} {
			pool.Exec(ctx, stmt)
		}
	})
	st, err := pgstore.New[*svcv1.PolicyRecord](ctx, pool, Schema, pgstore.WithTable(table))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

// TestSetRaceOnPostgres: two replicas (two stores on one table) set the
// policy of one resource from the same etag at once, over and over: exactly
// one of each pair wins, the other is Aborted, and the policy is the
// winner's.
func TestSetRaceOnPostgres(t *testing.T) {
	ctx := context.Background()
	pool := pgcluster.TestPool(t)
	table := uniqueTable()
	replicas := []Policies{pgPolicies(t, pool, table), pgPolicies(t, pool, table)}
	for round := range 20 {
		cur, err := GetIamPolicy(ctx, replicas[0], &iampb.GetIamPolicyRequest{Resource: "shelves/1"})
		if err != nil {
			t.Fatal(err)
		}
		var wg sync.WaitGroup
		errs := make([]error, 2)
		for i, r := range replicas {
			wg.Add(1)
			go func() {
				defer wg.Done()
				member := fmt.Sprintf("user:%d-%d@example.com", round, i)
				_, errs[i] = SetIamPolicy(ctx, r, &iampb.SetIamPolicyRequest{Resource: "shelves/1", Policy: &iampb.Policy{Etag: cur.Etag,
					Bindings: []*iampb.Binding{{Role: "roles/viewer", Members: []string{member}}}}})
			}()
		}
		wg.Wait()
		won := -1
		for i, err := range errs {
			switch status.Code(err) {
			case codes.OK:
				if won >= 0 {
					t.Fatalf("round %d: both replicas' writes from one etag succeeded", round)
				}
				won = i
			case codes.Aborted:
			default:
				t.Fatalf("round %d: replica %d: %v", round, i, err)
			}
		}
		if won < 0 {
			t.Fatalf("round %d: neither write succeeded: %v", round, errs)
		}
		got, err := GetIamPolicy(ctx, replicas[1-won], &iampb.GetIamPolicyRequest{Resource: "shelves/1"})
		if err != nil || got.Bindings[0].Members[0] != fmt.Sprintf("user:%d-%d@example.com", round, won) {
			t.Fatalf("round %d: the policy is %v (%v), not replica %d's", round, got, err, won)
		}
	}
}

func TestPolicies(t *testing.T) {
	for _, s := range stores {
		t.Run(s.name, func(t *testing.T) { testPolicies(t, s.open(t)) })
	}
}

func testPolicies(t *testing.T, repo Policies) {
	ctx := context.Background()
	empty, err := GetIamPolicy(ctx, repo, &iampb.GetIamPolicyRequest{Resource: "shelves/1"})
	if err != nil || len(empty.Etag) == 0 || len(empty.Bindings) != 0 {
		t.Fatalf("empty: %v %v", empty, err)
	}
	_, err = GetIamPolicy(ctx, repo, &iampb.GetIamPolicyRequest{Resource: "shelves/1", Options: &iampb.GetPolicyOptions{RequestedPolicyVersion: 2}})
	code(t, err, codes.InvalidArgument)
	bind := []*iampb.Binding{{Role: "roles/viewer", Members: []string{"user:a@example.com"}}}
	set, err := SetIamPolicy(ctx, repo, &iampb.SetIamPolicyRequest{Resource: "shelves/1", Policy: &iampb.Policy{Bindings: bind, Etag: empty.Etag}})
	if err != nil || string(set.Etag) == string(empty.Etag) {
		t.Fatalf("set: %v %v", set, err)
	}
	_, err = SetIamPolicy(ctx, repo, &iampb.SetIamPolicyRequest{Resource: "shelves/1", Policy: &iampb.Policy{Etag: empty.Etag}})
	code(t, err, codes.Aborted)
	_, err = SetIamPolicy(ctx, repo, &iampb.SetIamPolicyRequest{Resource: "shelves/1", Policy: &iampb.Policy{}, UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{"name"}}})
	code(t, err, codes.InvalidArgument)
	// The version is kept unless the mask names it.
	v, err := SetIamPolicy(ctx, repo, &iampb.SetIamPolicyRequest{Resource: "shelves/1", Policy: &iampb.Policy{Version: 1, Bindings: bind},
		UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{"version"}}})
	if err != nil || v.Version != 1 || len(v.Bindings) != 1 {
		t.Fatalf("version: %v %v", v, err)
	}
	cond := []*iampb.Binding{{Role: "roles/viewer", Members: []string{"user:b@example.com"}, Condition: &expr.Expr{Expression: "true"}}}
	_, err = SetIamPolicy(ctx, repo, &iampb.SetIamPolicyRequest{Resource: "shelves/1", Policy: &iampb.Policy{Version: 1, Bindings: cond}})
	code(t, err, codes.InvalidArgument)
	if _, err = SetIamPolicy(ctx, repo, &iampb.SetIamPolicyRequest{Resource: "shelves/1", Policy: &iampb.Policy{Version: 3, Bindings: cond}}); err != nil {
		t.Fatal(err)
	}
	v1, _ := GetIamPolicy(ctx, repo, &iampb.GetIamPolicyRequest{Resource: "shelves/1"})
	v3, _ := GetIamPolicy(ctx, repo, &iampb.GetIamPolicyRequest{Resource: "shelves/1", Options: &iampb.GetPolicyOptions{RequestedPolicyVersion: 3}})
	if v1.Version != 1 || v1.Bindings[0].Condition != nil || v1.Bindings[0].Role == "roles/viewer" || v3.Version != 3 || v3.Bindings[0].Condition == nil {
		t.Fatalf("versions: %v / %v", v1, v3)
	}
}

func TestPermissions(t *testing.T) {
	repo := NewPolicies()
	ctx := context.Background()
	SetIamPolicy(ctx, repo, &iampb.SetIamPolicyRequest{Resource: "r/1", Policy: &iampb.Policy{Bindings: []*iampb.Binding{{Role: "roles/viewer", Members: []string{"user:a"}}}}})
	req := &iampb.TestIamPermissionsRequest{Resource: "r/1", Permissions: []string{"x.get", "x.delete"}}
	if resp, err := TestIamPermissions(ctx, repo, req); err != nil || len(resp.Permissions) != 0 {
		t.Fatalf("no authorizer: %v %v", resp, err)
	}
	a := ByRoles(func(context.Context) []string { return []string{"user:a"} }, map[string][]string{"roles/viewer": {"x.get"}})
	resp, err := TestIamPermissions(WithAuthorizer(ctx, a), repo, req)
	if err != nil || len(resp.Permissions) != 1 || resp.Permissions[0] != "x.get" {
		t.Fatalf("by roles: %v %v", resp, err)
	}
	_, err = TestIamPermissions(ctx, repo, &iampb.TestIamPermissionsRequest{Resource: "r/1", Permissions: []string{"x.*"}})
	code(t, err, codes.InvalidArgument)
}

func TestCheckResource(t *testing.T) {
	ctx := context.Background()
	exists := Owner{Patterns: []string{"shelves/{shelf}"}, Exists: func(_ context.Context, n string) error {
		if n == "shelves/1" {
			return nil
		}
		return status.Error(codes.NotFound, n)
	}}
	code(t, CheckResource(ctx, "shelves/1", exists), codes.OK)
	code(t, CheckResource(ctx, "shelves/2", exists), codes.NotFound)
	code(t, CheckResource(ctx, "books/1", exists), codes.InvalidArgument)
	code(t, CheckResource(ctx, ""), codes.InvalidArgument)
	code(t, CheckResource(ctx, "anything"), codes.OK)
}

func TestResourceName(t *testing.T) {
	got, err := ResourceName("projects", "project", "p", "zones", "zone", "z", "instances", "resource", "vm")
	if err != nil || got != "projects/p/zones/z/instances/vm" {
		t.Fatalf("ResourceName = %q, %v", got, err)
	}
	for _, bad := range []string{"", "a/b"} {
		_, err := ResourceName("projects", "project", "p", "instances", "resource", bad)
		if st := status.Convert(err); st.Code() != codes.InvalidArgument || !strings.Contains(st.Message(), "resource") {
			t.Errorf("ResourceName with resource %q: %v; want InvalidArgument naming resource", bad, err)
		}
	}
}
