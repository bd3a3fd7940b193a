package mongodb

import (
	"strings"
	"testing"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	sl "go.starlark.net/starlark"

	"github.com/plexushq/plexus/internal/starlark/memlimit"
	"github.com/plexushq/plexus/internal/starlark/stdlib"
)

// roundTrip stores a Starlark value as BSON and reads it back.
func roundTrip(t *testing.T, v sl.Value) sl.Value {
	t.Helper()
	b, err := toBSON(v, 0)
	if err != nil {
		t.Fatalf("%s: %v", v, err)
	}
	raw, err := bson.Marshal(bson.D{{Key: "v", Value: b}})
	if err != nil {
		t.Fatal(err)
	}
	d, err := fromDocument(nil, raw)
	if err != nil {
		t.Fatal(err)
	}
	got, _, _ := d.(*sl.Dict).Get(sl.String("v"))
	return got
}

// Every mapped type comes back equal, Decimal128 included (which the
// FerretDB the server tests run on does not store).
func TestRoundTrip(t *testing.T) {
	dec, _ := stdlib.ParseDecimal("-12345678901234567890.000012")
	for _, v := range []sl.Value{
		sl.None, sl.True, sl.MakeInt(7), sl.MakeInt64(1 << 40), sl.MakeInt64(-1 << 62), sl.Float(2.5), sl.String("a\x00b"),
		sl.Bytes("\x00\xff"), dec, stdlib.Time(time.UnixMilli(1700000000123).UTC()), stdlib.NewObjectID(time.Now()),
		stdlib.UUID{1, 2, 3}, sl.NewList([]sl.Value{sl.MakeInt(1), sl.String("x")}),
	} {
		got := roundTrip(t, v)
		if eq, err := sl.Equal(got, v); err != nil || !eq {
			t.Errorf("%s (%s) came back as %s (%s)", v, v.Type(), got, got.Type())
		}
	}
	// A tuple is stored as an array and comes back a list.
	if got := roundTrip(t, sl.Tuple{sl.MakeInt(1)}); got.Type() != "list" {
		t.Errorf("a tuple came back as %s", got.Type())
	}
}

// Values MongoDB cannot hold are refused with what to do.
func TestRefused(t *testing.T) {
	huge := sl.MakeInt(1).Lsh(70)
	d := sl.NewDict(1)
	d.SetKey(sl.MakeInt(1), sl.None)
	deep := sl.Value(sl.None)
	for range maxDepth + 2 {
		deep = sl.NewList([]sl.Value{deep})
	}
	for _, c := range []struct {
		v    sl.Value
		want string
	}{
		{huge, "store it as a decimal"}, {d, "keys are strings"}, {deep, "nests more than"},
		{sl.NewSet(0), "cannot be stored"},
	} {
		if _, err := toBSON(c.v, 0); err == nil || !contains(err.Error(), c.want) {
			t.Errorf("%s: %v, want an error saying %q", c.v.Type(), err, c.want)
		}
	}
}

func contains(s, part string) bool { return strings.Contains(s, part) }

// A document read is charged to the invocation's memory.
func TestCharged(t *testing.T) {
	raw, _ := bson.Marshal(bson.D{{Key: "s", Value: string(make([]byte, 1000))}})
	a := memlimit.New(2000)
	if _, err := fromDocument(a, raw); err == nil {
		t.Fatal("a document of 4 KiB in Starlark values passed an allowance of 2,000 bytes")
	}
}

// Whatever a server sends, decoding it never panics and malformed BSON is
// an error.
func FuzzFromRaw(f *testing.F) {
	for _, d := range []bson.D{
		{{Key: "a", Value: int32(1)}, {Key: "b", Value: bson.A{"x", 2.5, bson.D{{Key: "c", Value: nil}}}}},
		{{Key: "t", Value: bson.NewDateTimeFromTime(time.Unix(0, 0))}, {Key: "id", Value: bson.NewObjectID()}},
		{{Key: "r", Value: bson.Regex{Pattern: "^a", Options: "i"}}, {Key: "ts", Value: bson.Timestamp{T: 1, I: 2}}},
		{{Key: "bin", Value: bson.Binary{Subtype: 4, Data: make([]byte, 16)}}, {Key: "dec", Value: bson.NewDecimal128(1, 2)}},
	} {
		raw, _ := bson.Marshal(d)
		f.Add([]byte(raw))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		v, err := fromDocument(memlimit.New(1<<20), bson.Raw(data))
		if err != nil {
			return
		}
		if _, err := toBSON(v, 0); err != nil {
			t.Fatalf("a decoded document cannot be stored again: %v", err)
		}
	})
}
