package rest_test

import (
	"bufio"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	goruntime "runtime"
	"strings"
	"testing"
	"time"

	"github.com/plexushq/plexus/internal/admin"
	"github.com/plexushq/plexus/internal/servertest"
	"github.com/plexushq/plexus/plexustest"
)

// Every verb sends what the service gave it, with the caller's cid.
func TestEveryVerb(t *testing.T) {
	s := start(t)
	b := s.Backend("Billing", map[string]any{"url_path": "/api/billing/{phone_no}"})
	b.Handle("/", func(w http.ResponseWriter, r *http.Request) {
		plexustest.Reply(200, `{"method": "`+r.Method+`"}`)(w, r)
	})
	params := map[string]any{"cust_id": "39175", "phone_no": "271637517", "priority": "normal"}
	for _, c := range []struct {
		method, wire string
		data         any
		body         string
	}{
		{"GET", "GET", nil, ""},
		{"HEAD", "HEAD", nil, ""},
		{"OPTIONS", "OPTIONS", nil, ""},
		{"DELETE", "DELETE", nil, ""},
		{"POST", "POST", map[string]any{"billing": "395.7", "currency": "EUR"}, `{"billing":"395.7","currency":"EUR"}`},
		{"SEND", "POST", []any{1, "<a&b>"}, `[1,"<a&b>"]`},
		{"PUT", "PUT", "already serialised", "already serialised"},
		{"PATCH", "PATCH", map[string]any{"n": json.RawMessage("12345678901234567890")}, `{"n":12345678901234567890}`},
		{"PROPFIND", "PROPFIND", "x", "x"},
	} {
		in, _ := json.Marshal(map[string]any{"conn": "Billing", "method": c.method, "params": params, "data": c.data})
		answer := `{"status": 200, "data": {"method": "` + c.wire + `"}}`
		if c.wire == "HEAD" {
			answer = `{"status": 200, "data": ""}`
		}
		contentType := ""
		if c.body != "" {
			contentType = "application/json"
		}
		plexustest.Scenario{
			Name: c.method, URL: "/call", Body: string(in),
			WantBody: plexustest.JSONSubset(answer),
			WantCalls: []plexustest.Call{{
				Backend: b, Method: c.wire, Path: "/api/billing/271637517?cust_id=39175&priority=normal",
				Header: map[string]string{"Content-Type": contentType}, Body: plexustest.Text(c.body),
			}},
		}.Run(t, s.Harness)
	}
}

func TestDataFormats(t *testing.T) {
	s := start(t)
	b := newBackend(t)
	putConn(t, s, "Form", map[string]any{"host": b.URL, "url_path": "/f", "data_format": "form"})
	putConn(t, s, "Raw", map[string]any{"host": b.URL, "url_path": "/r", "data_format": "raw"})
	putConn(t, s, "XML", map[string]any{"host": b.URL, "url_path": "/x", "data_format": "raw", "content_type": "application/xml"})

	call(t, s, map[string]any{"conn": "Form", "method": "POST", "data": map[string]any{"a": "1 2", "tags": []any{"x", "y"}, "n": 3}})
	if got := b.last(t); got.Body != "a=1+2&n=3&tags=x&tags=y" || got.Header.Get("Content-Type") != "application/x-www-form-urlencoded" {
		t.Errorf("form: %q %q", got.Body, got.Header.Get("Content-Type"))
	}
	call(t, s, map[string]any{"conn": "Raw", "method": "POST", "data": "plain text"})
	if got := b.last(t); got.Body != "plain text" || got.Header.Get("Content-Type") != "text/plain; charset=utf-8" {
		t.Errorf("raw: %q %q", got.Body, got.Header.Get("Content-Type"))
	}
	call(t, s, map[string]any{"conn": "XML", "method": "POST", "data": "<a/>", "headers": map[string]any{"X-Extra": "1"}})
	if got := b.last(t); got.Body != "<a/>" || got.Header.Get("Content-Type") != "application/xml" || got.Header.Get("X-Extra") != "1" {
		t.Errorf("xml: %q %v", got.Body, got.Header)
	}
	// The caller's Content-Type wins over the connection's.
	call(t, s, map[string]any{"conn": "XML", "method": "POST", "data": "{}", "headers": map[string]any{"content-type": "application/json"}})
	if got := b.last(t); got.Header.Get("Content-Type") != "application/json" {
		t.Errorf("user Content-Type: %v", got.Header)
	}
	// A raw connection sends strings only.
	status, m, _ := call(t, s, map[string]any{"conn": "Raw", "method": "POST", "data": map[string]any{"a": 1}})
	if status != 500 {
		t.Errorf("raw dict: %d %v", status, m)
	}
	s.Log.WaitFor(t, "data_format raw sends strings and bytes, not a map[string]interface {}")
	// A form is a dict.
	if status, _, _ := call(t, s, map[string]any{"conn": "Form", "method": "POST", "data": []any{1}}); status != 500 {
		t.Errorf("form list: %d", status)
	}
}

