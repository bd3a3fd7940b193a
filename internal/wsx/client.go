package wsx

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"net"
	"net/http"
	"net/textproto"
	"sync"
	"sync/atomic"
	"time"

	"github.com/coder/websocket"

	"github.com/plexushq/plexus/internal/dispatch"
	"github.com/plexushq/plexus/internal/reply"
	"github.com/plexushq/plexus/internal/security"
	"github.com/plexushq/plexus/sdk/service"
)

// Close codes the channel sends.
const (
	closeNormal    = int(websocket.StatusNormalClosure)
	closeGoingAway = int(websocket.StatusGoingAway)
	closePolicy    = int(websocket.StatusPolicyViolation) // refused, expired, disconnected by an admin
	closeTooSlow   = int(websocket.StatusTryAgainLater)   // send queue full
)

// writeTimeout bounds the write of one message to a client.
const writeTimeout = 10 * time.Second

// maxPendingInvokes bounds the invocations of one client from services
// waiting for its reply.
const maxPendingInvokes = 64

// client is one connection to a channel.
type client struct {
	id, remote string
	since      time.Time
	conn       *websocket.Conn
	sock       *sock // conn's socket, nil over TLS
	hub        atomic.Pointer[Hub]
	queue      chan []byte
	ctx        context.Context
	cancel     context.CancelFunc

	// what the client presented, checked again with each message
	creds   security.Presented
	headers textproto.MIMEHeader

	mu      sync.Mutex
	svc     *service.Client
	token   string // Zato session token, once create-session passed
	pending map[string]chan json.RawMessage
	reason  string
	code    int
	closing bool
	idle    *time.Timer

	in, out atomic.Int64
	seen    atomic.Int64 // when the last message came, in Unix nanoseconds
	ending  atomic.Bool  // closing once the queue is sent
	open    atomic.Bool  // conn is set: the queue may be written
	writing atomic.Bool  // the turn at writing: a drain runs, or a message is written at once
	shut    atomic.Bool  // closing: no data frame is written any more
}

// info describes the client for the admin API.
func (c *client) info() ClientInfo {
	c.mu.Lock()
	s := c.svc
	c.mu.Unlock()
	return ClientInfo{ID: c.id, Name: s.Name, User: s.User, RemoteAddr: c.remote, ConnectedAt: c.since,
		MessagesIn: c.in.Load(), MessagesOut: c.out.Load()}
}

// enqueue queues a message without waiting; a full queue disconnects the
// client, which is too slow to keep up.
func (c *client) enqueue(msg []byte) bool {
	select {
	case c.queue <- msg:
		c.kick()
		return true
	case <-c.ctx.Done():
		return false
	default:
	}
	h := c.hub.Load()
	h.drp.Inc()
	c.close(closeTooSlow, "send queue full")
	return false
}

// sendBorrowed writes a message at once, from the caller's goroutine,
// when nothing waits to be sent before it (no queue, no writer running),
// else queues it; true when it was written. The write never waits for the
// client (see sock): what the socket does not take is left to the
// client's writer. Over TLS every message is queued. A borrowed msg's
// buffer is reused once it returns: it is copied when queued. frame, when
// not nil, is msg already encoded as a frame (a broadcast's, encoded once
// for all its clients).
func (c *client) sendBorrowed(msg, frame []byte, borrowed bool) bool {
	queue := func() {
		if borrowed {
			msg = bytes.Clone(msg)
		}
		c.enqueue(msg)
	}
	if !c.open.Load() || c.sock == nil || c.ending.Load() || len(c.queue) > 0 || !c.writing.CompareAndSwap(false, true) {
		queue()
		return false
	}
	if len(c.queue) > 0 { // queued between the check and taking the turn
		queue()
		c.release()
		return false
	}
	var err error
	if frame != nil {
		err = c.writeFrame(frame)
	} else {
		err = c.write(msg)
	}
	if err != nil {
		c.close(closeGoingAway, "write failed")
		c.writing.Store(false)
		return false
	}
	c.out.Add(1)
	c.release()
	return true
}

// release ends a turn at writing, starting the writer when something
// was queued or left unsent meanwhile.
func (c *client) release() {
	if c.again() {
		go c.drain()
	}
}

