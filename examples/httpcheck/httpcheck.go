// Package httpcheck is a complete small kind declared outside Plexus's own
// packages, as a program that uses Plexus as a library declares its own:
// http_check, a named HTTP endpoint whose health the server watches in
// the background and that services check on demand.
//
// Its declaration gives it everything a kind gets: the admin API
// (/admin/api/v1/objects/http_check/{name}), enmasse (section
// http_check), a status (running or degraded), a ping action (plexus ping
// http_check NAME), access from Go services
// (service.Resource[*httpcheck.Checker](s, httpcheck.Kind, name)) and
// from Starlark (self.out.http_check["Name"].check()), a metric, form
// metadata and reference docs (plexus kinds). Importing the package
// registers the kind; cmd/plexus-httpcheck is a plexus binary with it.
package httpcheck

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	sl "go.starlark.net/starlark"
	"go.starlark.net/starlarkstruct"

	"github.com/plexushq/plexus/kind"
	"github.com/plexushq/plexus/sdk/service"
)

// Kind is the kind id: the enmasse section and the admin API's name.
const Kind = "http_check"

// Config is the configuration of one check.
type Config struct {
	Name         string        `json:"name" label:"Name" group:"Check" placeholder:"billing.health" doc:"Unique name of the check; services use it: self.out.http_check[\"billing.health\"]."`
	IsActive     bool          `json:"is_active" label:"Active" group:"Check" doc:"Whether the check is used; an inactive one is not watched, and services using it get 503."`
	URL          string        `json:"url" required:"true" label:"URL" group:"Check" placeholder:"https://billing.example.com/health" doc:"The http:// or https:// URL a check sends GET to."`
	ExpectStatus int           `json:"expect_status" label:"Expected status" group:"Check" min:"100" max:"599" doc:"The HTTP status a healthy endpoint answers."`
	Timeout      kind.Duration `json:"timeout" label:"Timeout" group:"Timing" min:"1ms" placeholder:"5s" doc:"Longest time one check may take."`
	Every        kind.Duration `json:"every" label:"Watch every" group:"Timing" min:"1s" placeholder:"30s" doc:"How often the server checks the endpoint in the background; the object's status shows the outcome."`
}

// Validate checks what the tags cannot: the URL.
func (c *Config) Validate() []error {
	if c.URL == "" {
		return nil // reported as required
	}
	if u, err := url.Parse(c.URL); err != nil || u.Scheme != "http" && u.Scheme != "https" || u.Host == "" {
		return []error{kind.FieldProblem("url", "%q is not an http:// or https:// URL", c.URL)}
	}
	return nil
}

func init() {
	kind.Register(kind.Kind{
		ID:      Kind,
		Title:   "HTTP check",
		Summary: "A named HTTP endpoint whose health the server watches, and that services check on demand.",
		Order:   45,
		New: func() kind.Object {
			return &Config{IsActive: true, ExpectStatus: http.StatusOK, Timeout: kind.Duration(5 * time.Second), Every: kind.Duration(30 * time.Second)}
		},
		Examples: []string{
			`{"name": "billing.health", "url": "https://billing.example.com/health"}`,
			`{"name": "crm.ready", "url": "http://10.0.0.5:8080/ready", "expect_status": 204, "timeout": "1s", "every": "10s"}`,
		},
		Provision: provision,
		Out:       &kind.Out{Section: "http_check", Resolve: resolve, Starlark: starlarkValue},
		Actions: []kind.Action{{
			Name: "ping",
			Doc:  `Checks the endpoint now and answers {"name", "cid", "target", "ok", "status", "time_ms", "error"}.`,
			Run: func(ctx context.Context, call *kind.Call) (any, error) {
				res := call.Running.(*Checker).Check(ctx)
				return kind.PingResult{Name: call.Name, CID: call.CID, Target: "GET " + res.URL, OK: res.OK, Status: res.Status, TimeMS: res.TimeMS, Error: res.Error}, nil
			},
		}},
		Collectors: func() []prometheus.Collector {
			return []prometheus.Collector{prometheus.NewCounterVec(prometheus.CounterOpts{
				Name: "plexus_http_check_checks_total",
				Help: "Checks of HTTP checks, in the background and on demand, by outcome (ok or failed).",
			}, []string{"name", "outcome"})}
		},
	})
}

