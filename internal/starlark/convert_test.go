package starlark

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"math/big"
	"reflect"
	"strings"
	"testing"

	sl "go.starlark.net/starlark"

	"github.com/plexushq/plexus/internal/invoke"
	"github.com/plexushq/plexus/internal/jsonlimit"
	"github.com/plexushq/plexus/internal/starlark/memlimit"
)

func TestRoundTrip(t *testing.T) {
	big, _ := new(big.Int).SetString("123456789012345678901234567890", 10)
	in := map[string]any{
		"s": "text", "i": int64(-7), "f": 2.5, "b": true, "n": nil, "big": big,
		"list": []any{int64(1), "two", []any{}}, "map": map[string]any{"k": map[string]any{}},
		"bytes": []byte{0, 1},
	}
	sv, err := ToStarlark(nil, in)
	if err != nil {
		t.Fatal(err)
	}
	out, err := FromStarlark(nil, sv)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(out, in) {
		t.Errorf("round trip:\n got %#v\nwant %#v", out, in)
	}
}

func TestFromStarlarkErrors(t *testing.T) {
	l := sl.NewList(nil)
	l.Append(l) // a list that contains itself
	d := sl.NewDict(1)
	d.SetKey(sl.MakeInt(1), sl.None)
	for _, v := range []sl.Value{l, d, sl.Float(math.Inf(1)), sl.NewBuiltin("f", nil)} {
		if _, err := FromStarlark(nil, v); err == nil {
			t.Errorf("FromStarlark(%s) succeeded", v.Type())
		}
	}
}

func TestStructsGoThroughJSON(t *testing.T) {
	v, err := ToStarlark(nil, struct {
		Name string `json:"name"`
	}{"Jane"})
	if err != nil || v.String() != `{"name": "Jane"}` {
		t.Errorf("struct: %v %v", v, err)
	}
	if _, err := ToStarlark(nil, make(chan int)); err == nil {
		t.Error("a channel converted")
	}
}

// FuzzConvert feeds arbitrary JSON through Go → Starlark → Go and checks
// nothing is lost or changed.
func FuzzConvert(f *testing.F) {
	for _, s := range []string{`{"a":1}`, `[1,"x",null,true,2.5]`, `{"n":12345678901234567890123}`, `"s"`, `{"a":{"b":[{"c":[]}]}}`, `1e400`, `-0`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		v, err := invoke.DecodeJSON(data)
		if err != nil {
			return
		}
		sv, err := ToStarlark(nil, v)
		if err != nil {
			return // e.g. a number that is neither an int nor a float
		}
		back, err := FromStarlark(nil, sv)
		if err != nil {
			return // e.g. an infinity, which JSON cannot carry back
		}
		a, err1 := json.Marshal(v)
		b, err2 := json.Marshal(back)
		if err1 != nil || err2 != nil {
			t.Fatalf("encoding: %v %v", err1, err2)
		}
		var x, y any
		json.Unmarshal(a, &x)
		json.Unmarshal(b, &y)
		if !reflect.DeepEqual(x, y) {
			t.Fatalf("%s became %s", a, b)
		}
	})
}

// FuzzRawPayload checks that a request body a Starlark service reads as it
// arrived (undecoded, then made into Starlark values directly) gives the
// values decoding it into Go values first gives, and that a small
// allowance stops it with the allowance exceeded.
func FuzzRawPayload(f *testing.F) {
	for _, s := range []string{`{"b":1,"a":[1,"x",null,true,2.5]}`, `[{},{},{}]`, `{"n":12345678901234567890123}`, `"s"`,
		`{"a":{"b":[{"c":[]}]}}`, `{"k":1,"k":2}`, `"\u00e9"`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, src string) {
		d := &jsonlimit.Decoder{Limits: jsonlimit.Limits{MaxDepth: 100, MaxValues: 10_000}}
		raw, _, release, err := d.Raw(context.Background(), []byte(src))
		if err != nil {
			return
		}
		defer release()
		v, err := jsonlimit.Decode([]byte(src), d.Limits)
		if err != nil {
			t.Fatalf("%q: checked, then not decoded: %v", src, err)
		}
		want, wantErr := ToStarlark(nil, v)
		got, err := ToStarlark(nil, raw)
		if (err == nil) != (wantErr == nil) || err == nil && got.String() != want.String() {
			t.Fatalf("%q: raw %v %v, decoded %v %v", src, got, err, want, wantErr)
		}
		if _, err := ToStarlark(memlimit.New(256), raw); err != nil {
			var ee *memlimit.ExceededError
			if wantErr == nil && !errors.As(err, &ee) {
				t.Fatalf("%q: with a small allowance: %v", src, err)
			}
		}
	})
}

// BenchmarkPayloadToStarlark compares making Starlark values from a ~10 KB
// JSON body directly with decoding it into Go values first.
func BenchmarkPayloadToStarlark(b *testing.B) {
	var order strings.Builder
	order.WriteString(`{"order_id":"ORD-1","lines":[`)
	for i := range 60 {
		if i > 0 {
			order.WriteByte(',')
		}
		fmt.Fprintf(&order, `{"sku":"SKU-%05d","name":"Item number %d","qty":%d,"price":%d.99,"tags":["a","b"]}`, i, i, i%5+1, i)
	}
	order.WriteString(`]}`)
	body := []byte(order.String())
	b.Run("direct", func(b *testing.B) {
		b.SetBytes(int64(len(body)))
		b.ReportAllocs()
		for b.Loop() {
			if _, err := ToStarlark(memlimit.New(64<<20), jsonlimit.Raw(body)); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("through-go-values", func(b *testing.B) {
		b.SetBytes(int64(len(body)))
		b.ReportAllocs()
		for b.Loop() {
			v, err := invoke.DecodeJSON(body)
			if err != nil {
				b.Fatal(err)
			}
			if _, err := ToStarlark(memlimit.New(64<<20), v); err != nil {
				b.Fatal(err)
			}
		}
	})
}
