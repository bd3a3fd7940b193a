package nats

import (
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"

	natsio "github.com/nats-io/nats.go"

	"github.com/plexushq/plexus/internal/registry"
	"github.com/plexushq/plexus/sdk/service"
)

// Connection timings: dialTimeout bounds connecting (TCP, TLS and the
// NATS handshake); the connection pings the server every pingInterval
// and takes it as gone after maxPingsOut pings unanswered.
const (
	dialTimeout  = 10 * time.Second
	pingInterval = 10 * time.Second
	maxPingsOut  = 2
)

// endpoint is where an object connects, and as whom.
type endpoint struct {
	address, username, password, token string
	// name identifies the connection to the server's operators (nats
	// server shows it in its connection list): plexus <kind> <name>, of
	// the object that opened it when several share it.
	name string
}

// connection is an open connection and what tells that it closed.
type connection struct {
	nc     *natsio.Conn
	closed chan struct{} // closed once the connection is closed

	mu      sync.Mutex
	lastErr error // why it was lost, when the server or network closed it

	key  endpoint // the shared connections' key; its users, guarded by shared.mu
	refs int
}

// shared holds the open connections that channels and outgoing
// connections share: those on the same server as the same user use one
// connection, as a program consuming and publishing would, so that a
// channel relaying messages through an outgoing connection has one
// connection's reads and writes per message rather than two.
var shared = struct {
	mu    sync.Mutex
	conns map[endpoint]*connection
}{conns: map[endpoint]*connection{}}

// acquire returns an open connection to the endpoint's server as its
// user: the one another object holds, or a new one. The caller releases
// it once done. A lost connection is lost for all its users: each one's
// Run returns, and their next Run opens a new one.
func (e endpoint) acquire() (*connection, error) {
	key := e
	key.name = ""
	if c := e.shared(key); c != nil {
		return c, nil
	}
	c, err := e.dial()
	if err != nil {
		return nil, err
	}
	shared.mu.Lock()
	if o := shared.conns[key]; o != nil && !o.nc.IsClosed() {
		// Another object connected meanwhile: use its connection.
		o.refs++
		shared.mu.Unlock()
		c.nc.Close()
		return o, nil
	}
	c.key, c.refs = key, 1
	shared.conns[key] = c
	shared.mu.Unlock()
	return c, nil
}

// shared returns the open connection under key, counting one more user,
// or nil.
func (e endpoint) shared(key endpoint) *connection {
	shared.mu.Lock()
	defer shared.mu.Unlock()
	c := shared.conns[key]
	if c == nil || c.nc.IsClosed() {
		return nil
	}
	c.refs++
	return c
}

// release ends a user's use of a connection; the last one closes it,
// once what was sent on it reached the server (within flush).
func (c *connection) release(flush time.Duration) {
	shared.mu.Lock()
	c.refs--
	last := c.refs == 0
	if last && shared.conns[c.key] == c {
		delete(shared.conns, c.key)
	}
	shared.mu.Unlock()
	if last {
		if !c.nc.IsClosed() {
			c.nc.FlushTimeout(flush)
		}
		c.nc.Close()
	}
}

// dial connects to the server. The connection does not reconnect by
// itself: once it is lost, closed is closed, and the object's Run
// returns for the runtime to connect again after a back-off.
func (e endpoint) dial() (*connection, error) {
	c := &connection{closed: make(chan struct{})}
	opts := []natsio.Option{
		natsio.Name(e.name), natsio.NoReconnect(), natsio.Timeout(dialTimeout),
		natsio.PingInterval(pingInterval), natsio.MaxPingsOutstanding(maxPingsOut),
		natsio.DisconnectErrHandler(func(_ *natsio.Conn, err error) {
			c.mu.Lock()
			if err != nil {
				c.lastErr = err
			}
			c.mu.Unlock()
		}),
		natsio.ClosedHandler(func(*natsio.Conn) { close(c.closed) }),
		// Asynchronous errors (a slow consumer, say) are counted where
		// they happen; the connection's own are told by closed.
		natsio.ErrorHandler(func(*natsio.Conn, *natsio.Subscription, error) {}),
	}
	if e.username != "" {
		opts = append(opts, natsio.UserInfo(e.username, e.password))
	}
	if e.token != "" {
		opts = append(opts, natsio.Token(e.token))
	}
	nc, err := natsio.Connect(e.address, opts...)
	if err != nil {
		return nil, fmt.Errorf("connecting to %s: %w", e.address, err)
	}
	c.nc = nc
	return c, nil
}

// err says why the connection was lost.
func (c *connection) err() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.lastErr != nil {
		return fmt.Errorf("the connection to the server was lost: %w", c.lastErr)
	}
	return errors.New("the connection to the server was lost")
}

