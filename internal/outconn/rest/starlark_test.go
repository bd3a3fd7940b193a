package rest_test

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/plexushq/plexus/internal/admin"
	"github.com/plexushq/plexus/internal/servertest"
)

func deployStar(t testing.TB, s *servertest.Server, file, src string) {
	t.Helper()
	body, _ := json.Marshal(admin.DeployRequest{SourceFile: admin.SourceFile{File: file, Source: src}})
	if r := s.AdminCall("POST", admin.Prefix+"/deploy", string(body)); r.StatusCode != 200 {
		t.Fatalf("deploying %s: %d %s", file, r.StatusCode, r.Body)
	}
}

const verbsStar = `
def handle(self):
    conn = self.out.rest["REST Endpoint"].conn
    payload = {"user_id": "123"}
    params = {"id": "7"}
    responses = [
        conn.post(self.cid, payload),
        conn.get(self.cid, payload),
        conn.delete(self.cid, payload),
        conn.send(self.cid, payload),
        conn.put(self.cid, payload, params, headers={"X-A": "1", "X-N": 2}),
        conn.patch(self.cid, data="raw text", params={"id": 8}),
        conn.head(self.cid, {"id": 9}),
        conn.options(self.cid),
        conn.delete(self.cid, params={"id": 1}, data=[1, 2]),
        conn.get(self.cid, params={"tags": ["a", "b"]}),
    ]
    first = responses[0]
    ping = self.out.rest["REST Endpoint"].conn.ping(self.cid)
    self.response.payload = {
        "statuses": [r.status_code for r in responses],
        "uris": [r.data["uri"] for r in responses if r.status_code != 204],
        "bodies": [r.data["body"] for r in responses if r.status_code != 204],
        "data": first.data,
        "text": first.text,
        "ok": first.ok,
        "truth": bool(first),
        "content_type": first.headers["content-type"],
        "ping": [ping.status_code, ping.time_ms >= 0],
        "in": ["REST Endpoint" in self.out.rest, "Nope" in self.out.rest],
        "params_unchanged": params == {"id": "7"},
        "name": self.out.rest["REST Endpoint"].name,
    }
`

func TestStarlarkConn(t *testing.T) {
	s := start(t)
	b := newBackend(t)
	b.handle(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == "HEAD" {
			w.WriteHeader(204)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(map[string]any{"uri": r.Method + " " + r.RequestURI, "body": b.last(t).Body}) // calls come one by one
	})
	putConn(t, s, "REST Endpoint", map[string]any{"host": b.URL, "url_path": "/endpoint"})
	deployStar(t, s, "verbs.star", verbsStar)
	s.Channel("verbs", "verbs", "", "/verbs", nil)
	r := s.Call("GET", "/verbs", "", nil)
	var m map[string]any
	if err := json.Unmarshal(r.Body, &m); err != nil || r.StatusCode != 200 {
		t.Fatalf("%d %s", r.StatusCode, r.Body)
	}
	want := map[string]string{
		"statuses": `[200,200,200,200,200,200,204,200,200,200]`,
		"uris": `["POST /endpoint","GET /endpoint?user_id=123","DELETE /endpoint?user_id=123","POST /endpoint","PUT /endpoint?id=7",` +
			`"PATCH /endpoint?id=8","OPTIONS /endpoint","DELETE /endpoint?id=1","GET /endpoint?tags=a\u0026tags=b"]`,
		"bodies":           `["{\"user_id\":\"123\"}","","","{\"user_id\":\"123\"}","{\"user_id\":\"123\"}","raw text","","[1,2]",""]`,
		"ok":               `true`,
		"truth":            `true`,
		"content_type":     `"application/json"`,
		"ping":             `[204,true]`,
		"in":               `[true,false]`,
		"params_unchanged": `true`,
		"name":             `"REST Endpoint"`,
		"data":             `{"body":"{\"user_id\":\"123\"}","uri":"POST /endpoint"}`,
	}
	for k, v := range want {
		if got, _ := json.Marshal(m[k]); string(got) != v {
			t.Errorf("%s = %s, want %s", k, got, v)
		}
	}
	if !strings.HasPrefix(m["text"].(string), `{"body":`) {
		t.Errorf("text: %v", m["text"])
	}
	for _, req := range b.all() {
		if req.Header.Get("X-Plexus-CID") != r.Header.Get("X-Plexus-CID") {
			t.Errorf("%s %s carries cid %q", req.Method, req.RequestURI, req.Header.Get("X-Plexus-CID"))
		}
		if req.Method == "PUT" && (req.Header.Get("X-A") != "1" || req.Header.Get("X-N") != "2") {
			t.Errorf("PUT headers: %v", req.Header)
		}
	}
}

