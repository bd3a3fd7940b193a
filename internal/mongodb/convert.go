package mongodb

import (
	"fmt"
	"math"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	sl "go.starlark.net/starlark"

	"github.com/plexushq/plexus/internal/starlark/memlimit"
	"github.com/plexushq/plexus/internal/starlark/stdlib"
)

// maxDepth is how deeply documents nest at most, as in MongoDB itself.
const maxDepth = 100

// valueCost is what one decoded BSON byte is charged to a Starlark
// invocation's memory: Starlark values take several times the bytes of
// their BSON encoding.
const valueCost = 4

// toBSON converts a Starlark value into what the driver stores: dicts
// keep their order (bson.D), ints are int32 when they fit (as PyMongo
// stores them) and int64 otherwise, bytes are binary, and the standard
// library's time, decimal, uuid and bson.ObjectId values are BSON's date,
// Decimal128, UUID binary and ObjectId.
func toBSON(v sl.Value, depth int) (any, error) {
	if depth > maxDepth {
		return nil, fmt.Errorf("a document nests more than %d levels deep", maxDepth)
	}
	switch x := v.(type) {
	case sl.NoneType:
		return nil, nil
	case sl.Bool:
		return bool(x), nil
	case sl.Int:
		n, ok := x.Int64()
		if !ok {
			return nil, fmt.Errorf("%s does not fit in a 64-bit integer: store it as a decimal", x)
		}
		if n >= math.MinInt32 && n <= math.MaxInt32 {
			return int32(n), nil
		}
		return n, nil
	case sl.Float:
		return float64(x), nil
	case sl.String:
		return string(x), nil
	case sl.Bytes:
		return bson.Binary{Subtype: bson.TypeBinaryGeneric, Data: []byte(x)}, nil
	case stdlib.Time:
		return bson.NewDateTimeFromTime(time.Time(x)), nil
	case stdlib.Decimal:
		d, err := bson.ParseDecimal128(x.String())
		if err != nil {
			return nil, fmt.Errorf("decimal %s does not fit in a MongoDB Decimal128: %w", x, err)
		}
		return d, nil
	case stdlib.ObjectID:
		return bson.ObjectID(x), nil
	case stdlib.UUID:
		return bson.Binary{Subtype: bson.TypeBinaryUUID, Data: x[:]}, nil
	case *sl.Dict:
		d := make(bson.D, 0, x.Len())
		for _, kv := range x.Items() {
			k, ok := kv[0].(sl.String)
			if !ok {
				return nil, fmt.Errorf("a document's keys are strings, not %s", kv[0].Type())
			}
			e, err := toBSON(kv[1], depth+1)
			if err != nil {
				return nil, err
			}
			d = append(d, bson.E{Key: string(k), Value: e})
		}
		return d, nil
	case sl.Indexable: // lists and tuples
		a := make(bson.A, x.Len())
		for i := range a {
			e, err := toBSON(x.Index(i), depth+1)
			if err != nil {
				return nil, err
			}
			a[i] = e
		}
		return a, nil
	}
	return nil, fmt.Errorf("a %s cannot be stored in MongoDB", v.Type())
}

// document converts an optional dict (None is an empty document).
func document(what string, v sl.Value) (bson.D, error) {
	if v == nil || v == sl.None {
		return bson.D{}, nil
	}
	if _, ok := v.(*sl.Dict); !ok {
		return nil, fmt.Errorf("%s: got %s, want a dict", what, v.Type())
	}
	d, err := toBSON(v, 0)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", what, err)
	}
	return d.(bson.D), nil
}

// fromDocument converts a document the server returned into a dict,
// charging the invocation's memory for it.
func fromDocument(a *memlimit.Allowance, raw bson.Raw) (sl.Value, error) {
	if err := raw.Validate(); err != nil {
		return nil, fmt.Errorf("malformed BSON: %w", err)
	}
	if a != nil {
		if err := a.Charge(int64(len(raw))*valueCost, "a MongoDB document"); err != nil {
			return nil, err
		}
	}
	return fromRaw(bson.RawValue{Type: bson.TypeEmbeddedDocument, Value: raw}, 0)
}

