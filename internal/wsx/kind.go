// Package wsx is Plexus's WebSocket: kind channel_websocket serves a
// service to WebSocket clients on a URL path of the API listener, each
// message through the same pipeline as a REST request, and lets services
// broadcast to the channel's clients or invoke one of them
// (self.wsx.channel["Name"]); kind outgoing_websocket connects out to a
// WebSocket server (self.out.wsx["Name"].conn.send). Channels speak plain
// JSON or Zato's WSX protocol, so Zato's clients work unchanged.
package wsx

import (
	"net/url"
	"strings"
	"time"

	"github.com/plexushq/plexus/internal/config"
	"github.com/plexushq/plexus/internal/redact"
	"github.com/plexushq/plexus/internal/registry"
	"github.com/plexushq/plexus/internal/router"
)

// Kind ids.
const (
	ChannelKind  = "channel_websocket"
	OutgoingKind = "outgoing_websocket"
)

// Protocols of a channel.
const (
	// ProtocolJSON: each text message is the service's payload, and its
	// response is sent back as one message.
	ProtocolJSON = "json"
	// ProtocolZato: Zato's WSX protocol, {"meta": …, "data": …} messages
	// with create-session, invoke-service and client-response actions.
	ProtocolZato = "zato"
)

// Channel is the configuration of a WebSocket channel (Zato's field
// names where Zato has the field).
type Channel struct {
	Name       string `json:"name" label:"Name" group:"Channel" placeholder:"api.live" doc:"Unique name of the channel; services reach its clients as self.wsx.channel[\"api.live\"]."`
	IsActive   bool   `json:"is_active" label:"Active" group:"Channel" doc:"Whether the channel takes clients; making it inactive disconnects every client, and new ones get 404."`
	URLPath    string `json:"url_path" label:"URL path" group:"Channel" placeholder:"/ws/live" doc:"Path of the API listener clients connect to (ws:// or wss:// on the API listener's address); a fixed path without parameters. A WebSocket channel's path wins over a REST channel with the same path."`
	Address    string `json:"address" label:"Zato address" group:"Channel" advanced:"true" placeholder:"ws://0.0.0.0:48902/ws/live" doc:"Zato's bind address, read on import: its path becomes url_path when url_path is empty; its host and port are not used, since every channel is served by the API listener."`
	Service    string `json:"service" label:"Service" group:"Channel" ref:"service" required:"true" doc:"Name of the service every message from a client invokes; changing it keeps the clients connected."`
	Protocol   string `json:"protocol" label:"Protocol" group:"Channel" enum:"json|zato" enum_labels:"Plain JSON|Zato WSX" doc:"json: each text message is the service's payload and its response is sent back as a message; zato: Zato's WSX protocol (create-session, invoke-service, client-response; zwsx.rspa, zwsx.rspok, zwsx.rsperr and zwsx.merr replies), which Zato's clients speak."`
	DataFormat string `json:"data_format" label:"Data format" group:"Channel" enum:"json|text" enum_labels:"JSON|Text" doc:"How a message's data becomes self.request.payload: json (decoded; malformed JSON is answered with an error) or text (a string)."`

	AllowedOrigins []string `json:"allowed_origins" label:"Allowed origins" group:"Security" placeholder:"app.example.com" doc:"Hosts of the web pages (the Origin header) whose scripts may connect, as patterns such as *.example.com; a browser page of another origin is refused with 403. Empty: only pages served from the API listener's own host. Clients that are not browsers send no Origin and are not checked."`

	Security string   `json:"security" label:"Security definition" group:"Security" ref:"security" doc:"Name of the security definition clients must pass: basic_auth, apikey, jwt (Plexus session tokens) or bearer_token (JWTs checked against a JWKS). Credentials come in the upgrade's Authorization header, in ?token= for browsers, or in Zato's create-session; every message is checked again, so a revoked or expired session ends the connection. Empty: no definition."`
	Groups   []string `json:"groups" label:"Security groups" group:"Security" ref:"groups" doc:"Security groups whose members the channel admits, as for REST channels."`

	NewTokenWaitTime     config.Duration `json:"new_token_wait_time" label:"Wait for a session" group:"Limits" min:"100ms" max:"10m" placeholder:"5s" doc:"With the zato protocol, how long a client has to send create-session after connecting before it is disconnected."`
	TokenTTL             config.Duration `json:"token_ttl" label:"Session TTL" group:"Limits" min:"1s" max:"8760h" placeholder:"1h" doc:"How long a client's session lasts without a message from it; each message extends it. A client silent for longer is disconnected (pings do not count)."`
	PingInterval         config.Duration `json:"ping_interval" label:"Ping interval" group:"Limits" min:"100ms" max:"1h" placeholder:"45s" doc:"How often the server pings each client."`
	PingsMissedThreshold int             `json:"pings_missed_threshold" label:"Missed pings" group:"Limits" min:"1" max:"100" doc:"How many pings in a row a client may leave unanswered (each waits ping_interval) before it is disconnected."`
	MaxMessageSize       int64           `json:"max_message_size" label:"Largest message" group:"Limits" min:"64" max:"67108864" unit:"bytes" doc:"The largest message a client may send; a larger one closes its connection with status 1009."`
	MaxClients           int             `json:"max_clients" label:"Most clients" group:"Limits" min:"1" max:"10000000" doc:"How many clients may be connected at once on each server; more are refused with 503 at the upgrade."`
	SendQueue            int             `json:"send_queue" label:"Send queue" group:"Limits" min:"1" max:"100000" unit:"messages" doc:"How many messages may wait to be sent to one client; a client too slow to take them is disconnected (status 1013, reason: send queue full) and the others are not slowed down."`
}

