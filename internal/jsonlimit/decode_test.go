package jsonlimit

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"reflect"
	"runtime"
	"strings"
	"testing"

	"github.com/plexushq/plexus/sdk/service"
)

// stdDecode is encoding/json's answer, the reference.
func stdDecode(data []byte) (any, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, err
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, errors.New(errTrailing)
	}
	return v, nil
}

func TestDecodeAsEncodingJSON(t *testing.T) {
	for _, doc := range []string{
		`null`, `true`, `false`, `0`, `-0`, `12.5e-3`, `-1E+9`, `123456789012345678901234567890`,
		`""`, `"plain"`, `"é ü 日本"`, `"esc \" \\ \/ \b \f \n \r \t"`, `"\u00e9\u65e5"`, `"\ud83d\ude00"`,
		`"\ud800"`, `"\ud800x"`, `"\udc00\ud800"`, "\"bad \xff utf8\"", "\"mixed \xc3\xa9 \xe2\x28\xa1\"",
		`[]`, `{}`, `[1,"a",null,true,[],{}]`, ` { "a" : [ 1 , { "b" : { } } ] , "c" : "d" } `,
		`{"dup":1,"dup":2}`, `{"k\u00e9y":"v"}`, `[[[[[[[[[[1]]]]]]]]]]`,
	} {
		want, err := stdDecode([]byte(doc))
		if err != nil {
			t.Fatalf("%s: encoding/json refuses it: %v", doc, err)
		}
		got, err := Decode([]byte(doc), Limits{})
		if err != nil {
			t.Errorf("%s: %v", doc, err)
			continue
		}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("%s:\n got %#v\nwant %#v", doc, got, want)
		}
	}
}

// Malformed documents are refused with encoding/json's message.
func TestSyntaxErrors(t *testing.T) {
	for doc, msg := range map[string]string{
		``:             "unexpected end of JSON input",
		`   `:          "unexpected end of JSON input",
		`{oops`:        "invalid character 'o' looking for beginning of object key string",
		`{"a":`:        "unexpected end of JSON input",
		`{"a" 1}`:      "invalid character '1' after object key",
		`{"a":1 "b"}`:  "invalid character '\"' after object key:value pair",
		`[1 2]`:        "invalid character '2' after array element",
		`[1,]`:         "invalid character ']' looking for beginning of value",
		`tru`:          "unexpected end of JSON input",
		`trux`:         "invalid character 'x' in literal true (expecting 'e')",
		`nul1`:         "invalid character '1' in literal null (expecting 'l')",
		`-`:            "unexpected end of JSON input",
		`-x`:           "invalid character 'x' in numeric literal",
		`1.x`:          "invalid character 'x' after decimal point in numeric literal",
		`1ex`:          "invalid character 'x' in exponent of numeric literal",
		`"a`:           "unexpected end of JSON input",
		"\"a\x01\"":    `invalid character '\x01' in string literal`,
		`"\x"`:         "invalid character 'x' in string escape code",
		`"\u12g4"`:     `invalid character 'g' in \u hexadecimal character escape`,
		`'a'`:          `invalid character '\'' looking for beginning of value`,
		`{"a":1} true`: errTrailing,
		`01`:           errTrailing,
		`[1] [2]`:      errTrailing,
	} {
		_, err := Decode([]byte(doc), Limits{})
		var se *SyntaxError
		if !errors.As(err, &se) || se.Msg != msg {
			t.Errorf("%q: %v, want %q", doc, err, msg)
		}
		if _, err := stdDecode([]byte(doc)); err == nil {
			t.Errorf("%q: encoding/json accepts it", doc)
		}
		if _, err := GoCost([]byte(doc), Limits{}); err == nil || err.Error() != msg {
			t.Errorf("GoCost(%q): %v, want %q", doc, err, msg)
		}
	}
}

func nested(depth int) string {
	return strings.Repeat("[", depth) + strings.Repeat("]", depth)
}

