package admin_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	goruntime "runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/plexushq/plexus/internal/admin"
	"github.com/plexushq/plexus/internal/registry"
	"github.com/plexushq/plexus/internal/servertest"
	"github.com/plexushq/plexus/sdk/service"
)

const prefix = admin.Prefix

func TestAuth(t *testing.T) {
	s := servertest.Start(t, servertest.Options{})
	for _, c := range []struct {
		name   string
		header http.Header
		status int
	}{
		{"none", nil, 401},
		{"wrong password", basic("admin", "nope"), 401},
		{"wrong user", basic("root", servertest.Password), 401},
		{"password", basic("admin", servertest.Password), 200},
		{"password again (cached)", basic("admin", servertest.Password), 200},
		{"cli token", http.Header{"Authorization": {"Bearer " + s.Server.Admin.CLIToken}}, 200},
		{"bad token", http.Header{"Authorization": {"Bearer nope"}}, 401},
	} {
		r := servertest.Do(t, "GET", s.Admin+prefix+"/kinds", "", c.header)
		if r.StatusCode != c.status {
			t.Errorf("%s: %d, want %d", c.name, r.StatusCode, c.status)
		}
		if c.status == 401 && !strings.HasPrefix(r.Header.Get("WWW-Authenticate"), "Basic") {
			t.Errorf("%s: WWW-Authenticate %q", c.name, r.Header.Get("WWW-Authenticate"))
		}
	}
	// /metrics needs the login too unless metrics.public is set.
	if r := servertest.Do(t, "GET", s.Admin+"/metrics", "", nil); r.StatusCode != 401 {
		t.Errorf("/metrics without login: %d", r.StatusCode)
	}
	// A new password takes effect at once and revokes the cached one.
	if err := admin.SetPassword(t.Context(), s.Store, "another-password"); err != nil {
		t.Fatal(err)
	}
	if r := servertest.Do(t, "GET", s.Admin+prefix+"/kinds", "", basic("admin", servertest.Password)); r.StatusCode != 401 {
		t.Errorf("old password after reset: %d", r.StatusCode)
	}
	if r := servertest.Do(t, "GET", s.Admin+prefix+"/kinds", "", basic("admin", "another-password")); r.StatusCode != 200 {
		t.Errorf("new password: %d", r.StatusCode)
	}
}

// Wrong admin passwords are slowed down and then lock the address out,
// whatever credentials follow; missing credentials do not count.
func TestAdminLockOut(t *testing.T) {
	s := servertest.Start(t, servertest.Options{
		Settings: "auth_failures:\n  slow_after: 1\n  lock_after: 3\n  window: 1m\n  delay: 200ms\n  lock_for: 1m\n"})
	url := s.Admin + prefix + "/kinds"
	for range 4 {
		if r := servertest.Do(t, "GET", url, "", nil); r.StatusCode != 401 {
			t.Fatalf("no credentials: %d", r.StatusCode)
		}
	}
	var took []time.Duration
	for range 3 {
		start := time.Now()
		if r := servertest.Do(t, "GET", url, "", basic("admin", "guess")); r.StatusCode != 401 {
			t.Fatalf("wrong password: %d", r.StatusCode)
		}
		took = append(took, time.Since(start))
	}
	if took[1] < 200*time.Millisecond || took[2] < 200*time.Millisecond {
		t.Errorf("failures past slow_after were not slowed: %v", took)
	}
	r := servertest.Do(t, "GET", url, "", basic("admin", servertest.Password))
	if r.StatusCode != 429 || r.Header.Get("Retry-After") == "" {
		t.Fatalf("right password after lock-out: %d, Retry-After %q", r.StatusCode, r.Header.Get("Retry-After"))
	}
	s.Log.WaitFor(t, "address locked out")
}

func basic(user, pass string) http.Header {
	req, _ := http.NewRequest("GET", "/", nil)
	req.SetBasicAuth(user, pass)
	return http.Header{"Authorization": {req.Header.Get("Authorization")}}
}

func TestSetPasswordLength(t *testing.T) {
	if err := admin.SetPassword(t.Context(), nil, "short"); err == nil {
		t.Fatal("a 5-character password was accepted")
	}
}

