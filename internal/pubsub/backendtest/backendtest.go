// Package backendtest helps test pub/sub backends against their real
// servers: a server with a topic, a recording push service, publishing
// and pulling through the REST endpoints.
package backendtest

import (
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/plexushq/plexus/internal/pubsub"
	"github.com/plexushq/plexus/plexustest"
	"github.com/plexushq/plexus/sdk/service"
)

// Recorder is a Go service, t.recv, that keeps the messages it is
// pushed, and fails while Failing is set.
type Recorder struct {
	mu      sync.Mutex
	got     []map[string]any
	Failing atomic.Bool
	Calls   atomic.Int64
}

func (*Recorder) Name() string { return "t.recv" }

func (r *Recorder) Handle(c *service.Context) error {
	r.Calls.Add(1)
	if r.Failing.Load() {
		return service.ServiceUnavailable("the subscriber is down")
	}
	m, _ := c.Request.Payload.(map[string]any)
	r.mu.Lock()
	r.got = append(r.got, m)
	r.mu.Unlock()
	return nil
}

// Datas returns the data of the messages received, in order.
func (r *Recorder) Datas() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []string
	for _, m := range r.got {
		out = append(out, fmt.Sprint(m["data"]))
	}
	return out
}

// Got returns the i-th message received.
func (r *Recorder) Got(i int) map[string]any {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.got[i]
}

// Topic returns a topic name of prefix and a random suffix.
func Topic(prefix string) string {
	var b [4]byte
	rand.Read(b[:])
	return prefix + hex.EncodeToString(b[:])
}

// Env is a server with a recorder, the basic_auth definitions pub and sub
// (passwords pub-secret-1 and sub-secret-1) and pub's permission to
// publish to orders.*.
type Env struct {
	*plexustest.Server
	Rec   *Recorder
	Topic string
}

// Start starts a server for topic; the caller adds the connection and
// the topic.
func Start(t *testing.T, topic string) *Env {
	t.Helper()
	e := &Env{Rec: &Recorder{}, Topic: topic}
	e.Server = plexustest.Start(t, plexustest.Options{Services: []any{e.Rec}})
	e.Put("security", "pub", map[string]any{"type": "basic_auth", "username": "pub", "password": "pub-secret-1"})
	e.Put("security", "sub", map[string]any{"type": "basic_auth", "username": "sub", "password": "sub-secret-1"})
	e.Put(pubsub.KindPermission, "pub", map[string]any{"security": "pub", "pub": []string{"orders.*"}})
	return e
}

// Basic returns an Authorization header.
func Basic(user, password string) http.Header {
	return http.Header{"Authorization": {"Basic " + base64.StdEncoding.EncodeToString([]byte(user+":"+password))}}
}

// Publish publishes data to the topic as pub and returns the message id.
func (e *Env) Publish(t *testing.T, data any) string {
	t.Helper()
	body, _ := json.Marshal(map[string]any{"data": data})
	r := e.Call("POST", "/pubsub/topic/"+e.Topic, string(body), Basic("pub", "pub-secret-1"))
	if r.StatusCode != 200 {
		t.Fatalf("publishing: %d %s", r.StatusCode, r.Body)
	}
	return r.JSON(t)["msg_id"].(string)
}

// Get pulls sub's messages.
func (e *Env) Get(t *testing.T) []map[string]any {
	t.Helper()
	r := e.Call("POST", "/pubsub/messages/get", `{}`, Basic("sub", "sub-secret-1"))
	if r.StatusCode != 200 {
		t.Fatalf("get: %d %s", r.StatusCode, r.Body)
	}
	var out struct {
		Messages []map[string]any `json:"messages"`
	}
	json.Unmarshal(r.Body, &out)
	return out.Messages
}

// WaitFor polls cond until it holds, or fails the test after a minute.
func WaitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(time.Minute); !cond(); time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
	}
}

// Seq returns "0" to n-1.
func Seq(n int) []string {
	var out []string
	for i := range n {
		out = append(out, strconv.Itoa(i))
	}
	return out
}

// Count reads a number of a message dict.
func Count(v any) int {
	n, _ := strconv.Atoi(fmt.Sprint(v))
	return n
}

