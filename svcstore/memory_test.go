package svcstore_test

import (
	"context"
	"fmt"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"go.uber.org/goleak"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/testing/protocmp"
	"google.golang.org/protobuf/types/known/fieldmaskpb"
	"google.golang.org/protobuf/types/known/timestamppb"
	"google.golang.org/protobuf/types/known/wrapperspb"

	"github.com/svcgen/protoc-gen-svc/svcstore"
	"github.com/svcgen/protoc-gen-svc/svcstore/internal/fixtures"
	"github.com/svcgen/protoc-gen-svc/svcstore/internal/testpb"
	"github.com/svcgen/protoc-gen-svc/svcstore/storetest"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

var ctx = context.Background()

var (
	bookSchema   = fixtures.BookSchema
	widgetSchema = fixtures.WidgetSchema
	ticketSchema = fixtures.TicketSchema
)

var ticketFixture = fixtures.Ticket

// Compile-time check that Memory implements Repository for a generated type.
var _ svcstore.Repository[*testpb.Book] = (*svcstore.Memory[*testpb.Book])(nil)

// memoryWith is Fixture.NewRepoWith for Memory stores of schema.
func memoryWith[M proto.Message](schema svcstore.Schema) func(*testing.T, ...svcstore.Option) svcstore.Repository[M] {
	return func(t *testing.T, opts ...svcstore.Option) svcstore.Repository[M] {
		m, err := svcstore.New[M](schema, opts...)
		if err != nil {
			t.Fatal(err)
		}
		return m
	}
}

func TestContract(t *testing.T) {
	t.Run("Book", func(t *testing.T) {
		storetest.Run(t, func(t *testing.T) svcstore.Repository[*testpb.Book] {
			return svcstore.MustNew[*testpb.Book](bookSchema)
		}, withOpener(fixtures.Book, memoryWith[*testpb.Book](bookSchema)))
	})
	t.Run("BookTopLevelMask", func(t *testing.T) {
		storetest.Run(t, func(t *testing.T) svcstore.Repository[*testpb.Book] {
			return svcstore.MustNew[*testpb.Book](bookSchema)
		}, storetest.Fixture[*testpb.Book]{
			Schema:   bookSchema,
			New:      func(i int) *testpb.Book { return &testpb.Book{Title: fmt.Sprint("Title ", i)} },
			Mutate:   func(b *testpb.Book) { b.Title += "!" },
			MaskPath: "title",
		})
	})
	t.Run("Ticket", func(t *testing.T) {
		storetest.Run(t, func(t *testing.T) svcstore.Repository[*testpb.Ticket] {
			return svcstore.MustNew[*testpb.Ticket](ticketSchema)
		}, withOpener(ticketFixture, memoryWith[*testpb.Ticket](ticketSchema)))
	})
	t.Run("Counter", func(t *testing.T) {
		storetest.Run(t, func(t *testing.T) svcstore.Repository[*testpb.Counter] {
			return svcstore.MustNew[*testpb.Counter](svcstore.Schema{KeyField: "id"})
		}, storetest.Fixture[*testpb.Counter]{
			Schema:       svcstore.Schema{KeyField: "id"},
			New:          func(i int) *testpb.Counter { return &testpb.Counter{Label: fmt.Sprint("label ", i%4)} },
			Mutate:       func(c *testpb.Counter) { c.Label += "+" },
			MaskPath:     "label",
			EqualFilters: []storetest.EqualFilter{{Path: "label", Value: "label 1"}},
			NewRepoWith:  memoryWith[*testpb.Counter](svcstore.Schema{KeyField: "id"}),
		})
	})
	t.Run("Widget", func(t *testing.T) {
		storetest.Run(t, func(t *testing.T) svcstore.Repository[*testpb.Widget] {
			return svcstore.MustNew[*testpb.Widget](widgetSchema)
		}, storetest.Fixture[*testpb.Widget]{
			Schema:      widgetSchema,
			New:         func(i int) *testpb.Widget { return &testpb.Widget{Label: fmt.Sprint("label ", i)} },
			Mutate:      func(w *testpb.Widget) { w.Label += " v2" },
			MaskPath:    "label",
			NewRepoWith: memoryWith[*testpb.Widget](widgetSchema),
		})
	})
}

func TestNewRejectsBadSchema(t *testing.T) {
	tests := []struct {
		name   string
		schema svcstore.Schema
		want   string
	}{
		{"no key", svcstore.Schema{}, `svcstore.test.v1.Book: Schema.KeyField is required`},
		{"unknown key", svcstore.Schema{KeyField: "nam"}, `svcstore.test.v1.Book has no field "nam" (Schema.KeyField)`},
		{"json name", svcstore.Schema{KeyField: "name", CreateTimeField: "createTime"}, `svcstore.test.v1.Book has no field "createTime" (Schema.CreateTimeField)`},
		{"message key", svcstore.Schema{KeyField: "details"}, `field svcstore.test.v1.Book.details (Schema.KeyField) must be a singular string or integer, not svcstore.test.v1.Details`},
		{"timestamp etag", svcstore.Schema{KeyField: "name", EtagField: "create_time"}, `field svcstore.test.v1.Book.create_time (Schema.EtagField) must be a singular string, not google.protobuf.Timestamp`},
		{"string time", svcstore.Schema{KeyField: "name", UpdateTimeField: "title"}, `field svcstore.test.v1.Book.title (Schema.UpdateTimeField) must be a singular google.protobuf.Timestamp, not string`},
		{"other message time", svcstore.Schema{KeyField: "name", CreateTimeField: "details"}, `must be a singular google.protobuf.Timestamp, not svcstore.test.v1.Details`},
		{"prefix too long", svcstore.Schema{KeyField: "name", KeyPrefix: strings.Repeat("p", svcstore.MaxKeyBytes-35)}, `svcstore.test.v1.Book: Schema.KeyPrefix has 2013 bytes; keys are at most 2048 bytes, so it may have at most 2012`},
		{"field twice", svcstore.Schema{KeyField: "name", EtagField: "name"}, `field svcstore.test.v1.Book.name is named by both Schema.KeyField and Schema.EtagField`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := svcstore.New[*testpb.Book](tt.schema)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("New(%+v) error = %v, want it to contain %q", tt.schema, err, tt.want)
			}
		})
	}
	if _, err := svcstore.New[*wrapperspb.Int64Value](svcstore.Schema{KeyField: "value"}); err != nil {
		t.Errorf("New with an int64 key: %v", err)
	}
	if _, err := svcstore.New[*wrapperspb.DoubleValue](svcstore.Schema{KeyField: "value"}); err == nil ||
		!strings.Contains(err.Error(), "must be a singular string or integer, not double") {
		t.Errorf("New with a double key: error = %v", err)
	}
	if _, err := svcstore.New[*wrapperspb.Int64Value](svcstore.Schema{KeyField: "value", KeyPrefix: "n/"}); err == nil ||
		!strings.Contains(err.Error(), `Schema.KeyPrefix "n/" needs a string key`) {
		t.Errorf("New with an int64 key and a prefix: error = %v", err)
	}
	if _, err := svcstore.New[proto.Message](svcstore.Schema{KeyField: "name"}); err == nil ||
		!strings.Contains(err.Error(), "concrete generated message type") {
		t.Errorf("New[proto.Message]: error = %v", err)
	}
	defer func() {
		if recover() == nil {
			t.Error("MustNew with a bad schema did not panic")
		}
	}()
	svcstore.MustNew[*testpb.Book](svcstore.Schema{})
}

