// Update: update_mask, full replacement, etags and timestamps.

package storetest

import (
	"fmt"
	"slices"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/types/known/fieldmaskpb"
)

func (s *suite[M]) testUpdateMask(t *testing.T) {
	repo := s.newRepo(t)
	k := s.key(1)
	base := s.create(t, repo, s.msg(1, k))
	mask := &fieldmaskpb.FieldMask{Paths: []string{s.fx.MaskPath}}
	managed := []protoreflect.FieldDescriptor{s.etagFD, s.updateFD}

	// Mutate a copy of the stored resource and update the masked path.
	in := proto.Clone(base).(M)
	s.fx.Mutate(in)
	got, err := repo.Update(ctx, in, mask)
	if err != nil {
		t.Fatalf("Update(mask %v): %v", mask.GetPaths(), err)
	}
	want := proto.Clone(base).(M)
	copyPath(want.ProtoReflect(), in.ProtoReflect(), s.maskPath)
	if d := diff(without(want, managed...), without(got, managed...)); d != "" {
		t.Errorf("Update(mask %v) result (-want +got):\n%s", mask.GetPaths(), d)
	}
	if proto.Equal(without(base, managed...), without(got, managed...)) {
		t.Errorf("Update(mask %v) changed nothing; Fixture.Mutate must change the field MaskPath names", mask.GetPaths())
	}
	if d := diff(got, s.get(t, repo, k)); d != "" {
		t.Errorf("Get after Update differs from Update's result:\n%s", d)
	}

	// Fields outside the mask are left alone even when the incoming message
	// differs there: send an unrelated message under the same key.
	cur := got
	other := s.msg(2, k)
	s.fx.Mutate(other)
	s.setEtag0(other)
	got, err = repo.Update(ctx, other, mask)
	if err != nil {
		t.Fatalf("Update(mask %v) with another message: %v", mask.GetPaths(), err)
	}
	want = proto.Clone(cur).(M)
	copyPath(want.ProtoReflect(), other.ProtoReflect(), s.maskPath)
	if d := diff(without(want, managed...), without(got, managed...)); d != "" {
		t.Errorf("Update(mask %v) touched fields outside the mask (-want +got):\n%s", mask.GetPaths(), d)
	}

	// A masked field that is unset in the incoming message is cleared.
	cur = got
	cleared := proto.Clone(cur).(M)
	s.setEtag0(cleared)
	clearPath(cleared.ProtoReflect(), s.maskPath)
	got, err = repo.Update(ctx, cleared, mask)
	if err != nil {
		t.Fatalf("Update(mask %v) clearing the field: %v", mask.GetPaths(), err)
	}
	if d := diff(without(cleared, managed...), without(got, managed...)); d != "" {
		t.Errorf("Update(mask %v) with the field unset did not clear it (-want +got):\n%s", mask.GetPaths(), d)
	}
}

// clearPath clears the field at path in m, if m has it.
func clearPath(m protoreflect.Message, path []protoreflect.FieldDescriptor) {
	last := len(path) - 1
	for _, fd := range path[:last] {
		if !m.Has(fd) {
			return
		}
		m = m.Mutable(fd).Message()
	}
	m.Clear(path[last])
}

func (s *suite[M]) testFullReplacement(t *testing.T) {
	masks := map[string]*fieldmaskpb.FieldMask{
		"*": {Paths: []string{"*"}},
	}
	for name, mask := range masks {
		t.Run("mask="+name, func(t *testing.T) {
			repo := s.newRepo(t)
			k := s.key(1)
			base := s.create(t, repo, s.msg(1, k))
			in := s.msg(2, k)
			s.fx.Mutate(in)
			s.setEtag0(in)
			got, err := repo.Update(ctx, in, mask)
			if err != nil {
				t.Fatalf("Update: %v", err)
			}
			if d := diff(without(in, s.managed()...), without(got, s.managed()...)); d != "" {
				t.Errorf("full replacement result (-sent +stored):\n%s", d)
			}
			if s.createFD != nil {
				if d := diff(base.ProtoReflect().Get(s.createFD).Message().Interface(),
					got.ProtoReflect().Get(s.createFD).Message().Interface()); d != "" {
					t.Errorf("full replacement changed %s:\n%s", s.createFD.Name(), d)
				}
			}
			if d := diff(got, s.get(t, repo, k)); d != "" {
				t.Errorf("Get after Update differs from Update's result:\n%s", d)
			}
		})
	}
}

