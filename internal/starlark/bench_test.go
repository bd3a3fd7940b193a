package starlark_test

import (
	"encoding/json"
	"fmt"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/plexushq/plexus/internal/admin"
	"github.com/plexushq/plexus/internal/servertest"
)

// benchService deploys src as a service on /bench and returns a function
// that runs one request through the whole REST pipeline in-process.
func benchService(b *testing.B, src string) func(body string) string {
	s := servertest.Start(b, servertest.Options{})
	data, _ := json.Marshal(admin.DeployRequest{SourceFile: admin.SourceFile{File: "bench.star", Source: src}})
	if r := s.AdminCall("POST", admin.Prefix+"/deploy", string(data)); r.StatusCode != 200 {
		b.Fatal(string(r.Body))
	}
	s.Channel("bench", "bench", "POST", "/bench", nil)
	h := s.Server.APIHandler()
	return func(body string) string {
		w := httptest.NewRecorder()
		h.ServeHTTP(w, httptest.NewRequest("POST", "/bench", strings.NewReader(body)))
		if w.Code != 200 {
			b.Fatalf("%d %s", w.Code, w.Body)
		}
		return w.Body.String()
	}
}

// BenchmarkWork runs a service doing what services do: loops, arithmetic,
// string formatting, lists and dicts; every growing operation in it goes
// through the memory allowance.
func BenchmarkWork(b *testing.B) {
	call := benchService(b, `
def handle(self):
    rows = []
    total = 0
    for i in range(200):
        price = i * 3 + 7
        total += price
        rows.append({"id": "item-%d" % i, "price": price, "tags": ["a", "b"][: i % 2 + 1]})
    names = ",".join([r["id"] for r in rows if r["price"] % 2 == 0])
    self.response.payload = {"total": total, "n": len(rows), "names": len(names)}
`)
	b.ReportAllocs()
	for b.Loop() {
		call("")
	}
}

// BenchmarkPayload runs a service that reads a ~10 KB JSON order and sums
// its lines: the body is made into Starlark values as it is read.
func BenchmarkPayload(b *testing.B) {
	call := benchService(b, `
def handle(self):
    total = 0
    for line in self.request.payload["lines"]:
        total += line["qty"]
    self.response.payload = {"total": total}
`)
	var order strings.Builder
	order.WriteString(`{"order_id":"ORD-1","customer":{"id":123,"name":"Jane Doe"},"lines":[`)
	for i := range 60 {
		if i > 0 {
			order.WriteByte(',')
		}
		fmt.Fprintf(&order, `{"sku":"SKU-%05d","name":"Item number %d","qty":%d,"price":%d.99,"tags":["a","b"]}`, i, i, i%5+1, i)
	}
	order.WriteString(`]}`)
	body := order.String()
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	for b.Loop() {
		call(body)
	}
}
