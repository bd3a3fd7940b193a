package memlimit

import (
	"errors"
	"testing"
	"unicode/utf8"

	"go.starlark.net/lib/json"
	sl "go.starlark.net/starlark"

	"github.com/plexushq/plexus/internal/jsonlimit"
)

// FuzzDecodeJSON feeds untrusted JSON to DecodeJSON: what Starlark's own
// json.decode accepts it decodes to the same value, and with a small
// allowance it fails with the allowance exceeded, never otherwise.
func FuzzDecodeJSON(f *testing.F) {
	for _, s := range []string{`{"a":[1,2.5,"x",null,true,false,{}]}`, `[[[[]]]]`, `"\u00e9\ud83d\ude00"`, `12345678901234567890123`,
		`{"b":1,"a":2,"b":3}`, `-0.0e+10`, `[1,]`, `{"a" 1}`, `1e400`, `[` + `{},` + `{}]`} {
		f.Add(s)
	}
	decode := json.Module.Members["decode"].(*sl.Builtin)
	f.Fuzz(func(t *testing.T, src string) {
		lim := jsonlimit.Limits{MaxDepth: 100, MaxValues: 10_000}
		got, err := DecodeJSON(New(1<<30), src, lim, false)
		if _, small := DecodeJSON(New(2048), src, lim, false); small != nil && err == nil {
			var ee *ExceededError
			if !errors.As(small, &ee) {
				t.Fatalf("%q: with a small allowance: %v", src, small)
			}
		}
		if !utf8.ValidString(src) {
			return // Starlark keeps invalid bytes; JSON makes them U+FFFD
		}
		want, stdErr := sl.Call(&sl.Thread{}, decode, sl.Tuple{sl.String(src)}, nil)
		var tm *jsonlimit.TooManyValuesError
		if errors.Is(err, jsonlimit.ErrTooDeep) || errors.As(err, &tm) {
			return
		}
		if err == nil && stdErr == nil && got.String() != want.String() {
			t.Fatalf("%q: got %s, json.decode gives %s", src, got, want)
		}
		if err == nil && stdErr != nil {
			t.Fatalf("%q: decoded to %s, json.decode refuses it: %v", src, got, stdErr)
		}
	})
}
