package dispatch

import (
	"context"
	"net/netip"
	"net/textproto"
	"net/url"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/plexushq/plexus/internal/catalog"
	"github.com/plexushq/plexus/internal/cid"
	"github.com/plexushq/plexus/internal/live"
	"github.com/plexushq/plexus/internal/ratelimit"
	"github.com/plexushq/plexus/internal/security"
	"github.com/plexushq/plexus/sdk/service"
)

// Data formats of channels: how the decode stage turns a payload into
// self.request.payload.
const (
	// FormatJSON decodes the payload as one JSON value; malformed JSON is
	// answered 400.
	FormatJSON = "json"
	// FormatForm decodes a URL-encoded or multipart form (by the
	// Content-Type header or property) into its fields; any other payload
	// is text.
	FormatForm = "form"
	// FormatRaw passes the payload on as text, or as a form's fields
	// when the Content-Type header says it is one.
	FormatRaw = "raw"
	// FormatText passes the payload on as text: the data format of
	// message brokers' channels that take text.
	FormatText = "text"
	// FormatBytes passes the payload on as bytes, unread: the data format
	// of message brokers' channels that take binary payloads.
	FormatBytes = "bytes"
)

// Channel is a channel as the pipeline sees it: who it is and how its
// requests are checked and decoded. An adapter builds one when a
// channel's configuration changes, not per request, for one Pipeline
// (it keeps that pipeline's metric series); it is not changed afterwards,
// and is safe for concurrent use.
type Channel struct {
	// Type is the channel's type as services see it
	// (self.channel.type): service.ChannelREST, ChannelScheduler, ….
	Type string
	// Name is the channel's name (self.channel.name).
	Name string
	// Service is the name of the service the channel runs.
	Service string
	// DataFormat is FormatJSON, FormatForm, FormatRaw, FormatText or
	// FormatBytes.
	DataFormat string
	// ContentType is the content type of replies whose service sets none;
	// empty picks application/json for JSON and text/plain for text.
	ContentType string
	// Security and Groups name the security definition and groups that
	// must admit every request (see security.Check); both empty admit
	// everyone.
	Security string
	Groups   []string
	// Limiter holds the channel's rules by client address: its IP
	// allow-list and rate limit. Nil admits everyone.
	Limiter *ratelimit.Limiter
	// Detailed shows callers the text of any error a 500 answers, as
	// development mode does: for the admin API, whose callers are
	// administrators.
	Detailed bool
	// KindSeries counts the channel's requests under its kind alone
	// (channel=""), for kinds with very many channels, such as scheduler
	// jobs, so they do not make a series each.
	KindSeries bool

	once     sync.Once
	requests prometheus.Counter
	duration prometheus.Observer
	errors   *prometheus.CounterVec
}

// Request is what a channel adapter hands the pipeline: one request as it
// arrived, whatever transport carried it. The payload itself is read
// through the Transport, after the security stages.
type Request struct {
	// Kind is the adapter's channel kind: the kind id of its channels'
	// configuration (channel_rest, scheduler), or admin. It labels the
	// access log and the metrics.
	Kind string
	// Channel is the channel the request arrived on; nil only for
	// requests the adapter answers itself (Fail, Answer).
	Channel *Channel
	// Service, when set, is the service to run instead of the channel's:
	// the admin API names it per call.
	Service string
	// Verb picks the service's handler: an HTTP method runs handle_<VERB>
	// (or handle), empty runs handle.
	Verb string
	// Path is what the request addressed, for the access log: the URL
	// path of HTTP, the topic or queue of a broker.
	Path string
	// Headers are the request's headers or properties, a case-insensitive
	// multi-map (canonical keys): an API key is read from them, a form
	// payload is told by Content-Type, and X-Forwarded-For names the
	// client when the peer is a trusted proxy.
	Headers textproto.MIMEHeader
	// RemoteAddr is the peer's address (host:port, or a host) as the
	// transport reports it; empty when it has none.
	RemoteAddr string
	// Credentials are what the request presented to prove who sent it, as
	// the adapter found them; the security stage checks them whatever
	// carried them.
	Credentials security.Presented
	// Message describes the broker's message that carried the request,
	// for the channels of message brokers: the service reads it as
	// self.channel.message. Nil for other transports.
	Message *service.Message
	// Client is the WebSocket client that sent the request, read by the
	// service as self.channel.client; nil for other transports.
	Client *service.Client
}

