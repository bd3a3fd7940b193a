package dispatch_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"log/slog"
	"net/textproto"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/plexushq/plexus/internal/catalog"
	"github.com/plexushq/plexus/internal/cid"
	"github.com/plexushq/plexus/internal/config"
	"github.com/plexushq/plexus/internal/dispatch"
	"github.com/plexushq/plexus/internal/invoke"
	"github.com/plexushq/plexus/internal/jsonlimit"
	"github.com/plexushq/plexus/internal/live"
	"github.com/plexushq/plexus/internal/logging"
	"github.com/plexushq/plexus/internal/metrics"
	"github.com/plexushq/plexus/internal/ratelimit"
	"github.com/plexushq/plexus/internal/registry"
	"github.com/plexushq/plexus/internal/secret"
	"github.com/plexushq/plexus/internal/security"
	"github.com/plexushq/plexus/internal/store"
	"github.com/plexushq/plexus/internal/testenv"
	"github.com/plexushq/plexus/sdk/service"
)

// kind is the channel kind of the test's adapter: not HTTP, and not a
// kind of configuration.
const kind = "test_queue"

// rig is a pipeline on a real runtime, store and invoker, with services
// and a transport that record what happens, in order.
type rig struct {
	t      testing.TB
	rt     *live.Runtime
	inv    *invoke.Invoker
	p      *dispatch.Pipeline
	m      *metrics.Metrics
	log    *testenv.Buffer
	access *testenv.Buffer

	mu     sync.Mutex
	events []string
	last   *service.Context // of t.last
}

func (r *rig) event(e string) {
	r.mu.Lock()
	r.events = append(r.events, e)
	r.mu.Unlock()
}

// typed declares one required integer, n.
type typed struct{ r *rig }

func (typed) Name() string { return "t.typed" }
func (typed) SimpleIO() service.SimpleIO {
	return service.SimpleIO{InputRequired: []service.Elem{service.Int("n")}}
}
func (t typed) Handle(c *service.Context) error {
	t.r.event("service")
	c.Response.Payload = map[string]any{"n": c.Request.Input["n"], "kind": c.Channel.Type, "who": c.Channel.Security.Username}
	return nil
}

func newRig(t testing.TB, settings *config.Settings, guard *dispatch.Guard) *rig {
	t.Helper()
	r := &rig{t: t, m: metrics.New(), log: &testenv.Buffer{}, access: &testenv.Buffer{}}
	ctx := context.Background()
	st, err := store.Open(ctx, "", t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	logger := slog.New(slog.NewTextHandler(r.log, nil))
	var svcs []*catalog.Service
	for _, v := range []any{
		typed{r},
		service.Func("t.echo", "", func(c *service.Context) error {
			r.event("service")
			c.Response.Payload = map[string]any{"payload": c.Request.Payload, "input": c.Request.Input, "raw": string(c.Request.RawRequest)}
			c.Response.SetHeader("X-From-Service", "yes")
			return nil
		}),
		service.Func("t.fail", "", func(c *service.Context) error {
			r.event("service")
			c.Response.SetHeader("X-Before-Error", "kept")
			return errors.New("database password=hunter2 unreachable")
		}),
		service.Func("t.conflict", "", func(c *service.Context) error {
			r.event("service")
			return service.Conflict("Exists").WithHeader("X-Why", "duplicate")
		}),
		service.Func("t.last", "", func(c *service.Context) error { r.last = c; return nil }),
		service.Func("t.panic", "", func(c *service.Context) error { r.event("service"); panic("boom") }),
		service.Func("t.cancelled", "", func(c *service.Context) error { r.event("service"); return c.Err() }),
		service.Func("t.unencodable", "", func(c *service.Context) error {
			r.event("service")
			c.Response.Payload = map[string]any{"ch": make(chan int)}
			return nil
		}),
	} {
		svc, err := catalog.FromGo(v)
		if err != nil {
			t.Fatal(err)
		}
		svcs = append(svcs, svc)
	}
	if settings == nil {
		settings = config.Default()
	}
	box, _ := secret.New(bytes.Repeat([]byte{7}, 32))
	if r.rt, err = live.New(live.Options{Store: st, Logger: logger, Settings: settings, Metrics: r.m, Builtins: svcs, Secrets: box}); err != nil {
		t.Fatal(err)
	}
	r.inv = invoke.New(ctx, r.rt, logger)
	r.p = dispatch.New(dispatch.Options{Runtime: r.rt, Invoker: r.inv, Logger: logger, Settings: settings,
		Metrics: r.m, Access: logging.NewAccess(r.access, settings.Log), Guard: guard})
	if err := r.rt.Load(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.rt.Close(context.Background()) })
	return r
}