// Defaults, as Zato's.
const (
	defaultNewTokenWait   = 5 * time.Second
	defaultTokenTTL       = time.Hour
	defaultPingInterval   = 45 * time.Second
	defaultPingsMissed    = 2
	defaultMaxMessageSize = 1 << 20
	defaultMaxClients     = 100_000
	defaultSendQueue      = 64
)

// Durations of the outgoing connection's defaults.
const (
	config45s = config.Duration(defaultPingInterval)
	config60s = config.Duration(60 * time.Second)
)

// path returns the path clients connect to: url_path, else the path of
// Zato's address.
func (c *Channel) path() string {
	if c.URLPath != "" || c.Address == "" {
		return c.URLPath
	}
	u, err := url.Parse(c.Address)
	if err != nil {
		return ""
	}
	return u.Path
}

// Validate checks the path.
func (c *Channel) Validate() []error {
	errs := registry.ListedTwice("groups", c.Groups)
	p := c.path()
	if p == "" {
		return append(errs, registry.FieldProblem("url_path", "must not be empty"))
	}
	tpl, err := router.Parse(p)
	if err != nil {
		return append(errs, registry.FieldProblem("url_path", "%s %v", redact.Quote(p), err))
	}
	if len(tpl.Params) > 0 || strings.Contains(p, "{") {
		return append(errs, registry.FieldProblem("url_path", "%s: a WebSocket channel's path has no parameters", redact.Quote(p)))
	}
	return errs
}

// check refuses two channels on one url_path. A channel imported from
// Zato, whose path comes from its address, may share its path with
// another: Zato served each on a port of its own. The first by name is
// served; the others are logged as not served until given a url_path.
func check(objs []registry.Object) []error {
	seen := map[string]string{}
	var errs []error
	for _, o := range objs {
		c := o.(*Channel)
		p := c.path()
		if prev, dup := seen[p]; dup && c.URLPath != "" {
			errs = append(errs, &registry.Problem{Name: c.Name, Field: "url_path",
				Message: redact.Quote(p) + " is already served by WebSocket channel " + redact.Quote(prev)})
			continue
		}
		seen[p] = c.Name
	}
	return errs
}

