// Package broker holds what the channels and outgoing connections of
// message brokers (AMQP, MQTT, …) share: running a delivered message
// through the request pipeline and telling what becomes of it, the data
// formats of their channels, and the correlation ID that travels in a
// header.
//
// A channel's Run consumes messages and hands each to Serve, which runs
// it through the same pipeline as a REST request (security, decoding per
// data format, typed I/O, the service, the access log and metrics
// labelled with the channel's kind) and answers an Outcome: acknowledge
// the message, try it again later, or give it up (a dead letter).
package broker

import (
	"context"
	"fmt"
	"net/http"
	"net/textproto"
	"strings"
	"sync"
	"time"

	"github.com/plexushq/plexus/internal/cid"
	"github.com/plexushq/plexus/internal/dispatch"
	"github.com/plexushq/plexus/internal/registry"
	"github.com/plexushq/plexus/internal/reply"
	"github.com/plexushq/plexus/internal/security"
	"github.com/plexushq/plexus/sdk/service"
)

// CIDHeader is the message header that carries a correlation ID, in and
// out, as X-Plexus-CID does over HTTP.
const CIDHeader = reply.CIDHeader

// Data formats of brokers' channels, as their data_format fields spell
// them (the enum of the fields).
const DataFormats = dispatch.FormatJSON + "|" + dispatch.FormatText + "|" + dispatch.FormatBytes

// DataFormatDoc documents a data_format field of a broker's channel.
const DataFormatDoc = "How a message's payload becomes self.request.payload: json (decoded; malformed JSON is a message given up at once), text (a string), bytes (the payload as it is)."

// Outcome is what a channel does with a message the pipeline answered.
type Outcome int

// Outcomes.
const (
	// Ack: the service succeeded; the message is acknowledged.
	Ack Outcome = iota
	// Retry: it failed for a reason that may pass (the service failed,
	// is not deployed, was rate limited, or the server is stopping): the
	// message is delivered again, as the channel says.
	Retry
	// Reject: it can never succeed (malformed or too large, refused by
	// security, invalid input): the message is given up at once, to the
	// dead letters.
	Reject
)

// String names the outcome for logs.
func (o Outcome) String() string {
	switch o {
	case Retry:
		return "retry"
	case Reject:
		return "reject"
	}
	return "ack"
}

// OutcomeOf tells what becomes of a message whose reply had a status.
func OutcomeOf(status int) Outcome {
	switch {
	case status < http.StatusBadRequest:
		return Ack
	case status >= http.StatusInternalServerError, status == http.StatusRequestTimeout,
		status == http.StatusTooManyRequests, status == reply.StatusClientClosed:
		return Retry
	}
	return Reject
}

// Delivery is one message as a channel hands it to Serve.
type Delivery struct {
	// Payload is the message's body.
	Payload []byte
	// Headers are the message's headers, as the service sees them in
	// self.channel.message.headers. Those with string values are also
	// the request's headers: an Authorization or API key header is
	// checked by the channel's security, a Content-Type is the payload's,
	// and X-Plexus-CID gives the request its correlation ID.
	Headers map[string]any
	// ContentType is the payload's content type, when the message has
	// one apart from its headers (an AMQP property).
	ContentType string
	// CID is the message's correlation ID, when it has one apart from
	// its headers (an AMQP correlation_id): used when it has the form of
	// a CID and no X-Plexus-CID header gives one.
	CID string
	// Message is what the service reads as self.channel.message; its
	// Headers are set from Headers.
	Message service.Message
}

// Result is what became of a message.
type Result struct {
	Outcome Outcome
	// CID is the request's correlation ID: the message's, or a new one.
	CID string
	// Status is the status of the pipeline's reply.
	Status int
	// Details say why the message failed, as the error envelope says it
	// (never a secret): for the header of a dead letter.
	Details string
	// Body is the reply's body: the service's response, or the envelope.
	Body []byte
}

