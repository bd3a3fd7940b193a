package wsx

import (
	"encoding/json"
	"testing"
)

// FuzzParseRequest checks that any message is read or refused without a
// panic, and that what is read keeps its data as valid JSON and always
// has an action.
func FuzzParseRequest(f *testing.F) {
	for _, s := range []string{
		`{"meta": {"action": "create-session", "id": "1", "username": "u", "secret": "s", "client_name": {"app": "x"}}}`,
		`{"meta": {"action": "invoke-service", "id": "2", "token": "t"}, "data": {"a": 1}}`,
		`{"meta": {"in_reply_to": "zwsx.rqc.1"}, "data": "ok"}`,
		`{"meta": {"action": "publish", "id": "3", "token": "t", "topic": "orders.new", "priority": 9, "expiration": 60, "correl_id": "c"}, "data": {"n": 1}}`,
		`{"meta": {"action": "publish", "priority": "high", "expiration": "x"}}`,
		`{"meta": null}`, `{"meta": {"id": 5}}`, `[]`, `"x"`, `{`, ``,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		r, err := parseRequest(b)
		if err != nil {
			return
		}
		if r.Action == "" {
			t.Fatal("no action")
		}
		if r.Data != nil && !json.Valid(r.Data) {
			t.Fatalf("data %q is not JSON", r.Data)
		}
		var back map[string]any
		if err := json.Unmarshal(zatoFrame(meta{ID: r.ID, MsgType: msgOK}, r.Data), &back); err != nil {
			t.Fatalf("reply does not decode: %v", err)
		}
	})
}