func TestNewRejectsBadOptions(t *testing.T) {
	tests := []struct {
		name string
		opts []svcstore.Option
		want string
	}{
		{"nil clock", []svcstore.Option{svcstore.WithClock(nil)}, "WithClock: nil clock"},
		{"nil keygen", []svcstore.Option{svcstore.WithKeyGenerator(nil)}, "WithKeyGenerator: nil generator"},
		{"zero max", []svcstore.Option{svcstore.WithMaxPageSize(0)}, "WithMaxPageSize: page size must be positive"},
		{"negative default", []svcstore.Option{svcstore.WithDefaultPageSize(-1)}, "WithDefaultPageSize: page size must be positive"},
		{"default above max", []svcstore.Option{svcstore.WithMaxPageSize(10), svcstore.WithDefaultPageSize(11)}, "default page size 11 exceeds maximum page size 10"},
		{"zero page bytes", []svcstore.Option{svcstore.WithMaxPageBytes(0)}, "WithMaxPageBytes: byte budget must be positive"},
		{"negative page bytes", []svcstore.Option{svcstore.WithMaxPageBytes(-1)}, "WithMaxPageBytes: byte budget must be positive"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := svcstore.New[*testpb.Widget](widgetSchema, tt.opts...)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error = %v, want it to contain %q", err, tt.want)
			}
		})
	}
}

