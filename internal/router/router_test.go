package router

import (
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"
)

func mustTable(t testing.TB, specs ...string) *Table {
	t.Helper()
	var routes []*Route
	for _, s := range specs {
		method, pattern, ok := strings.Cut(s, " ")
		if !ok {
			method, pattern = "", s
		}
		tpl, err := Parse(pattern)
		if err != nil {
			t.Fatalf("Parse(%q): %v", pattern, err)
		}
		routes = append(routes, &Route{Template: tpl, Method: method, Value: s})
	}
	tab, conflicts := New(routes)
	if len(conflicts) > 0 {
		t.Fatalf("conflicts: %v", conflicts)
	}
	return tab
}

func TestMatch(t *testing.T) {
	tab := mustTable(t,
		"/api/admin",
		"/api/{action}",
		"/api/{id}/history",
		"/api/x/",
		"GET /files/{path...}",
		"/img/{name}.{ext}",
		"/img/{name}.png",
		"/v{version}/status",
		"POST /orders",
		"GET /orders",
		"PUT /mixed/{id}",
		"/mixed/special",
		"/",
	)
	cases := []struct {
		method, path string
		want         string
		params       []string
		status       int
	}{
		{"GET", "/api/admin", "/api/admin", nil, 200},
		{"GET", "/api/other", "/api/{action}", []string{"other"}, 200},
		{"GET", "/api/123/history", "/api/{id}/history", []string{"123"}, 200},
		{"GET", "/api/x/", "/api/x/", nil, 200},
		{"GET", "/api/x", "/api/{action}", []string{"x"}, 200},
		{"GET", "/api/admin/", "", nil, 404},
		{"GET", "/api/a%2Fb", "/api/{action}", []string{"a/b"}, 200},
		{"GET", "/api/a%20b", "/api/{action}", []string{"a b"}, 200},
		{"GET", "/api//admin", "/api/admin", nil, 200},
		{"GET", "/api/./admin", "/api/admin", nil, 200},
		{"GET", "/other/../api/admin", "/api/admin", nil, 200},
		{"GET", "/files/a/b/c.txt", "GET /files/{path...}", []string{"a/b/c.txt"}, 200},
		{"HEAD", "/files/a", "GET /files/{path...}", []string{"a"}, 200},
		{"POST", "/files/a", "", nil, 405},
		{"GET", "/img/logo.png", "/img/{name}.png", []string{"logo"}, 200},
		{"GET", "/img/a.b.gif", "/img/{name}.{ext}", []string{"a.b", "gif"}, 200},
		{"GET", "/v2/status", "/v{version}/status", []string{"2"}, 200},
		{"GET", "/v/status", "", nil, 404},
		{"POST", "/orders", "POST /orders", nil, 200},
		{"GET", "/orders", "GET /orders", nil, 200},
		{"DELETE", "/orders", "", nil, 405},
		{"PUT", "/mixed/special", "/mixed/special", nil, 200},
		{"DELETE", "/mixed/7", "", nil, 405},
		{"GET", "/", "/", nil, 200},
		{"GET", "/nothing", "", nil, 404},
		{"GET", "/api/%zz", "", nil, 400},
		{"GET", "relative", "", nil, 400},
	}
	for _, c := range cases {
		res := tab.Match(c.method, c.path)
		if res.Status != c.status {
			t.Errorf("%s %s: status %d, want %d", c.method, c.path, res.Status, c.status)
			continue
		}
		if c.status != 200 {
			continue
		}
		if got := res.Route.Value.(string); got != c.want {
			t.Errorf("%s %s: matched %q, want %q", c.method, c.path, got, c.want)
		}
		if !slices.Equal(res.Params, c.params) && !(len(res.Params) == 0 && len(c.params) == 0) {
			t.Errorf("%s %s: params %q, want %q", c.method, c.path, res.Params, c.params)
		}
	}
}

func TestAllow(t *testing.T) {
	tab := mustTable(t, "POST /orders", "GET /orders", "PUT /orders/{id}", "DELETE /orders/{id}")
	res := tab.Match(http.MethodPatch, "/orders")
	if res.Status != 405 || res.Allow != "GET, HEAD, POST" {
		t.Errorf("PATCH /orders: %d Allow %q", res.Status, res.Allow)
	}
	res = tab.Match(http.MethodGet, "/orders/1")
	if res.Status != 405 || res.Allow != "DELETE, PUT" {
		t.Errorf("GET /orders/1: %d Allow %q", res.Status, res.Allow)
	}
}

// A less specific route accepting the verb wins over a more specific one
// that does not.
func TestMethodFallsBackToLessSpecific(t *testing.T) {
	tab := mustTable(t, "POST /api/admin", "GET /api/{action}")
	res := tab.Match("GET", "/api/admin")
	if res.Status != 200 || res.Route.Value != "GET /api/{action}" {
		t.Fatalf("got %d %v", res.Status, res.Route)
	}
}

func TestOrderIndependence(t *testing.T) {
	specs := []string{"/a/{x}", "/a/b", "/a/{x}/c", "/a/b/{y}", "/a/{rest...}", "/a/p{n}"}
	paths := []string{"/a/b", "/a/z", "/a/b/c", "/a/z/c", "/a/b/q", "/a/p1", "/a/q/r/s"}
	want := map[string]any{}
	base := mustTable(t, specs...)
	for _, p := range paths {
		want[p] = base.Match("GET", p).Route.Value
	}
	for i := range specs {
		rot := append(slices.Clone(specs[i:]), specs[:i]...)
		slices.Reverse(rot)
		tab := mustTable(t, rot...)
		for _, p := range paths {
			if got := tab.Match("GET", p).Route.Value; got != want[p] {
				t.Errorf("order %v: %s matched %v, want %v", rot, p, got, want[p])
			}
		}
	}
}

