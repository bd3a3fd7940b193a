// Package config reads the server settings of an environment, the
// plexus.yaml file at its root. Every key has a doc tag; the file that
// quickstart writes and the docs' reference are generated from them.
package config

import (
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"net/netip"
	"os"
	"reflect"
	"strconv"
	"strings"
	"time"

	"go.yaml.in/yaml/v4"

	"github.com/plexushq/plexus/internal/redact"
)

// Settings are the server settings. The zero value is not useful: start
// from Default.
type Settings struct {
	Listen      string   `yaml:"listen" doc:"Address of the API listener that serves REST channels."`
	AdminListen string   `yaml:"admin_listen" doc:"Address of the admin listener: admin API and /metrics. Keep it on a loopback or private address."`
	DB          string   `yaml:"db" doc:"Configuration store. Empty uses the embedded SQLite database in data/; a postgres:// URL uses PostgreSQL."`
	Development bool     `yaml:"development" doc:"Development mode: error responses carry the cause of 500 errors. Never enable it in production."`
	DebugListen string   `yaml:"debug_listen" doc:"Address of the debugger of Starlark services (the Debug Adapter Protocol), in development mode only; empty (the default) runs none. plexus start --debug ADDR sets it. Keep it on a loopback address."`
	Log         Log      `yaml:"log" doc:"Logging."`
	Limits      Limits   `yaml:"limits" doc:"Limits that protect the server from slow or oversized requests."`
	Metrics     Metrics  `yaml:"metrics" doc:"Prometheus metrics on the admin listener."`
	Starlark    Starlark `yaml:"starlark" doc:"Starlark services."`
	TLS         TLS      `yaml:"tls" doc:"HTTPS on the API listener (HTTP/2 included); off while cert_file is empty."`
	// TrustedProxies are the proxies whose X-Forwarded-For is believed.
	TrustedProxies []string     `yaml:"trusted_proxies" doc:"Address ranges of reverse proxies and load balancers in front of Plexus: only a request from one of them has its client address taken from X-Forwarded-For; every other request's client address is its socket's peer."`
	AuthFailures   AuthFailures `yaml:"auth_failures" doc:"Slowing down and locking out addresses that keep failing to authenticate."`
	KVDB           KVDB         `yaml:"kvdb" doc:"The key-value database services use as self.kvdb.conn."`
	RateLimiting   RateLimiting `yaml:"rate_limiting" doc:"Where the usage that rate limits count is kept."`
	WebSocket      WebSocket    `yaml:"websocket" doc:"How WebSocket broadcasts reach the clients of every server of a cluster."`
}

// WebSocket configures the bus of WebSocket broadcasts.
type WebSocket struct {
	Redis        string `yaml:"redis" doc:"Name of the outgoing_redis connection whose pub/sub carries WebSocket broadcasts to the channel's clients on every server that names it; empty: servers sharing a PostgreSQL store carry them over LISTEN/NOTIFY, and a server of its own reaches only its own clients."`
	RedisChannel string `yaml:"redis_channel" doc:"The Redis pub/sub channel of the broadcasts, with redis: the servers of one cluster share it, and clusters sharing a Redis server need one each. Default plexus.websocket."`
}

// RateLimiting configures where rate limits keep their usage.
type RateLimiting struct {
	Redis string `yaml:"redis" doc:"Name of the outgoing_redis connection that keeps the usage of every rate limit, so that the servers of a cluster count one usage and a limit holds exactly across them; empty keeps it in each server's memory, so each server allows the limit. A check that cannot reach Redis within 100ms is decided with the server's own usage."`
}

// KVDB configures the key-value database of services (self.kvdb.conn).
type KVDB struct {
	Redis string `yaml:"redis" doc:"Name of the outgoing_redis connection that self.kvdb.conn uses; empty uses the embedded store, in the configuration database (table kvdb)."`
}

// TLS configures HTTPS on the API listener.
type TLS struct {
	CertFile     string `yaml:"cert_file" doc:"PEM file with the server certificate (and its chain); relative paths are relative to the environment directory."`
	KeyFile      string `yaml:"key_file" doc:"PEM file with the certificate's private key."`
	ClientCAFile string `yaml:"client_ca_file" doc:"PEM file with the CAs that sign client certificates; set it to accept client certificates (mTLS)."`
	ClientAuth   string `yaml:"client_auth" doc:"With client_ca_file: request (verify a client certificate when one is sent) or require (refuse connections without one)."`
}