func TestKinds(t *testing.T) {
	s := servertest.Start(t, servertest.Options{})
	r := s.AdminCall("GET", prefix+"/kinds", "")
	var kinds []struct {
		ID     string
		Fields []struct{ Name, Doc string }
		Schema map[string]any
	}
	if err := json.Unmarshal(r.Body, &kinds); err != nil {
		t.Fatal(err)
	}
	var found bool
	for _, k := range kinds {
		if k.ID == "channel_rest" {
			found = true
			props := k.Schema["properties"].(map[string]any)
			if props["url_path"] == nil || props["data_format"].(map[string]any)["default"] != "json" {
				t.Errorf("channel_rest schema: %v", props)
			}
		}
	}
	if !found {
		t.Fatalf("channel_rest not among %s", r.Body)
	}
}

// The kinds carry what the Dashboard's forms need: labels, groups, the
// conditions that show a field, bounds, units and enum labels, for nested
// fields too.
func TestKindsFormMetadata(t *testing.T) {
	s := servertest.Start(t, servertest.Options{})
	var kinds []struct {
		ID     string
		Fields []registry.FieldInfo
	}
	if err := json.Unmarshal(s.AdminCall("GET", prefix+"/kinds", "").Body, &kinds); err != nil {
		t.Fatal(err)
	}
	fields := map[string]registry.FieldInfo{}
	for _, k := range kinds {
		for _, f := range k.Fields {
			fields[k.ID+"."+f.Name] = f
		}
	}
	if f := fields["security.realm"]; f.Label != "Realm" || f.Group != "Credentials" || !f.Advanced || f.When == nil || f.When.Field != "type" || f.When.Values[0] != "basic_auth" {
		t.Errorf("security.realm: %+v", f)
	}
	if f := fields["security.type"]; f.EnumLabels["apikey"] != "API key" {
		t.Errorf("security.type: %+v", f)
	}
	if f := fields["security.password"]; !f.Secret || f.Widget != "password" {
		t.Errorf("security.password: %+v", f)
	}
	if f := fields["outgoing_rest.pool_size"]; f.Min != float64(0) || f.Max != float64(10000) || f.Unit != "connections" {
		t.Errorf("outgoing_rest.pool_size: %+v", f)
	}
	if f := fields["outgoing_rest.timeout"]; f.Min != "0s" || f.Placeholder != "10s" {
		t.Errorf("outgoing_rest.timeout: %+v", f)
	}
	rules := fields["channel_rest.rate_limiting"].Fields
	if len(rules) == 0 || rules[1].Name != "rate" || rules[1].Unit != "requests per second" || rules[1].Label != "Rate" {
		t.Errorf("channel_rest.rate_limiting's fields: %+v", rules)
	}
}

func TestObjectCRUD(t *testing.T) {
	s := servertest.Start(t, servertest.Options{})
	path := prefix + "/objects/channel_rest/my.echo"
	r := s.AdminCall("PUT", path, `{"service":"plexus.helpers.echo","url_path":"/my/echo"}`)
	if r.StatusCode != 201 || r.Header.Get("X-Plexus-Revision") == "" {
		t.Fatalf("create: %d %s", r.StatusCode, r.Body)
	}
	got := r.JSON(t)
	if got["name"] != "my.echo" || got["data_format"] != "json" || got["is_active"] != true {
		t.Errorf("defaults not applied: %v", got)
	}
	if r := s.Call("POST", "/my/echo", `{"a":1}`, nil); string(r.Body) != `{"a":1}` {
		t.Fatalf("new channel not live: %d %s", r.StatusCode, r.Body)
	}
	r = s.AdminCall("PUT", path, `{"service":"plexus.helpers.echo","url_path":"/my/echo2"}`)
	if r.StatusCode != 200 {
		t.Fatalf("replace: %d %s", r.StatusCode, r.Body)
	}
	if r := s.Call("POST", "/my/echo", `{}`, nil); r.StatusCode != 404 {
		t.Errorf("old path still served: %d", r.StatusCode)
	}
	if r := s.AdminCall("GET", path, ""); r.JSON(t)["url_path"] != "/my/echo2" {
		t.Errorf("get: %s", r.Body)
	}
	var list []map[string]any
	json.Unmarshal(s.AdminCall("GET", prefix+"/objects/channel_rest", "").Body, &list)
	if len(list) != 1 || list[0]["name"] != "my.echo" {
		t.Errorf("list: %v", list)
	}
	if r := s.AdminCall("DELETE", path, ""); r.StatusCode != 204 {
		t.Fatalf("delete: %d %s", r.StatusCode, r.Body)
	}
	if r := s.Call("POST", "/my/echo2", `{}`, nil); r.StatusCode != 404 {
		t.Errorf("deleted channel still served: %d", r.StatusCode)
	}
	for _, c := range []struct{ method, path string }{
		{"GET", path}, {"DELETE", path}, {"GET", prefix + "/objects/no_such_kind"}, {"GET", prefix + "/nothing"},
	} {
		if r := s.AdminCall(c.method, c.path, ""); r.StatusCode != 404 || !strings.Contains(string(r.Body), `"result":"Error"`) {
			t.Errorf("%s %s: %d %s", c.method, c.path, r.StatusCode, r.Body)
		}
	}
	// Zato's 3.2 section name works as an alias.
	if r := s.AdminCall("GET", prefix+"/objects/channel_plain_http", ""); r.StatusCode != 200 {
		t.Errorf("alias: %d", r.StatusCode)
	}
}

