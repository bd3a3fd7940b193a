package amqp

import (
	"fmt"
	"math"
	"net/url"
	"strings"
	"time"

	"github.com/rabbitmq/amqp091-go"

	"github.com/plexushq/plexus/internal/registry"
)

// dialTimeout bounds connecting to the broker, the TCP handshake and the
// AMQP one.
const dialTimeout = 10 * time.Second

// endpoint is where an object connects: its address and credentials.
type endpoint struct {
	address, username, password string
	heartbeat                   time.Duration
	// name identifies the connection to the broker's operators (RabbitMQ
	// shows it in its management UI): plexus <kind> <object name>.
	name string
}

// checkAddress reports what is wrong with an object's address: not an
// amqp:// or amqps:// URL, or a URL holding a password.
func checkAddress(address string) []error {
	if address == "" {
		return nil // reported as required
	}
	if _, err := amqp091.ParseURI(address); err != nil {
		return []error{registry.FieldProblem("address", "%q is not an amqp:// or amqps:// URL: %v", redactURL(address), err)}
	}
	if u, err := url.Parse(address); err == nil && u.User != nil {
		if _, ok := u.User.Password(); ok {
			return []error{registry.FieldProblem("address", "the address holds a password: give it in password, which is stored encrypted and never shown")}
		}
	}
	return nil
}

// redactURL returns an address without its user information.
func redactURL(address string) string {
	u, err := url.Parse(address)
	if err != nil || u.User == nil {
		return address
	}
	u.User = nil
	return u.String()
}

// dial connects to the broker.
func (b endpoint) dial() (*amqp091.Connection, error) {
	uri, err := amqp091.ParseURI(b.address)
	if err != nil {
		return nil, err
	}
	user, pass := uri.Username, uri.Password
	if b.username != "" {
		user, pass = b.username, b.password
	}
	cfg := amqp091.Config{
		SASL:      []amqp091.Authentication{&amqp091.PlainAuth{Username: user, Password: pass}},
		Vhost:     uri.Vhost,
		Heartbeat: b.heartbeat,
		Dial:      amqp091.DefaultDial(dialTimeout),
		Properties: amqp091.Table{
			"connection_name": b.name,
			"product":         "Plexus",
		},
	}
	conn, err := amqp091.DialConfig(b.address, cfg)
	if err != nil {
		return nil, fmt.Errorf("connecting to %s: %w", redactURL(b.address), err)
	}
	return conn, nil
}

// toJSON turns an AMQP table value into what JSON decodes: strings,
// float64 or int64 numbers, booleans, lists and maps; bytes become
// strings and times RFC 3339 strings.
func toJSON(v any) any {
	switch x := v.(type) {
	case nil, bool, string, float64, int64:
		return x
	case int8:
		return int64(x)
	case int16:
		return int64(x)
	case int32:
		return int64(x)
	case int:
		return int64(x)
	case uint8:
		return int64(x)
	case uint16:
		return int64(x)
	case uint32:
		return int64(x)
	case float32:
		return float64(x)
	case []byte:
		return string(x)
	case time.Time:
		return x.UTC().Format(time.RFC3339)
	case amqp091.Decimal:
		return float64(x.Value) / math.Pow10(int(x.Scale))
	case amqp091.Table:
		return tableToJSON(x)
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = toJSON(e)
		}
		return out
	}
	return fmt.Sprint(v)
}

// tableToJSON turns an AMQP table into a map of JSON values.
func tableToJSON(t amqp091.Table) map[string]any {
	out := make(map[string]any, len(t))
	for k, v := range t {
		out[k] = toJSON(v)
	}
	return out
}

// fromJSON turns a value a service gave (as JSON or Starlark decode
// them) into one an AMQP table holds.
func fromJSON(v any) any {
	switch x := v.(type) {
	case nil, bool, string, float64, int64, int32, []byte, time.Time:
		return x
	case int:
		return int64(x)
	case float32:
		return float64(x)
	case map[string]any:
		t := make(amqp091.Table, len(x))
		for k, e := range x {
			t[k] = fromJSON(e)
		}
		return t
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = fromJSON(e)
		}
		return out
	case fmt.Stringer:
		return x.String()
	}
	return fmt.Sprint(v)
}

// HeaderInt reads an integer header, whatever integer type carried it;
// 0 when it has none.
func HeaderInt(t amqp091.Table, key string) int {
	switch n := toJSON(t[key]).(type) {
	case int64:
		return int(n)
	case float64:
		return int(n)
	case string:
		var i int
		fmt.Sscan(strings.TrimSpace(n), &i)
		return i
	}
	return 0
}