// Reply is what the pipeline answers: the service's response as bytes,
// or the envelope of a refusal or failure.
type Reply struct {
	// Status is the HTTP status the reply stands for; a transport without
	// statuses maps it (a dead letter, an error frame).
	Status int
	// Body is the payload; for a failure, the envelope
	// {"result": "Error", "cid": …, "details": …}.
	Body []byte
	// ContentType is the body's content type; empty when Body is.
	ContentType string
	// ContentEncoding is what the service set: gzip asks the transport to
	// compress the body where the client takes it, anything else is
	// passed on as it is.
	ContentEncoding string
	// Headers go with the reply: the service's, and the pipeline's
	// (Retry-After, WWW-Authenticate, X-RateLimit-*). An adapter may set
	// the map it sends from (an http.ResponseWriter's) before the
	// pipeline runs; the pipeline makes one when it needs one.
	Headers textproto.MIMEHeader
	// Err is why the request failed, when it did: a *service.Error, or
	// any error a 500 answers.
	Err error
}

// header returns the reply's headers, made on first use.
func (r *Reply) header() textproto.MIMEHeader {
	if r.Headers == nil {
		r.Headers = textproto.MIMEHeader{}
	}
	return r.Headers
}

// Transport is a channel adapter's side of one exchange.
type Transport interface {
	// Payload returns the request's payload, refusing one larger than
	// limit bytes with TooLarge. The pipeline asks for it after the
	// security stages, so a transport that streams (HTTP) reads the body
	// only of requests they admitted.
	Payload(limit int64) ([]byte, error)
	// Fill adds what is the transport's own to the service's request once
	// the payload is decoded, such as self.request.http, and may change
	// its input. Transports with nothing to add return nil.
	Fill(x *Exchange, req *service.Request) error
	// Send sends the reply and returns the number of body bytes sent.
	Send(r *Reply) (int, error)
}

// Exchange is one request going through the pipeline: what the adapter
// handed in, what the stages found, and the reply. An adapter may pool
// exchanges (zeroing one before reuse): nothing keeps one once Serve,
// Fail or Answer returns.
type Exchange struct {
	Request
	// Reply is the answer, once the pipeline has made it.
	Reply Reply
	// CID is the request's correlation ID.
	CID string
	// Start is when the request arrived.
	Start time.Time
	// Form holds the payload's form fields, when the decode stage read it
	// as a form, for Transport.Fill.
	Form url.Values

	t         Transport
	reqCtx    context.Context
	state     *live.State
	svc       *catalog.Service
	sc        *service.Context
	client    netip.Addr
	clientSet bool
	inbound   security.Inbound
	outcome   security.Outcome
	payload   []byte
	bytes     int
	logged    bool
	// read says the payload was read; urlInput is the input the
	// transport's Fill added to it, kept for replay.
	read     bool
	urlInput map[string]any
	// release gives back the encoded reply's buffer, releaseBody the
	// decode budget the payload's values hold.
	release, releaseBody func()
}

// Begin starts an exchange on a transport: it gets a new CID (unless the
// adapter gave it one) and its start time. ctx is cancelled when the
// caller goes away.
func (x *Exchange) Begin(ctx context.Context, t Transport) {
	x.t = t
	if ctx == nil {
		ctx = context.Background()
	}
	x.reqCtx = ctx
	if x.CID == "" {
		x.CID = cid.New()
	}
	x.Start = time.Now()
}

// serviceName returns the name of the service the request runs.
func (x *Exchange) serviceName() string {
	if x.Service == "" && x.Channel != nil {
		return x.Channel.Service
	}
	return x.Service
}
