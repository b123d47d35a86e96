package core

import (
	"crypto/rand"
	"regexp"
	"strconv"
	"sync"
	"testing"
	"time"
)

// uuidV7 is the canonical form of an RFC 9562 version 7 UUID.
var uuidV7 = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`)

// timestamp reads the 48-bit millisecond timestamp of an id.
func timestamp(t *testing.T, id string) int64 {
	t.Helper()
	ms, err := strconv.ParseInt(id[0:8]+id[9:13], 16, 64)
	if err != nil {
		t.Fatalf("id %q: %v", id, err)
	}
	return ms
}

func TestRandomIDShapeAndTime(t *testing.T) {
	before := time.Now().UnixMilli()
	id := RandomID()
	after := time.Now().UnixMilli()
	if !uuidV7.MatchString(id) {
		t.Fatalf("RandomID() = %q, want a canonical UUIDv7", id)
	}
	// An earlier id of this process may have borrowed a millisecond or two.
	if ms := timestamp(t, id); ms < before || ms > after+2 {
		t.Errorf("id %q has timestamp %d, want within [%d, %d]", id, ms, before, after)
	}
	// The form every store accepts as a key segment: lowercase letters,
	// digits and hyphens, well under AIP-122's 63 characters.
	if len(id) > 63 || !regexp.MustCompile(`^[0-9a-z-]+$`).MatchString(id) {
		t.Errorf("id %q is not a key segment", id)
	}
}

// TestRandomIDOrderAndUniqueness makes ids as fast as one goroutine can,
// hundreds to each millisecond: each is greater, as a byte string, than the
// one before, and none repeats.
func TestRandomIDOrderAndUniqueness(t *testing.T) {
	const n = 200_000
	seen := make(map[string]bool, n)
	prev := ""
	sameMs := 0
	for i := range n {
		id := RandomID()
		if id <= prev {
			t.Fatalf("id %d %q is not after %q", i, id, prev)
		}
		if prev != "" && timestamp(t, id) == timestamp(t, prev) {
			sameMs++
		}
		if seen[id] {
			t.Fatalf("id %q made twice", id)
		}
		seen[id] = true
		prev = id
	}
	if sameMs == 0 {
		t.Errorf("no two of %d ids share a millisecond: the same-millisecond path went untested", n)
	}
}

func TestRandomIDConcurrent(t *testing.T) {
	const goroutines, each = 8, 5000
	ids := make([][]string, goroutines)
	var wg sync.WaitGroup
	for g := range goroutines {
		wg.Go(func() {
			for range each {
				ids[g] = append(ids[g], RandomID())
			}
		})
	}
	wg.Wait()
	seen := map[string]bool{}
	for _, list := range ids {
		for i, id := range list {
			if seen[id] {
				t.Fatalf("id %q made twice", id)
			}
			seen[id] = true
			if i > 0 && id <= list[i-1] {
				t.Fatalf("within one goroutine, %q came after %q", id, list[i-1])
			}
		}
	}
}

// TestIDGenClock drives the generator with a fixed clock: the same
// millisecond, a clock stepping back, and a millisecond whose counter runs
// out all keep the order strict.
func TestIDGenClock(t *testing.T) {
	now := int64(1_800_000_000_000)
	g := &idGen{now: func() int64 { return now }, rand: rand.Read}
	prev := g.next()
	check := func(what string) string {
		t.Helper()
		id := g.next()
		if !uuidV7.MatchString(id) {
			t.Fatalf("%s: %q is not a UUIDv7", what, id)
		}
		if id <= prev {
			t.Fatalf("%s: %q is not after %q", what, id, prev)
		}
		prev = id
		return id
	}
	// A whole millisecond's counter and beyond: at most 4096 ids a
	// millisecond, then the next millisecond is borrowed.
	for range 5000 {
		check("same millisecond")
	}
	if ms := timestamp(t, prev); ms != now+1 && ms != now+2 {
		t.Errorf("after 5000 ids in one millisecond the timestamp is %d, want %d or %d (borrowed)", ms, now+1, now+2)
	}
	now -= 10_000 // the wall clock steps back ten seconds
	check("clock stepped back")
	if ms := timestamp(t, prev); ms < now+10_000 {
		t.Errorf("after the clock stepped back, timestamp %d went back too", ms)
	}
	now += 20_000
	if id := check("clock moved on"); timestamp(t, id) != now {
		t.Errorf("timestamp %d, want the clock's %d", timestamp(t, id), now)
	}
}

func TestIDGenRandomness(t *testing.T) {
	// Two ids of the same millisecond differ in more than their counter:
	// the 62 bits after the variant are fresh each time.
	now := int64(1_800_000_000_000)
	g := &idGen{now: func() int64 { return now }, rand: rand.Read}
	a, b := g.next(), g.next()
	if a[19:] == b[19:] {
		t.Errorf("ids %q and %q share their random part", a, b)
	}
}

func BenchmarkRandomID(b *testing.B) {
	for b.Loop() {
		RandomID()
	}
}
