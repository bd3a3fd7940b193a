package pubsub_test

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
)

// A permission imported from a Zato 3.2 REST endpoint with pub=/orders/*
// lets its security definition publish to /orders/new over REST, and
// refuses /invoices/new.
func TestZato32PermissionOverREST(t *testing.T) {
	e := start(t, "")
	e.Import(`
security:
  - name: partner32
    type: basic_auth
    username: partner32
    password: partner32-secret-1
pubsub_endpoint:
  - name: Partner Endpoint
    endpoint_type: rest
    security_name: partner32
    topic_patterns: |-
      pub=/orders/*
pubsub_topic:
  - name: /orders/new
  - name: /invoices/new
`)
	auth := basic("partner32", "partner32-secret-1")
	r := e.Call("POST", "/pubsub/topic//orders/new", `{"data": {"order_id": 1}}`, auth)
	if id, _ := r.JSON(t)["msg_id"].(string); r.StatusCode != 200 || !strings.HasPrefix(id, "zpsm") {
		t.Errorf("publishing to /orders/new: %d %s", r.StatusCode, r.Body)
	}
	r = e.Call("POST", "/pubsub/topic//invoices/new", `{"data": {"invoice_id": 1}}`, auth)
	var env map[string]any
	json.Unmarshal(r.Body, &env)
	if r.StatusCode != 401 || fmt.Sprint(env["details"]) != "Permission denied" {
		t.Errorf("publishing to /invoices/new: %d %s", r.StatusCode, r.Body)
	}
}
