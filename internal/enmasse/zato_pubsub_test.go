package enmasse_test

import (
	"context"
	"slices"
	"strings"
	"testing"

	"github.com/plexushq/plexus/internal/enmasse"
	"github.com/plexushq/plexus/internal/pubsub"
)

// zatoImport imports a Zato file's text into a new runtime with the
// services it names, failing on any problem. It returns a lookup of the
// objects imported, which fails the test on a missing one, whether one is
// there, and the warnings.
func zatoImport(t *testing.T, text string) (get func(kind, name string) any, has func(kind, name string) bool, warnings []string) {
	t.Helper()
	rt := newRuntime(t, deployedFor(t, []byte(text))...)
	b := &enmasse.Bundle{Files: []enmasse.File{{Name: "zato.yaml", Content: text}}}
	rep, err := enmasse.Import(context.Background(), rt, b.Input(), enmasse.Options{})
	if err != nil {
		t.Fatalf("refused: %v", err)
	}
	for _, w := range rep.Warnings {
		warnings = append(warnings, w.Error())
	}
	get = func(kind, name string) any {
		o, ok := rt.State().Object(kind, name)
		if !ok {
			t.Fatalf("no %s %q", kind, name)
		}
		return o
	}
	has = func(kind, name string) bool {
		_, ok := rt.State().Object(kind, name)
		return ok
	}
	return get, has, warnings
}

// Zato 3.2's own enmasse example: a service endpoint and its notify
// subscription push to the endpoint's service.
func TestZato32ServiceEndpoint(t *testing.T) {
	get, has, warnings := zatoImport(t, `
pubsub_endpoint:
  - name: 'Demo Endpoint'
    endpoint_type: service
    service_name: pub.zato.ping
    topic_patterns: |-
      pub=/*
      sub=/*
pubsub_subscription:
  - name: Demo.Subscription.1
    endpoint_name: 'Demo Endpoint'
    endpoint_type: service
    delivery_method: notify
    topic_list:
      - /demo/enmasse/topic-01
      - /demo/enmasse/topic-02
pubsub_topic:
  - name: /demo/enmasse/topic-01
  - name: /demo/enmasse/topic-02
`)
	if len(warnings) != 0 {
		t.Errorf("warnings: %q", warnings)
	}
	s := get(pubsub.KindSubscription, "Demo.Subscription.1").(*pubsub.SubscriptionConfig)
	if s.DeliveryType != pubsub.DeliveryPush || s.PushType != pubsub.PushService || s.PushService != "pub.zato.ping" ||
		!slices.Equal(s.Topics, []string{"/demo/enmasse/topic-01", "/demo/enmasse/topic-02"}) || s.Security != "" {
		t.Errorf("subscription %+v", s)
	}
	get(pubsub.KindTopic, "/demo/enmasse/topic-02")
	if has(pubsub.KindPermission, "Demo Endpoint") {
		t.Error("a service endpoint gave a permission: services publish without one")
	}
}

