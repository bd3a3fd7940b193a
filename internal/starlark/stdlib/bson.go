package stdlib

import (
	"crypto/rand"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"sync/atomic"
	"time"

	sl "go.starlark.net/starlark"
	"go.starlark.net/syntax"
)

// bsonModule is bson: ObjectId, as Python's bson package (from PyMongo)
// spells it. ObjectId() makes a new id; ObjectId("65a1…") reads one from
// its 24 hexadecimal digits.
func bsonModule() sl.Value {
	return module("bson", fns("bson", map[string]builtinFunc{"ObjectId": objectIDBuiltin}))
}

// ObjectID is a MongoDB ObjectId: 12 bytes, of which the first 4 are the
// second it was made. str() of one is its 24 hexadecimal digits.
type ObjectID [12]byte

var (
	_ sl.Comparable = ObjectID{}
	_ sl.HasAttrs   = ObjectID{}
)

// objectIDCounter is the 3-byte counter of the ids this process makes,
// from a random start, and objectIDProcess their 5 random bytes.
var (
	objectIDCounter atomic.Uint32
	objectIDProcess = func() (p [5]byte) {
		rand.Read(p[:])
		var c [4]byte
		rand.Read(c[:])
		objectIDCounter.Store(binary.BigEndian.Uint32(c[:]))
		return p
	}()
)

// NewObjectID returns a new ObjectId made at t.
func NewObjectID(t time.Time) ObjectID {
	var id ObjectID
	binary.BigEndian.PutUint32(id[0:4], uint32(t.Unix()))
	copy(id[4:9], objectIDProcess[:])
	c := objectIDCounter.Add(1)
	id[9], id[10], id[11] = byte(c>>16), byte(c>>8), byte(c)
	return id
}

// ParseObjectID reads an ObjectId from its 24 hexadecimal digits.
func ParseObjectID(s string) (ObjectID, error) {
	var id ObjectID
	if len(s) != 24 {
		return id, fmt.Errorf("%q is not an ObjectId: want 24 hexadecimal digits", s)
	}
	if _, err := hex.Decode(id[:], []byte(s)); err != nil {
		return id, fmt.Errorf("%q is not an ObjectId: want 24 hexadecimal digits", s)
	}
	return id, nil
}

func objectIDBuiltin(thread *sl.Thread, b *sl.Builtin, args sl.Tuple, kwargs []sl.Tuple) (sl.Value, error) {
	var v sl.Value = sl.None
	if err := sl.UnpackArgs(b.Name(), args, kwargs, "oid?", &v); err != nil {
		return nil, err
	}
	switch x := v.(type) {
	case sl.NoneType:
		return NewObjectID(now(thread)), nil
	case ObjectID:
		return x, nil
	case sl.String:
		id, err := ParseObjectID(string(x))
		if err != nil {
			return nil, fmt.Errorf("%s: %w", b.Name(), err)
		}
		return id, nil
	}
	return nil, fmt.Errorf("%s: got %s, want a str of 24 hexadecimal digits or None", b.Name(), v.Type())
}

func (id ObjectID) String() string { return hex.EncodeToString(id[:]) }
func (id ObjectID) Type() string   { return "ObjectId" }
func (id ObjectID) Freeze()        {}
func (id ObjectID) Truth() sl.Bool { return sl.True }
func (id ObjectID) Export() any    { return id.String() }
func (id ObjectID) Time() time.Time {
	return time.Unix(int64(binary.BigEndian.Uint32(id[0:4])), 0).UTC()
}

func (id ObjectID) Hash() (uint32, error) { return sl.String(id[:]).Hash() }

// MarshalJSON writes the id as its hexadecimal string, as Zato's JSON
// responses show ids.
func (id ObjectID) MarshalJSON() ([]byte, error) { return []byte(`"` + id.String() + `"`), nil }

func (id ObjectID) CompareSameType(op syntax.Token, y sl.Value, _ int) (bool, error) {
	o := y.(ObjectID)
	return threeway(op, compareBytes(id[:], o[:])), nil
}

func compareBytes(a, b []byte) int {
	for i := range a {
		if a[i] != b[i] {
			if a[i] < b[i] {
				return -1
			}
			return 1
		}
	}
	return 0
}

func (id ObjectID) AttrNames() []string { return []string{"binary", "generation_time"} }

// Attr gives PyMongo's attributes: binary (the 12 bytes) and
// generation_time (the time the id was made, UTC).
func (id ObjectID) Attr(name string) (sl.Value, error) {
	switch name {
	case "binary":
		return sl.Bytes(id[:]), nil
	case "generation_time":
		return Time(id.Time()), nil
	}
	return nil, nil
}
