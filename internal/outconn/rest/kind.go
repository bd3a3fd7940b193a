// Package rest is the outgoing REST connection: kind outgoing_rest names a
// remote HTTP API once, with its address, data format, credentials, pool,
// TLS settings and retry policy, and services call it by name from Go
// (s.Out().REST("Billing").Get(…)) and Starlark
// (self.out.rest["Billing"].conn.get(…)).
//
// Each connection runs with its own http.Transport sized by pool_size, so
// calls reuse kept-alive connections. Changing a connection builds a new
// one and swaps it in atomically: calls in flight finish on the old one,
// whose idle connections are then closed.
package rest

import (
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/plexushq/plexus/internal/config"
	"github.com/plexushq/plexus/internal/redact"
	"github.com/plexushq/plexus/internal/registry"
)

// Kind is the kind id of outgoing REST connections.
const Kind = "outgoing_rest"

// Defaults, from Zato where it has one.
const (
	DefaultTimeout         = 10 * time.Second
	DefaultPoolSize        = 20
	DefaultRetrySleep      = 2 * time.Second
	DefaultBackoff         = 2.0
	DefaultRetryBudget     = 60 * time.Second
	DefaultMaxResponseSize = 64 << 20
	// MaxRetrySleep caps one sleep between retries (unless retry_sleep_time
	// itself is longer); a Retry-After header is not capped.
	MaxRetrySleep = 8 * time.Second
)

// Config is the configuration of an outgoing REST connection (Zato's field
// names).
type Config struct {
	Name        string `json:"name" doc:"Unique name of the connection; services use it, exactly as written, to reach the connection (self.out.rest[\"Billing\"])."`
	IsActive    bool   `json:"is_active" doc:"Whether services may call the connection; calls to an inactive one fail with 503."`
	Host        string `json:"host" required:"true" doc:"Scheme, host and port of the remote API, e.g. https://api.example.com or http://10.0.0.5:8080, optionally with a base path. Credentials do not belong here: use security."`
	URLPath     string `json:"url_path" required:"true" doc:"Path appended to host, e.g. /api/billing/{phone_no}. Each {name} is filled from the call's params, percent-encoded so that it stays one path segment; the other params become the query string."`
	DataFormat  string `json:"data_format" enum:"json|form|raw" doc:"How request data is sent and responses read: json (dicts and lists sent as JSON; responses parsed as JSON), form (dicts sent URL-encoded), raw (strings and bytes sent as they are). A string is always sent as it is."`
	ContentType string `json:"content_type" doc:"Content-Type of requests with a body; empty picks application/json for json, application/x-www-form-urlencoded for form and text/plain; charset=utf-8 for raw."`
	Security    string `json:"security" ref:"security" doc:"Name of the security definition whose credentials every call carries (HTTP Basic Auth, an API key header, a static bearer token or an OAuth2 client-credentials token); empty sends none."`

	Timeout  config.Duration `json:"timeout" doc:"Longest time one attempt may take, from sending the request to reading the whole response, waiting for a free pooled connection included; 0 waits forever. A timeout answers the original caller 504."`
	PoolSize int             `json:"pool_size" doc:"Most connections open to the remote API at once; they are kept alive and reused, and calls beyond it wait for a free one. 0 means 20."`

	TLSVerify     bool   `json:"tls_verify" doc:"Whether the remote API's TLS certificate is verified. Turn it off only for tests: anyone on the path can then read and change the traffic."`
	TLSCACerts    string `json:"tls_ca_certs" doc:"PEM bundle of the certificate authorities trusted for the remote API, instead of the system's; a relative path is relative to the environment directory."`
	TLSClientCert string `json:"tls_client_cert" doc:"Absolute path to a PEM client certificate presented to the remote API (mutual TLS); it may also hold the key."`
	TLSClientKey  string `json:"tls_client_key" doc:"Absolute path to the PEM private key of tls_client_cert, when the certificate file does not hold it."`

	MaxRetries             int             `json:"max_retries" doc:"How many times a call is retried after a timeout, a connection error or a 429 answer; other answers are returned at once. Retries resend the request, so use them with idempotent APIs."`
	RetrySleepTime         config.Duration `json:"retry_sleep_time" doc:"Sleep before the first retry; each later sleep is multiplied by retry_backoff_multiplier, up to 8s. A Retry-After header on a 429 answer replaces it."`
	RetryBackoffMultiplier float64         `json:"retry_backoff_multiplier" doc:"Factor each sleep between retries grows by."`
	RetryBackoffThreshold  config.Duration `json:"retry_backoff_threshold" doc:"Total time budget of a call with its retries: no retry starts once its sleep would end past it, and a 429 whose Retry-After asks for longer is returned at once."`

	PingMethod string `json:"ping_method" enum:"GET|POST|PUT|PATCH|DELETE|HEAD|OPTIONS" doc:"HTTP verb of a ping (plexus ping outgoing_rest NAME)."`
	PingPath   string `json:"ping_path" doc:"Path a ping requests, appended to host."`

	FollowRedirects bool  `json:"follow_redirects" doc:"Whether 3xx answers are followed (up to 10 times); off, they are returned to the service like any other answer. Credentials are not sent to another host."`
	MaxResponseSize int64 `json:"max_response_size" doc:"Largest response body read, in bytes; a larger one fails the call with 502. 0 means the server's limits.max_outgoing_response_size (1 GiB by default), which also caps larger values."`

	tpl *pathTemplate // parsed url_path, kept by Validate
}

