package pubsub_test

import (
	"strings"
	"testing"

	"github.com/plexushq/plexus/internal/pubsub"
	"github.com/plexushq/plexus/internal/registry"
)

func TestKindsLint(t *testing.T) {
	for _, id := range []string{pubsub.KindTopic, pubsub.KindPermission, pubsub.KindSubscription} {
		k, ok := registry.Lookup(id)
		if !ok {
			t.Fatalf("%s is not registered", id)
		}
		for _, err := range k.Lint() {
			t.Errorf("%s: %v", id, err)
		}
	}
}

func TestCheckTopicName(t *testing.T) {
	for name, want := range map[string]string{
		"orders.new": "", "/orders/new": "", strings.Repeat("a", 200): "",
		"": "empty", strings.Repeat("a", 201): "at most 200", "a#b": "'#'", "my.ZATO.topic": "reserved", "zpsk.x": "reserved", "zamówienia": "ASCII",
	} {
		err := pubsub.CheckTopicName(name)
		if (want == "") != (err == nil) || err != nil && !strings.Contains(err.Error(), want) {
			t.Errorf("%q: %v, want %q", name, err, want)
		}
	}
}

func TestMayPublishSubscribe(t *testing.T) {
	e := start(t, "")
	for _, c := range []struct {
		sec, topic string
		pub, sub   bool
	}{
		{"pub", "orders.new", true, false},
		{"pub", "orders.new.eu", false, false},
		{"sub", "orders.new.eu", false, true},
		{"sub", "stock", false, false},
		{"nobody", "orders.new", false, false},
	} {
		if got := e.eng.MayPublish(c.sec, c.topic); got != c.pub {
			t.Errorf("MayPublish(%s, %s) = %v", c.sec, c.topic, got)
		}
		if got := e.eng.MaySubscribe(c.sec, c.topic); got != c.sub {
			t.Errorf("MaySubscribe(%s, %s) = %v", c.sec, c.topic, got)
		}
	}
}

func TestTopicBackendNeedsConnection(t *testing.T) {
	for _, c := range []struct {
		topic pubsub.TopicConfig
		want  string
	}{
		{pubsub.TopicConfig{Name: "a", Backend: pubsub.BackendStore}, ""},
		{pubsub.TopicConfig{Name: "a", Backend: pubsub.BackendNATS, BackendConnection: "js"}, ""},
		{pubsub.TopicConfig{Name: "a", Backend: pubsub.BackendNATS}, "backend_connection"},
	} {
		errs := c.topic.Validate()
		if (c.want == "") != (len(errs) == 0) || len(errs) > 0 && !strings.Contains(errs[0].Error(), c.want) {
			t.Errorf("%+v: %v, want %q", c.topic, errs, c.want)
		}
	}
}