// fakeClock returns t0, t0+1s, t0+2s, ... and is safe for concurrent use.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(time.Second)
	return c.t
}

func TestTimestampsAndEtagsAreExact(t *testing.T) {
	t0 := time.Date(2025, 1, 2, 3, 4, 5, 6, time.UTC)
	clock := &fakeClock{t: t0}
	repo := svcstore.MustNew[*testpb.Book](bookSchema, svcstore.WithClock(clock.Now))

	created, err := repo.Create(ctx, &testpb.Book{
		Name:       "shelves/1/books/a",
		Title:      "A",
		Etag:       `"forged"`,
		CreateTime: timestamppb.New(time.Unix(7, 0)),
	})
	if err != nil {
		t.Fatal(err)
	}
	want := &testpb.Book{
		Name:       "shelves/1/books/a",
		Title:      "A",
		Etag:       `"1"`,
		CreateTime: timestamppb.New(t0.Add(time.Second)),
		UpdateTime: timestamppb.New(t0.Add(time.Second)),
	}
	if d := cmp.Diff(want, created, protocmp.Transform()); d != "" {
		t.Fatalf("Create (-want +got):\n%s", d)
	}

	updated, err := repo.Update(ctx, &testpb.Book{Name: "shelves/1/books/a", Title: "B", Etag: `"1"`}, nil)
	if err != nil {
		t.Fatal(err)
	}
	want = &testpb.Book{
		Name:       "shelves/1/books/a",
		Title:      "B",
		Etag:       `"2"`,
		CreateTime: timestamppb.New(t0.Add(time.Second)),
		UpdateTime: timestamppb.New(t0.Add(2 * time.Second)),
	}
	if d := cmp.Diff(want, updated, protocmp.Transform()); d != "" {
		t.Fatalf("Update (-want +got):\n%s", d)
	}

	// Etags are store-wide: another resource gets the next one.
	other, err := repo.Create(ctx, &testpb.Book{Name: "shelves/1/books/b"})
	if err != nil {
		t.Fatal(err)
	}
	if other.GetEtag() != `"3"` {
		t.Errorf("second resource etag = %s, want \"3\"", other.GetEtag())
	}
}

