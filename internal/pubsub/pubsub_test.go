package pubsub_test

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/plexushq/plexus/internal/pubsub"
	"github.com/plexushq/plexus/sdk/service"
)

// A push subscription to a service gets every message, as Zato's message
// dict, in order of priority then publication.
func TestPushToService(t *testing.T) {
	stores(t, func(t *testing.T, db string) {
		e := start(t, db)
		e.Put(pubsub.KindSubscription, "billing", map[string]any{"security": "sub", "topics": []string{"orders.new"},
			"delivery_type": "push", "push_service": "t.recv"})
		e.WaitState(pubsub.KindSubscription, "billing", "running")
		ctx := context.Background()
		if err := e.eng.Pause(ctx, "billing"); err != nil {
			t.Fatal(err)
		}
		ids := map[string]string{}
		for i, p := range []int{5, 9, 5, 9, 1} {
			name := fmt.Sprintf("m%d", i+1)
			ids[name] = e.publish(t, "orders.new", map[string]any{"data": map[string]any{"n": name}, "priority": p})
			if !strings.HasPrefix(ids[name], "zpsm") {
				t.Fatalf("msg id %q", ids[name])
			}
		}
		if s := e.stats(t, "billing"); s.Backlog != 5 || !s.Paused {
			t.Fatalf("paused stats: %+v", s)
		}
		page, err := e.eng.Browse(ctx, "billing", pubsub.PageRequest{})
		if err != nil || page.Total != 5 || page.Messages[0].ID != ids["m2"] {
			t.Fatalf("browse: %+v %v", page, err)
		}
		if err := e.eng.Resume(ctx, "billing"); err != nil {
			t.Fatal(err)
		}
		waitFor(t, "5 deliveries", func() bool { return len(e.rec.messages()) == 5 })
		got := e.rec.messages()
		var order []string
		for _, m := range got {
			order = append(order, m["data"].(map[string]any)["n"].(string))
		}
		if want := []string{"m2", "m4", "m1", "m3", "m5"}; !slices.Equal(order, want) {
			t.Errorf("order %v, want %v", order, want)
		}
		m := got[0]
		if m["msg_id"] != ids["m2"] || m["topic_name"] != "orders.new" || m["sub_name"] != "billing" || m["_channel"] != "pubsub" ||
			m["publisher"] != "pub" || fmt.Sprint(m["delivery_count"]) != "1" {
			t.Errorf("message dict: %v, want msg_id %s", m, ids["m2"])
		}
		waitFor(t, "an empty queue", func() bool { s := e.stats(t, "billing"); return s.Backlog == 0 && s.InFlight == 0 })
		if body := e.AdminCall("GET", "/metrics", "").Body; !strings.Contains(string(body), `plexus_pubsub_messages_total{outcome="delivered",subscription="billing",topic="orders.new"} 5`) {
			t.Errorf("metrics lack the deliveries:\n%s", grep(string(body), "plexus_pubsub"))
		}
	})
}

func grep(s, part string) string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if strings.Contains(l, part) {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}

// Pull with Zato's default: retrieving acknowledges.
func TestPullAutoAck(t *testing.T) {
	stores(t, func(t *testing.T, db string) {
		e := start(t, db)
		e.Put(pubsub.KindSubscription, "shop", map[string]any{"security": "sub", "topics": []string{"orders.new"}})
		if got := e.get(t, ""); len(got) != 0 {
			t.Fatalf("an empty queue gave %v", got)
		}
		for i, p := range []int{1, 7, 7} {
			e.publish(t, "orders.new", map[string]any{"data": fmt.Sprintf("m%d", i+1), "priority": p, "correl_id": "c1"})
		}
		got := e.get(t, `{"max_messages": 2}`)
		if d := datas(got, "data"); !slices.Equal(d, []string{"m2", "m3"}) {
			t.Fatalf("first get: %v", d)
		}
		if got[0]["correl_id"] != "c1" || got[0]["topic_name"] != "orders.new" || got[0]["priority"] != float64(7) {
			t.Errorf("message: %v", got[0])
		}
		if d := datas(e.get(t, "{}"), "data"); !slices.Equal(d, []string{"m1"}) {
			t.Fatalf("second get: %v", d)
		}
		if got := e.get(t, "{}"); len(got) != 0 {
			t.Fatalf("retrieved messages came back: %v", got)
		}
	})
}