// testImpliedMask checks AIP-134's reading of an update without a mask: the
// fields the request populates are updated, every other field is kept.
func (s *suite[M]) testImpliedMask(t *testing.T) {
	for name, mask := range map[string]*fieldmaskpb.FieldMask{"nil": nil, "empty": {}} {
		t.Run("mask="+name, func(t *testing.T) {
			repo := s.newRepo(t)
			k := s.key(1)
			base := s.create(t, repo, s.msg(1, k))
			in := s.msg(2, k)
			s.fx.Mutate(in)
			s.setEtag0(in)
			// Leave out one field the stored resource has: the implied
			// mask must keep its stored value.
			managed := s.managed()
			var kept protoreflect.FieldDescriptor
			base.ProtoReflect().Range(func(fd protoreflect.FieldDescriptor, _ protoreflect.Value) bool {
				if fd != s.keyFD && !slices.Contains(managed, fd) {
					kept = fd
				}
				return kept == nil
			})
			if kept != nil {
				in.ProtoReflect().Clear(kept)
			}
			got, err := repo.Update(ctx, in, mask)
			if err != nil {
				t.Fatalf("Update: %v", err)
			}
			want := proto.Clone(base).(M)
			in.ProtoReflect().Range(func(fd protoreflect.FieldDescriptor, v protoreflect.Value) bool {
				want.ProtoReflect().Set(fd, v)
				return true
			})
			if d := diff(without(want, managed...), without(got, managed...)); d != "" {
				t.Errorf("Update without a mask must change only the populated fields (-want +got):\n%s", d)
			}
			if d := diff(got, s.get(t, repo, k)); d != "" {
				t.Errorf("Get after Update differs from Update's result:\n%s", d)
			}
		})
	}
}

func (s *suite[M]) testInvalidUpdateMask(t *testing.T) {
	repo := s.newRepo(t)
	k := s.key(1)
	base := s.create(t, repo, s.msg(1, k))
	in := proto.Clone(base).(M)
	s.fx.Mutate(in)

	bad := [][]string{
		{"no_such_field_xyz"},
		{""},
		{s.fx.MaskPath + ".no_such_field_xyz"},
		{s.fx.MaskPath, "no_such_field_xyz"},
		{"*", s.fx.MaskPath},
		{s.fx.Schema.KeyField},
	}
	for _, f := range []string{s.fx.Schema.EtagField, s.fx.Schema.CreateTimeField, s.fx.Schema.UpdateTimeField} {
		if f != "" {
			bad = append(bad, []string{f}, []string{s.fx.MaskPath, f})
		}
	}
	for _, f := range []string{s.fx.Schema.CreateTimeField, s.fx.Schema.UpdateTimeField} {
		if f != "" {
			bad = append(bad, []string{f + ".seconds"})
		}
	}
	for _, paths := range bad {
		_, err := repo.Update(ctx, in, &fieldmaskpb.FieldMask{Paths: paths})
		wantCode(t, err, codes.InvalidArgument, fmt.Sprintf("Update(mask %q)", paths))
	}
	if d := diff(base, s.get(t, repo, k)); d != "" {
		t.Errorf("rejected updates changed the stored resource:\n%s", d)
	}
}

