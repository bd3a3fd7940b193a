package wsx_test

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/plexushq/plexus/internal/servertest"
	"github.com/plexushq/plexus/internal/wsx"
)

// BenchmarkRoundTrip measures a message answered by a channel's service
// (plexus.helpers.echo, plain JSON protocol) against a bare coder/websocket
// echo handler in the same process, 16 clients at once; compare the two
// sub-benchmarks' ns/op, or their cpu-ns/op (the process's CPU time, the
// clients' included, which varies less on a shared machine).
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
	cpu0 := cpuTime()
	defer func() { b.ReportMetric(float64(cpuTime()-cpu0)/float64(b.N), "cpu-ns/op") }()
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

// BenchmarkBroadcast measures a 200-byte broadcast delivered to 2,000
// clients of a channel (plain JSON protocol), from Deliver to the moment
// the last client has read it; the clients read in the same process.
func BenchmarkBroadcast(b *testing.B) {
	const clients = 2000
	s := servertest.Start(b, servertest.Options{})
	s.Put(wsx.ChannelKind, "bench", map[string]any{"url_path": "/ws/bench", "service": "plexus.helpers.echo", "protocol": "json",
		"max_clients": clients})
	v, _ := s.Runtime.State().Running(wsx.ChannelKind, "bench")
	h := v.(*wsx.Hub)
	url := "ws" + strings.TrimPrefix(s.API, "http") + "/ws/bench"
	var got atomic.Int64
	var target atomic.Int64
	arrived := make(chan struct{}, 1)
	for range clients {
		c, _, err := websocket.Dial(context.Background(), url, nil)
		if err != nil {
			b.Fatal(err)
		}
		defer c.CloseNow()
		go func() {
			for {
				_, r, err := c.Reader(context.Background())
				if err != nil {
					return
				}
				io.Copy(io.Discard, r)
				if got.Add(1) == target.Load() {
					arrived <- struct{}{}
				}
			}
		}()
	}
	for len(h.Clients()) < clients {
		time.Sleep(10 * time.Millisecond)
	}
	msg := []byte(`{"d":"` + strings.Repeat("b", 192) + `"}`)
	b.ResetTimer()
	cpu0 := cpuTime()
	for i := range b.N {
		target.Store(int64(clients) * int64(i+1))
		if err := h.Deliver(msg); err != nil {
			b.Fatal(err)
		}
		<-arrived
	}
	b.ReportMetric(float64(cpuTime()-cpu0)/float64(b.N), "cpu-ns/op")
}