// Pull checks subscription shop, pulling as sub: Zato's acknowledgement
// on retrieval, then explicit acknowledgement with a visibility timeout
// of 1 s; it ends with every message acknowledged.
func (e *Env) Pull(t *testing.T) {
	t.Helper()
	e.Put(pubsub.KindSubscription, "shop", map[string]any{"security": "sub", "topics": []string{e.Topic}})
	if got := e.Get(t); len(got) != 0 {
		t.Fatalf("an empty queue answered %v", got)
	}
	for i := range 3 {
		e.Publish(t, i)
	}
	got := e.Get(t)
	if len(got) != 3 || fmt.Sprint(got[0]["data"], got[2]["data"]) != "0 2" || got[0]["delivery_count"] != float64(1) {
		t.Fatalf("pulled %v", got)
	}
	if got := e.Get(t); len(got) != 0 {
		t.Fatalf("pulled again %v: auto acknowledgement", got)
	}
	e.Put(pubsub.KindSubscription, "shop", map[string]any{"security": "sub", "topics": []string{e.Topic}, "ack": "explicit", "visibility_timeout": "1s"})
	id := e.Publish(t, "x")
	got = e.Get(t)
	if len(got) != 1 || got[0]["msg_id"] != id {
		t.Fatalf("pulled %v", got)
	}
	if again := e.Get(t); len(again) != 0 {
		t.Fatalf("a message in flight was pulled again: %v", again)
	}
	WaitFor(t, "the visibility timeout to return the message", func() bool {
		got = e.Get(t)
		return len(got) == 1
	})
	if got[0]["delivery_count"] != float64(2) {
		t.Errorf("delivery_count after the timeout: %v", got[0]["delivery_count"])
	}
	r := e.Call("POST", "/pubsub/messages/ack", fmt.Sprintf(`{"msg_ids": [%q, "zpsm-unknown"]}`, id), Basic("sub", "sub-secret-1"))
	if r.StatusCode != 200 || r.JSON(t)["acked"] != float64(1) {
		t.Fatalf("ack: %d %s", r.StatusCode, r.Body)
	}
}

// RestartWithPending publishes 20 messages to a push subscription whose
// service fails, restarts the server once an attempt has failed, and
// checks that all 20 arrive afterwards, in order: nothing is lost. It
// returns the recorder's first delivery.
func (e *Env) RestartWithPending(t *testing.T) map[string]any {
	t.Helper()
	e.Rec.Failing.Store(true)
	e.Put(pubsub.KindSubscription, "billing", map[string]any{"topics": []string{e.Topic}, "delivery_type": "push",
		"push_service": "t.recv", "retry_initial": "10ms", "retry_max": "20ms"})
	for i := range 20 {
		e.Publish(t, i)
	}
	WaitFor(t, "a failed attempt", func() bool { return e.Rec.Calls.Load() >= 1 })
	e.Server = e.Restart()
	e.Rec.Failing.Store(false)
	WaitFor(t, "20 deliveries", func() bool { return len(e.Rec.Datas()) == 20 })
	if d := e.Rec.Datas(); !slices.Equal(d, Seq(20)) {
		t.Fatalf("delivered %v after the restart, want all 20 in order", d)
	}
	return e.Rec.Got(0)
}

// AdminOnBackend checks the admin API on subscription sub of the topic,
// kept in backend: its numbers name the backend, and browsing its queue
// or its dead letters, redelivering and clearing are refused with 409 in
// the error envelope, naming where the dead letters are (every one of
// where).
func (e *Env) AdminOnBackend(t *testing.T, sub, backend string, where ...string) {
	t.Helper()
	r := e.AdminCall("GET", "/admin/api/v1/pubsub/subscriptions/"+sub, "")
	if r.StatusCode != 200 || r.JSON(t)["backend"] != backend {
		t.Errorf("the subscription's numbers: %d %s", r.StatusCode, r.Body)
	}
	r = e.AdminCall("GET", "/admin/api/v1/pubsub/topics", "")
	var topics []map[string]any
	json.Unmarshal(r.Body, &topics)
	if i := slices.IndexFunc(topics, func(m map[string]any) bool { return m["name"] == e.Topic }); i < 0 || topics[i]["backend"] != backend {
		t.Errorf("the topics: %s", r.Body)
	}
	for _, c := range []struct{ method, path, what string }{
		{"GET", "/admin/api/v1/pubsub/subscriptions/" + sub + "/messages", "browsing the queue"},
		{"GET", "/admin/api/v1/pubsub/subscriptions/" + sub + "/messages?state=dead", "listing the dead letters"},
		{"POST", "/admin/api/v1/objects/pubsub_subscription/" + sub + "/redeliver", "redelivering"},
		{"POST", "/admin/api/v1/objects/pubsub_subscription/" + sub + "/clear", "clearing the queue"},
	} {
		r := e.AdminCall(c.method, c.path, "")
		m := r.JSON(t)
		details := fmt.Sprint(m["details"])
		if r.StatusCode != 409 || m["result"] != "Error" || m["cid"] == nil || !strings.Contains(details, c.what) || !strings.Contains(details, "backend "+backend) {
			t.Errorf("%s %s: %d %s", c.method, c.path, r.StatusCode, r.Body)
			continue
		}
		for _, w := range where {
			if !strings.Contains(details, w) {
				t.Errorf("%s %s does not say %q: %s", c.method, c.path, w, details)
			}
		}
	}
}
