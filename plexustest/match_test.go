package plexustest_test

import (
	"bytes"
	"compress/gzip"
	"strings"
	"testing"

	"github.com/plexushq/plexus/plexustest"
)

func gzipped(s string) string {
	var b bytes.Buffer
	zw := gzip.NewWriter(&b)
	zw.Write([]byte(s))
	zw.Close()
	return b.String()
}

func TestMatch(t *testing.T) {
	const envelope = `{"result": "Error", "cid": "0123456789abcdef01234567", "details": "Element missing: name"}`
	for _, c := range []struct {
		name  string
		match plexustest.Match
		body  string
		err   string // "" when the body matches
	}{
		{"same JSON, other order and spelling", plexustest.JSON(`{"a": 1, "b": [1, 2.5, {"c": null}]}`), `{"b":[1.0,25e-1,{"c":null}],"a":1}`, ""},
		{"big numbers exactly", plexustest.JSON(`{"n": 12345678901234567890}`), `{"n": 12345678901234567891}`, "/n: got 12345678901234567891, want 12345678901234567890"},
		{"a key too many", plexustest.JSON(`{"a": 1}`), `{"a": 1, "b": {"c": 2}}`, `/b: got {"c":2}, want no such key`},
		{"a key missing", plexustest.JSON(`{"a": 1, "b": true}`), `{"a": 1}`, "/b: missing, want true"},
		{"a type", plexustest.JSON(`{"a": "1"}`), `{"a": 1}`, `/a: got 1, want "1"`},
		{"an array's length", plexustest.JSON(`[1, 2]`), `[1]`, "/: got 1 elements [1], want 2"},
		{"not an object", plexustest.JSON(`{"a": 1}`), `[1]`, "/: got [1], want an object"},
		{"not JSON", plexustest.JSON(`{}`), `{oops`, "the body is not JSON"},
		{"two values", plexustest.JSON(`{}`), `{} {}`, "unexpected data after the JSON value"},
		{"the wanted JSON is wrong", plexustest.JSON(`{a: 1}`), `{}`, "the wanted JSON is not valid"},
		{"subset: more keys", plexustest.JSONSubset(`{"a": {"b": 1}}`), `{"a": {"b": 1.0, "c": 2}, "d": 3}`, ""},
		{"subset: nested", plexustest.JSONSubset(`{"a": {"b": 1}}`), `{"a": {"c": 2}}`, "/a/b: missing, want 1"},
		{"subset: array elements", plexustest.JSONSubset(`{"items": [{"sku": "a"}, {}]}`), `{"items": [{"sku": "b", "qty": 1}, {"sku": "c"}]}`, `/items/0/sku: got "b", want "a"`},
		{"text", plexustest.Text("1,2,3"), "1,2,3", ""},
		{"other text", plexustest.Text("1,2,3"), "1,2", `the body is "1,2", want "1,2,3"`},
		{"contains", plexustest.Contains("a", "c"), "abc", ""},
		{"lacks", plexustest.Contains("a", "x", "y"), "abc", `the body lacks "x", "y"`},
		{"envelope", plexustest.Envelope("Element missing: name"), envelope, ""},
		{"other details", plexustest.Envelope("Unauthorized"), envelope, `the envelope's details are "Element missing: name", want "Unauthorized"`},
		{"a bad cid", plexustest.Envelope("x"), `{"result": "Error", "cid": "ABC", "details": "x"}`, `the envelope's cid "ABC" is not 24 lowercase hex characters`},
		{"not an envelope", plexustest.Envelope("x"), `{"result": "OK"}`, "the body is not an error envelope"},
		{"gzip", plexustest.Gunzip(plexustest.Text("hello")), gzipped("hello"), ""},
		{"gzip, other content", plexustest.Gunzip(plexustest.Text("hello")), gzipped("bye"), `the body is "bye", want "hello"`},
		{"not gzip", plexustest.Gunzip(plexustest.Text("hello")), "hello", "the body is not gzip-compressed"},
	} {
		err := c.match([]byte(c.body))
		switch {
		case c.err == "" && err != nil:
			t.Errorf("%s: %v", c.name, err)
		case c.err != "" && (err == nil || !strings.Contains(err.Error(), c.err)):
			t.Errorf("%s: error %v, want %q", c.name, err, c.err)
		}
	}
	// Many differences are cut short.
	err := plexustest.JSON(`{}`)([]byte(`{"a":1,"b":2,"c":3,"d":4,"e":5,"f":6,"g":7,"h":8,"i":9,"j":10,"k":11,"l":12}`))
	if err == nil || !strings.HasSuffix(err.Error(), "and 2 more") {
		t.Errorf("many differences: %v", err)
	}
}
