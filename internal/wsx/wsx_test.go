package wsx_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/plexushq/plexus/internal/registry"
	"github.com/plexushq/plexus/internal/servertest"
	"github.com/plexushq/plexus/internal/wsx"
	"github.com/plexushq/plexus/sdk/service"
)

func TestDeclarations(t *testing.T) {
	for _, id := range []string{wsx.ChannelKind, wsx.OutgoingKind} {
		k, ok := registry.Lookup(id)
		if !ok {
			t.Fatalf("%s is not registered", id)
		}
		for _, err := range k.Lint() {
			t.Error(err)
		}
	}
}

// services used by the tests.
const (
	echoSvc = `name = "test.echo"

def handle(self):
    cl = self.channel.client
    self.response.payload = {"got": self.request.payload, "channel": self.channel.name, "type": self.channel.type,
        "client": cl.id, "user": cl.user, "version": 1}
`
	echo2Svc = `name = "test.echo2"

def handle(self):
    self.response.payload = {"got": self.request.payload, "version": 2}
`
	tokenSvc = `name = "test.token"

def handle(self):
    self.response.payload = {"token": self.security.jwt.create("browser")}
`
	notifySvc = `name = "test.notify"

def handle(self):
    p = self.request.payload
    for i in range(p.get("times", 1)):
        self.wsx.channel[p["channel"]].broadcast(p["data"])
    self.response.payload = {"ok": True}
`
	relaySvc = `name = "test.relay"

def handle(self):
    self.wsx.channel["watch"].broadcast({"relayed": self.request.payload, "event": self.channel.message.event})
    self.response.payload = {"answer": "from the relay"}
`
	sendSvc = `name = "test.send"

def handle(self):
    self.out.wsx["zout"].conn.send(self.request.payload)
`
	askSvc = `name = "test.ask"

def handle(self):
    p = self.request.payload
    self.response.payload = {"reply": self.wsx.channel[p["channel"]].invoke(p["client"], p["data"], timeout=10)}
`
)

func start(t *testing.T) *servertest.Server {
	t.Helper()
	s := servertest.Start(t, servertest.Options{})
	for file, src := range map[string]string{"echo.star": echoSvc, "echo2.star": echo2Svc, "token.star": tokenSvc,
		"notify.star": notifySvc, "ask.star": askSvc, "relay.star": relaySvc, "send.star": sendSvc} {
		s.Deploy(file, src)
	}
	s.Channel("notify", "test.notify", "POST", "/notify", nil)
	s.Channel("ask", "test.ask", "POST", "/ask", nil)
	s.Channel("token", "test.token", "POST", "/token", nil)
	s.Channel("send", "test.send", "POST", "/send", nil)
	return s
}

// dial connects a client to a path of the server's API listener.
func dial(t testing.TB, s *servertest.Server, path string, h http.Header) (*websocket.Conn, *http.Response, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, resp, err := websocket.Dial(ctx, "ws"+strings.TrimPrefix(s.API, "http")+path, &websocket.DialOptions{HTTPHeader: h})
	if err == nil {
		c.SetReadLimit(1 << 24)
		t.Cleanup(func() { c.CloseNow() })
	}
	return c, resp, err
}

func mustDial(t testing.TB, s *servertest.Server, path string, h http.Header) *websocket.Conn {
	t.Helper()
	c, _, err := dial(t, s, path, h)
	if err != nil {
		t.Fatalf("dial %s: %v", path, err)
	}
	return c
}

func send(t testing.TB, c *websocket.Conn, v any) {
	t.Helper()
	b, _ := json.Marshal(v)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := c.Write(ctx, websocket.MessageText, b); err != nil {
		t.Fatalf("write: %v", err)
	}
}