// A refused change lists every problem and changes nothing.
func TestRefusedChanges(t *testing.T) {
	s := servertest.Start(t, servertest.Options{})
	s.Channel("taken", "plexus.ping", "GET", "/taken/{id}", nil)
	for _, c := range []struct {
		body  string
		wants []string
	}{
		{`{"service":"no.such","url_path":"api/x","method":"get","data_format":"xml","url_pth":"/x","is_active":"yes"}`,
			[]string{`unknown field \"url_pth\"; did you mean \"url_path\"?`, `is_active: expected true or false`}},
		{`{"service":"plexus.pnig","url_path":"api/x","method":"get","data_format":"xml"}`,
			[]string{`url_path: \"api/x\" must start with /`, `method: \"get\" is not one of GET`, `data_format: \"xml\" is not one of json, form, raw`,
				`service: no service named \"plexus.pnig\" is deployed; did you mean \"plexus.ping\"?`}},
		{`{"service":"plexus.ping","url_path":"/taken/{other}","method":"GET"}`,
			[]string{`already served by channel \"taken\"`}},
		{`{"service":"plexus.ping","url_path":"/a/{x}{y}"}`, []string{"two parameters need a literal between them"}},
		{`{"service":"plexus.ping","url_path":"/health"}`, []string{"reserved"}},
		{`{"name":"other","service":"plexus.ping","url_path":"/ok"}`, []string{`name: is \"other\" but the URL names \"new\"`}},
		{`[1,2]`, []string{"expected a JSON object"}},
	} {
		r := s.AdminCall("PUT", prefix+"/objects/channel_rest/new", c.body)
		if r.StatusCode != 400 {
			t.Errorf("%s: %d %s", c.body, r.StatusCode, r.Body)
			continue
		}
		for _, w := range c.wants {
			if !strings.Contains(string(r.Body), w) {
				t.Errorf("%s: answer lacks %q:\n%s", c.body, w, r.Body)
			}
		}
	}
	if r := s.AdminCall("GET", prefix+"/objects/channel_rest/new", ""); r.StatusCode != 404 {
		t.Errorf("a refused object exists: %s", r.Body)
	}
	if r := s.AdminCall("PUT", prefix+"/objects/channel_rest/dry?dry_run=true", `{"service":"plexus.ping","url_path":"/dry"}`); r.StatusCode != 201 {
		t.Errorf("dry run: %d %s", r.StatusCode, r.Body)
	}
	if r := s.AdminCall("GET", prefix+"/objects/channel_rest/dry", ""); r.StatusCode != 404 {
		t.Errorf("dry run changed the configuration")
	}
}

