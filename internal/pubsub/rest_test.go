package pubsub_test

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/plexushq/plexus/internal/pubsub"
	"github.com/plexushq/plexus/plexustest"
	"github.com/plexushq/plexus/sdk/service"
)

// A subscriber's REST endpoint down for a while, then back: every
// message arrives, in order, POSTed as JSON.
func TestPushToRESTEndpointDownThenBack(t *testing.T) {
	stores(t, func(t *testing.T, db string) {
		var down atomic.Bool
		down.Store(true)
		var mu sync.Mutex
		var got []map[string]any
		var refused atomic.Int64
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if down.Load() {
				refused.Add(1)
				w.WriteHeader(http.StatusServiceUnavailable)
				return
			}
			var m map[string]any
			body, _ := io.ReadAll(r.Body)
			if r.Method != "POST" || json.Unmarshal(body, &m) != nil {
				w.WriteHeader(http.StatusBadRequest)
				return
			}
			mu.Lock()
			got = append(got, m)
			mu.Unlock()
		}))
		defer srv.Close()
		e := start(t, db)
		e.Put("outgoing_rest", "crm", map[string]any{"host": srv.URL, "url_path": "/hook"})
		e.Put(pubsub.KindSubscription, "crm", map[string]any{"topics": []string{"orders.new"}, "delivery_type": "push",
			"push_type": "rest", "push_rest_endpoint": "crm", "retry_initial": "5ms", "retry_max": "20ms"})
		var want []string
		for i := range 10 {
			want = append(want, fmt.Sprint(i))
			e.publish(t, "orders.new", map[string]any{"data": i})
		}
		waitFor(t, "refused attempts", func() bool { return refused.Load() >= 3 })
		down.Store(false)
		waitFor(t, "10 deliveries", func() bool { mu.Lock(); defer mu.Unlock(); return len(got) == 10 })
		mu.Lock()
		defer mu.Unlock()
		if d := datas(got, "data"); !slices.Equal(d, want) {
			t.Errorf("order %v, want %v", d, want)
		}
		if got[0]["delivery_count"].(float64) < 2 {
			t.Errorf("the first message was delivered at once: %v", got[0])
		}
	})
}

// Every status of Zato's publish and get endpoints.
func TestRESTErrors(t *testing.T) {
	e := start(t, "")
	e.Put(pubsub.KindTopic, "orders.closed", map[string]any{"is_active": false})
	e.Put(pubsub.KindTopic, "orders.tiny", map[string]any{"max_depth": 2})
	e.Put(pubsub.KindTopic, "stock.levels", map[string]any{})
	e.Put(pubsub.KindSubscription, "shop", map[string]any{"security": "sub", "topics": []string{"orders.tiny"}})
	good := basic("pub", "pub-secret-1")
	for _, c := range []struct {
		name, path, body string
		header           http.Header
		status           int
		details          string
	}{
		{"no credentials", "/pubsub/topic/orders.new", `{"data": 1}`, nil, 401, "Authentication required"},
		{"wrong password", "/pubsub/topic/orders.new", `{"data": 1}`, basic("pub", "nope"), 401, "Invalid credentials"},
		{"unknown user", "/pubsub/topic/orders.new", `{"data": 1}`, basic("who", "pub-secret-1"), 401, "Invalid credentials"},
		{"invalid topic name", "/pubsub/topic/orders.zato", `{"data": 1}`, good, 400, "Invalid topic name"},
		{"not permitted", "/pubsub/topic/stock.levels", `{"data": 1}`, good, 401, "Permission denied"},
		{"inactive topic", "/pubsub/topic/orders.closed", `{"data": 1}`, good, 403, "Topic orders.closed is inactive"},
		{"unknown topic", "/pubsub/topic/orders.none", `{"data": 1}`, good, 404, "does not exist"},
		{"null data", "/pubsub/topic/orders.new", `{"data": null}`, good, 400, "Invalid input: 'data' element missing"},
		{"no data", "/pubsub/topic/orders.new", `{"priority": 1}`, good, 400, "Invalid input: 'data' element missing"},
		{"not JSON", "/pubsub/topic/orders.new", `{"data": `, good, 400, "Invalid input"},
		{"get without a subscription", "/pubsub/messages/get", `{}`, good, 401, "No subscription found for user"},
		{"ack without a subscription", "/pubsub/messages/ack", `{"msg_ids": []}`, good, 401, "No subscription found for user"},
	} {
		r := e.Call("POST", c.path, c.body, c.header)
		var env map[string]any
		json.Unmarshal(r.Body, &env)
		if r.StatusCode != c.status || env["is_ok"] != false || !strings.Contains(fmt.Sprint(env["details"]), c.details) ||
			env["status"] != fmt.Sprintf("%d %s", c.status, http.StatusText(c.status)) || env["cid"] == "" {
			t.Errorf("%s: %d %s", c.name, r.StatusCode, r.Body)
		}
	}
	if r := e.Call("GET", "/pubsub/topic/orders.new", "", good); r.StatusCode != 405 {
		t.Errorf("GET: %d", r.StatusCode)
	}
	// Topic names are case-insensitive.
	if id := e.publish(t, "ORDERS.New", map[string]any{"data": 1}); !strings.HasPrefix(id, "zpsm") {
		t.Errorf("id %q", id)
	}
	// max_depth
	e.publish(t, "orders.tiny", map[string]any{"data": 1})
	e.publish(t, "orders.tiny", map[string]any{"data": 2})
	r := e.Call("POST", "/pubsub/topic/orders.tiny", `{"data": 3}`, good)
	if r.StatusCode != 503 || !strings.Contains(string(r.Body), "max_depth") {
		t.Errorf("past max_depth: %d %s", r.StatusCode, r.Body)
	}
	if got := e.get(t, "{}"); len(got) != 2 {
		t.Fatalf("got %v", got)
	}
	e.publish(t, "orders.tiny", map[string]any{"data": 4}) // room again
	// The wrong password of a subscriber, and the Engine's own errors.
	if r := e.Call("POST", "/pubsub/messages/get", "{}", basic("sub", "x")); r.StatusCode != 401 {
		t.Errorf("get with a wrong password: %d", r.StatusCode)
	}
	if _, err := e.eng.Browse(t.Context(), "nope", pubsub.PageRequest{}); status(err) != 404 {
		t.Errorf("browse of an unknown subscription: %v", err)
	}
	if _, err := e.eng.Publish(t.Context(), pubsub.PublishRequest{Topic: "orders.new", Data: []byte(`{"a":`)}); status(err) != 400 {
		t.Errorf("publishing bad JSON: %v", err)
	}
	big := `"` + strings.Repeat("x", pubsub.MaxPayload) + `"`
	if _, err := e.eng.Publish(t.Context(), pubsub.PublishRequest{Topic: "orders.new", Data: []byte(big)}); status(err) != 413 {
		t.Errorf("publishing too much: %v", err)
	}
}

