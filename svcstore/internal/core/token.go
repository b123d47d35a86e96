package core

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
//	version (1) | nonce (8) | filter hash (8) | last key (rest) | MAC (16)
//
// MAC is HMAC-SHA256 over everything before it, keyed with the store's
// secret and truncated to 128 bits (ample against forgery; shorter tokens).
// The nonce is not needed for security, the MAC already binds a token to its
// store; it lets us tell a client that a token came from another store (or a
// replica with another token key) rather than that it is corrupt. The filter
// hash binds a token to the filters of the listing that issued it, so a
// token cannot resume a differently filtered listing. The page size is not
// encoded, so clients may change it between pages.
const (
	tokenVersion  = 2
	nonceLen      = 8
	filterHashLen = 8
	macLen        = 16
	tokenHeader   = 1 + nonceLen + filterHashLen
)

// tokenEncoding is strict so that every token has exactly one encoding: a
// changed character always changes the bytes and so fails the MAC, instead
// of hitting padding bits that lenient decoding ignores.
var tokenEncoding = base64.RawURLEncoding.Strict()

var (
	errTokenMalformed  = errors.New("malformed token")
	errTokenVersion    = errors.New("unsupported token version")
	errTokenOtherStore = errors.New("token was issued by a different store (replicas must share one page token key)")
	errTokenForged     = errors.New("token failed authentication")
	errTokenFilter     = errors.New("token was issued for a listing with different filters")
)

// Tokens issues and checks the page tokens of one store.
type Tokens struct {
	secret [32]byte
	nonce  [nonceLen]byte
}

// NewTokens returns a codec. With a nil key the secret is random: tokens are
// valid only in this process. With a key, every store given the same key
// and type name issues and accepts the same tokens, which is what replicas
// of one service need.
func NewTokens(typeName string, key []byte) (*Tokens, error) {
	c := &Tokens{}
	if key == nil {
		if _, err := rand.Read(c.secret[:]); err != nil {
			return nil, fmt.Errorf("page token secret: %w", err)
		}
		if _, err := rand.Read(c.nonce[:]); err != nil {
			return nil, fmt.Errorf("page token nonce: %w", err)
		}
		return c, nil
	}
	// Derive separate values for the secret and the (public) nonce, per
	// resource type, so that a token of one type never lists another.
	derive := func(label string) []byte {
		h := hmac.New(sha256.New, key)
		h.Write([]byte("svcstore page token " + label + "\x00" + typeName))
		return h.Sum(nil)
	}
	copy(c.secret[:], derive("secret"))
	copy(c.nonce[:], derive("nonce"))
	return c, nil
}

// Encode returns the token for a page that ended at lastKey, in a listing
// with the given filter fingerprint.
func (c *Tokens) Encode(lastKey, filters string) string {
	buf := make([]byte, 0, tokenHeader+len(lastKey)+macLen)
	buf = append(buf, tokenVersion)
	buf = append(buf, c.nonce[:]...)
	buf = append(buf, filterHash(filters)...)
	buf = append(buf, lastKey...)
	buf = append(buf, c.mac(buf)...)
	return tokenEncoding.EncodeToString(buf)
}

// Decode checks token against the listing's filter fingerprint and returns
// the last key of the page that issued it.
func (c *Tokens) Decode(token, filters string) (string, error) {
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
	if !bytes.Equal(body[1:1+nonceLen], c.nonce[:]) {
		return "", errTokenOtherStore
	}
	if !hmac.Equal(sum, c.mac(body)) {
		return "", errTokenForged
	}
	if !bytes.Equal(body[1+nonceLen:tokenHeader], filterHash(filters)) {
		return "", errTokenFilter
	}
	return string(body[tokenHeader:]), nil
}

func filterHash(filters string) []byte {
	h := sha256.Sum256([]byte(filters))
	return h[:filterHashLen]
}

// mac returns the truncated HMAC-SHA256 of b under the store's secret.
func (c *Tokens) mac(b []byte) []byte {
	h := hmac.New(sha256.New, c.secret[:])
	h.Write(b)
	return h.Sum(nil)[:macLen]
}
