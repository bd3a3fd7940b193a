package dispatch

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"

	"github.com/plexushq/plexus/internal/ratelimit"
	"github.com/plexushq/plexus/internal/reply"
	"github.com/plexushq/plexus/internal/security"
	"github.com/plexushq/plexus/sdk/service"
)

// Details of the refusals of the security stages. None says which part
// of the credentials was wrong.
const (
	DetailsForbidden    = "You are not allowed to access this resource"
	DetailsUnauthorized = "Unauthorized"
	DetailsTooMany      = "Too many requests"
)

// Why the security stages refuse requests: logged, never shown.
var (
	ErrLockedOut        = errors.New("address locked out after failed authentications")
	errNoCredentials    = errors.New("no credentials")
	errWrongCredentials = errors.New("wrong credentials")
	errAddress          = errors.New("address not allowed")
	errChannelLimit     = errors.New("channel rate limit")
	errIdentityAddress  = errors.New("address not allowed for the identity")
	errIdentityLimit    = errors.New("identity rate limit")
)

// Refusal is the error of a request a stage turned away: the status and
// details the caller sees, and why, which only the log shows.
func Refusal(status int, details string, why error) *service.Error {
	return &service.Error{Status: status, Message: details, Cause: why}
}

// admit is the allow-list and rate-limit stage: the channel's rules,
// keyed by client address.
func (p *Pipeline) admit(x *Exchange) error {
	lim := x.Channel.Limiter
	if lim.Empty() {
		return nil
	}
	addr := p.client(x)
	return decided(lim.CheckShared(x.reqCtx, p.Guard.Shared, x.Kind+"/"+x.Channel.Name, addr.String(), addr, x.Start), errAddress, errChannelLimit)
}

// decided turns a limiter's refusal into a 403 or a 429 with
// Retry-After, saying why with forbidden or limited.
func decided(d ratelimit.Decision, forbidden, limited error) error {
	switch d.Outcome {
	case ratelimit.Forbidden:
		return Refusal(http.StatusForbidden, DetailsForbidden, forbidden)
	case ratelimit.Limited:
		return Refusal(http.StatusTooManyRequests, DetailsTooMany, limited).WithHeader("Retry-After", ratelimit.RetryAfter(d.RetryAfter))
	}
	return nil
}

// authenticate is the security stage: the channel's definition and groups
// check the credentials the request presented. A locked-out address is
// refused without its credentials being checked; a failure is counted
// against the address and, past auth_failures.slow_after, answered only
// after a delay, waited for without holding any lock.
func (p *Pipeline) authenticate(x *Exchange) error {
	ch := x.Channel
	if ch.Security == "" && len(ch.Groups) == 0 {
		return nil
	}
	g, addr := p.Guard, p.client(x)
	if locked, left := g.Failures.Locked(addr, x.Start); locked {
		return Refusal(http.StatusTooManyRequests, DetailsTooMany, ErrLockedOut).WithHeader("Retry-After", ratelimit.RetryAfter(left))
	}
	x.inbound = security.Inbound{Presented: x.Credentials, Headers: x.Headers, Sessions: g.Sessions, Now: x.Start, Ctx: x.reqCtx}
	x.outcome = security.Check(x.state, ch.Security, ch.Groups, &x.inbound)
	out := &x.outcome
	if out.Result == security.Passed {
		return nil
	}
	if out.Broken != "" {
		p.Logger.Error("channel's security is missing", "cid", x.CID, "kind", x.Kind, "channel", ch.Name, "problem", out.Broken)
	}
	why := errNoCredentials
	if out.Result == security.Failed {
		why = errWrongCredentials
		ratelimit.Wait(x.reqCtx, g.Failures.Fail(addr, x.Start))
	}
	err := Refusal(http.StatusUnauthorized, DetailsUnauthorized, why)
	for _, c := range out.Challenges {
		if err.Header == nil {
			err.Header = http.Header{}
		}
		err.Header.Add("WWW-Authenticate", c)
	}
	return err
}

// limitIdentity is the identity rate-limit stage: the limits of the
// definition and groups that admitted the request, keyed by identity. The
// tightest one's usage goes out in X-RateLimit-Limit and
// X-RateLimit-Remaining, on refusals and admissions alike.
func (p *Pipeline) limitIdentity(x *Exchange) error {
	if x.outcome.Result != security.Passed {
		return nil // the channel has no security
	}
	addr := p.client(x)
	d := x.outcome.Limit(x.reqCtx, p.Guard.Shared, addr, x.Start)
	if d.Limit > 0 {
		h := x.Reply.header()
		h.Set("X-RateLimit-Limit", strconv.Itoa(d.Limit))
		h.Set("X-RateLimit-Remaining", strconv.Itoa(max(d.Remaining, 0)))
	}
	return decided(d, errIdentityAddress, errIdentityLimit)
}

