package wsx

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"sync"
	"time"

	"github.com/coder/websocket"
	sl "go.starlark.net/starlark"
	"go.starlark.net/starlarkstruct"

	"github.com/plexushq/plexus/internal/broker"
	"github.com/plexushq/plexus/internal/dispatch"
	"github.com/plexushq/plexus/internal/registry"
	"github.com/plexushq/plexus/internal/security"
	"github.com/plexushq/plexus/internal/starlark/memlimit"
	"github.com/plexushq/plexus/sdk/service"
)

func init() {
	registry.Register(registry.Kind{
		ID:      OutgoingKind,
		Title:   "Outgoing WebSocket connection",
		Summary: "Keeps a WebSocket connection open to a server, Zato's WSX channels among them: services send through it, and services run when it opens, receives a message and closes.",
		Aliases: []string{"outconn_wsx", "outgoing_wsx"},
		ZatoFields: map[string]string{
			"on_connect_service_name": "on_connect_service", "on_message_service_name": "on_message_service",
			"on_close_service_name": "on_close_service", "security_def": "security", "sec_def": "security",
			"socket_read_timeout": "", "on_subscribe_service_name": "", "subscription_list": "", "id": "", "type_": "",
			"is_internal": "", "is_channel": "", "is_outconn": "", "pool_size": "", "sec_use_rbac": "", "security_id": registry.ZatoRefused,
		},
		Order: 45,
		New: func() registry.Object {
			return &Outgoing{IsActive: true, DataFormat: "json", HasAutoReconnect: true,
				PingInterval: config45s, PingsMissed: defaultPingsMissed, Timeout: config60s, MaxMessageSize: defaultMaxMessageSize}
		},
		Examples: []string{
			`{"name": "prices.feed", "address": "wss://feeds.example.com/prices", "on_message_service": "plexus.helpers.echo"}`,
			`{"name": "zato.peer", "address": "ws://zato.example.com:48902/ws/live", "is_zato": true, "security": "zato.peer.creds"}`,
		},
		Provision: provisionOutgoing,
		Swap:      registry.StopThenStart,
		Out:       &registry.Out{Section: "wsx", Resolve: resolveOutgoing, Starlark: starlarkOutgoing},
	})
}

// OutConn is the running form of an outgoing WebSocket connection: its
// Run keeps the connection open, and Send writes to it. It is safe for
// concurrent use.
type OutConn struct {
	cfg  *Outgoing
	pipe *dispatch.Pipeline
	log  *slog.Logger
	chs  map[string]*dispatch.Channel // by service role

	mu      sync.Mutex
	conn    *websocket.Conn
	token   string
	ready   chan struct{} // closed once conn is open
	lastErr error
}

func provisionOutgoing(env *registry.Env, obj registry.Object) (any, error) {
	cfg := obj.(*Outgoing)
	o := &OutConn{cfg: cfg, log: env.Logger, ready: make(chan struct{}), chs: map[string]*dispatch.Channel{}}
	if o.log == nil {
		o.log = slog.New(slog.DiscardHandler)
	}
	o.pipe, _ = registry.Subsystem[*dispatch.Pipeline](env)
	df := dispatch.FormatJSON
	if cfg.DataFormat == "text" {
		df = dispatch.FormatText
	}
	for role, svc := range map[string]string{"connect": cfg.OnConnect, "message": cfg.OnMessage, "close": cfg.OnClose} {
		if svc != "" {
			o.chs[role] = &dispatch.Channel{Type: service.ChannelWebSocket, Name: cfg.Name, Service: svc, DataFormat: df, KindSeries: role != "message"}
		}
	}
	return o, nil
}

// Run connects, runs the on-connect service, hands each message to the
// on-message service and runs the on-close service once the connection
// ends. A lost connection is an error (the runtime connects again after
// a back-off) when has_auto_reconnect is on.
func (o *OutConn) Run(ctx context.Context, st *registry.Status) error {
	if !o.cfg.IsActive {
		return nil
	}
	conn, err := o.dial(ctx)
	if err != nil {
		o.setErr(err)
		if !o.cfg.HasAutoReconnect {
			st.Degraded(err)
			return nil
		}
		return err
	}
	connCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	stop := context.AfterFunc(ctx, func() { conn.Close(websocket.StatusGoingAway, "connection closed") })
	defer stop()
	o.mu.Lock()
	o.conn, o.lastErr = conn, nil
	close(o.ready)
	o.mu.Unlock()
	st.Running()
	o.log.Info("outgoing WebSocket connected", "name", o.cfg.Name, "address", o.cfg.Address)
	o.invoke(ctx, "connect", nil)
	go o.ping(connCtx, conn)
	err = o.read(conn)
	o.mu.Lock()
	o.conn, o.token, o.ready = nil, "", make(chan struct{})
	o.mu.Unlock()
	code := websocket.CloseStatus(err)
	body, _ := json.Marshal(map[string]any{"code": int(code), "reason": closeReason(err)})
	o.invoke(context.WithoutCancel(ctx), "close", body)
	if ctx.Err() != nil {
		conn.Close(websocket.StatusGoingAway, "connection closed")
		return nil
	}
	conn.CloseNow()
	lost := fmt.Errorf("the connection was lost: %s", closeReason(err))
	o.setErr(lost)
	o.log.Info("outgoing WebSocket lost", "name", o.cfg.Name, "error", lost.Error())
	if !o.cfg.HasAutoReconnect {
		st.Degraded(lost)
		return nil
	}
	return lost
}