func TestErrorMessages(t *testing.T) {
	repo := svcstore.MustNew[*testpb.Book](bookSchema)
	if _, err := repo.Create(ctx, &testpb.Book{Name: "shelves/1/books/2"}); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		call func() error
		code codes.Code
		msg  string
	}{
		{"get missing", func() error { _, err := repo.Get(ctx, "shelves/1/books/3"); return err },
			codes.NotFound, `svcstore.test.v1.Book "shelves/1/books/3" not found`},
		{"create existing", func() error { _, err := repo.Create(ctx, &testpb.Book{Name: "shelves/1/books/2"}); return err },
			codes.AlreadyExists, `svcstore.test.v1.Book "shelves/1/books/2" already exists`},
		{"get empty", func() error { _, err := repo.Get(ctx, ""); return err },
			codes.InvalidArgument, `svcstore.test.v1.Book: name must not be empty`},
		{"etag mismatch", func() error { _, err := repo.Delete(ctx, "shelves/1/books/2", `"9"`); return err },
			codes.Aborted, `svcstore.test.v1.Book "shelves/1/books/2": etag "9" does not match current etag "1"; re-read and retry`},
		{"negative page", func() error { _, _, err := repo.List(ctx, -5, ""); return err },
			codes.InvalidArgument, `list svcstore.test.v1.Book: page_size must not be negative, got -5`},
		{"unknown path", func() error {
			_, err := repo.Update(ctx, &testpb.Book{Name: "shelves/1/books/2"}, &fieldmaskpb.FieldMask{Paths: []string{"details.colour"}})
			return err
		}, codes.InvalidArgument, `update svcstore.test.v1.Book: invalid update_mask path "details.colour": no such field`},
		{"immutable path", func() error {
			_, err := repo.Update(ctx, &testpb.Book{Name: "shelves/1/books/2"}, &fieldmaskpb.FieldMask{Paths: []string{"create_time.seconds"}})
			return err
		}, codes.InvalidArgument, `update svcstore.test.v1.Book: update_mask path "create_time.seconds" names field "create_time", which cannot be updated`},
		{"star with others", func() error {
			_, err := repo.Update(ctx, &testpb.Book{Name: "shelves/1/books/2"}, &fieldmaskpb.FieldMask{Paths: []string{"*", "title"}})
			return err
		}, codes.InvalidArgument, `update svcstore.test.v1.Book: update_mask path "*" must be the only path, got "*, title"`},
		{"nil create", func() error { _, err := repo.Create(ctx, nil); return err },
			codes.InvalidArgument, `create svcstore.test.v1.Book: message is nil`},
		{"other store token", func() error {
			other := svcstore.MustNew[*testpb.Book](bookSchema)
			for _, n := range []string{"a", "b"} {
				if _, err := other.Create(ctx, &testpb.Book{Name: n}); err != nil {
					return err
				}
			}
			_, tok, err := other.List(ctx, 1, "")
			if err != nil {
				return err
			}
			_, _, err = repo.List(ctx, 1, tok)
			return err
		}, codes.InvalidArgument, `list svcstore.test.v1.Book: invalid page_token: token was issued by a different store (replicas must share one page token key)`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			st := status.Convert(tt.call())
			if st.Code() != tt.code || st.Message() != tt.msg {
				t.Errorf("got %v %q\nwant %v %q", st.Code(), st.Message(), tt.code, tt.msg)
			}
		})
	}

	w := svcstore.MustNew[*testpb.Widget](widgetSchema)
	if _, err := w.Create(ctx, &testpb.Widget{Id: "w"}); err != nil {
		t.Fatal(err)
	}
	_, err := w.Delete(ctx, "w", `"1"`)
	if st := status.Convert(err); st.Code() != codes.InvalidArgument ||
		st.Message() != `delete svcstore.test.v1.Widget "w": etag given but svcstore.test.v1.Widget has no etag field` {
		t.Errorf("Delete with etag on Widget: %v", err)
	}
}

func TestContextDone(t *testing.T) {
	repo := svcstore.MustNew[*testpb.Widget](widgetSchema)
	canceled, cancel := context.WithCancel(ctx)
	cancel()
	expired, cancel2 := context.WithDeadline(ctx, time.Unix(1, 0))
	defer cancel2()
	for _, c := range []struct {
		ctx  context.Context
		code codes.Code
	}{{canceled, codes.Canceled}, {expired, codes.DeadlineExceeded}} {
		_, err1 := repo.Get(c.ctx, "x")
		_, _, err2 := repo.List(c.ctx, 0, "")
		_, err3 := repo.Create(c.ctx, &testpb.Widget{})
		_, err4 := repo.Update(c.ctx, &testpb.Widget{Id: "x"}, nil)
		_, err5 := repo.Delete(c.ctx, "x", "")
		for i, err := range []error{err1, err2, err3, err4, err5} {
			if status.Code(err) != c.code {
				t.Errorf("call %d with done context: %v, want %v", i, err, c.code)
			}
		}
	}
	if repo.Len() != 0 {
		t.Errorf("Len = %d after calls with a done context, want 0", repo.Len())
	}
}