// put creates a configuration object from its JSON.
func (r *rig) put(kindID, name, obj string) {
	r.t.Helper()
	k, _ := registry.Lookup(kindID)
	o, errs := k.Decode([]byte(obj))
	if len(errs) > 0 {
		r.t.Fatal(errs)
	}
	if _, err := r.rt.Apply(context.Background(), live.Changeset{Source: "test", Objects: []live.Change{{Kind: kindID, Name: name, Object: o}}}); err != nil {
		r.t.Fatal(err)
	}
}

// message is the in-test adapter: a message from a queue, with its
// properties, its sender's address and the credentials it carried.
type message struct {
	dispatch.Exchange
	r       *rig
	body    []byte
	fillErr error
	sent    dispatch.Reply
	sends   int
}

func (m *message) Payload(int64) ([]byte, error) {
	m.r.event("payload")
	return m.body, nil
}

func (m *message) Fill(x *dispatch.Exchange, req *service.Request) error {
	m.r.event("fill")
	return m.fillErr
}

func (m *message) Send(rep *dispatch.Reply) (int, error) {
	m.r.event("send")
	m.sends++
	m.sent = *rep
	m.sent.Body = bytes.Clone(rep.Body) // the body's buffer is reused once Send returns
	return len(rep.Body), nil
}

// serve sends one message on a channel and returns it, once answered,
// with the events it caused.
func (r *rig) serve(ctx context.Context, ch *dispatch.Channel, body string, set func(*message)) (*message, []string) {
	r.t.Helper()
	r.mu.Lock()
	r.events = nil
	r.mu.Unlock()
	m := &message{r: r, body: []byte(body)}
	m.Begin(ctx, m)
	m.Kind, m.Channel, m.RemoteAddr, m.Path = kind, ch, "192.0.2.7:5000", "orders"
	m.Headers = textproto.MIMEHeader{}
	if set != nil {
		set(m)
	}
	r.p.Serve(&m.Exchange)
	r.mu.Lock()
	defer r.mu.Unlock()
	return m, slices.Clone(r.events)
}

// envelope checks a refusal: its status, the envelope with the request's
// cid and the details, and what happened.
func envelope(t *testing.T, m *message, events []string, status int, details string, want ...string) {
	t.Helper()
	rep := m.sent
	if rep.Status != status || rep.Err == nil || rep.ContentType != "application/json" {
		t.Fatalf("reply %d %q (error %v), want %d", rep.Status, rep.Body, rep.Err, status)
	}
	var env struct{ Result, CID, Details string }
	if err := json.Unmarshal(rep.Body, &env); err != nil || env.Result != "Error" || env.CID != m.CID || !cid.Valid(env.CID) {
		t.Fatalf("envelope %s", rep.Body)
	}
	if env.Details != details {
		t.Errorf("details %q, want %q", env.Details, details)
	}
	if !slices.Equal(events, want) {
		t.Errorf("events %v, want %v", events, want)
	}
}

func basic(user, password string) security.Presented {
	return security.ParseAuthorization("Basic " + base64.StdEncoding.EncodeToString([]byte(user+":"+password)))
}

// A request that passes every stage meets them in order: its payload is
// read and decoded, the transport fills its part, typed input converts
// it, the service runs, and the reply is encoded and sent once.
func TestServed(t *testing.T) {
	r := newRig(t, nil, nil)
	ch := &dispatch.Channel{Type: "queue", Name: "orders", Service: "t.typed", DataFormat: dispatch.FormatJSON}
	m, events := r.serve(context.Background(), ch, `{"n": "42"}`, nil)
	if want := []string{"payload", "fill", "service", "send"}; !slices.Equal(events, want) {
		t.Errorf("events %v, want %v", events, want)
	}
	if m.sends != 1 || m.sent.Status != 200 || m.sent.Err != nil || m.sent.ContentType != "application/json" {
		t.Fatalf("reply %+v", m.sent)
	}
	// Typed input made "42" an integer before the service ran.
	if string(m.sent.Body) != `{"kind":"queue","n":42,"who":""}` {
		t.Errorf("body %s", m.sent.Body)
	}
	line := r.access.String()
	for _, want := range []string{"msg=request", "cid=" + m.CID, "kind=" + kind, "channel=orders", "service=t.typed", "path=orders", "status=200", "remote=192.0.2.7:5000"} {
		if !strings.Contains(line, want) {
			t.Errorf("access log line lacks %q: %s", want, line)
		}
	}
	if got := testutil.ToFloat64(r.m.Requests.WithLabelValues(kind, "orders")); got != 1 {
		t.Errorf("requests metric %v", got)
	}
}

