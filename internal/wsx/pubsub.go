package wsx

import (
	"context"
	"encoding/json"
	"net/http"
	"time"

	"github.com/plexushq/plexus/internal/cid"
	"github.com/plexushq/plexus/internal/pubsub"
	"github.com/plexushq/plexus/internal/registry"
	"github.com/plexushq/plexus/internal/reply"
	"github.com/plexushq/plexus/internal/security"
	"github.com/plexushq/plexus/sdk/service"
)

// Publish/subscribe over WebSocket channels of the zato protocol:
//
//   - a pub/sub subscription with push_type wsx and push_target naming a
//     channel delivers each message to one client of the channel — the
//     longest connected among those with a session, signed in as the
//     subscription's security definition when it has one — as a
//     zwsx.psrq message whose data is a list holding the message; the
//     client acknowledges it with a client-response (meta.in_reply_to:
//     the psrq's id) within pushAckTimeout, or the attempt fails and is
//     retried;
//   - a client publishes with meta.action "publish", meta.topic and the
//     message as data, answered zwsx.rspok with {"msg_id": …} once the
//     message is durable, or zwsx.rsperr with the status Zato's REST
//     publish would answer. It publishes as the channel's security
//     definition, whose pubsub_permission must allow the topic.

// pushAckTimeout is how long a client has to acknowledge a pushed message.
const pushAckTimeout = 30 * time.Second

func init() {
	pubsub.RegisterPushTarget(pubsub.PushWSX, pubsub.PushTargetFunc(pushToClient))
}

// pushToClient delivers a pub/sub message to a client of the channel the
// subscription's push_target names.
func pushToClient(ctx context.Context, p *pubsub.Push) error {
	sub := p.Subscription
	v, ok := p.State.Running(ChannelKind, sub.PushTarget)
	h, _ := v.(*Hub)
	if !ok || h == nil {
		return service.NotFound("no WebSocket channel named %q to push to", sub.PushTarget)
	}
	cfg := h.handling().cfg
	switch {
	case !cfg.IsActive:
		return service.ServiceUnavailable("WebSocket channel %q is inactive", sub.PushTarget)
	case cfg.Protocol != ProtocolZato:
		return service.BadRequest("WebSocket channel %q speaks plain JSON, whose clients cannot acknowledge messages: pub/sub push needs protocol zato", sub.PushTarget)
	}
	user := ""
	if sub.Security != "" {
		if o, ok := p.State.Object(security.Kind, sub.Security); ok {
			user = o.(*security.Definition).Username
		}
	}
	c := h.subscriber(user)
	if c == nil {
		if user != "" {
			return service.ServiceUnavailable("no client of WebSocket channel %q signed in as %q is connected", sub.PushTarget, user)
		}
		return service.ServiceUnavailable("no client with a session is connected to WebSocket channel %q", sub.PushTarget)
	}
	body, err := json.Marshal([]*pubsub.Message{p.Message})
	if err != nil {
		return err
	}
	_, err = c.requestAs(ctx, msgPubSub, body, pushAckTimeout)
	return err
}

// subscriber returns the longest connected client with a session signed
// in as user (any user when user is ""), or nil.
func (h *Hub) subscriber(user string) *client {
	h.mu.RLock()
	defer h.mu.RUnlock()
	var best *client
	for _, c := range h.clients {
		c.mu.Lock()
		ok := c.token != "" && !c.closing && (user == "" || c.svc.User == user)
		c.mu.Unlock()
		if ok && (best == nil || c.since.Before(best.since) || c.since.Equal(best.since) && c.id < best.id) {
			best = c
		}
	}
	return best
}

// publish publishes a client's message to meta.topic and answers its id.
func (c *client) publish(h *Hub, hd *handling, r *request) {
	c.mu.Lock()
	ok := c.token != "" && r.Token == c.token
	c.mu.Unlock()
	if !ok {
		c.fatal(r.ID, http.StatusForbidden, "no session: send create-session first, and its token with each message")
		return
	}
	m := meta{ID: newID("zwsx.rsp"), InReplyTo: r.ID}
	id, err := c.publishMessage(h, hd, r)
	if err != nil {
		m.MsgType = msgError
		m.Status, m.ErrorMessage = reply.Details(err, false)
		c.enqueue(zatoFrame(m, nil))
		return
	}
	m.MsgType, m.Status = msgOK, http.StatusOK
	body, _ := json.Marshal(map[string]string{"msg_id": id})
	c.reply(zatoFrame(m, body))
}

func (c *client) publishMessage(h *Hub, hd *handling, r *request) (string, error) {
	if hd.cfg.Security == "" {
		return "", service.Unauthorized("Permission denied: publishing needs a channel with a security definition, which a pubsub_permission lets publish to the topic")
	}
	if r.Topic == "" {
		return "", service.BadRequest("Invalid input: 'topic' missing in meta")
	}
	if r.Data == nil {
		return "", service.BadRequest("Invalid input: 'data' element missing")
	}
	e, ok := registry.Subsystem[*pubsub.Engine](h.pipe.Runtime.State().Env())
	if !ok {
		return "", service.ServiceUnavailable("Publish/subscribe is not running")
	}
	req := pubsub.PublishRequest{Topic: r.Topic, Data: r.Data, Priority: r.Priority, CorrelID: r.CorrelID, InReplyTo: r.InReplyTo,
		ExtClientID: r.ExtClientID, CID: cid.New(), Publisher: hd.cfg.Security, Security: hd.cfg.Security}
	if r.Expiration != nil {
		req.Expiration = max(time.Duration(*r.Expiration*float64(time.Second)), time.Second)
	}
	return e.Publish(c.ctx, req)
}