// Services publish with self.publish (Starlark) and Context.Publish (Go);
// publishing to a service's name invokes it, durably, in the background.
func TestSelfPublish(t *testing.T) {
	e := start(t, "", goPublisher{})
	e.Put(pubsub.KindSubscription, "shop", map[string]any{"security": "sub", "topics": []string{"orders.new"}})
	e.Deploy("publisher.star", `
def handle(self):
    p = self.request.payload
    self.response.payload = {"msg_id": self.publish(p["topic"], p["data"], priority=7, expiration=60, correl_id="c-1", in_reply_to="r-1", ext_client_id="x-1")}
`)
	e.Channel("publisher", "publisher", "POST", "/publish", nil)
	r := e.Call("POST", "/publish", `{"topic": "orders.new", "data": {"from": "starlark"}}`, nil)
	if r.StatusCode != 200 || !strings.HasPrefix(fmt.Sprint(r.JSON(t)["msg_id"]), "zpsm") {
		t.Fatalf("starlark: %d %s", r.StatusCode, r.Body)
	}
	e.Channel("gopub", "t.go-publisher", "POST", "/gopub", nil)
	if r := e.Call("POST", "/gopub", "", nil); r.StatusCode != 200 {
		t.Fatalf("go: %d %s", r.StatusCode, r.Body)
	}
	got := e.get(t, "{}")
	if len(got) != 2 || fmt.Sprint(got[0]["data"]) != "map[from:starlark]" || got[0]["priority"] != float64(7) || got[0]["correl_id"] != "c-1" ||
		got[0]["in_reply_to"] != "r-1" || got[0]["ext_client_id"] != "x-1" || got[0]["expiration"] != float64(60) || fmt.Sprint(got[1]["data"]) != "map[from:go]" {
		t.Fatalf("got %v", got)
	}
	// To a service: t.recv gets the data itself.
	r = e.Call("POST", "/publish", `{"topic": "t.recv", "data": {"job": 1}}`, nil)
	if r.StatusCode != 200 {
		t.Fatalf("to a service: %d %s", r.StatusCode, r.Body)
	}
	waitFor(t, "the invocation", func() bool { return len(e.rec.messages()) == 1 })
	if m := e.rec.messages()[0]; fmt.Sprint(m["job"]) != "1" || m["_channel"] != "pubsub" {
		t.Errorf("the service got %v", m)
	}
	r = e.Call("POST", "/publish", `{"topic": "no.such.thing", "data": 1}`, nil)
	if r.StatusCode != 404 {
		t.Errorf("unknown topic: %d %s", r.StatusCode, r.Body)
	}
}

type goPublisher struct{}

func (goPublisher) Name() string { return "t.go-publisher" }

