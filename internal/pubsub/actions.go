package pubsub

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"strconv"
	"strings"
	"time"

	"github.com/plexushq/plexus/internal/registry"
	"github.com/plexushq/plexus/sdk/service"
)

// topicActions are the admin API actions of pubsub_topic, under
// POST /admin/api/v1/objects/pubsub_topic/{name}/{action}.
func topicActions() []registry.Action {
	return []registry.Action{{
		Name: "publish",
		Doc: `Publishes a message to the topic as the administrator (publisher "admin"), without permissions; an inactive topic refuses it with 403, a full one with 503. ` +
			`Body: {"data": any JSON but null, "priority": 0-9 (default 5), "expiration": seconds (default the topic's), "correl_id", "in_reply_to", "ext_client_id"}. ` +
			`Answers {"msg_id": "zpsm…", "cid": …} once the message is durable.`,
		Run: runPublish,
	}}
}

// subscriptionActions are the admin API actions of pubsub_subscription,
// under POST /admin/api/v1/objects/pubsub_subscription/{name}/{action}.
func subscriptionActions() []registry.Action {
	return []registry.Action{
		{
			Name: "get",
			Doc: `Pulls the subscription's next messages, as its client would with POST /pubsub/messages/get: in order of priority then publication; with ack auto they are acknowledged (removed), with ack explicit they stay in flight until the ack action. ` +
				`Body (optional): {"max_messages": 1-1000 (default 50), "max_len": bytes of data, at most 5000000}. Answers {"messages": [...], "message_count": N}.`,
			Run: runGet,
		},
		{
			Name: "ack",
			Doc: `Acknowledges messages pulled with explicit acknowledgement, removing them from the queue. ` +
				`Body: {"msg_ids": ["zpsm…", …]} (at most 1000). Answers {"acked": N}, the number that were in flight; the other ids are ignored.`,
			Run: runAck,
		},
		{
			Name: "clear",
			Doc:  `Removes every message of the subscription's queue, dead letters and messages in flight included; they are not delivered. No body. Answers {"cleared": N}.`,
			Run:  runClear,
		},
		{
			Name: "redeliver",
			Doc: `Returns dead letters (or messages in flight) to the queue for delivery now, with a fresh retry time. ` +
				`Body (optional): {"msg_ids": ["zpsm…", …]} (at most 1000); without ids every dead letter is returned. Answers {"redelivered": N}.`,
			Run: runRedeliver,
		},
		{
			Name: "pause",
			Doc:  `Stops delivering the subscription's messages, on every server, until resume; publishes go on filling its queue, and a paused pull subscription's get answers no messages. No body. Answers the subscription's numbers, as GET /admin/api/v1/pubsub/subscriptions/{name} shows them.`,
			Run:  setPaused(true),
		},
		{
			Name: "resume",
			Doc:  `Resumes delivering a paused subscription's messages. No body. Answers the subscription's numbers, as GET /admin/api/v1/pubsub/subscriptions/{name} shows them.`,
			Run:  setPaused(false),
		},
	}
}

// MaxAckIDs bounds the message ids of one ack or redeliver.
const MaxAckIDs = 1000

// PublishBody is the body of the publish action, Zato's publish request.
type PublishBody struct {
	Data        json.RawMessage `json:"data"`
	Priority    *int            `json:"priority,omitempty"`
	Expiration  *float64        `json:"expiration,omitempty"`
	CorrelID    string          `json:"correl_id,omitempty"`
	InReplyTo   string          `json:"in_reply_to,omitempty"`
	ExtClientID string          `json:"ext_client_id,omitempty"`
}

func runPublish(ctx context.Context, call *registry.Call) (any, error) {
	e, err := engineOf(call)
	if err != nil {
		return nil, err
	}
	var b PublishBody
	if err := decodeBody(call.Body, &b, `{"data": {"order_id": 1}, "priority": 5}`); err != nil {
		return nil, err
	}
	if len(b.Data) == 0 || bytes.Equal(b.Data, []byte("null")) {
		return nil, service.BadRequest(`Invalid input: 'data' element missing; send {"data": ...}, any JSON but null`)
	}
	req := PublishRequest{Topic: call.Name, Data: b.Data, Priority: b.Priority, CorrelID: b.CorrelID, InReplyTo: b.InReplyTo,
		ExtClientID: b.ExtClientID, CID: call.CID, Publisher: "admin"}
	if b.Expiration != nil {
		req.Expiration = max(time.Duration(*b.Expiration*float64(time.Second)), time.Second)
	}
	id, err := e.Publish(ctx, req)
	if err != nil {
		return nil, err
	}
	return map[string]string{"msg_id": id, "cid": call.CID}, nil
}

// GetBody is the body of the get action.
type GetBody struct {
	MaxMessages int `json:"max_messages,omitempty"`
	MaxLen      int `json:"max_len,omitempty"`
}

func runGet(ctx context.Context, call *registry.Call) (any, error) {
	e, err := engineOf(call)
	if err != nil {
		return nil, err
	}
	var b GetBody
	if err := decodeBody(call.Body, &b, `{"max_messages": 50}`); err != nil {
		return nil, err
	}
	if b.MaxMessages < 0 || b.MaxMessages > MaxGetMessages {
		return nil, service.BadRequest("max_messages must be from 1 to %d", MaxGetMessages)
	}
	if b.MaxLen < 0 || b.MaxLen > MaxGetLen {
		return nil, service.BadRequest("max_len must be from 1 to %d", MaxGetLen)
	}
	msgs, err := e.Get(ctx, GetRequest{Subscription: call.Name, MaxMessages: b.MaxMessages, MaxLen: b.MaxLen})
	if err != nil {
		return nil, err
	}
	if msgs == nil {
		msgs = []Message{}
	}
	return map[string]any{"messages": msgs, "message_count": len(msgs)}, nil
}

