package pubsub

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/netip"
	"net/textproto"
	"strings"
	"time"

	"github.com/plexushq/plexus/internal/cid"
	"github.com/plexushq/plexus/internal/logging"
	"github.com/plexushq/plexus/internal/ratelimit"
	"github.com/plexushq/plexus/internal/reply"
	"github.com/plexushq/plexus/internal/security"
	"github.com/plexushq/plexus/sdk/service"
)

// REST endpoints on the API listener, as Zato serves them.
const (
	PathTopic = "/pubsub/topic/" // POST /pubsub/topic/{topic}: publish
	PathGet   = "/pubsub/messages/get"
	PathAck   = "/pubsub/messages/ack"
)

// maxRequest bounds the body of a request to the endpoints: a message's
// data at its largest, in its envelope.
const maxRequest = MaxPayload + 64<<10

// Handler serves the pub/sub REST endpoints and passes every other
// request to Next. Clients sign in with HTTP Basic Auth as a basic_auth
// security definition that has a pub/sub permission or subscription; an
// address that keeps failing is slowed down and locked out as on REST
// channels (settings auth_failures).
type Handler struct {
	Engine *Engine
	Next   http.Handler
}

func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	p := r.URL.Path
	if !strings.HasPrefix(p, "/pubsub/") || h.Engine == nil {
		h.Next.ServeHTTP(w, r)
		return
	}
	var serve func(*call) (map[string]any, error)
	switch {
	case strings.HasPrefix(p, PathTopic) && len(p) > len(PathTopic):
		serve = h.publish
	case p == PathGet:
		serve = h.get
	case p == PathAck:
		serve = h.ack
	default:
		h.Next.ServeHTTP(w, r)
		return
	}
	c := &call{w: w, r: r, cid: cid.New(), start: time.Now()}
	defer h.logAccess(c)
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		c.answer(nil, service.NewError(http.StatusMethodNotAllowed, "Use POST"))
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxRequest))
	if err != nil {
		c.answer(nil, service.NewError(http.StatusRequestEntityTooLarge, "The request's body is larger than %d bytes", maxRequest))
		return
	}
	c.body = body
	if c.security, err = h.authenticate(r); err != nil {
		c.answer(nil, err)
		return
	}
	out, err := serve(c)
	c.answer(out, err)
}

// call is one request to an endpoint.
type call struct {
	w        http.ResponseWriter
	r        *http.Request
	cid      string
	body     []byte
	security string
	start    time.Time
	status   int // the answer's status
	bytes    int // the answer's body's length
}

// answer writes Zato's envelope: is_ok, cid and status, with the
// answer's fields or the error's details.
func (c *call) answer(out map[string]any, err error) {
	status := http.StatusOK
	if out == nil {
		out = map[string]any{}
	}
	if err != nil {
		var se *service.Error
		if !errors.As(err, &se) {
			se = &service.Error{Status: http.StatusInternalServerError, Message: "Internal error; the server's log has the cause under cid " + c.cid, Cause: err}
		}
		status = se.Status
		for k, v := range se.Header {
			c.w.Header()[k] = v
		}
		out = map[string]any{"details": se.Message}
	}
	out["is_ok"], out["cid"], out["status"] = err == nil, c.cid, fmt.Sprintf("%d %s", status, http.StatusText(status))
	c.w.Header().Set("Content-Type", "application/json")
	c.w.Header().Set(reply.CIDHeader, c.cid)
	c.w.WriteHeader(status)
	body, _ := json.Marshal(out)
	body = append(body, '\n')
	c.status = status
	c.bytes, _ = c.w.Write(body)
}