func TestServerAssignedKeys(t *testing.T) {
	t.Run("default is a UUIDv7 after the prefix", func(t *testing.T) {
		repo := svcstore.MustNew[*testpb.Book](bookSchema)
		b, err := repo.Create(ctx, &testpb.Book{Title: "t"})
		if err != nil {
			t.Fatal(err)
		}
		re := regexp.MustCompile(`^shelves/1/books/[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`)
		if !re.MatchString(b.GetName()) {
			t.Errorf("assigned key %q does not match %v", b.GetName(), re)
		}
	})
	t.Run("injected generator, retried on collision", func(t *testing.T) {
		ids := []string{"a", "a", "b"}
		var n int
		repo := svcstore.MustNew[*testpb.Widget](svcstore.Schema{KeyField: "id", KeyPrefix: "widgets/"},
			svcstore.WithKeyGenerator(func() string { n++; return ids[n-1] }))
		for _, want := range []string{"widgets/a", "widgets/b"} {
			w, err := repo.Create(ctx, &testpb.Widget{})
			if err != nil || w.GetId() != want {
				t.Fatalf("Create = %q, %v; want %q", w.GetId(), err, want)
			}
		}
		if n != 3 {
			t.Errorf("generator called %d times, want 3", n)
		}
	})
	t.Run("generator that only collides", func(t *testing.T) {
		repo := svcstore.MustNew[*testpb.Widget](widgetSchema, svcstore.WithKeyGenerator(func() string { return "same" }))
		if _, err := repo.Create(ctx, &testpb.Widget{}); err != nil {
			t.Fatal(err)
		}
		_, err := repo.Create(ctx, &testpb.Widget{})
		if status.Code(err) != codes.Internal {
			t.Errorf("Create with an exhausted generator: %v, want Internal", err)
		}
	})
	t.Run("generator returning empty id", func(t *testing.T) {
		repo := svcstore.MustNew[*testpb.Widget](widgetSchema, svcstore.WithKeyGenerator(func() string { return "" }))
		if _, err := repo.Create(ctx, &testpb.Widget{}); status.Code(err) != codes.Internal {
			t.Errorf("Create: %v, want Internal", err)
		}
	})
}

func TestUpdateMaskPaths(t *testing.T) {
	base := &testpb.Book{
		Name:    "b",
		Title:   "Title",
		Author:  "Author",
		Details: &testpb.Details{Pages: 10, Isbn: "isbn"},
	}
	tests := []struct {
		name  string
		base  *testpb.Book
		in    *testpb.Book
		paths []string
		want  *testpb.Book
	}{{
		name:  "nested leaf keeps siblings",
		base:  base,
		in:    &testpb.Book{Name: "b", Title: "ignored", Details: &testpb.Details{Pages: 20, Isbn: "ignored"}},
		paths: []string{"details.pages"},
		want:  &testpb.Book{Name: "b", Title: "Title", Author: "Author", Details: &testpb.Details{Pages: 20, Isbn: "isbn"}},
	}, {
		name:  "whole message field is replaced",
		base:  base,
		in:    &testpb.Book{Name: "b", Details: &testpb.Details{Pages: 20}},
		paths: []string{"details"},
		want:  &testpb.Book{Name: "b", Title: "Title", Author: "Author", Details: &testpb.Details{Pages: 20}},
	}, {
		name:  "unset source clears the field",
		base:  base,
		in:    &testpb.Book{Name: "b"},
		paths: []string{"title", "details"},
		want:  &testpb.Book{Name: "b", Author: "Author"},
	}, {
		name:  "unset source parent clears only the leaf",
		base:  base,
		in:    &testpb.Book{Name: "b"},
		paths: []string{"details.isbn"},
		want:  &testpb.Book{Name: "b", Title: "Title", Author: "Author", Details: &testpb.Details{Pages: 10}},
	}, {
		name:  "clearing under an unset parent creates nothing",
		base:  &testpb.Book{Name: "b", Title: "Title"},
		in:    &testpb.Book{Name: "b"},
		paths: []string{"details.isbn"},
		want:  &testpb.Book{Name: "b", Title: "Title"},
	}, {
		name:  "intermediate message is created",
		base:  &testpb.Book{Name: "b", Title: "Title"},
		in:    &testpb.Book{Name: "b", Details: &testpb.Details{Isbn: "new", Pages: 99}},
		paths: []string{"details.isbn"},
		want:  &testpb.Book{Name: "b", Title: "Title", Details: &testpb.Details{Isbn: "new"}},
	}, {
		name:  "overlapping paths",
		base:  base,
		in:    &testpb.Book{Name: "b", Details: &testpb.Details{Pages: 1, Isbn: "x"}},
		paths: []string{"details.pages", "details", "details.pages"},
		want:  &testpb.Book{Name: "b", Title: "Title", Author: "Author", Details: &testpb.Details{Pages: 1, Isbn: "x"}},
	}, {
		name:  "star is full replacement",
		base:  base,
		in:    &testpb.Book{Name: "b", Author: "Other"},
		paths: []string{"*"},
		want:  &testpb.Book{Name: "b", Author: "Other"},
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			repo := svcstore.MustNew[*testpb.Book](svcstore.Schema{KeyField: "name"})
			if _, err := repo.Create(ctx, tt.base); err != nil {
				t.Fatal(err)
			}
			got, err := repo.Update(ctx, tt.in, &fieldmaskpb.FieldMask{Paths: tt.paths})
			if err != nil {
				t.Fatal(err)
			}
			if d := cmp.Diff(tt.want, got, protocmp.Transform()); d != "" {
				t.Errorf("Update(mask %q) (-want +got):\n%s", tt.paths, d)
			}
		})
	}
}

