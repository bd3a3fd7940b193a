package rest

import (
	"encoding/json"
	"errors"
	"maps"
	"math/big"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/plexushq/plexus/sdk/service"
)

func mustTemplate(t testing.TB, s string) *pathTemplate {
	t.Helper()
	tpl, err := parseTemplate(s)
	if err != nil {
		t.Fatalf("parsing %q: %v", s, err)
	}
	return tpl
}

func TestBuildURL(t *testing.T) {
	const base = "http://127.0.0.1:8080"
	for _, c := range []struct {
		tpl    string
		params map[string]any
		want   string
	}{
		// The seed: phone_no fills the path, the rest is the query string.
		{"/api/billing/{phone_no}", map[string]any{"cust_id": "39175", "phone_no": "271637517", "priority": "normal"},
			"/api/billing/271637517?cust_id=39175&priority=normal"},
		{"/customers/{customer_id}/orders", map[string]any{"customer_id": "12345", "status": "pending"}, "/customers/12345/orders?status=pending"},
		// Values cannot escape their segment.
		{"/files/{name}", map[string]any{"name": "../../admin"}, "/files/..%2F..%2Fadmin"},
		{"/files/{name}", map[string]any{"name": "abc?x=1"}, "/files/abc%3Fx%3D1"},
		{"/files/{name}", map[string]any{"name": "%2e"}, "/files/%252e"},
		{"/files/{name}", map[string]any{"name": "a b/c#d&e+f"}, "/files/a%20b%2Fc%23d%26e%2Bf"},
		{"/files/{name}", map[string]any{"name": "zażółć"}, "/files/za%C5%BC%C3%B3%C5%82%C4%87"},
		{"/files/{name}", map[string]any{"name": "-._~AZaz09"}, "/files/-._~AZaz09"},
		{"/files/{name}.json", map[string]any{"name": ".."}, "/files/...json"},
		{"/files/{name}", map[string]any{"name": "..."}, "/files/..."},
		{"/q?name={name}", map[string]any{"name": ""}, "/q?name="},
		// Numbers, booleans, the same placeholder twice.
		{"/a/{id}/{id}", map[string]any{"id": int64(42), "f": 1.5, "b": true, "n": json.Number("12345678901234567890")},
			"/a/42/42?b=true&f=1.5&n=12345678901234567890"},
		{"/a/{id}", map[string]any{"id": new(big.Int).Lsh(big.NewInt(1), 70)}, "/a/1180591620717411303424"},
		{"/a/{id}", map[string]any{"id": 1e6}, "/a/1000000"},
		// Lists are repeated keys; None is left out; the query is encoded.
		{"/search", map[string]any{"tag": []any{"a", "b c"}, "none": nil, "q": "x&y=z"}, "/search?q=x%26y%3Dz&tag=a&tag=b+c"},
		{"/search", map[string]any{"tag": []string{"1", "2"}}, "/search?tag=1&tag=2"},
		// A url_path with its own query string.
		{"/search?v=2", map[string]any{"q": "x"}, "/search?v=2&q=x"},
		{"/search?v={v}", map[string]any{"v": "a/b"}, "/search?v=a%2Fb"},
		{"/", nil, "/"},
	} {
		tpl := mustTemplate(t, c.tpl)
		before := maps.Clone(c.params)
		got, err := tpl.build("Billing", base, c.params)
		if err != nil {
			t.Errorf("%s %v: %v", c.tpl, c.params, err)
			continue
		}
		if got != base+c.want {
			t.Errorf("%s %v:\n got %s\nwant %s", c.tpl, c.params, got, base+c.want)
		}
		if !maps.EqualFunc(before, c.params, func(a, b any) bool { return a == nil && b == nil || sameValue(a, b) }) {
			t.Errorf("%s: the params were changed: %v", c.tpl, c.params)
		}
		if _, err := url.Parse(got); err != nil {
			t.Errorf("%s: %s does not parse: %v", c.tpl, got, err)
		}
	}
}

func sameValue(a, b any) bool {
	ja, _ := json.Marshal(a)
	jb, _ := json.Marshal(b)
	return string(ja) == string(jb)
}

func TestBuildURLErrors(t *testing.T) {
	for _, c := range []struct {
		tpl    string
		params map[string]any
		want   string
	}{
		{"/a/{x}", map[string]any{"x": ".."}, `Path parameter x of outgoing REST connection "Billing" makes the path segment "..", which would address another resource`},
		{"/a/{x}", map[string]any{"x": "."}, `makes the path segment "."`},
		{"/a/{x}", map[string]any{"x": ""}, `makes an empty path segment`},
		{"/a/{x}{y}/b", map[string]any{"x": ".", "y": "."}, `Path parameter x, y of outgoing REST connection "Billing" makes the path segment ".."`},
		{"/a/{x}", map[string]any{"x": []any{"1"}}, "Path parameter x of outgoing REST connection \"Billing\" must be a string or a number, not a list or a dict"},
		{"/a", map[string]any{"q": map[string]any{"a": 1}}, "Query parameter q of outgoing REST connection \"Billing\" must be a string or a number"},
		{"/a", map[string]any{"q": []any{[]any{1}}}, "Query parameter q"},
	} {
		_, err := mustTemplate(t, c.tpl).build("Billing", "http://h", c.params)
		var se *service.Error
		if !errors.As(err, &se) || se.Status != 400 || !strings.Contains(se.Message, c.want) {
			t.Errorf("%s %v: %v, want a 400 with %q", c.tpl, c.params, err, c.want)
		}
	}
}

