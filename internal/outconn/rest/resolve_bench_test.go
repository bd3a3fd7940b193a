package rest_test

import (
	"context"
	"testing"

	"github.com/plexushq/plexus/internal/admin"
	"github.com/plexushq/plexus/sdk/service"
)

// BenchmarkResolve measures what every outgoing call from a service pays
// to reach its connection by name: the platform finds the kind's resolver
// and resolves the connection, with its security definition, in the
// current configuration.
func BenchmarkResolve(b *testing.B) {
	s := start(b)
	putObject(b, s, "security", "key", map[string]any{"type": "apikey", "password": "k"})
	if r := s.AdminCall("PUT", admin.Prefix+"/objects/outgoing_rest/Backend", `{"host": "http://127.0.0.1:1", "url_path": "/", "security": "key"}`); r.StatusCode != 201 {
		b.Fatal(r.StatusCode)
	}
	c := s.Invoker.NewContext(context.Background(), "0123456789abcdef01234567", "bench", service.Channel{})
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := c.Platform().Resource(c, service.KindOutgoingREST, "Backend"); err != nil {
				b.Fatal(err)
			}
		}
	})
}