// Pull with ack explicit: messages stay in flight until acknowledged, or
// come back after the visibility timeout.
func TestPullExplicitAck(t *testing.T) {
	stores(t, func(t *testing.T, db string) {
		e := start(t, db)
		e.Put(pubsub.KindSubscription, "shop", map[string]any{"security": "sub", "topics": []string{"orders.new"}, "ack": "explicit", "visibility_timeout": "1m"})
		for i := range 3 {
			e.publish(t, "orders.new", map[string]any{"data": i})
		}
		got := e.get(t, "{}")
		if len(got) != 3 {
			t.Fatalf("got %v", got)
		}
		if again := e.get(t, "{}"); len(again) != 0 {
			t.Fatalf("messages in flight were given again: %v", again)
		}
		if s := e.stats(t, "shop"); s.InFlight != 3 {
			t.Fatalf("stats %+v", s)
		}
		r := e.Call("POST", "/pubsub/messages/ack", fmt.Sprintf(`{"msg_ids": [%q, %q]}`, got[0]["msg_id"], got[1]["msg_id"]), basic("sub", "sub-secret-1"))
		if r.StatusCode != 200 || r.JSON(t)["acked"] != float64(2) {
			t.Fatalf("ack: %d %s", r.StatusCode, r.Body)
		}
		e.move(2 * time.Minute) // the third one's visibility timeout passes
		back := e.get(t, "{}")
		if len(back) != 1 || back[0]["msg_id"] != got[2]["msg_id"] || back[0]["delivery_count"] != float64(2) {
			t.Fatalf("after the visibility timeout: %v", back)
		}
	})
}

// Zato's rule: a subscription created after a publish never gets it; a
// publish with no subscriber keeps no payload.
func TestLateSubscription(t *testing.T) {
	e := start(t, "")
	id := e.publish(t, "orders.new", map[string]any{"data": "early"})
	if _, err := e.eng.Message(context.Background(), id); status(err) != 404 {
		t.Fatalf("a message without subscribers is held: %v", err)
	}
	e.Put(pubsub.KindSubscription, "shop", map[string]any{"security": "sub", "topics": []string{"orders.new"}})
	e.publish(t, "orders.new", map[string]any{"data": "late"})
	if d := datas(e.get(t, "{}"), "data"); !slices.Equal(d, []string{"late"}) {
		t.Fatalf("got %v", d)
	}
}

// Expired messages are swept; the moved clock expires them.
func TestExpirySweep(t *testing.T) {
	stores(t, func(t *testing.T, db string) {
		e := start(t, db)
		e.Put(pubsub.KindSubscription, "shop", map[string]any{"security": "sub", "topics": []string{"orders.new"}})
		e.publish(t, "orders.new", map[string]any{"data": "short", "expiration": 10})
		e.publish(t, "orders.new", map[string]any{"data": "long", "expiration": 3600})
		e.move(time.Minute)
		n, err := e.eng.Sweep(context.Background())
		if err != nil || n != 1 {
			t.Fatalf("sweep: %d %v", n, err)
		}
		if d := datas(e.get(t, "{}"), "data"); !slices.Equal(d, []string{"long"}) {
			t.Fatalf("got %v", d)
		}
		if body := e.AdminCall("GET", "/metrics", "").Body; !strings.Contains(string(body), `plexus_pubsub_messages_total{outcome="expired",subscription="shop",topic="orders.new"} 1`) {
			t.Errorf("metrics:\n%s", grep(string(body), "plexus_pubsub"))
		}
	})
}

