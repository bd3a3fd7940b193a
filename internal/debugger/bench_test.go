package debugger_test

import (
	"encoding/json"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/plexushq/plexus/internal/admin"
	"github.com/plexushq/plexus/internal/servertest"
)

const benchSvc = `
def handle(self):
    rows = []
    total = 0
    for i in range(200):
        price = i * 3 + 7
        total += price
        rows.append({"id": "item-%d" % i, "price": price})
    self.response.payload = {"total": total, "n": len(rows)}
`

// BenchmarkServing runs a service doing loops, arithmetic and formatting
// through the whole REST pipeline, on a server as it runs in production
// (bare), in development mode (which keeps requests for replay) and with
// the debugger (each statement calls it; no client attached): compare
// their ns/op for the cost of each.
func BenchmarkServing(b *testing.B) {
	for _, c := range []struct{ name, settings string }{
		{"bare", ""},
		{"development", "development: true\n"},
		{"debugger", "development: true\ndebug_listen: 127.0.0.1:0\n"},
	} {
		b.Run(c.name, func(b *testing.B) {
			s := servertest.Start(b, servertest.Options{Settings: c.settings})
			data, _ := json.Marshal(admin.DeployRequest{SourceFile: admin.SourceFile{File: "bench.star", Source: benchSvc}})
			if r := s.AdminCall("POST", admin.Prefix+"/deploy", string(data)); r.StatusCode != 200 {
				b.Fatal(string(r.Body))
			}
			s.Channel("bench", "bench", "POST", "/bench", nil)
			h := s.Server.APIHandler()
			b.ReportAllocs()
			for b.Loop() {
				w := httptest.NewRecorder()
				h.ServeHTTP(w, httptest.NewRequest("POST", "/bench", strings.NewReader(`{"a": 1}`)))
				if w.Code != 200 {
					b.Fatalf("%d %s", w.Code, w.Body)
				}
			}
		})
	}
}