func init() {
	registry.Register(registry.Kind{
		ID:      Kind,
		Title:   "Outgoing REST connection",
		Summary: "A named remote HTTP API that services call, with its own connection pool, credentials, TLS settings and retries.",
		Aliases: []string{"outconn_plain_http"},
		// Zato's fields that Plexus spells differently or does not support
		// yet: 3.2's (a full export writes every column of its http_soap
		// table) and current Zato's invocation and health-check fields
		// (ZATO-BEHAVIOUR §5.1, §7.2). A call's method, query and headers
		// are the service's to give in Plexus.
		ZatoFields: map[string]string{
			"sec_def": "security", "security_name": "security", "validate_tls": "tls_verify",

			"id": "", "service_id": "", "security_id": "", "sec_type": "", "sec_use_rbac": "", "has_rbac": "",
			"sec_tls_ca_cert_id": "", "is_internal": "", "method": "", "service": "", "service_name": "",
			"service_whitelist": "", "merge_url_params_req": "", "url_params_pri": "", "params_pri": "", "match_slash": "",
			"http_accept": "", "cache_type": "", "cache_id": "", "cache_name": "", "cache_expiry": "",
			"content_encoding": "", "data_encoding": "", "serialization_type": "", "hl7_version": "", "json_path": "",
			"soap_action": "", "soap_version": "", "should_parse_on_input": "", "should_return_errors": "", "should_validate": "",
			"is_rate_limit_active": "", "rate_limit_type": "", "rate_limit_def": "", "rate_limit_check_parent_def": "",
			"is_audit_log_active": "", "is_audit_log_sent_active": "", "is_audit_log_received_active": "",
			"max_len_messages_sent": "", "max_len_messages_received": "",
			"max_bytes_per_message_sent": "", "max_bytes_per_message_received": "",
			"request_method": "", "request_query_string": "", "request_path_params": "", "request_headers": "",
			"request_data": "", "request_data_mode": "", "response_map": "", "response_map_mode": "",
			"callback_type": "", "callback_name": "",
			"scheduler_run_every": "", "scheduler_run_unit": "", "scheduler_start_date": "",
			"health_check_run_every": "", "health_check_run_unit": "", "health_check_notify_on": "",
			"health_check_callback_type": "", "health_check_callback_name": "",
		},
		Order: 40,
		New: func() registry.Object {
			return &Config{
				IsActive:               true,
				DataFormat:             "json",
				Timeout:                config.Duration(DefaultTimeout),
				PoolSize:               DefaultPoolSize,
				TLSVerify:              true,
				RetrySleepTime:         config.Duration(DefaultRetrySleep),
				RetryBackoffMultiplier: DefaultBackoff,
				RetryBackoffThreshold:  config.Duration(DefaultRetryBudget),
				PingMethod:             "HEAD",
				PingPath:               "/",
				MaxResponseSize:        DefaultMaxResponseSize,
			}
		},
		Examples: []string{
			`{"name": "Billing", "host": "https://billing.example.com", "url_path": "/api/billing/{phone_no}", "timeout": "20s"}`,
			`{"name": "CRM", "host": "http://10.0.0.5:8080", "url_path": "/v2/customers/{cust_id}", "max_retries": 3, "retry_sleep_time": "500ms"}`,
		},
		Provision: provision,
	})
}

