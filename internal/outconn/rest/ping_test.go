package rest_test

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/plexushq/plexus/internal/admin"
	outrest "github.com/plexushq/plexus/internal/outconn/rest"
)

func TestPing(t *testing.T) {
	s := start(t)
	b := newBackend(t)
	b.handle(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/down" {
			w.WriteHeader(503)
		}
	})
	putObject(t, s, "security", "key", map[string]any{"type": "apikey", "password": "ping-key"})
	putConn(t, s, "Billing API", map[string]any{"host": b.URL, "url_path": "/api/{x}", "security": "key"})
	putConn(t, s, "Down", map[string]any{"host": b.URL, "url_path": "/", "ping_method": "GET", "ping_path": "/down"})
	putConn(t, s, "Refused", map[string]any{"host": "http://" + closedAddr(t), "url_path": "/"})
	putConn(t, s, "Off", map[string]any{"host": b.URL, "url_path": "/", "is_active": false})

	ping := func(name string) (int, outrest.PingResult, string) {
		r := s.AdminCall("POST", admin.Prefix+"/outgoing_rest/"+strings.ReplaceAll(name, " ", "%20")+"/ping", "")
		var res outrest.PingResult
		json.Unmarshal(r.Body, &res)
		return r.StatusCode, res, string(r.Body)
	}
	status, res, body := ping("Billing API")
	if status != 200 || !res.OK || res.Status != 200 || res.Method != "HEAD" || res.URL != b.URL+"/" || res.TimeMS <= 0 || res.Error != "" {
		t.Errorf("ping: %d %s", status, body)
	}
	got := b.last(t)
	if got.Method != "HEAD" || got.RequestURI != "/" || got.Header.Get("X-API-Key") != "ping-key" || got.Header.Get("X-Plexus-CID") != res.CID {
		t.Errorf("the backend got %s %s %v", got.Method, got.RequestURI, got.Header)
	}
	if strings.Contains(body, "ping-key") {
		t.Errorf("the ping shows the key: %s", body)
	}
	if _, res, body := ping("Down"); res.OK || res.Status != 503 || res.Error != "the remote API answered 503 Service Unavailable" || b.last(t).Method != "GET" {
		t.Errorf("ping 503: %s", body)
	}
	if _, res, body := ping("Refused"); res.OK || res.Status != 0 || res.Error != `Could not call outgoing REST connection "Refused": connection refused` {
		t.Errorf("ping refused: %s", body)
	}
	if _, res, body := ping("Off"); res.OK || res.Error != `Outgoing REST connection "Off" is inactive` {
		t.Errorf("ping inactive: %s", body)
	}
	if status, _, body := ping("Nope"); status != 404 || !strings.Contains(body, `No outgoing REST connection named \"Nope\"`) {
		t.Errorf("ping missing: %d %s", status, body)
	}
	// The ping needs the admin login.
	if r := s.Call("POST", "/admin/api/v1/outgoing_rest/Down/ping", "", nil); r.StatusCode != 404 {
		t.Errorf("the API listener answers pings: %d", r.StatusCode)
	}
	r, _ := http.Post(s.Admin+admin.Prefix+"/outgoing_rest/Down/ping", "", nil)
	if r.StatusCode != 401 {
		t.Errorf("ping without login: %d", r.StatusCode)
	}
}

func TestMetrics(t *testing.T) {
	s := start(t)
	b := newBackend(t)
	b.handle(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/items/missing" {
			w.WriteHeader(404)
		}
	})
	putConn(t, s, "Backend", map[string]any{"host": b.URL, "url_path": "/items/{id}", "data_format": "raw"})
	putConn(t, s, "Refused", map[string]any{"host": "http://" + closedAddr(t), "url_path": "/"})
	for _, id := range []string{"1", "2", "missing"} {
		s.Call("GET", "/proxy/"+id, "", nil)
	}
	call(t, s, map[string]any{"conn": "Refused", "method": "GET"})
	m := string(s.AdminCall("GET", "/metrics", "").Body)
	mustContain(t, "/metrics", m,
		`plexus_outgoing_requests_total{connection="Backend",kind="outgoing_rest"} 3`,
		`plexus_outgoing_errors_total{connection="Backend",kind="outgoing_rest",reason="404"} 1`,
		`plexus_outgoing_request_duration_seconds_count{connection="Backend",kind="outgoing_rest"} 3`,
		`plexus_outgoing_requests_total{connection="Refused",kind="outgoing_rest"} 1`,
		`plexus_outgoing_errors_total{connection="Refused",kind="outgoing_rest",reason="refused"} 1`,
	)
	// A deleted connection's series go with it; the others stay.
	if r := s.AdminCall("DELETE", admin.Prefix+"/objects/outgoing_rest/Refused", ""); r.StatusCode != 204 {
		t.Fatalf("delete: %d %s", r.StatusCode, r.Body)
	}
	m = string(s.AdminCall("GET", "/metrics", "").Body)
	if strings.Contains(m, `connection="Refused"`) {
		t.Errorf("the series of a deleted connection remain:\n%s", m)
	}
	mustContain(t, "/metrics", m, `plexus_outgoing_requests_total{connection="Backend",kind="outgoing_rest"} 3`)
}