// AuthFailures configures the protection against guessing credentials.
type AuthFailures struct {
	SlowAfter int      `yaml:"slow_after" doc:"Failed authentications from one address, within window, after which each further failure is answered only after delay; 0 turns slowing off."`
	LockAfter int      `yaml:"lock_after" doc:"Failed authentications from one address, within window, after which the address is refused for lock_for; 0 turns lock-outs off."`
	Window    Duration `yaml:"window" doc:"Period over which failures are counted."`
	Delay     Duration `yaml:"delay" doc:"Wait added to each failure past slow_after."`
	LockFor   Duration `yaml:"lock_for" doc:"How long a locked-out address is refused."`
}

// Log configures logging.
type Log struct {
	Format string `yaml:"format" doc:"Log format: text or json."`
	Level  string `yaml:"level" doc:"Lowest level logged: debug, info, warn or error."`
	Access bool   `yaml:"access" doc:"Log one line per request with its cid, channel kind, channel, status and duration: every API request, admin API invoke and scheduler job run."`
}

// Limits bound what one request may take.
type Limits struct {
	MaxBodySize       Size     `yaml:"max_body_size" doc:"Largest request body accepted, e.g. 10MiB; larger bodies are answered 413."`
	MaxHeaderSize     Size     `yaml:"max_header_size" doc:"Largest size of a request's headers."`
	ReadHeaderTimeout Duration `yaml:"read_header_timeout" doc:"Time a client has to send the request headers."`
	ReadTimeout       Duration `yaml:"read_timeout" doc:"Time a client has to send the whole request."`
	WriteTimeout      Duration `yaml:"write_timeout" doc:"Time the server has to write the response, counted from the end of the request headers."`
	IdleTimeout       Duration `yaml:"idle_timeout" doc:"Time an idle keep-alive connection is kept open."`
	ShutdownTimeout   Duration `yaml:"shutdown_timeout" doc:"On SIGTERM or SIGINT, time given to requests in flight, scheduler job runs and background invocations (invoke_async) to finish before the server stops; background work still running then is cancelled."`
	// MaxAsyncInvocations bounds the background work services start.
	MaxAsyncInvocations int `yaml:"max_async_invocations" doc:"Most background invocations (self.invoke_async, InvokeAsync) running at once, server-wide; past it invoke_async fails with 503 until some finish."`
	// MaxPasswordChecks and PasswordCheckWait bound argon2id.
	MaxPasswordChecks int      `yaml:"max_password_checks" doc:"Most argon2id password checks (admin log-ins not yet remembered) running at once, server-wide; each takes 64 MiB while it runs."`
	PasswordCheckWait Duration `yaml:"password_check_wait" doc:"How long a log-in waits for a password check to free up before it is answered 429 with Retry-After."`
	// MaxOutgoingResponseSize caps what one outgoing call may read.
	MaxOutgoingResponseSize Size `yaml:"max_outgoing_response_size" doc:"Largest response body an outgoing REST call reads, whatever the connection's max_response_size says (its 0 means this); a larger one, announced or streamed, fails the call with 502."`
	JSON                    JSON `yaml:"json" doc:"Limits on JSON request bodies, whatever channel carries them."`
}

// JSON bounds the JSON bodies of requests and the memory decoding them
// takes.
type JSON struct {
	MaxDepth     int  `yaml:"max_depth" doc:"Deepest nesting of arrays and objects accepted in a JSON body; a deeper body is answered 400 \"Invalid JSON: nested too deeply\"."`
	MaxValues    int  `yaml:"max_values" doc:"Most values (objects, arrays, strings, numbers, booleans and nulls) one JSON body may hold; a body with more is answered 413."`
	DecodeBudget Size `yaml:"decode_budget" doc:"Memory the decoded JSON bodies of all requests being served may take at once, estimated before a body is decoded. A request that does not fit waits up to 100 ms for room, then is answered 503 with Retry-After; one larger than the whole budget is answered 413."`
}

