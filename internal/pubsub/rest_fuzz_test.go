package pubsub_test

import (
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
)

// FuzzREST sends arbitrary topic names and bodies to the publish, get and
// ack endpoints: every answer is one of their documented statuses with
// Zato's envelope, never a 500.
func FuzzREST(f *testing.F) {
	e := start(f, "")
	e.Put("pubsub_subscription", "shop", map[string]any{"security": "sub", "topics": []string{"orders.new"}, "ack": "explicit"})
	for _, s := range []struct{ path, body string }{
		{"topic/orders.new", `{"data": {"id": 1}, "priority": 9, "expiration": "60"}`},
		{"topic/orders.new", `{"data": null}`},
		{"topic/ORDERS.new", `{"data": "x", "priority": -1, "expiration": 1e308}`},
		{"topic/orders.zato", `{"data": 1}`},
		{"topic/%00", `[]`},
		{"messages/get", `{"max_messages": 1001, "max_len": -1}`},
		{"messages/ack", `{"msg_ids": ["zpsm0", 1, null]}`},
		{"messages/ack", `{"msg_ids": "zpsm0"}`},
	} {
		f.Add(s.path, s.body, false)
		f.Add(s.path, s.body, true)
	}
	documented := map[int]bool{200: true, 400: true, 401: true, 403: true, 404: true, 405: true, 413: true, 503: true}
	f.Fuzz(func(t *testing.T, path, body string, asSubscriber bool) {
		who := basic("pub", "pub-secret-1")
		if asSubscriber {
			who = basic("sub", "sub-secret-1")
		}
		req, err := http.NewRequest("POST", e.URL+"/pubsub/"+path, strings.NewReader(body))
		if err != nil {
			return // not a URL a client could send
		}
		req.Header = who
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatalf("POST /pubsub/%s: %v", path, err)
		}
		answer, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		var env map[string]any
		if err := json.Unmarshal(answer, &env); err != nil {
			if resp.StatusCode == 404 || resp.StatusCode == 400 {
				return // not a pub/sub endpoint: the server's own answer
			}
			t.Fatalf("POST /pubsub/%s %q: %d, not JSON: %s", path, body, resp.StatusCode, answer)
		}
		if !documented[resp.StatusCode] || (resp.StatusCode == 200) != (env["is_ok"] == true) {
			t.Fatalf("POST /pubsub/%s %q: %d %s", path, body, resp.StatusCode, answer)
		}
	})
}
