// Package pubsub_test runs the pub/sub example: a service publishes, a
// partner publishes over REST, and the subscribed service gets both.
package pubsub_test

import (
	"encoding/base64"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/plexushq/plexus/plexustest"
)

func TestOrders(t *testing.T) {
	s := plexustest.Start(t, plexustest.Options{})
	s.DeployFiles("place_order.star", "ship_order.star", "order_status.star")
	yaml, err := os.ReadFile("enmasse.yaml")
	if err != nil {
		t.Fatal(err)
	}
	s.Import(strings.ReplaceAll(string(yaml), "${PARTNER_PASSWORD}", "partner-secret-1"))

	r := s.Call("POST", "/api/orders", `{"order_id": "o-1", "sku": "mug"}`, nil)
	if r.StatusCode != 200 || !strings.HasPrefix(r.JSON(t)["msg_id"].(string), "zpsm") {
		t.Fatalf("placing an order: %d %s", r.StatusCode, r.Body)
	}
	auth := http.Header{"Authorization": {"Basic " + base64.StdEncoding.EncodeToString([]byte("partner:partner-secret-1"))}}
	r = s.Call("POST", "/pubsub/topic/orders.new", `{"data": {"order_id": "o-2", "sku": "cup"}, "priority": 3}`, auth)
	if r.StatusCode != 200 || r.JSON(t)["is_ok"] != true {
		t.Fatalf("publishing over REST: %d %s", r.StatusCode, r.Body)
	}
	for _, id := range []string{"o-1", "o-2"} {
		for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(20 * time.Millisecond) {
			r := s.Call("GET", "/api/orders/"+id, "", nil)
			if r.StatusCode == 200 && r.JSON(t)["shipped"] == true {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("order %s was not shipped: %d %s", id, r.StatusCode, r.Body)
			}
		}
	}
}