// Metrics configures the /metrics endpoint.
type Metrics struct {
	Public bool `yaml:"public" doc:"Serve /metrics without the admin login, for a Prometheus scraper that cannot authenticate."`
}

// Starlark configures Starlark services.
type Starlark struct {
	MaxSteps  uint64 `yaml:"max_steps" doc:"Most Starlark execution steps one invocation may take before it is stopped and answered 500."`
	MaxMemory Size   `yaml:"max_memory" doc:"Memory one invocation may allocate, counting every value it makes (strings, lists, dicts, the request payload it reads, responses of outgoing calls) and its call stack, including the services it invokes; past it the invocation is stopped and answered 500. Module-level values count against it when a file is deployed."`
	// MaxPatternSize bounds the regular expressions of the re module.
	MaxPatternSize Size `yaml:"max_pattern_size" doc:"Longest regular expression the re module compiles; a longer pattern fails with an error naming this setting, and the service is stopped."`
}

// Default returns the default settings.
func Default() *Settings {
	return &Settings{
		Listen:      ":11223",
		AdminListen: "127.0.0.1:11224",
		Log:         Log{Format: "text", Level: "info", Access: true},
		Limits: Limits{
			MaxBodySize:       10 << 20,
			MaxHeaderSize:     1 << 20,
			ReadHeaderTimeout: Duration(10 * time.Second),
			ReadTimeout:       Duration(60 * time.Second),
			WriteTimeout:      Duration(60 * time.Second),
			IdleTimeout:       Duration(120 * time.Second),
			ShutdownTimeout:   Duration(15 * time.Second),

			MaxAsyncInvocations: 1000,
			MaxPasswordChecks:   2,
			PasswordCheckWait:   Duration(2 * time.Second),

			MaxOutgoingResponseSize: 1 << 30,
			JSON:                    JSON{MaxDepth: 1000, MaxValues: 1_000_000, DecodeBudget: 512 << 20},
		},
		Starlark:       Starlark{MaxSteps: 10_000_000, MaxMemory: 64 << 20, MaxPatternSize: 16 << 10},
		TLS:            TLS{ClientAuth: "request"},
		TrustedProxies: []string{},
		AuthFailures: AuthFailures{
			SlowAfter: 5, LockAfter: 20,
			Window: Duration(10 * time.Minute), Delay: Duration(time.Second), LockFor: Duration(15 * time.Minute),
		},
	}
}

// Load reads settings from a plexus.yaml file over the defaults. A missing
// file gives the defaults. Unknown keys are errors.
func Load(path string) (*Settings, error) {
	s := Default()
	data, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return s, nil
	}
	if err != nil {
		return nil, fmt.Errorf("reading settings: %w", err)
	}
	if onlyComments(data) {
		return s, nil
	}
	if err := yaml.Load(data, s, yaml.WithKnownFields()); err != nil {
		return nil, fmt.Errorf("reading %s: %w", path, err)
	}
	if err := s.Validate(); err != nil {
		return nil, fmt.Errorf("reading %s: %w", path, err)
	}
	return s, nil
}

// onlyComments reports whether a YAML file holds no document: only blank
// lines and comments.
func onlyComments(data []byte) bool {
	for line := range strings.Lines(string(data)) {
		if l := strings.TrimSpace(line); l != "" && !strings.HasPrefix(l, "#") {
			return false
		}
	}
	return true
}

// Override sets the keys that the command-line flags --listen,
// --admin-listen and --db override; empty values change nothing.
func (s *Settings) Override(listen, adminListen, db string) {
	for _, o := range []struct {
		key  *string
		flag string
	}{{&s.Listen, listen}, {&s.AdminListen, adminListen}, {&s.DB, db}} {
		if o.flag != "" {
			*o.key = o.flag
		}
	}
}