func recv(t testing.TB, c *websocket.Conn) map[string]any {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_, b, err := c.Read(ctx)
	if err != nil {
		t.Fatalf("read: %v", err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatalf("%s: %v", b, err)
	}
	return m
}

// closedWith reads until the connection closes and returns its status
// and reason.
func closedWith(t testing.TB, c *websocket.Conn) (websocket.StatusCode, string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	for {
		if _, _, err := c.Read(ctx); err != nil {
			var ce websocket.CloseError
			if errors.As(err, &ce) {
				return ce.Code, ce.Reason
			}
			t.Fatalf("read ended without a close: %v", err)
		}
	}
}

func str(v any) string { return fmt.Sprint(v) }

// A plain JSON channel: each message is the payload, and the service's
// response comes back; self.channel names the client.
func TestJSONProtocol(t *testing.T) {
	s := start(t)
	s.Put(wsx.ChannelKind, "live", map[string]any{"url_path": "/ws/live", "service": "test.echo", "protocol": "json"})
	c := mustDial(t, s, "/ws/live", nil)
	send(t, c, map[string]any{"a": 1})
	m := recv(t, c)
	got, _ := m["got"].(map[string]any)
	if str(got["a"]) != "1" || m["channel"] != "live" || m["type"] != "web-socket" || !strings.HasPrefix(str(m["client"]), "wsx.") {
		t.Errorf("reply: %v", m)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	c.Write(ctx, websocket.MessageText, []byte("{not json"))
	if m := recv(t, c); m["result"] != "Error" || m["cid"] == nil {
		t.Errorf("malformed JSON: %v", m)
	}
	// A plain HTTP request to the path is told to upgrade; other paths
	// are the REST channels'.
	if r := s.Call("GET", "/ws/live", "", nil); r.StatusCode != http.StatusUpgradeRequired {
		t.Errorf("GET: %d %s", r.StatusCode, r.Body)
	}
	if r := s.Call("POST", "/notify", `{"channel": "live", "data": {"hello": "all"}}`, nil); r.StatusCode != 200 {
		t.Errorf("notify: %d %s", r.StatusCode, r.Body)
	}
	if m := recv(t, c); str(m["hello"]) != "all" {
		t.Errorf("broadcast: %v", m)
	}
}

// Zato's protocol with basic_auth: create-session, invoke-service with the
// session's token, and the replies Zato sends.
func TestZatoProtocol(t *testing.T) {
	s := start(t)
	s.Put("security", "wsx.basic", map[string]any{"type": "basic_auth", "username": "zuser", "password": "zpass-123"})
	s.Put(wsx.ChannelKind, "zato", map[string]any{"url_path": "/ws/zato", "service": "test.echo", "security": "wsx.basic"})

	c := mustDial(t, s, "/ws/zato", nil)
	send(t, c, map[string]any{"meta": map[string]any{"action": "invoke-service", "id": "m0", "token": "guess"}, "data": 1})
	if m := recv(t, c); m["meta"].(map[string]any)["msg_type"] != "zwsx.merr" {
		t.Errorf("invoke without a session: %v", m)
	}
	if code, _ := closedWith(t, c); code != websocket.StatusPolicyViolation {
		t.Errorf("closed with %d", code)
	}

	c = mustDial(t, s, "/ws/zato", nil)
	send(t, c, map[string]any{"meta": map[string]any{"action": "create-session", "id": "m1", "username": "zuser", "secret": "wrong"}})
	if m := recv(t, c); m["meta"].(map[string]any)["msg_type"] != "zwsx.merr" {
		t.Errorf("wrong secret: %v", m)
	}
	closedWith(t, c)

	c = mustDial(t, s, "/ws/zato", nil)
	send(t, c, map[string]any{"meta": map[string]any{"action": "create-session", "id": "m1", "username": "zuser", "secret": "zpass-123",
		"client_name": "tester"}})
	m := recv(t, c)
	meta := m["meta"].(map[string]any)
	token, _ := m["data"].(map[string]any)["token"].(string)
	if meta["msg_type"] != "zwsx.rspa" || str(meta["status"]) != "200" || meta["in_reply_to"] != "m1" || token == "" {
		t.Fatalf("create-session: %v", m)
	}
	send(t, c, map[string]any{"meta": map[string]any{"action": "invoke-service", "id": "m2", "token": token}, "data": map[string]any{"x": "y"}})
	m = recv(t, c)
	meta, data := m["meta"].(map[string]any), m["data"].(map[string]any)
	if meta["msg_type"] != "zwsx.rspok" || meta["in_reply_to"] != "m2" || data["user"] != "zuser" || str(data["got"]) != "map[x:y]" {
		t.Errorf("invoke-service: %v", m)
	}
	send(t, c, map[string]any{"meta": map[string]any{"action": "no-such-thing", "id": "m3"}})
	if m := recv(t, c); m["meta"].(map[string]any)["msg_type"] != "zwsx.rsperr" || str(m["meta"].(map[string]any)["status"]) != "400" {
		t.Errorf("unknown action: %v", m)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	c.Write(ctx, websocket.MessageText, []byte("]"))
	if m := recv(t, c); m["error"] != "Bad request" {
		t.Errorf("bad JSON: %v", m)
	}

	// The admin API lists the client; a service invokes it and gets its
	// client-response; the admin API disconnects it.
	list := s.AdminCall("POST", "/admin/api/v1/objects/channel_websocket/zato/clients", "").JSON(t)
	clients, _ := list["clients"].([]any)
	if len(clients) != 1 {
		t.Fatalf("clients: %v", list)
	}
	cl := clients[0].(map[string]any)
	if cl["user"] != "zuser" || cl["name"] != "tester" || str(cl["messages_in"]) != "4" || cl["remote_addr"] == "" {
		t.Errorf("client: %v", cl)
	}
	id := cl["id"].(string)
	done := make(chan *servertest.Response, 1)
	go func() {
		done <- servertest.Do(t, "POST", s.API+"/ask", `{"channel": "zato", "client": "`+id+`", "data": {"q": "?"}}`, nil)
	}()
	rq := recv(t, c)
	rqMeta := rq["meta"].(map[string]any)
	if rqMeta["msg_type"] != "zwsx.rqc" || str(rq["data"]) != "map[q:?]" {
		t.Errorf("request: %v", rq)
	}
	send(t, c, map[string]any{"meta": map[string]any{"action": "client-response", "in_reply_to": rqMeta["id"]}, "data": map[string]any{"a": "!"}})
	if r := <-done; r.StatusCode != 200 || !strings.Contains(string(r.Body), `"reply":{"a":"!"}`) {
		t.Errorf("ask: %d %s", r.StatusCode, r.Body)
	}
	if r := s.AdminCall("POST", "/admin/api/v1/objects/channel_websocket/zato/disconnect", `{"client_id": "`+id+`"}`); r.StatusCode != 200 {
		t.Errorf("disconnect: %d %s", r.StatusCode, r.Body)
	}
	if code, reason := closedWith(t, c); code != websocket.StatusPolicyViolation || reason != "disconnected by an administrator" {
		t.Errorf("closed with %d %q", code, reason)
	}
	if r := s.AdminCall("POST", "/admin/api/v1/objects/channel_websocket/zato/disconnect", `{"client_id": "`+id+`"}`); r.StatusCode != 404 {
		t.Errorf("disconnect again: %d %s", r.StatusCode, r.Body)
	}
	metrics := string(s.AdminCall("GET", "/metrics", "").Body)
	for _, want := range []string{`plexus_websocket_messages_total{direction="in",name="zato"} 7`, `plexus_websocket_clients{name="zato"} 0`} {
		if !strings.Contains(metrics, want) {
			t.Errorf("metrics lack %s", want)
		}
	}
}

// Credentials at the upgrade: the Authorization header, ?token= with a
// JWT session a service created, an API key; the session is refused
// after log-out, which closes the connection.
func TestUpgradeSecurity(t *testing.T) {
	s := start(t)
	s.Put("security", "web", map[string]any{"type": "jwt", "username": "browser", "password": "pw-4567"})
	s.Put("security", "key", map[string]any{"type": "apikey", "password": "k-1234567", "header": "X-Key"})
	s.Put("security", "basic", map[string]any{"type": "basic_auth", "username": "u1", "password": "p-1234567"})
	s.Put(wsx.ChannelKind, "jwt", map[string]any{"url_path": "/ws/jwt", "service": "test.echo", "protocol": "json", "security": "web"})
	s.Put(wsx.ChannelKind, "key", map[string]any{"url_path": "/ws/key", "service": "test.echo", "protocol": "json", "security": "key"})
	s.Put(wsx.ChannelKind, "basic", map[string]any{"url_path": "/ws/basic", "service": "test.echo", "protocol": "json", "security": "basic"})

	for _, path := range []string{"/ws/jwt", "/ws/key", "/ws/basic", "/ws/jwt?token=pxs1.forged"} {
		if _, resp, err := dial(t, s, path, nil); err == nil || resp == nil || resp.StatusCode != 401 {
			t.Errorf("%s without credentials: %v %v", path, err, resp)
		}
	}
	c := mustDial(t, s, "/ws/key", http.Header{"X-Key": {"k-1234567"}})
	send(t, c, 1)
	if m := recv(t, c); str(m["got"]) != "1" {
		t.Errorf("apikey: %v", m)
	}
	c = mustDial(t, s, "/ws/key?token=k-1234567", nil)
	send(t, c, 2)
	if m := recv(t, c); str(m["got"]) != "2" {
		t.Errorf("apikey in ?token=: %v", m)
	}
	h := http.Header{}
	h.Set("Authorization", "Basic dTE6cC0xMjM0NTY3") // u1:p-1234567
	c = mustDial(t, s, "/ws/basic", h)
	send(t, c, 3)
	if m := recv(t, c); m["user"] != "u1" {
		t.Errorf("basic: %v", m)
	}

	tok := s.Call("POST", "/token", "", nil).JSON(t)["token"].(string)
	c = mustDial(t, s, "/ws/jwt?token="+tok, nil)
	send(t, c, 4)
	if m := recv(t, c); m["user"] != "browser" {
		t.Errorf("jwt: %v", m)
	}
	if r := s.Call("POST", "/plexus/jwt/log-out", "", http.Header{"Authorization": {"Bearer " + tok}}); r.StatusCode != 200 {
		t.Fatalf("log-out: %d %s", r.StatusCode, r.Body)
	}
	send(t, c, 5)
	if m := recv(t, c); m["result"] != "Error" {
		t.Errorf("after log-out: %v", m)
	}
	if code, reason := closedWith(t, c); code != websocket.StatusPolicyViolation || reason != "not authorized" {
		t.Errorf("closed with %d %q", code, reason)
	}
	if _, resp, err := dial(t, s, "/ws/jwt?token="+tok, nil); err == nil || resp.StatusCode != 401 {
		t.Errorf("revoked token: %v %v", err, resp)
	}
	if len(s.Log.Lines(tok)) > 0 {
		t.Error("the token is in the log")
	}
}

// A client too slow to take what is sent is disconnected with a reason,
// and the others keep receiving everything.
func TestSlowClient(t *testing.T) {
	s := start(t)
	s.Put(wsx.ChannelKind, "feed", map[string]any{"url_path": "/ws/feed", "service": "test.echo", "protocol": "json", "send_queue": 100})
	slow := mustDial(t, s, "/ws/feed", nil)
	fast := []*websocket.Conn{mustDial(t, s, "/ws/feed", nil), mustDial(t, s, "/ws/feed", nil)}
	big := strings.Repeat("x", 64<<10)
	body, _ := json.Marshal(map[string]any{"channel": "feed", "data": big, "times": 50})
	sent := 0
	for round := 0; round < 80; round++ {
		if r := s.Call("POST", "/notify", string(body), nil); r.StatusCode != 200 {
			t.Fatalf("notify: %d %s", r.StatusCode, r.Body)
		}
		sent += 50
		for _, c := range fast {
			for i := 0; i < 50; i++ {
				ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
				_, b, err := c.Read(ctx)
				cancel()
				if err != nil || len(b) != len(big) {
					t.Fatalf("fast client, message %d: %v (%d bytes)", sent-50+i, err, len(b))
				}
			}
		}
		if len(s.Log.Lines("WebSocket client disconnected", "send queue full")) > 0 {
			break
		}
	}
	s.Log.WaitFor(t, "WebSocket client disconnected", "send queue full")
	list := s.AdminCall("POST", "/admin/api/v1/objects/channel_websocket/feed/clients", "").JSON(t)
	if n := len(list["clients"].([]any)); n != 2 {
		t.Errorf("%d clients connected, want the 2 fast ones", n)
	}
	if !strings.Contains(string(s.AdminCall("GET", "/metrics", "").Body), `plexus_websocket_dropped_sends_total{name="feed"} `) {
		t.Error("no dropped sends in the metrics")
	}
	// The slow client reads its backlog, then the close, unless its
	// buffers were too full for the close frame to be written in time.
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	for {
		_, _, err := slow.Read(ctx)
		if err == nil {
			continue
		}
		var ce websocket.CloseError
		if errors.As(err, &ce) && (ce.Code != websocket.StatusTryAgainLater || ce.Reason != "send queue full") {
			t.Errorf("slow client closed with %d %q", ce.Code, ce.Reason)
		}
		if ctx.Err() != nil {
			t.Error("the slow client was never disconnected")
		}
		break
	}
}

// Changing the channel's service while 1,000 clients are connected drops
// none of them: their next messages go to the new service.
func TestEditKeepsClients(t *testing.T) {
	s := start(t)
	s.Put(wsx.ChannelKind, "many", map[string]any{"url_path": "/ws/many", "service": "test.echo", "protocol": "json"})
	n := 1000
	if testing.Short() {
		n = 100
	}
	conns := make([]*websocket.Conn, n)
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for i := range conns {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			c, _, err := dial(t, s, "/ws/many", nil)
			if err != nil {
				errs <- err
				return
			}
			conns[i] = c
		}(i)
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	s.Put(wsx.ChannelKind, "many", map[string]any{"url_path": "/ws/many", "service": "test.echo2", "protocol": "json"})
	for i, c := range conns {
		send(t, c, i)
	}
	for i, c := range conns {
		m := recv(t, c)
		if str(m["version"]) != "2" || str(m["got"]) != str(i) {
			t.Fatalf("client %d after the change: %v", i, m)
		}
	}
	list := s.AdminCall("POST", "/admin/api/v1/objects/channel_websocket/many/clients", "").JSON(t)
	if got := len(list["clients"].([]any)); got != n {
		t.Errorf("%d clients, want %d", got, n)
	}
	if lines := s.Log.Lines("WebSocket client disconnected"); len(lines) > 0 {
		t.Errorf("%d clients were disconnected: %s", len(lines), lines[0])
	}
}

// An outgoing connection to a Zato-protocol channel (here, one of the same
// server): it creates its session, sends what services send as
// invoke-service, hands the replies and the channel's requests to its
// on-message service (whose response answers a request), and connects
// again once it is disconnected.
func TestOutgoingZato(t *testing.T) {
	s := start(t)
	s.Put("security", "zb", map[string]any{"type": "basic_auth", "username": "peer", "password": "peer-pass-1"})
	s.Put(wsx.ChannelKind, "zin", map[string]any{"url_path": "/ws/zin", "service": "test.echo", "security": "zb"})
	s.Put(wsx.ChannelKind, "watch", map[string]any{"url_path": "/ws/watch", "service": "test.echo", "protocol": "json"})
	watch := mustDial(t, s, "/ws/watch", nil)
	s.Put(wsx.OutgoingKind, "zout", map[string]any{"address": "ws" + strings.TrimPrefix(s.API, "http") + "/ws/zin", "is_zato": true,
		"security": "zb", "on_connect_service": "test.relay", "on_message_service": "test.relay", "on_close_service": "test.relay"})
	if m := recv(t, watch); m["event"] != "connect" {
		t.Errorf("on connect: %v", m)
	}
	if r := s.Call("POST", "/send", `{"n": 1}`, nil); r.StatusCode != 200 {
		t.Fatalf("send: %d %s", r.StatusCode, r.Body)
	}
	m := recv(t, watch)
	relayed, _ := m["relayed"].(map[string]any)
	if m["event"] != "message" || relayed["user"] != "peer" || str(relayed["got"]) != "map[n:1]" {
		t.Errorf("on message: %v", m)
	}
	list := s.AdminCall("POST", "/admin/api/v1/objects/channel_websocket/zin/clients", "").JSON(t)["clients"].([]any)
	if len(list) != 1 {
		t.Fatalf("clients of zin: %v", list)
	}
	id := list[0].(map[string]any)["id"].(string)
	r := s.Call("POST", "/ask", `{"channel": "zin", "client": "`+id+`", "data": {"q": 2}}`, nil)
	if r.StatusCode != 200 || !strings.Contains(string(r.Body), `"reply":{"answer":"from the relay"}`) {
		t.Errorf("ask: %d %s", r.StatusCode, r.Body)
	}
	if m := recv(t, watch); str(m["relayed"]) != "map[q:2]" {
		t.Errorf("request relayed: %v", m)
	}
	s.AdminCall("POST", "/admin/api/v1/objects/channel_websocket/zin/disconnect", `{"client_id": "`+id+`"}`)
	if m := recv(t, watch); m["event"] != "close" || str(m["relayed"].(map[string]any)["code"]) != "1008" {
		t.Errorf("on close: %v", m)
	}
	if m := recv(t, watch); m["event"] != "connect" {
		t.Errorf("after reconnecting: %v", m)
	}
}

// Zato's web_socket section is imported: its address's path becomes the
// channel's url_path, service_name its service.
func TestZatoImport(t *testing.T) {
	s := start(t)
	s.Import(`web_socket:
  - name: My WSX API Channel
    is_active: true
    address: ws://0.0.0.0:48902/my/channel
    service_name: test.echo
    sec_def: zato-no-security
    data_format: json
    new_token_wait_time: 5
    token_ttl: 3600
    ping_interval: 45
    pings_missed_threshold: 2
    is_internal: false
`)
	c := mustDial(t, s, "/my/channel", nil)
	send(t, c, map[string]any{"meta": map[string]any{"action": "create-session", "id": "1"}})
	m := recv(t, c)
	token, _ := m["data"].(map[string]any)["token"].(string)
	send(t, c, map[string]any{"meta": map[string]any{"action": "invoke-service", "id": "2", "token": token}, "data": "hi"})
	m = recv(t, c)
	if m["data"].(map[string]any)["channel"] != "My WSX API Channel" || m["data"].(map[string]any)["got"] != "hi" {
		t.Errorf("reply: %v", m)
	}
	if r := s.Call("POST", "/notify", `{"channel": "My WSX API Channel", "data": "Hello from Zato"}`, nil); r.StatusCode != 200 {
		t.Fatalf("notify: %d %s", r.StatusCode, r.Body)
	}
	if m := recv(t, c); m["data"] != "Hello from Zato" || m["meta"].(map[string]any)["msg_type"] != "zwsx.rqc" {
		t.Errorf("broadcast: %v", m)
	}
}

// A client that answers no pings, one that sends nothing for token_ttl,
// and a Zato client that creates no session in time are disconnected,
// each with its reason.
func TestTimeouts(t *testing.T) {
	s := start(t)
	s.Put(wsx.ChannelKind, "pings", map[string]any{"url_path": "/ws/pings", "service": "test.echo", "protocol": "json",
		"ping_interval": "200ms", "pings_missed_threshold": 1})
	s.Put(wsx.ChannelKind, "idle", map[string]any{"url_path": "/ws/idle", "service": "test.echo", "protocol": "json", "token_ttl": "1s"})
	s.Put(wsx.ChannelKind, "nosession", map[string]any{"url_path": "/ws/nosession", "service": "test.echo", "new_token_wait_time": "300ms"})

	mustDial(t, s, "/ws/pings", nil) // never reads, so never answers a ping
	s.Log.WaitFor(t, "WebSocket client disconnected", "channel=pings", "pings not answered")

	c := mustDial(t, s, "/ws/idle", nil)
	send(t, c, 1)
	recv(t, c)
	if code, reason := closedWith(t, c); code != websocket.StatusPolicyViolation || reason != "session expired" {
		t.Errorf("idle client closed with %d %q", code, reason)
	}
	c = mustDial(t, s, "/ws/nosession", nil)
	if code, reason := closedWith(t, c); code != websocket.StatusPolicyViolation || reason != "no session created in time" {
		t.Errorf("client without a session closed with %d %q", code, reason)
	}
}

// A channel takes max_clients clients and refuses more with 503; a
// message larger than max_message_size closes its connection with 1009.
func TestLimits(t *testing.T) {
	s := start(t)
	s.Put(wsx.ChannelKind, "small", map[string]any{"url_path": "/ws/small", "service": "test.echo", "protocol": "json",
		"max_clients": 1, "max_message_size": 100})
	c := mustDial(t, s, "/ws/small", nil)
	if _, resp, err := dial(t, s, "/ws/small", nil); err == nil || resp == nil || resp.StatusCode != 503 {
		t.Errorf("a second client: %v %v", err, resp)
	}
	send(t, c, strings.Repeat("x", 200))
	if code, _ := closedWith(t, c); code != websocket.StatusMessageTooBig {
		t.Errorf("a large message closed the connection with %d", code)
	}
}

// An outgoing connection to a plain JSON peer sends what services send
// as it is, and hands each message to its on-message service.
func TestOutgoingPlain(t *testing.T) {
	s := start(t)
	s.Put(wsx.ChannelKind, "peer", map[string]any{"url_path": "/ws/peer", "service": "test.echo2", "protocol": "json"})
	s.Put(wsx.ChannelKind, "watch", map[string]any{"url_path": "/ws/watch", "service": "test.echo", "protocol": "json"})
	watch := mustDial(t, s, "/ws/watch", nil)
	s.Put(wsx.OutgoingKind, "zout", map[string]any{"address": "ws" + strings.TrimPrefix(s.API, "http") + "/ws/peer",
		"on_message_service": "test.relay"})
	if r := s.Call("POST", "/send", `{"n": 7}`, nil); r.StatusCode != 200 {
		t.Fatalf("send: %d %s", r.StatusCode, r.Body)
	}
	m := recv(t, watch)
	relayed, _ := m["relayed"].(map[string]any)
	if m["event"] != "message" || str(relayed["version"]) != "2" || str(relayed["got"]) != "map[n:7]" {
		t.Errorf("on message: %v", m)
	}
}

// goBroadcast is a Go service that broadcasts its input to channel live.
type goBroadcast struct{}

func (goBroadcast) Name() string { return "test.go-broadcast" }

func (goBroadcast) Handle(s *service.Context) error {
	h, err := service.Resource[*wsx.Hub](s, wsx.ChannelKind, "live")
	if err != nil {
		return err
	}
	return h.Broadcast(map[string]any(s.Request.Input))
}

// Go services reach a channel as a *wsx.Hub.
func TestGoService(t *testing.T) {
	s := servertest.Start(t, servertest.Options{Services: []any{goBroadcast{}}})
	s.Deploy("echo.star", echoSvc)
	s.Put(wsx.ChannelKind, "live", map[string]any{"url_path": "/ws/live", "service": "test.echo", "protocol": "json"})
	s.Channel("go", "test.go-broadcast", "POST", "/go", nil)
	c := mustDial(t, s, "/ws/live", nil)
	if r := s.Call("POST", "/go", `{"from": "go"}`, nil); r.StatusCode != 200 {
		t.Fatalf("go: %d %s", r.StatusCode, r.Body)
	}
	if m := recv(t, c); m["from"] != "go" {
		t.Errorf("broadcast: %v", m)
	}
}

// Messages of every length encoding of a frame (7 bits, 16 bits, 64 bits)
// reach the client whole, as broadcasts and as replies, and in order.
func TestFrameLengths(t *testing.T) {
	s := servertest.Start(t, servertest.Options{})
	s.Put(wsx.ChannelKind, "live", map[string]any{"url_path": "/ws/live", "service": "plexus.helpers.echo", "protocol": "json"})
	v, _ := s.Runtime.State().Running(wsx.ChannelKind, "live")
	h := v.(*wsx.Hub)
	c := mustDial(t, s, "/ws/live", nil)
	for len(h.Clients()) < 1 {
		time.Sleep(10 * time.Millisecond)
	}
	sizes := []int{1, 125, 126, 127, 65535, 65536, 70000}
	for _, n := range sizes {
		if err := h.Deliver([]byte(strings.Repeat(string(rune('a'+n%26)), n))); err != nil {
			t.Fatal(err)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for _, n := range sizes {
		_, b, err := c.Read(ctx)
		if want := strings.Repeat(string(rune('a'+n%26)), n); err != nil || string(b) != want {
			t.Fatalf("broadcast of %d bytes: got %d bytes, %v", n, len(b), err)
		}
	}
	for _, n := range sizes {
		want := strings.Repeat("x", n)
		send(t, c, map[string]string{"s": want})
		if m := recv(t, c); m["s"] != want {
			t.Fatalf("reply to %d bytes: got %d", n, len(str(m["s"])))
		}
	}
}
