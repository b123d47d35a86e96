// Create, Get, Delete: round trips, error codes, keys, aliasing.

package storetest

import (
	"strings"
	"testing"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/fieldmaskpb"
)

func (s *suite[M]) testCRUDRoundTrip(t *testing.T) {
	repo := s.newRepo(t)
	k := s.key(1)
	in := s.msg(1, k)
	created := s.create(t, repo, in)
	if got := s.keyOf(created); got != k {
		t.Fatalf("Create returned key %q, want %q", got, k)
	}
	if d := diff(without(in, s.managed()...), without(created, s.managed()...)); d != "" {
		t.Errorf("Create returned a different message (-sent +stored):\n%s", d)
	}
	if d := diff(created, s.get(t, repo, k)); d != "" {
		t.Errorf("Get after Create differs from Create's result (-create +get):\n%s", d)
	}
	items, next, err := repo.List(ctx, 10, "")
	if err != nil || next != "" || len(items) != 1 {
		t.Fatalf("List = %d items, token %q, err %v; want 1 item, no token", len(items), next, err)
	}
	if d := diff(created, items[0]); d != "" {
		t.Errorf("List item differs from Create's result:\n%s", d)
	}

	upd := proto.Clone(created).(M)
	s.fx.Mutate(upd)
	updated, err := repo.Update(ctx, upd, &fieldmaskpb.FieldMask{Paths: []string{s.fx.MaskPath}})
	if err != nil {
		t.Fatalf("Update: %v", err)
	}
	if d := diff(updated, s.get(t, repo, k)); d != "" {
		t.Errorf("Get after Update differs from Update's result:\n%s", d)
	}

	deleted, err := repo.Delete(ctx, k, "")
	if err != nil {
		t.Fatalf("Delete: %v", err)
	}
	if d := diff(updated, deleted); d != "" {
		t.Errorf("Delete did not return the last stored version (-want +got):\n%s", d)
	}
	_, err = repo.Get(ctx, k)
	wantCode(t, err, codes.NotFound, "Get after Delete")
	_, err = repo.Delete(ctx, k, "")
	wantCode(t, err, codes.NotFound, "second Delete")
	items, next, err = repo.List(ctx, 10, "")
	if err != nil || next != "" || len(items) != 0 {
		t.Errorf("List after Delete = %d items, token %q, err %v; want empty", len(items), next, err)
	}
	// A deleted key can be used again.
	s.create(t, repo, s.msg(2, k))
}

func (s *suite[M]) testErrorCodes(t *testing.T) {
	repo := s.newRepo(t)
	k := s.key(1)
	orig := s.create(t, repo, s.msg(1, k))
	missing := s.key(999)

	// Messages name the resource type and the key.
	checkMessage := func(err error, call, key string) {
		t.Helper()
		msg := status.Convert(err).Message()
		if !strings.Contains(msg, string(s.typeName)) || !strings.Contains(msg, key) {
			t.Errorf("%s: message %q should name %s and %q", call, msg, s.typeName, key)
		}
	}

	_, err := repo.Get(ctx, missing)
	wantCode(t, err, codes.NotFound, "Get(missing)")
	checkMessage(err, "Get(missing)", missing)
	_, err = repo.Update(ctx, s.msg(2, missing), nil)
	wantCode(t, err, codes.NotFound, "Update(missing)")
	checkMessage(err, "Update(missing)", missing)
	_, err = repo.Delete(ctx, missing, "")
	wantCode(t, err, codes.NotFound, "Delete(missing)")
	checkMessage(err, "Delete(missing)", missing)

	_, err = repo.Create(ctx, s.msg(2, k))
	wantCode(t, err, codes.AlreadyExists, "Create(existing)")
	checkMessage(err, "Create(existing)", k)
	if d := diff(orig, s.get(t, repo, k)); d != "" {
		t.Errorf("a failed Create changed the stored resource:\n%s", d)
	}

	_, err = repo.Get(ctx, "")
	wantCode(t, err, codes.InvalidArgument, `Get("")`)
	_, err = repo.Delete(ctx, "", "")
	wantCode(t, err, codes.InvalidArgument, `Delete("")`)
	_, err = repo.Update(ctx, s.msg(2, ""), nil)
	wantCode(t, err, codes.InvalidArgument, "Update(empty key)")
	_, _, err = repo.List(ctx, -1, "")
	wantCode(t, err, codes.InvalidArgument, "List(page_size=-1)")

	if s.etagFD == nil {
		// Silently ignoring a precondition the store cannot check would be
		// wrong, so a non-empty etag without an etag field is rejected.
		_, err = repo.Delete(ctx, k, `"1"`)
		wantCode(t, err, codes.InvalidArgument, "Delete with an etag on a resource without one")
		s.get(t, repo, k)
	}
}

