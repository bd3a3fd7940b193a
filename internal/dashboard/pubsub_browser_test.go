package dashboard_test

import (
	"encoding/json"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/plexushq/plexus/internal/servertest"
	"github.com/plexushq/plexus/sdk/service"
)

// The pub/sub pages in a browser: topics with their depth, subscriptions
// with their numbers, a queue and its dead letters, one message, and the
// buttons that pause, resume, redeliver and clear.
func TestBrowserPubSub(t *testing.T) {
	ctx := chrome(t)
	var failing atomic.Bool
	failing.Store(true)
	s := servertest.Start(t, servertest.Options{Services: []any{
		service.Func("t.crm", "", func(c *service.Context) error {
			if failing.Load() {
				return service.ServiceUnavailable("CRM is down")
			}
			return nil
		}),
	}})
	s.Put("security", "billing", map[string]any{"type": "basic_auth", "username": "billing", "password": "billing-pass-1"})
	s.Put("pubsub_topic", "orders.new", map[string]any{"is_active": true, "max_depth": 500})
	s.Put("pubsub_subscription", "billing.orders", map[string]any{"security": "billing", "topics": []string{"orders.new"},
		"delivery_type": "pull", "is_delivery_active": true, "is_pub_active": true})
	s.Put("pubsub_subscription", "crm.orders", map[string]any{"topics": []string{"orders.new"}, "delivery_type": "push",
		"push_type": "service", "push_service": "t.crm", "is_delivery_active": true, "is_pub_active": true,
		"max_retry_time": "200ms", "retry_initial": "20ms", "retry_max": "50ms"})
	for _, d := range []string{`{"data": {"order_id": 1}}`, `{"data": {"order_id": 2}, "priority": 9}`} {
		if r := s.AdminCall("POST", "/admin/api/v1/objects/pubsub_topic/orders.new/publish", d); r.StatusCode != 200 {
			t.Fatalf("publish: %d %s", r.StatusCode, r.Body)
		}
	}
	deadLetters := func() int {
		var st struct {
			DeadLetters int `json:"dead_letters"`
		}
		json.Unmarshal(s.AdminCall("GET", "/admin/api/v1/pubsub/subscriptions/crm.orders", "").Body, &st)
		return st.DeadLetters
	}
	for deadline := time.Now().Add(60 * time.Second); deadLetters() != 2; time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("dead letters: %d, want 2", deadLetters())
		}
	}
	base := s.Admin
	run(t, ctx, "login",
		chromedp.Navigate(base+"/"),
		chromedp.WaitVisible(chromedp.CSS("#password")),
		chromedp.SendKeys(chromedp.CSS("#password"), servertest.Password),
		chromedp.Submit(chromedp.CSS("#password")),
		chromedp.WaitVisible(chromedp.CSS("#charts")),
	)
	run(t, ctx, "pub/sub", chromedp.Click(chromedp.CSS(`a[href="/pubsub"]`)), chromedp.WaitVisible(chromedp.CSS("#subscriptions")))
	if got := text(t, ctx, "#topics tbody"); !strings.Contains(got, "orders.new\t2\t500\tyes") {
		t.Fatalf("topics: %q", got)
	}
	if got := text(t, ctx, "#subscriptions tbody"); !strings.Contains(got, "billing.orders\tpull\torders.new\t2\t0\t") || !strings.Contains(got, "crm.orders\tpush\torders.new\t0\t0\t—\t2") {
		t.Fatalf("subscriptions: %q", got)
	}
	shot(t, ctx, "pubsub")

	run(t, ctx, "queue", chromedp.Click(chromedp.CSS(`a[href="/pubsub/subscriptions/billing.orders"]`)), chromedp.WaitVisible(chromedp.CSS("#queue")))
	if got := text(t, ctx, "#queue tbody tr"); !strings.Contains(got, "\t9\tqueued\t0\t") {
		t.Fatalf("first message of the queue (priority 9 first): %q", got)
	}
	run(t, ctx, "message", chromedp.Click(chromedp.CSS(`#queue tbody a`)), chromedp.WaitVisible(chromedp.CSS("#message")))
	if got := text(t, ctx, "#message"); !strings.Contains(got, `"order_id": 2`) {
		t.Fatalf("message: %q", got)
	}
	run(t, ctx, "pause",
		chromedp.Navigate(base+"/pubsub/subscriptions/billing.orders"),
		chromedp.WaitVisible(chromedp.CSS("#queue")),
		chromedp.Click(chromedp.CSS(`form[action$="/pause"] button`)),
		chromedp.WaitVisible(chromedp.CSS("#answer")),
	)
	if got := text(t, ctx, "#answer header"); !strings.HasPrefix(got, "pause: 200 · cid ") || !strings.Contains(text(t, ctx, "main"), "paused") {
		t.Fatalf("pause: %q", got)
	}
	run(t, ctx, "resume", chromedp.Click(chromedp.CSS(`form[action$="/resume"] button`)), chromedp.WaitVisible(chromedp.CSS(`form[action$="/pause"]`)))
	run(t, ctx, "subscription", chromedp.Navigate(base+"/pubsub/subscriptions/billing.orders"), chromedp.WaitVisible(chromedp.CSS("#queue")))
	eval[bool](t, ctx, `(() => { window.confirm = () => true; return true; })()`)
	run(t, ctx, "clear",
		chromedp.Click(chromedp.CSS(`form[action$="/clear"] button`)),
		chromedp.WaitVisible(chromedp.CSS("#answer")))
	if got := text(t, ctx, "#answer pre"); !strings.Contains(got, `"cleared": 2`) || !strings.Contains(text(t, ctx, "#queue"), "The queue is empty.") {
		t.Fatalf("clear: %q", got)
	}

	// The dead letters, redelivered one at a time, then all at once.
	failing.Store(false)
	run(t, ctx, "dead letters",
		chromedp.Navigate(base+"/pubsub/subscriptions/crm.orders?dead=1"),
		chromedp.WaitVisible(chromedp.CSS("#queue")),
	)
	if got := text(t, ctx, "#queue tbody"); strings.Count(got, "dead") != 2 || !strings.Contains(got, "CRM is down") {
		t.Fatalf("dead letters: %q", got)
	}
	shot(t, ctx, "pubsub-dead-letters")
	run(t, ctx, "redeliver one", chromedp.Click(chromedp.CSS(`#queue form button`)), chromedp.WaitVisible(chromedp.CSS("#answer")))
	if got := text(t, ctx, "#answer pre"); !strings.Contains(got, `"redelivered": 1`) {
		t.Fatalf("redeliver one: %q", got)
	}
	run(t, ctx, "redeliver all",
		chromedp.Navigate(base+"/pubsub/subscriptions/crm.orders"),
		chromedp.WaitVisible(chromedp.CSS("#queue")),
		chromedp.Click(chromedp.CSS(`.buttons form[action$="/redeliver"] button`)),
		chromedp.WaitVisible(chromedp.CSS("#answer")))
	for deadline := time.Now().Add(60 * time.Second); deadLetters() != 0; time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("dead letters after redelivering: %d", deadLetters())
		}
	}
}
