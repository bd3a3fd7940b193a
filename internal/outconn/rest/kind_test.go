package rest_test

import (
	"fmt"
	"strings"
	"testing"

	outrest "github.com/plexushq/plexus/internal/outconn/rest"
	"github.com/plexushq/plexus/internal/registry"
	"github.com/plexushq/plexus/sdk/service"
)

func problems(t *testing.T, kind, obj string) string {
	t.Helper()
	k, ok := registry.Lookup(kind)
	if !ok {
		t.Fatalf("no kind %s", kind)
	}
	o, errs := k.Decode([]byte(obj))
	if o != nil {
		errs = append(errs, k.CheckFields(o)...)
		errs = append(errs, o.Validate()...)
	}
	var out []string
	for _, p := range registry.Locate(kind, "x", errs) {
		out = append(out, p.Error())
	}
	return strings.Join(out, "\n")
}

func TestValidate(t *testing.T) {
	for obj, want := range map[string]string{
		`{"name": "a", "host": "https://api.example.com", "url_path": "/x/{id}"}`:               "",
		`{"name": "a", "host": "http://10.0.0.5:8080/base/", "url_path": "/x?fixed=1"}`:         "",
		`{"name": "a", "host": "https://api.example.com", "url_path": "/x", "timeout": 30}`:     "",
		`{"name": "a", "host": "https://api.example.com", "url_path": "/x", "pool_size": 0}`:    "",
		`{"name": "a", "url_path": "/x"}`:                                                       "host: must not be empty",
		`{"name": "a", "host": "https://h"}`:                                                    "url_path: must not be empty",
		`{"name": "a", "host": "ftp://h", "url_path": "/x"}`:                                    `host: "ftp://h" must start with http:// or https://`,
		`{"name": "a", "host": "api.example.com", "url_path": "/x"}`:                            "must start with http:// or https://",
		`{"name": "a", "host": "https://", "url_path": "/x"}`:                                   `host: "https://" has no host name`,
		`{"name": "a", "host": "https://u:p@h", "url_path": "/x"}`:                              "must not hold credentials: put them in a security definition",
		`{"name": "a", "host": "https://h?x=1", "url_path": "/x"}`:                              "must not hold a query string",
		`{"name": "a", "host": "https://h:99999", "url_path": "/x"}`:                            "port 99999 is not between 1 and 65535",
		`{"name": "a", "host": "https://h:x", "url_path": "/x"}`:                                "is not a URL",
		`{"name": "a", "host": "https://h", "url_path": "x"}`:                                   `url_path: "x" must start with /`,
		`{"name": "a", "host": "https://h", "url_path": "/x/{id"}`:                              `url_path: "/x/{id" has a { without its }`,
		`{"name": "a", "host": "https://h", "url_path": "/x", "data_format": "xml"}`:            `data_format: "xml" is not one of json, form, raw`,
		`{"name": "a", "host": "https://h", "url_path": "/x", "timeout": -1}`:                   "timeout: expected a positive duration",
		`{"name": "a", "host": "https://h", "url_path": "/x", "pool_size": -1}`:                 "pool_size: -1 is not between 0 and 10000",
		`{"name": "a", "host": "https://h", "url_path": "/x", "max_retries": 101}`:              "max_retries: 101 is not between 0 and 100",
		`{"name": "a", "host": "https://h", "url_path": "/x", "retry_backoff_multiplier": 0.5}`: "retry_backoff_multiplier: 0.5 is not between 1 and 100",
		`{"name": "a", "host": "https://h", "url_path": "/x", "ping_method": "TRACE"}`:          `ping_method: "TRACE" is not one of`,
		`{"name": "a", "host": "https://h", "url_path": "/x", "ping_path": "health"}`:           `ping_path: "health" must start with /`,
		`{"name": "a", "host": "https://h", "url_path": "/x", "max_response_size": -1}`:         "max_response_size: must not be negative",
		`{"name": "a", "host": "https://h", "url_path": "/x", "hots": "x"}`:                     `unknown field "hots"; did you mean "host"?`,
	} {
		got := problems(t, "outgoing_rest", obj)
		if want == "" && got != "" || !strings.Contains(got, want) {
			t.Errorf("%s:\n got %q\nwant %q", obj, got, want)
		}
	}
}

func TestDefaults(t *testing.T) {
	k, _ := registry.Lookup("outgoing_rest")
	props := k.Schema()["properties"].(map[string]any)
	for field, want := range map[string]string{
		"is_active": "true", "data_format": "json", "timeout": "10s", "pool_size": "20", "tls_verify": "true",
		"retry_sleep_time": "2s", "retry_backoff_multiplier": "2", "retry_backoff_threshold": "1m0s",
		"ping_method": "HEAD", "ping_path": "/", "max_response_size": "67108864",
	} {
		if got := fmt.Sprint(props[field].(map[string]any)["default"]); got != want {
			t.Errorf("%s default %s, want %s", field, got, want)
		}
	}
	for _, field := range []string{"max_retries", "follow_redirects", "security", "content_type"} {
		if d, ok := props[field].(map[string]any)["default"]; ok {
			t.Errorf("%s has default %v", field, d)
		}
	}
	if k2, ok := registry.Lookup("outconn_plain_http"); !ok || k2 != k {
		t.Error("the Zato 3.2 section name is not an alias")
	}
	if outrest.Kind != service.KindOutgoingREST {
		t.Errorf("the SDK looks connections up as %q, the kind is %q", service.KindOutgoingREST, outrest.Kind)
	}
}