// Outgoing is the configuration of an outgoing WebSocket connection.
type Outgoing struct {
	Name             string          `json:"name" label:"Name" group:"Connection" placeholder:"prices.feed" doc:"Unique name of the connection; services send with self.out.wsx[\"prices.feed\"].conn.send(data)."`
	IsActive         bool            `json:"is_active" label:"Active" group:"Connection" doc:"Whether the connection is kept open; an inactive one is closed, and services sending through it get 503."`
	Address          string          `json:"address" required:"true" label:"Address" group:"Connection" placeholder:"wss://feeds.example.com/prices" doc:"The ws:// or wss:// URL to connect to."`
	IsZato           bool            `json:"is_zato" label:"Zato peer" group:"Connection" doc:"Whether the peer is a Zato (or Plexus) WSX channel: the connection opens with create-session, sends messages as invoke-service and answers the peer's requests with client-response."`
	Security         string          `json:"security" label:"Security definition" group:"Connection" ref:"security" doc:"Name of a basic_auth, apikey or bearer_token definition whose credentials go with the upgrade (Authorization or the API key's header) and, to a Zato peer, in create-session. Empty: none."`
	OnConnect        string          `json:"on_connect_service" label:"On connect" group:"Services" ref:"service" doc:"Service invoked each time the connection opens; empty: none."`
	OnMessage        string          `json:"on_message_service" label:"On message" group:"Services" ref:"service" doc:"Service invoked with each message the peer sends (its data, as the data format says); with a Zato peer, its response answers the peer's request. Empty: messages are dropped."`
	OnClose          string          `json:"on_close_service" label:"On close" group:"Services" ref:"service" doc:"Service invoked each time the connection closes, with {\"code\", \"reason\"}; empty: none."`
	DataFormat       string          `json:"data_format" label:"Data format" group:"Services" enum:"json|text" enum_labels:"JSON|Text" doc:"How a message from the peer becomes the on-message service's payload: json (decoded) or text."`
	HasAutoReconnect bool            `json:"has_auto_reconnect" label:"Reconnect" group:"Connection" doc:"Whether a lost connection is opened again, after 1s, 2s, 4s… (at most 30s); otherwise it stays closed until the connection is changed."`
	PingInterval     config.Duration `json:"ping_interval" label:"Ping interval" group:"Connection" advanced:"true" min:"100ms" max:"1h" placeholder:"45s" doc:"How often the connection pings the peer; pings_missed_threshold unanswered pings in a row close it."`
	PingsMissed      int             `json:"pings_missed_threshold" label:"Missed pings" group:"Connection" advanced:"true" min:"1" max:"100" doc:"How many pings in a row the peer may leave unanswered before the connection is closed (and opened again)."`
	Timeout          config.Duration `json:"socket_write_timeout" label:"Send timeout" group:"Connection" advanced:"true" min:"1ms" max:"10m" placeholder:"60s" doc:"How long send waits for the connection (while it is opening) and for the message to be written before failing with 504."`
	MaxMessageSize   int64           `json:"max_message_size" label:"Largest message" group:"Connection" advanced:"true" min:"64" max:"67108864" unit:"bytes" doc:"The largest message the peer may send."`
}

// Validate checks the address.
func (o *Outgoing) Validate() []error {
	if o.Address == "" {
		return nil
	}
	u, err := url.Parse(o.Address)
	if err != nil || u.Host == "" || (u.Scheme != "ws" && u.Scheme != "wss") {
		return []error{registry.FieldProblem("address", "%s is not a ws:// or wss:// URL", redact.Quote(o.Address))}
	}
	if u.User != nil {
		return []error{registry.FieldProblem("address", "the address holds user information: use a security definition")}
	}
	return nil
}

func init() {
	registry.Register(registry.Kind{
		ID:      ChannelKind,
		Title:   "WebSocket channel",
		Summary: "Serves a service to WebSocket clients on a URL path of the API listener, in plain JSON or Zato's WSX protocol; services broadcast to its clients or invoke one.",
		Aliases: []string{"web_socket", "channel_web_socket"},
		// Zato's 0 is its default size: Plexus's default.
		ZatoValues: map[string]map[string]string{"max_message_size": {"0": "1048576"}},
		ZatoFields: map[string]string{
			"service_name": "service", "sec_def": "security", "security_name": "security",
			"max_bytes_per_message_received": "max_message_size",
			"id":                             "", "is_internal": "", "sec_type": "", "security_id": registry.ZatoRefused, "hook_service": "",
			"is_audit_log_sent_active": "", "is_audit_log_received_active": "", "max_len_messages_sent": "",
			"max_len_messages_received": "", "max_bytes_per_message_sent": "", "extra_properties": "",
			"opaque1": "", "service_id": "", "is_out": "", "vault_conn_default_auth_method": "",
		},
		Order: 35,
		New: func() registry.Object {
			return &Channel{IsActive: true, Protocol: ProtocolZato, DataFormat: "json",
				NewTokenWaitTime: config.Duration(defaultNewTokenWait), TokenTTL: config.Duration(defaultTokenTTL),
				PingInterval: config.Duration(defaultPingInterval), PingsMissedThreshold: defaultPingsMissed,
				MaxMessageSize: defaultMaxMessageSize, MaxClients: defaultMaxClients, SendQueue: defaultSendQueue}
		},
		Examples: []string{
			`{"name": "api.live", "url_path": "/ws/live", "service": "plexus.helpers.echo"}`,
			`{"name": "browser", "url_path": "/ws/browser", "service": "plexus.helpers.echo", "protocol": "json", "security": "web.sessions", "token_ttl": "15m"}`,
		},
		Check:      check,
		Provision:  provisionChannel,
		Update:     updateChannel,
		Swap:       registry.Handover,
		Assemble:   assemble,
		Out:        &registry.Out{Resolve: resolveChannel},
		Self:       map[string]registry.SelfFunc{"wsx.channel": selfChannels},
		Actions:    []registry.Action{clientsAction, disconnectAction},
		Collectors: collectors,
	})
}