func TestPageSizeOptions(t *testing.T) {
	fill := func(repo *svcstore.Memory[*testpb.Widget], n int) {
		for i := range n {
			if _, err := repo.Create(ctx, &testpb.Widget{Id: fmt.Sprintf("w%03d", i)}); err != nil {
				t.Fatal(err)
			}
		}
	}
	pageLen := func(repo *svcstore.Memory[*testpb.Widget], size int) int {
		items, _, err := repo.List(ctx, size, "")
		if err != nil {
			t.Fatal(err)
		}
		return len(items)
	}

	repo := svcstore.MustNew[*testpb.Widget](widgetSchema, svcstore.WithMaxPageSize(10), svcstore.WithDefaultPageSize(3))
	fill(repo, 25)
	for size, want := range map[int]int{0: 3, 1: 1, 10: 10, 11: 10, 1 << 30: 10} {
		if got := pageLen(repo, size); got != want {
			t.Errorf("List(%d) returned %d items, want %d", size, got, want)
		}
	}

	// A maximum below DefaultPageSize lowers the default with it.
	small := svcstore.MustNew[*testpb.Widget](widgetSchema, svcstore.WithMaxPageSize(5))
	fill(small, 25)
	if got := pageLen(small, 0); got != 5 {
		t.Errorf("List(0) with max 5 returned %d items, want 5", got)
	}

	// The documented defaults, exactly.
	def := svcstore.MustNew[*testpb.Widget](widgetSchema)
	fill(def, svcstore.MaxPageSize+1)
	if got := pageLen(def, 0); got != svcstore.DefaultPageSize {
		t.Errorf("List(0) returned %d items, want %d", got, svcstore.DefaultPageSize)
	}
	if got := pageLen(def, svcstore.MaxPageSize+1); got != svcstore.MaxPageSize {
		t.Errorf("List(%d) returned %d items, want %d", svcstore.MaxPageSize+1, got, svcstore.MaxPageSize)
	}
}

func TestPagesAreFullUntilTheLast(t *testing.T) {
	repo := svcstore.MustNew[*testpb.Widget](widgetSchema)
	for i := range 23 {
		if _, err := repo.Create(ctx, &testpb.Widget{Id: fmt.Sprintf("w%02d", i)}); err != nil {
			t.Fatal(err)
		}
	}
	var lens []int
	tok := ""
	for {
		items, next, err := repo.List(ctx, 5, tok)
		if err != nil {
			t.Fatal(err)
		}
		lens = append(lens, len(items))
		if next == "" {
			break
		}
		tok = next
	}
	if d := cmp.Diff([]int{5, 5, 5, 5, 3}, lens); d != "" {
		t.Errorf("page lengths (-want +got):\n%s", d)
	}
}

func TestLen(t *testing.T) {
	repo := svcstore.MustNew[*testpb.Widget](widgetSchema)
	for i := range 3 {
		if _, err := repo.Create(ctx, &testpb.Widget{}); err != nil {
			t.Fatal(err)
		}
		if repo.Len() != i+1 {
			t.Fatalf("Len = %d, want %d", repo.Len(), i+1)
		}
	}
}

// A page's spare capacity must not hold the look-ahead item: it is a stored
// message, not a copy.
func TestListSpareCapacityHoldsNothing(t *testing.T) {
	repo := svcstore.MustNew[*testpb.Widget](widgetSchema)
	for i := range 10 {
		if _, err := repo.Create(ctx, &testpb.Widget{Id: fmt.Sprint(i)}); err != nil {
			t.Fatal(err)
		}
	}
	items, _, err := repo.List(ctx, 5, "")
	if err != nil {
		t.Fatal(err)
	}
	for i, w := range items[len(items):cap(items)] {
		if w != nil {
			t.Errorf("items[%d] beyond len is %v, want nil", len(items)+i, w)
		}
	}
}