func TestStarlarkErrors(t *testing.T) {
	s := start(t)
	b := newBackend(t)
	release := make(chan struct{})
	t.Cleanup(func() { close(release) })
	b.handle(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/slow":
			select {
			case <-release:
			case <-r.Context().Done():
			}
		case "/bad":
			w.Header().Set("Content-Type", "application/json")
			w.Write([]byte("{not json"))
		}
	})
	putConn(t, s, "Billing", map[string]any{"host": b.URL, "url_path": "/api/billing/{phone_no}"})
	putConn(t, s, "Slow", map[string]any{"host": b.URL, "url_path": "/slow", "timeout": "100ms"})
	putConn(t, s, "Bad", map[string]any{"host": b.URL, "url_path": "/bad"})
	putConn(t, s, "Off", map[string]any{"host": b.URL, "url_path": "/", "is_active": false})
	deployStar(t, s, "err.star", "def handle(self): pass")
	s.Channel("err", "err", "", "/err", nil)
	for _, c := range []struct {
		code    string
		status  int
		details string
		log     string
	}{
		{`self.out.rest["Bilingg"]`, 500, "Internal server error", `no outgoing REST connection named \"Bilingg\"; did you mean \"Billing\"?`},
		{`self.out.rest["Off"]`, 503, `Outgoing REST connection \"Off\" is inactive`, ""},
		{`self.out.rest["Billing"].conn.get(self.cid, {"cust_id": "1"})`, 500, "Internal server error", `calling outgoing REST connection \"Billing\": missing path parameter phone_no (url_path /api/billing/{phone_no})`},
		{`self.out.rest["Slow"].conn.get(self.cid)`, 504, `Timeout calling outgoing REST connection \"Slow\"`, ""},
		{`self.response.payload = self.out.rest["Bad"].conn.get(self.cid).status_code`, 200, "", ""},
		{`self.out.rest["Bad"].conn.get(self.cid).data`, 502, `Could not parse the JSON response of outgoing REST connection \"Bad\"`, ""},
		{`self.out.rest["Billing"].conn.get(self.cid, "x")`, 500, "Internal server error", "Error in get: params must be a dict, not string"},
		{`self.out.rest["Billing"].conn.get(self.cid, {"phone_no": 1}, headers={"A": [1]})`, 500, "Internal server error", `Error in get: header \"A\" must be a string, not list`},
		{`self.out.rest["Billing"].conn.post(1)`, 500, "Internal server error", "Error in post: cid must be a string such as self.cid, not int"},
		{`self.out.rest["Billing"].conn.post(self.cid, {"a": 1}, {}, {}, 5)`, 500, "Internal server error", "post: got 5 arguments, want at most 4"},
		{`self.out.rest[1]`, 500, "Internal server error", "out.rest: connection names are strings, not int"},
	} {
		deployStar(t, s, "err.star", "def handle(self):\n    "+c.code+"\n")
		r := s.Call("GET", "/err", "", nil)
		if r.StatusCode != c.status || (c.details != "" && !strings.Contains(string(r.Body), `"details":"`+c.details+`"`)) {
			t.Errorf("%s: %d %s, want %d %s", c.code, r.StatusCode, r.Body, c.status, c.details)
		}
		if c.log != "" {
			s.Log.WaitFor(t, r.Header.Get("X-Plexus-CID"), c.log)
		}
	}
}

// What a Starlark service makes of a response counts against its memory
// allowance: data is made from the body as far as the allowance goes.
func TestStarlarkResponseCharged(t *testing.T) {
	s := servertest.Start(t, servertest.Options{Settings: "starlark:\n  max_memory: 4MiB\n"})
	b := newBackend(t)
	b.handle(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		switch r.URL.Path {
		case "/small":
			w.Write([]byte(`{"b":[1,2],"a":"x"}`))
		case "/objects": // 300 KB: 100,000 dicts
			w.Write([]byte("[" + strings.Repeat("{},", 99_999) + "{}]"))
		case "/long": // 5 MB of one string
			w.Write([]byte(`"` + strings.Repeat("x", 5<<20) + `"`))
		}
	})
	for _, name := range []string{"small", "objects", "long"} {
		putConn(t, s, name, map[string]any{"host": b.URL, "url_path": "/" + name})
	}
	deployStar(t, s, "out.star", "def handle(self):\n    r = self.out.rest[self.request.input.conn].conn.get(self.cid)\n"+
		"    self.response.payload = {\"n\": len(getattr(r, self.request.input.attr))}\n")
	s.Channel("out", "out", "", "/out", nil)
	if r := s.Call("POST", "/out", `{"conn":"small","attr":"data"}`, nil); string(r.Body) != `{"n":2}` {
		t.Errorf("small: %d %s", r.StatusCode, r.Body)
	}
	for _, c := range []struct{ conn, attr, log string }{
		{"objects", "data", "starlark.max_memory (4MiB) exceeded: decoding JSON"},
		{"long", "text", "starlark.max_memory (4MiB) exceeded: the text of a response"},
	} {
		r := s.Call("POST", "/out", `{"conn":"`+c.conn+`","attr":"`+c.attr+`"}`, nil)
		if r.StatusCode != 500 {
			t.Errorf("%s.%s: %d %.200s", c.conn, c.attr, r.StatusCode, r.Body)
		}
		s.Log.WaitFor(t, r.Header.Get("X-Plexus-CID"), c.log)
	}
}
