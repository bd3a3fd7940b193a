package kvdb

import (
	"encoding/binary"
	"errors"
	"math"
	"slices"
	"strconv"
)

// Types of values, as TYPE names them.
const (
	typeString byte = 1
	typeHash   byte = 2
	typeList   byte = 3
	typeSet    byte = 4
	typeZSet   byte = 5
)

var typeNames = map[byte]string{typeString: "string", typeHash: "hash", typeList: "list", typeSet: "set", typeZSet: "zset"}

// value is one key's value in the embedded store, decoded.
type value struct {
	typ  byte
	str  string
	hash map[string]string
	list []string
	set  map[string]struct{}
	zset map[string]float64
}

// empty reports whether a collection has no members left: Redis deletes
// such keys.
func (v *value) empty() bool {
	switch v.typ {
	case typeHash:
		return len(v.hash) == 0
	case typeList:
		return len(v.list) == 0
	case typeSet:
		return len(v.set) == 0
	case typeZSet:
		return len(v.zset) == 0
	}
	return false
}

// encode returns the stored form of a value: a string as it is; a
// collection as its items, each a uvarint length then the bytes (a hash's
// fields and values alternate, a sorted set's members and scores).
func (v *value) encode() []byte {
	if v.typ == typeString {
		return []byte(v.str)
	}
	var b []byte
	put := func(s string) {
		b = binary.AppendUvarint(b, uint64(len(s)))
		b = append(b, s...)
	}
	switch v.typ {
	case typeHash:
		for _, k := range sortedKeys(v.hash) {
			put(k)
			put(v.hash[k])
		}
	case typeList:
		for _, s := range v.list {
			put(s)
		}
	case typeSet:
		for _, k := range sortedKeys(v.set) {
			put(k)
		}
	case typeZSet:
		for _, k := range sortedKeys(v.zset) {
			put(k)
			put(strconv.FormatFloat(v.zset[k], 'g', -1, 64))
		}
	}
	return b
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

var errCorrupt = errors.New("kvdb: malformed stored value")

// decode parses a stored value of a type.
func decode(typ byte, b []byte) (*value, error) {
	v := &value{typ: typ}
	if typ == typeString {
		v.str = string(b)
		return v, nil
	}
	var items []string
	for len(b) > 0 {
		n, w := binary.Uvarint(b)
		if w <= 0 || n > uint64(len(b)-w) {
			return nil, errCorrupt
		}
		items = append(items, string(b[w:w+int(n)]))
		b = b[w+int(n):]
	}
	switch typ {
	case typeHash, typeZSet:
		if len(items)%2 != 0 {
			return nil, errCorrupt
		}
		if typ == typeHash {
			v.hash = make(map[string]string, len(items)/2)
			for i := 0; i < len(items); i += 2 {
				v.hash[items[i]] = items[i+1]
			}
			return v, nil
		}
		v.zset = make(map[string]float64, len(items)/2)
		for i := 0; i < len(items); i += 2 {
			f, err := strconv.ParseFloat(items[i+1], 64)
			if err != nil || math.IsNaN(f) {
				return nil, errCorrupt
			}
			v.zset[items[i]] = f
		}
	case typeList:
		v.list = items
	case typeSet:
		v.set = make(map[string]struct{}, len(items))
		for _, s := range items {
			v.set[s] = struct{}{}
		}
	default:
		return nil, errCorrupt
	}
	return v, nil
}
