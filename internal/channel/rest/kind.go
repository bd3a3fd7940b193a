// Package rest is the REST channel: kind channel_rest mounts a service on
// a URL path and, optionally, an HTTP verb, and its Handler serves the API
// listener from the routing table the kind assembles.
package rest

import (
	"fmt"

	"github.com/plexushq/plexus/internal/config"
	"github.com/plexushq/plexus/internal/dispatch"
	"github.com/plexushq/plexus/internal/ratelimit"
	"github.com/plexushq/plexus/internal/redact"
	"github.com/plexushq/plexus/internal/registry"
	"github.com/plexushq/plexus/internal/router"
	"github.com/plexushq/plexus/sdk/service"
)

// Kind is the kind id of REST channels.
const Kind = "channel_rest"

// HealthPath is answered by every listener and cannot be a channel.
const HealthPath = "/health"

// Channel is the configuration of a REST channel (Zato's field names).
type Channel struct {
	Name              string `json:"name" label:"Name" group:"Channel" placeholder:"api.customer.get" doc:"Unique name of the channel."`
	IsActive          bool   `json:"is_active" label:"Active" group:"Channel" doc:"Whether the channel serves requests; an inactive channel answers 404."`
	Service           string `json:"service" label:"Service" group:"Channel" ref:"service" required:"true" doc:"Name of the service the channel invokes."`
	URLPath           string `json:"url_path" label:"URL path" group:"Channel" placeholder:"/api/customers/{cust_id}" required:"true" doc:"Path the channel answers, e.g. /api/customers/{cust_id}. {name} matches one path segment, {name...} as the last segment matches the rest of the path. Matching is exact: a trailing slash is significant."`
	Method            string `json:"method" label:"HTTP method" group:"Channel" enum_labels:"GET|POST|PUT|PATCH|DELETE|HEAD|OPTIONS" enum:"GET|POST|PUT|PATCH|DELETE|HEAD|OPTIONS" doc:"HTTP verb the channel answers; empty answers every verb. A GET channel also answers HEAD."`
	DataFormat        string `json:"data_format" label:"Data format" group:"Request and response" enum_labels:"JSON|Form fields|Raw text" enum:"json|form|raw" doc:"How the request body is parsed into the payload: json (object or array; malformed JSON is answered 400), form (URL-encoded or multipart fields), raw (the body as text)."`
	MergeURLParamsReq bool   `json:"merge_url_params_req" label:"Merge URL parameters into input" group:"Request and response" advanced:"true" doc:"Whether path and query parameters are merged into the service's input."`
	URLParamsPri      string `json:"url_params_pri" label:"Parameter priority" group:"Request and response" advanced:"true" enum_labels:"Query string over path|Path over query string" enum:"qs-over-path|path-over-qs" doc:"Which wins when a path parameter and a query parameter have the same name."`
	ContentType       string `json:"content_type" label:"Default Content-Type" group:"Request and response" advanced:"true" placeholder:"application/json" doc:"Content-Type of responses whose service sets none; empty picks application/json for JSON payloads and text/plain for text."`

	Security     string          `json:"security" label:"Security definition" group:"Security" ref:"security" doc:"Name of the security definition every request must pass (401 otherwise); the identity it admits reaches the service as self.channel.security. Empty: no definition."`
	Groups       []string        `json:"groups" label:"Security groups" group:"Security" ref:"groups" doc:"Security groups whose members the channel admits: a request must pass one member of one group (as well as security, when set), and runs as that member."`
	Cache        string          `json:"cache" label:"Response cache" group:"Caching" ref:"cache_builtin" doc:"Name of the built-in cache that keeps the channel's successful replies to GET and HEAD: a request with the same path, query string and cache_headers is answered from it, after the security checks, without running the service (X-Plexus-Cache: hit). Empty: no caching."`
	CacheExpiry  config.Duration `json:"cache_expiry" label:"Keep replies for" group:"Caching" min:"0s" placeholder:"30s" doc:"How long a reply is kept in the cache; 0 takes the cache's default_expiry."`
	CacheHeaders []string        `json:"cache_headers" label:"Headers in the key" group:"Caching" placeholder:"Accept-Language" doc:"Request headers whose values tell cached replies apart, besides the path and the query string, such as Accept or Accept-Language."`

	RateLimiting ratelimit.Rules `json:"rate_limiting" label:"Rate limits by address" group:"Rate limits" doc:"Rate limits keyed by client address, checked before authentication: the first rule whose cidr holds the address applies, and an address no rule matches is refused (403), which makes the rules an IP allow-list. Empty: no limit."`

	tpl *router.Template // parsed url_path, kept by Validate
}

