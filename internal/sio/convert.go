package sio

import (
	"encoding/json"
	"fmt"
	"math"
	"math/big"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/plexushq/plexus/sdk/service"
)

// ConvError is a value that does not convert to its element's type.
type ConvError struct {
	// Want describes the type expected, e.g. "an integer".
	Want string
	// Got is the value received, quoted and shortened, or "" for secrets.
	Got string
}

func (e *ConvError) Error() string {
	if e.Got == "" {
		return "expected " + e.Want
	}
	return "expected " + e.Want + ", got " + e.Got
}

// want describes each type for error messages.
func want(t service.Type) string {
	switch t {
	case service.TypeInt:
		return "an integer"
	case service.TypeBool:
		return "a boolean (true, false, 1, 0, yes, no, on, off)"
	case service.TypeFloat:
		return "a number"
	case service.TypeDecimal:
		return "a decimal number"
	case service.TypeDate:
		return "a date (YYYY-MM-DD)"
	case service.TypeDateTime:
		return "a date and time (RFC 3339, e.g. 2024-05-01T10:00:00Z)"
	case service.TypeUUID:
		return "a UUID"
	case service.TypeList:
		return "a list"
	case service.TypeDict, TypeModel:
		return "an object"
	}
	return "a string"
}

func convErr(e *Elem, v any) error {
	got := ""
	if e.Type != service.TypeSecret {
		got = describe(v)
	}
	return &ConvError{Want: want(e.Type), Got: got}
}

// describe shows a received value in an error message, shortened.
func describe(v any) string {
	var s string
	switch x := v.(type) {
	case string:
		s = strconv.Quote(x)
	case json.Number:
		s = string(x)
	case map[string]any, service.Input:
		return "an object"
	case []any:
		return "a list"
	case bool:
		s = strconv.FormatBool(x)
	default:
		s = fmt.Sprint(x)
	}
	if len(s) > 40 {
		cut := 37
		for cut > 0 && !utf8.RuneStart(s[cut]) {
			cut--
		}
		s = s[:cut] + "..."
	}
	return s
}

// Convert converts one value to an element's type: a string from a query,
// a path or a form, or a JSON value from a body or an invocation. Nested
// models and typed lists are converted with their paths by Model.Decode;
// here a TypeModel element only checks for an object. Convert never
// panics.
func Convert(e *Elem, v any) (any, error) {
	switch e.Type {
	case service.TypeText:
		return toText(e, v)
	case service.TypeSecret:
		s, err := toText(e, v)
		if err != nil {
			return nil, err
		}
		return service.SecretString(s.(string)), nil
	case service.TypeInt:
		return toInt(e, v)
	case service.TypeBool:
		return toBool(e, v)
	case service.TypeFloat:
		return toFloat(e, v)
	case service.TypeDecimal:
		return toDecimal(e, v)
	case service.TypeDate:
		return toDate(e, v)
	case service.TypeDateTime:
		return toDateTime(e, v)
	case service.TypeUUID:
		return toUUID(e, v)
	case service.TypeList:
		return toList(e, v)
	case service.TypeDict, TypeModel:
		return toDict(e, v)
	}
	return v, nil // as-is
}

func toText(e *Elem, v any) (any, error) {
	switch x := v.(type) {
	case string:
		return v, nil
	case service.SecretString:
		return string(x), nil
	case json.Number:
		return string(x), nil
	case bool:
		return strconv.FormatBool(x), nil
	case int, int8, int16, int32, int64, uint, uint8, uint16, uint32, uint64, *big.Int:
		return fmt.Sprint(x), nil
	case float64:
		return strconv.FormatFloat(x, 'g', -1, 64), nil
	case float32:
		return strconv.FormatFloat(float64(x), 'g', -1, 32), nil
	}
	return nil, convErr(e, v)
}

func toInt(e *Elem, v any) (any, error) {
	switch x := v.(type) {
	case int64:
		return v, nil
	case int:
		return int64(x), nil
	case int8:
		return int64(x), nil
	case int16:
		return int64(x), nil
	case int32:
		return int64(x), nil
	case uint8:
		return int64(x), nil
	case uint16:
		return int64(x), nil
	case uint32:
		return int64(x), nil
	case uint:
		if uint64(x) <= math.MaxInt64 {
			return int64(x), nil
		}
	case uint64:
		if x <= math.MaxInt64 {
			return int64(x), nil
		}
	case *big.Int:
		if x.IsInt64() {
			return x.Int64(), nil
		}
	case json.Number:
		return intFromString(e, v, string(x), true)
	case string:
		return intFromString(e, v, strings.TrimSpace(x), false)
	case float64:
		if f, ok := integral(x); ok {
			return f, nil
		}
	case float32:
		if f, ok := integral(float64(x)); ok {
			return f, nil
		}
	}
	return nil, convErr(e, v)
}

func intFromString(e *Elem, v any, s string, number bool) (any, error) {
	if i, err := strconv.ParseInt(s, 10, 64); err == nil {
		return i, nil
	}
	if number {
		// 1e3 or 42.0 from a JSON body: accept integral values.
		if f, err := strconv.ParseFloat(s, 64); err == nil {
			if i, ok := integral(f); ok {
				return i, nil
			}
		}
	}
	return nil, convErr(e, v)
}