func TestResponses(t *testing.T) {
	s := start(t)
	b := newBackend(t)
	putConn(t, s, "JSON", map[string]any{"host": b.URL, "url_path": "/{what}"})
	putConn(t, s, "Raw", map[string]any{"host": b.URL, "url_path": "/{what}", "data_format": "raw"})
	b.handle(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/json":
			w.Header().Set("Content-Type", "application/problem+json")
			w.WriteHeader(404)
			fmt.Fprint(w, `{"error": "Not found", "n": 1.5}`)
		case "/text":
			w.Header().Set("Content-Type", "text/plain")
			fmt.Fprint(w, "hello")
		case "/bad":
			w.Header().Set("Content-Type", "application/json")
			fmt.Fprint(w, `{"oops`)
		case "/empty":
			w.WriteHeader(204)
		case "/html":
			w.Header().Set("Content-Type", "text/html")
			w.WriteHeader(502)
			fmt.Fprint(w, "<h1>Bad gateway</h1>")
		}
	})
	for _, c := range []struct {
		conn, what string
		status     float64
		ok         bool
		data       any
	}{
		// A non-2xx answer is a response, not an error.
		{"JSON", "json", 404, false, map[string]any{"error": "Not found", "n": 1.5}},
		{"Raw", "json", 404, false, map[string]any{"error": "Not found", "n": 1.5}},
		{"Raw", "text", 200, true, "hello"},
		{"JSON", "empty", 204, true, ""},
		{"Raw", "html", 502, false, "<h1>Bad gateway</h1>"},
	} {
		status, m, _ := call(t, s, map[string]any{"conn": c.conn, "method": "GET", "params": map[string]any{"what": c.what}})
		if status != 200 || m["status"] != c.status || m["ok"] != c.ok || fmt.Sprint(m["data"]) != fmt.Sprint(c.data) || m["connection"] != c.conn {
			t.Errorf("%s %s: %d %v", c.conn, c.what, status, m)
		}
	}
	status, m, _ := call(t, s, map[string]any{"conn": "JSON", "method": "GET", "params": map[string]any{"what": "bad"}})
	if status != 502 || m["details"] != `Could not parse the JSON response of outgoing REST connection "JSON"` {
		t.Errorf("bad JSON: %d %v", status, m)
	}
	status, m, _ = call(t, s, map[string]any{"conn": "JSON", "method": "GET", "params": map[string]any{"what": "text"}})
	if status != 502 {
		t.Errorf("text on a json connection: %d %v", status, m)
	}
}

func TestMissingPlaceholder(t *testing.T) {
	s := start(t)
	b := newBackend(t)
	putConn(t, s, "Billing", map[string]any{"host": b.URL, "url_path": "/api/billing/{phone_no}"})
	// The connection's url_path needs a parameter the service did not
	// pass: the platform's fault, so 500 without url_path, and the log
	// says what is missing.
	status, m, r := call(t, s, map[string]any{"conn": "Billing", "method": "GET", "params": map[string]any{"cust_id": "1"}})
	if status != 500 || m["details"] != "Internal server error" || strings.Contains(string(r.Body), "url_path") {
		t.Errorf("%d %s", status, r.Body)
	}
	s.Log.WaitFor(t, r.Header.Get("X-Plexus-CID"), "level=ERROR", `missing path parameter phone_no (url_path /api/billing/{phone_no})`)
	status, m, _ = call(t, s, map[string]any{"conn": "Billing", "method": "GET", "params": map[string]any{"phone_no": "../../admin"}})
	if status != 200 || b.last(t).RequestURI != "/api/billing/..%2F..%2Fadmin" {
		t.Errorf("%d %v %s", status, m, b.last(t).RequestURI)
	}
	if b.count() != 1 {
		t.Errorf("the backend got %d requests, want 1", b.count())
	}
}

