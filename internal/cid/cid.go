// Package cid makes correlation IDs: 24 lowercase hex characters holding 96
// random bits, as Zato 3.x does (zero-padded, so always 24 characters).
package cid

import (
	"crypto/rand"
	"encoding/hex"
)

// Len is the length of a CID.
const Len = 24

// New returns a new random CID. It is safe for concurrent use.
func New() string {
	var b [Len / 2]byte
	rand.Read(b[:]) // never fails since Go 1.24
	return hex.EncodeToString(b[:])
}

// Valid reports whether s has the form of a CID.
func Valid(s string) bool {
	if len(s) != Len {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return false
		}
	}
	return true
}
