// Package dispatch is the request pipeline of every channel kind. A
// channel adapter (the REST channel, the admin API's invoke, the
// scheduler, WebSocket, AMQP, MQTT, …) turns what arrived
// into a transport-neutral Request on an Exchange and calls Serve, which
// runs the stages in this order, each a small function with one job:
//
//  1. admit: the channel's rules by client address, its IP allow-list and
//     rate limit;
//  2. authenticate: the channel's security definition and groups check the
//     credentials the adapter found, whatever carried them; an address
//     that keeps failing is slowed down, then locked out;
//  3. limitIdentity: the rate limits of the identity that passed;
//  4. resolve: the channel's service, and the service's context;
//  5. read: the payload, within limits.max_body_size;
//  6. decode: the payload per the channel's data format (json, form, raw);
//  7. fill: the transport's own part of the service's request
//     (self.request.http);
//  8. invoke: typed input (validation and conversion), the service (Go or
//     Starlark), typed output;
//  9. encode: the response payload as bytes.
//
// A stage that refuses the request returns an error, which the pipeline
// answers with the envelope {"result": "Error", "cid": …, "details": …}
// and its status; each transport maps the status to what it has (an HTTP
// status, a dead letter, an error frame). The transport then sends the
// reply, and the access log and the metrics record it, labelled with the
// channel's kind and name.
package dispatch

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"net/netip"
	"sync"
	"time"

	"github.com/plexushq/plexus/internal/config"
	"github.com/plexushq/plexus/internal/invoke"
	"github.com/plexushq/plexus/internal/live"
	"github.com/plexushq/plexus/internal/logging"
	"github.com/plexushq/plexus/internal/metrics"
	"github.com/plexushq/plexus/internal/ratelimit"
	"github.com/plexushq/plexus/internal/reply"
	"github.com/plexushq/plexus/internal/security"
	"github.com/plexushq/plexus/sdk/service"
)

// Options configure a Pipeline.
type Options struct {
	Runtime  *live.Runtime
	Invoker  *invoke.Invoker
	Logger   *slog.Logger
	Settings *config.Settings
	// Metrics records requests per channel; nil records none.
	Metrics *metrics.Metrics
	// Access writes the access log when settings.log.access is on; nil
	// writes none.
	Access *logging.Access
	// Guard is shared by the security stages; nil believes no proxy,
	// slows nobody down and refuses session tokens.
	Guard *Guard
}

// Pipeline runs requests through the stages. It is safe for concurrent
// use.
type Pipeline struct {
	Options

	// series are the channels that have metric series, by kind and name,
	// so those of channels deleted from the configuration are deleted too.
	mu     sync.Mutex
	series map[seriesKey]bool
	// recorder keeps requests for replay, in development mode only.
	recorder *recorder
}

// New returns a pipeline. It follows the runtime's changes, to delete the
// metric series of channels that no longer exist. Options without a
// Runtime and an Invoker make a pipeline that serves nothing until
// Attach gives it them.
func New(opts Options) *Pipeline {
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.Settings == nil {
		opts.Settings = config.Default()
	}
	if opts.Guard == nil {
		opts.Guard = &Guard{}
	}
	p := &Pipeline{Options: opts, series: map[seriesKey]bool{}}
	if opts.Settings.Development {
		p.recorder = newRecorder()
	}
	if opts.Runtime != nil {
		p.Attach(opts.Runtime, opts.Invoker)
	}
	return p
}

// Attach gives a pipeline made without them its runtime and invoker,
// before it serves any request. A server makes its pipeline first, so
// that it is one of the subsystems the runtime gives kinds (the channels
// of message brokers find it with registry.Subsystem), and attaches it
// once the runtime and the invoker exist.
func (p *Pipeline) Attach(rt *live.Runtime, iv *invoke.Invoker) {
	p.Runtime, p.Invoker = rt, iv
	if name := p.Settings.RateLimiting.Redis; name != "" {
		p.Guard.Shared = sharedLimits(rt, name, p.Logger)
	}
	if p.Metrics != nil {
		rt.Watch(p.forget)
	}
}

// stage is one step of the pipeline.
type stage func(p *Pipeline, x *Exchange) error

// stages are the pipeline's steps, in order (see the package doc).
var stages = [...]stage{
	(*Pipeline).admit,
	(*Pipeline).authenticate,
	(*Pipeline).limitIdentity,
	(*Pipeline).lookUp,
	(*Pipeline).resolve,
	(*Pipeline).read,
	(*Pipeline).decode,
	(*Pipeline).fill,
	(*Pipeline).invoke,
	(*Pipeline).encode,
	(*Pipeline).remember,
}

// Serve runs a request through the stages, sends the reply through the
// transport and records it. x must have begun (Exchange.Begin) and have
// its Channel.
func (p *Pipeline) Serve(x *Exchange) {
	x.state = p.Runtime.State()
	var err error
	for _, s := range stages {
		if err = s(p, x); err != nil {
			break
		}
	}
	switch {
	case err == errGone:
	case err == errCached:
		p.send(x)
	case err != nil:
		if !x.logged {
			p.logRefusal(x, err)
		}
		p.envelope(x, err)
		p.send(x)
	default:
		p.send(x)
	}
	p.record(x)
	p.finish(x)
}