// again ends a turn at writing and takes the next one when something was
// queued or left unsent meanwhile.
func (c *client) again() bool {
	c.writing.Store(false)
	return (len(c.queue) > 0 || c.sock != nil && c.sock.pending()) && c.writing.CompareAndSwap(false, true)
}

// write writes one message: at once over a sock, as a frame encoded here
// (see writeFrame), else through the library, waiting up to writeTimeout.
func (c *client) write(msg []byte) error {
	if c.sock != nil {
		b := framePool.Get().(*[]byte)
		*b = appendFrame((*b)[:0], msg)
		err := c.writeFrame(*b)
		if cap(*b) <= maxPooledFrame {
			framePool.Put(b)
		}
		return err
	}
	ctx, cancel := context.WithTimeout(c.ctx, writeTimeout)
	defer cancel()
	return c.conn.Write(ctx, websocket.MessageText, msg)
}

// writeFrame writes an encoded data frame to the sock in one call that
// never waits (what the socket does not take joins its backlog). The
// library's own frames (pings, pongs, the close) are control frames its
// small buffer holds whole, each flushed in one sock.Write, so they never
// split a frame written here, and the client's data frames are all
// written here, one writer at a time (the turn at writing).
func (c *client) writeFrame(frame []byte) error {
	if c.shut.Load() {
		return net.ErrClosed
	}
	_, err := c.sock.Write(frame)
	return err
}

// maxPooledFrame is the largest frame buffer kept for the next write.
const maxPooledFrame = 64 << 10

var framePool = sync.Pool{New: func() any { return new([]byte) }}

// appendFrame appends msg as one final, unmasked text frame, as a server
// sends it (RFC 6455, section 5.2).
func appendFrame(b, msg []byte) []byte {
	switch n := len(msg); {
	case n < 126:
		b = append(b, 0x81, byte(n))
	case n <= 0xffff:
		b = append(b, 0x81, 126, byte(n>>8), byte(n))
	default:
		b = append(b, 0x81, 127)
		b = binary.BigEndian.AppendUint64(b, uint64(n))
	}
	return append(b, msg...)
}

// reply sends the answer to the client's own message: written at once by
// the reading goroutine when nothing is queued before it (saving the
// hand-over to the writer), else queued behind what is. A client slow to
// take its answers only holds up its own next message.
func (c *client) reply(msg []byte) {
	c.replyBorrowed(msg, false)
}

// replyBorrowed is reply for a message whose buffer, when borrowed, is
// reused once it returns.
func (c *client) replyBorrowed(msg []byte, borrowed bool) {
	if c.sock != nil {
		if c.sendBorrowed(msg, nil, borrowed) {
			c.hub.Load().msgOut.Inc()
		}
		return
	}
	if borrowed {
		msg = bytes.Clone(msg)
	}
	if len(c.queue) > 0 || c.writing.Load() || c.ending.Load() {
		c.enqueue(msg)
		return
	}
	// No deadline of its own: a write stuck on a client that stopped
	// reading ends when the missed pings or the session's expiry close
	// the connection.
	if err := c.conn.Write(c.ctx, websocket.MessageText, msg); err != nil {
		c.close(closeGoingAway, "write failed")
		return
	}
	c.out.Add(1)
	c.hub.Load().msgOut.Inc()
}

// close ends the connection with a code and reason, once: the close
// frame is sent in the background (a slow client's may take a while),
// then what waits on the client stops.
func (c *client) close(code int, reason string) {
	c.mu.Lock()
	first := c.reason == "" && !c.closing
	if c.reason == "" {
		c.code, c.reason = code, reason
	}
	c.closing = true
	code, reason = c.code, c.reason
	conn := c.conn
	c.mu.Unlock()
	if !first {
		return
	}
	c.shut.Store(true)
	c.hub.Load().remove(c)
	if conn == nil {
		c.cancel()
		return
	}
	go func() {
		conn.Close(websocket.StatusCode(code), reason)
		c.cancel()
	}()
}

// closeAfter closes the connection once what is queued before it is
// sent: a refusal's reply goes out before the close. Messages that arrive
// meanwhile are ignored.
func (c *client) closeAfter(code int, reason string) {
	c.ending.Store(true)
	c.enqueue(nil) // the writer closes when it reaches it
}