func TestLimits(t *testing.T) {
	lim := Limits{MaxDepth: 5, MaxValues: 10}
	if _, err := Decode([]byte(nested(5)), lim); err != nil {
		t.Errorf("depth 5: %v", err)
	}
	if _, err := Decode([]byte(`{"a":{"b":[[{"c":[1]}]]}}`), lim); !errors.Is(err, ErrTooDeep) {
		t.Errorf("depth 6 in objects: %v", err)
	}
	if _, err := GoCost([]byte(nested(6)), lim); !errors.Is(err, ErrTooDeep) {
		t.Errorf("GoCost, depth 6: %v", err)
	}
	if _, err := Decode([]byte(`[1,2,3,4,5,6,7,8,9]`), lim); err != nil {
		t.Errorf("10 values: %v", err)
	}
	var tm *TooManyValuesError
	if _, err := Decode([]byte(`[1,2,3,4,5,6,7,8,9,{}]`), lim); !errors.As(err, &tm) || tm.Limit != 10 {
		t.Errorf("11 values: %v", err)
	}
	// The default depth: encoding/json accepts 10,000 levels.
	if _, err := Decode([]byte(nested(DefaultMaxDepth)), Limits{}); err != nil {
		t.Errorf("default depth: %v", err)
	}
	if _, err := Decode([]byte(nested(DefaultMaxDepth+1)), Limits{}); !errors.Is(err, ErrTooDeep) {
		t.Errorf("past the default depth: %v", err)
	}
	// A limit stops the reading where it is passed, so a huge document
	// costs no more than its first MaxValues values.
	huge := []byte("[" + strings.Repeat("{},", 3_000_000) + "{}]")
	allocs := allocated(func() {
		if _, err := Decode(huge, Limits{MaxValues: 1000}); !errors.As(err, &tm) {
			t.Errorf("3M values: %v", err)
		}
	})
	if allocs > 2*int64(len(huge))+1<<20 {
		t.Errorf("refusing 3M values allocated %d bytes", allocs)
	}
}

func TestRequestErrors(t *testing.T) {
	for _, c := range []struct {
		doc    string
		status int
		msg    string
	}{
		{nested(101), 400, "Invalid JSON: nested too deeply"},
		{"[" + strings.Repeat("1,", 1000) + "1]", 413, "Request body has more than 1000 JSON values"},
		{`{"a"}`, 400, "Invalid JSON: invalid character '}' after object key"},
	} {
		d := &Decoder{Limits: Limits{MaxValues: 1000, MaxDepth: 100}}
		_, _, err := d.Decode(context.Background(), []byte(c.doc))
		var se *service.Error
		if !errors.As(err, &se) || se.Status != c.status || se.Message != c.msg {
			t.Errorf("%.20s…: %v, want %d %s", c.doc, err, c.status, c.msg)
		}
		if _, _, _, err := d.Raw(context.Background(), []byte(c.doc)); !errors.As(err, &se) || se.Status != c.status || se.Message != c.msg {
			t.Errorf("Raw %.20s…: %v, want %d %s", c.doc, err, c.status, c.msg)
		}
	}
}

// retained returns the bytes of heap fn's result keeps alive.
func retained(fn func() any) int64 {
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	v := fn()
	runtime.GC()
	runtime.ReadMemStats(&after)
	runtime.KeepAlive(v)
	return int64(after.HeapAlloc) - int64(before.HeapAlloc)
}

// allocated returns the bytes fn allocates.
func allocated(fn func()) int64 {
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	fn()
	runtime.ReadMemStats(&after)
	return int64(after.TotalAlloc - before.TotalAlloc)
}