func closeReason(err error) string {
	var ce websocket.CloseError
	if errors.As(err, &ce) {
		return fmt.Sprintf("closed with %d %s", ce.Code, ce.Reason)
	}
	if err == nil {
		return "closed"
	}
	return err.Error()
}

func (o *OutConn) setErr(err error) {
	o.mu.Lock()
	o.lastErr = err
	o.mu.Unlock()
}

// dial opens the connection with the security definition's credentials
// and, to a Zato peer, creates the session.
func (o *OutConn) dial(ctx context.Context) (*websocket.Conn, error) {
	h := http.Header{}
	var user, secret string
	if name := o.cfg.Security; name != "" && o.pipe != nil {
		st := o.pipe.Runtime.State()
		if v, ok := st.Running("security", name); ok {
			if c, ok := v.(*security.Credentials); ok {
				if err := c.Authorize(ctx, h); err != nil {
					return nil, fmt.Errorf("security %q: %w", name, err)
				}
			}
		}
		if obj, ok := st.Object("security", name); ok {
			if d, ok := obj.(*security.Definition); ok {
				user, secret = d.Username, d.Password
			}
		}
	}
	dctx, cancel := context.WithTimeout(ctx, o.cfg.Timeout.D())
	defer cancel()
	conn, resp, err := websocket.Dial(dctx, o.cfg.Address, &websocket.DialOptions{HTTPHeader: h})
	if err != nil {
		if resp != nil {
			return nil, fmt.Errorf("connecting to %s: the server answered %d", o.cfg.Address, resp.StatusCode)
		}
		return nil, fmt.Errorf("connecting to %s: %w", o.cfg.Address, err)
	}
	conn.SetReadLimit(o.cfg.MaxMessageSize)
	if !o.cfg.IsZato {
		return conn, nil
	}
	id := newID("zwsx.cs")
	cs, _ := json.Marshal(map[string]any{"meta": map[string]any{"action": actionCreateSession, "id": id,
		"timestamp": time.Now().UTC().Format("2006-01-02T15:04:05.000000"), "username": user, "secret": secret,
		"client_name": "plexus:" + o.cfg.Name}})
	if err := conn.Write(dctx, websocket.MessageText, cs); err != nil {
		conn.CloseNow()
		return nil, fmt.Errorf("creating the session: %w", err)
	}
	_, b, err := conn.Read(dctx)
	if err != nil {
		conn.CloseNow()
		return nil, fmt.Errorf("creating the session: %s", closeReason(err))
	}
	var rsp struct {
		Meta meta `json:"meta"`
		Data struct {
			Token string `json:"token"`
		} `json:"data"`
	}
	if json.Unmarshal(b, &rsp) != nil || rsp.Meta.MsgType != msgSessionCreated || rsp.Data.Token == "" {
		conn.CloseNow()
		return nil, fmt.Errorf("creating the session: the peer refused it (%s)", rsp.Meta.ErrorMessage)
	}
	o.mu.Lock()
	o.token = rsp.Data.Token
	o.mu.Unlock()
	return conn, nil
}

// read hands each message to the on-message service until the connection
// ends; a Zato peer's request is answered with the service's response.
func (o *OutConn) read(conn *websocket.Conn) error {
	for {
		_, b, err := conn.Read(context.Background())
		if err != nil {
			return err
		}
		if !o.cfg.IsZato {
			o.invoke(context.Background(), "message", b)
			continue
		}
		var m struct {
			Meta meta            `json:"meta"`
			Data json.RawMessage `json:"data"`
		}
		if json.Unmarshal(b, &m) != nil {
			o.invoke(context.Background(), "message", b)
			continue
		}
		res := o.invoke(context.Background(), "message", m.Data)
		if m.Meta.MsgType == msgRequest && res != nil {
			data := res.Body
			if len(data) == 0 || !json.Valid(data) {
				data, _ = json.Marshal(string(res.Body))
			}
			out, _ := json.Marshal(map[string]any{"meta": map[string]any{"action": actionClientResponse, "id": newID("zwsx.cr"),
				"in_reply_to": m.Meta.ID, "token": o.sessionToken()}, "data": json.RawMessage(data)})
			ctx, cancel := context.WithTimeout(context.Background(), o.cfg.Timeout.D())
			conn.Write(ctx, websocket.MessageText, out)
			cancel()
		}
	}
}

