package starlark

import (
	"encoding/json"
	"math"
	"math/big"
	"reflect"
	"testing"

	sl "go.starlark.net/starlark"

	"github.com/plexushq/plexus/internal/invoke"
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
