package dispatch

import (
	"context"
	"fmt"
	"maps"
	"net/http"
	"net/textproto"
	"net/url"
	"reflect"
	"sort"
	"sync"
	"time"

	"github.com/plexushq/plexus/internal/redact"
	"github.com/plexushq/plexus/internal/security"
	"github.com/plexushq/plexus/sdk/service"
)

// Bounds of what development mode keeps for replay.
const (
	// ReplayPerChannel is how many requests are kept per channel: the
	// newest; an older one is forgotten.
	ReplayPerChannel = 20
	// ReplayChannels is how many channels have requests kept; past it,
	// the channel whose newest request is oldest is forgotten.
	ReplayChannels = 256
	// ReplayMaxPayload is the largest payload kept: a request with a
	// larger one is listed, and cannot be replayed.
	ReplayMaxPayload = 1 << 20
	// ReplayMaxReply is how much of each reply is kept, to be shown beside
	// the replayed one.
	ReplayMaxReply = 64 << 10
)

// Recorded is a request that development mode kept for replay: what it
// asked and what it was answered. Credentials are never kept: neither
// the headers nor the query parameters whose names look like secrets
// (Authorization, Cookie, X-API-Key, ?access_token=, …), nor the
// password or token of the request.
type Recorded struct {
	CID     string    `json:"cid"`
	Time    time.Time `json:"time"`
	Kind    string    `json:"kind"`
	Channel string    `json:"channel"`
	Service string    `json:"service"`
	Verb    string    `json:"verb,omitempty"`
	Path    string    `json:"path,omitempty"`
	// Size is the payload's size; Kept says whether it was kept, so that
	// the request can be replayed.
	Size int  `json:"size"`
	Kept bool `json:"replayable"`
	// Left are the names of the headers and parameters left out.
	Left []string `json:"left_out,omitempty"`
	// Reply is what the request was answered.
	Reply Answer `json:"reply"`

	channel  *Channel
	service  string
	headers  http.Header
	http     service.HTTP
	payload  []byte
	urlInput map[string]any
	identity *security.Identity
	message  *service.Message
}

// Answer is a reply as replay shows it: its status, content type and the
// first ReplayMaxReply bytes of its body.
type Answer struct {
	CID         string `json:"cid"`
	Status      int    `json:"status"`
	ContentType string `json:"content_type,omitempty"`
	Body        string `json:"body"`
	// Cut says the body was longer, by that many bytes.
	Cut int `json:"cut,omitempty"`
}

func answerOf(cid string, r *Reply) Answer {
	a := Answer{CID: cid, Status: r.Status, ContentType: r.ContentType, Body: string(r.Body)}
	if len(r.Body) > ReplayMaxReply {
		a.Body, a.Cut = string(r.Body[:ReplayMaxReply]), len(r.Body)-ReplayMaxReply
	}
	return a
}

// Replayed is the outcome of a replay: the request, its original answer
// and the answer of the code deployed now.
type Replayed struct {
	Request *Recorded `json:"request"`
	Before  Answer    `json:"before"`
	After   Answer    `json:"after"`
	Same    bool      `json:"same"`
}

// recorder keeps the recent requests of each channel. It is safe for
// concurrent use.
type recorder struct {
	mu        sync.Mutex
	byChannel map[string][]*Recorded
	byCID     map[string]*Recorded
}

func newRecorder() *recorder {
	return &recorder{byChannel: map[string][]*Recorded{}, byCID: map[string]*Recorded{}}
}

// add keeps a request, forgetting the oldest of its channel past
// ReplayPerChannel and the stalest channel past ReplayChannels.
func (r *recorder) add(rec *Recorded) {
	key := rec.Kind + "/" + rec.Channel
	r.mu.Lock()
	defer r.mu.Unlock()
	list, ok := r.byChannel[key]
	if !ok && len(r.byChannel) >= ReplayChannels {
		stalest, at := "", time.Time{}
		for k, l := range r.byChannel {
			if t := l[len(l)-1].Time; stalest == "" || t.Before(at) {
				stalest, at = k, t
			}
		}
		for _, old := range r.byChannel[stalest] {
			delete(r.byCID, old.CID)
		}
		delete(r.byChannel, stalest)
	}
	if len(list) >= ReplayPerChannel {
		delete(r.byCID, list[0].CID)
		list = append(list[:0:0], list[1:]...)
	}
	r.byChannel[key] = append(list, rec)
	r.byCID[rec.CID] = rec
}

