package jsonlimit

import (
	"errors"
	"reflect"
	"testing"
)

// FuzzDecode checks the decoder against encoding/json: both accept the
// same documents and give the same values, and GoCost agrees with Decode.
func FuzzDecode(f *testing.F) {
	for _, seed := range []string{
		`{"a":[1,2.5,"x",null,true,false,{}]}`, `"\u00e9\ud83d\ude00\ud800"`, "\"\xff\"", `[[[]]]`,
		`{"a":1,"a":2}`, `-0.0e+10`, `01`, `{"a" 1}`, `[1,]`, `nul`, ` [ ] `, `{"":""}`,
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		lim := Limits{MaxDepth: 50, MaxValues: 10_000}
		got, err := Decode(data, lim)
		_, costErr := GoCost(data, lim)
		if (err == nil) != (costErr == nil) {
			t.Fatalf("Decode: %v, GoCost: %v", err, costErr)
		}
		var tm *TooManyValuesError
		if errors.Is(err, ErrTooDeep) || errors.As(err, &tm) {
			return
		}
		want, stdErr := stdDecode(data)
		if (err == nil) != (stdErr == nil) {
			t.Fatalf("%q: Decode: %v, encoding/json: %v", data, err, stdErr)
		}
		if err == nil && !reflect.DeepEqual(got, want) {
			t.Fatalf("%q:\n got %#v\nwant %#v", data, got, want)
		}
	})
}