// logAccess writes the request's access log line, as the pipeline writes
// those of REST channels: kind pubsub, and as channel the topic published
// to, or the pull subscription.
func (h *Handler) logAccess(c *call) {
	p := h.Engine.pipeline.Load()
	if p == nil || p.Access == nil || p.Settings == nil || !p.Settings.Log.Access {
		return
	}
	channel := strings.TrimPrefix(c.r.URL.Path, PathTopic)
	if channel == c.r.URL.Path {
		channel = ""
		if s, ok := pullSubOf(h.Engine.state(), c.security); ok && c.security != "" {
			channel = s.Name
		}
	}
	end := time.Now()
	p.Access.Log(end,
		logging.String("cid", c.cid),
		logging.String("kind", accessKind),
		logging.String("channel", channel),
		logging.String("service", ""),
		logging.String("method", c.r.Method),
		logging.String("path", c.r.URL.Path),
		logging.Int("status", int64(c.status)),
		logging.Float("duration_ms", float64(end.Sub(c.start).Microseconds())/1000),
		logging.Int("bytes", int64(c.bytes)),
		logging.String("remote", c.r.RemoteAddr),
	)
}

// accessKind is the kind access log lines of the endpoints carry.
const accessKind = "pubsub"

// authenticate returns the security definition whose credentials the
// request carries, among those named by pub/sub permissions and
// subscriptions.
func (h *Handler) authenticate(r *http.Request) (string, error) {
	pr := security.ParseAuthorization(r.Header.Get("Authorization"))
	if !pr.Basic && !pr.BadBasic {
		return "", &service.Error{Status: http.StatusUnauthorized, Message: "Authentication required",
			Header: http.Header{"Www-Authenticate": {`Basic realm="pubsub"`}}}
	}
	var failures *ratelimit.Failures
	var addr netip.Addr
	if p := h.Engine.pipeline.Load(); p != nil && p.Guard != nil {
		failures, addr = p.Guard.Failures, ratelimit.PeerClient(r.RemoteAddr, textproto.MIMEHeader(r.Header), p.Guard.Trusted)
	}
	if locked, left := failures.Locked(addr, time.Now()); locked {
		return "", &service.Error{Status: http.StatusTooManyRequests, Message: "Too many failed sign-ins from this address; try again later",
			Header: http.Header{"Retry-After": {ratelimit.RetryAfter(left)}}}
	}
	st := h.Engine.state()
	in := &security.Inbound{Presented: pr, Headers: textproto.MIMEHeader(r.Header), Now: time.Now(), Ctx: r.Context()}
	seen := map[string]bool{}
	try := func(name string) bool {
		if seen[name] || name == "" {
			return false
		}
		seen[name] = true
		v, ok := st.Running(security.Kind, name)
		if !ok {
			return false
		}
		cr, ok := v.(*security.Credentials)
		if !ok {
			return false
		}
		_, res := cr.Authenticate(in)
		return res == security.Passed
	}
	for _, k := range []string{KindPermission, KindSubscription} {
		for _, n := range st.Names(k) {
			o, _ := st.Object(k, n)
			var sec string
			switch c := o.(type) {
			case *PermissionConfig:
				sec = c.Security
			case *SubscriptionConfig:
				sec = c.Security
			}
			if try(sec) {
				return sec, nil
			}
		}
	}
	ratelimit.Wait(r.Context(), failures.Fail(addr, time.Now()))
	return "", service.Unauthorized("Invalid credentials")
}

// publishBody is a publish request's body (Zato's).
type publishBody struct {
	Data        json.RawMessage `json:"data"`
	Priority    json.RawMessage `json:"priority"`
	Expiration  json.RawMessage `json:"expiration"`
	CorrelID    string          `json:"correl_id"`
	InReplyTo   string          `json:"in_reply_to"`
	ExtClientID string          `json:"ext_client_id"`
	PubTime     string          `json:"pub_time"`
}

