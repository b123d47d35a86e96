package svcstore

import (
	"bytes"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
)

// Page token layout, before base64url (unpadded) encoding:
//
//	version (1 byte) | nonce (8 bytes) | last key (rest) | MAC (16 bytes)
//
// where MAC is HMAC-SHA256 over everything before it, keyed with a secret
// drawn once per store and truncated to 128 bits (ample against forgery;
// shorter tokens). The nonce is not needed for security, the MAC already
// binds a token to its store; it lets us tell a client that a token came from
// another store rather than that it is corrupt. The page size is not encoded,
// so clients may change it between pages.
const (
	tokenVersion = 1
	nonceLen     = 8
	macLen       = 16
	tokenHeader  = 1 + nonceLen
)

// tokenEncoding is strict so that every token has exactly one encoding: a
// changed character always changes the bytes and so fails the MAC, instead
// of hitting padding bits that lenient decoding ignores.
var tokenEncoding = base64.RawURLEncoding.Strict()

var (
	errTokenMalformed  = errors.New("malformed token")
	errTokenVersion    = errors.New("unsupported token version")
	errTokenOtherStore = errors.New("token was issued by a different store")
	errTokenForged     = errors.New("token failed authentication")
)

// tokenCodec issues and checks the page tokens of one store.
type tokenCodec struct {
	secret [32]byte
	nonce  [nonceLen]byte
}

func newTokenCodec() (tokenCodec, error) {
	var c tokenCodec
	if _, err := rand.Read(c.secret[:]); err != nil {
		return c, fmt.Errorf("page token secret: %w", err)
	}
	if _, err := rand.Read(c.nonce[:]); err != nil {
		return c, fmt.Errorf("page token nonce: %w", err)
	}
	return c, nil
}

// encode returns the token for a page that ended at lastKey.
func (c *tokenCodec) encode(lastKey string) string {
	buf := make([]byte, 0, tokenHeader+len(lastKey)+macLen)
	buf = append(buf, tokenVersion)
	buf = append(buf, c.nonce[:]...)
	buf = append(buf, lastKey...)
	buf = append(buf, c.mac(buf)...)
	return tokenEncoding.EncodeToString(buf)
}

// decode checks token and returns the last key of the page that issued it.
func (c *tokenCodec) decode(token string) (string, error) {
	raw, err := tokenEncoding.DecodeString(token)
	if err != nil || len(raw) <= tokenHeader+macLen {
		return "", errTokenMalformed
	}
	body, sum := raw[:len(raw)-macLen], raw[len(raw)-macLen:]
	// The version and nonce are checked before the MAC only to give a more
	// useful message; a token from another store would fail the MAC anyway,
	// and both fields are public, so checking them first leaks nothing.
	if body[0] != tokenVersion {
		return "", errTokenVersion
	}
	if !bytes.Equal(body[1:tokenHeader], c.nonce[:]) {
		return "", errTokenOtherStore
	}
	if !hmac.Equal(sum, c.mac(body)) {
		return "", errTokenForged
	}
	return string(body[tokenHeader:]), nil
}

// mac returns the truncated HMAC-SHA256 of b under the store's secret.
func (c *tokenCodec) mac(b []byte) []byte {
	h := hmac.New(sha256.New, c.secret[:])
	h.Write(b)
	return h.Sum(nil)[:macLen]
}