func (r *recorder) get(cid string) *Recorded {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.byCID[cid]
}

// list returns the kept requests, newest first.
func (r *recorder) list() []*Recorded {
	r.mu.Lock()
	out := make([]*Recorded, 0, len(r.byCID))
	for _, rec := range r.byCID {
		out = append(out, rec)
	}
	r.mu.Unlock()
	sort.Slice(out, func(i, j int) bool { return out[i].Time.After(out[j].Time) })
	return out
}

// Recent returns the requests kept for replay, newest first; none unless
// the server runs in development mode.
func (p *Pipeline) Recent() []*Recorded {
	if p.recorder == nil {
		return nil
	}
	return p.recorder.list()
}

// record keeps a request that reached its service, in development mode.
func (p *Pipeline) record(x *Exchange) {
	if p.recorder == nil || x.sc == nil || x.Channel == nil || !x.read {
		return
	}
	rec := &Recorded{CID: x.CID, Time: x.Start, Kind: x.Kind, Channel: x.Channel.Name, Service: x.serviceName(),
		Verb: x.Verb, Path: x.Path, Size: len(x.payload), Kept: len(x.payload) <= ReplayMaxPayload,
		Reply: answerOf(x.CID, &x.Reply), channel: x.Channel, service: x.Service, message: x.Message}
	if rec.Kept {
		rec.payload = append([]byte(nil), x.payload...)
	}
	var left []string
	rec.headers, left = keptHeaders(x.Headers)
	rec.Left = append(rec.Left, left...)
	h := x.sc.Request.HTTP
	rec.http = service.HTTP{Method: h.Method, Path: h.Path, Params: maps.Clone(h.Params)}
	rec.http.Headers, left = keptHeaders(textproto.MIMEHeader(h.Headers))
	rec.Left = append(rec.Left, left...)
	if h.GET != nil {
		rec.http.GET = url.Values{}
		for k, vs := range h.GET {
			if redact.SecretName(k) {
				rec.Left = append(rec.Left, "?"+k)
				continue
			}
			rec.http.GET[k] = append([]string(nil), vs...)
		}
	}
	for k, v := range x.urlInput {
		if redact.SecretName(k) {
			continue
		}
		if rec.urlInput == nil {
			rec.urlInput = map[string]any{}
		}
		rec.urlInput[k] = v
	}
	if x.outcome.Result == security.Passed {
		id := x.outcome.Identity
		rec.identity = &id
	}
	sort.Strings(rec.Left)
	rec.Left = compactStrings(rec.Left)
	p.recorder.add(rec)
}

func compactStrings(s []string) []string {
	out := s[:0]
	for i, v := range s {
		if i == 0 || v != s[i-1] {
			out = append(out, v)
		}
	}
	return out
}

// keptHeaders returns the headers without those whose names look like
// they carry credentials, and the names left out.
func keptHeaders(h textproto.MIMEHeader) (http.Header, []string) {
	if h == nil {
		return nil, nil
	}
	out := make(http.Header, len(h))
	var left []string
	for k, vs := range h {
		if redact.SecretName(k) || textproto.CanonicalMIMEHeaderKey(k) == "Cookie" {
			left = append(left, k)
			continue
		}
		out[k] = append([]string(nil), vs...)
	}
	return out, left
}