func (goPublisher) Handle(c *service.Context) error {
	id, err := c.Publish("orders.new", map[string]any{"from": "go"}, service.PublishOptions{Priority: 3})
	c.Response.Payload = map[string]any{"msg_id": id}
	return err
}

// An address that keeps failing to sign in is locked out, as on REST
// channels.
func TestRESTLockOut(t *testing.T) {
	s := plexustest.Start(t, plexustest.Options{Settings: "auth_failures:\n  slow_after: 0\n  lock_after: 2\n  lock_for: 1h\n"})
	s.Put("security", "pub", map[string]any{"type": "basic_auth", "username": "pub", "password": "pub-secret-1"})
	s.Put(pubsub.KindPermission, "pub", map[string]any{"security": "pub", "pub": []string{"orders.*"}})
	s.Put(pubsub.KindTopic, "orders.new", map[string]any{})
	for range 2 {
		if r := s.Call("POST", "/pubsub/topic/orders.new", `{"data": 1}`, basic("pub", "wrong")); r.StatusCode != 401 {
			t.Fatalf("a wrong password: %d %s", r.StatusCode, r.Body)
		}
	}
	r := s.Call("POST", "/pubsub/topic/orders.new", `{"data": 1}`, basic("pub", "pub-secret-1"))
	if r.StatusCode != 429 || r.Header.Get("Retry-After") == "" {
		t.Fatalf("a locked-out address: %d %s", r.StatusCode, r.Body)
	}
}

// The endpoints' requests are in the access log, as REST channels' are:
// kind pubsub, the topic or the pull subscription as channel, the status.
func TestEndpointsAccessLog(t *testing.T) {
	e := start(t, "")
	e.Put(pubsub.KindSubscription, "shop", map[string]any{"security": "sub", "topics": []string{"orders.new"}})
	r := e.Call("POST", "/pubsub/topic/orders.new", `{"data": 1}`, basic("pub", "pub-secret-1"))
	if r.StatusCode != 200 {
		t.Fatalf("publish: %d %s", r.StatusCode, r.Body)
	}
	checkAccess(t, r, "kind=pubsub", "channel=orders.new", "path=/pubsub/topic/orders.new", "status=200", "method=POST")
	r = e.Call("POST", "/pubsub/topic/orders.new", `{"data": 1}`, basic("pub", "wrong-password"))
	checkAccess(t, r, "kind=pubsub", "status=401")
	r = e.Call("POST", "/pubsub/messages/get", `{}`, basic("sub", "sub-secret-1"))
	checkAccess(t, r, "kind=pubsub", "channel=shop", "path=/pubsub/messages/get", "status=200")
	r = e.Call("GET", "/pubsub/messages/ack", ``, nil)
	checkAccess(t, r, "kind=pubsub", "method=GET", "status=405")
}

func checkAccess(t *testing.T, r *plexustest.Response, parts ...string) {
	t.Helper()
	lines := r.Logs()
	for _, l := range lines {
		if strings.Contains(l, "msg=request ") {
			for _, p := range parts {
				if !strings.Contains(l, p) {
					t.Errorf("the access log line lacks %q: %s", p, l)
				}
			}
			if !strings.Contains(l, fmt.Sprintf("bytes=%d", len(r.Body))) {
				t.Errorf("the access log line does not count the %d bytes of the answer: %s", len(r.Body), l)
			}
			return
		}
	}
	t.Fatalf("no access log line for cid %s: %q", r.CID(), lines)
}

// A topic on a backend that cannot be reached refuses publishes with 503;
// a subscription mixing it with a topic of the store is refused on get.
func TestTopicOnUnreachableBackend(t *testing.T) {
	e := start(t, "")
	e.Put("outgoing_nats", "js", map[string]any{"address": "nats://127.0.0.1:1"})
	e.Put(pubsub.KindTopic, "orders.js", map[string]any{"backend": "nats", "backend_connection": "js"})
	e.Put(pubsub.KindSubscription, "shop", map[string]any{"security": "sub", "topics": []string{"orders.js"}})
	r := e.Call("POST", "/pubsub/topic/orders.js", `{"data": 1}`, basic("pub", "pub-secret-1"))
	if r.StatusCode != 503 || !strings.Contains(string(r.Body), "backend is unavailable") {
		t.Fatalf("publishing to a topic whose backend is down: %d %s", r.StatusCode, r.Body)
	}
	e.Put(pubsub.KindSubscription, "shop", map[string]any{"security": "sub", "topics": []string{"orders.js", "orders.new"}})
	r = e.Call("POST", "/pubsub/messages/get", `{}`, basic("sub", "sub-secret-1"))
	if r.StatusCode != 400 || !strings.Contains(string(r.Body), "has only that topic") {
		t.Fatalf("get of a subscription mixing backends: %d %s", r.StatusCode, r.Body)
	}
}
