package rest

import (
	"errors"
	"io"
	"net/http"
	"net/textproto"

	"github.com/plexushq/plexus/internal/dispatch"
	"github.com/plexushq/plexus/internal/reply"
	"github.com/plexushq/plexus/internal/security"
	"github.com/plexushq/plexus/sdk/service"
)

// Transport is the HTTP side of an exchange: it reads the request's body
// and writes the reply. The REST channel and the admin API's invoke use
// it.
type Transport struct {
	W http.ResponseWriter
	R *http.Request
}

// Open begins an exchange for the HTTP request, on tr (t, or what embeds
// it): its CID, sent at once in X-Plexus-CID, and the neutral request's
// kind, verb, path, headers and peer. The reply's headers are the
// response's.
func (t *Transport) Open(x *dispatch.Exchange, kind string, tr dispatch.Transport) {
	x.Begin(t.R.Context(), tr)
	h := t.W.Header()
	h[reply.CIDHeader] = []string{x.CID}
	x.Kind, x.Verb, x.Path, x.Query, x.RemoteAddr = kind, t.R.Method, t.R.URL.Path, t.R.URL.RawQuery, t.R.RemoteAddr
	x.Headers, x.Reply.Headers = textproto.MIMEHeader(t.R.Header), textproto.MIMEHeader(h)
}

// Presented returns what the request presents to prove who sent it: its
// Authorization header and its TLS client certificate.
func (t *Transport) Presented() security.Presented {
	p := security.ParseAuthorization(t.R.Header.Get("Authorization"))
	if st := t.R.TLS; st != nil {
		// VerifiedChains is empty for a certificate the listener was not
		// asked to verify.
		p.Certificates, p.Verified = st.PeerCertificates, len(st.VerifiedChains) > 0
	}
	return p
}

// Payload reads the whole body, refusing one larger than limit: at once
// when Content-Length says so, else once the limit is read.
func (t *Transport) Payload(limit int64) ([]byte, error) {
	r := t.R
	if r.ContentLength > limit {
		return nil, dispatch.TooLarge(limit)
	}
	if r.ContentLength == 0 || r.Body == nil || r.Body == http.NoBody {
		return nil, nil
	}
	body := http.MaxBytesReader(t.W, r.Body, limit)
	var buf []byte
	var err error
	if r.ContentLength > 0 {
		buf = make([]byte, r.ContentLength)
		_, err = io.ReadFull(body, buf)
	} else {
		buf, err = io.ReadAll(body)
	}
	var mbe *http.MaxBytesError
	if errors.As(err, &mbe) {
		return nil, dispatch.TooLarge(limit)
	}
	if err != nil {
		return nil, service.BadRequest("Could not read the request body")
	}
	return buf, nil
}

// Fill adds nothing: the admin API's invoke has no HTTP details for
// services (the REST channel's exchange adds them).
func (t *Transport) Fill(*dispatch.Exchange, *service.Request) error { return nil }

// Send writes the reply, compressing a gzip one for clients that take
// it.
func (t *Transport) Send(rep *dispatch.Reply) (int, error) {
	return reply.Write(t.W, rep.Status, rep.Body, rep.ContentType, rep.ContentEncoding, t.R.Header.Get("Accept-Encoding"))
}