// IDsBody is the body of the ack and redeliver actions.
type IDsBody struct {
	MsgIDs []string `json:"msg_ids"`
}

// ids reads the message ids of an ack or redeliver; required says
// whether at least one is needed.
func ids(call *registry.Call, required bool) ([]string, error) {
	var b IDsBody
	if err := decodeBody(call.Body, &b, `{"msg_ids": ["zpsm…"]}`); err != nil {
		return nil, err
	}
	switch {
	case required && len(b.MsgIDs) == 0:
		return nil, service.BadRequest(`Expected {"msg_ids": ["zpsm…", …]} with at least one message id`)
	case len(b.MsgIDs) > MaxAckIDs:
		return nil, service.BadRequest("At most %d message ids at once, not %d", MaxAckIDs, len(b.MsgIDs))
	}
	for _, id := range b.MsgIDs {
		if id == "" {
			return nil, service.BadRequest("A message id is empty")
		}
	}
	return b.MsgIDs, nil
}

func runAck(ctx context.Context, call *registry.Call) (any, error) {
	e, err := engineOf(call)
	if err != nil {
		return nil, err
	}
	msgIDs, err := ids(call, true)
	if err != nil {
		return nil, err
	}
	n, err := e.Ack(ctx, call.Name, msgIDs)
	if err != nil {
		return nil, err
	}
	return map[string]int{"acked": n}, nil
}

func runClear(ctx context.Context, call *registry.Call) (any, error) {
	e, err := engineOf(call)
	if err != nil {
		return nil, err
	}
	n, err := e.Clear(ctx, call.Name)
	if err != nil {
		return nil, err
	}
	call.Logger.Info("pub/sub queue cleared", "cid", call.CID, "subscription", call.Name, "messages", n)
	return map[string]int{"cleared": n}, nil
}

func runRedeliver(ctx context.Context, call *registry.Call) (any, error) {
	e, err := engineOf(call)
	if err != nil {
		return nil, err
	}
	msgIDs, err := ids(call, false)
	if err != nil {
		return nil, err
	}
	n, err := e.Redeliver(ctx, call.Name, msgIDs)
	if err != nil {
		return nil, err
	}
	call.Logger.Info("pub/sub messages redelivered", "cid", call.CID, "subscription", call.Name, "messages", n)
	return map[string]int{"redelivered": n}, nil
}

// setPaused returns the run of the pause (true) or resume action.
func setPaused(paused bool) func(context.Context, *registry.Call) (any, error) {
	return func(ctx context.Context, call *registry.Call) (any, error) {
		e, err := engineOf(call)
		if err != nil {
			return nil, err
		}
		if paused {
			err = e.Pause(ctx, call.Name)
		} else {
			err = e.Resume(ctx, call.Name)
		}
		if err != nil {
			return nil, err
		}
		return e.subscriptionStats(ctx, call.Name)
	}
}

// subscriptionStats returns one subscription's numbers, or a 404.
func (e *Engine) subscriptionStats(ctx context.Context, name string) (*SubscriptionStats, error) {
	st, err := e.Stats(ctx)
	if err != nil {
		return nil, err
	}
	for i := range st.Subscriptions {
		if st.Subscriptions[i].Name == name {
			return &st.Subscriptions[i], nil
		}
	}
	return nil, service.NotFound("No pub/sub subscription named %q", name)
}

// engineOf returns the server's engine, for an action.
func engineOf(call *registry.Call) (*Engine, error) {
	e, ok := registry.Subsystem[*Engine](call.State.Env())
	if !ok {
		return nil, service.ServiceUnavailable("Publish/subscribe is not running")
	}
	return e, nil
}

// decodeBody decodes an action's JSON body, which may be empty, into v,
// refusing unknown fields; example shows a good body in the error.
func decodeBody(body []byte, v any, example string) error {
	if len(body) == 0 {
		return nil
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return service.BadRequest("The body is not what the action expects (%s); send, for instance, %s", jsonProblem(err), example)
	}
	if dec.More() {
		return service.BadRequest("The body has more than one JSON value; send, for instance, %s", example)
	}
	return nil
}

// jsonProblem says what is wrong with a JSON body, without echoing it.
func jsonProblem(err error) string {
	var te *json.UnmarshalTypeError
	var se *json.SyntaxError
	switch {
	case errors.As(err, &te):
		return "field " + te.Field + " must be a JSON " + jsonType(te.Type.Kind().String())
	case errors.As(err, &se):
		return "invalid JSON at byte " + strconv.FormatInt(se.Offset, 10)
	}
	return strings.TrimPrefix(err.Error(), "json: ")
}

// jsonType names a Go kind as the JSON type it decodes from.
func jsonType(kind string) string {
	switch {
	case strings.HasPrefix(kind, "int"), strings.HasPrefix(kind, "uint"), strings.HasPrefix(kind, "float"):
		return "number"
	case kind == "slice":
		return "array"
	case kind == "struct", kind == "map":
		return "object"
	}
	return kind
}
