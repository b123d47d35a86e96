package core

import (
	"crypto/rand"
	"encoding/binary"
	"encoding/hex"
	"sync"
	"time"
)

// RandomID is the default key generator: a UUIDv7 (RFC 9562) in its
// canonical form, 36 characters of lowercase hex digits and hyphens.
//
// Its first 48 bits are the Unix time in milliseconds, so ids sort, as byte
// strings, in the order they were made: a List without order_by answers
// resources in creation order. Within one process the order is strict,
// even for ids made in the same millisecond or while the wall clock steps
// back: the next 12 bits (rand_a) are a counter that starts at a random
// value below 2048 each millisecond and counts up, and a millisecond whose
// counter runs out borrows the next one (RFC 9562 §6.2, method 1). The last
// 62 bits are fresh from crypto/rand for every id, so an id cannot be
// guessed from another.
//
// AIP-122 asks user-settable ids to look like no UUID, and to follow RFC
// 1034; a server-assigned UUID therefore never collides with one a client
// chose well.
func RandomID() string { return defaultIDs.next() }

var defaultIDs = idGen{now: func() int64 { return time.Now().UnixMilli() }, rand: rand.Read}

// idGen makes time-ordered ids; now and rand are injectable for tests.
type idGen struct {
	now  func() int64 // Unix milliseconds
	rand func([]byte) (int, error)

	mu  sync.Mutex
	ms  int64  // the timestamp of the last id
	seq uint16 // its counter (12 bits)
}

const (
	seqBits = 12
	seqMax  = 1<<seqBits - 1
	// seqStart bounds a millisecond's random first counter value, leaving
	// at least 2048 ids to that millisecond before it borrows the next.
	seqStart = 1 << (seqBits - 1)
)

func (g *idGen) next() string {
	var b [16]byte
	if _, err := g.rand(b[:]); err != nil {
		// crypto/rand only fails when the OS has no entropy source; Go 1.24
		// and later crash in that case too.
		panic("svcstore: crypto/rand: " + err.Error())
	}
	g.mu.Lock()
	now := g.now()
	switch {
	case now > g.ms:
		g.ms = now
		g.seq = binary.BigEndian.Uint16(b[6:8]) % seqStart
	case g.seq < seqMax:
		// The same millisecond, or the clock stepped back: count on.
		g.seq++
	default:
		// This millisecond is spent: borrow the next one.
		g.ms++
		g.seq = binary.BigEndian.Uint16(b[6:8]) % seqStart
	}
	ms, seq := g.ms, g.seq
	g.mu.Unlock()

	// 48-bit timestamp, big-endian.
	b[0], b[1], b[2], b[3], b[4], b[5] = byte(ms>>40), byte(ms>>32), byte(ms>>24), byte(ms>>16), byte(ms>>8), byte(ms)
	b[6] = 0x70 | byte(seq>>8) // version 7, then the counter's top 4 bits
	b[7] = byte(seq)
	b[8] = b[8]&0x3f | 0x80 // RFC 9562 variant; 62 random bits follow
	return format(b)
}

// format writes b in the canonical 8-4-4-4-12 form.
func format(b [16]byte) string {
	var s [36]byte
	hex.Encode(s[0:8], b[0:4])
	s[8] = '-'
	hex.Encode(s[9:13], b[4:6])
	s[13] = '-'
	hex.Encode(s[14:18], b[6:8])
	s[18] = '-'
	hex.Encode(s[19:23], b[8:10])
	s[23] = '-'
	hex.Encode(s[24:], b[10:])
	return string(s[:])
}
