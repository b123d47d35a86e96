package core

import (
	"crypto/rand"
	"encoding/hex"
)

// RandomID is the default key generator: 16 bytes from crypto/rand shaped as
// a UUIDv4 (RFC 9562), a form clients and log readers recognise.
func RandomID() string {
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		// crypto/rand only fails when the OS has no entropy source; Go 1.24
		// and later crash in that case too.
		panic("svcstore: crypto/rand: " + err.Error())
	}
	b[6] = b[6]&0x0f | 0x40 // version 4
	b[8] = b[8]&0x3f | 0x80 // RFC 9562 variant
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