// GoCost is a realistic estimate of the memory Decode takes, whatever the
// document's shape: what its result keeps, and at most twice that while
// it reads.
func TestGoCostEstimates(t *testing.T) {
	shapes := map[string]string{
		"empty objects": "[" + strings.Repeat("{},", 100_000) + "{}]",
		"empty arrays":  "[" + strings.Repeat("[],", 100_000) + "[]]",
		"numbers":       "[" + strings.Repeat("1,", 100_000) + "1]",
		"small objects": "[" + strings.Repeat(`{"a":1},`, 100_000) + `{"a":1}]`,
		"records":       "[" + strings.Repeat(`{"id":12345,"name":"Jane Doe","tags":["a","b"],"active":true,"score":1.5},`, 20_000) + "{}]",
		"wide object":   "{" + strings.Repeat(`"k":1,`, 1) + wideMembers(50_000) + "}",
		"escaped":       "[" + strings.Repeat(`"a\nb",`, 100_000) + `""]`,
	}
	for name, doc := range shapes {
		data := []byte(doc)
		cost, err := GoCost(data, Limits{})
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		kept := retained(func() any { v, _ := Decode(data, Limits{}); return v })
		peak := allocated(func() { Decode(data, Limits{}) })
		if cost < kept || cost > 3*kept || peak > cost*3/2 {
			t.Errorf("%s: estimated %d bytes; Decode keeps %d and allocates %d", name, cost, kept, peak)
		}
	}
}

func wideMembers(n int) string {
	var b strings.Builder
	for i := range n {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(`"m`)
		b.WriteString(strings.Repeat("x", i%7))
		b.WriteString(string(rune('a' + i%26)))
		b.WriteString(`":` + "1")
	}
	return b.String()
}

func TestRawMembers(t *testing.T) {
	d := &Decoder{}
	raw, members, release, err := d.Raw(context.Background(), []byte(` {"a": [1, {"b": 2}] , "k\u00e9": "v", "n": null, "a": 3} `))
	if err != nil {
		t.Fatal(err)
	}
	defer release()
	want := map[string]any{"a": Raw("3"), "ké": Raw(`"v"`), "n": Raw("null")}
	if !reflect.DeepEqual(members, want) || !strings.Contains(string(raw), `"b": 2`) {
		t.Errorf("members %#v, raw %q", members, raw)
	}
	if _, members, _, _ := d.Raw(context.Background(), []byte(`[1]`)); members != nil {
		t.Errorf("members of an array: %v", members)
	}
}

func TestBudget(t *testing.T) {
	b := NewBudget(1000, "limits.json.decode_budget")
	ctx := context.Background()
	var se *service.Error
	if _, err := b.Reserve(ctx, 1001); !errors.As(err, &se) || se.Status != http.StatusRequestEntityTooLarge {
		t.Fatalf("more than the whole budget: %v", err)
	}
	release, err := b.Reserve(ctx, 600)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := b.Reserve(ctx, 600); !errors.As(err, &se) || se.Status != http.StatusServiceUnavailable || se.Header.Get("Retry-After") != "1" ||
		!strings.Contains(se.Error(), "limits.json.decode_budget (1000B)") {
		t.Fatalf("over the budget: %v", err)
	}
	release()
	if r, err := b.Reserve(ctx, 1000); err != nil {
		t.Errorf("all of it, once given back: %v", err)
	} else {
		r()
	}
	var nilBudget *Budget
	if r, err := nilBudget.Reserve(ctx, 1<<40); err != nil {
		t.Errorf("no budget: %v", err)
	} else {
		r()
	}
}

func TestDecoderReleases(t *testing.T) {
	d := &Decoder{Budget: NewBudget(1<<20, "budget")}
	body := []byte(`{"a":[1,2,3]}`)
	for range 1000 { // would run out if a reservation leaked
		v, release, err := d.Decode(context.Background(), body)
		if err != nil {
			t.Fatal(err)
		}
		if v.(map[string]any)["a"].([]any)[2] != json.Number("3") {
			t.Fatalf("%#v", v)
		}
		release()
	}
}