// Each data format decodes the payload its way, and the service's
// headers go with the reply.
func TestDecode(t *testing.T) {
	r := newRig(t, nil, nil)
	for _, c := range []struct {
		format, body, ctype, want string
	}{
		{dispatch.FormatJSON, `{"a": 1}`, "", `{"input":{"a":1},"payload":{"a":1},"raw":"{\"a\": 1}"}`},
		{dispatch.FormatJSON, `[1, 2]`, "", `{"input":{},"payload":[1,2],"raw":"[1, 2]"}`},
		{dispatch.FormatJSON, ``, "", `{"input":{},"payload":"","raw":""}`},
		{dispatch.FormatForm, `a=1&b=2&b=3`, "application/x-www-form-urlencoded", `{"input":{"a":"1","b":["2","3"]},"payload":{"a":"1","b":["2","3"]},"raw":"a=1&b=2&b=3"}`},
		{dispatch.FormatForm, `a=1`, "text/plain", `{"input":{},"payload":"a=1","raw":"a=1"}`},
		{dispatch.FormatRaw, `{"a": 1}`, "", `{"input":{},"payload":"{\"a\": 1}","raw":"{\"a\": 1}"}`},
	} {
		ch := &dispatch.Channel{Type: "queue", Name: "in", Service: "t.echo", DataFormat: c.format}
		m, _ := r.serve(context.Background(), ch, c.body, func(m *message) { m.Headers.Set("content-type", c.ctype) })
		if string(m.sent.Body) != c.want || m.sent.Headers.Get("X-From-Service") != "yes" {
			t.Errorf("%s %q: %s %v", c.format, c.body, m.sent.Body, m.sent.Headers)
		}
	}
}