func TestMissingAndInactive(t *testing.T) {
	s := start(t)
	b := newBackend(t)
	putConn(t, s, "Billing", map[string]any{"host": b.URL, "url_path": "/b"})
	status, m, r := call(t, s, map[string]any{"conn": "Bilingg", "method": "GET"})
	if status != 500 || m["details"] != "Internal server error" {
		t.Errorf("missing: %d %v", status, m)
	}
	s.Log.WaitFor(t, r.Header.Get("X-Plexus-CID"), `no outgoing REST connection named \"Bilingg\"; did you mean \"Billing\"?`)

	putConn(t, s, "Billing", map[string]any{"host": b.URL, "url_path": "/b", "is_active": false})
	status, m, _ = call(t, s, map[string]any{"conn": "Billing", "method": "GET"})
	if status != 503 || m["details"] != `Outgoing REST connection "Billing" is inactive` {
		t.Errorf("inactive: %d %v", status, m)
	}
	if b.count() != 0 {
		t.Errorf("the backend got %d requests", b.count())
	}
}

// A connection whose definition has no password yet sends nothing: its
// calls fail with 503, saying how to set one.
func TestNoPasswordYet(t *testing.T) {
	s := start(t)
	b := newBackend(t)
	putObject(t, s, "security", "billing.creds", map[string]any{"type": "basic_auth", "username": "billing"})
	putObject(t, s, "security", "crm.key", map[string]any{"type": "apikey"})
	putObject(t, s, "security", "erp.oauth", map[string]any{"type": "bearer_token", "auth_server_url": b.URL + "/token", "username": "erp"})
	for conn, def := range map[string]string{"Billing": "billing.creds", "CRM": "crm.key", "ERP": "erp.oauth"} {
		putConn(t, s, conn, map[string]any{"host": b.URL, "url_path": "/x", "security": def})
		status, m, _ := call(t, s, map[string]any{"conn": conn, "method": "GET"})
		want := fmt.Sprintf("Security definition %q has no password yet: set one with plexus security change-password %q", def, def)
		if status != 503 || m["details"] != want {
			t.Errorf("%s: %d %v", conn, status, m)
		}
	}
	if b.count() != 0 {
		t.Errorf("the backend got %d requests", b.count())
	}
}