func TestServicesAndInvoke(t *testing.T) {
	s := servertest.Start(t, servertest.Options{Services: []any{
		service.Func("my.hello", "Says hello.\n\nTo whoever asks.", func(c *service.Context) error {
			c.Response.Payload = map[string]any{"hello": c.Request.Input["name"], "channel": c.Channel.Type}
			return nil
		}),
		service.Func("my.fail", "", func(c *service.Context) error { return service.NotFound("No such thing") }),
	}})
	s.Channel("hello", "my.hello", "", "/hello", nil)
	var list []admin.ServiceInfo
	json.Unmarshal(s.AdminCall("GET", prefix+"/services", "").Body, &list)
	var hello *admin.ServiceInfo
	for i := range list {
		if list[i].Name == "my.hello" {
			hello = &list[i]
		}
	}
	if hello == nil || hello.Language != "go" || hello.Builtin || hello.Doc != "Says hello.\n\nTo whoever asks." || len(hello.Channels) != 1 {
		t.Fatalf("service list entry: %+v", hello)
	}
	r := s.AdminCall("GET", prefix+"/services/plexus.ping", "")
	if r.StatusCode != 200 || r.JSON(t)["builtin"] != true {
		t.Errorf("get service: %s", r.Body)
	}
	r = s.AdminCall("POST", prefix+"/services/my.hello/invoke", `{"name":"Jane"}`)
	if r.StatusCode != 200 || string(r.Body) != `{"channel":"admin","hello":"Jane"}` {
		t.Errorf("invoke: %d %s", r.StatusCode, r.Body)
	}
	r = s.AdminCall("POST", prefix+"/services/my.fail/invoke", ``)
	if r.StatusCode != 404 || !strings.Contains(string(r.Body), "No such thing") {
		t.Errorf("invoke error: %d %s", r.StatusCode, r.Body)
	}
	if r := s.AdminCall("POST", prefix+"/services/none/invoke", ``); r.StatusCode != 404 {
		t.Errorf("unknown service: %d", r.StatusCode)
	}
	if r := s.AdminCall("POST", prefix+"/services/demo.multi-verb/invoke?verb=DELETE", ``); r.StatusCode != 405 || r.Header.Get("Allow") != "GET, POST" {
		t.Errorf("verb: %d %v", r.StatusCode, r.Header)
	}
}

func TestMetrics(t *testing.T) {
	s := servertest.Start(t, servertest.Options{})
	s.Channel("m.echo", "plexus.helpers.echo", "", "/m", nil)
	s.Call("POST", "/m", `{}`, nil)
	s.Call("POST", "/m", `{bad`, nil)
	body := string(s.AdminCall("GET", "/metrics", "").Body)
	for _, want := range []string{
		`plexus_channel_requests_total{channel="m.echo",kind="channel_rest"} 2`,
		`plexus_channel_errors_total{channel="m.echo",kind="channel_rest",status="400"} 1`,
		`plexus_channel_request_duration_seconds_count{channel="m.echo",kind="channel_rest"} 2`,
		`go_goroutines`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("metrics lack %q", want)
		}
	}
}

// The series of a channel go when the channel is deleted; those of the
// others stay.
func TestMetricsOfDeletedChannels(t *testing.T) {
	s := servertest.Start(t, servertest.Options{})
	s.Channel("m.keep", "plexus.helpers.echo", "", "/keep", nil)
	s.Channel("m.gone", "plexus.helpers.echo", "", "/gone", nil)
	for _, path := range []string{"/keep", "/gone"} {
		s.Call("POST", path, `{}`, nil)
		s.Call("POST", path, `{bad`, nil)
	}
	series := func() string { return string(s.AdminCall("GET", "/metrics", "").Body) }
	if body := series(); !strings.Contains(body, `channel="m.gone"`) || !strings.Contains(body, `channel="m.keep"`) {
		t.Fatalf("metrics before the delete:\n%s", body)
	}
	if r := s.AdminCall("DELETE", prefix+"/objects/channel_rest/m.gone", ""); r.StatusCode != http.StatusNoContent {
		t.Fatalf("delete: %d %s", r.StatusCode, r.Body)
	}
	body := series()
	if strings.Contains(body, `channel="m.gone"`) {
		t.Errorf("series of the deleted channel remain:\n%s", body)
	}
	for _, want := range []string{
		`plexus_channel_requests_total{channel="m.keep",kind="channel_rest"} 2`,
		`plexus_channel_errors_total{channel="m.keep",kind="channel_rest",status="400"} 1`,
		`plexus_channel_request_duration_seconds_count{channel="m.keep",kind="channel_rest"} 2`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("metrics lack %q", want)
		}
	}
	// A channel made again under the name starts from nothing.
	s.Channel("m.gone", "plexus.helpers.echo", "", "/gone", nil)
	s.Call("POST", "/gone", `{}`, nil)
	if body := series(); !strings.Contains(body, `plexus_channel_requests_total{channel="m.gone",kind="channel_rest"} 1`) {
		t.Errorf("metrics of the channel made again:\n%s", body)
	}
}