// template returns the parsed url_path.
func (c *Channel) template() (*router.Template, error) {
	if c.tpl != nil && c.tpl.Raw == c.URLPath {
		return c.tpl, nil
	}
	tpl, err := router.Parse(c.URLPath)
	if err == nil {
		c.tpl = tpl
	}
	return tpl, err
}

func init() {
	registry.Register(registry.Kind{
		ID:      Kind,
		Title:   "REST channel",
		Summary: "Mounts a service on a URL path and HTTP verb of the API listener.",
		Aliases: []string{"channel_plain_http", "http_soap"},
		// Zato's channel fields that Plexus spells differently or does not
		// support yet (ZATO-BEHAVIOUR §4.1). RBAC, security by numeric id
		// and 3.2's rate-limit definitions are refused rather than ignored:
		// dropping them would serve the channel to callers Zato turned away.
		ZatoFields: map[string]string{
			"service_name": "service",
			"sec_def":      "security", "security_name": "security", "security_groups": "groups",

			"security_id":  registry.ZatoRefused,
			"sec_use_rbac": registry.ZatoRefused, "has_rbac": registry.ZatoRefused, "sec_tls_ca_cert_id": registry.ZatoRefused,
			"rate_limit_def": registry.ZatoRefused, "quota_tier": registry.ZatoRefused,
			"is_rate_limit_active": "",

			"sec_type": "", "is_internal": "", "params_pri": "", "match_slash": "", "timeout": "", "http_accept": "",
			"cache_type": "", "cache_id": "", "response_cache": "", "content_encoding": "",
			"gateway_service_list": "", "service_whitelist": "", "is_audit_log_active": "", "should_include_in_openapi": "",
			"is_deprecated": "", "deprecation_since": "", "deprecation_sunset": "", "deprecation_successor": "",
			"rate_limit_type": "", "rate_limit_check_parent_def": "",
			"hl7_version": "", "json_path": "", "soap_action": "", "soap_version": "", "serialization_type": "",
			"max_len_messages_sent": "", "max_len_messages_received": "",
			"max_bytes_per_message_sent": "", "max_bytes_per_message_received": "",
			// Columns of 3.2's http_soap table that a full export writes
			// for channels too, though only outgoing connections use them.
			"id": "", "service_id": "", "cache_name": "cache", "data_encoding": "", "host": "", "ping_method": "", "pool_size": "",
			"is_audit_log_sent_active": "", "is_audit_log_received_active": "",
			"should_parse_on_input": "", "should_return_errors": "", "should_validate": "",
		},
		Order: 30,
		New: func() registry.Object {
			return &Channel{IsActive: true, DataFormat: "json", MergeURLParamsReq: true, URLParamsPri: "qs-over-path"}
		},
		Examples: []string{
			`{"name": "api.customer.get", "service": "plexus.helpers.echo", "url_path": "/api/customers/{cust_id}", "method": "GET"}`,
			`{"name": "files", "service": "plexus.helpers.echo", "url_path": "/files/{path...}", "data_format": "raw"}`,
		},
		Check:     check,
		Provision: provision,
		Assemble:  assemble,
	})
}