func TestCredentials(t *testing.T) {
	const secret = "s3cr3t-P4ssw0rd"
	s := start(t)
	b := newBackend(t)
	putObject(t, s, "security", "billing.creds", map[string]any{"type": "basic_auth", "username": "billing", "password": secret})
	putObject(t, s, "security", "crm.key", map[string]any{"type": "apikey", "password": secret + "-key"})
	putObject(t, s, "security", "erp.key", map[string]any{"type": "apikey", "password": secret + "-erp", "header": "x-erp-token"})
	putConn(t, s, "Billing", map[string]any{"host": b.URL, "url_path": "/b", "security": "billing.creds"})
	putConn(t, s, "CRM", map[string]any{"host": b.URL, "url_path": "/c", "security": "crm.key"})
	putConn(t, s, "ERP", map[string]any{"host": b.URL, "url_path": "/e", "security": "erp.key"})

	// User headers pass, except where they would replace the credentials.
	headers := map[string]any{"Authorization": "Bearer forged", "X-Api-Key": "forged", "X-Erp-Token": "forged", "X-App-Name": "Plexus"}
	call(t, s, map[string]any{"conn": "Billing", "method": "GET", "headers": headers})
	got := b.last(t)
	if got.Header.Get("Authorization") != "Basic "+base64.StdEncoding.EncodeToString([]byte("billing:"+secret)) ||
		got.Header.Get("X-App-Name") != "Plexus" || got.Header.Get("X-Api-Key") != "forged" {
		t.Errorf("basic_auth: %v", got.Header)
	}
	call(t, s, map[string]any{"conn": "CRM", "method": "GET", "headers": headers})
	if got := b.last(t); len(got.Header.Values("X-API-Key")) != 1 || got.Header.Get("X-API-Key") != secret+"-key" || got.Header.Get("Authorization") != "Bearer forged" {
		t.Errorf("apikey: %v", got.Header)
	}
	call(t, s, map[string]any{"conn": "ERP", "method": "GET", "headers": headers})
	if got := b.last(t); len(got.Header.Values("X-ERP-Token")) != 1 || got.Header.Get("X-ERP-Token") != secret+"-erp" || got.Header.Get("X-Api-Key") != "forged" {
		t.Errorf("apikey with a header: %v", got.Header)
	}

	// Changing the definition alone changes what the next call carries.
	putObject(t, s, "security", "billing.creds", map[string]any{"type": "basic_auth", "username": "billing2", "password": "******"})
	call(t, s, map[string]any{"conn": "Billing", "method": "GET"})
	if u, p, _ := (&http.Request{Header: b.last(t).Header}).BasicAuth(); u != "billing2" || p != secret {
		t.Errorf("after changing the definition: %q %q", u, p)
	}

	// An inactive definition stops the calls.
	putObject(t, s, "security", "crm.key", map[string]any{"type": "apikey", "password": "******", "is_active": false})
	status, m, _ := call(t, s, map[string]any{"conn": "CRM", "method": "GET"})
	if status != 503 || m["details"] != `Security definition "crm.key" of outgoing REST connection "CRM" is inactive` {
		t.Errorf("inactive definition: %d %v", status, m)
	}

	// A definition in use cannot be deleted.
	r := s.AdminCall("DELETE", admin.Prefix+"/objects/security/billing.creds", "")
	if r.StatusCode != 400 || !strings.Contains(string(r.Body), `security \"billing.creds\": still used by outgoing_rest \"Billing\"`) {
		t.Errorf("deleting a definition in use: %d %s", r.StatusCode, r.Body)
	}
	r = s.AdminCall("PUT", admin.Prefix+"/objects/outgoing_rest/Nope", `{"host": "http://h", "url_path": "/", "security": "nope"}`)
	if r.StatusCode != 400 || !strings.Contains(string(r.Body), `security: no Security definition named \"nope\" exists`) {
		t.Errorf("unknown definition: %d %s", r.StatusCode, r.Body)
	}

	// The secret appears nowhere: not in the admin API, not in the log.
	for _, path := range []string{"/objects/security", "/objects/security/billing.creds", "/objects/outgoing_rest", "/kinds"} {
		r := s.AdminCall("GET", admin.Prefix+path, "")
		if strings.Contains(string(r.Body), secret) || r.StatusCode != 200 {
			t.Errorf("GET %s shows the secret: %d %s", path, r.StatusCode, r.Body)
		}
	}
	// Failures do not reveal it either.
	b.Close()
	for _, conn := range []string{"Billing", "ERP"} {
		status, m, _ := call(t, s, map[string]any{"conn": conn, "method": "GET"})
		if status != 502 || strings.Contains(fmt.Sprint(m), secret) {
			t.Errorf("%s on a closed backend: %d %v", conn, status, m)
		}
	}
	if log := s.Log.String(); strings.Contains(log, secret) || strings.Contains(log, base64.StdEncoding.EncodeToString([]byte("billing:"+secret))) {
		t.Errorf("the log shows the secret:\n%s", log)
	}
}

func TestTimeout(t *testing.T) {
	s := start(t)
	b := newBackend(t)
	release := make(chan struct{})
	t.Cleanup(func() { close(release) })
	b.handle(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-release:
		case <-r.Context().Done():
		}
	})
	putConn(t, s, "Slow API", map[string]any{"host": b.URL, "url_path": "/slow", "timeout": "100ms"})
	status, m, _ := call(t, s, map[string]any{"conn": "Slow API", "method": "GET"})
	if status != 504 || m["details"] != `Timeout calling outgoing REST connection "Slow API"` || m["result"] != "Error" {
		t.Errorf("%d %v", status, m)
	}
	if strings.Contains(fmt.Sprint(m), b.URL) {
		t.Errorf("the answer shows the address: %v", m)
	}
}

