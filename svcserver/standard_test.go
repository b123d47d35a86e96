package svcserver

import (
	"errors"
	"strings"
	"testing"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/wrapperspb"
)

func TestRefuseFields(t *testing.T) {
	if err := RefuseFields(&wrapperspb.StringValue{}, "value"); err != nil {
		t.Errorf("unset field refused: %v", err)
	}
	if err := RefuseFields((*wrapperspb.StringValue)(nil), "value"); err != nil {
		t.Errorf("nil message refused: %v", err)
	}
	if err := RefuseFields(&wrapperspb.StringValue{Value: "x"}, "nosuch"); err != nil {
		t.Errorf("unknown field refused: %v", err)
	}
	err := RefuseFields(&wrapperspb.StringValue{Value: "x"}, "value")
	if status.Code(err) != codes.Unimplemented || !strings.Contains(err.Error(), "StringValue.value") {
		t.Errorf("set field: %v, want Unimplemented naming StringValue.value", err)
	}
}

func TestSingletonKey(t *testing.T) {
	if got, err := SingletonKey("users/1", "users/*", "config"); err != nil || got != "users/1/config" {
		t.Errorf("SingletonKey(users/1) = %q, %v; want users/1/config", got, err)
	}
	for parent, want := range map[string]codes.Code{"users/": codes.InvalidArgument, "groups/1": codes.InvalidArgument, "users/1/config": codes.InvalidArgument, "users/-": codes.Unimplemented} {
		if _, err := SingletonKey(parent, "users/*", "config"); status.Code(err) != want {
			t.Errorf("SingletonKey(%q) = %v; want %v", parent, err, want)
		}
	}
}

func TestChildKeyPrefix(t *testing.T) {
	for _, c := range []struct {
		parent, pattern string
		want            string // "" = InvalidArgument
	}{
		{"shelves/1", "shelves/*", "shelves/1/books/"},
		{"publishers/p/shelves/s", "publishers/*/shelves/*", "publishers/p/shelves/s/books/"},
		{"", "shelves/*", ""},
		{"shelves/", "shelves/*", ""},
		{"shelves/1/x", "shelves/*", ""},
		{"bookcases/1", "shelves/*", ""},
		{"shelves//", "shelves/*", ""},
	} {
		got, err := ChildKeyPrefix(c.parent, c.pattern, "books")
		if c.want == "" {
			if status.Code(err) != codes.InvalidArgument {
				t.Errorf("ChildKeyPrefix(%q, %q) = %q, %v; want InvalidArgument", c.parent, c.pattern, got, err)
			}
			continue
		}
		if err != nil || got != c.want {
			t.Errorf("ChildKeyPrefix(%q, %q) = %q, %v; want %q", c.parent, c.pattern, got, err, c.want)
		}
	}
	for _, parent := range []string{"shelves/-", "publishers/-/shelves/s", "publishers/p/shelves/-"} {
		pattern := "shelves/*"
		if strings.HasPrefix(parent, "publishers/") {
			pattern = "publishers/*/shelves/*"
		}
		if _, err := ChildKeyPrefix(parent, pattern, "books"); status.Code(err) != codes.Unimplemented {
			t.Errorf("ChildKeyPrefix(%q) = %v, want Unimplemented (AIP-159)", parent, err)
		}
	}
}

func TestBatchBudget(t *testing.T) {
	var b BatchBudget
	item := &wrapperspb.StringValue{Value: strings.Repeat("x", 1000)}
	n := 0
	var err error
	for ; err == nil; n++ {
		err = b.Add(item)
	}
	if status.Code(err) != codes.ResourceExhausted {
		t.Fatalf("err = %v, want ResourceExhausted", err)
	}
	// Items of ~1 KiB plus the per-item allowance: refused past 4 MiB.
	if per := 1003 + batchItemOverhead; n != MaxBatchBytes/per+1 {
		t.Errorf("refused at item %d, want %d", n, MaxBatchBytes/per+1)
	}
}

func TestBatchItemError(t *testing.T) {
	if BatchItemError("names", 1, nil) != nil {
		t.Error("nil error wrapped")
	}
	err := BatchItemError("names", 2, status.Error(codes.NotFound, `Book "b" not found`))
	if status.Code(err) != codes.NotFound || status.Convert(err).Message() != `names[2]: Book "b" not found` {
		t.Errorf("BatchItemError = %v", err)
	}
	if err := BatchItemError("requests", 0, errors.New("boom")); status.Code(err) != codes.Internal || status.Convert(err).Message() != "requests[0]: boom" {
		t.Errorf("BatchItemError of a plain error = %v", err)
	}
}

func TestInParent(t *testing.T) {
	for _, c := range []struct {
		parent, name string
		ok           bool
	}{
		{"", "anything", true},
		{"shelves/s1", "shelves/s1/books/a", true},
		{"shelves/-", "shelves/s9/books/a", true},
		{"shelves/s1", "shelves/s2/books/a", false},
		{"shelves/s1", "shelves/s1", false},
		{"shelves/s1", "shelves/s10/books/a", false},
		{"shelves/-", "shelves//books/a", false},
	} {
		err := InParent(c.parent, "name", c.name)
		if (err == nil) != c.ok || err != nil && status.Code(err) != codes.InvalidArgument {
			t.Errorf("InParent(%q, %q) = %v; want ok %v", c.parent, c.name, err, c.ok)
		}
	}
}