// Every refusal and failure is answered with the envelope and its status,
// and stops the stages after the one that refused: a request the
// allow-list or a rate limit refuses is not authenticated, one that fails
// authentication has no payload read, one whose payload does not decode
// reaches neither the transport's fill nor the service.
func TestRefusals(t *testing.T) {
	settings := config.Default()
	r := newRig(t, settings, &dispatch.Guard{Failures: ratelimit.NewFailures(config.AuthFailures{LockAfter: 2,
		Window: config.Duration(time.Hour), LockFor: config.Duration(time.Hour)})})
	r.put("security", "billing", `{"name": "billing", "type": "basic_auth", "username": "billing", "password": "s3cret", "realm": "Billing",
		"rate_limiting": [{"rate": 0.001, "burst": 2}]}`)
	r.put("security", "crm", `{"name": "crm", "type": "apikey", "password": "k-123", "header": "X-CRM-Key"}`)
	limiter := func(rules string) *ratelimit.Limiter {
		var rs []ratelimit.Rule
		if err := json.Unmarshal([]byte(rules), &rs); err != nil {
			t.Fatal(err)
		}
		l, err := ratelimit.New(rs)
		if err != nil {
			t.Fatal(err)
		}
		return l
	}
	ctx := context.Background()
	channel := func(svc string, mod func(*dispatch.Channel)) *dispatch.Channel {
		ch := &dispatch.Channel{Type: "queue", Name: "c", Service: svc, DataFormat: dispatch.FormatJSON}
		if mod != nil {
			mod(ch)
		}
		return ch
	}
	wrong := func(m *message) { m.Credentials = basic("billing", "guess") }

	// The allow-list refuses before the credentials are looked at.
	ch := channel("t.echo", func(c *dispatch.Channel) { c.Security, c.Limiter = "billing", limiter(`[{"cidr": ["10.0.0.0/8"]}]`) })
	m, ev := r.serve(ctx, ch, `{}`, wrong)
	envelope(t, m, ev, 403, dispatch.DetailsForbidden, "send")

	// The channel's rate limit refuses before authentication, with
	// Retry-After.
	ch = channel("t.echo", func(c *dispatch.Channel) { c.Security, c.Limiter = "billing", limiter(`[{"rate": 0.001, "burst": 1}]`) })
	r.serve(ctx, ch, `{}`, func(m *message) { m.Credentials = basic("billing", "s3cret") })
	m, ev = r.serve(ctx, ch, `{}`, wrong)
	envelope(t, m, ev, 429, dispatch.DetailsTooMany, "send")
	if m.sent.Headers.Get("Retry-After") == "" {
		t.Errorf("429 without Retry-After: %v", m.sent.Headers)
	}

	// Wrong or missing credentials: 401 with the definition's challenge,
	// and the payload is never read.
	ch = channel("t.echo", func(c *dispatch.Channel) { c.Security = "billing" })
	m, ev = r.serve(ctx, ch, `{}`, wrong)
	envelope(t, m, ev, 401, dispatch.DetailsUnauthorized, "send")
	if m.sent.Headers.Get("WWW-Authenticate") != `Basic realm="Billing"` {
		t.Errorf("challenge %q", m.sent.Headers.Get("WWW-Authenticate"))
	}
	m, ev = r.serve(ctx, ch, `{}`, nil)
	envelope(t, m, ev, 401, dispatch.DetailsUnauthorized, "send")
	logged(t, r.log, "request refused", "cid="+m.CID, "no credentials")

	// An API key is read from the request's properties, whatever their
	// case.
	keyed := channel("t.typed", func(c *dispatch.Channel) { c.Security = "crm" })
	m, ev = r.serve(ctx, keyed, `{"n": 1}`, func(m *message) { m.Headers.Set("x-crm-key", "k-123") })
	if m.sent.Status != 200 || !slices.Equal(ev, []string{"payload", "fill", "service", "send"}) {
		t.Errorf("API key: %d %s %v", m.sent.Status, m.sent.Body, ev)
	}

	// The identity's rate limit (burst 2, one used above by the channel
	// rate limit's first request) answers 429 with its usage.
	m, _ = r.serve(ctx, ch, `{"n": 1}`, func(m *message) { m.Credentials = basic("billing", "s3cret") })
	if m.sent.Status != 200 || m.sent.Headers.Get("X-RateLimit-Remaining") != "0" {
		t.Fatalf("identity within its limit: %d %v", m.sent.Status, m.sent.Headers)
	}
	m, ev = r.serve(ctx, ch, `{}`, func(m *message) { m.Credentials = basic("billing", "s3cret") })
	envelope(t, m, ev, 429, dispatch.DetailsTooMany, "send")
	if m.sent.Headers.Get("X-RateLimit-Limit") != "2" {
		t.Errorf("identity limit headers %v", m.sent.Headers)
	}

	// A second failure locks the address out: then even the right
	// credentials are refused without being checked.
	r.serve(ctx, ch, `{}`, wrong)
	m, ev = r.serve(ctx, ch, `{}`, func(m *message) { m.Credentials = basic("billing", "s3cret") })
	envelope(t, m, ev, 429, dispatch.DetailsTooMany, "send")
	logged(t, r.log, "request refused", "cid="+m.CID, dispatch.ErrLockedOut.Error())

	// A channel whose service is not deployed: 503, nothing read.
	m, ev = r.serve(ctx, channel("t.none", nil), `{}`, nil)
	envelope(t, m, ev, 503, "Service unavailable", "send")

	// Too large a payload, malformed JSON: refused before the fill and
	// the service.
	settings.Limits.MaxBodySize = 8
	m, ev = r.serve(ctx, channel("t.echo", nil), `{"a": "123456789"}`, nil)
	envelope(t, m, ev, 413, "Request body is larger than 8 bytes", "payload", "send")
	settings.Limits.MaxBodySize = config.Default().Limits.MaxBodySize
	m, ev = r.serve(ctx, channel("t.echo", nil), `{"a":`, nil)
	envelope(t, m, ev, 400, "Invalid JSON: unexpected end of JSON input", "payload", "send")
	m, ev = r.serve(ctx, channel("t.echo", func(c *dispatch.Channel) { c.DataFormat = dispatch.FormatForm }), `a=%zz`,
		func(m *message) { m.Headers.Set("Content-Type", "application/x-www-form-urlencoded") })
	envelope(t, m, ev, 400, `Malformed form: parsing form: invalid URL escape "%zz"`, "payload", "send")

	// The transport's fill refuses before the service runs.
	m, ev = r.serve(ctx, channel("t.echo", nil), `{}`, func(m *message) { m.fillErr = service.BadRequest("No such topic") })
	envelope(t, m, ev, 400, "No such topic", "payload", "fill", "send")

	// Typed input refuses before the handler.
	m, ev = r.serve(ctx, channel("t.typed", nil), `{}`, nil)
	envelope(t, m, ev, 400, "Element missing: n", "payload", "fill", "send")

	// The service's own errors: its status and headers; a failure or a
	// panic is a generic 500, unless the channel shows details.
	m, ev = r.serve(ctx, channel("t.conflict", nil), `{}`, nil)
	envelope(t, m, ev, 409, "Exists", "payload", "fill", "service", "send")
	if m.sent.Headers.Get("X-Why") != "duplicate" {
		t.Errorf("headers of the error %v", m.sent.Headers)
	}
	m, ev = r.serve(ctx, channel("t.fail", nil), `{}`, nil)
	envelope(t, m, ev, 500, "Internal server error", "payload", "fill", "service", "send")
	if m.sent.Headers.Get("X-Before-Error") != "kept" {
		t.Errorf("headers set before the error are lost: %v", m.sent.Headers)
	}
	logged(t, r.log, "service failed", "cid="+m.CID, "hunter2")
	m, ev = r.serve(ctx, channel("t.fail", func(c *dispatch.Channel) { c.Detailed = true }), `{}`, nil)
	envelope(t, m, ev, 500, "database password=hunter2 unreachable", "payload", "fill", "service", "send")
	m, ev = r.serve(ctx, channel("t.panic", nil), `{}`, nil)
	envelope(t, m, ev, 500, "Internal server error", "payload", "fill", "service", "send")
	logged(t, r.log, "service panicked", "cid="+m.CID, "boom")

	// A response that cannot be encoded.
	m, ev = r.serve(ctx, channel("t.unencodable", nil), `{}`, nil)
	envelope(t, m, ev, 500, "Internal server error", "payload", "fill", "service", "send")

	for _, status := range []string{"400", "401", "403", "409", "413", "429", "500", "503"} {
		if testutil.ToFloat64(r.m.Errors.WithLabelValues(kind, "c", status)) == 0 {
			t.Errorf("no error counted with status %s", status)
		}
	}
}