// Validate checks the address, the path template, the numbers and the TLS
// files.
func (c *Config) Validate() []error {
	var errs []error
	if c.Host != "" {
		if err := checkHost(c.Host); err != nil {
			errs = append(errs, registry.FieldProblem("host", "%s %v", redact.Quote(c.Host), err))
		}
	}
	if c.URLPath != "" {
		if _, err := c.template(); err != nil {
			errs = append(errs, registry.FieldProblem("url_path", "%s %v", redact.Quote(c.URLPath), err))
		} else if c.Host != "" {
			if _, err := url.Parse(strings.TrimSuffix(c.Host, "/") + c.URLPath); err != nil {
				errs = append(errs, registry.FieldProblem("url_path", "%s does not make a URL with host", redact.Quote(c.URLPath)))
			}
		}
	}
	if !strings.HasPrefix(c.PingPath, "/") || strings.ContainsAny(c.PingPath, "# \t\r\n") {
		errs = append(errs, registry.FieldProblem("ping_path", "%s must start with / and hold no spaces or #fragment", redact.Quote(c.PingPath)))
	}
	if c.PoolSize < 0 || c.PoolSize > 10000 {
		errs = append(errs, registry.FieldProblem("pool_size", "%d is not between 0 and 10000", c.PoolSize))
	}
	if c.MaxRetries < 0 || c.MaxRetries > 100 {
		errs = append(errs, registry.FieldProblem("max_retries", "%d is not between 0 and 100", c.MaxRetries))
	}
	if c.RetryBackoffMultiplier < 1 || c.RetryBackoffMultiplier > 100 {
		errs = append(errs, registry.FieldProblem("retry_backoff_multiplier", "%v is not between 1 and 100", c.RetryBackoffMultiplier))
	}
	if c.MaxResponseSize < 0 {
		errs = append(errs, registry.FieldProblem("max_response_size", "must not be negative"))
	}
	if c.TLSClientKey != "" && c.TLSClientCert == "" {
		errs = append(errs, registry.FieldProblem("tls_client_key", "needs tls_client_cert"))
	}
	return errs
}

// checkHost accepts an http or https URL with a host and no credentials,
// query or fragment.
func checkHost(host string) error {
	u, err := url.Parse(host)
	if err != nil {
		return errors.New("is not a URL")
	}
	switch {
	case u.Scheme != "http" && u.Scheme != "https":
		return errors.New("must start with http:// or https://")
	case u.Host == "" || u.Hostname() == "":
		return errors.New("has no host name")
	case u.User != nil:
		return errors.New("must not hold credentials: put them in a security definition")
	case u.RawQuery != "" || u.ForceQuery || u.Fragment != "":
		return errors.New("must not hold a query string or #fragment: use url_path and params")
	}
	if p := u.Port(); p != "" {
		var n int
		if _, err := fmt.Sscanf(p, "%d", &n); err != nil || n < 1 || n > 65535 {
			return fmt.Errorf("port %s is not between 1 and 65535", p)
		}
	}
	return nil
}

// template returns the parsed url_path.
func (c *Config) template() (*pathTemplate, error) {
	if c.tpl != nil && c.tpl.raw == c.URLPath {
		return c.tpl, nil
	}
	t, err := parseTemplate(c.URLPath)
	if err == nil {
		c.tpl = t
	}
	return t, err
}

// tlsFiles are the loaded contents of the TLS fields.
type tlsFiles struct {
	roots  *x509.CertPool
	client *tls.Certificate
}

// loadTLS loads the CA bundle and the client certificate, relative paths
// from dir, or returns a problem naming the field whose file is wrong.
func (c *Config) loadTLS(dir string) (*tlsFiles, error) {
	abs := func(p string) string {
		if p == "" || filepath.IsAbs(p) {
			return p
		}
		return filepath.Join(dir, p)
	}
	t := &tlsFiles{}
	if c.TLSCACerts != "" {
		pem, err := os.ReadFile(abs(c.TLSCACerts))
		if err != nil {
			return nil, registry.FieldProblem("tls_ca_certs", "reading %s: %v", redact.Quote(c.TLSCACerts), pathError(err))
		}
		t.roots = x509.NewCertPool()
		if !t.roots.AppendCertsFromPEM(pem) {
			return nil, registry.FieldProblem("tls_ca_certs", "%s holds no PEM certificate", redact.Quote(c.TLSCACerts))
		}
	}
	if c.TLSClientCert != "" {
		certPEM, err := os.ReadFile(abs(c.TLSClientCert))
		if err != nil {
			return nil, registry.FieldProblem("tls_client_cert", "reading %s: %v", redact.Quote(c.TLSClientCert), pathError(err))
		}
		if !hasPEM(certPEM, "CERTIFICATE") {
			return nil, registry.FieldProblem("tls_client_cert", "%s holds no PEM certificate", redact.Quote(c.TLSClientCert))
		}
		keyPEM, keyField := certPEM, "tls_client_cert"
		if c.TLSClientKey != "" {
			if keyPEM, err = os.ReadFile(abs(c.TLSClientKey)); err != nil {
				return nil, registry.FieldProblem("tls_client_key", "reading %s: %v", redact.Quote(c.TLSClientKey), pathError(err))
			}
			keyField = "tls_client_key"
		}
		cert, err := tls.X509KeyPair(certPEM, keyPEM)
		if err != nil {
			return nil, registry.FieldProblem(keyField, "loading the client certificate's key: %v", err)
		}
		t.client = &cert
	}
	return t, nil
}

// hasPEM reports whether data holds a PEM block of a type.
func hasPEM(data []byte, typ string) bool {
	for {
		var block *pem.Block
		block, data = pem.Decode(data)
		if block == nil {
			return false
		}
		if block.Type == typ {
			return true
		}
	}
}

// pathError drops the path an *os.PathError repeats.
func pathError(err error) error {
	var pe *os.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}