func TestConnectionFailures(t *testing.T) {
	s := start(t)
	putConn(t, s, "Refused", map[string]any{"host": "http://" + closedAddr(t), "url_path": "/x"})
	putConn(t, s, "Nowhere", map[string]any{"host": "http://no-such-host.invalid", "url_path": "/x"})
	for conn, want := range map[string]string{
		"Refused": `Could not call outgoing REST connection "Refused": connection refused`,
		"Nowhere": `Could not call outgoing REST connection "Nowhere": host not found`,
	} {
		status, m, r := call(t, s, map[string]any{"conn": conn, "method": "GET"})
		if status != 502 || m["details"] != want {
			t.Errorf("%s: %d %v", conn, status, m)
		}
		s.Log.WaitFor(t, "service failed", r.Header.Get("X-Plexus-CID"), "status=502")
	}
}

func TestRetries(t *testing.T) {
	s := start(t)
	b := newBackend(t)
	var calls int
	var answers []func(w http.ResponseWriter, r *http.Request)
	b.handle(func(w http.ResponseWriter, r *http.Request) {
		b.mu.Lock()
		var answer func(w http.ResponseWriter, r *http.Request)
		if calls < len(answers) {
			answer = answers[calls]
		}
		calls++
		b.mu.Unlock()
		if answer != nil {
			answer(w, r)
			return
		}
		fmt.Fprint(w, `{"ok": true}`)
	})
	tooMany := func(after string) func(w http.ResponseWriter, r *http.Request) {
		return func(w http.ResponseWriter, r *http.Request) {
			if after != "" {
				w.Header().Set("Retry-After", after)
			}
			w.WriteHeader(429)
		}
	}
	slow := func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-r.Context().Done():
		case <-time.After(5 * time.Second):
		}
	}
	status500 := func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(500) }
	reset := func(answers_ ...func(w http.ResponseWriter, r *http.Request)) {
		b.mu.Lock()
		calls, answers, b.reqs = 0, answers_, nil
		b.mu.Unlock()
	}
	putConn(t, s, "Retrying", map[string]any{"host": b.URL, "url_path": "/r", "max_retries": 2, "retry_sleep_time": "10ms", "timeout": "400ms"})

	// 429 with Retry-After, then success: the sleep honours Retry-After.
	reset(tooMany("1"))
	status, m, _ := call(t, s, map[string]any{"conn": "Retrying", "method": "POST", "data": map[string]any{"a": 1}})
	reqs := b.all()
	if status != 200 || m["status"] != 200.0 || len(reqs) != 2 {
		t.Fatalf("429 then 200: %d %v, %d requests", status, m, len(reqs))
	}
	if gap := reqs[1].At.Sub(reqs[0].At); gap < time.Second {
		t.Errorf("the retry came %v after the 429, before its Retry-After of 1s", gap)
	}
	if reqs[1].Body != `{"a":1}` {
		t.Errorf("the retry's body: %q", reqs[1].Body)
	}

	// A timeout, then success.
	reset(slow)
	if status, m, _ := call(t, s, map[string]any{"conn": "Retrying", "method": "GET"}); status != 200 || b.count() != 2 {
		t.Errorf("timeout then 200: %d %v, %d requests", status, m, b.count())
	}

	// Retries run out: the last 429 is the response.
	reset(tooMany(""), tooMany(""), tooMany(""), tooMany(""))
	if status, m, _ := call(t, s, map[string]any{"conn": "Retrying", "method": "GET"}); status != 200 || m["status"] != 429.0 || b.count() != 3 {
		t.Errorf("429 three times: %d %v, %d requests", status, m, b.count())
	}

	// Timeouts every time: 504 after every attempt.
	reset(slow, slow, slow)
	if status, m, _ := call(t, s, map[string]any{"conn": "Retrying", "method": "GET"}); status != 504 || m["details"] != `Timeout calling outgoing REST connection "Retrying" (3 attempts)` || b.count() != 3 {
		t.Errorf("timeouts: %d %v, %d requests", status, m, b.count())
	}

	// Other statuses are answered at once.
	reset(status500)
	if status, m, _ := call(t, s, map[string]any{"conn": "Retrying", "method": "GET"}); status != 200 || m["status"] != 500.0 || b.count() != 1 {
		t.Errorf("500: %d %v, %d requests", status, m, b.count())
	}

	// A Retry-After past the budget returns the 429 at once.
	putConn(t, s, "Retrying", map[string]any{"host": b.URL, "url_path": "/r", "max_retries": 2, "retry_backoff_threshold": "5s"})
	reset(tooMany("120"))
	if status, m, _ := call(t, s, map[string]any{"conn": "Retrying", "method": "GET"}); status != 200 || m["status"] != 429.0 || b.count() != 1 {
		t.Errorf("Retry-After past the budget: %d %v, %d requests", status, m, b.count())
	}

	// Connection errors are retried too.
	putConn(t, s, "Down", map[string]any{"host": "http://" + closedAddr(t), "url_path": "/r", "max_retries": 2, "retry_sleep_time": "1ms"})
	if status, m, _ := call(t, s, map[string]any{"conn": "Down", "method": "GET"}); status != 502 || m["details"] != `Could not call outgoing REST connection "Down": connection refused (3 attempts)` {
		t.Errorf("refused: %d %v", status, m)
	}
	s.Log.WaitFor(t, "retrying an outgoing REST call", "connection=Down", "attempt=2", "reason=refused")
}

