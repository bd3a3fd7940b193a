package wsx_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/coder/websocket"

	"github.com/plexushq/plexus/internal/servertest"
	"github.com/plexushq/plexus/internal/wsx"
)

// BenchmarkRoundTrip measures a message answered by a channel's service
// (plexus.helpers.echo, plain JSON protocol) against a bare coder/websocket
// echo handler in the same process, 16 clients at once; compare the two
// sub-benchmarks' ns/op.
func BenchmarkRoundTrip(b *testing.B) {
	s := servertest.Start(b, servertest.Options{})
	s.Put(wsx.ChannelKind, "bench", map[string]any{"url_path": "/ws/bench", "service": "plexus.helpers.echo", "protocol": "json"})
	bare := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, err := websocket.Accept(w, r, nil)
		if err != nil {
			return
		}
		defer c.CloseNow()
		for {
			typ, m, err := c.Read(context.Background())
			if err != nil || c.Write(context.Background(), typ, m) != nil {
				return
			}
		}
	}))
	defer bare.Close()
	for _, t := range []struct{ name, url string }{
		{"plexus", "ws" + strings.TrimPrefix(s.API, "http") + "/ws/bench"},
		{"bare", "ws" + strings.TrimPrefix(bare.URL, "http")},
	} {
		b.Run(t.name, func(b *testing.B) { roundTrips(b, t.url) })
	}
}

func roundTrips(b *testing.B, url string) {
	const clients = 16
	conns := make([]*websocket.Conn, clients)
	for i := range conns {
		c, _, err := websocket.Dial(context.Background(), url, nil)
		if err != nil {
			b.Fatal(err)
		}
		defer c.CloseNow()
		conns[i] = c
	}
	msg := []byte(`{"cust_id": 123, "name": "Ann"}`)
	b.ResetTimer()
	var wg sync.WaitGroup
	per := b.N/clients + 1
	for _, c := range conns {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < per; i++ {
				if c.Write(context.Background(), websocket.MessageText, msg) != nil {
					return
				}
				if _, _, err := c.Read(context.Background()); err != nil {
					return
				}
			}
		}()
	}
	wg.Wait()
}
