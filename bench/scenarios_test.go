package main

import (
	"encoding/json"
	"strings"
	"testing"
)

func TestPayloadSizes(t *testing.T) {
	for _, tc := range []struct {
		name     string
		body     []byte
		min, max int
	}{
		{"small", smallPayload(), 90, 110},
		{"large", largePayload(), 9500, 10 * 1024},
	} {
		if n := len(tc.body); n < tc.min || n > tc.max {
			t.Errorf("%s payload has %d bytes; want %d to %d", tc.name, n, tc.min, tc.max)
		}
		var v map[string]any
		if err := json.Unmarshal(tc.body, &v); err != nil {
			t.Errorf("%s payload is not a JSON object: %v", tc.name, err)
		}
	}
	var order struct {
		Items []map[string]any `json:"items"`
	}
	if err := json.Unmarshal(largePayload(), &order); err != nil || len(order.Items) < 10 {
		t.Errorf("the large payload has %d items (%v); want a realistic nested object", len(order.Items), err)
	}
	if string(largePayload()) != string(largePayload()) {
		t.Error("the large payload differs between calls")
	}
}

func TestSelectScenarios(t *testing.T) {
	all, err := selectScenarios("all")
	if err != nil || len(all) != len(scenarios()) {
		t.Fatalf("selectScenarios(all) = %d scenarios, %v", len(all), err)
	}
	got, err := selectScenarios("echo-10kb, hello")
	if err != nil || len(got) != 2 || got[0].Name != "echo-10kb" || got[1].Name != "hello" {
		t.Errorf("selectScenarios(echo-10kb, hello) = %v, %v", got, err)
	}
	if _, err := selectScenarios("hello,nope"); err == nil || !strings.Contains(err.Error(), `"nope"`) {
		t.Errorf("selectScenarios(hello,nope) error = %v; want one naming nope", err)
	}
}

func TestScenariosAreComplete(t *testing.T) {
	seen := map[string]bool{}
	for _, s := range scenarios() {
		if s.Name == "" || seen[s.Name] || s.About == "" || s.Setup == nil || s.Check == nil ||
			s.Plexus.Method == "" || s.Plexus.Path == "" || s.Baseline.Method == "" || s.Baseline.Path == "" {
			t.Errorf("scenario %q is incomplete or named twice", s.Name)
		}
		seen[s.Name] = true
	}
}

func TestChecks(t *testing.T) {
	sent := []byte(`{"a":[1,2.50,{"b":null}],"c":"ü"}`)
	if err := checkEcho(sent, []byte(`{"c":"ü","a":[1,2.50,{"b":null}]}`)); err != nil {
		t.Errorf("checkEcho refused the same object with its keys reordered: %v", err)
	}
	if err := checkEcho(sent, []byte(`{"a":[1,2.5,{"b":null}],"c":"ü"}`)); err == nil {
		t.Error("checkEcho accepted 2.5 for 2.50: numbers must come back exactly")
	}
	if err := checkPing(nil, []byte(`{"cid":"0123456789abcdef01234567","is_ok":true}`)); err != nil {
		t.Errorf("checkPing refused a good answer: %v", err)
	}
	for _, bad := range []string{`{"cid":"0123456789abcdef01234567","is_ok":false}`, `{"cid":"short","is_ok":true}`, `nope`} {
		if err := checkPing(nil, []byte(bad)); err == nil {
			t.Errorf("checkPing accepted %s", bad)
		}
	}
}