// fromRaw converts one valid BSON value: numbers to int or float, dates to
// time values (UTC), Decimal128 to decimal, ObjectId to bson.ObjectId,
// UUID binaries to uuid values and other binaries to bytes; the kinds
// services rarely meet (regular expressions, JavaScript, timestamps) to
// their text or number.
func fromRaw(rv bson.RawValue, depth int) (sl.Value, error) {
	if depth > maxDepth {
		return nil, fmt.Errorf("a document nests more than %d levels deep", maxDepth)
	}
	switch rv.Type {
	case bson.TypeDouble:
		return sl.Float(rv.Double()), nil
	case bson.TypeString:
		return sl.String(rv.StringValue()), nil
	case bson.TypeEmbeddedDocument:
		elems, err := rv.Document().Elements()
		if err != nil {
			return nil, fmt.Errorf("malformed BSON: %w", err)
		}
		d := sl.NewDict(len(elems))
		for _, e := range elems {
			v, err := fromRaw(e.Value(), depth+1)
			if err != nil {
				return nil, err
			}
			if err := d.SetKey(sl.String(e.Key()), v); err != nil {
				return nil, err
			}
		}
		return d, nil
	case bson.TypeArray:
		vals, err := rv.Array().Values()
		if err != nil {
			return nil, fmt.Errorf("malformed BSON: %w", err)
		}
		l := make([]sl.Value, len(vals))
		for i, e := range vals {
			if l[i], err = fromRaw(e, depth+1); err != nil {
				return nil, err
			}
		}
		return sl.NewList(l), nil
	case bson.TypeBinary:
		sub, data := rv.Binary()
		if (sub == bson.TypeBinaryUUID || sub == bson.TypeBinaryUUIDOld) && len(data) == 16 {
			return stdlib.UUID(data), nil
		}
		return sl.Bytes(data), nil
	case bson.TypeObjectID:
		return stdlib.ObjectID(rv.ObjectID()), nil
	case bson.TypeBoolean:
		return sl.Bool(rv.Boolean()), nil
	case bson.TypeDateTime:
		return stdlib.Time(time.UnixMilli(rv.DateTime()).UTC()), nil
	case bson.TypeNull, bson.TypeUndefined, bson.TypeMinKey, bson.TypeMaxKey:
		return sl.None, nil
	case bson.TypeRegex:
		pattern, _ := rv.Regex()
		return sl.String(pattern), nil
	case bson.TypeDBPointer:
		_, id := rv.DBPointer()
		return stdlib.ObjectID(id), nil
	case bson.TypeJavaScript:
		return sl.String(rv.JavaScript()), nil
	case bson.TypeSymbol:
		return sl.String(rv.Symbol()), nil
	case bson.TypeCodeWithScope:
		code, _ := rv.CodeWithScope()
		return sl.String(code), nil
	case bson.TypeInt32:
		return sl.MakeInt64(int64(rv.Int32())), nil
	case bson.TypeTimestamp:
		t, i := rv.Timestamp()
		return sl.MakeInt64(int64(t)<<32 | int64(i)), nil
	case bson.TypeInt64:
		return sl.MakeInt64(rv.Int64()), nil
	case bson.TypeDecimal128:
		d, err := stdlib.ParseDecimal(rv.Decimal128().String())
		if err != nil { // NaN and infinities have no decimal
			return sl.String(rv.Decimal128().String()), nil
		}
		return d, nil
	}
	return nil, fmt.Errorf("unknown BSON type %#x", byte(rv.Type))
}

func stdlibObjectID(id bson.ObjectID) sl.Value { return stdlib.ObjectID(id) }
