package pubsub

import (
	"context"
	"encoding/json"
	"fmt"
	"sync"
	"time"

	"github.com/plexushq/plexus/internal/cid"
	"github.com/plexushq/plexus/internal/dispatch"
	"github.com/plexushq/plexus/internal/registry"
	"github.com/plexushq/plexus/sdk/service"
)

// deliver delivers one message to a push subscription's target.
func (e *Engine) deliver(ctx context.Context, c *SubscriptionConfig, r *row) error {
	switch c.pushType() {
	case PushService:
		return e.invoke(ctx, c, r)
	case PushREST:
		return e.post(ctx, c, r)
	default:
		t, ok := pushTarget(c.PushType)
		if !ok {
			return fmt.Errorf("push type %q is not available in this server", c.PushType)
		}
		return t.Deliver(ctx, &Push{State: e.state(), Subscription: c, Message: &r.Message})
	}
}

// wire is a message as push delivery sends it (Zato's message dict),
// but for its data, which wireOf writes first.
type wire struct {
	MsgID         string `json:"msg_id"`
	TopicName     string `json:"topic_name"`
	SubName       string `json:"sub_name"`
	Size          int    `json:"size"`
	Priority      int    `json:"priority"`
	CorrelID      string `json:"correl_id"`
	InReplyTo     string `json:"in_reply_to"`
	ExtClientID   string `json:"ext_client_id"`
	Publisher     string `json:"publisher"`
	PubTimeISO    string `json:"pub_time_iso"`
	ExpirationISO string `json:"expiration_time_iso"`
	DeliveryCount int    `json:"delivery_count"`
}

// wireOf returns a message's dict as JSON. Its data, checked when it was
// published, is copied as it is rather than encoded again.
func wireOf(m *Message) ([]byte, error) {
	rest, err := json.Marshal(wire{MsgID: m.ID, TopicName: m.Topic, SubName: m.Subscription, Size: m.Size, Priority: m.Priority,
		CorrelID: m.CorrelID, InReplyTo: m.InReplyTo, ExtClientID: m.ExtClientID, Publisher: m.Publisher,
		PubTimeISO: m.PubTime.Format(time.RFC3339Nano), ExpirationISO: m.Expiration.Format(time.RFC3339Nano), DeliveryCount: m.DeliveryCount})
	if err != nil {
		return nil, err
	}
	data := m.Data
	if len(data) == 0 {
		data = json.RawMessage("null")
	}
	b := make([]byte, 0, len(`{"data":,`)+len(data)+len(rest))
	b = append(append(append(b, `{"data":`...), data...), ',')
	return append(b, rest[1:]...), nil
}

// pushRun is one delivery to a service through the request pipeline, as
// its transport.
type pushRun struct {
	dispatch.Exchange
	body []byte
}

func (r *pushRun) Payload(int64) ([]byte, error)                   { return r.body, nil }
func (r *pushRun) Fill(*dispatch.Exchange, *service.Request) error { return nil }
func (r *pushRun) Send(*dispatch.Reply) (int, error)               { return 0, nil }

// channels keeps one pipeline channel per subscription and service, so
// each has its metric series once.
var channels sync.Map

func channelOf(sub, svc string) *dispatch.Channel {
	key := sub + "\x00" + svc
	if ch, ok := channels.Load(key); ok {
		return ch.(*dispatch.Channel)
	}
	ch, _ := channels.LoadOrStore(key, &dispatch.Channel{Type: service.ChannelPubSub, Name: sub, Service: svc,
		DataFormat: dispatch.FormatJSON, KindSeries: true})
	return ch.(*dispatch.Channel)
}

// invoke runs the subscription's service with the message: a configured
// subscription's service gets the message dict, a service published to
// directly the message's data. A reply of 400 or more fails.
func (e *Engine) invoke(ctx context.Context, c *SubscriptionConfig, r *row) error {
	p := e.pipeline.Load()
	if p == nil {
		return fmt.Errorf("the server is not ready to invoke services")
	}
	body := []byte(r.Data)
	if c.Name != serviceTopicPrefix+c.PushService {
		var err error
		if body, err = wireOf(&r.Message); err != nil {
			return err
		}
	}
	x := &pushRun{body: body}
	x.CID = cid.New()
	x.Begin(ctx, x)
	x.Kind, x.Channel = KindSubscription, channelOf(c.Name, c.PushService)
	p.Serve(&x.Exchange)
	if err := x.Reply.Err; err != nil {
		return fmt.Errorf("service %s (cid %s): %w", c.PushService, x.CID, err)
	}
	if x.Reply.Status >= 400 {
		return fmt.Errorf("service %s answered %d (cid %s)", c.PushService, x.Reply.Status, x.CID)
	}
	return nil
}

// post POSTs the message dict as JSON to the subscription's outgoing
// REST connection; a status other than 2xx fails.
func (e *Engine) post(ctx context.Context, c *SubscriptionConfig, r *row) error {
	resolve := registry.Resolver("outgoing_rest")
	if resolve == nil {
		return fmt.Errorf("this server has no outgoing REST connections")
	}
	v, err := resolve(e.state(), c.PushRESTEndpoint)
	if err != nil {
		return err
	}
	caller, ok := v.(service.RESTCaller)
	if !ok {
		return fmt.Errorf("outgoing REST connection %q cannot be called", c.PushRESTEndpoint)
	}
	body, err := wireOf(&r.Message)
	if err != nil {
		return err
	}
	resp, err := caller.CallREST(ctx, &service.RESTRequest{Method: "POST", CID: cid.New(), Data: json.RawMessage(body)})
	if err != nil {
		return err
	}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return fmt.Errorf("outgoing REST connection %s answered %d", c.PushRESTEndpoint, resp.StatusCode)
	}
	return nil
}