func TestWatch(t *testing.T) {
	repo := svcstore.MustNew[*testpb.Ticket](ticketSchema)
	wctx, cancel := context.WithCancel(ctx)
	defer cancel()
	changes, err := repo.Watch(wctx)
	if err != nil {
		t.Fatal(err)
	}
	a, _ := repo.Create(ctx, &testpb.Ticket{Title: "a"})
	a.Title = "a2"
	if _, err := repo.Update(ctx, a, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := repo.CreateBatch(ctx, []*testpb.Ticket{{Title: "b"}, {Title: "c"}}); err != nil {
		t.Fatal(err)
	}
	if _, err := repo.Delete(ctx, "1", ""); err != nil {
		t.Fatal(err)
	}
	type seen struct {
		kind  svcstore.ChangeKind
		key   string
		title string
	}
	want := []seen{{svcstore.Created, "1", "a"}, {svcstore.Updated, "1", "a2"}, {svcstore.Created, "2", "b"},
		{svcstore.Created, "3", "c"}, {svcstore.Deleted, "1", "a2"}}
	var got []seen
	for c, err := range changes {
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, seen{c.Kind, c.Key, c.Message.GetTitle()})
		c.Message.Title = "scribbled" // the receiver owns its copy
		if len(got) == len(want) {
			break
		}
	}
	if d := cmp.Diff(want, got, cmp.AllowUnexported(seen{})); d != "" {
		t.Errorf("changes (-want +got):\n%s", d)
	}
	if b, _ := repo.Get(ctx, "2"); b.GetTitle() != "b" {
		t.Errorf("a watcher's copy aliased the store: %q", b.GetTitle())
	}
}

func TestWatchDropsSlowWatcher(t *testing.T) {
	repo := svcstore.MustNew[*testpb.Ticket](ticketSchema)
	wctx, cancel := context.WithCancel(ctx)
	defer cancel()
	changes, err := repo.Watch(wctx)
	if err != nil {
		t.Fatal(err)
	}
	for range svcstore.WatchBuffer + 1 {
		if _, err := repo.Create(ctx, &testpb.Ticket{}); err != nil {
			t.Fatal(err)
		}
	}
	var n int
	var last error
	for _, err := range changes {
		if err != nil {
			last = err
			break
		}
		n++
	}
	if status.Code(last) != codes.Aborted || n != svcstore.WatchBuffer {
		t.Errorf("slow watcher: %d changes then %v; want %d then Aborted", n, last, svcstore.WatchBuffer)
	}
}

func TestWatchEndsWithContext(t *testing.T) {
	repo := svcstore.MustNew[*testpb.Ticket](ticketSchema)
	wctx, cancel := context.WithCancel(ctx)
	changes, err := repo.Watch(wctx)
	if err != nil {
		t.Fatal(err)
	}
	cancel()
	for _, err := range changes {
		t.Fatalf("change after cancel: %v", err)
	}
	if _, err := repo.Watch(wctx); status.Code(err) != codes.Canceled {
		t.Errorf("Watch with a done context: %v, want Canceled", err)
	}
}

