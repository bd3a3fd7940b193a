// Package billing_test runs the seed's BillingHandler from a REST call,
// from a message on an AMQP queue and from the scheduler, with no change
// to the service.
package billing_test

import (
	"crypto/rand"
	"encoding/hex"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/rabbitmq/amqp091-go"

	"github.com/plexushq/plexus/internal/testenv"
	"github.com/plexushq/plexus/plexustest"
)

func TestOneServiceThreeChannels(t *testing.T) {
	amqpURL := testenv.Value(t, "PLEXUS_TEST_AMQP", "an AMQP URL such as amqp://guest:guest@127.0.0.1:5672/")
	billings, erp := plexustest.NewBackend(t), plexustest.NewBackend(t)
	billings.Handle("GET /data/current.csv", plexustest.Reply(200, "cust_id,amount\n39175,395.7\n"))
	erp.Handle("POST /api/billings", plexustest.Reply(200, `{"status": "ok"}`))

	var b [4]byte
	rand.Read(b[:])
	queue := "plexus-test.billing." + hex.EncodeToString(b[:])
	uri, _ := amqp091.ParseURI(amqpURL)
	vars := map[string]string{
		"BILLINGS_URL": billings.URL, "ERP_URL": erp.URL, "BILLING_QUEUE": queue,
		"AMQP_ADDRESS":  strings.Replace(amqpURL, uri.Username+":"+uri.Password+"@", "", 1),
		"AMQP_USERNAME": uri.Username, "AMQP_PASSWORD": uri.Password,
	}
	conn, err := amqp091.Dial(amqpURL)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	ch, _ := conn.Channel()
	t.Cleanup(func() { ch.QueueDelete(queue, false, false, false) })

	s := plexustest.Start(t, plexustest.Options{})
	s.DeployFiles("billing_handler.star")
	yaml, err := os.ReadFile("enmasse.yaml")
	if err != nil {
		t.Fatal(err)
	}
	// The variables are set here as plexus enmasse import takes them
	// from the environment.
	s.Import(os.Expand(string(yaml), func(k string) string { return vars[k] }))

	// From REST.
	if r := s.Call("POST", "/api/billing/send", "", nil); r.StatusCode != 200 {
		t.Fatalf("REST: %d %s", r.StatusCode, r.Body)
	}
	// From the scheduler, run now as plexus scheduler run does.
	if r := s.AdminCall("POST", "/admin/api/v1/objects/scheduler/billing.nightly/execute", ""); r.StatusCode != 202 {
		t.Fatalf("scheduler: %d %s", r.StatusCode, r.Body)
	}
	// From an AMQP queue, once the channel consumes it.
	deadline := time.Now().Add(20 * time.Second)
	for {
		obj := s.AdminCall("GET", "/admin/api/v1/objects/channel_amqp/billing.amqp", "").JSON(t)
		if st, _ := obj["status"].(map[string]any); st["state"] == "running" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the AMQP channel is not running: %v", obj["status"])
		}
		time.Sleep(50 * time.Millisecond)
	}
	if err := ch.Publish("", queue, false, false, amqp091.Publishing{Body: []byte("send now")}); err != nil {
		t.Fatal(err)
	}

	for _, typ := range []string{"rest", "scheduler", "amqp"} {
		s.Log.WaitFor(t, "billings sent to the ERP from a "+typ+" channel")
	}
	for deadline := time.Now().Add(10 * time.Second); len(erp.Requests()) < 3 && time.Now().Before(deadline); {
		time.Sleep(20 * time.Millisecond)
	}
	got := erp.Requests()
	if len(got) != 3 {
		t.Fatalf("the ERP got %d requests, want 3", len(got))
	}
	for _, r := range got {
		if string(r.Body) != "cust_id,amount\n39175,395.7\n" || r.CID == "" {
			t.Errorf("the ERP got %q (cid %q)", r.Body, r.CID)
		}
	}
}