// The admin API's invoke runs services through the request pipeline: its
// calls have access log lines and metrics of kind admin, and a body that
// is not JSON is refused as channels refuse it.
func TestInvokeThroughThePipeline(t *testing.T) {
	s := servertest.Start(t, servertest.Options{})
	r := s.AdminCall("POST", prefix+"/services/plexus.helpers.echo/invoke", `{"a": 1}`)
	if r.StatusCode != 200 || string(r.Body) != `{"a":1}` {
		t.Fatalf("invoke: %d %s", r.StatusCode, r.Body)
	}
	line := s.Log.WaitFor(t, "msg=request", "cid="+r.Header.Get("X-Plexus-CID"))
	for _, want := range []string{"kind=admin", "service=plexus.helpers.echo", "status=200", "path=" + prefix + "/services/plexus.helpers.echo/invoke"} {
		if !strings.Contains(line, want) {
			t.Errorf("access log line lacks %q: %s", want, line)
		}
	}
	r = s.AdminCall("POST", prefix+"/services/plexus.helpers.echo/invoke", `{"a":`)
	if r.StatusCode != 400 || !strings.Contains(string(r.Body), "Invalid JSON") {
		t.Errorf("malformed JSON: %d %s", r.StatusCode, r.Body)
	}
	s.Log.WaitFor(t, "request refused", "kind=admin", "cid="+r.Header.Get("X-Plexus-CID"), "status=400")
	body := string(s.AdminCall("GET", "/metrics", "").Body)
	for _, want := range []string{
		`plexus_channel_requests_total{channel="",kind="admin"} 2`,
		`plexus_channel_errors_total{channel="",kind="admin",status="400"} 1`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("metrics lack %q in\n%s", want, body)
		}
	}
}

func TestPublicMetrics(t *testing.T) {
	s := servertest.Start(t, servertest.Options{Settings: "metrics:\n  public: true\n"})
	if r := servertest.Do(t, "GET", s.Admin+"/metrics", "", nil); r.StatusCode != 200 {
		t.Errorf("public /metrics: %d", r.StatusCode)
	}
	if r := servertest.Do(t, "GET", s.Admin+prefix+"/kinds", "", nil); r.StatusCode != 401 {
		t.Errorf("admin API must stay protected: %d", r.StatusCode)
	}
}

// burst sends n requests at once with a wrong admin password and returns
// how many got each status, with the largest heap the process had
// meanwhile above the heap it had before.
func burst(t *testing.T, url string, n int) (map[int]int, uint64) {
	t.Helper()
	goruntime.GC()
	var ms goruntime.MemStats
	goruntime.ReadMemStats(&ms)
	base := ms.HeapAlloc
	var peak atomic.Uint64
	stop, sampled := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(sampled)
		var ms goruntime.MemStats
		for {
			goruntime.ReadMemStats(&ms)
			if ms.HeapAlloc > peak.Load() {
				peak.Store(ms.HeapAlloc)
			}
			select {
			case <-stop:
				return
			case <-time.After(time.Millisecond):
			}
		}
	}()
	client := &http.Client{Transport: &http.Transport{MaxConnsPerHost: n, MaxIdleConnsPerHost: n}}
	defer client.CloseIdleConnections()
	statuses := make(chan int, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			req, _ := http.NewRequest("GET", url, nil)
			req.SetBasicAuth("admin", fmt.Sprintf("guess-%d", i))
			resp, err := client.Do(req)
			if err != nil {
				t.Error(err)
				return
			}
			resp.Body.Close()
			if resp.StatusCode == 429 && resp.Header.Get("Retry-After") == "" {
				t.Error("429 without Retry-After")
			}
			statuses <- resp.StatusCode
		}()
	}
	wg.Wait()
	close(stop)
	<-sampled
	close(statuses)
	got := map[int]int{}
	for s := range statuses {
		got[s]++
	}
	return got, max(peak.Load(), base) - base
}