// Serve runs one message through the pipeline on a channel of a kind and
// returns what became of it. ctx bounds the service: a channel that
// drains on shutdown passes one that outlives its consuming.
func Serve(ctx context.Context, p *dispatch.Pipeline, kind string, ch *dispatch.Channel, d *Delivery) Result {
	x := &exchange{payload: d.Payload}
	x.Headers = make(textproto.MIMEHeader, len(d.Headers)+1)
	// One array holds every header's value.
	vals := make([]string, 0, len(d.Headers)+1)
	set := func(k, v string) {
		vals = append(vals, v)
		x.Headers[k] = vals[len(vals)-1 : len(vals) : len(vals)]
	}
	for k, v := range d.Headers {
		if s, ok := v.(string); ok {
			set(textproto.CanonicalMIMEHeaderKey(k), s)
		}
	}
	if d.ContentType != "" && first(x.Headers, "Content-Type") == "" {
		set("Content-Type", d.ContentType)
	}
	for _, id := range [...]string{first(x.Headers, cidKey), d.CID} {
		if id = strings.ToLower(id); cid.Valid(id) {
			x.CID = id
			break
		}
	}
	x.Begin(ctx, x)
	msg := d.Message
	msg.Headers = d.Headers
	x.Kind, x.Channel, x.Path, x.Message = kind, ch, msg.Topic, &msg
	x.Credentials = security.ParseAuthorization(first(x.Headers, "Authorization"))
	p.Serve(&x.Exchange)
	res := Result{Outcome: OutcomeOf(x.Reply.Status), CID: x.CID, Status: x.Reply.Status, Body: x.body}
	switch {
	case x.Reply.Err != nil:
		_, res.Details = reply.Details(x.Reply.Err, false)
	case res.Outcome != Ack:
		res.Details = fmt.Sprintf("The service answered %d", x.Reply.Status)
	}
	return res
}

// cidKey is CIDHeader as a message's headers hold it.
var cidKey = textproto.CanonicalMIMEHeaderKey(CIDHeader)

// first returns the first value of a header given by its canonical key.
func first(h textproto.MIMEHeader, key string) string {
	if vs := h[key]; len(vs) > 0 {
		return vs[0]
	}
	return ""
}

// exchange is one message going through the pipeline, as its transport.
type exchange struct {
	dispatch.Exchange
	payload []byte
	body    []byte
}

// Payload returns the message's body, refusing one larger than limit.
func (x *exchange) Payload(limit int64) ([]byte, error) {
	if int64(len(x.payload)) > limit {
		return nil, dispatch.TooLarge(limit)
	}
	return x.payload, nil
}

// Fill adds nothing: the message's details are on the channel.
func (x *exchange) Fill(*dispatch.Exchange, *service.Request) error { return nil }

// Send keeps the reply's body, whose buffer the pipeline reuses.
func (x *exchange) Send(r *dispatch.Reply) (int, error) {
	x.body = append([]byte(nil), r.Body...)
	return len(r.Body), nil
}

// Channel returns the pipeline's view of a broker's channel.
func Channel(typ, name, svc, dataFormat, sec string, groups []string) *dispatch.Channel {
	return &dispatch.Channel{Type: typ, Name: name, Service: svc, DataFormat: dataFormat, Security: sec, Groups: groups}
}

// Payload returns what a service sends as a message's body: bytes and
// strings as they are, anything else as JSON, with its content type
// (empty for bytes and strings, unless contentType says it).
func Payload(data any) ([]byte, string, error) {
	switch v := data.(type) {
	case nil:
		return nil, "", nil
	case []byte:
		return v, "", nil
	case string:
		return []byte(v), "", nil
	}
	body, ctype, release, err := reply.Encode(data)
	if err != nil {
		return nil, "", fmt.Errorf("encoding the message as JSON: %w", err)
	}
	out := append([]byte(nil), body...)
	if release != nil {
		release()
	}
	return out, ctype, nil
}

// WaitDrained waits for a channel's workers to finish the messages in
// flight; after drain it cancels their services' context and waits for
// them to return.
func WaitDrained(wg *sync.WaitGroup, drain time.Duration, cancel context.CancelFunc) {
	done := make(chan struct{})
	go func() {
		wg.Wait()
		close(done)
	}()
	t := time.NewTimer(drain)
	defer t.Stop()
	select {
	case <-done:
		return
	case <-t.C:
	}
	cancel()
	<-done
}

// Login returns the username and password an object logs in to its
// broker with: those of the basic_auth security definition named def
// (field is the object's field naming it), or username and password when
// def is empty. It is for Provision, whose env finds definitions.
func Login(env *registry.Env, field, def, username, password string) (string, string, error) {
	if def == "" {
		return username, password, nil
	}
	if username != "" || password != "" {
		return "", "", registry.FieldProblem(field, "give the broker's credentials either in a security definition or in username and password, not both")
	}
	v, ok := env.Running(security.Kind, def)
	if !ok {
		return "", "", registry.FieldProblem(field, "no security definition named %q", def)
	}
	c := v.(*security.Credentials)
	user, pass, ok := c.Login()
	switch {
	case !ok:
		return "", "", registry.FieldProblem(field, "security definition %q is of type %s: a broker takes basic_auth, a username and password", def, c.Type())
	case !c.Active():
		return "", "", registry.FieldProblem(field, "security definition %q is inactive", def)
	}
	return user, pass, nil
}
