package rest

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/plexushq/plexus/internal/reply"
	"github.com/plexushq/plexus/internal/security"
	"github.com/plexushq/plexus/sdk/service"
)

var errTooManyRedirects = errors.New("stopped after 10 redirects")

// caller is a connection as one configuration state resolves it: the
// running connection and the credentials of its security definition in
// that state. It implements service.RESTCaller.
type caller struct {
	conn  *Conn
	creds *security.Credentials
}

// CallREST sends one call, with its retries.
func (cl *caller) CallREST(ctx context.Context, req *service.RESTRequest) (*service.RESTResponse, error) {
	c := cl.conn
	target, err := c.tpl.build(c.cfg.Name, c.base, req.Params)
	if err != nil {
		return nil, err
	}
	body, err := c.encode(req.Data)
	if err != nil {
		return nil, err
	}
	method := strings.ToUpper(req.Method)
	if method == "" {
		method = http.MethodGet
	}
	for k, v := range req.Headers {
		if !security.ValidHeaderName(k) || strings.ContainsAny(v, "\r\n\x00") {
			return nil, fmt.Errorf("calling outgoing REST connection %q: header %q is not a valid HTTP header name and value", c.cfg.Name, k)
		}
	}
	x := &exchange{method: method, target: target, header: cl.header(req.CID, req.Headers, body != nil), body: body, retries: c.cfg.MaxRetries, cid: req.CID}
	return cl.sendAuthorized(ctx, x)
}

// sendAuthorized sets the credentials last, so they win over the caller's
// headers, fetching an OAuth2 token when the definition uses one, and
// sends the call. A 401 answer drops a cached token, so the next call gets
// a new one.
func (cl *caller) sendAuthorized(ctx context.Context, x *exchange) (*service.RESTResponse, error) {
	if cl.creds != nil {
		if err := cl.creds.Authorize(ctx, x.header); err != nil {
			return nil, err
		}
	}
	c := cl.conn
	c.acquire()
	defer c.release()
	resp, err := c.send(cl.withCreds(ctx), x)
	if cl.creds != nil && resp != nil && resp.StatusCode == http.StatusUnauthorized {
		cl.creds.Refused(x.header)
	}
	return resp, err
}

// PingREST sends the connection's ping request, without retries.
func (cl *caller) PingREST(ctx context.Context, cid string) (*service.RESTResponse, error) {
	c := cl.conn
	x := &exchange{method: c.cfg.PingMethod, target: c.base + c.cfg.PingPath, header: cl.header(cid, nil, false), cid: cid}
	return cl.sendAuthorized(ctx, x)
}

// exchange is one call to send: its request and how often to retry it.
type exchange struct {
	method, target string
	header         http.Header
	body           []byte
	retries        int
	cid            string
}

// header builds a call's headers: the cid, the connection's Content-Type
// for a body and the caller's headers; sendAuthorized adds the credentials.
func (cl *caller) header(cid string, user map[string]string, hasBody bool) http.Header {
	h := make(http.Header, 3+len(user))
	h[reply.CIDHeader] = []string{cid}
	if hasBody && cl.conn.contentType != "" {
		h["Content-Type"] = []string{cl.conn.contentType}
	}
	for k, v := range user {
		h.Set(k, v)
	}
	return h
}

// withCreds marks the context of a call that carries credentials and
// follows redirects, so a redirect to another host or port drops them.
func (cl *caller) withCreds(ctx context.Context) context.Context {
	if cl.creds == nil || cl.creds.Header() == "" || !cl.conn.cfg.FollowRedirects {
		return ctx
	}
	return context.WithValue(ctx, credentialHeader{}, cl.creds.Header())
}