func (s *suite[M]) testServerAssignedKey(t *testing.T) {
	repo := s.newRepo(t)
	seen := map[string]bool{}
	for i := range 20 {
		got := s.create(t, repo, s.msg(i, ""))
		k := s.keyOf(got)
		if !strings.HasPrefix(k, s.fx.Schema.KeyPrefix) || len(k) == len(s.fx.Schema.KeyPrefix) {
			t.Fatalf("server-assigned key %q: want prefix %q and a non-empty id", k, s.fx.Schema.KeyPrefix)
		}
		if seen[k] {
			t.Fatalf("server-assigned key %q was assigned twice", k)
		}
		seen[k] = true
		if d := diff(got, s.get(t, repo, k)); d != "" {
			t.Errorf("Get(%q) differs from Create's result:\n%s", k, d)
		}
	}
}

func (s *suite[M]) testNoAliasing(t *testing.T) {
	repo := s.newRepo(t)
	k := s.key(1)
	check := func(want M, after string) {
		t.Helper()
		if d := diff(want, s.get(t, repo, k)); d != "" {
			t.Errorf("stored resource changed after %s (-want +got):\n%s", after, d)
		}
	}

	in := s.msg(1, k)
	created := s.create(t, repo, in)
	want := proto.Clone(created).(M)
	scramble(in.ProtoReflect())
	check(want, "mutating the message passed to Create")
	proto.Reset(in)
	check(want, "resetting the message passed to Create")
	scramble(created.ProtoReflect())
	check(want, "mutating Create's result")

	got := s.get(t, repo, k)
	scramble(got.ProtoReflect())
	check(want, "mutating Get's result")

	items, _, err := repo.List(ctx, 10, "")
	if err != nil || len(items) != 1 {
		t.Fatalf("List = %d items, %v", len(items), err)
	}
	scramble(items[0].ProtoReflect())
	check(want, "mutating List's result")

	upd := proto.Clone(want).(M)
	s.fx.Mutate(upd)
	updated, err := repo.Update(ctx, upd, nil)
	if err != nil {
		t.Fatalf("Update: %v", err)
	}
	want = proto.Clone(updated).(M)
	scramble(upd.ProtoReflect())
	check(want, "mutating the message passed to Update")
	scramble(updated.ProtoReflect())
	check(want, "mutating Update's result")

	masked := proto.Clone(want).(M)
	s.fx.Mutate(masked)
	updated, err = repo.Update(ctx, masked, &fieldmaskpb.FieldMask{Paths: []string{s.fx.MaskPath}})
	if err != nil {
		t.Fatalf("Update with mask: %v", err)
	}
	want = proto.Clone(updated).(M)
	scramble(masked.ProtoReflect())
	check(want, "mutating the message passed to a masked Update")
	scramble(updated.ProtoReflect())
	check(want, "mutating a masked Update's result")

	deleted, err := repo.Delete(ctx, k, "")
	if err != nil {
		t.Fatalf("Delete: %v", err)
	}
	if d := diff(want, deleted); d != "" {
		t.Errorf("Delete returned (-want +got):\n%s", d)
	}
}
