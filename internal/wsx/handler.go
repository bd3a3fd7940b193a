package wsx

import (
	"context"
	"fmt"
	"net/http"
	"net/textproto"
	"runtime/debug"
	"time"

	"github.com/coder/websocket"

	"github.com/plexushq/plexus/internal/channel/rest"
	"github.com/plexushq/plexus/internal/dispatch"
	"github.com/plexushq/plexus/internal/live"
	"github.com/plexushq/plexus/internal/registry"
	"github.com/plexushq/plexus/sdk/service"
)

// table is the assembled form of the WebSocket channels: their names by
// path.
type table struct {
	paths map[string]string
}

func assemble(env *registry.Env, entries []registry.Entry) (any, error) {
	t := &table{paths: make(map[string]string, len(entries))}
	for _, e := range entries {
		p := e.Object.(*Channel).path()
		if first, dup := t.paths[p]; dup {
			env.Logger.Warn("WebSocket channel not served: another channel serves its path; give it a url_path of its own",
				"channel", e.Name, "path", p, "served_by", first)
			continue
		}
		t.paths[p] = e.Name
	}
	return t, nil
}

// Handler serves the API listener's WebSocket channels and hands every
// other request to Next (the REST channels). It is safe for concurrent
// use.
type Handler struct {
	Pipeline *dispatch.Pipeline
	Next     http.Handler
}

func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if h.Pipeline.Runtime != nil {
		if tab := live.Assembled[*table](h.Pipeline.Runtime.State(), ChannelKind); tab != nil {
			if name, ok := tab.paths[r.URL.Path]; ok {
				h.serve(w, r, name)
				return
			}
		}
	}
	h.Next.ServeHTTP(w, r)
}

// upgrade is the HTTP request of a WebSocket upgrade, refused through
// the pipeline with the error envelope.
type upgrade struct {
	dispatch.Exchange
	rest.Transport
}

// serve upgrades a request to a channel's path: the channel's security
// checks the credentials the request carries (Authorization, ?token=, an
// API key header) before the upgrade, and the client then stays
// connected until it leaves, is disconnected or its session expires.
func (h *Handler) serve(w http.ResponseWriter, r *http.Request, name string) {
	p := h.Pipeline
	x := &upgrade{Transport: rest.Transport{W: w, R: r}}
	x.Open(&x.Exchange, ChannelKind, x)
	v, ok := p.Runtime.State().Running(ChannelKind, name)
	hub, _ := v.(*Hub)
	if !ok || hub == nil || !hub.handling().cfg.IsActive {
		p.Fail(&x.Exchange, service.NotFound("URL not found"))
		return
	}
	hd := hub.handling()
	cfg := hd.cfg
	x.Channel = hd.ch
	headers := textproto.MIMEHeader(r.Header.Clone())
	creds := x.Presented()
	if tok := r.URL.Query().Get("token"); tok != "" && creds.Token == "" && !creds.Basic {
		creds, headers = presentedSecret(hub, cfg, "", tok, headers)
	}
	x.Credentials, x.Headers = creds, headers
	var user string
	presented := creds.Basic || creds.Token != "" || len(creds.Certificates) > 0 || apiKeyHeader(hub, cfg) != "" && headers.Get(apiKeyHeader(hub, cfg)) != ""
	if cfg.Protocol != ProtocolZato || presented {
		id, err := p.Admit(&x.Exchange)
		if err != nil {
			p.Refuse(&x.Exchange, err)
			return
		}
		user = id.Username
	}
	if r.Header.Get("Upgrade") == "" {
		p.Fail(&x.Exchange, service.NewError(http.StatusUpgradeRequired, "A WebSocket channel: connect with a WebSocket client").WithHeader("Upgrade", "websocket"))
		return
	}
	ctx, cancel := context.WithCancel(context.WithoutCancel(r.Context()))
	c := &client{id: newID("wsx"), remote: r.RemoteAddr, since: time.Now(), queue: make(chan []byte, cfg.SendQueue),
		ctx: ctx, cancel: cancel, creds: creds, headers: headers, svc: &service.Client{User: user, RemoteAddr: r.RemoteAddr}}
	c.svc.ID = c.id
	c.hub.Store(hub)
	if err := hub.add(c); err != nil {
		cancel()
		p.Refuse(&x.Exchange, err)
		return
	}
	conn, err := websocket.Accept(hijacker{w, c}, r, &websocket.AcceptOptions{OriginPatterns: cfg.AllowedOrigins})
	if err != nil {
		c.hub.Load().remove(c)
		cancel()
		p.Logger.Info("WebSocket upgrade failed", "cid", x.CID, "channel", name, "error", err.Error())
		return
	}
	// The connection lives on in a goroutine of its own, and the HTTP
	// server's ends here with what it held (its buffers, its request, a
	// stack grown by the handshake): an idle client costs less.
	go c.live(p, conn, cfg, x.CID, name, user)
}

// live serves an upgraded connection until it ends.
func (c *client) live(p *dispatch.Pipeline, conn *websocket.Conn, cfg *Channel, cid, name, user string) {
	defer c.cancel()
	defer func() { c.hub.Load().remove(c) }()
	defer func() {
		if v := recover(); v != nil {
			p.Logger.Error("WebSocket client failed", "channel", name, "client", c.id, "panic", fmt.Sprint(v), "stack", string(debug.Stack()))
			conn.CloseNow()
		}
	}()
	c.mu.Lock()
	c.conn = conn
	pre, code, reason := c.closing, c.code, c.reason
	c.mu.Unlock()
	if pre { // disconnected while upgrading
		conn.Close(websocket.StatusCode(code), reason)
		return
	}
	conn.SetReadLimit(cfg.MaxMessageSize)
	p.Logger.Info("WebSocket client connected", "cid", cid, "channel", name, "client", c.id, "remote", c.remote, "user", user)
	if cfg.Protocol == ProtocolZato {
		wait := time.AfterFunc(cfg.NewTokenWaitTime.D(), func() {
			c.mu.Lock()
			none := c.token == ""
			c.mu.Unlock()
			if none {
				c.close(closePolicy, "no session created in time")
			}
		})
		defer wait.Stop()
	}
	c.startIdle()
	c.open.Store(true)
	c.kick()
	c.startPings(cfg.PingInterval.D(), cfg.PingsMissedThreshold)
	c.readLoop()
	c.mu.Lock()
	if c.idle != nil {
		c.idle.Stop()
	}
	c.mu.Unlock()
	code, reason = c.closed()
	conn.Close(websocket.StatusCode(code), reason)
	p.Logger.Info("WebSocket client disconnected", "channel", name, "client", c.id, "code", code, "reason", reason,
		"messages_in", c.in.Load(), "messages_out", c.out.Load())
}