// encode serialises a call's data as the connection's data format says.
func (c *Conn) encode(data any) ([]byte, error) {
	switch d := data.(type) {
	case nil:
		return nil, nil
	case string:
		return []byte(d), nil
	case []byte:
		return d, nil
	case json.RawMessage:
		return d, nil
	}
	switch c.cfg.DataFormat {
	case "form":
		vals, err := formValues(data)
		if err != nil {
			return nil, fmt.Errorf("encoding data for outgoing REST connection %q as a form: %w", c.cfg.Name, err)
		}
		return []byte(vals.Encode()), nil
	case "raw":
		return nil, fmt.Errorf("encoding data for outgoing REST connection %q: data_format raw sends strings and bytes, not a %T", c.cfg.Name, data)
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(data); err != nil {
		return nil, fmt.Errorf("encoding data for outgoing REST connection %q as JSON: %w", c.cfg.Name, err)
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n")), nil
}

// formValues turns a dict into form fields, lists as repeated fields.
func formValues(data any) (url.Values, error) {
	switch d := data.(type) {
	case url.Values:
		return d, nil
	case map[string]string:
		vals := make(url.Values, len(d))
		for k, v := range d {
			vals.Set(k, v)
		}
		return vals, nil
	case map[string]any:
		vals := make(url.Values, len(d))
		for k, v := range d {
			switch x := v.(type) {
			case nil:
			case []any:
				for _, e := range x {
					s, err := scalar(e)
					if err != nil {
						return nil, fmt.Errorf("field %s: %w", k, err)
					}
					vals.Add(k, s)
				}
			case []string:
				vals[k] = append(vals[k], x...)
			default:
				s, err := scalar(v)
				if err != nil {
					return nil, fmt.Errorf("field %s: %w", k, err)
				}
				vals.Set(k, s)
			}
		}
		return vals, nil
	}
	return nil, fmt.Errorf("a form is a dict, not a %T", data)
}

// send sends a request, retrying timeouts, connection errors and 429
// answers as the connection's retry settings say, and returns the last
// response or the error of the last attempt.
func (c *Conn) send(ctx context.Context, x *exchange) (*service.RESTResponse, error) {
	start := time.Now()
	budget := c.cfg.RetryBackoffThreshold.D()
	sleep := c.cfg.RetrySleepTime.D()
	maxSleep := max(MaxRetrySleep, sleep)
	for attempt := 1; ; attempt++ {
		resp, err := c.attempt(ctx, x)
		var fail *failure
		if errors.As(err, &fail) && ctx.Err() != nil {
			return nil, fmt.Errorf("calling outgoing REST connection %q: the call was cancelled: %w", c.cfg.Name, ctx.Err())
		}
		retryable := resp != nil && resp.StatusCode == http.StatusTooManyRequests || fail != nil && fail.retryable()
		if !retryable || attempt > x.retries {
			if fail != nil {
				return nil, fail.serviceError(c.cfg.Name, attempt)
			}
			if err != nil {
				return nil, err
			}
			resp.Elapsed = time.Since(start)
			return resp, nil
		}
		wait := sleep
		if resp != nil {
			if ra, ok := retryAfter(resp.Header.Get("Retry-After"), time.Now()); ok {
				wait = ra
			}
		}
		if budget > 0 && time.Since(start)+wait > budget {
			if fail != nil {
				return nil, fail.serviceError(c.cfg.Name, attempt)
			}
			resp.Elapsed = time.Since(start)
			return resp, nil
		}
		reason := "429 Too Many Requests"
		if fail != nil {
			reason = fail.reason
		}
		c.log.Info("retrying an outgoing REST call", "cid", x.cid, "attempt", attempt, "reason", reason, "sleep", wait.String())
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return nil, fmt.Errorf("calling outgoing REST connection %q: the call was cancelled: %w", c.cfg.Name, ctx.Err())
		case <-t.C:
		}
		sleep = min(time.Duration(float64(sleep)*c.cfg.RetryBackoffMultiplier), maxSleep)
	}
}

// attempt sends one request and reads the whole response. Its error is a
// *failure for what went wrong on the way to or from the remote API.
func (c *Conn) attempt(ctx context.Context, x *exchange) (*service.RESTResponse, error) {
	var rd io.Reader
	if x.body != nil {
		rd = bytes.NewReader(x.body)
	}
	// Without redirects to follow, the transport is called directly with
	// the timeout on the context: the client would add nothing but a copy
	// of the headers and a timer of its own.
	direct := !c.cfg.FollowRedirects
	if timeout := c.cfg.Timeout.D(); direct && timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, timeout)
		defer cancel()
	}
	req, err := http.NewRequestWithContext(ctx, x.method, x.target, rd)
	if err != nil {
		return nil, fmt.Errorf("calling outgoing REST connection %q: %w", c.cfg.Name, err)
	}
	req.Header = x.header
	if h := x.header.Get("Host"); h != "" {
		req.Host = h
	}
	t0 := time.Now()
	var hr *http.Response
	if direct {
		hr, err = c.transport.RoundTrip(req)
	} else {
		hr, err = c.client.Do(req)
	}
	if err != nil {
		if direct {
			err = &url.Error{Op: x.method, URL: x.target, Err: err}
		}
		f := classify(err)
		c.m.observe(time.Since(t0), f.reason)
		c.report(f)
		return nil, f
	}
	c.report(nil)
	data, err := c.readBody(hr)
	hr.Body.Close()
	if err != nil {
		var f *failure
		if !errors.As(err, &f) {
			f = classify(err)
		}
		c.m.observe(time.Since(t0), f.reason)
		return nil, f
	}
	reason := ""
	if hr.StatusCode >= 400 {
		reason = strconv.Itoa(hr.StatusCode)
	}
	c.m.observe(time.Since(t0), reason)
	return &service.RESTResponse{
		Connection: c.cfg.Name,
		StatusCode: hr.StatusCode,
		Header:     hr.Header,
		Body:       data,
		JSON:       c.cfg.DataFormat == "json" || service.IsJSON(hr.Header.Get("Content-Type")),
	}, nil
}