// Validate checks values the types cannot.
func (s *Settings) Validate() error {
	var errs []error
	if s.DebugListen != "" && !s.Development {
		errs = append(errs, fmt.Errorf("debug_listen: the debugger runs in development mode only: set development: true"))
	}
	if s.Log.Format != "text" && s.Log.Format != "json" {
		errs = append(errs, fmt.Errorf("log.format: %q is not one of text, json", s.Log.Format))
	}
	if _, err := ParseLevel(s.Log.Level); err != nil {
		errs = append(errs, fmt.Errorf("log.level: %w", err))
	}
	if s.Limits.MaxBodySize <= 0 {
		errs = append(errs, errors.New("limits.max_body_size: must be positive"))
	}
	if s.Limits.JSON.MaxDepth <= 0 {
		errs = append(errs, errors.New("limits.json.max_depth: must be positive"))
	}
	if s.Limits.JSON.MaxValues <= 0 {
		errs = append(errs, errors.New("limits.json.max_values: must be positive"))
	}
	if s.Limits.JSON.DecodeBudget <= 0 {
		errs = append(errs, errors.New("limits.json.decode_budget: must be positive"))
	}
	if s.Limits.MaxOutgoingResponseSize <= 0 {
		errs = append(errs, errors.New("limits.max_outgoing_response_size: must be positive"))
	}
	if s.Limits.MaxAsyncInvocations <= 0 {
		errs = append(errs, errors.New("limits.max_async_invocations: must be positive"))
	}
	if s.Limits.MaxPasswordChecks <= 0 {
		errs = append(errs, errors.New("limits.max_password_checks: must be positive"))
	}
	if s.Starlark.MaxSteps == 0 {
		errs = append(errs, errors.New("starlark.max_steps: must be positive"))
	}
	if s.Starlark.MaxMemory <= 0 {
		errs = append(errs, errors.New("starlark.max_memory: must be positive"))
	}
	if s.Starlark.MaxPatternSize <= 0 {
		errs = append(errs, errors.New("starlark.max_pattern_size: must be positive"))
	}
	if (s.TLS.CertFile == "") != (s.TLS.KeyFile == "") {
		errs = append(errs, errors.New("tls: cert_file and key_file go together"))
	}
	if s.TLS.ClientAuth != "request" && s.TLS.ClientAuth != "require" {
		errs = append(errs, fmt.Errorf("tls.client_auth: %s is not one of request, require", redact.Quote(s.TLS.ClientAuth)))
	}
	for _, c := range s.TrustedProxies {
		if _, err := netip.ParsePrefix(c); err != nil {
			if _, err := netip.ParseAddr(c); err != nil {
				errs = append(errs, fmt.Errorf("trusted_proxies: %s is not an address range such as 10.0.0.0/8", redact.Quote(c)))
			}
		}
	}
	return errors.Join(errs...)
}

// Key is one documented settings key.
type Key struct {
	Path    string // dotted, e.g. limits.max_body_size
	Doc     string
	Default any
}

// Keys returns every settings key with its doc and default, in file order.
func Keys() []Key { return keysOf(Default()) }

// keysOf returns every settings key with its doc and its value in s.
func keysOf(s *Settings) []Key {
	var out []Key
	var walk func(prefix string, v reflect.Value)
	walk = func(prefix string, v reflect.Value) {
		t := v.Type()
		for i := range t.NumField() {
			f := t.Field(i)
			path := prefix + f.Tag.Get("yaml")
			if f.Type.Kind() == reflect.Struct {
				out = append(out, Key{Path: path, Doc: f.Tag.Get("doc")})
				walk(path+".", v.Field(i))
				continue
			}
			out = append(out, Key{Path: path, Doc: f.Tag.Get("doc"), Default: v.Field(i).Interface()})
		}
	}
	walk("", reflect.ValueOf(s).Elem())
	return out
}

// Template returns a plexus.yaml holding every key with its default and
// its doc as a comment.
func Template() string { return TemplateFor(Default()) }

// TemplateFor is Template with the values of s; a key whose value is not
// the default says the default in its comment.
func TemplateFor(s *Settings) string {
	var b strings.Builder
	b.WriteString("# Plexus server settings. Every key is optional; a key left out takes its\n")
	b.WriteString("# default. Command-line flags (--listen, --admin-listen, --db) override them.\n")
	defaults := Keys()
	for i, k := range keysOf(s) {
		depth := strings.Count(k.Path, ".")
		indent := strings.Repeat("  ", depth)
		name := k.Path[strings.LastIndex(k.Path, ".")+1:]
		if depth == 0 {
			b.WriteString("\n")
		}
		fmt.Fprintf(&b, "%s# %s\n", indent, k.Doc)
		if k.Default == nil {
			fmt.Fprintf(&b, "%s%s:\n", indent, name)
			continue
		}
		val, _ := yaml.Dump(k.Default)
		if def := defaults[i].Default; !reflect.DeepEqual(def, k.Default) {
			dv, _ := yaml.Dump(def)
			fmt.Fprintf(&b, "%s# Default: %s", indent, dv)
		}
		fmt.Fprintf(&b, "%s%s: %s", indent, name, val)
	}
	return b.String()
}

