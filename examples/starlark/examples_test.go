// Package examples_test deploys the seed's example services, written in
// Starlark, to a real server and calls them the way the seed does. It uses
// only Plexus's public packages, as a user's own tests would.
package examples_test

import (
	"path/filepath"
	"testing"

	"github.com/plexushq/plexus/plexustest"
)

// deployExamples starts a server with every example deployed, and the
// seed's services mounted on channels.
func deployExamples(t *testing.T) *plexustest.Server {
	t.Helper()
	s := plexustest.Start(t, plexustest.Options{})
	files, _ := filepath.Glob("*.star")
	if warnings := s.DeployFiles(files...); len(warnings) > 0 {
		t.Errorf("the examples have warnings: %v", warnings)
	}
	for _, c := range []struct{ name, service, path string }{
		{"log-input-data", "demo.star.log-input-data", "/api/log-input-data"},
		{"multi-verb", "demo.star.multi-verb", "/api/multi-verb"},
		{"request-object", "demo.star.request-object", "/api/request-object/{id}"},
		{"response-object", "demo.star.response-object", "/api/response-object"},
		{"cors", "demo.star.configuring-cors", "/api/cors"},
		{"csv", "demo.star.service-csv", "/api/csv"},
		{"attachment", "demo.star.attachment", "/api/attachment"},
		{"echo", "echo", "/api/echo/{id}"},
	} {
		s.Channel(c.name, c.service, "", c.path, nil)
	}
	return s
}

func TestSeedExamples(t *testing.T) {
	s := deployExamples(t)
	for _, sc := range []plexustest.Scenario{{
		// curl localhost:11223/api/log-input-data -d '{"user_id":"123", "user_name":"my.user"}'
		Name:     "log-input-data",
		URL:      "/api/log-input-data",
		Body:     `{"user_id":"123", "user_name":"my.user"}`,
		Header:   map[string]string{"Content-Type": "application/x-www-form-urlencoded"},
		WantBody: plexustest.Text(""),
		WantLog:  []plexustest.LogLine{{"uid:123; username:my.user", "service=demo.star.log-input-data"}},
	}, {
		Name:    "multi-verb GET",
		Method:  "GET",
		URL:     "/api/multi-verb",
		Body:    `{"user_id":"123"}`,
		WantLog: []plexustest.LogLine{{"I was invoked via GET"}},
	}, {
		Name:    "multi-verb POST",
		URL:     "/api/multi-verb",
		Body:    `{"user_id":"123"}`,
		WantLog: []plexustest.LogLine{{"I was invoked via POST"}},
	}, {
		Name:       "multi-verb DELETE",
		Method:     "DELETE",
		URL:        "/api/multi-verb",
		Body:       `{"user_id":"123"}`,
		WantStatus: 405,
		WantHeader: map[string]string{"Allow": "GET, POST"},
		WantBody:   plexustest.Envelope("Method DELETE not allowed"),
	}, {
		Name:   "request-object",
		URL:    "/api/request-object/42?status=pending&tag=a&tag=b",
		Body:   `{"user_id":"123"}`,
		Header: map[string]string{"Content-Type": "application/json"},
		WantBody: plexustest.JSONSubset(`{
			"method": "POST", "path": "/api/request-object/42", "raw_request": "{\"user_id\":\"123\"}",
			"payload": {"user_id": "123"}, "params": {"id": "42"}, "GET": {"status": "pending", "tag": ["a", "b"]},
			"input": {"id": "42", "user_id": "123", "status": "pending"},
			"username": "", "sec_info": {"name": "", "type": "", "username": ""}}`),
		Check: func(t testing.TB, r *plexustest.Response) {
			if r.JSON(t)["cid"] != r.CID() {
				t.Errorf("self.cid %v, X-Plexus-CID %s", r.JSON(t)["cid"], r.CID())
			}
		},
	}, {
		Name:   "response-object",
		URL:    "/api/response-object",
		Header: map[string]string{"Accept-Encoding": "gzip"},
		WantHeader: map[string]string{
			"Content-Type": "text/xml; charset=UTF-8", "X-Powered-By": "My-API-Server", "X-My-Header": "My-Value", "Content-Encoding": "gzip",
		},
		WantBody: plexustest.Gunzip(plexustest.Text(`{"my":"response"}`)),
	}, {
		Name:       "CORS preflight",
		Method:     "OPTIONS",
		URL:        "/api/cors",
		WantHeader: map[string]string{"Access-Control-Allow-Origin": "https://www.example.com"},
	}, {
		Name:     "CORS POST",
		Method:   "POST",
		URL:      "/api/cors",
		WantBody: plexustest.Text(`{"ok":true}`),
	}, {
		Name:       "CORS GET",
		URL:        "/api/cors",
		WantStatus: 405,
		WantHeader: map[string]string{"Allow": "OPTIONS, POST"},
	}, {
		Name:       "csv",
		URL:        "/api/csv",
		WantHeader: map[string]string{"Content-Type": "text/csv"},
		WantBody:   plexustest.Text("1,2,3\n4,5,6"),
	}, {
		Name:       "attachment",
		URL:        "/api/attachment",
		WantHeader: map[string]string{"Content-Disposition": "attachment; filename=hello.txt"},
		WantBody:   plexustest.Text("Hello, this is an attachment"),
	}, {
		Name:     "echo keeps big numbers exactly",
		URL:      "/api/echo/7?q=x",
		Body:     `{"a":[1,2.5,{"b":null}],"n":12345678901234567890}`,
		WantBody: plexustest.Text(`{"a":[1,2.5,{"b":null}],"id":"7","n":12345678901234567890,"q":"x"}`),
	}} {
		sc.Run(t, s)
	}
}