func (h *Handler) publish(c *call) (map[string]any, error) {
	var b publishBody
	if err := decode(c.body, &b); err != nil {
		return nil, err
	}
	if b.Data == nil {
		return nil, badRequest("Invalid input: 'data' element missing")
	}
	req := PublishRequest{Topic: strings.TrimPrefix(c.r.URL.Path, PathTopic), Data: b.Data, CorrelID: b.CorrelID, InReplyTo: b.InReplyTo,
		ExtClientID: b.ExtClientID, CID: c.cid, Publisher: c.security, Security: c.security, dataChecked: true}
	if p, ok := number(b.Priority); ok && p == math.Trunc(p) && p >= MinPriority && p <= MaxPriority {
		prio := int(p)
		req.Priority = &prio
	}
	if s, ok := number(b.Expiration); ok {
		req.Expiration = time.Duration(max(math.Min(s, 1e9), 1) * float64(time.Second))
	}
	id, err := h.Engine.Publish(c.r.Context(), req)
	if err != nil {
		return nil, err
	}
	return map[string]any{"msg_id": id}, nil
}

// number reads a JSON number, or a string holding one.
func number(raw json.RawMessage) (float64, bool) {
	var v any
	if len(raw) == 0 || json.Unmarshal(raw, &v) != nil {
		return 0, false
	}
	switch x := v.(type) {
	case float64:
		return x, true
	case string:
		var f float64
		if _, err := fmt.Sscan(x, &f); err == nil {
			return f, true
		}
	}
	return 0, false
}

func decode(body []byte, v any) error {
	if len(bytes.TrimSpace(body)) == 0 {
		return nil
	}
	if err := json.Unmarshal(body, v); err != nil {
		return badRequest("Invalid input: the body is not a JSON object: %s", truncate(err.Error(), 200))
	}
	return nil
}

func (h *Handler) pullSub(c *call) (*SubscriptionConfig, error) {
	sub, ok := pullSubOf(h.Engine.state(), c.security)
	if !ok {
		return nil, service.Unauthorized("No subscription found for user")
	}
	return sub, nil
}

func (h *Handler) get(c *call) (map[string]any, error) {
	var b struct {
		MaxMessages int `json:"max_messages"`
		MaxLen      int `json:"max_len"`
	}
	if err := decode(c.body, &b); err != nil {
		return nil, err
	}
	sub, err := h.pullSub(c)
	if err != nil {
		return nil, err
	}
	msgs, err := h.Engine.Get(c.r.Context(), GetRequest{Subscription: sub.Name, MaxMessages: b.MaxMessages, MaxLen: b.MaxLen})
	if err != nil {
		return nil, err
	}
	now := h.Engine.clock()
	out := make([]map[string]any, 0, len(msgs))
	for _, m := range msgs {
		out = append(out, map[string]any{
			"data": m.Data, "topic_name": m.Topic, "size": m.Size, "priority": m.Priority, "msg_id": m.ID,
			"expiration": int64(m.Expiration.Sub(m.PubTime).Seconds()), "correl_id": m.CorrelID, "in_reply_to": m.InReplyTo,
			"ext_client_id": m.ExtClientID, "pub_time_iso": m.PubTime.Format(time.RFC3339Nano), "recv_time_iso": m.PubTime.Format(time.RFC3339Nano),
			"expiration_time_iso": m.Expiration.Format(time.RFC3339Nano), "time_since_pub": now.Sub(m.PubTime).Seconds(),
			"time_since_recv": now.Sub(m.PubTime).Seconds(), "delivery_count": m.DeliveryCount,
		})
	}
	return map[string]any{"messages": out, "message_count": len(out)}, nil
}

func (h *Handler) ack(c *call) (map[string]any, error) {
	var b struct {
		MsgIDs []string `json:"msg_ids"`
	}
	if err := decode(c.body, &b); err != nil {
		return nil, err
	}
	sub, err := h.pullSub(c)
	if err != nil {
		return nil, err
	}
	n, err := h.Engine.Ack(c.r.Context(), sub.Name, b.MsgIDs)
	if err != nil {
		return nil, err
	}
	return map[string]any{"acked": n}, nil
}