// Duration is a time.Duration written as "30s" or "1m30s", or as a number
// of seconds.
type Duration time.Duration

// D returns the time.Duration.
func (d Duration) D() time.Duration { return time.Duration(d) }

func (d Duration) String() string { return time.Duration(d).String() }

// MarshalYAML writes the duration as a string.
func (d Duration) MarshalYAML() (any, error) { return d.String(), nil }

// UnmarshalYAML reads "30s" or a number of seconds.
func (d *Duration) UnmarshalYAML(n *yaml.Node) error {
	v, err := parseDuration(n.Value)
	*d = v
	return err
}

// MarshalJSON writes the duration as a string.
func (d Duration) MarshalJSON() ([]byte, error) { return json.Marshal(d.String()) }

// UnmarshalJSON reads "30s" or a number of seconds.
func (d *Duration) UnmarshalJSON(b []byte) error {
	s := string(b)
	if uq, err := strconv.Unquote(s); err == nil {
		s = uq
	}
	v, err := parseDuration(s)
	*d = v
	return err
}

func parseDuration(s string) (Duration, error) {
	s = strings.TrimSpace(s)
	if n, err := strconv.ParseFloat(s, 64); err == nil {
		if n < 0 {
			return 0, fmt.Errorf("expected a positive duration, got %s", redact.Short(s))
		}
		return Duration(n * float64(time.Second)), nil
	}
	v, err := time.ParseDuration(s)
	if err != nil || v < 0 {
		return 0, fmt.Errorf("expected a duration such as 30s or 1m, got %s", redact.Quote(s))
	}
	return Duration(v), nil
}

// Size is a number of bytes written as 10MiB, 512KiB, 1GB or a plain number.
type Size int64

var sizeUnits = []struct {
	suffix string
	mult   int64
}{
	{"KiB", 1 << 10}, {"MiB", 1 << 20}, {"GiB", 1 << 30},
	{"KB", 1e3}, {"MB", 1e6}, {"GB", 1e9}, {"B", 1},
}

func (s Size) String() string {
	for i := 2; i >= 0; i-- {
		u := sizeUnits[i]
		if int64(s) >= u.mult && int64(s)%u.mult == 0 {
			return strconv.FormatInt(int64(s)/u.mult, 10) + u.suffix
		}
	}
	return strconv.FormatInt(int64(s), 10)
}

// MarshalYAML writes the size with a binary unit when it divides evenly.
func (s Size) MarshalYAML() (any, error) { return s.String(), nil }

// UnmarshalYAML reads a size.
func (s *Size) UnmarshalYAML(n *yaml.Node) error {
	v, err := ParseSize(n.Value)
	*s = v
	return err
}

// ParseSize reads 10MiB, 512KiB, 1GB or a plain number of bytes.
func ParseSize(str string) (Size, error) {
	t := strings.TrimSpace(str)
	for _, u := range sizeUnits {
		if num, ok := strings.CutSuffix(t, u.suffix); ok {
			n, err := strconv.ParseInt(strings.TrimSpace(num), 10, 64)
			if err != nil || n < 0 || n > math.MaxInt64/u.mult {
				break
			}
			return Size(n * u.mult), nil
		}
	}
	n, err := strconv.ParseInt(t, 10, 64)
	if err != nil || n < 0 {
		return 0, fmt.Errorf("expected a size such as 10MiB or 1048576, got %s", redact.Quote(str))
	}
	return Size(n), nil
}

// ParseLevel reads a log level name.
func ParseLevel(s string) (slog.Level, error) {
	var l slog.Level
	if err := l.UnmarshalText([]byte(s)); err != nil {
		return 0, fmt.Errorf("%s is not one of debug, info, warn, error", redact.Quote(s))
	}
	return l, nil
}