// Admit runs the security stages alone (admit, authenticate,
// limitIdentity) for a transport that checks a connection before the
// requests it carries, such as a WebSocket upgrade; each request is then
// served with Serve as any other. It returns the refusal, which the
// adapter answers with Refuse, and the identity admitted (empty for a
// channel without security). x must have begun and have its Channel.
func (p *Pipeline) Admit(x *Exchange) (service.Security, error) {
	x.state = p.Runtime.State()
	for _, s := range stages[:3] {
		if err := s(p, x); err != nil {
			return service.Security{}, err
		}
	}
	if x.outcome.Result != security.Passed {
		return service.Security{}, nil
	}
	id := x.outcome.Identity
	return service.Security{Name: id.Name, Type: id.Type, Username: id.Username}, nil
}

// Fail answers, with the envelope, a request the adapter refused before
// any channel took it (no route: 404, 405), and records it. Only the
// access log says so.
func (p *Pipeline) Fail(x *Exchange, err error) {
	p.envelope(x, err)
	p.send(x)
	p.finish(x)
}

// Refuse is Fail for a refusal worth a log line (with the client's
// address), as the security stages log theirs.
func (p *Pipeline) Refuse(x *Exchange, err error) {
	p.logRefusal(x, err)
	p.Fail(x, err)
}

// Answer sends a reply the adapter made itself (the health check, the JWT
// log-in) and records it.
func (p *Pipeline) Answer(x *Exchange, status int, contentType string, body []byte) {
	x.Reply.Status, x.Reply.ContentType, x.Reply.Body = status, contentType, body
	p.send(x)
	p.finish(x)
}

// errGone stops the pipeline for a request whose caller went away: there
// is nobody to answer.
var errGone = errors.New("the caller went away")

// envelope makes the reply of a failed request: the error's status and
// envelope, with its headers.
func (p *Pipeline) envelope(x *Exchange, err error) {
	dev := p.Settings.Development || x.Channel != nil && x.Channel.Detailed
	status, details := reply.Details(err, dev)
	h := x.Reply.header()
	var se *service.Error
	if errors.As(err, &se) {
		for k, vs := range se.Header {
			h[k] = vs
		}
	}
	h.Del("Content-Encoding")
	h.Del("Content-Length")
	x.Reply.Status, x.Reply.Body, x.Reply.ContentType, x.Reply.ContentEncoding, x.Reply.Err =
		status, reply.EnvelopeBytes(x.CID, details), "application/json", "", err
}

// send hands the reply to the transport.
func (p *Pipeline) send(x *Exchange) {
	x.bytes, _ = x.t.Send(&x.Reply)
}

// finish gives back what the request held and records it in the metrics
// and the access log.
func (p *Pipeline) finish(x *Exchange) {
	p.release(x)
	end := time.Now()
	elapsed := end.Sub(x.Start)
	name := ""
	if x.Channel != nil {
		name = x.Channel.Name
		p.observe(x, elapsed)
	}
	if p.Access == nil || !p.Settings.Log.Access {
		return
	}
	p.Access.Log(end,
		logging.String("cid", x.CID),
		logging.String("kind", x.Kind),
		logging.String("channel", name),
		logging.String("service", x.serviceName()),
		logging.String("method", x.Verb),
		logging.String("path", x.Path),
		logging.Int("status", int64(x.Reply.Status)),
		logging.Float("duration_ms", float64(elapsed.Microseconds())/1000),
		logging.Int("bytes", int64(x.bytes)),
		logging.String("remote", x.RemoteAddr),
	)
}

// release gives back what the request held: the encoded reply's buffer
// and the decode budget of its payload.
func (p *Pipeline) release(x *Exchange) {
	if x.release != nil {
		x.release()
		x.release = nil
	}
	if x.releaseBody != nil {
		x.releaseBody()
		x.releaseBody = nil
	}
}

// logRefusal logs a refused request with the cid the caller sees, the
// error (never the credentials) and the client's address.
func (p *Pipeline) logRefusal(x *Exchange, err error) {
	name := ""
	if x.Channel != nil {
		name = x.Channel.Name
	}
	p.Logger.Info("request refused", "cid", x.CID, "kind", x.Kind, "channel", name, "status", service.StatusOf(err),
		"error", err.Error(), "client", p.client(x).String())
}

// client returns the address of the client, found once per request.
func (p *Pipeline) client(x *Exchange) netip.Addr {
	if !x.clientSet {
		x.client, x.clientSet = ratelimit.PeerClient(x.RemoteAddr, x.Headers, p.Guard.Trusted), true
	}
	return x.client
}

// gone reports whether the caller went away, and logs it: a client that
// disconnected, or a caller that stopped waiting (a scheduler stopping
// says why in the context's cause).
func (p *Pipeline) gone(x *Exchange, err error) bool {
	ctx := x.reqCtx
	if ctx.Err() == nil {
		return false
	}
	x.Reply.Status, x.Reply.Err = reply.StatusClientClosed, err
	name := x.Channel.Name
	if cause := context.Cause(ctx); !errors.Is(cause, context.Canceled) {
		p.Logger.Info("request cancelled before its reply", "cid", x.CID, "kind", x.Kind, "channel", name,
			"status", x.Reply.Status, "cause", cause.Error(), "error", err.Error())
		return true
	}
	p.Logger.Info("client disconnected before the response", "cid", x.CID, "kind", x.Kind, "channel", name,
		"status", x.Reply.Status, "error", err.Error())
	return true
}

// TooLarge is the error of a payload larger than limit bytes: 413.
func TooLarge(limit int64) error {
	return service.NewError(http.StatusRequestEntityTooLarge, "Request body is larger than %d bytes", limit)
}
