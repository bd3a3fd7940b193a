package dispatch_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/plexushq/plexus/internal/admin"
	"github.com/plexushq/plexus/internal/dispatch"
	"github.com/plexushq/plexus/internal/servertest"
)

const replaySvc = `
def handle(self):
    if self.request.input.get("qty", 1) == 0:
        self.response.payload = {"per_item": 10 / self.request.input.qty}
        return
    self.response.payload = {
        "version": VERSION,
        "id": self.request.http.params["id"],
        "q": self.request.http.GET.get("q"),
        "token_param": self.request.http.GET.get("access_token") != None,
        "qty": self.request.input.get("qty"),
        "ua": self.request.http.headers.get("User-Agent"),
        "key": self.request.http.headers.get("X-Shop-Key") != None,
        "auth": self.request.http.headers.get("Authorization") != None,
        "security": self.channel.security.name,
    }
`

// A request kept in development mode runs again against the code deployed
// since, without its credentials, and its new answer comes beside the old.
func TestReplay(t *testing.T) {
	s := servertest.Start(t, servertest.Options{Settings: "development: true\n"})
	s.Put("security", "shop", map[string]any{"type": "apikey", "password": "k-9876543", "header": "X-Shop-Key"})
	s.Deploy("orders.star", "VERSION = 1\n"+replaySvc)
	s.Channel("orders", "orders", "", "/orders/{id}", map[string]any{"security": "shop"})

	h := http.Header{"X-Shop-Key": {"k-9876543"}, "User-Agent": {"shop/1"}, "Authorization": {"Bearer nope"}}
	first := s.Call("POST", "/orders/7?q=red&access_token=t0ps3cret", `{"qty": 2}`, h)
	if first.StatusCode != 200 {
		t.Fatalf("%d %s", first.StatusCode, first.Body)
	}
	failing := s.Call("POST", "/orders/8", `{"qty": 0}`, h)
	if failing.StatusCode != 500 {
		t.Fatalf("%d %s", failing.StatusCode, failing.Body)
	}

	// The list shows both, newest first, and what was left out.
	r := s.AdminCall("GET", admin.Prefix+"/replay", "")
	var recent []dispatch.Recorded
	if err := json.Unmarshal(r.Body, &recent); err != nil || len(recent) != 2 || recent[0].CID != failing.CID() || recent[1].CID != first.CID() {
		t.Fatalf("list: %s (%v)", r.Body, err)
	}
	if got := fmt.Sprint(recent[1].Left); got != "[?access_token Authorization X-Shop-Key]" {
		t.Errorf("left out: %s", got)
	}
	if strings.Contains(string(r.Body), "k-9876543") || strings.Contains(string(r.Body), "t0ps3cret") {
		t.Errorf("the list shows a credential: %s", r.Body)
	}

	// The code changes; the replay runs the new one, as the identity that
	// authenticated, without the credentials.
	s.Deploy("orders.star", "VERSION = 2\n"+replaySvc)
	r = s.AdminCall("POST", admin.Prefix+"/replay/"+first.CID(), "")
	var out dispatch.Replayed
	if err := json.Unmarshal(r.Body, &out); err != nil || r.StatusCode != 200 {
		t.Fatalf("replay: %d %s", r.StatusCode, r.Body)
	}
	var before, after map[string]any
	json.Unmarshal([]byte(out.Before.Body), &before)
	json.Unmarshal([]byte(out.After.Body), &after)
	if fmt.Sprint(before) != "map[auth:true id:7 key:true q:red qty:2 security:shop token_param:true ua:shop/1 version:1]" {
		t.Errorf("before: %v", before)
	}
	if fmt.Sprint(after) != "map[auth:false id:7 key:false q:red qty:2 security:shop token_param:false ua:shop/1 version:2]" {
		t.Errorf("after: %v", after)
	}
	if out.Same || out.After.CID == first.CID() || out.Before.CID != first.CID() || out.After.Status != 200 {
		t.Errorf("replay: %+v", out)
	}
	s.Log.WaitFor(t, "request replayed", "cid="+out.After.CID, "replay_of="+first.CID())

	// The failing one, fixed, now answers.
	s.Deploy("orders.star", "VERSION = 3\n"+strings.Replace(replaySvc, "10 / self.request.input.qty", "0", 1))
	r = s.AdminCall("POST", admin.Prefix+"/replay/"+failing.CID(), "")
	json.Unmarshal(r.Body, &out)
	if out.Before.Status != 500 || out.After.Status != 200 || !strings.Contains(out.Before.Body, "division by zero") || out.After.Body != `{"per_item":0}` {
		t.Errorf("replay of the failure: %s", r.Body)
	}
	// Replays are not kept themselves.
	if r := s.AdminCall("POST", admin.Prefix+"/replay/"+out.After.CID, ""); r.StatusCode != 404 {
		t.Errorf("replay of a replay: %d %s", r.StatusCode, r.Body)
	}
}

// Each channel keeps its last dispatch.ReplayPerChannel requests.
func TestReplayBounded(t *testing.T) {
	s := servertest.Start(t, servertest.Options{Settings: "development: true\n"})
	s.Channel("ping", "plexus.ping", "", "/ping", nil)
	var cids []string
	for range dispatch.ReplayPerChannel + 3 {
		cids = append(cids, s.Call("GET", "/ping", "", nil).CID())
	}
	var recent []dispatch.Recorded
	json.Unmarshal(s.AdminCall("GET", admin.Prefix+"/replay", "").Body, &recent)
	if len(recent) != dispatch.ReplayPerChannel || recent[0].CID != cids[len(cids)-1] {
		t.Fatalf("kept %d", len(recent))
	}
	if r := s.AdminCall("POST", admin.Prefix+"/replay/"+cids[0], ""); r.StatusCode != 404 || !strings.Contains(string(r.Body), "last 20 requests") {
		t.Errorf("a forgotten request: %d %s", r.StatusCode, r.Body)
	}
	if r := s.AdminCall("POST", admin.Prefix+"/replay/"+cids[3], ""); r.StatusCode != 200 {
		t.Errorf("a kept request: %d %s", r.StatusCode, r.Body)
	}
}

// Without development mode nothing is kept.
func TestReplayNeedsDevelopment(t *testing.T) {
	s := servertest.Start(t, servertest.Options{})
	s.Channel("ping", "plexus.ping", "", "/ping", nil)
	cid := s.Call("GET", "/ping", "", nil).CID()
	if r := s.AdminCall("GET", admin.Prefix+"/replay", ""); strings.TrimSpace(string(r.Body)) != "[]" {
		t.Errorf("list: %s", r.Body)
	}
	if r := s.AdminCall("POST", admin.Prefix+"/replay/"+cid, ""); r.StatusCode != 409 || !strings.Contains(string(r.Body), "development mode") {
		t.Errorf("replay: %d %s", r.StatusCode, r.Body)
	}
}