// closed returns the code and reason the connection was closed with.
func (c *client) closed() (int, string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.reason == "" {
		return closeNormal, ""
	}
	return c.code, c.reason
}

// kick starts a writer for the queue unless one is running or the
// connection is not open yet. The writer runs only while there is
// something to send, so an idle client holds no goroutine for it.
func (c *client) kick() {
	if c.open.Load() && c.writing.CompareAndSwap(false, true) {
		go c.drain()
	}
}

// drain sends the socket's backlog and the queue's messages until both
// are empty; a nil message closes the connection.
func (c *client) drain() {
	for {
		if c.sock != nil && c.sock.flush(writeTimeout) != nil {
			c.close(closeGoingAway, "write failed")
			c.writing.Store(false)
			return
		}
		select {
		case msg := <-c.queue:
			if msg == nil {
				c.close(closePolicy, "not authorized")
				c.writing.Store(false)
				return
			}
			if err := c.write(msg); err != nil {
				c.close(closeGoingAway, "write failed")
				c.writing.Store(false)
				return
			}
			c.out.Add(1)
			c.hub.Load().msgOut.Inc()
		default:
			// A message queued after the queue was found empty and before
			// writing was cleared would otherwise wait for the next one.
			if !c.again() {
				return
			}
		}
	}
}

// startPings pings the client every interval from a timer (no goroutine
// between pings), closing the connection after missedMax unanswered pings
// in a row.
func (c *client) startPings(interval time.Duration, missedMax int) {
	var missed int
	var t *time.Timer
	t = time.AfterFunc(interval, func() {
		if c.ctx.Err() != nil {
			return
		}
		ctx, cancel := context.WithTimeout(c.ctx, interval)
		err := c.conn.Ping(ctx)
		cancel()
		switch {
		case c.ctx.Err() != nil:
			return
		case err == nil:
			missed = 0
		default:
			if missed++; missed >= missedMax {
				c.close(closePolicy, "pings not answered")
				return
			}
		}
		t.Reset(interval)
	})
	context.AfterFunc(c.ctx, func() { t.Stop() })
}

// readLoop reads messages until the connection ends, handing each to the
// channel's protocol.
func (c *client) readLoop() {
	for {
		typ, msg, err := c.conn.Read(context.Background())
		if err != nil {
			c.mu.Lock()
			if c.reason == "" {
				c.code, c.reason = closeNormal, "closed by the client"
			}
			c.mu.Unlock()
			c.cancel()
			return
		}
		if c.ending.Load() {
			continue
		}
		c.in.Add(1)
		h := c.hub.Load()
		h.msgIn.Inc()
		hd := h.handling()
		c.seen.Store(time.Now().UnixNano())
		if hd.cfg.Protocol == ProtocolZato {
			c.zato(h, hd, msg)
		} else {
			c.plain(h, hd, typ, msg)
		}
	}
}

// startIdle starts the session's expiry: a client silent for the
// channel's token_ttl is disconnected. A message only notes its time
// (seen); the timer, when it fires, waits again for what is left.
func (c *client) startIdle() {
	c.seen.Store(time.Now().UnixNano())
	c.mu.Lock()
	defer c.mu.Unlock()
	c.idle = time.AfterFunc(c.hub.Load().handling().cfg.TokenTTL.D(), c.expire)
}

func (c *client) expire() {
	if c.ctx.Err() != nil {
		return
	}
	left := time.Until(time.Unix(0, c.seen.Load()).Add(c.hub.Load().handling().cfg.TokenTTL.D()))
	if left > 0 {
		c.mu.Lock()
		c.idle.Reset(left)
		c.mu.Unlock()
		return
	}
	c.close(closePolicy, "session expired")
}

// plain handles a message of the json protocol: the message is the
// payload, the reply is sent back; a refusal by security also closes the
// connection.
func (c *client) plain(h *Hub, hd *handling, _ websocket.MessageType, msg []byte) {
	x := c.exchange(h, hd, msg)
	x.replyTo = c // Send writes the reply
	h.pipe.Serve(&x.Exchange)
	if denied(x.Reply.Status) {
		c.closeAfter(closePolicy, "not authorized")
	}
}

// denied reports whether a status says the client's credentials no
// longer pass.
func denied(status int) bool {
	return status == http.StatusUnauthorized || status == http.StatusForbidden
}