// argonMemory is what one argon2id check allocates.
const argonMemory = 64 << 20

// Many wrong admin passwords at once run at most limits.max_password_checks
// argon2id checks together: the rest wait password_check_wait and are
// answered 429, memory stays within those checks, and every attempt, the
// refused ones too, counts towards the lock-out.
func TestConcurrentWrongPasswords(t *testing.T) {
	const n = 32
	s := servertest.Start(t, servertest.Options{Settings: fmt.Sprintf("limits:\n  max_password_checks: 2\n  password_check_wait: 50ms\n"+
		"auth_failures:\n  slow_after: 0\n  lock_after: %d\n  window: 10m\n  lock_for: 10m\n", n)})
	url := s.Admin + prefix + "/kinds"
	got, grew := burst(t, url, n)
	if got[401]+got[429] != n || got[429] == 0 || got[401] == 0 {
		t.Errorf("statuses %v: want 401 for the checks that ran, 429 for the excess", got)
	}
	if grew > 4*argonMemory {
		t.Errorf("the heap grew by %d MiB for %d wrong passwords at once", grew>>20, n)
	}
	t.Logf("statuses %v, heap grew by %d MiB", got, grew>>20)
	s.Log.WaitFor(t, "too many password checks at once")
	// Every attempt counted: the address is locked out now.
	r := servertest.Do(t, "GET", url, "", basic("admin", servertest.Password))
	if r.StatusCode != 429 || r.Header.Get("Retry-After") == "" {
		t.Errorf("right password after %d wrong ones: %d", n, r.StatusCode)
	}
}

// A wrong admin password counts before its check runs: of many sent at
// once, only lock_after are checked, and the rest are refused at once.
func TestWrongPasswordsCountBeforeTheCheck(t *testing.T) {
	const n, lockAfter = 16, 4
	s := servertest.Start(t, servertest.Options{Settings: fmt.Sprintf("limits:\n  max_password_checks: 2\n  password_check_wait: 1m\n"+
		"auth_failures:\n  slow_after: 0\n  lock_after: %d\n  window: 10m\n  lock_for: 10m\n", lockAfter)})
	got, grew := burst(t, s.Admin+prefix+"/kinds", n)
	if got[401] != lockAfter || got[429] != n-lockAfter {
		t.Errorf("statuses %v: want %d checked (401) and the rest refused (429)", got, lockAfter)
	}
	if grew > 4*argonMemory {
		t.Errorf("the heap grew by %d MiB for %d wrong passwords at once", grew>>20, n)
	}
}

// A right password is checked like a wrong one but does not count: the
// lock-out it would have completed is lifted.
func TestRightPasswordIsForgiven(t *testing.T) {
	s := servertest.Start(t, servertest.Options{Settings: "auth_failures:\n  slow_after: 0\n  lock_after: 2\n  window: 10m\n  lock_for: 10m\n"})
	url := s.Admin + prefix + "/kinds"
	if r := servertest.Do(t, "GET", url, "", basic("admin", "guess")); r.StatusCode != 401 {
		t.Fatalf("wrong password: %d", r.StatusCode)
	}
	if r := servertest.Do(t, "GET", url, "", basic("admin", servertest.Password)); r.StatusCode != 200 {
		t.Fatalf("right password after one wrong one: %d", r.StatusCode)
	}
	if r := servertest.Do(t, "GET", url, "", basic("admin", "guess")); r.StatusCode != 401 {
		t.Fatalf("the right password counted as a failure: %d", r.StatusCode)
	}
	if r := servertest.Do(t, "GET", url, "", basic("admin", "guess")); r.StatusCode != 429 {
		t.Fatalf("third wrong password: %d", r.StatusCode)
	}
}