func TestConflicts(t *testing.T) {
	parse := func(p string) *Template {
		tpl, err := Parse(p)
		if err != nil {
			t.Fatal(err)
		}
		return tpl
	}
	routes := []*Route{
		{Template: parse("/a/{x}"), Method: "GET"},
		{Template: parse("/a/{y}"), Method: "GET"},
		{Template: parse("/a/{y}"), Method: "POST"},
		{Template: parse("/a/{y}"), Method: ""},
	}
	tab, conflicts := New(routes)
	if len(conflicts) != 1 || conflicts[0].Added != routes[1] || conflicts[0].Existing != routes[0] {
		t.Fatalf("conflicts = %+v", conflicts)
	}
	if tab.Len() != 3 {
		t.Fatalf("Len = %d", tab.Len())
	}
}

func TestParseErrors(t *testing.T) {
	for pattern, want := range map[string]string{
		"":                                       "must not be empty",
		"api":                                    "must start with /",
		"/a?b":                                   "must not contain ?",
		"/a//b":                                  "empty segment",
		"/a/../b":                                ". or ..",
		"/a/{x":                                  "without a }",
		"/a/x}":                                  "without a {",
		"/a/{x}{y}":                              "literal between",
		"/a/{x}/{x}":                             "twice",
		"/a/{1x}":                                "parameter name",
		"/a/{}":                                  "parameter name",
		"/a/{rest...}/b":                         "whole last segment",
		"/a/x{rest...}":                          "whole last segment",
		"/a/%zz":                                 "percent-encoding",
		"/a/\x00":                                "control characters",
		"/" + strings.Repeat("a", MaxPatternLen): "longer than",
	} {
		_, err := Parse(pattern)
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("Parse(%q) = %v, want error containing %q", pattern, err, want)
		}
	}
}

func TestSplit(t *testing.T) {
	for path, want := range map[string][]string{
		"/":           {""},
		"/a":          {"a"},
		"/a/":         {"a", ""},
		"/a/b%2Fc":    {"a", "b/c"},
		"/a/./b":      {"a", "b"},
		"/a/../b":     {"b"},
		"/../a":       {"a"},
		"/a/%2e%2e/b": {"b"},
		"/a/..":       {""},
	} {
		got, ok := Split(path)
		if !ok || !slices.Equal(got, want) {
			t.Errorf("Split(%q) = %q, %v; want %q", path, got, ok, want)
		}
	}
}

func FuzzMatch(f *testing.F) {
	for _, s := range []string{"/api/admin", "/api/a%2Fb/history", "/img/a.b.png", "/files/a/b/", "/v1/status", "//..//%zz", "/%", "/a/../../.."} {
		f.Add("GET", s)
	}
	tab := mustTable(f, "/api/admin", "/api/{action}", "/api/{id}/history", "GET /files/{path...}",
		"/img/{name}.{ext}", "/v{version}/status", "POST /orders", "/")
	f.Fuzz(func(t *testing.T, method, path string) {
		res := tab.Match(method, path)
		switch res.Status {
		case 200:
			if len(res.Params) != len(res.Route.Template.Params) {
				t.Fatalf("%s %q: %d params for %v", method, path, len(res.Params), res.Route.Template.Params)
			}
			for i, p := range res.Params {
				if p == "" && res.Route.Template.segs[len(res.Route.Template.segs)-1].kind != segRest {
					t.Fatalf("%s %q: empty parameter %d", method, path, i)
				}
			}
		case 400, 404:
		case 405:
			if res.Allow == "" {
				t.Fatalf("%s %q: 405 without Allow", method, path)
			}
		default:
			t.Fatalf("%s %q: status %d", method, path, res.Status)
		}
	})
}

func FuzzParse(f *testing.F) {
	for _, s := range []string{"/api/{id}", "/a/{x}.{y}", "/f/{p...}", "/{", "/a/{x}{y}", "/v{n}/x/"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, pattern string) {
		tpl, err := Parse(pattern)
		if err != nil {
			return
		}
		tab, conflicts := New([]*Route{{Template: tpl}})
		if len(conflicts) > 0 || tab.Len() != 1 {
			t.Fatalf("one route table: %d routes, %v", tab.Len(), conflicts)
		}
	})
}

func benchTable(b *testing.B, n int) *Table {
	var routes []*Route
	for i := range n {
		tpl, err := Parse(fmt.Sprintf("/api/v1/resource%d/{id}/items", i))
		if err != nil {
			b.Fatal(err)
		}
		routes = append(routes, &Route{Template: tpl, Method: "GET"})
	}
	tab, _ := New(routes)
	return tab
}

// BenchmarkMatch shows lookup cost is flat in the number of routes.
func BenchmarkMatch(b *testing.B) {
	for _, n := range []int{10, 1000, 10000} {
		tab := benchTable(b, n)
		path := fmt.Sprintf("/api/v1/resource%d/12345/items", n/2)
		b.Run(fmt.Sprintf("routes=%d", n), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if tab.Match("GET", path).Status != 200 {
					b.Fatal("no match")
				}
			}
		})
	}
}