// A missing placeholder is not the caller's fault: it is a plain error,
// which answers 500, whose text for the log names url_path.
func TestBuildURLMissing(t *testing.T) {
	for _, c := range []struct {
		tpl    string
		params map[string]any
		want   string
	}{
		{"/api/billing/{phone_no}", nil, `calling outgoing REST connection "Billing": missing path parameter phone_no (url_path /api/billing/{phone_no})`},
		{"/api/billing/{phone_no}", map[string]any{"cust_id": "1"}, "missing path parameter phone_no"},
		{"/a/{x}/{y}/{x}", map[string]any{"z": 1}, "missing path parameters x, y (url_path /a/{x}/{y}/{x})"},
		{"/a/{x}", map[string]any{"x": nil}, "missing path parameter x"},
	} {
		_, err := mustTemplate(t, c.tpl).build("Billing", "http://h", c.params)
		var se *service.Error
		if err == nil || errors.As(err, &se) || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s %v: %v, want a plain error with %q", c.tpl, c.params, err, c.want)
		}
	}
}

func TestParseTemplateErrors(t *testing.T) {
	for tpl, want := range map[string]string{
		"api/x":        "must start with /",
		"/a/{x":        "{ without its }",
		"/a/x}":        "} without its {",
		"/a/{x{y}}":    "{ without its }",
		"/a/{}":        "placeholder {}",
		"/a/{a b}":     "must not contain spaces",
		"/a/{a/b}":     "placeholder {a/b}",
		"/a/../b":      ". or .. segments",
		"/a/./b":       ". or .. segments",
		"/a#frag":      "#fragment",
		"/a/{x}\n":     "control characters",
		"/a/{x}?q=../": "",
	} {
		_, err := parseTemplate(tpl)
		if want == "" {
			if err != nil {
				t.Errorf("%q: %v", tpl, err)
			}
			continue
		}
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%q: %v, want %q", tpl, err, want)
		}
	}
}

func TestRetryAfter(t *testing.T) {
	now := mustTime(t, "Sun, 06 Nov 2044 08:49:37 GMT")
	for v, want := range map[string]string{
		"3": "3s", "0": "0s", " 10 ": "10s", "Sun, 06 Nov 2044 08:49:47 GMT": "10s",
		"Sun, 06 Nov 2044 08:49:00 GMT": "0s", "-1": "", "soon": "", "": "",
	} {
		d, ok := retryAfter(v, now)
		got := ""
		if ok {
			got = d.String()
		}
		if got != want {
			t.Errorf("Retry-After %q = %q, want %q", v, got, want)
		}
	}
}

// FuzzBuildURL checks that any value stays within its placeholder: the URL
// parses, its path keeps the template's literal segments, the filled
// segment decodes back to the value, and the query carries it exactly.
func FuzzBuildURL(f *testing.F) {
	for _, s := range []string{"271637517", "../../admin", "abc?x=1", "%2e", "a/b", "", ".", "..", "é", "a b+c&d=e#f", "\x00\xff"} {
		f.Add(s)
	}
	tpl := mustTemplate(f, "/api/{id}/orders")
	f.Fuzz(func(t *testing.T, v string) {
		got, err := tpl.build("Fuzz", "https://example.com/base", map[string]any{"id": v, "q": v})
		if err != nil {
			if v != "" && v != "." && v != ".." {
				t.Fatalf("%q: %v", v, err)
			}
			return
		}
		u, err := url.Parse(got)
		if err != nil {
			t.Fatalf("%q: %s does not parse: %v", v, got, err)
		}
		if u.Host != "example.com" || u.Fragment != "" {
			t.Fatalf("%q: %s changes the host or adds a fragment", v, got)
		}
		segs := strings.Split(u.EscapedPath(), "/")
		if len(segs) != 5 || segs[1] != "base" || segs[2] != "api" || segs[4] != "orders" {
			t.Fatalf("%q: %s escapes its segment", v, u.EscapedPath())
		}
		if dec, err := url.PathUnescape(segs[3]); err != nil || dec != v {
			t.Fatalf("%q: segment %s decodes to %q, %v", v, segs[3], dec, err)
		}
		if q := u.Query(); len(q) != 1 || len(q["q"]) != 1 || q.Get("q") != v {
			t.Fatalf("%q: query %s", v, u.RawQuery)
		}
	})
}

func mustTime(t *testing.T, s string) time.Time {
	t.Helper()
	tm, err := http.ParseTime(s)
	if err != nil {
		t.Fatal(err)
	}
	return tm
}
