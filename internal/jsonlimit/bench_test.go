package jsonlimit

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
)

// benchDocs are the documents the benchmarks decode: the load benchmark's
// ~100-byte echo, a ~10 KB order, and 1 MB of empty objects.
func benchDocs() map[string][]byte {
	var order strings.Builder
	order.WriteString(`{"order_id":"ORD-1","customer":{"id":123,"name":"Jane Doe","email":"jane@example.com"},"lines":[`)
	for i := range 60 {
		if i > 0 {
			order.WriteByte(',')
		}
		fmt.Fprintf(&order, `{"sku":"SKU-%05d","name":"Item number %d","qty":%d,"price":%d.99,"tags":["a","b"]}`, i, i, i%5+1, i)
	}
	order.WriteString(`],"total":1234.5,"paid":true}`)
	return map[string][]byte{
		"100B":          []byte(`{"user_id":"123","user_name":"my.user","segment":"RNZ","is_active":true,"score":12.5,"tags":["a","b"]}`),
		"10KB":          []byte(order.String()),
		"1MB-empty-obj": []byte("[" + strings.Repeat("{},", 1<<20/3) + "{}]"),
	}
}

// BenchmarkDecode compares Decode (GoCost, then the values, as a request
// body is decoded) with encoding/json's Decoder with UseNumber.
func BenchmarkDecode(b *testing.B) {
	for name, doc := range benchDocs() {
		b.Run(name+"/jsonlimit", func(b *testing.B) {
			b.SetBytes(int64(len(doc)))
			b.ReportAllocs()
			for b.Loop() {
				if _, err := GoCost(doc, Limits{MaxValues: 1 << 30}); err != nil {
					b.Fatal(err)
				}
				if _, err := Decode(doc, Limits{MaxValues: 1 << 30}); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run(name+"/encoding-json", func(b *testing.B) {
			b.SetBytes(int64(len(doc)))
			b.ReportAllocs()
			for b.Loop() {
				dec := json.NewDecoder(bytes.NewReader(doc))
				dec.UseNumber()
				var v any
				if err := dec.Decode(&v); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkGoCost measures the check alone, what a Starlark service's
// body costs before the service reads it.
func BenchmarkGoCost(b *testing.B) {
	for name, doc := range benchDocs() {
		b.Run(name, func(b *testing.B) {
			b.SetBytes(int64(len(doc)))
			b.ReportAllocs()
			for b.Loop() {
				if _, err := GoCost(doc, Limits{MaxValues: 1 << 30}); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