// A failing subscriber is retried, then its message becomes a dead
// letter once max_retry_time has passed; redelivered, it arrives.
func TestRetriesDeadLetterRedeliver(t *testing.T) {
	stores(t, func(t *testing.T, db string) {
		e := start(t, db)
		e.rec.failing.Store(true)
		e.Put(pubsub.KindSubscription, "billing", map[string]any{"security": "sub", "topics": []string{"orders.new"}, "delivery_type": "push",
			"push_service": "t.recv", "retry_initial": "1ms", "retry_max": "5ms", "max_retry_time": "1h"})
		id := e.publish(t, "orders.new", map[string]any{"data": "x"})
		ctx := context.Background()
		waitFor(t, "retries", func() bool {
			d, err := e.eng.Message(ctx, id)
			return err == nil && d.Deliveries[0].DeliveryCount >= 3 && d.Deliveries[0].LastError != ""
		})
		if dl, _ := e.eng.DeadLetters(ctx, "billing", pubsub.PageRequest{}); dl.Total != 0 {
			t.Fatal("dead before max_retry_time")
		}
		e.move(2 * time.Hour)
		waitFor(t, "a dead letter", func() bool { return e.stats(t, "billing").DeadLetters == 1 })
		dl, err := e.eng.DeadLetters(ctx, "billing", pubsub.PageRequest{})
		if err != nil || dl.Total != 1 || dl.Messages[0].ID != id || dl.Messages[0].State != pubsub.StateDead || !strings.Contains(dl.Messages[0].LastError, "down") {
			t.Fatalf("dead letters: %+v %v", dl, err)
		}
		if len(e.rec.messages()) != 0 {
			t.Fatal("delivered while failing")
		}
		e.rec.failing.Store(false)
		if n, err := e.eng.Redeliver(ctx, "billing", nil); err != nil || n != 1 {
			t.Fatalf("redeliver: %d %v", n, err)
		}
		waitFor(t, "the redelivery", func() bool { return len(e.rec.messages()) == 1 })
		if m := e.rec.messages()[0]; m["msg_id"] != id || atoi(m["delivery_count"]) < 4 {
			t.Errorf("redelivered: %v", m)
		}
	})
}

// atoi reads a number a service got in its payload.
func atoi(v any) int {
	n, _ := strconv.Atoi(fmt.Sprint(v))
	return n
}

// holder is a Go service that holds every invocation until released.
type holder struct{ release chan struct{} }

func (*holder) Name() string { return "t.hold" }

func (h *holder) Handle(*service.Context) error {
	<-h.release
	return nil
}

// A push subscription's in-flight messages are the batch its worker has
// claimed; the rest of its queue is its backlog.
func TestPushInFlight(t *testing.T) {
	stores(t, func(t *testing.T, db string) {
		h := &holder{release: make(chan struct{})}
		e := start(t, db, h)
		e.Put(pubsub.KindSubscription, "slow", map[string]any{"topics": []string{"orders.new"},
			"delivery_type": "push", "push_service": "t.hold", "batch_size": 2})
		e.WaitState(pubsub.KindSubscription, "slow", "running")
		ctx := context.Background()
		if err := e.eng.Pause(ctx, "slow"); err != nil {
			t.Fatal(err)
		}
		for i := range 5 {
			e.publish(t, "orders.new", map[string]any{"data": i})
		}
		if s := e.stats(t, "slow"); s.Backlog != 5 || s.InFlight != 0 {
			t.Fatalf("paused: %+v", s)
		}
		if err := e.eng.Resume(ctx, "slow"); err != nil {
			t.Fatal(err)
		}
		waitFor(t, "a batch of 2 in flight", func() bool { s := e.stats(t, "slow"); return s.InFlight == 2 && s.Backlog == 3 })
		close(h.release)
		waitFor(t, "an empty queue", func() bool { s := e.stats(t, "slow"); return s.Backlog == 0 && s.InFlight == 0 })
	})
}
