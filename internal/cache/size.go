package cache

import (
	"fmt"
	"reflect"
)

// TooLargeError is a value larger than the cache takes.
type TooLargeError struct {
	Cache     string
	Size, Max int64
}

func (e *TooLargeError) Error() string {
	return fmt.Sprintf("cache %q: the value takes %d bytes, more than its limit of %d (max_item_size, max_bytes)", e.Cache, e.Size, e.Max)
}

// PatternError is a regular expression longer than MaxPattern.
type PatternError struct{ Len int }

func (e *PatternError) Error() string {
	return fmt.Sprintf("the regular expression is %d bytes long, more than %d", e.Len, MaxPattern)
}

// Size estimates the memory a value takes: strings and bytes by their
// length, numbers, booleans and nil by a word, lists and maps by their
// members and a word each.
func Size(v any) int64 {
	switch x := v.(type) {
	case nil, bool, int, int64, float64:
		return 8
	case string:
		return int64(len(x)) + 16
	case []byte:
		return int64(len(x)) + 24
	case []any:
		n := int64(24)
		for _, e := range x {
			n += 8 + Size(e)
		}
		return n
	case map[string]any:
		n := int64(48)
		for k, e := range x {
			n += int64(len(k)) + 24 + Size(e)
		}
		return n
	}
	rv := reflect.ValueOf(v)
	switch rv.Kind() {
	case reflect.String:
		return int64(rv.Len()) + 16
	case reflect.Slice, reflect.Array:
		n := int64(24)
		for i := range rv.Len() {
			n += 8 + Size(rv.Index(i).Interface())
		}
		return n
	case reflect.Map:
		n := int64(48)
		for it := rv.MapRange(); it.Next(); {
			n += 24 + Size(it.Key().Interface()) + Size(it.Value().Interface())
		}
		return n
	}
	return 16
}