// checkAddress reports what is wrong with an object's address: not a
// list of nats://, tls://, ws:// or wss:// URLs, or one holding
// credentials.
func checkAddress(address string) []error {
	if address == "" {
		return nil // reported as required
	}
	for _, a := range strings.Split(address, ",") {
		a = strings.TrimSpace(a)
		u, err := url.Parse(a)
		if err != nil || u.Host == "" {
			return []error{registry.FieldProblem("address", "%q is not a nats:// URL such as nats://nats.example.com:4222", a)}
		}
		switch u.Scheme {
		case "nats", "tls", "ws", "wss":
		default:
			return []error{registry.FieldProblem("address", "%q: the scheme is %q; use nats:// (or tls://, ws://, wss://)", u.Redacted(), u.Scheme)}
		}
		if u.User != nil {
			return []error{registry.FieldProblem("address", "the address holds credentials: give them in username and password, or token, which are stored encrypted and never shown")}
		}
	}
	return nil
}

// checkSubject reports what is wrong with a subject: empty tokens,
// spaces, or a wildcard (* and > as whole tokens, > only last) where
// wildcards is false.
func checkSubject(field, subject string, wildcards bool) error {
	if subject == "" {
		return nil
	}
	if err := subjectProblem(subject, wildcards); err != "" {
		return registry.FieldProblem(field, "%q is not a subject: %s", subject, err)
	}
	return nil
}

// subjectProblem says what is wrong with a subject, or "".
func subjectProblem(subject string, wildcards bool) string {
	if strings.ContainsAny(subject, " \t\r\n\x00") {
		return "it holds a space or a control character"
	}
	tokens := strings.Split(subject, ".")
	for i, t := range tokens {
		switch {
		case t == "":
			return "it has an empty token (two dots, or a dot at an end)"
		case t == "*" || t == ">":
			if !wildcards {
				return "it has a wildcard"
			}
			if t == ">" && i != len(tokens)-1 {
				return "> may only be its last token"
			}
		}
	}
	return ""
}

// hasWildcard reports whether a subject has a * or > token.
func hasWildcard(subject string) bool {
	for _, t := range strings.Split(subject, ".") {
		if t == "*" || t == ">" {
			return true
		}
	}
	return false
}

// validName reports whether a name is a valid stream or consumer name.
func validName(s string) bool {
	return s != "" && len(s) <= 255 && !strings.ContainsAny(s, " \t\r\n.*>/\\\x00")
}

// sanitizeName turns an object's name into a valid consumer name.
func sanitizeName(s string) string {
	return strings.Map(func(r rune) rune {
		if strings.ContainsRune(" \t\r\n.*>/\\\x00", r) {
			return '_'
		}
		return r
	}, s)
}

// ParseBackOff parses the durations of a back_off field: Go durations
// from 1ms to 24h each.
func ParseBackOff(ss []string) ([]time.Duration, error) {
	if len(ss) > 100 {
		return nil, fmt.Errorf("%d durations: at most 100", len(ss))
	}
	var out []time.Duration
	for _, s := range ss {
		d, err := time.ParseDuration(strings.TrimSpace(s))
		if err != nil {
			return nil, fmt.Errorf("%q is not a duration such as 500ms, 10s or 1m", s)
		}
		if d < time.Millisecond || d > 24*time.Hour {
			return nil, fmt.Errorf("%s is not between 1ms and 24h", d)
		}
		out = append(out, d)
	}
	return out, nil
}

// headersOf returns a message's headers as a service sees them: a
// header's value as a string, or a list of strings when it has several.
func headersOf(h natsio.Header) map[string]any {
	if len(h) == 0 {
		return map[string]any{}
	}
	out := make(map[string]any, len(h))
	for k, vs := range h {
		switch len(vs) {
		case 0:
		case 1:
			out[k] = vs[0]
		default:
			l := make([]any, len(vs))
			for i, v := range vs {
				l[i] = v
			}
			out[k] = l
		}
	}
	return out
}

// natsHeaders returns the headers a service sends: strings as they are,
// lists as several values, anything else as JSON. A key or value NATS
// cannot carry is a 400.
func natsHeaders(h map[string]any) (natsio.Header, error) {
	out := make(natsio.Header, len(h)+1)
	for _, k := range slices.Sorted(maps.Keys(h)) {
		if k == "" || strings.ContainsAny(k, ": \t\r\n\x00") || !isASCII(k) {
			return nil, service.BadRequest("header %q: a NATS header name is printable ASCII without spaces or colons", k)
		}
		var vals []any
		if l, ok := h[k].([]any); ok {
			vals = l
		} else {
			vals = []any{h[k]}
		}
		for _, v := range vals {
			s, err := headerValue(v)
			if err != nil {
				return nil, service.BadRequest("header %q: %v", k, err)
			}
			if strings.ContainsAny(s, "\r\n") {
				return nil, service.BadRequest("header %q: a NATS header value holds no line break", k)
			}
			out[k] = append(out[k], s)
		}
	}
	return out, nil
}

// headerValue returns a header's value as text.
func headerValue(v any) (string, error) {
	switch x := v.(type) {
	case string:
		return x, nil
	case nil:
		return "", nil
	case []byte:
		return string(x), nil
	}
	b, err := json.Marshal(v)
	if err != nil {
		return "", err
	}
	return string(b), nil
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < 0x21 || s[i] > 0x7e {
			return false
		}
	}
	return true
}