// provision builds a channel's running form: its rate limiter, which
// keeps the usage of each client address while the channel is unchanged
// and starts afresh when the channel changes.
func provision(_ *registry.Env, obj registry.Object) (any, error) {
	l, err := ratelimit.New(obj.(*Channel).RateLimiting)
	if err != nil {
		return nil, registry.FieldProblem("rate_limiting", "%v", err)
	}
	return l, nil
}

// Validate checks the URL path and refuses a group listed twice; the
// rate-limiting rules check themselves.
func (c *Channel) Validate() []error {
	errs := registry.ListedTwice("groups", c.Groups)
	if c.URLPath == "" {
		return errs // reported as required
	}
	if _, err := c.template(); err != nil {
		return append(errs, registry.FieldProblem("url_path", "%s %v", redact.Quote(c.URLPath), err))
	}
	if c.URLPath == HealthPath {
		return append(errs, registry.FieldProblem("url_path", "%s is reserved for the health check", HealthPath))
	}
	if c.URLPath == LogInPath || c.URLPath == LogOutPath {
		return append(errs, registry.FieldProblem("url_path", "%s is reserved for JWT sessions", c.URLPath))
	}
	return errs
}

// check reports channels that would answer the same requests as an
// earlier one: the same path shape and verb.
func check(objs []registry.Object) []error {
	seen := make(map[string]*Channel, len(objs))
	var errs []error
	for _, o := range objs {
		c := o.(*Channel)
		tpl, err := c.template()
		if err != nil {
			continue // reported by Validate
		}
		key := c.Method + " " + tpl.Shape()
		if prev, dup := seen[key]; dup {
			errs = append(errs, conflict(prev, c))
			continue
		}
		seen[key] = c
	}
	return errs
}

func conflict(existing, added *Channel) error {
	method := added.Method
	if method == "" {
		method = "any method"
	}
	return &registry.Problem{Name: added.Name, Field: "url_path",
		Message: fmt.Sprintf("%s with %s is already served by channel %s (%s)", redact.Quote(added.URLPath), method, redact.Quote(existing.Name), redact.Quote(existing.URLPath))}
}

// route is a channel as the handler sees it: its configuration, the
// names of its path parameters, and the channel the pipeline runs.
type route struct {
	*Channel
	params []string
	ch     dispatch.Channel
}

// newRoute returns the route of a channel; lim is its running form, its
// rate limits by client address, kept while the channel is unchanged.
func newRoute(c *Channel, tpl *router.Template, lim *ratelimit.Limiter) *route {
	r := &route{Channel: c, params: tpl.Params, ch: dispatch.Channel{
		Type: service.ChannelREST, Name: c.Name, Service: c.Service, DataFormat: c.DataFormat, ContentType: c.ContentType,
		Security: c.Security, Groups: c.Groups, Limiter: lim,
	}}
	if c.Cache != "" {
		r.ch.Cache = &dispatch.ResponseCache{Cache: c.Cache, Expiry: c.CacheExpiry.D(), Headers: c.CacheHeaders}
	}
	return r
}

// Table is the assembled routing table of all REST channels.
type Table struct {
	routes *router.Table
}

// assemble builds the routing table.
func assemble(env *registry.Env, entries []registry.Entry) (any, error) {
	routes := make([]*router.Route, 0, len(entries))
	var added []*router.Route
	for _, e := range entries {
		c := e.Object.(*Channel)
		tpl, err := c.template()
		if err != nil {
			return nil, fmt.Errorf("channel %q: url_path: %w", c.Name, err)
		}
		lim, _ := e.Running.(*ratelimit.Limiter)
		r := &router.Route{Template: tpl, Method: c.Method, Value: newRoute(c, tpl, lim)}
		if e.Changed {
			added = append(added, r)
		} else {
			routes = append(routes, r)
		}
	}
	tab, conflicts := router.New(append(routes, added...))
	if len(conflicts) > 0 { // check catches these first; this is a safety net
		return nil, conflict(conflicts[0].Existing.Value.(*route).Channel, conflicts[0].Added.Value.(*route).Channel)
	}
	return &Table{routes: tab}, nil
}