func (o *OutConn) sessionToken() string {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.token
}

// invoke runs the service of a role through the pipeline; nil when the
// connection has none.
func (o *OutConn) invoke(ctx context.Context, role string, payload []byte) *broker.Result {
	ch := o.chs[role]
	if ch == nil || o.pipe == nil {
		return nil
	}
	res := broker.Serve(ctx, o.pipe, OutgoingKind, ch, &broker.Delivery{Payload: payload,
		Message: service.Message{Topic: o.cfg.Address, Details: map[string]any{"event": role}}})
	return &res
}

// ping pings the peer every ping_interval, closing the connection after
// pings_missed_threshold unanswered pings in a row.
func (o *OutConn) ping(ctx context.Context, conn *websocket.Conn) {
	t := time.NewTicker(o.cfg.PingInterval.D())
	defer t.Stop()
	missed := 0
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		pctx, cancel := context.WithTimeout(ctx, o.cfg.PingInterval.D())
		err := conn.Ping(pctx)
		cancel()
		if err == nil {
			missed = 0
			continue
		}
		if ctx.Err() != nil {
			return
		}
		if missed++; missed >= o.cfg.PingsMissed {
			conn.Close(websocket.StatusGoingAway, "pings not answered")
			return
		}
	}
}

// Send writes data to the peer (to a Zato peer, as invoke-service),
// waiting for the connection while it opens, within the connection's
// timeout (504 after). Bytes and strings are sent as they are, anything
// else as JSON.
func (o *OutConn) Send(ctx context.Context, data any) error {
	body, _, err := broker.Payload(data)
	if err != nil {
		return service.BadRequest("outgoing WebSocket %q: %v", o.cfg.Name, err)
	}
	ctx, cancel := context.WithTimeout(ctx, o.cfg.Timeout.D())
	defer cancel()
	for {
		o.mu.Lock()
		conn, ready, token, last := o.conn, o.ready, o.token, o.lastErr
		o.mu.Unlock()
		if conn != nil {
			if o.cfg.IsZato {
				body = zatoInvoke(token, body)
			}
			if err := conn.Write(ctx, websocket.MessageText, body); err != nil {
				return service.NewError(http.StatusBadGateway, "outgoing WebSocket %q: sending: %v", o.cfg.Name, err)
			}
			return nil
		}
		select {
		case <-ready:
		case <-ctx.Done():
			msg := "the peer could not be reached in time"
			if last != nil {
				msg += ": " + last.Error()
			}
			return service.NewError(http.StatusGatewayTimeout, "outgoing WebSocket %q: %s", o.cfg.Name, msg)
		}
	}
}

// zatoInvoke wraps data in an invoke-service message.
func zatoInvoke(token string, data []byte) []byte {
	d := json.RawMessage(data)
	if len(data) == 0 || !json.Valid(data) {
		d, _ = json.Marshal(string(data))
	}
	out, _ := json.Marshal(map[string]any{"meta": map[string]any{"action": actionInvokeService, "id": newID("zwsx.is"),
		"timestamp": time.Now().UTC().Format("2006-01-02T15:04:05.000000"), "token": token}, "data": d})
	return out
}

// Connected reports whether the connection is open.
func (o *OutConn) Connected() bool {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.conn != nil
}

func resolveOutgoing(st registry.State, name string) (any, error) {
	v, ok := st.Running(OutgoingKind, name)
	if !ok {
		msg := fmt.Sprintf("no outgoing WebSocket connection named %q", name)
		if s := registry.Suggest(name, st.Names(OutgoingKind)); s != "" {
			msg += fmt.Sprintf("; did you mean %q?", s)
		}
		return nil, errors.New(msg)
	}
	o := v.(*OutConn)
	if !o.cfg.IsActive {
		return nil, service.ServiceUnavailable("outgoing WebSocket connection %q is inactive", name)
	}
	return o, nil
}

// starlarkOutgoing is self.out.wsx["Name"]: conn.send(data) sends data
// to the peer and returns None once it is written.
func starlarkOutgoing(c *service.Context, name string, resource any) (sl.Value, error) {
	o := resource.(*OutConn)
	send := sl.NewBuiltin("send", func(th *sl.Thread, b *sl.Builtin, args sl.Tuple, kwargs []sl.Tuple) (sl.Value, error) {
		var data sl.Value
		if err := sl.UnpackArgs(b.Name(), args, kwargs, "data", &data); err != nil {
			return nil, err
		}
		d, err := broker.StarlarkData(memlimit.Of(th), data)
		if err != nil {
			return nil, fmt.Errorf("%s: data: %w", b.Name(), err)
		}
		return sl.None, o.Send(c, d)
	})
	conn := starlarkstruct.FromStringDict(sl.String("wsx.conn"), sl.StringDict{"send": send})
	return starlarkstruct.FromStringDict(sl.String("wsx"), sl.StringDict{"name": sl.String(name), "conn": conn}), nil
}