// Deleting an object others refer to is refused on that object, naming
// every object of every kind that still uses it; once they no longer do,
// the delete goes through.
func TestDeleteReferenced(t *testing.T) {
	s := servertest.Start(t, servertest.Options{})
	s.Put("security", "api.creds", map[string]any{"type": "basic_auth", "username": "api", "password": "s3cret-enough"})
	s.Put("groups", "staff", map[string]any{"members": []string{"api.creds"}})
	s.Channel("api.orders", "plexus.ping", "", "/orders", map[string]any{"security": "api.creds"})
	s.Channel("api.staff", "plexus.ping", "", "/staff", map[string]any{"groups": []string{"staff"}})
	s.Put("outgoing_rest", "CRM", map[string]any{"host": "http://127.0.0.1:9", "url_path": "/", "security": "api.creds"})

	r := s.AdminCall("DELETE", prefix+"/objects/security/api.creds", "")
	want := `security "api.creds": still used by channel_rest "api.orders", groups "staff", outgoing_rest "CRM"; change or delete those first`
	var body struct {
		Details  string `json:"details"`
		Problems []struct {
			Kind, Name, Message string
		} `json:"problems"`
	}
	json.Unmarshal(r.Body, &body)
	if r.StatusCode != 400 || body.Details != "change refused: "+want || len(body.Problems) != 1 || body.Problems[0].Kind != "security" || body.Problems[0].Name != "api.creds" {
		t.Fatalf("delete of a definition in use: %d %s", r.StatusCode, r.Body)
	}
	r = s.AdminCall("DELETE", prefix+"/objects/groups/staff", "")
	if r.StatusCode != 400 || !strings.Contains(string(r.Body), `groups \"staff\": still used by channel_rest \"api.staff\"`) {
		t.Fatalf("delete of a group in use: %d %s", r.StatusCode, r.Body)
	}
	for _, p := range []string{"/objects/channel_rest/api.staff", "/objects/groups/staff", "/objects/channel_rest/api.orders", "/objects/outgoing_rest/CRM", "/objects/security/api.creds"} {
		if r := s.AdminCall("DELETE", prefix+p, ""); r.StatusCode != 204 {
			t.Fatalf("DELETE %s: %d %s", p, r.StatusCode, r.Body)
		}
	}
}