// Checker is the running form of a check: its HTTP client, its metric,
// and its Run, which watches the endpoint. It is safe for concurrent use.
type Checker struct {
	cfg    *Config
	client *http.Client
	checks *prometheus.CounterVec
}

// provision builds a checker without sending anything: the first check is
// Run's.
func provision(env *kind.Env, obj kind.Object) (any, error) {
	cfg := obj.(*Config)
	c := &Checker{cfg: cfg, client: &http.Client{Timeout: cfg.Timeout.D()}}
	if cs := env.Collectors(Kind); len(cs) > 0 {
		c.checks = cs[0].(*prometheus.CounterVec)
	}
	return c, nil
}

// Result is the outcome of one check.
type Result struct {
	URL    string  `json:"url"`
	OK     bool    `json:"ok"`
	Status int     `json:"status"`
	TimeMS float64 `json:"time_ms"`
	Error  string  `json:"error,omitempty"`
}

// Check sends one GET to the endpoint and says whether it answered the
// expected status.
func (c *Checker) Check(ctx context.Context) Result {
	res := Result{URL: c.cfg.URL}
	start := time.Now()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.cfg.URL, nil)
	if err == nil {
		var resp *http.Response
		if resp, err = c.client.Do(req); err == nil {
			resp.Body.Close()
			res.Status = resp.StatusCode
			if res.Status != c.cfg.ExpectStatus {
				err = fmt.Errorf("the endpoint answered %d, not %d", res.Status, c.cfg.ExpectStatus)
			}
		}
	}
	res.TimeMS = float64(time.Since(start).Microseconds()) / 1000
	res.OK = err == nil
	outcome := "ok"
	if err != nil {
		res.Error, outcome = err.Error(), "failed"
	}
	if c.checks != nil {
		c.checks.WithLabelValues(c.cfg.Name, outcome).Inc()
	}
	return res
}

// Run watches the endpoint every cfg.Every, reporting running or degraded
// with the last failure, until ctx ends. An inactive check is stopped.
func (c *Checker) Run(ctx context.Context, st *kind.Status) error {
	if !c.cfg.IsActive {
		return nil
	}
	t := time.NewTicker(c.cfg.Every.D())
	defer t.Stop()
	for {
		if res := c.Check(ctx); res.OK {
			st.Running()
		} else if ctx.Err() == nil {
			st.Degraded(errors.New(res.Error))
		}
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}

// resolve gives services the checker with a name.
func resolve(st kind.State, name string) (any, error) {
	v, ok := st.Running(Kind, name)
	if !ok {
		msg := fmt.Sprintf("no HTTP check named %q", name)
		if s := kind.Suggest(name, st.Names(Kind)); s != "" {
			msg += fmt.Sprintf("; did you mean %q?", s)
		}
		return nil, errors.New(msg)
	}
	c := v.(*Checker)
	if !c.cfg.IsActive {
		return nil, service.ServiceUnavailable("HTTP check %q is inactive", name)
	}
	return c, nil
}

// starlarkValue is self.out.http_check["Name"] of a Starlark service: its
// check() returns a struct with ok, status, time_ms and error.
func starlarkValue(c *service.Context, name string, resource any) (sl.Value, error) {
	checker := resource.(*Checker)
	check := sl.NewBuiltin("check", func(_ *sl.Thread, b *sl.Builtin, args sl.Tuple, kwargs []sl.Tuple) (sl.Value, error) {
		if err := sl.UnpackArgs(b.Name(), args, kwargs); err != nil {
			return nil, err
		}
		res := checker.Check(c)
		return starlarkstruct.FromStringDict(starlarkstruct.Default, sl.StringDict{
			"ok": sl.Bool(res.OK), "status": sl.MakeInt(res.Status), "time_ms": sl.Float(res.TimeMS), "error": sl.String(res.Error),
		}), nil
	})
	return starlarkstruct.FromStringDict(sl.String("http_check"), sl.StringDict{"name": sl.String(name), "check": check}), nil
}