// zato handles a message of Zato's protocol.
func (c *client) zato(h *Hub, hd *handling, msg []byte) {
	r, err := parseRequest(msg)
	if err != nil {
		c.enqueue(badRequestBody)
		return
	}
	switch r.Action {
	case actionCreateSession:
		c.createSession(h, hd, r)
	case actionInvokeService:
		c.mu.Lock()
		ok := c.token != "" && r.Token == c.token
		c.mu.Unlock()
		if !ok {
			c.fatal(r.ID, http.StatusForbidden, "no session: send create-session first, and its token with each message")
			return
		}
		x := c.serve(h, hd, r.Data)
		m := meta{ID: newID("zwsx.rsp"), InReplyTo: r.ID, Status: x.Reply.Status, CID: x.CID, MsgType: msgOK}
		if x.Reply.Status >= http.StatusBadRequest {
			m.MsgType = msgError
			_, m.ErrorMessage = reply.Details(x.Reply.Err, false)
			if m.ErrorMessage == "" {
				m.ErrorMessage = http.StatusText(x.Reply.Status)
			}
			c.enqueue(zatoFrame(m, []byte(`{"cid":"`+x.CID+`"}`)))
			if denied(x.Reply.Status) {
				c.closeAfter(closePolicy, "not authorized")
			}
			return
		}
		c.reply(zatoFrame(m, x.body))
	case actionPublish:
		c.publish(h, hd, r)
	case actionClientResponse:
		c.mu.Lock()
		ch := c.pending[r.InReplyTo]
		delete(c.pending, r.InReplyTo)
		c.mu.Unlock()
		if ch != nil {
			ch <- r.Data
		}
	default:
		c.enqueue(zatoFrame(meta{ID: newID("zwsx.rsp"), InReplyTo: r.ID, Status: http.StatusBadRequest, MsgType: msgError,
			ErrorMessage: "Unknown action"}, nil))
	}
}

// createSession checks the credentials of create-session (or, without
// any, those of the upgrade) against the channel's security and answers
// the session's token.
func (c *client) createSession(h *Hub, hd *handling, r *request) {
	creds, headers := c.creds, c.headers
	if r.Secret != "" {
		creds, headers = presentedSecret(h, hd.cfg, r.Username, r.Secret, headers)
	}
	x := c.exchange(h, hd, nil)
	x.Credentials, x.Headers = creds, headers
	id, err := h.pipe.Admit(&x.Exchange)
	if err != nil {
		h.pipe.Logger.Info("WebSocket session refused", "cid", x.CID, "channel", hd.cfg.Name, "client", c.id, "error", err.Error())
		c.fatal(r.ID, service.StatusOf(err), forbiddenMessage)
		return
	}
	token := newID("zwsx.token")
	c.mu.Lock()
	c.creds, c.headers, c.token = creds, headers, token
	s := *c.svc
	if r.ClientName != "" {
		s.Name = r.ClientName
	}
	s.User = id.Username
	c.svc = &s
	c.mu.Unlock()
	body, _ := json.Marshal(map[string]string{"token": token})
	c.enqueue(zatoFrame(meta{ID: newID("zwsx.rspa"), InReplyTo: r.ID, Status: http.StatusOK, MsgType: msgSessionCreated}, body))
}

// fatal sends zwsx.merr and closes the connection.
func (c *client) fatal(inReplyTo string, status int, msg string) {
	c.enqueue(zatoFrame(meta{ID: newID("zwsx.merr"), InReplyTo: inReplyTo, Status: status, MsgType: msgFatal, ErrorMessage: msg}, nil))
	c.closeAfter(closePolicy, "not authorized")
}

// request sends a server's request to the client and waits for its
// client-response.
func (c *client) request(ctx context.Context, data []byte, timeout time.Duration) (any, error) {
	return c.requestAs(ctx, msgRequest, data, timeout)
}

