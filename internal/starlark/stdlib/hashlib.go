package stdlib

import (
	"crypto/md5"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/sha3"
	"crypto/sha512"
	"crypto/subtle"
	"encoding"
	"encoding/hex"
	"fmt"
	"hash"
	"sort"
	"strings"

	sl "go.starlark.net/starlark"
)

// hashes are the algorithms of hashlib, by Python's names.
var hashes = map[string]func() hash.Hash{
	"md5":      md5.New,
	"sha1":     sha1.New,
	"sha224":   sha256.New224,
	"sha256":   sha256.New,
	"sha384":   sha512.New384,
	"sha512":   sha512.New,
	"sha3_224": func() hash.Hash { return sha3.New224() },
	"sha3_256": func() hash.Hash { return sha3.New256() },
	"sha3_384": func() hash.Hash { return sha3.New384() },
	"sha3_512": func() hash.Hash { return sha3.New512() },
}

func hashNames() []string {
	names := make([]string, 0, len(hashes))
	for n := range hashes {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// hashlibModule is hashlib: hashlib.sha256(data).hexdigest().
func hashlibModule() sl.Value {
	m := sl.StringDict{}
	for name := range hashes {
		m[name] = sl.NewBuiltin("hashlib."+name, hashConstructor(name))
	}
	m["new"] = sl.NewBuiltin("hashlib.new", func(thread *sl.Thread, b *sl.Builtin, args sl.Tuple, kwargs []sl.Tuple) (sl.Value, error) {
		var name string
		var data sl.Value = sl.None
		if err := sl.UnpackArgs(b.Name(), args, kwargs, "name", &name, "data?", &data); err != nil {
			return nil, err
		}
		return newHash(thread, b.Name(), strings.ToLower(strings.ReplaceAll(name, "-", "")), data)
	})
	names := make([]sl.Value, 0, len(hashes))
	for _, n := range hashNames() {
		names = append(names, sl.String(n))
	}
	m["algorithms_available"] = sl.NewList(names)
	m["algorithms_guaranteed"] = sl.NewList(names)
	return module("hashlib", m)
}

func hashConstructor(name string) builtinFunc {
	return func(thread *sl.Thread, b *sl.Builtin, args sl.Tuple, kwargs []sl.Tuple) (sl.Value, error) {
		var data sl.Value = sl.None
		if err := sl.UnpackArgs(b.Name(), args, kwargs, "data?", &data); err != nil {
			return nil, err
		}
		return newHash(thread, b.Name(), name, data)
	}
}

func newHash(thread *sl.Thread, fn, name string, data sl.Value) (sl.Value, error) {
	mk, ok := hashes[name]
	if !ok {
		return nil, fmt.Errorf("%s: unsupported hash type %q: use one of %s", fn, name, strings.Join(hashNames(), ", "))
	}
	h := &Hash{name: name, h: mk()}
	if data != sl.None {
		if err := h.write(thread, fn, data); err != nil {
			return nil, err
		}
	}
	return h, nil
}

// Hash is a running hash, as Python's hashlib objects: update() it with
// data, then read digest() or hexdigest().
type Hash struct {
	name string
	h    hash.Hash
	// outer is set for an HMAC (RFC 2104): the key xored with its outer
	// pad; h is then the inner hash, which started with the key xored
	// with the inner pad.
	outer []byte
}

func (h *Hash) write(thread *sl.Thread, fn string, data sl.Value) error {
	s, err := text(fn, data)
	if err != nil {
		return err
	}
	if err := spendBytes(thread, len(s), fn); err != nil {
		return err
	}
	h.h.Write([]byte(s))
	return nil
}

func (h *Hash) String() string {
	if h.outer != nil {
		return fmt.Sprintf("<hmac-%s object>", h.name)
	}
	return fmt.Sprintf("<%s hash object>", h.name)
}
func (h *Hash) Type() string          { return "hash" }
func (h *Hash) Freeze()               {}
func (h *Hash) Truth() sl.Bool        { return sl.True }
func (h *Hash) Hash() (uint32, error) { return 0, fmt.Errorf("unhashable: hash") }

var hashAttrs = []string{"block_size", "copy", "digest", "digest_size", "hexdigest", "name", "update"}

func (h *Hash) AttrNames() []string { return hashAttrs }

func (h *Hash) Attr(name string) (sl.Value, error) {
	switch name {
	case "name":
		if h.outer != nil {
			return sl.String("hmac-" + h.name), nil
		}
		return sl.String(h.name), nil
	case "digest_size":
		return sl.MakeInt(h.h.Size()), nil
	case "block_size":
		return sl.MakeInt(h.h.BlockSize()), nil
	case "update":
		return sl.NewBuiltin("update", func(thread *sl.Thread, b *sl.Builtin, args sl.Tuple, kwargs []sl.Tuple) (sl.Value, error) {
			var data sl.Value
			if err := sl.UnpackPositionalArgs(b.Name(), args, kwargs, 1, &data); err != nil {
				return nil, err
			}
			return sl.None, h.write(thread, b.Name(), data)
		}), nil
	case "digest":
		return sl.NewBuiltin("digest", func(_ *sl.Thread, b *sl.Builtin, args sl.Tuple, kwargs []sl.Tuple) (sl.Value, error) {
			if err := sl.UnpackArgs(b.Name(), args, kwargs); err != nil {
				return nil, err
			}
			return sl.Bytes(h.sum()), nil
		}), nil
	case "hexdigest":
		return sl.NewBuiltin("hexdigest", func(_ *sl.Thread, b *sl.Builtin, args sl.Tuple, kwargs []sl.Tuple) (sl.Value, error) {
			if err := sl.UnpackArgs(b.Name(), args, kwargs); err != nil {
				return nil, err
			}
			return sl.String(hex.EncodeToString(h.sum())), nil
		}), nil
	case "copy":
		return sl.NewBuiltin("copy", func(_ *sl.Thread, b *sl.Builtin, args sl.Tuple, kwargs []sl.Tuple) (sl.Value, error) {
			if err := sl.UnpackArgs(b.Name(), args, kwargs); err != nil {
				return nil, err
			}
			return h.clone()
		}), nil
	}
	return nil, nil
}

// clone copies the hash's state through its marshalled form, which every
// hash here supports.
func (h *Hash) clone() (*Hash, error) {
	m, ok := h.h.(encoding.BinaryMarshaler)
	if !ok {
		return nil, fmt.Errorf("copy: a %s hash cannot be copied", h.name)
	}
	state, err := m.MarshalBinary()
	if err != nil {
		return nil, fmt.Errorf("copy: %w", err)
	}
	fresh := hashes[h.name]()
	if err := fresh.(encoding.BinaryUnmarshaler).UnmarshalBinary(state); err != nil {
		return nil, fmt.Errorf("copy: %w", err)
	}
	return &Hash{name: h.name, h: fresh, outer: h.outer}, nil
}

// sum is the digest of what was written so far.
func (h *Hash) sum() []byte {
	if h.outer == nil {
		return h.h.Sum(nil)
	}
	o := hashes[h.name]()
	o.Write(h.outer)
	o.Write(h.h.Sum(nil))
	return o.Sum(nil)
}

// newHMACHash starts an HMAC (RFC 2104) of the hash name with key.
func newHMACHash(name string, key []byte) *Hash {
	mk := hashes[name]
	inner := mk()
	block := inner.BlockSize()
	if len(key) > block {
		k := mk()
		k.Write(key)
		key = k.Sum(nil)
	}
	ipad, opad := make([]byte, block), make([]byte, block)
	copy(ipad, key)
	copy(opad, key)
	for i := range ipad {
		ipad[i] ^= 0x36
		opad[i] ^= 0x5c
	}
	inner.Write(ipad)
	return &Hash{name: name, h: inner, outer: opad}
}

// hmacModule is hmac: hmac.new(key, msg, "sha256").hexdigest() and
// hmac.compare_digest(a, b).
func hmacModule() sl.Value {
	return module("hmac", fns("hmac", map[string]builtinFunc{
		"new":            hmacNew,
		"digest":         hmacDigest,
		"compare_digest": compareDigest,
	}))
}

// digestmod reads the algorithm of an HMAC: a name ("sha256") or a
// hashlib constructor (hashlib.sha256).
func digestmod(fn string, v sl.Value) (string, error) {
	switch x := v.(type) {
	case sl.String:
		name := strings.ToLower(strings.ReplaceAll(string(x), "-", ""))
		if _, ok := hashes[name]; !ok {
			return "", fmt.Errorf("%s: unsupported digestmod %q: use one of %s", fn, string(x), strings.Join(hashNames(), ", "))
		}
		return name, nil
	case *sl.Builtin:
		if name, ok := strings.CutPrefix(x.Name(), "hashlib."); ok {
			if _, ok := hashes[name]; ok {
				return name, nil
			}
		}
	case sl.NoneType:
		return "", fmt.Errorf("%s: missing digestmod: name the hash, as in hmac.new(key, msg, \"sha256\")", fn)
	}
	return "", fmt.Errorf("%s: digestmod: got %s, want a hash name such as \"sha256\" or hashlib.sha256", fn, v)
}

func newHMAC(thread *sl.Thread, fn string, key, msg, mod sl.Value) (*Hash, error) {
	name, err := digestmod(fn, mod)
	if err != nil {
		return nil, err
	}
	k, err := text(fn, key)
	if err != nil {
		return nil, err
	}
	h := newHMACHash(name, []byte(k))
	if msg != sl.None {
		if err := h.write(thread, fn, msg); err != nil {
			return nil, err
		}
	}
	return h, nil
}

func hmacNew(thread *sl.Thread, b *sl.Builtin, args sl.Tuple, kwargs []sl.Tuple) (sl.Value, error) {
	var key sl.Value
	var msg, mod sl.Value = sl.None, sl.None
	if err := sl.UnpackArgs(b.Name(), args, kwargs, "key", &key, "msg?", &msg, "digestmod?", &mod); err != nil {
		return nil, err
	}
	return newHMAC(thread, b.Name(), key, msg, mod)
}

func hmacDigest(thread *sl.Thread, b *sl.Builtin, args sl.Tuple, kwargs []sl.Tuple) (sl.Value, error) {
	var key, msg, mod sl.Value
	if err := sl.UnpackArgs(b.Name(), args, kwargs, "key", &key, "msg", &msg, "digest", &mod); err != nil {
		return nil, err
	}
	h, err := newHMAC(thread, b.Name(), key, msg, mod)
	if err != nil {
		return nil, err
	}
	return sl.Bytes(h.sum()), nil
}

// compareDigest compares in constant time, as hmac.compare_digest.
func compareDigest(thread *sl.Thread, b *sl.Builtin, args sl.Tuple, kwargs []sl.Tuple) (sl.Value, error) {
	var x, y sl.Value
	if err := sl.UnpackPositionalArgs(b.Name(), args, kwargs, 2, &x, &y); err != nil {
		return nil, err
	}
	if x.Type() != y.Type() {
		return nil, fmt.Errorf("%s: cannot compare a %s with a %s", b.Name(), x.Type(), y.Type())
	}
	a, err := text(b.Name(), x)
	if err != nil {
		return nil, err
	}
	c, err := text(b.Name(), y)
	if err != nil {
		return nil, err
	}
	if err := spendBytes(thread, len(a)+len(c), b.Name()); err != nil {
		return nil, err
	}
	return sl.Bool(subtle.ConstantTimeCompare([]byte(a), []byte(c)) == 1), nil
}
