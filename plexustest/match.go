package plexustest

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"math/big"
	"slices"
	"strings"

	"github.com/plexushq/plexus/internal/cid"
	"github.com/plexushq/plexus/internal/invoke"
)

// A Match checks a body: it returns nil if the body is as wanted, or an
// error saying how it differs. Any func with this signature is one.
type Match func(body []byte) error

// maxDiffs bounds the differences a JSON match reports.
const maxDiffs = 10

// Text matches a body that is exactly want.
func Text(want string) Match {
	return func(body []byte) error {
		if string(body) != want {
			return fmt.Errorf("the body is %q, want %q", body, want)
		}
		return nil
	}
}

// Contains matches a body that contains every one of parts.
func Contains(parts ...string) Match {
	return func(body []byte) error {
		var missing []string
		for _, p := range parts {
			if !bytes.Contains(body, []byte(p)) {
				missing = append(missing, fmt.Sprintf("%q", p))
			}
		}
		if len(missing) > 0 {
			return fmt.Errorf("the body lacks %s", strings.Join(missing, ", "))
		}
		return nil
	}
}

// JSON matches a body that holds the same JSON value as want, whatever the
// order of keys and the spacing. Numbers are compared by value, exactly
// (1.0 is 1; 12345678901234567890 is not 12345678901234567891).
func JSON(want string) Match { return jsonMatch(want, false) }

// JSONSubset matches a JSON body that holds at least what want holds:
// each object has want's keys with matching values, and may have more;
// arrays have want's length, element by element. It suits answers with
// values that change, such as a cid or a time.
func JSONSubset(want string) Match { return jsonMatch(want, true) }

// Gunzip matches a gzip-compressed body, as a server sends it to clients
// that accept gzip, whose content matches m.
func Gunzip(m Match) Match {
	return func(body []byte) error {
		zr, err := gzip.NewReader(bytes.NewReader(body))
		if err != nil {
			return fmt.Errorf("the body is not gzip-compressed: %w", err)
		}
		plain, err := io.ReadAll(zr)
		if err != nil {
			return fmt.Errorf("the body is not gzip-compressed: %w", err)
		}
		return m(plain)
	}
}

// Envelope matches the error envelope every caller sees:
// {"result": "Error", "cid": CID, "details": details}, with a well-formed
// cid. (Every scenario also checks that an envelope's cid is the one in
// the X-Plexus-CID header.)
func Envelope(details string) Match {
	return func(body []byte) error {
		var env map[string]any
		if err := json.Unmarshal(body, &env); err != nil {
			return fmt.Errorf("the body is not an error envelope: %v", err)
		}
		id, _ := env["cid"].(string)
		switch {
		case env["result"] != "Error" || len(env) != 3:
			return fmt.Errorf(`the body is not an error envelope {"result": "Error", "cid": …, "details": …}`)
		case !cid.Valid(id):
			return fmt.Errorf("the envelope's cid %q is not 24 lowercase hex characters", id)
		case env["details"] != details:
			return fmt.Errorf("the envelope's details are %q, want %q", env["details"], details)
		}
		return nil
	}
}

func jsonMatch(want string, subset bool) Match {
	return func(body []byte) error {
		w, err := invoke.DecodeJSON([]byte(want))
		if err != nil {
			return fmt.Errorf("the wanted JSON is not valid: %v", err)
		}
		g, err := invoke.DecodeJSON(body)
		if err != nil {
			return fmt.Errorf("the body is not JSON: %v", err)
		}
		var diffs []string
		compareJSON(&diffs, "", g, w, subset)
		if len(diffs) == 0 {
			return nil
		}
		if len(diffs) > maxDiffs {
			diffs = append(diffs[:maxDiffs], fmt.Sprintf("and %d more", len(diffs)-maxDiffs))
		}
		return errors.New("the body differs from the wanted JSON:\n  " + strings.Join(diffs, "\n  "))
	}
}

// compareJSON appends to diffs how got differs from want, each difference
// with its JSON Pointer ("" is the whole value).
func compareJSON(diffs *[]string, at string, got, want any, subset bool) {
	where := at
	if where == "" {
		where = "/"
	}
	switch w := want.(type) {
	case map[string]any:
		g, ok := got.(map[string]any)
		if !ok {
			*diffs = append(*diffs, fmt.Sprintf("%s: got %s, want an object", where, compact(got)))
			return
		}
		for _, k := range slices.Sorted(maps.Keys(w)) {
			if gv, ok := g[k]; ok {
				compareJSON(diffs, at+"/"+k, gv, w[k], subset)
			} else {
				*diffs = append(*diffs, fmt.Sprintf("%s/%s: missing, want %s", at, k, compact(w[k])))
			}
		}
		if !subset {
			for _, k := range slices.Sorted(maps.Keys(g)) {
				if _, ok := w[k]; !ok {
					*diffs = append(*diffs, fmt.Sprintf("%s/%s: got %s, want no such key", at, k, compact(g[k])))
				}
			}
		}
	case []any:
		g, ok := got.([]any)
		if !ok {
			*diffs = append(*diffs, fmt.Sprintf("%s: got %s, want an array", where, compact(got)))
			return
		}
		if len(g) != len(w) {
			*diffs = append(*diffs, fmt.Sprintf("%s: got %d elements %s, want %d", where, len(g), compact(g), len(w)))
			return
		}
		for i := range w {
			compareJSON(diffs, fmt.Sprintf("%s/%d", at, i), g[i], w[i], subset)
		}
	case json.Number:
		g, ok := got.(json.Number)
		if !ok || !sameNumber(g, w) {
			*diffs = append(*diffs, fmt.Sprintf("%s: got %s, want %s", where, compact(got), w))
		}
	default: // string, bool, nil
		if got != want {
			*diffs = append(*diffs, fmt.Sprintf("%s: got %s, want %s", where, compact(got), compact(want)))
		}
	}
}

func sameNumber(a, b json.Number) bool {
	x, ok1 := new(big.Rat).SetString(string(a))
	y, ok2 := new(big.Rat).SetString(string(b))
	return ok1 && ok2 && x.Cmp(y) == 0
}

// compact shows a decoded JSON value as JSON, cut short if long.
func compact(v any) string {
	data, _ := json.Marshal(v)
	return shorten(string(data), 200)
}

// shorten cuts s to about n bytes, saying how much it left out.
func shorten(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return fmt.Sprintf("%s… (%d more bytes)", s[:n], len(s)-n)
}