// noteURLInput remembers, for replay, the input a transport's Fill added
// to the payload's members: the URL's parameters.
func (p *Pipeline) noteURLInput(x *Exchange, before service.Input) {
	after := x.sc.Request.Input
	if p.recorder == nil || reflect.ValueOf(after).UnsafePointer() == reflect.ValueOf(before).UnsafePointer() {
		return
	}
	for k, v := range after {
		if old, ok := before[k]; ok && reflect.DeepEqual(old, v) {
			continue
		}
		if x.urlInput == nil {
			x.urlInput = map[string]any{}
		}
		x.urlInput[k] = v
	}
}

// ErrNotKept is the error of a replay of a request that is not kept.
func errNotKept(cid string) error {
	return service.NotFound("No request with cid %s is kept for replay: development mode keeps the last %d requests of each channel", cid, ReplayPerChannel)
}

// Replay runs a kept request again, through the stages after the
// security ones, against the services deployed now, and returns its
// answer beside the original one. The replay has a cid of its own; it
// runs as the identity the request authenticated as (its name, not its
// credentials), and is not kept itself.
func (p *Pipeline) Replay(ctx context.Context, cid string) (*Replayed, error) {
	if p.recorder == nil {
		return nil, service.NewError(http.StatusConflict, "Replay needs development mode (development: true in plexus.yaml)")
	}
	rec := p.recorder.get(cid)
	if rec == nil {
		return nil, errNotKept(cid)
	}
	if !rec.Kept {
		return nil, service.NewError(http.StatusConflict, "The request %s had a payload of %d bytes, more than the %d kept for replay", cid, rec.Size, ReplayMaxPayload)
	}
	x := &Exchange{Request: Request{Kind: rec.Kind, Channel: rec.channel, Service: rec.service, Verb: rec.Verb,
		Path: rec.Path, Headers: textproto.MIMEHeader(rec.headers), Message: rec.message}}
	t := &replayTransport{rec: rec}
	x.Begin(ctx, t)
	if rec.identity != nil {
		x.outcome = security.Outcome{Result: security.Passed, Identity: *rec.identity}
	}
	x.state = p.Runtime.State()
	var err error
	for _, s := range stages[3:] { // from resolve: the request was admitted once
		if err = s(p, x); err != nil {
			break
		}
	}
	if err != nil {
		if err == errGone {
			return nil, err
		}
		if !x.logged {
			p.logRefusal(x, err)
		}
		p.envelope(x, err)
	}
	out := &Replayed{Request: rec, Before: rec.Reply, After: answerOf(x.CID, &x.Reply)}
	p.release(x)
	out.Same = out.Before.Status == out.After.Status && out.Before.Body == out.After.Body && out.Before.Cut == out.After.Cut
	p.Logger.Info("request replayed", "cid", x.CID, "replay_of", rec.CID, "kind", rec.Kind, "channel", rec.Channel,
		"status", out.After.Status, "same", out.Same)
	return out, nil
}

// replayTransport is the transport of a replay: the kept payload, the
// kept HTTP details and URL input, and a reply kept by the pipeline.
type replayTransport struct {
	rec *Recorded
}

func (t *replayTransport) Payload(limit int64) ([]byte, error) {
	if int64(len(t.rec.payload)) > limit {
		return nil, TooLarge(limit)
	}
	return t.rec.payload, nil
}

func (t *replayTransport) Fill(x *Exchange, req *service.Request) error {
	h := t.rec.http
	req.HTTP = service.HTTP{Method: h.Method, Path: h.Path, Params: maps.Clone(h.Params), Headers: h.Headers.Clone(), POST: x.Form}
	if h.GET != nil {
		req.HTTP.GET = url.Values(http.Header(h.GET).Clone())
	}
	req.HTTP.SetBody(req.RawRequest)
	if len(t.rec.urlInput) > 0 {
		in := make(service.Input, len(req.Input)+len(t.rec.urlInput))
		maps.Copy(in, req.Input)
		maps.Copy(in, t.rec.urlInput)
		req.Input = in
	}
	return nil
}

func (t *replayTransport) Send(*Reply) (int, error) { return 0, fmt.Errorf("a replay sends nothing") }
