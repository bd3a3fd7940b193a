package pubsub_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/plexushq/plexus/internal/pubsub"
	"github.com/plexushq/plexus/internal/testenv"
	"github.com/plexushq/plexus/internal/testhook"
	"github.com/plexushq/plexus/plexustest"
	"github.com/plexushq/plexus/sdk/service"
)

// recorder is a Go service that keeps the payloads it is invoked with,
// and fails while failing is set.
type recorder struct {
	mu      sync.Mutex
	got     []map[string]any
	failing atomic.Bool
}

func (*recorder) Name() string { return "t.recv" }

func (r *recorder) Handle(c *service.Context) error {
	if r.failing.Load() {
		return service.ServiceUnavailable("the subscriber is down")
	}
	m, _ := c.Request.Payload.(map[string]any)
	if m == nil {
		m = map[string]any{"payload": c.Request.Payload}
	}
	m["_channel"] = c.Channel.Type
	r.mu.Lock()
	r.got = append(r.got, m)
	r.mu.Unlock()
	return nil
}

func (r *recorder) messages() []map[string]any {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]map[string]any(nil), r.got...)
}

// waitFor polls cond until it holds, or fails the test after a generous
// time.
func waitFor(t testing.TB, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(30 * time.Second); !cond(); time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
	}
}

// stores runs a test on SQLite and, when PLEXUS_TEST_POSTGRES is set, on
// PostgreSQL.
func stores(t *testing.T, test func(t *testing.T, db string)) {
	t.Run("sqlite", func(t *testing.T) { test(t, "") })
	t.Run("postgres", func(t *testing.T) {
		test(t, testenv.Value(t, "PLEXUS_TEST_POSTGRES", "a PostgreSQL URL"))
	})
}

// env is a test server with pub/sub clients: pub may publish to orders.*,
// sub may subscribe to orders.**.
type env struct {
	*plexustest.Server
	rec    *recorder
	eng    *pubsub.Engine
	offset atomic.Int64 // how far the engine's clock is ahead, ns
}

func start(t testing.TB, db string, services ...any) *env {
	t.Helper()
	rec := &recorder{}
	s := plexustest.Start(t, plexustest.Options{DB: db, Services: append([]any{rec}, services...)})
	e := &env{Server: s, rec: rec, eng: testhook.Server(s).PubSub}
	e.eng.SetNow(func() time.Time { return time.Now().Add(time.Duration(e.offset.Load())) })
	s.Put("security", "pub", map[string]any{"type": "basic_auth", "username": "pub", "password": "pub-secret-1"})
	s.Put("security", "sub", map[string]any{"type": "basic_auth", "username": "sub", "password": "sub-secret-1"})
	s.Put(pubsub.KindPermission, "pub", map[string]any{"security": "pub", "pub": []string{"orders.*"}})
	s.Put(pubsub.KindPermission, "sub", map[string]any{"security": "sub", "sub": []string{"orders.**"}})
	s.Put(pubsub.KindTopic, "orders.new", map[string]any{})
	return e
}

// move moves the engine's clock.
func (e *env) move(d time.Duration) { e.offset.Add(int64(d)) }

func basic(user, password string) http.Header {
	return http.Header{"Authorization": {"Basic " + base64.StdEncoding.EncodeToString([]byte(user+":"+password))}}
}

// publish publishes over REST as pub and returns the message id.
func (e *env) publish(t testing.TB, topic string, body any) string {
	t.Helper()
	data, _ := json.Marshal(body)
	r := e.Call("POST", "/pubsub/topic/"+topic, string(data), basic("pub", "pub-secret-1"))
	if r.StatusCode != 200 {
		t.Fatalf("publishing to %s: %d %s", topic, r.StatusCode, r.Body)
	}
	id, _ := r.JSON(t)["msg_id"].(string)
	return id
}

// get pulls as sub.
func (e *env) get(t testing.TB, body string) []map[string]any {
	t.Helper()
	r := e.Call("POST", "/pubsub/messages/get", body, basic("sub", "sub-secret-1"))
	if r.StatusCode != 200 {
		t.Fatalf("get: %d %s", r.StatusCode, r.Body)
	}
	var out struct {
		Messages []map[string]any `json:"messages"`
		Count    int              `json:"message_count"`
	}
	if err := json.Unmarshal(r.Body, &out); err != nil || out.Count != len(out.Messages) {
		t.Fatalf("get: %v %s", err, r.Body)
	}
	return out.Messages
}

func (e *env) stats(t testing.TB, sub string) pubsub.SubscriptionStats {
	t.Helper()
	st, err := e.eng.Stats(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range st.Subscriptions {
		if s.Name == sub {
			return s
		}
	}
	t.Fatalf("no stats of subscription %s in %+v", sub, st.Subscriptions)
	return pubsub.SubscriptionStats{}
}

func datas(msgs []map[string]any, key string) []string {
	var out []string
	for _, m := range msgs {
		out = append(out, fmt.Sprint(m[key]))
	}
	return out
}

func status(err error) int {
	var se *service.Error
	if errors.As(err, &se) {
		return se.Status
	}
	return 0
}