func TestRedirects(t *testing.T) {
	s := start(t)
	b := newBackend(t)
	other := newBackend(t)
	b.handle(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/old":
			http.Redirect(w, r, "/new", http.StatusFound)
		case "/away":
			http.Redirect(w, r, other.URL+"/there", http.StatusTemporaryRedirect)
		default:
			fmt.Fprint(w, `"here"`)
		}
	})
	putObject(t, s, "security", "key", map[string]any{"type": "apikey", "password": "the-key"})
	putConn(t, s, "Stay", map[string]any{"host": b.URL, "url_path": "/{p}"})
	putConn(t, s, "Follow", map[string]any{"host": b.URL, "url_path": "/{p}", "follow_redirects": true, "security": "key"})
	if _, m, _ := call(t, s, map[string]any{"conn": "Stay", "method": "GET", "params": map[string]any{"p": "old"}, "no_data": true}); m["status"] != 302.0 {
		t.Errorf("not following: %v", m)
	}
	if _, m, _ := call(t, s, map[string]any{"conn": "Follow", "method": "GET", "params": map[string]any{"p": "old"}}); m["status"] != 200.0 || m["data"] != "here" {
		t.Errorf("following: %v", m)
	}
	if got := b.last(t); got.Header.Get("X-API-Key") != "the-key" {
		t.Errorf("same host: the key was dropped: %v", got.Header)
	}
	if _, m, _ := call(t, s, map[string]any{"conn": "Follow", "method": "POST", "data": "x", "params": map[string]any{"p": "away"}}); m["status"] != 200.0 {
		t.Errorf("following to another host: %v", m)
	}
	if got := other.last(t); got.Header.Get("X-API-Key") != "" || len(got.Header.Values("X-API-Key")) != 0 || got.Body != "x" || got.Header.Get("X-Plexus-CID") == "" {
		t.Errorf("another host got the key or lost the body: %v %q", got.Header, got.Body)
	}
}