// JSON payloads are decoded within the invoker's limits and decode
// budget whatever carries them, and each request gives its share of the
// budget back once answered.
func TestJSONLimits(t *testing.T) {
	r := newRig(t, nil, nil)
	lim := jsonlimit.Limits{MaxDepth: 3, MaxValues: 100}
	// Each of these bodies takes more than half of the budget: without
	// their shares given back, the second would wait and be refused.
	body := `{"a": [` + strings.Repeat(`"0123456789",`, 40) + `"x"]}`
	cost, err := jsonlimit.GoCost([]byte(body), lim)
	if err != nil {
		t.Fatal(err)
	}
	r.inv.JSON = &jsonlimit.Decoder{Limits: lim, Budget: jsonlimit.NewBudget(cost*3/2, "limits.json.decode_budget")}
	ch := &dispatch.Channel{Type: "queue", Name: "c", Service: "t.echo", DataFormat: dispatch.FormatJSON}
	ctx := context.Background()
	m, ev := r.serve(ctx, ch, `{"a": [[[1]]]}`, nil)
	envelope(t, m, ev, 400, "Invalid JSON: nested too deeply", "payload", "send")
	m, ev = r.serve(ctx, ch, "["+strings.Repeat("1,", 100)+"1]", nil)
	envelope(t, m, ev, 413, "Request body has more than 100 JSON values", "payload", "send")
	for i := range 3 {
		if m, _ := r.serve(ctx, ch, body, nil); m.sent.Status != 200 {
			t.Fatalf("request %d: %d %s", i, m.sent.Status, m.sent.Body)
		}
	}
}

// A caller that goes away while its service runs gets no reply: the
// request is recorded with status 499, and the cause of the cancellation
// is logged.
func TestCallerGone(t *testing.T) {
	r := newRig(t, nil, nil)
	ch := &dispatch.Channel{Type: "queue", Name: "c", Service: "t.cancelled", DataFormat: dispatch.FormatJSON}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	m, ev := r.serve(ctx, ch, `{}`, nil)
	if m.sends != 0 || m.Reply.Status != 499 || !slices.Equal(ev, []string{"payload", "fill", "service"}) {
		t.Errorf("sent %d, status %d, events %v", m.sends, m.Reply.Status, ev)
	}
	logged(t, r.log, "client disconnected before the response", "cid="+m.CID, "status=499")
	if !strings.Contains(r.access.String(), "status=499") {
		t.Errorf("access log: %s", r.access)
	}
	ctx, cancelCause := context.WithCancelCause(context.Background())
	cancelCause(errors.New("the server is stopping"))
	m, _ = r.serve(ctx, ch, `{}`, nil)
	logged(t, r.log, "request cancelled before its reply", "cid="+m.CID, `cause="the server is stopping"`)
}