// A REST endpoint's security definition gets a permission of its
// patterns, by role; its subscriptions pull with that security
// definition, or push to their outgoing REST connection.
func TestZato32RESTEndpoints(t *testing.T) {
	get, has, warnings := zatoImport(t, `
security:
  - name: partner
    type: basic_auth
    username: partner
    password: partner-secret-1
  - name: reader
    type: basic_auth
    username: reader
    password: reader-secret-1
outgoing_rest:
  - name: crm
    host: https://crm.example.com
    url_path: /hook
pubsub_endpoint:
  - name: Partner Endpoint
    endpoint_type: rest
    role: pub
    security_name: partner
    topic_patterns: |-
      pub=/orders/*
      sub=/orders/**
      orders.*
  - name: Reader Endpoint
    endpoint_type: rest
    role: pub-sub
    security_name: reader
    topic_patterns: |-
      sub=/orders/**
  - name: CRM Endpoint
    endpoint_type: rest
    security_name: reader
  - name: Queue Endpoint
    endpoint_type: amqp
    topic_patterns: pub=/*
  - name: zato.pubsub.default.internal.endpoint
    endpoint_type: rest
    is_internal: true
    security_name: zato.pubsub.default.internal
    topic_patterns: pub=/*
  - name: Audit Endpoint
    endpoint_type: rest
    security_name: partner
    last_seen: 1700000000
pubsub_subscription:
  - name: reader.orders
    endpoint_name: Reader Endpoint
    endpoint_type: rest
    delivery_method: pull
    topic_list: [/orders/new]
  - name: crm.orders
    endpoint_name: CRM Endpoint
    endpoint_type: rest
    delivery_method: notify
    rest_connection: crm
    rest_method: PUT
    topic_list: [/orders/new]
  - name: queue.orders
    endpoint_name: Queue Endpoint
    delivery_method: notify
    topic_list: [/orders/new]
pubsub_topic:
  - name: /orders/new
`)
	p := get(pubsub.KindPermission, "Partner Endpoint").(*pubsub.PermissionConfig)
	if p.Security != "partner" || !slices.Equal(p.Pub, []string{"/orders/*"}) || len(p.Sub) != 0 {
		t.Errorf("a pub endpoint's permission %+v", p)
	}
	p = get(pubsub.KindPermission, "Reader Endpoint").(*pubsub.PermissionConfig)
	if p.Security != "reader" || len(p.Pub) != 0 || !slices.Equal(p.Sub, []string{"/orders/**"}) {
		t.Errorf("a pub-sub endpoint's permission %+v", p)
	}
	s := get(pubsub.KindSubscription, "reader.orders").(*pubsub.SubscriptionConfig)
	if s.DeliveryType != pubsub.DeliveryPull || s.Security != "reader" || !slices.Equal(s.Topics, []string{"/orders/new"}) {
		t.Errorf("pull subscription %+v", s)
	}
	s = get(pubsub.KindSubscription, "crm.orders").(*pubsub.SubscriptionConfig)
	if s.DeliveryType != pubsub.DeliveryPush || s.PushType != pubsub.PushREST || s.PushRESTEndpoint != "crm" {
		t.Errorf("push subscription %+v", s)
	}
	if has(pubsub.KindPermission, "zato.pubsub.default.internal.endpoint") || has(pubsub.KindPermission, "Audit Endpoint") {
		t.Error("an internal endpoint, or one without patterns, gave a permission")
	}
	want := []string{
		`zato.yaml:23:21: pubsub_endpoint "Partner Endpoint": topic_patterns: line "orders.*" starts with neither pub= nor sub=; ignored, as Zato does`,
		`zato.yaml:34:20: pubsub_endpoint "Queue Endpoint": endpoint_type: endpoint type "amqp" is not supported by Plexus (only rest, service and wsx are); the endpoint and its subscriptions were skipped`,
		`zato.yaml:38:18: pubsub_endpoint "zato.pubsub.default.internal.endpoint": is_internal: an internal endpoint is Zato's own; the endpoint and its subscriptions were skipped`,
		`zato.yaml:44:5: pubsub_endpoint "Audit Endpoint": last_seen: Zato field not supported by Plexus yet; ignored`,
		`zato.yaml:56:18: pubsub_subscription "crm.orders": rest_method: Plexus POSTs each message; method "PUT" ignored`,
		`zato.yaml:59:20: pubsub_subscription "queue.orders": endpoint_name: the subscription was skipped, as its endpoint "Queue Endpoint" was`,
	}
	if !slices.Equal(warnings, want) {
		t.Errorf("warnings:\n%s\nwant:\n%s", strings.Join(warnings, "\n"), strings.Join(want, "\n"))
	}
}

// A WebSocket endpoint's subscription pushes to the endpoint's channel;
// without a channel it is skipped, with a warning naming it.
func TestZato32WSXEndpoint(t *testing.T) {
	get, has, warnings := zatoImport(t, `
web_socket:
  - name: clients
    address: ws://0.0.0.0:33100/clients
    service: pub.zato.ping
pubsub_endpoint:
  - name: WSX Endpoint
    endpoint_type: wsx
    ws_channel_name: clients
  - name: Lost Endpoint
    endpoint_type: wsx
pubsub_subscription:
  - name: clients.orders
    endpoint_name: WSX Endpoint
    topic_list: [/orders/new]
  - name: lost.orders
    endpoint_name: Lost Endpoint
    topic_list: [/orders/new]
pubsub_topic:
  - name: /orders/new
`)
	s := get(pubsub.KindSubscription, "clients.orders").(*pubsub.SubscriptionConfig)
	if s.DeliveryType != pubsub.DeliveryPush || s.PushType != pubsub.PushWSX || s.PushTarget != "clients" {
		t.Errorf("subscription %+v", s)
	}
	if has(pubsub.KindSubscription, "lost.orders") {
		t.Error("the subscription of an endpoint without a channel was imported")
	}
	want := []string{`zato.yaml:17:20: pubsub_subscription "lost.orders": endpoint_name: the subscription was skipped: WebSocket endpoint "Lost Endpoint" names no ws_channel_name to push to`}
	if !slices.Equal(warnings, want) {
		t.Errorf("warnings:\n%s\nwant:\n%s", strings.Join(warnings, "\n"), strings.Join(want, "\n"))
	}
}

// A subscription of an endpoint the files do not define, and a 3.2
// pattern Plexus cannot read, are problems.
func TestZato32EndpointProblems(t *testing.T) {
	rt := newRuntime(t)
	b := &enmasse.Bundle{Files: []enmasse.File{{Name: "zato.yaml", Content: `
security:
  - name: partner
    type: basic_auth
    username: partner
    password: partner-secret-1
pubsub_endpoint:
  - name: Partner Endpoint
    endpoint_type: rest
    security_name: partner
    topic_patterns: pub=/orders/{new|old}
pubsub_subscription:
  - name: lost
    endpoint_name: Nowhere
    topic_list: [/orders/new]
pubsub_topic:
  - name: /orders/new
`}}}
	_, err := enmasse.Import(context.Background(), rt, b.Input(), enmasse.Options{})
	if err == nil {
		t.Fatal("accepted")
	}
	for _, want := range []string{`no pub/sub endpoint (section pubsub_endpoint) named "Nowhere"`, "inline regular expressions ({...}) are not supported"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("the error does not say %q: %v", want, err)
		}
	}
}