// requestAs sends a server's message of a type (zwsx.rqc, zwsx.psrq) to
// the client and waits for its client-response.
func (c *client) requestAs(ctx context.Context, msgType string, data []byte, timeout time.Duration) (any, error) {
	id := newID(msgType)
	ch := make(chan json.RawMessage, 1)
	c.mu.Lock()
	if c.pending == nil {
		c.pending = map[string]chan json.RawMessage{}
	}
	if len(c.pending) >= maxPendingInvokes {
		c.mu.Unlock()
		return nil, service.ServiceUnavailable("client %q has %d invocations waiting for its reply", c.id, maxPendingInvokes)
	}
	c.pending[id] = ch
	c.mu.Unlock()
	defer func() {
		c.mu.Lock()
		delete(c.pending, id)
		c.mu.Unlock()
	}()
	if !c.enqueue(zatoFrame(meta{ID: id, MsgType: msgType}, data)) {
		return nil, service.ServiceUnavailable("client %q disconnected", c.id)
	}
	t := time.NewTimer(timeout)
	defer t.Stop()
	select {
	case raw := <-ch:
		if raw == nil {
			return nil, nil
		}
		var v any
		if err := json.Unmarshal(raw, &v); err != nil {
			return string(raw), nil
		}
		return v, nil
	case <-t.C:
		return nil, service.NewError(http.StatusGatewayTimeout, "client %q did not reply within %s", c.id, timeout)
	case <-c.ctx.Done():
		return nil, service.ServiceUnavailable("client %q disconnected", c.id)
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// presentedSecret returns the credentials a username and secret stand for
// under the channel's security: a password for basic_auth, a key in its
// header for apikey, a token otherwise.
func presentedSecret(h *Hub, cfg *Channel, username, secret string, headers textproto.MIMEHeader) (security.Presented, textproto.MIMEHeader) {
	p := security.Presented{Token: secret}
	if username != "" {
		p.Basic, p.Username, p.Password = true, username, secret
	}
	if hdr := apiKeyHeader(h, cfg); hdr != "" {
		headers = cloneHeader(headers)
		headers.Set(hdr, secret)
	}
	return p, headers
}

// apiKeyHeader returns the header of the channel's apikey definition, or "".
func apiKeyHeader(h *Hub, cfg *Channel) string {
	if cfg.Security == "" || h.pipe == nil || h.pipe.Runtime == nil {
		return ""
	}
	o, ok := h.pipe.Runtime.State().Object("security", cfg.Security)
	if !ok {
		return ""
	}
	d, ok := o.(*security.Definition)
	if !ok || d.Type != "apikey" {
		return ""
	}
	if d.Header == "" {
		return "X-API-Key"
	}
	return d.Header
}

func cloneHeader(h textproto.MIMEHeader) textproto.MIMEHeader {
	out := make(textproto.MIMEHeader, len(h)+1)
	for k, v := range h {
		out[k] = v
	}
	return out
}

// exchange is one message going through the pipeline.
type exchange struct {
	dispatch.Exchange
	payload []byte
	body    []byte
	replyTo *client // set: Send writes the reply to it rather than keep it in body
}

func (c *client) exchange(h *Hub, hd *handling, payload []byte) *exchange {
	x := &exchange{payload: payload}
	x.Begin(c.ctx, x)
	c.mu.Lock()
	x.Credentials, x.Headers, x.Client = c.creds, c.headers, c.svc
	c.mu.Unlock()
	x.Kind, x.Channel, x.Path, x.RemoteAddr = ChannelKind, hd.ch, hd.cfg.path(), c.remote
	return x
}

// serve runs one message through the pipeline and returns the exchange
// with the reply's body.
func (c *client) serve(h *Hub, hd *handling, payload []byte) *exchange {
	x := c.exchange(h, hd, payload)
	h.pipe.Serve(&x.Exchange)
	return x
}

// Payload returns the message, refusing one larger than limit.
func (x *exchange) Payload(limit int64) ([]byte, error) {
	if int64(len(x.payload)) > limit {
		return nil, dispatch.TooLarge(limit)
	}
	return x.payload, nil
}

// Fill adds nothing: the client is on the channel (self.channel.client).
func (x *exchange) Fill(*dispatch.Exchange, *service.Request) error { return nil }

// Send writes the reply's body to the client or keeps it (the pipeline
// reuses its buffer).
func (x *exchange) Send(r *dispatch.Reply) (int, error) {
	switch {
	case x.replyTo == nil:
		x.body = append([]byte(nil), r.Body...)
	case len(r.Body) > 0:
		x.replyTo.replyBorrowed(r.Body, true)
	}
	return len(r.Body), nil
}