func TestBadHeadersAndLargeResponses(t *testing.T) {
	s := start(t)
	b := newBackend(t)
	b.handle(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/chunked" {
			w.(http.Flusher).Flush() // no Content-Length: the limit applies while reading
		}
		fmt.Fprint(w, strings.Repeat("x", 2000))
	})
	putConn(t, s, "Small", map[string]any{"host": b.URL, "url_path": "/{p}", "data_format": "raw", "max_response_size": 1000, "max_retries": 2})
	putConn(t, s, "Large", map[string]any{"host": b.URL, "url_path": "/{p}", "data_format": "raw", "max_response_size": 0})
	for _, p := range []string{"sized", "chunked"} {
		status, m, _ := call(t, s, map[string]any{"conn": "Small", "method": "GET", "params": map[string]any{"p": p}})
		if status != 502 || m["details"] != `Could not call outgoing REST connection "Small": the response is larger than 1000 bytes (max_response_size)` {
			t.Errorf("%s: %d %v", p, status, m)
		}
	}
	if b.count() != 2 {
		t.Errorf("a response too large was retried: %d requests", b.count())
	}
	if status, m, _ := call(t, s, map[string]any{"conn": "Large", "method": "GET", "params": map[string]any{"p": "chunked"}}); status != 200 || len(m["text"].(string)) != 2000 {
		t.Errorf("no limit: %d", status)
	}
	status, _, r := call(t, s, map[string]any{"conn": "Large", "method": "GET", "params": map[string]any{"p": "x"}, "headers": map[string]any{"X Bad": "1"}})
	if status != 500 || b.count() != 3 {
		t.Errorf("bad header name: %d, %d requests", status, b.count())
	}
	s.Log.WaitFor(t, r.Header.Get("X-Plexus-CID"), `header \"X Bad\" is not a valid HTTP header name and value`)
	if status, _, _ := call(t, s, map[string]any{"conn": "Large", "method": "GET", "params": map[string]any{"p": "x"}, "headers": map[string]any{"X-Split": "a\r\nX-Injected: 1"}}); status != 500 || b.count() != 3 {
		t.Errorf("header value with CRLF: %d, %d requests", status, b.count())
	}
}

// A remote API cannot make Plexus allocate more than
// limits.max_outgoing_response_size, whatever Content-Length it announces
// or however much it streams, even on a connection with max_response_size
// 0 (or above the server's limit): the caller gets 502 naming the limit.
func TestResponseCap(t *testing.T) {
	const limit = 1 << 20
	s := servertest.Start(t, servertest.Options{Services: []any{callService},
		Settings: fmt.Sprintf("limits:\n  max_outgoing_response_size: %d\n", limit)})
	s.Channel("call", "test.call", "POST", "/call", nil)
	// A remote end that announces 4 GiB and sends ten bytes.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			conn, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer conn.Close()
				if _, err := http.ReadRequest(bufio.NewReader(conn)); err != nil {
					return
				}
				io.WriteString(conn, "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 4294967296\r\n\r\n0123456789")
			}()
		}
	}()
	b := newBackend(t)
	b.handle(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodHead { // describes a large resource, sends no body
			w.Header().Set("Content-Length", "2000000")
			return
		}
		w.(http.Flusher).Flush() // no Content-Length
		chunk := strings.Repeat("x", 64<<10)
		for range 2 * limit / len(chunk) {
			if _, err := io.WriteString(w, chunk); err != nil {
				return
			}
		}
	})
	putConn(t, s, "Liar", map[string]any{"host": "http://" + ln.Addr().String(), "url_path": "/", "data_format": "raw", "max_response_size": 0})
	putConn(t, s, "Stream", map[string]any{"host": b.URL, "url_path": "/", "data_format": "raw", "max_response_size": 0})
	putConn(t, s, "Above", map[string]any{"host": b.URL, "url_path": "/", "data_format": "raw", "max_response_size": 100 << 20})
	putConn(t, s, "Small", map[string]any{"host": b.URL, "url_path": "/", "data_format": "raw", "max_response_size": 1000})
	for _, name := range []string{"Liar", "Stream", "Above"} {
		var before, after goruntime.MemStats
		goruntime.ReadMemStats(&before)
		status, m, _ := call(t, s, map[string]any{"conn": name, "method": "GET", "no_data": true})
		goruntime.ReadMemStats(&after)
		want := fmt.Sprintf(`Could not call outgoing REST connection %q: the response is larger than %d bytes (limits.max_outgoing_response_size)`, name, limit)
		if status != 502 || m["details"] != want {
			t.Errorf("%s: %d %.200v", name, status, m["details"])
		}
		if grew := after.TotalAlloc - before.TotalAlloc; grew > 64<<20 {
			t.Errorf("%s: the call allocated %d MiB", name, grew>>20)
		}
	}
	// An answer to HEAD has no body: its Content-Length is not a size read.
	if status, m, _ := call(t, s, map[string]any{"conn": "Small", "method": "HEAD", "no_data": true}); status != 200 || m["status"] != float64(200) {
		t.Errorf("HEAD of a resource larger than max_response_size: %d %v", status, m)
	}
}
