// Helpers shared by the subtests.

package storetest

import (
	"cmp"
	"fmt"
	"math/rand/v2"
	"strconv"
	"testing"
	"time"

	gocmp "github.com/google/go-cmp/cmp"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/testing/protocmp"

	"github.com/svcgen/protoc-gen-svc/svcstore"
)

// key returns the i-th test key. Zero padding makes byte order equal numeric
// order, whatever collation a database uses for ASCII. Integer keys are i+1,
// since 0 means "unset".
func (s *suite[M]) key(i int) string {
	if s.intKey {
		return strconv.Itoa(i + 1)
	}
	return fmt.Sprintf("%sst-%06d", s.fx.Schema.KeyPrefix, i)
}

// msg returns fx.New(i) with its key set to key ("" clears it).
func (s *suite[M]) msg(i int, key string) M {
	m := s.fx.New(i)
	s.setKey(m, key)
	return m
}

// setKey sets m's key field from its string form ("" clears it).
func (s *suite[M]) setKey(m M, key string) {
	r := m.ProtoReflect()
	if key == "" {
		r.Clear(s.keyFD)
		return
	}
	switch s.keyFD.Kind() {
	case protoreflect.StringKind:
		r.Set(s.keyFD, protoreflect.ValueOfString(key))
	case protoreflect.Int32Kind, protoreflect.Sint32Kind, protoreflect.Sfixed32Kind:
		v, _ := strconv.ParseInt(key, 10, 32)
		r.Set(s.keyFD, protoreflect.ValueOfInt32(int32(v)))
	case protoreflect.Int64Kind, protoreflect.Sint64Kind, protoreflect.Sfixed64Kind:
		v, _ := strconv.ParseInt(key, 10, 64)
		r.Set(s.keyFD, protoreflect.ValueOfInt64(v))
	case protoreflect.Uint32Kind, protoreflect.Fixed32Kind:
		v, _ := strconv.ParseUint(key, 10, 32)
		r.Set(s.keyFD, protoreflect.ValueOfUint32(uint32(v)))
	default:
		v, _ := strconv.ParseUint(key, 10, 64)
		r.Set(s.keyFD, protoreflect.ValueOfUint64(v))
	}
}

// keyOf returns m's key in the form the Repository interface uses: the
// string itself, or the canonical decimal form of a non-zero integer.
func (s *suite[M]) keyOf(m M) string {
	v := m.ProtoReflect().Get(s.keyFD)
	switch s.keyFD.Kind() {
	case protoreflect.StringKind:
		return v.String()
	case protoreflect.Uint32Kind, protoreflect.Fixed32Kind, protoreflect.Uint64Kind, protoreflect.Fixed64Kind:
		if v.Uint() == 0 {
			return ""
		}
		return strconv.FormatUint(v.Uint(), 10)
	default:
		if v.Int() == 0 {
			return ""
		}
		return strconv.FormatInt(v.Int(), 10)
	}
}

// compareKeys orders keys as List must: bytewise for string keys,
// numerically for integer keys.
func (s *suite[M]) compareKeys(a, b string) int {
	if !s.intKey {
		return cmp.Compare(a, b)
	}
	if s.unsignedKey {
		x, _ := strconv.ParseUint(a, 10, 64)
		y, _ := strconv.ParseUint(b, 10, 64)
		return cmp.Compare(x, y)
	}
	x, _ := strconv.ParseInt(a, 10, 64)
	y, _ := strconv.ParseInt(b, 10, 64)
	return cmp.Compare(x, y)
}

func (s *suite[M]) etagOf(m M) string {
	if s.etagFD == nil {
		return ""
	}
	return m.ProtoReflect().Get(s.etagFD).String()
}

func (s *suite[M]) setEtag(m M, etag string) {
	m.ProtoReflect().Set(s.etagFD, protoreflect.ValueOfString(etag))
}

// setEtag0 clears m's etag, if the schema has one, making an update
// unconditional.
func (s *suite[M]) setEtag0(m M) {
	if s.etagFD != nil {
		s.setEtag(m, "")
	}
}

// without returns a copy of m with the given fields cleared (nil entries
// are skipped), to compare messages modulo server-managed fields.
func without[M proto.Message](m M, fds ...protoreflect.FieldDescriptor) M {
	c := proto.Clone(m).(M)
	for _, fd := range fds {
		if fd != nil {
			c.ProtoReflect().Clear(fd)
		}
	}
	return c
}

// managed lists the fields the server owns on every write.
func (s *suite[M]) managed() []protoreflect.FieldDescriptor {
	return []protoreflect.FieldDescriptor{s.etagFD, s.createFD, s.updateFD}
}