func (s *suite[M]) testEtag(t *testing.T) {
	if s.etagFD == nil {
		t.Skip("Schema has no EtagField")
	}
	repo := s.newRepo(t)
	k := s.key(1)
	in := s.msg(1, k)
	const clientEtag = `"client-supplied"`
	s.setEtag(in, clientEtag)
	created := s.create(t, repo, in)
	etag1 := s.etagOf(created)
	if etag1 == "" || etag1 == clientEtag {
		t.Fatalf("Create: etag %q; want a server-assigned etag", etag1)
	}

	// An Update without an etag is unconditional and yields a new etag.
	upd := proto.Clone(created).(M)
	s.setEtag(upd, "")
	s.fx.Mutate(upd)
	v2, err := repo.Update(ctx, upd, nil)
	if err != nil {
		t.Fatalf("unconditional Update: %v", err)
	}
	etag2 := s.etagOf(v2)
	if etag2 == "" || etag2 == etag1 {
		t.Fatalf("Update: etag %q after %q; want a new etag", etag2, etag1)
	}

	// A stale etag is a conflict; the resource is unchanged.
	stale := proto.Clone(created).(M)
	_, err = repo.Update(ctx, stale, nil)
	wantCode(t, err, codes.Aborted, "Update with a stale etag")
	_, err = repo.Delete(ctx, k, etag1)
	wantCode(t, err, codes.Aborted, "Delete with a stale etag")
	if d := diff(v2, s.get(t, repo, k)); d != "" {
		t.Fatalf("a rejected write changed the resource:\n%s", d)
	}

	// The current etag is accepted, by Update and by Delete.
	cur := proto.Clone(v2).(M)
	s.fx.Mutate(cur)
	v3, err := repo.Update(ctx, cur, &fieldmaskpb.FieldMask{Paths: []string{s.fx.MaskPath}})
	if err != nil {
		t.Fatalf("Update with the current etag: %v", err)
	}
	if e := s.etagOf(v3); e == etag2 || e == etag1 || e == "" {
		t.Errorf("Update: etag %q; want one different from %q and %q", e, etag1, etag2)
	}
	if _, err := repo.Delete(ctx, k, etag2); status.Code(err) != codes.Aborted {
		t.Errorf("Delete with the previous etag: %v; want Aborted", err)
	}
	if _, err := repo.Delete(ctx, k, s.etagOf(v3)); err != nil {
		t.Errorf("Delete with the current etag: %v", err)
	}
	// A re-created resource never reuses an etag an old client may hold.
	again := s.create(t, repo, s.msg(1, k))
	if e := s.etagOf(again); e == etag1 || e == etag2 || e == s.etagOf(v3) {
		t.Errorf("re-created resource reuses etag %q", e)
	}
}

func (s *suite[M]) testTimestamps(t *testing.T) {
	if s.createFD == nil && s.updateFD == nil {
		t.Skip("Schema has neither CreateTimeField nor UpdateTimeField")
	}
	repo := s.newRepo(t)
	k := s.key(1)
	in := s.msg(1, k)
	// Output-only fields sent by the client are ignored.
	bogus := time.Unix(1, 1)
	for _, fd := range []protoreflect.FieldDescriptor{s.createFD, s.updateFD} {
		if fd != nil {
			setTimestamp(in.ProtoReflect(), fd, bogus)
		}
	}
	created := s.create(t, repo, in)
	ct, ut := s.times(t, created, "Create")
	if s.createFD != nil && s.updateFD != nil && ut.Before(ct) {
		t.Errorf("after Create update_time %v is before create_time %v", ut, ct)
	}

	prevUT := ut
	for i, mask := range []*fieldmaskpb.FieldMask{{Paths: []string{s.fx.MaskPath}}, nil} {
		upd := s.get(t, repo, k)
		s.fx.Mutate(upd)
		s.setEtag0(upd)
		// Even a full replacement that omits or changes create_time keeps it.
		if s.createFD != nil && mask == nil {
			setTimestamp(upd.ProtoReflect(), s.createFD, bogus)
		}
		got, err := repo.Update(ctx, upd, mask)
		if err != nil {
			t.Fatalf("Update %d: %v", i, err)
		}
		gotCT, gotUT := s.times(t, got, "Update")
		if s.createFD != nil && !gotCT.Equal(ct) {
			t.Errorf("Update %d changed create_time from %v to %v", i, ct, gotCT)
		}
		if s.updateFD != nil && gotUT.Before(prevUT) {
			t.Errorf("Update %d: update_time %v went back from %v", i, gotUT, prevUT)
		}
		prevUT = gotUT
	}
}