// integral returns f as an int64 when it is a whole number in range.
func integral(f float64) (int64, bool) {
	if f != math.Trunc(f) || f < -(1<<63) || f >= 1<<63 || math.IsNaN(f) {
		return 0, false
	}
	return int64(f), true
}

func toBool(e *Elem, v any) (any, error) {
	switch x := v.(type) {
	case bool:
		return v, nil
	case string:
		switch strings.ToLower(strings.TrimSpace(x)) {
		case "true", "yes", "on", "y", "t", "1":
			return true, nil
		case "false", "no", "off", "n", "f", "0", "":
			return false, nil
		}
	case json.Number:
		switch x {
		case "1":
			return true, nil
		case "0":
			return false, nil
		}
	case int64:
		if x == 0 || x == 1 {
			return x == 1, nil
		}
	case int:
		if x == 0 || x == 1 {
			return x == 1, nil
		}
	case float64:
		if x == 0 || x == 1 {
			return x == 1, nil
		}
	}
	return nil, convErr(e, v)
}

func toFloat(e *Elem, v any) (any, error) {
	var f float64
	switch x := v.(type) {
	case float64:
		f = x
	case float32:
		f = float64(x)
	case json.Number:
		var err error
		if f, err = strconv.ParseFloat(string(x), 64); err != nil {
			return nil, convErr(e, v)
		}
	case string:
		var err error
		if f, err = strconv.ParseFloat(strings.TrimSpace(x), 64); err != nil {
			return nil, convErr(e, v)
		}
	case int64:
		f = float64(x)
	case int:
		f = float64(x)
	case int32:
		f = float64(x)
	default:
		return nil, convErr(e, v)
	}
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return nil, convErr(e, v)
	}
	if _, same := v.(float64); same {
		return v, nil
	}
	return f, nil
}

func toDecimal(e *Elem, v any) (any, error) {
	var s string
	switch x := v.(type) {
	case json.Number:
		s = string(x)
	case string:
		s = strings.TrimSpace(x)
	case int64, int, int32:
		return json.Number(fmt.Sprint(x)), nil
	case float64:
		if math.IsNaN(x) || math.IsInf(x, 0) {
			return nil, convErr(e, v)
		}
		return json.Number(strconv.FormatFloat(x, 'f', -1, 64)), nil
	default:
		return nil, convErr(e, v)
	}
	if !isDecimal(s) {
		return nil, convErr(e, v)
	}
	if n, same := v.(json.Number); same && string(n) == s {
		return v, nil
	}
	return json.Number(s), nil
}

// isDecimal reports whether s is a JSON number: -?digits(.digits)?(e±digits)?.
func isDecimal(s string) bool {
	i := 0
	if i < len(s) && s[i] == '-' {
		i++
	}
	start := i
	for i < len(s) && s[i] >= '0' && s[i] <= '9' {
		i++
	}
	if i == start || (s[start] == '0' && i-start > 1) {
		return false
	}
	if i < len(s) && s[i] == '.' {
		i++
		fs := i
		for i < len(s) && s[i] >= '0' && s[i] <= '9' {
			i++
		}
		if i == fs {
			return false
		}
	}
	if i < len(s) && (s[i] == 'e' || s[i] == 'E') {
		i++
		if i < len(s) && (s[i] == '+' || s[i] == '-') {
			i++
		}
		es := i
		for i < len(s) && s[i] >= '0' && s[i] <= '9' {
			i++
		}
		if i == es {
			return false
		}
	}
	return i == len(s)
}

// DateLayout and DateTimeLayout are the normalised forms of date and
// datetime elements.
const (
	DateLayout     = "2006-01-02"
	DateTimeLayout = time.RFC3339Nano
)

var dateTimeLayouts = []string{time.RFC3339Nano, "2006-01-02T15:04:05.999999999", "2006-01-02 15:04:05.999999999Z07:00", "2006-01-02 15:04:05.999999999", DateLayout}

// ParseDateTime parses the forms a datetime element accepts: RFC 3339,
// the same without a zone (taken as UTC), with a space instead of T, or a
// date alone (midnight UTC).
func ParseDateTime(s string) (time.Time, bool) {
	s = strings.TrimSpace(s)
	for _, l := range dateTimeLayouts {
		if t, err := time.Parse(l, s); err == nil {
			return t, true
		}
	}
	return time.Time{}, false
}

func toDate(e *Elem, v any) (any, error) {
	switch x := v.(type) {
	case string:
		if isDate(x) {
			return v, nil
		}
		s := strings.TrimSpace(x)
		if t, err := time.Parse(DateLayout, s); err == nil {
			return t.Format(DateLayout), nil
		}
		if t, ok := ParseDateTime(s); ok {
			return t.Format(DateLayout), nil
		}
	case time.Time:
		return x.Format(DateLayout), nil
	}
	return nil, convErr(e, v)
}