// readBody reads a response body up to the connection's limit, whether
// the remote end announces a larger Content-Length or streams more. The
// Content-Length of an answer without a body (to HEAD, say) is not
// checked: it only describes the resource.
func (c *Conn) readBody(hr *http.Response) ([]byte, error) {
	if hr.Body == http.NoBody {
		return nil, nil
	}
	limit := c.maxBody
	if hr.ContentLength > limit {
		return nil, c.tooLarge()
	}
	var buf bytes.Buffer
	if hr.ContentLength > 0 {
		buf.Grow(int(hr.ContentLength))
	}
	if _, err := buf.ReadFrom(io.LimitReader(hr.Body, limit+1)); err != nil {
		return nil, err
	}
	if int64(buf.Len()) > limit {
		return nil, c.tooLarge()
	}
	return buf.Bytes(), nil
}

func (c *Conn) tooLarge() *failure {
	return &failure{reason: "too_large", limit: c.maxBody, limitKey: c.maxBodyKey,
		err: fmt.Errorf("the response is larger than %s, %d bytes", c.maxBodyKey, c.maxBody)}
}

// failure is why an attempt got no response.
type failure struct {
	// reason is timeout, refused, dns, tls, connection or too_large; it is
	// also the metrics label.
	reason string
	// limit and limitKey are the size a too_large response exceeded and
	// the setting it comes from.
	limit    int64
	limitKey string
	err      error
}

func (f *failure) Error() string { return f.reason + ": " + fmt.Sprint(f.err) }
func (f *failure) Unwrap() error { return f.err }

// retryable reports whether another attempt may succeed.
func (f *failure) retryable() bool {
	return f.reason != "tls" && f.reason != "too_large"
}

// serviceError is the error the service gets: 504 for a timeout, 502 for
// the rest, naming the connection and never its address or credentials.
func (f *failure) serviceError(name string, attempts int) *service.Error {
	after := ""
	if attempts > 1 {
		after = fmt.Sprintf(" (%d attempts)", attempts)
	}
	if f.reason == "timeout" {
		return &service.Error{Status: http.StatusGatewayTimeout, Message: fmt.Sprintf("Timeout calling outgoing REST connection %q%s", name, after), Cause: f}
	}
	what := map[string]string{
		"refused":    "connection refused",
		"dns":        "host not found",
		"tls":        "TLS handshake failed",
		"connection": "connection failed",
		"too_large":  fmt.Sprintf("the response is larger than %d bytes (%s)", f.limit, f.limitKey),
	}[f.reason]
	return &service.Error{Status: http.StatusBadGateway, Message: fmt.Sprintf("Could not call outgoing REST connection %q: %s%s", name, what, after), Cause: f}
}

// classify names what went wrong with an HTTP exchange.
func classify(err error) *failure {
	f := &failure{reason: "connection", err: err}
	var dnsErr *net.DNSError
	var netErr net.Error
	var unknownCA x509.UnknownAuthorityError
	var hostErr x509.HostnameError
	var invalid x509.CertificateInvalidError
	var verify *tls.CertificateVerificationError
	var alert tls.AlertError
	var record tls.RecordHeaderError
	var op *net.OpError
	switch {
	case errors.Is(err, context.DeadlineExceeded) || errors.As(err, &netErr) && netErr.Timeout():
		f.reason = "timeout"
	case errors.As(err, &dnsErr):
		f.reason = "dns"
	case errors.Is(err, syscall.ECONNREFUSED):
		f.reason = "refused"
	case errors.As(err, &unknownCA) || errors.As(err, &hostErr) || errors.As(err, &invalid) ||
		errors.As(err, &verify) || errors.As(err, &alert) || errors.As(err, &record) ||
		errors.As(err, &op) && op.Op == "remote error": // an alert from the remote end, as crypto/tls reports it
		f.reason = "tls"
	}
	return f
}

// retryAfter reads a Retry-After header: seconds, or an HTTP date.
func retryAfter(v string, now time.Time) (time.Duration, bool) {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0, false
	}
	if n, err := strconv.ParseInt(v, 10, 64); err == nil {
		if n < 0 || n > 1<<31 {
			return 0, false
		}
		return time.Duration(n) * time.Second, true
	}
	t, err := http.ParseTime(v)
	if err != nil {
		return 0, false
	}
	return max(t.Sub(now), 0), true
}