// Every kind's actions answer on one URL shape, their older paths too;
// GET /kinds lists them.
func TestActions(t *testing.T) {
	s := servertest.Start(t, servertest.Options{})
	backend := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	defer backend.Close()
	s.Put("outgoing_rest", "CRM", map[string]any{"host": backend.URL, "url_path": "/"})
	s.Put("security", "crm.key", map[string]any{"type": "apikey", "password": "old-key"})

	r := s.AdminCall("POST", prefix+"/objects/outgoing_rest/CRM/ping", "")
	res := r.JSON(t)
	if r.StatusCode != 200 || res["ok"] != true || res["cid"] != r.Header.Get("X-Plexus-CID") || res["target"] != "HEAD "+backend.URL+"/" {
		t.Errorf("ping: %d %s", r.StatusCode, r.Body)
	}
	if r := s.AdminCall("POST", prefix+"/outgoing_rest/CRM/ping", ""); r.StatusCode != 200 || r.JSON(t)["ok"] != true {
		t.Errorf("ping at its older path: %d %s", r.StatusCode, r.Body)
	}
	r = s.AdminCall("POST", prefix+"/objects/security/crm.key/change-password", `{"password": "new-key"}`)
	if r.StatusCode != 200 || r.Header.Get("X-Plexus-Revision") == "" || r.JSON(t)["result"] != "OK" || strings.Contains(string(r.Body), "new-key") {
		t.Errorf("change-password: %d %s", r.StatusCode, r.Body)
	}
	for _, c := range []struct {
		path, body string
		status     int
		want       string
	}{
		{"/objects/outgoing_rest/CRM/pong", "", 404, `Kind outgoing_rest has no action \"pong\"; its actions are ping`},
		{"/objects/channel_rest/x/ping", "", 404, `Kind channel_rest has no action \"ping\"; it has none`},
		{"/objects/outgoing_rest/Nope/ping", "", 404, `No outgoing REST connection named \"Nope\"`},
		{"/objects/nokind/x/ping", "", 404, `No kind named \"nokind\"`},
		{"/objects/security/crm.key/change-password", `{"pass": "x"}`, 400, `Expected {\"password\": \"…\"}`},
		{"/objects/security/crm.key/change-password", `{"password": ""}`, 400, `"field": "password"`},
	} {
		if r := s.AdminCall("POST", prefix+c.path, c.body); r.StatusCode != c.status || !strings.Contains(string(r.Body), c.want) {
			t.Errorf("%s %s: %d %s", c.path, c.body, r.StatusCode, r.Body)
		}
	}
	var kinds []struct {
		ID      string
		Section string
		Actions []struct{ Name, Doc string }
	}
	json.Unmarshal(s.AdminCall("GET", prefix+"/kinds", "").Body, &kinds)
	found := map[string]string{}
	for _, k := range kinds {
		for _, a := range k.Actions {
			found[k.ID+"/"+a.Name] = a.Doc
		}
		if k.ID == "outgoing_rest" && k.Section != "rest" {
			t.Errorf("outgoing_rest's section: %q", k.Section)
		}
	}
	for _, want := range []string{"outgoing_rest/ping", "security/change-password", "scheduler/execute", "scheduler/pause", "scheduler/resume"} {
		if found[want] == "" {
			t.Errorf("GET /kinds lacks the action %s: %v", want, found)
		}
	}
	if r := servertest.Do(t, "POST", s.Admin+prefix+"/objects/outgoing_rest/CRM/ping", "", nil); r.StatusCode != 401 {
		t.Errorf("an action without login: %d", r.StatusCode)
	}
}

// The typed I/O switches are configuration: the services' io view changes
// service_io objects through the one change path, with a revision, dry
// runs and the export.
func TestIOSwitchesAreConfiguration(t *testing.T) {
	s := servertest.Start(t, servertest.Options{})
	io := prefix + "/services/plexus.ping/io"
	if r := s.AdminCall("PUT", io+"?dry_run=true", `{"detailed_errors": true}`); r.StatusCode != 200 {
		t.Fatalf("dry run: %d %s", r.StatusCode, r.Body)
	}
	if r := s.AdminCall("GET", prefix+"/objects/service_io/plexus.ping", ""); r.StatusCode != 404 {
		t.Fatalf("a dry run changed the configuration: %d %s", r.StatusCode, r.Body)
	}
	r := s.AdminCall("PUT", io, `{"detailed_errors": true}`)
	if r.StatusCode != 200 || r.Header.Get("X-Plexus-Revision") == "" || r.JSON(t)["detailed_errors"] != true {
		t.Fatalf("switch: %d %s", r.StatusCode, r.Body)
	}
	if obj := s.AdminCall("GET", prefix+"/objects/service_io/plexus.ping", "").JSON(t); obj["detailed_errors"] != true || obj["validate_schema"] != true {
		t.Errorf("the object: %v", obj)
	}
	if export := string(s.AdminCall("GET", prefix+"/enmasse/export", "").Body); !strings.Contains(export, "service_io:\n  - name: plexus.ping\n    detailed_errors: true") {
		t.Errorf("the export:\n%s", export)
	}
	// The object's changes show in the view.
	s.Put("service_io", "plexus.ping", map[string]any{"validate_schema": false})
	if r := s.AdminCall("GET", io, "").JSON(t); r["validate_schema"] != false || r["detailed_errors"] != false {
		t.Errorf("the view after a PUT of the object: %v", r)
	}
	// Back to the defaults, the object goes.
	if r := s.AdminCall("PUT", io, `{"validate_schema": true}`); r.StatusCode != 200 {
		t.Fatalf("defaults: %d %s", r.StatusCode, r.Body)
	}
	if r := s.AdminCall("GET", prefix+"/objects/service_io/plexus.ping", ""); r.StatusCode != 404 {
		t.Errorf("the object at the defaults: %d %s", r.StatusCode, r.Body)
	}
}