func TestFiltersAndIntegerKeyErrors(t *testing.T) {
	repo := svcstore.MustNew[*testpb.Ticket](ticketSchema)
	for _, tt := range []struct {
		name string
		call func() error
		want string
	}{
		{"malformed key", func() error { _, err := repo.Get(ctx, "x1"); return err },
			`svcstore.test.v1.Ticket: id "x1" is not the canonical decimal form of an integer`},
		{"out of range", func() error { _, err := repo.Get(ctx, "9223372036854775808"); return err },
			`svcstore.test.v1.Ticket: id "9223372036854775808" is out of range for int64`},
		{"wrong type", func() error { _, _, err := repo.List(ctx, 0, "", svcstore.Equal("status", int32(1))); return err },
			`list svcstore.test.v1.Ticket: filter "status": value 1 of type int32 does not match field svcstore.test.v1.Ticket.status of type enum (want a Go svcstore.test.v1.Status or protoreflect.EnumNumber)`},
		{"other enum", func() error {
			_, _, err := repo.List(ctx, 0, "", svcstore.Equal("status", codes.OK))
			return err
		}, `list svcstore.test.v1.Ticket: filter "status": value OK of type codes.Code does not match field`},
		{"repeated", func() error { _, _, err := repo.List(ctx, 0, "", svcstore.Equal("tags", "x")); return err },
			`list svcstore.test.v1.Ticket: filter "tags": field svcstore.test.v1.Ticket.tags is a repeated string; only singular fields can be filtered`},
		{"through scalar", func() error { _, _, err := repo.List(ctx, 0, "", svcstore.Equal("title.x", "x")); return err },
			`list svcstore.test.v1.Ticket: filter "title.x": title is not a message field`},
		{"prefix", func() error { _, _, err := repo.List(ctx, 0, "", svcstore.KeyPrefix("1")); return err },
			`list svcstore.test.v1.Ticket: a key prefix filter needs a string key, but id is int64`},
	} {
		t.Run(tt.name, func(t *testing.T) {
			st := status.Convert(tt.call())
			if st.Code() != codes.InvalidArgument || !strings.HasPrefix(st.Message(), tt.want) {
				t.Errorf("got %v %q\nwant InvalidArgument %q", st.Code(), st.Message(), tt.want)
			}
		})
	}
	// An enum filter also takes a bare protoreflect.EnumNumber.
	if _, err := repo.Create(ctx, &testpb.Ticket{Status: testpb.Status_STATUS_OPEN}); err != nil {
		t.Fatal(err)
	}
	items, _, err := repo.List(ctx, 0, "", svcstore.Equal("status", protoreflect.EnumNumber(1)))
	if err != nil || len(items) != 1 {
		t.Errorf("List(status = EnumNumber(1)) = %d items, %v", len(items), err)
	}
	if _, err := svcstore.New[*testpb.Ticket](ticketSchema, svcstore.WithKeyGenerator(func() string { return "x" })); err == nil {
		t.Error("New with an integer key and WithKeyGenerator: no error")
	}
	if _, err := svcstore.New[*testpb.Ticket](ticketSchema, svcstore.WithPageTokenKey([]byte("short"))); err == nil {
		t.Error("New with a 5-byte page token key: no error")
	}
}

func TestSharedPageTokenKey(t *testing.T) {
	key := []byte("0123456789abcdef0123456789abcdef")
	a := svcstore.MustNew[*testpb.Widget](widgetSchema, svcstore.WithPageTokenKey(key))
	b := svcstore.MustNew[*testpb.Widget](widgetSchema, svcstore.WithPageTokenKey(key))
	c := svcstore.MustNew[*testpb.Widget](widgetSchema, svcstore.WithPageTokenKey([]byte("another key, 16+ bytes")))
	for _, r := range []*svcstore.Memory[*testpb.Widget]{a, b, c} {
		for _, id := range []string{"1", "2", "3"} {
			if _, err := r.Create(ctx, &testpb.Widget{Id: id}); err != nil {
				t.Fatal(err)
			}
		}
	}
	_, tok, err := a.List(ctx, 1, "")
	if err != nil {
		t.Fatal(err)
	}
	if page, _, err := b.List(ctx, 1, tok); err != nil || len(page) != 1 || page[0].GetId() != "2" {
		t.Errorf("token across stores sharing a key: %v, %v", page, err)
	}
	_, _, err = c.List(ctx, 1, tok)
	if st := status.Convert(err); st.Code() != codes.InvalidArgument || !strings.Contains(st.Message(), "replicas must share one page token key") {
		t.Errorf("token under another key: %v", err)
	}
}

func withOpener[M proto.Message](fx storetest.Fixture[M], open func(*testing.T, ...svcstore.Option) svcstore.Repository[M]) storetest.Fixture[M] {
	fx.NewRepoWith = open
	return fx
}

// TestGeneratedKeyTooLong: a key generator whose keys exceed MaxKeyBytes
// is the server's fault: Internal, not InvalidArgument, and nothing stored.
func TestGeneratedKeyTooLong(t *testing.T) {
	repo := svcstore.MustNew[*testpb.Widget](widgetSchema,
		svcstore.WithKeyGenerator(func() string { return strings.Repeat("g", svcstore.MaxKeyBytes+1) }))
	_, err := repo.Create(ctx, &testpb.Widget{Label: "w"})
	if st := status.Convert(err); st.Code() != codes.Internal || !strings.Contains(st.Message(), "generated id has 2049 bytes") {
		t.Errorf("Create with an over-long generated key: %v, want Internal naming the length", err)
	}
	if repo.Len() != 0 {
		t.Errorf("Len = %d after a refused Create, want 0", repo.Len())
	}
}
