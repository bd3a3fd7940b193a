package stdlib

import (
	"crypto/md5"
	"crypto/rand"
	"crypto/sha1"
	"encoding/hex"
	"fmt"
	"math/big"
	"strings"
	"time"

	sl "go.starlark.net/starlark"
	"go.starlark.net/syntax"
)

// uuidModule is uuid: uuid4() and uuid7() (RFC 9562), uuid3() and uuid5()
// from a namespace and a name, and UUID(text) to read one.
func uuidModule() sl.Value {
	m := fns("uuid", map[string]builtinFunc{
		"uuid4": func(thread *sl.Thread, b *sl.Builtin, args sl.Tuple, kwargs []sl.Tuple) (sl.Value, error) {
			if err := sl.UnpackArgs(b.Name(), args, kwargs); err != nil {
				return nil, err
			}
			var u UUID
			rand.Read(u[:])
			return u.withVersion(4), nil
		},
		"uuid7": func(thread *sl.Thread, b *sl.Builtin, args sl.Tuple, kwargs []sl.Tuple) (sl.Value, error) {
			if err := sl.UnpackArgs(b.Name(), args, kwargs); err != nil {
				return nil, err
			}
			return newUUID7(now(thread)), nil
		},
		"uuid3": nameUUID(3),
		"uuid5": nameUUID(5),
		"UUID":  parseUUIDBuiltin,
	})
	for name, s := range map[string]string{
		"NAMESPACE_DNS":  "6ba7b810-9dad-11d1-80b4-00c04fd430c8",
		"NAMESPACE_URL":  "6ba7b811-9dad-11d1-80b4-00c04fd430c8",
		"NAMESPACE_OID":  "6ba7b812-9dad-11d1-80b4-00c04fd430c8",
		"NAMESPACE_X500": "6ba7b814-9dad-11d1-80b4-00c04fd430c8",
	} {
		u, _ := parseUUID(s)
		m[name] = u
	}
	return module("uuid", m)
}

// newUUID7 makes a version 7 UUID (RFC 9562, section 5.7): 48 bits of
// Unix milliseconds, the version, 12 bits of sub-millisecond time (the
// section 6.2 method 3, so UUIDs made later sort later, to about 250 ns),
// the variant and 62 random bits.
func newUUID7(t time.Time) UUID {
	var u UUID
	rand.Read(u[:])
	ms := uint64(t.UnixMilli())
	for i := 0; i < 6; i++ {
		u[i] = byte(ms >> (40 - 8*i))
	}
	frac := uint64(t.Nanosecond()%int(time.Millisecond)) * 4096 / uint64(time.Millisecond)
	u[6] = byte(frac >> 8)
	u[7] = byte(frac)
	return u.withVersion(7)
}

func nameUUID(version int) builtinFunc {
	return func(thread *sl.Thread, b *sl.Builtin, args sl.Tuple, kwargs []sl.Tuple) (sl.Value, error) {
		var ns sl.Value
		var name string
		if err := sl.UnpackArgs(b.Name(), args, kwargs, "namespace", &ns, "name", &name); err != nil {
			return nil, err
		}
		var space UUID
		switch x := ns.(type) {
		case UUID:
			space = x
		case sl.String:
			var err error
			if space, err = parseUUID(string(x)); err != nil {
				return nil, fmt.Errorf("%s: namespace: %w", b.Name(), err)
			}
		default:
			return nil, fmt.Errorf("%s: namespace: got %s, want a UUID such as uuid.NAMESPACE_DNS", b.Name(), ns.Type())
		}
		if err := spendBytes(thread, len(name), b.Name()); err != nil {
			return nil, err
		}
		var sum []byte
		if version == 3 {
			h := md5.Sum(append(space[:], name...))
			sum = h[:]
		} else {
			h := sha1.Sum(append(space[:], name...))
			sum = h[:]
		}
		var u UUID
		copy(u[:], sum)
		return u.withVersion(version), nil
	}
}

