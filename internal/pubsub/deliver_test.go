package pubsub

import (
	"encoding/json"
	"reflect"
	"testing"
	"time"
)

// The message dict written by wireOf is the JSON of every field, the data
// as published, whatever the data and the strings hold.
func TestWireOf(t *testing.T) {
	at := time.Date(2026, 12, 7, 10, 0, 0, 123456789, time.UTC)
	for _, data := range []string{`{"order": "o-1", "lines": [1, 2.5, null]}`, `"x"`, `[]`, "{\n \"a\" : \"\\u00e9\\\"\" }", ``} {
		m := &Message{ID: "zpsm1", Topic: "orders.new", Data: json.RawMessage(data), Size: len(data), Priority: 7,
			CorrelID: "c\"1\n", InReplyTo: "<r>", ExtClientID: "é", Publisher: "partner", PubTime: at, Expiration: at.Add(time.Hour),
			Subscription: "billing", DeliveryCount: 2}
		b, err := wireOf(m)
		if err != nil {
			t.Fatal(err)
		}
		var got map[string]any
		if err := json.Unmarshal(b, &got); err != nil {
			t.Fatalf("%q: not JSON: %v: %s", data, err, b)
		}
		var wantData any
		if data != "" {
			json.Unmarshal([]byte(data), &wantData)
		}
		want := map[string]any{"data": wantData, "msg_id": "zpsm1", "topic_name": "orders.new", "sub_name": "billing",
			"size": float64(len(data)), "priority": float64(7), "correl_id": "c\"1\n", "in_reply_to": "<r>", "ext_client_id": "é",
			"publisher": "partner", "pub_time_iso": "2026-12-07T10:00:00.123456789Z", "expiration_time_iso": "2026-12-07T11:00:00.123456789Z",
			"delivery_count": float64(2)}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("%q:\n got %v\nwant %v", data, got, want)
		}
	}
}
