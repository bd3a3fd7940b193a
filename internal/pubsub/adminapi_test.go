package pubsub_test

import (
	"encoding/json"
	"net/http"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/plexushq/plexus/internal/servertest"
	"github.com/plexushq/plexus/sdk/service"
)

// sink is a Go service that records the messages pushed to it, and fails
// while failing is set.
type sink struct {
	failing atomic.Bool
	mu      sync.Mutex
	got     []string
}

func (k *sink) Name() string { return "t.sink" }

func (k *sink) Handle(s *service.Context) error {
	if k.failing.Load() {
		return service.ServiceUnavailable("the sink is down")
	}
	k.mu.Lock()
	k.got = append(k.got, string(s.Request.RawRequest))
	k.mu.Unlock()
	return nil
}

func (k *sink) count() int { return len(k.all()) }

func (k *sink) all() []string {
	k.mu.Lock()
	defer k.mu.Unlock()
	return append([]string(nil), k.got...)
}

// admin is a test server's admin API, with JSON helpers.
type adminAPI struct {
	t *testing.T
	s *servertest.Server
}

// call sends a request and checks its status; it returns the body.
func (a adminAPI) call(method, path, body string, status int) []byte {
	a.t.Helper()
	r := a.s.AdminCall(method, "/admin/api/v1"+path, body)
	if r.StatusCode != status {
		a.t.Fatalf("%s %s %s: %d, want %d: %s", method, path, body, r.StatusCode, status, r.Body)
	}
	return r.Body
}

// decode calls and decodes the answer into v.
func (a adminAPI) decode(method, path, body string, v any) {
	a.t.Helper()
	if err := json.Unmarshal(a.call(method, path, body, http.StatusOK), v); err != nil {
		a.t.Fatal(err)
	}
}

// fails checks that a call answers status with the error envelope whose
// details contain want.
func (a adminAPI) fails(method, path, body string, status int, want string) {
	a.t.Helper()
	var env struct {
		Result, CID, Details string
	}
	if err := json.Unmarshal(a.call(method, path, body, status), &env); err != nil || env.CID == "" || !strings.Contains(env.Details, want) {
		a.t.Fatalf("%s %s %s: want the error envelope with %q, got %+v (%v)", method, path, body, want, env, err)
	}
}

// subStats are a subscription's numbers as the admin API shows them.
type subStats struct {
	Name        string
	Backlog     int64
	InFlight    int64 `json:"in_flight"`
	DeadLetters int64 `json:"dead_letters"`
	OldestAge   float64
	Paused      bool
}

func (a adminAPI) sub(name string) subStats {
	a.t.Helper()
	var s subStats
	a.decode("GET", "/pubsub/subscriptions/"+name, "", &s)
	return s
}

