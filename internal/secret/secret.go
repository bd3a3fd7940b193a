// Package secret encrypts secrets at rest with the server key: passwords,
// keys and tokens are stored as "enc:v1:" followed by the base64 of an
// AES-256-GCM nonce and ciphertext. It is safe for concurrent use.
package secret

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
)

// Prefix marks a sealed value.
const Prefix = "enc:v1:"

// Box seals and opens secrets with one key.
type Box struct {
	aead cipher.AEAD
}

// New returns a Box for a 32-byte key.
func New(key []byte) (*Box, error) {
	if len(key) != 32 {
		return nil, fmt.Errorf("the server key must be 32 bytes, got %d", len(key))
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, err
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, err
	}
	return &Box{aead: aead}, nil
}

// IsSealed reports whether s is a sealed value.
func IsSealed(s string) bool { return strings.HasPrefix(s, Prefix) }

// Seal encrypts a secret. The empty string stays empty.
func (b *Box) Seal(plain string) string {
	if plain == "" {
		return ""
	}
	nonce := make([]byte, b.aead.NonceSize())
	rand.Read(nonce)
	return Prefix + base64.RawStdEncoding.EncodeToString(b.aead.Seal(nonce, nonce, []byte(plain), nil))
}

// ErrWrongKey is returned for a value sealed with another key.
var ErrWrongKey = errors.New("the secret was encrypted with another server key")

// Open decrypts a sealed secret; a value that is not sealed (stored before
// encryption, or empty) is returned as it is.
func (b *Box) Open(s string) (string, error) {
	if !IsSealed(s) {
		return s, nil
	}
	data, err := base64.RawStdEncoding.DecodeString(strings.TrimPrefix(s, Prefix))
	if err != nil || len(data) < b.aead.NonceSize() {
		return "", errors.New("the sealed secret is malformed")
	}
	plain, err := b.aead.Open(nil, data[:b.aead.NonceSize()], data[b.aead.NonceSize():], nil)
	if err != nil {
		return "", ErrWrongKey
	}
	return string(plain), nil
}