func diff(want, got any) string { return gocmp.Diff(want, got, protocmp.Transform()) }

func (s *suite[M]) create(t *testing.T, repo svcstore.Repository[M], m M) M {
	t.Helper()
	got, err := repo.Create(ctx, m)
	if err != nil {
		t.Fatalf("Create(%q): %v", s.keyOf(m), err)
	}
	return got
}

func (s *suite[M]) get(t *testing.T, repo svcstore.Repository[M], key string) M {
	t.Helper()
	got, err := repo.Get(ctx, key)
	if err != nil {
		t.Fatalf("Get(%q): %v", key, err)
	}
	return got
}

// seed creates n resources with keys key(0..n-1), inserted in a shuffled
// order so that no test depends on insertion order, and returns them by key.
func (s *suite[M]) seed(t *testing.T, repo svcstore.Repository[M], n int) map[string]M {
	t.Helper()
	order := rand.New(rand.NewPCG(1, uint64(n))).Perm(n)
	out := make(map[string]M, n)
	for _, i := range order {
		got := s.create(t, repo, s.msg(i, s.key(i)))
		out[s.keyOf(got)] = got
	}
	return out
}

// wantCode fails t unless err is a status error with code want.
func wantCode(t *testing.T, err error, want codes.Code, call string) {
	t.Helper()
	if err == nil {
		t.Errorf("%s: got nil error, want %v", call, want)
		return
	}
	st, ok := status.FromError(err)
	if !ok {
		t.Errorf("%s: got non-status error %v, want code %v", call, err, want)
		return
	}
	if st.Code() != want {
		t.Errorf("%s: got %v (%v), want %v", call, st.Code(), st.Message(), want)
	}
}

// listAll pages through repo with the given page sizes (cycled), checking
// every page's bounds, and returns the keys and items in the order seen.
func (s *suite[M]) listAll(t *testing.T, repo svcstore.Repository[M], sizes ...int) ([]string, []M) {
	t.Helper()
	var keys []string
	var items []M
	token := ""
	for call := 0; ; call++ {
		if call > 100_000 {
			t.Fatal("List never returned an empty next_page_token")
		}
		size := sizes[call%len(sizes)]
		page, next, err := repo.List(ctx, size, token)
		if err != nil {
			t.Fatalf("List(%d, page %d): %v", size, call, err)
		}
		limit := size
		if limit == 0 {
			limit = svcstore.DefaultPageSize
		}
		limit = min(limit, svcstore.MaxPageSize)
		if len(page) > limit {
			t.Fatalf("List(%d) returned %d items, more than %d", size, len(page), limit)
		}
		if next != "" && len(page) == 0 {
			t.Fatalf("List(%d) returned an empty page with a next_page_token", size)
		}
		if cost := pageCost(page); cost > svcstore.DefaultMaxPageBytes && len(page) > 1 {
			t.Fatalf("List(%d) returned %d items of %d bytes, over the page byte budget %d", size, len(page), cost, svcstore.DefaultMaxPageBytes)
		}
		for _, m := range page {
			keys = append(keys, s.keyOf(m))
			items = append(items, m)
		}
		if next == "" {
			return keys, items
		}
		token = next
	}
}

func keysOf[M proto.Message](s *suite[M], ms []M) []string {
	out := make([]string, len(ms))
	for i, m := range ms {
		out[i] = s.keyOf(m)
	}
	return out
}

// times returns m's create and update times, failing t when a configured
// one is unset or equal to the bogus client value.
func (s *suite[M]) times(t *testing.T, m M, after string) (ct, ut time.Time) {
	t.Helper()
	get := func(fd protoreflect.FieldDescriptor) time.Time {
		if fd == nil {
			return time.Time{}
		}
		r := m.ProtoReflect()
		if !r.Has(fd) {
			t.Fatalf("after %s, %s is unset", after, fd.Name())
		}
		ts := r.Get(fd).Message()
		f := ts.Descriptor().Fields()
		v := time.Unix(ts.Get(f.ByName("seconds")).Int(), ts.Get(f.ByName("nanos")).Int())
		if v.Equal(time.Unix(1, 1)) {
			t.Fatalf("after %s, %s is the value the client sent", after, fd.Name())
		}
		return v
	}
	return get(s.createFD), get(s.updateFD)
}

func setTimestamp(r protoreflect.Message, fd protoreflect.FieldDescriptor, t time.Time) {
	ts := r.Mutable(fd).Message()
	f := ts.Descriptor().Fields()
	ts.Set(f.ByName("seconds"), protoreflect.ValueOfInt64(t.Unix()))
	ts.Set(f.ByName("nanos"), protoreflect.ValueOfInt32(int32(t.Nanosecond())))
}