// waitSub polls a subscription's numbers until ok accepts them.
func (a adminAPI) waitSub(name string, ok func(subStats) bool) subStats {
	a.t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for {
		s := a.sub(name)
		if ok(s) {
			return s
		}
		if time.Now().After(deadline) {
			a.t.Fatalf("subscription %s never reached the state wanted: %+v", name, s)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

type page struct {
	Messages []struct {
		ID            string `json:"msg_id"`
		State         string
		Priority      int
		DeliveryCount int    `json:"delivery_count"`
		LastError     string `json:"last_error"`
	}
	Total int
}

func (a adminAPI) publish(topic, body string) string {
	a.t.Helper()
	var res struct {
		MsgID string `json:"msg_id"`
	}
	a.decode("POST", "/objects/pubsub_topic/"+topic+"/publish", body, &res)
	if !strings.HasPrefix(res.MsgID, "zpsm") {
		a.t.Fatalf("publish answered msg_id %q", res.MsgID)
	}
	return res.MsgID
}

// startAdmin starts a server with a topic, a pull subscription with
// explicit acknowledgement and a push subscription to the sink, which
// gives up quickly.
func startAdmin(t *testing.T, db string) (adminAPI, *sink) {
	k := &sink{}
	s := servertest.Start(t, servertest.Options{Services: []any{k}, DB: db})
	s.Put("security", "puller", map[string]any{"type": "basic_auth", "username": "puller", "password": "puller-pass-1"})
	s.Put("pubsub_topic", "orders.new", map[string]any{"is_active": true, "max_depth": 1000})
	s.Put("pubsub_subscription", "pull.sub", map[string]any{"security": "puller", "topics": []string{"orders.new"},
		"delivery_type": "pull", "ack": "explicit", "is_delivery_active": true, "is_pub_active": true})
	s.Put("pubsub_subscription", "push.sub", map[string]any{"topics": []string{"orders.new"}, "delivery_type": "push",
		"push_type": "service", "push_service": "t.sink", "is_delivery_active": true, "is_pub_active": true,
		"max_retry_time": "300ms", "retry_initial": "20ms", "retry_max": "50ms"})
	return adminAPI{t: t, s: s}, k
}

// TestAdminAPI goes through every pub/sub call of the admin API: the
// views of topics, subscriptions, queues and messages, and the actions
// that publish, pull, acknowledge, clear, redeliver, pause and resume,
// with the error envelope of bad input.
func TestAdminAPI(t *testing.T) {
	t.Run("sqlite", func(t *testing.T) { testAdminAPI(t, "") })
	t.Run("postgres", func(t *testing.T) {
		db := os.Getenv("PLEXUS_TEST_POSTGRES")
		if db == "" {
			t.Skip("PLEXUS_TEST_POSTGRES is not set")
		}
		testAdminAPI(t, db)
	})
}

func testAdminAPI(t *testing.T, db string) {
	a, k := startAdmin(t, db)

	var topics []struct {
		Name     string
		Depth    int64
		MaxDepth int64 `json:"max_depth"`
		IsActive bool  `json:"is_active"`
	}
	a.decode("GET", "/pubsub/topics", "", &topics)
	if len(topics) != 1 || topics[0].Name != "orders.new" || topics[0].Depth != 0 || topics[0].MaxDepth != 1000 || !topics[0].IsActive {
		t.Fatalf("topics: %+v", topics)
	}
	var subs []subStats
	a.decode("GET", "/pubsub/subscriptions", "", &subs)
	if len(subs) != 2 {
		t.Fatalf("subscriptions: %+v", subs)
	}

	// Pause the push subscription, so the message waits in both queues.
	if s := a.sub("push.sub"); s.Paused {
		t.Fatalf("a new subscription is paused: %+v", s)
	}
	var paused subStats
	a.decode("POST", "/objects/pubsub_subscription/push.sub/pause", "", &paused)
	if !paused.Paused || paused.Name != "push.sub" {
		t.Fatalf("pause answered %+v", paused)
	}
	id := a.publish("orders.new", `{"data": {"order_id": 1}, "priority": 7, "correl_id": "c-1"}`)
	a.decode("GET", "/pubsub/topics", "", &topics)
	if topics[0].Depth != 1 {
		t.Fatalf("depth after a publish: %+v", topics)
	}
	if s := a.sub("push.sub"); s.Backlog != 1 || !s.Paused {
		t.Fatalf("paused push subscription after a publish: %+v", s)
	}
	var p page
	a.decode("GET", "/pubsub/subscriptions/pull.sub/messages", "", &p)
	if p.Total != 1 || len(p.Messages) != 1 || p.Messages[0].ID != id || p.Messages[0].State != "queued" || p.Messages[0].Priority != 7 {
		t.Fatalf("browse: %+v", p)
	}
	var detail struct {
		ID         string `json:"msg_id"`
		Data       map[string]any
		CorrelID   string `json:"correl_id"`
		Publisher  string
		Deliveries []struct {
			Sub string `json:"sub_name"`
		}
	}
	a.decode("GET", "/pubsub/messages/"+id, "", &detail)
	if detail.ID != id || detail.Data["order_id"] != 1.0 || detail.CorrelID != "c-1" || detail.Publisher != "admin" || len(detail.Deliveries) != 2 {
		t.Fatalf("message detail: %+v", detail)
	}

	// Resume: the push subscription delivers what waited.
	a.decode("POST", "/objects/pubsub_subscription/push.sub/resume", "", &paused)
	if paused.Paused {
		t.Fatalf("resume answered %+v", paused)
	}
	a.waitSub("push.sub", func(s subStats) bool { return s.Backlog == 0 && s.InFlight == 0 })
	if got := k.all(); len(got) != 1 || !strings.Contains(got[0], `"order_id"`) {
		t.Fatalf("the sink got %q", got)
	}

	// Pull with explicit acknowledgement: in flight until acked.
	var got struct {
		Messages []struct {
			ID   string `json:"msg_id"`
			Data map[string]any
		}
		MessageCount int `json:"message_count"`
	}
	a.decode("POST", "/objects/pubsub_subscription/pull.sub/get", `{"max_messages": 10}`, &got)
	if got.MessageCount != 1 || got.Messages[0].ID != id || got.Messages[0].Data["order_id"] != 1.0 {
		t.Fatalf("get: %+v", got)
	}
	if s := a.sub("pull.sub"); s.InFlight != 1 || s.Backlog != 0 {
		t.Fatalf("after get: %+v", s)
	}
	var acked struct{ Acked int }
	a.decode("POST", "/objects/pubsub_subscription/pull.sub/ack", `{"msg_ids": ["`+id+`", "zpsmnosuchmessage"]}`, &acked)
	if acked.Acked != 1 {
		t.Fatalf("ack: %+v", acked)
	}
	a.decode("GET", "/pubsub/subscriptions/pull.sub/messages", "", &p)
	if p.Total != 0 || len(p.Messages) != 0 {
		t.Fatalf("browse after ack: %+v", p)
	}

	// A failing subscriber: the message becomes a dead letter, visible,
	// and is delivered once redelivered.
	k.failing.Store(true)
	dead := a.publish("orders.new", `{"data": "to the dead letters"}`)
	a.waitSub("push.sub", func(s subStats) bool { return s.DeadLetters == 1 })
	a.decode("GET", "/pubsub/subscriptions/push.sub/messages?state=dead", "", &p)
	if p.Total != 1 || p.Messages[0].ID != dead || p.Messages[0].State != "dead" || p.Messages[0].DeliveryCount < 1 || !strings.Contains(p.Messages[0].LastError, "the sink is down") {
		t.Fatalf("dead letters: %+v", p)
	}
	k.failing.Store(false)
	var re struct{ Redelivered int }
	a.decode("POST", "/objects/pubsub_subscription/push.sub/redeliver", "", &re)
	if re.Redelivered != 1 {
		t.Fatalf("redeliver: %+v", re)
	}
	a.waitSub("push.sub", func(s subStats) bool { return s.DeadLetters == 0 && s.Backlog == 0 && s.InFlight == 0 })
	if k.count() != 2 {
		t.Fatalf("the sink got %d messages after the redelivery, want 2", k.count())
	}

	// Clear: the pull subscription's queue holds the dead message and two
	// more; paging sees them in order of priority.
	a.publish("orders.new", `{"data": 1, "priority": 1}`)
	top := a.publish("orders.new", `{"data": 2, "priority": 9}`)
	a.decode("GET", "/pubsub/subscriptions/pull.sub/messages?limit=1", "", &p)
	if p.Total != 3 || len(p.Messages) != 1 || p.Messages[0].ID != top {
		t.Fatalf("first page of one: %+v", p)
	}
	a.decode("GET", "/pubsub/subscriptions/pull.sub/messages?offset=1&limit=5", "", &p)
	if p.Total != 3 || len(p.Messages) != 2 {
		t.Fatalf("second page: %+v", p)
	}
	var cleared struct{ Cleared int }
	a.decode("POST", "/objects/pubsub_subscription/pull.sub/clear", "", &cleared)
	if cleared.Cleared != 3 {
		t.Fatalf("clear: %+v", cleared)
	}
	if s := a.sub("pull.sub"); s.Backlog != 0 || s.InFlight != 0 || s.DeadLetters != 0 {
		t.Fatalf("after clear: %+v", s)
	}

	// Bad input answers the error envelope and says what to send.
	for _, c := range []struct {
		method, path, body string
		status             int
		want               string
	}{
		{"POST", "/objects/pubsub_topic/orders.new/publish", `{}`, 400, "'data' element missing"},
		{"POST", "/objects/pubsub_topic/orders.new/publish", `{"data": null}`, 400, "'data' element missing"},
		{"POST", "/objects/pubsub_topic/orders.new/publish", `{"data": 1, "priority": "high"}`, 400, "field priority must be a JSON number"},
		{"POST", "/objects/pubsub_topic/orders.new/publish", `{"data": 1, "topic": "x"}`, 400, `unknown field "topic"`},
		{"POST", "/objects/pubsub_topic/orders.new/publish", `{"data": `, 400, "send, for instance"},
		{"POST", "/objects/pubsub_topic/no.such.topic/publish", `{"data": 1}`, 404, `named "no.such.topic"`},
		{"POST", "/objects/pubsub_topic/orders.new/frobnicate", ``, 404, "its actions are publish"},
		{"POST", "/objects/pubsub_subscription/pull.sub/get", `{"max_messages": 1001}`, 400, "max_messages must be from 1 to 1000"},
		{"POST", "/objects/pubsub_subscription/pull.sub/ack", ``, 400, "at least one message id"},
		{"POST", "/objects/pubsub_subscription/pull.sub/ack", `{"msg_ids": [""]}`, 400, "A message id is empty"},
		{"POST", "/objects/pubsub_subscription/pull.sub/ack", `{"msg_ids": [` + strings.Repeat(`"zpsm1",`, 1000) + `"zpsm1"]}`, 400, "At most 1000 message ids"},
		{"POST", "/objects/pubsub_subscription/pull.sub/redeliver", `{"msg_ids": "zpsm1"}`, 400, "field msg_ids must be a JSON array"},
		{"POST", "/objects/pubsub_subscription/nope/clear", ``, 404, `named "nope"`},
		{"GET", "/pubsub/subscriptions/nope", ``, 404, `No pub/sub subscription named "nope"`},
		{"GET", "/pubsub/subscriptions/nope/messages", ``, 404, `No pub/sub subscription named "nope"`},
		{"GET", "/pubsub/subscriptions/pull.sub/messages?limit=abc", ``, 400, "limit must be a whole number from 0 to 1000"},
		{"GET", "/pubsub/subscriptions/pull.sub/messages?limit=1001", ``, 400, "limit must be a whole number from 0 to 1000"},
		{"GET", "/pubsub/subscriptions/pull.sub/messages?offset=-1", ``, 400, "offset must be a whole number"},
		{"GET", "/pubsub/subscriptions/pull.sub/messages?state=gone", ``, 400, "state must be queue (the default) or dead"},
		{"GET", "/pubsub/messages/zpsmnosuchmessage", ``, 404, ""},
	} {
		a.fails(c.method, c.path, c.body, c.status, c.want)
	}
}