func toDateTime(e *Elem, v any) (any, error) {
	switch x := v.(type) {
	case string:
		if t, ok := ParseDateTime(x); ok {
			if f := t.Format(DateTimeLayout); f != x {
				return f, nil
			}
			return v, nil
		}
	case time.Time:
		return x.Format(DateTimeLayout), nil
	}
	return nil, convErr(e, v)
}

func toUUID(e *Elem, v any) (any, error) {
	s, ok := v.(string)
	if !ok {
		return nil, convErr(e, v)
	}
	if isCanonicalUUID(s) {
		return v, nil
	}
	if u, ok := ParseUUID(s); ok {
		return u, nil
	}
	return nil, convErr(e, v)
}

// ParseUUID accepts a UUID with or without hyphens, in braces or as a
// urn:uuid: URN, in any case, and returns it lower-case and hyphenated.
func ParseUUID(s string) (string, bool) {
	s = strings.TrimSpace(s)
	if len(s) == 45 && strings.EqualFold(s[:9], "urn:uuid:") {
		s = s[9:]
	}
	if len(s) == 38 && s[0] == '{' && s[37] == '}' {
		s = s[1:37]
	}
	var hex []byte
	switch len(s) {
	case 36:
		if s[8] != '-' || s[13] != '-' || s[18] != '-' || s[23] != '-' {
			return "", false
		}
		hex = make([]byte, 0, 32)
		for i := 0; i < 36; i++ {
			if i == 8 || i == 13 || i == 18 || i == 23 {
				continue
			}
			hex = append(hex, s[i])
		}
	case 32:
		hex = []byte(s)
	default:
		return "", false
	}
	for i, c := range hex {
		switch {
		case c >= '0' && c <= '9', c >= 'a' && c <= 'f':
		case c >= 'A' && c <= 'F':
			hex[i] = c + 'a' - 'A'
		default:
			return "", false
		}
	}
	h := string(hex)
	return h[:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:], true
}

func toList(e *Elem, v any) (any, error) {
	switch x := v.(type) {
	case []any:
		return v, nil
	case []string:
		out := make([]any, len(x))
		for i, s := range x {
			out[i] = s
		}
		return out, nil
	case string:
		// A query parameter given once: a list of one.
		return []any{x}, nil
	}
	return nil, convErr(e, v)
}

func toDict(e *Elem, v any) (any, error) {
	switch x := v.(type) {
	case map[string]any:
		return v, nil
	case service.Input:
		return map[string]any(x), nil
	case string:
		// A query parameter holding a JSON object.
		var m map[string]any
		dec := json.NewDecoder(strings.NewReader(x))
		dec.UseNumber()
		if err := dec.Decode(&m); err == nil && m != nil && !dec.More() {
			return m, nil
		}
	}
	return nil, convErr(e, v)
}

// zero returns the default an absent optional element of a type takes:
// "" for text and secrets, 0 for numbers, false, [] and {}; null for
// dates, UUIDs, models and as-is elements.
func zero(e *Elem) any {
	switch e.Type {
	case service.TypeText:
		return ""
	case service.TypeSecret:
		return service.SecretString("")
	case service.TypeInt:
		return int64(0)
	case service.TypeFloat:
		return float64(0)
	case service.TypeDecimal:
		return json.Number("0")
	case service.TypeBool:
		return false
	case service.TypeList:
		return []any{}
	case service.TypeDict:
		return map[string]any{}
	}
	return nil
}

// isDate reports whether s is a valid date in the normalised form
// YYYY-MM-DD, without allocating.
func isDate(s string) bool {
	if len(s) != 10 || s[4] != '-' || s[7] != '-' {
		return false
	}
	n := func(a, b int) int {
		v := 0
		for i := a; i < b; i++ {
			c := s[i]
			if c < '0' || c > '9' {
				return -1
			}
			v = v*10 + int(c-'0')
		}
		return v
	}
	y, m, d := n(0, 4), n(5, 7), n(8, 10)
	if y < 0 || m < 1 || m > 12 || d < 1 {
		return false
	}
	days := [13]int{0, 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31}[m]
	if m == 2 && y%4 == 0 && (y%100 != 0 || y%400 == 0) {
		days = 29
	}
	return d <= days
}

// isCanonicalUUID reports whether s is a UUID in its normalised form:
// lower-case hexadecimal, hyphenated.
func isCanonicalUUID(s string) bool {
	if len(s) != 36 {
		return false
	}
	for i := 0; i < 36; i++ {
		c := s[i]
		switch i {
		case 8, 13, 18, 23:
			if c != '-' {
				return false
			}
		default:
			if (c < '0' || c > '9') && (c < 'a' || c > 'f') {
				return false
			}
		}
	}
	return true
}

// same reports whether a conversion returned its input unchanged, so a
// map of such values can be used as it is.
func same(v, cv any) bool {
	switch v.(type) {
	case string, int64, bool, float64, json.Number, service.SecretString:
		return v == cv
	case []any:
		_, ok := cv.([]any)
		return ok
	case map[string]any:
		_, ok := cv.(map[string]any)
		return ok
	}
	return false
}