// resolve finds the service the request runs and makes its context.
func (p *Pipeline) resolve(x *Exchange) error {
	ch, name := x.Channel, x.serviceName()
	x.svc = x.state.Services.Get(name)
	if x.svc == nil {
		p.Logger.Warn("channel's service is not deployed", "cid", x.CID, "kind", x.Kind, "channel", ch.Name, "service", name)
		x.logged = true
		return &service.Error{Status: http.StatusServiceUnavailable, Message: "Service unavailable",
			Cause: fmt.Errorf("no service named %q is deployed", name)}
	}
	var sec service.Security
	if id := x.outcome.Identity; x.outcome.Result == security.Passed {
		sec = service.Security{Name: id.Name, Type: id.Type, Username: id.Username}
	}
	x.sc = p.Invoker.NewContext(x.reqCtx, x.CID, x.svc.Name,
		service.Channel{Name: ch.Name, Type: ch.Type, DataFormat: ch.DataFormat, Security: sec, Message: x.Message, Client: x.Client})
	return nil
}

// read is the stage that reads the payload, refusing one larger than
// limits.max_body_size.
func (p *Pipeline) read(x *Exchange) error {
	limit := int64(p.Settings.Limits.MaxBodySize)
	body, err := x.t.Payload(limit)
	if err != nil {
		return err
	}
	if int64(len(body)) > limit {
		return TooLarge(limit)
	}
	x.payload, x.read = body, true
	return nil
}

// decode is the stage that turns the payload into the service's
// request.payload per the channel's data format, and the input its
// members give: JSON decoded, a form's fields, bytes as they are,
// anything else as text. JSON is decoded within limits.json and the decode budget
// (a service that decodes its own gets it checked, as a jsonlimit.Raw);
// the budget is given back once the request is answered. As in Zato, form
// fields are read where the channel takes the payload as a form: a form
// channel, or a raw one receiving a form.
func (p *Pipeline) decode(x *Exchange) error {
	req, body, format := x.sc.Request, x.payload, x.Channel.DataFormat
	req.RawRequest = body
	isForm := false
	if (format == FormatForm || format == FormatRaw) && len(body) > 0 {
		ctype := x.Headers.Get("Content-Type")
		if isForm = service.IsForm(ctype); isForm {
			form, err := service.ParseForm(ctype, body)
			if err != nil {
				return service.BadRequest("Malformed form: %v", err)
			}
			x.Form = form.Values
		}
	}
	var members map[string]any
	var err error
	switch {
	case len(body) == 0:
		req.Payload = ""
	case format == FormatJSON && x.svc.RawJSON:
		if req.Payload, members, x.releaseBody, err = p.Invoker.JSON.Raw(x.reqCtx, body); err != nil {
			return err
		}
	case format == FormatJSON:
		if req.Payload, x.releaseBody, err = p.Invoker.JSON.Decode(x.reqCtx, body); err != nil {
			return err
		}
		members, _ = req.Payload.(map[string]any)
	case format == FormatForm && isForm:
		members = valuesToMap(x.Form)
		req.Payload = members
	case format == FormatBytes:
		req.Payload = body
	default:
		req.Payload = string(body)
	}
	if members != nil {
		req.Input = service.Input(members)
	}
	return nil
}

// fill is the stage where the transport adds its own part to the
// service's request.
func (p *Pipeline) fill(x *Exchange) error {
	req := x.sc.Request
	before := req.Input
	if err := x.t.Fill(x, req); err != nil {
		return err
	}
	p.noteURLInput(x, before)
	if req.Input == nil {
		req.Input = service.Input{}
	}
	return nil
}

// invoke is the stage that runs the service: typed input, the handler for
// the request's verb, typed output (see invoke.Invoker.Run).
func (p *Pipeline) invoke(x *Exchange) error {
	c := x.sc
	err := p.Invoker.Run(c, x.svc, x.Verb)
	if len(c.Response.Headers) > 0 {
		h := x.Reply.header()
		for k, vs := range c.Response.Headers {
			h[k] = vs
		}
	}
	if err == nil {
		return nil
	}
	if p.gone(x, err) {
		return errGone
	}
	reply.LogError(c.Logger(), err)
	x.logged = true
	return err
}

// encode is the stage that turns the service's response into the
// reply's bytes, status and content type.
func (p *Pipeline) encode(x *Exchange) error {
	resp := x.sc.Response
	body, ctype, release, err := reply.Encode(resp.Payload)
	if err != nil {
		x.sc.Logger().Error("encoding the response", "error", err.Error())
		x.logged = true
		return err
	}
	x.release = release
	switch {
	case resp.ContentType != "":
		ctype = resp.ContentType
	case x.Channel.ContentType != "":
		ctype = x.Channel.ContentType
	}
	if len(body) == 0 {
		ctype = ""
	}
	x.Reply.Status = resp.StatusCode
	if x.Reply.Status == 0 {
		x.Reply.Status = http.StatusOK
	}
	x.Reply.Body, x.Reply.ContentType, x.Reply.ContentEncoding = body, ctype, resp.ContentEncoding
	return nil
}

// valuesToMap turns form fields into a payload: a field given once is a
// string, a repeated one a list of strings.
func valuesToMap(v url.Values) map[string]any {
	m := make(map[string]any, len(v))
	for k, vs := range v {
		m[k] = OneOrMany(vs)
	}
	return m
}

// OneOrMany returns the one value of a parameter as a string, or its
// values as a list.
func OneOrMany(vs []string) any {
	if len(vs) == 1 {
		return vs[0]
	}
	out := make([]any, len(vs))
	for i, v := range vs {
		out[i] = v
	}
	return out
}