func parseUUIDBuiltin(thread *sl.Thread, b *sl.Builtin, args sl.Tuple, kwargs []sl.Tuple) (sl.Value, error) {
	var s string
	if err := sl.UnpackArgs(b.Name(), args, kwargs, "hex", &s); err != nil {
		return nil, err
	}
	u, err := parseUUID(s)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", b.Name(), err)
	}
	return u, nil
}

// parseUUID reads a UUID as Python does: hyphens, braces and urn:uuid:
// are optional, any case.
func parseUUID(s string) (UUID, error) {
	h := strings.TrimPrefix(strings.TrimPrefix(strings.TrimSpace(s), "urn:"), "uuid:")
	h = strings.Trim(h, "{}")
	h = strings.ReplaceAll(h, "-", "")
	var u UUID
	if len(h) != 32 {
		return u, fmt.Errorf("%q is not a UUID: want 32 hex digits", s)
	}
	if _, err := hex.Decode(u[:], []byte(h)); err != nil {
		return u, fmt.Errorf("%q is not a UUID: want 32 hex digits", s)
	}
	return u, nil
}

// UUID is a UUID, as Python's uuid.UUID: str(u) is its hyphenated form.
type UUID [16]byte

func (u UUID) withVersion(v int) UUID {
	u[6] = u[6]&0x0f | byte(v)<<4
	u[8] = u[8]&0x3f | 0x80
	return u
}

var (
	_ sl.HasAttrs   = UUID{}
	_ sl.Comparable = UUID{}
)

func (u UUID) String() string {
	h := hex.EncodeToString(u[:])
	return h[:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:]
}
func (u UUID) Type() string   { return "uuid" }
func (u UUID) Freeze()        {}
func (u UUID) Truth() sl.Bool { return sl.True }
func (u UUID) Hash() (uint32, error) {
	return uint32(u[12])<<24 | uint32(u[13])<<16 | uint32(u[14])<<8 | uint32(u[15]), nil
}

// MarshalJSON sends a UUID as its hyphenated text.
func (u UUID) MarshalJSON() ([]byte, error) { return []byte(`"` + u.String() + `"`), nil }

// Export returns the UUID's hyphenated text, for payloads.
func (u UUID) Export() any { return u.String() }

func (u UUID) CompareSameType(op syntax.Token, y sl.Value, depth int) (bool, error) {
	return threeway(op, bytesCompare(u, y.(UUID))), nil
}

var uuidAttrs = []string{"bytes", "hex", "int", "str", "time", "urn", "variant", "version"}

func (u UUID) AttrNames() []string { return uuidAttrs }

func (u UUID) Attr(name string) (sl.Value, error) {
	switch name {
	case "hex":
		return sl.String(hex.EncodeToString(u[:])), nil
	case "str":
		return sl.String(u.String()), nil
	case "urn":
		return sl.String("urn:uuid:" + u.String()), nil
	case "bytes":
		return sl.Bytes(u[:]), nil
	case "int":
		return sl.MakeBigInt(new(big.Int).SetBytes(u[:])), nil
	case "version":
		if u[8]&0xc0 != 0x80 {
			return sl.None, nil
		}
		return sl.MakeInt(int(u[6] >> 4)), nil
	case "variant":
		switch {
		case u[8]&0x80 == 0:
			return sl.String("reserved for NCS compatibility"), nil
		case u[8]&0xc0 == 0x80:
			return sl.String("specified in RFC 4122"), nil
		case u[8]&0xe0 == 0xc0:
			return sl.String("reserved for Microsoft compatibility"), nil
		}
		return sl.String("reserved for future definition"), nil
	case "time":
		// The Unix milliseconds of a version 7 UUID.
		if u[6]>>4 != 7 {
			return sl.None, nil
		}
		var ms int64
		for i := 0; i < 6; i++ {
			ms = ms<<8 | int64(u[i])
		}
		return sl.MakeInt64(ms), nil
	}
	return nil, nil
}

func bytesCompare(a, b UUID) int { return strings.Compare(string(a[:]), string(b[:])) }