// Fail and Answer answer requests no channel took, with one access log
// line each and no channel metrics.
func TestFailAndAnswer(t *testing.T) {
	r := newRig(t, nil, nil)
	m := &message{r: r}
	m.Begin(context.Background(), m)
	m.Kind, m.Path = kind, "nowhere"
	r.p.Fail(&m.Exchange, service.NotFound("No such queue"))
	envelope(t, m, []string{"send"}, 404, "No such queue", "send")
	a := &message{r: r}
	a.Begin(context.Background(), a)
	a.Kind = kind
	r.p.Answer(&a.Exchange, 200, "application/json", []byte(`{"status":"ok"}`))
	if a.sent.Status != 200 || string(a.sent.Body) != `{"status":"ok"}` {
		t.Errorf("answer %+v", a.sent)
	}
	if n := len(strings.Split(strings.TrimSpace(r.access.String()), "\n")); n != 2 {
		t.Errorf("%d access log lines: %s", n, r.access)
	}
	if n, _ := testutil.GatherAndCount(r.m.Registry, "plexus_channel_requests_total"); n != 0 {
		t.Errorf("%d channel series", n)
	}
}

// Channels that count under their kind alone share one series.
func TestKindSeries(t *testing.T) {
	r := newRig(t, nil, nil)
	for _, name := range []string{"a", "b", "c"} {
		r.serve(context.Background(), &dispatch.Channel{Type: "queue", Name: name, Service: "t.echo", DataFormat: dispatch.FormatRaw, KindSeries: true}, "x", nil)
	}
	if got := testutil.ToFloat64(r.m.Requests.WithLabelValues(kind, "")); got != 3 {
		t.Errorf("kind series %v", got)
	}
	if n, _ := testutil.GatherAndCount(r.m.Registry, "plexus_channel_requests_total"); n != 1 {
		t.Errorf("%d series", n)
	}
}

// logged checks that one log line holds every part.
func logged(t *testing.T, log *testenv.Buffer, parts ...string) {
	t.Helper()
	for line := range strings.SplitSeq(log.String(), "\n") {
		if !slices.ContainsFunc(parts, func(p string) bool { return !strings.Contains(line, p) }) {
			return
		}
	}
	t.Errorf("no log line holds %q:\n%s", parts, log)
}

// TestBrokerFormats: the data formats of brokers' channels hand the
// payload on as text or bytes, never read as a form whatever the
// Content-Type, and the message's details reach the service.
func TestBrokerFormats(t *testing.T) {
	r := newRig(t, nil, nil)
	msg := &service.Message{ID: "m-1", Topic: "orders.new", DeliveryCount: 2, Details: map[string]any{"queue": "orders"}}
	for _, tc := range []struct {
		format string
		want   any
	}{
		{dispatch.FormatText, "a=1&b=2"},
		{dispatch.FormatBytes, []byte("a=1&b=2")},
	} {
		ch := &dispatch.Channel{Type: "amqp", Name: "q", Service: "t.last", DataFormat: tc.format}
		m, _ := r.serve(context.Background(), ch, "a=1&b=2", func(m *message) {
			m.Headers.Set("Content-Type", "application/x-www-form-urlencoded")
			m.Message = msg
		})
		got := r.last
		if m.sent.Status != 200 || got == nil {
			t.Fatalf("%s: status %d, %s", tc.format, m.sent.Status, m.sent.Body)
		}
		if p := got.Request.Payload; !equalPayload(p, tc.want) {
			t.Errorf("%s: payload %#v, want %#v", tc.format, p, tc.want)
		}
		if len(got.Request.Input) != 0 {
			t.Errorf("%s: input %v, want none: the payload is not a form", tc.format, got.Request.Input)
		}
		if got.Channel.Message != msg || got.Channel.DataFormat != tc.format {
			t.Errorf("%s: channel %+v", tc.format, got.Channel)
		}
	}
}

func equalPayload(a, b any) bool {
	if ab, ok := a.([]byte); ok {
		bb, ok := b.([]byte)
		return ok && bytes.Equal(ab, bb)
	}
	return a == b
}
