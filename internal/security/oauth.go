package security

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/plexushq/plexus/sdk/service"
)

// How OAuth2 tokens are kept: until tokenMargin before they expire (or a
// tenth of their life, whichever is shorter), and for defaultTokenLife
// when the token server does not say.
const (
	tokenMargin      = 30 * time.Second
	defaultTokenLife = 5 * time.Minute
	tokenTimeout     = 20 * time.Second
	maxTokenAnswer   = 1 << 20
)

// tokenSource gets OAuth2 access tokens with the client credentials grant
// and keeps the current one until shortly before it expires. One request
// to the token server is in flight at a time; callers arriving meanwhile
// wait for its token. It is safe for concurrent use.
type tokenSource struct {
	def    *Definition
	client *http.Client
	now    func() time.Time

	mu       sync.Mutex
	token    string
	expires  time.Time
	inflight chan struct{}
	lastErr  error
}

func newTokenSource(d *Definition) *tokenSource {
	return &tokenSource{def: d, client: &http.Client{Timeout: tokenTimeout}, now: time.Now}
}

// Authorize sets the definition's credentials on an outgoing request's
// headers: the static ones, or an OAuth2 token, fetched when there is no
// valid one. A token that cannot be fetched fails the call with 502; a
// definition without its password fails it with 503.
func (c *Credentials) Authorize(ctx context.Context, h http.Header) error {
	if c.def.lacksPassword() {
		return service.ServiceUnavailable("Security definition %q has no password yet: set one with plexus security change-password %q", c.name, c.name)
	}
	if c.tokens == nil {
		c.Apply(h)
		return nil
	}
	token, err := c.tokens.get(ctx)
	if err != nil {
		e := service.NewError(http.StatusBadGateway, "Could not get an OAuth2 token for security definition %q", c.name)
		e.Cause = err
		return e
	}
	h[c.header] = []string{c.def.tokenValue(token)}
	return nil
}

// Refused tells the credentials that the remote end refused a call made
// with them (401): a cached OAuth2 token is dropped, so the next call gets
// a new one.
func (c *Credentials) Refused(h http.Header) {
	if c.tokens == nil {
		return
	}
	c.tokens.drop(h.Get(c.header))
}

func (ts *tokenSource) get(ctx context.Context) (string, error) {
	for {
		ts.mu.Lock()
		if ts.token != "" && ts.now().Before(ts.expires) {
			t := ts.token
			ts.mu.Unlock()
			return t, nil
		}
		if wait := ts.inflight; wait != nil {
			ts.mu.Unlock()
			select {
			case <-wait:
			case <-ctx.Done():
				return "", ctx.Err()
			}
			ts.mu.Lock()
			t, ok, err := ts.token, ts.token != "" && ts.now().Before(ts.expires), ts.lastErr
			ts.mu.Unlock()
			if ok {
				return t, nil
			}
			if err != nil {
				return "", err
			}
			continue
		}
		wait := make(chan struct{})
		ts.inflight = wait
		ts.mu.Unlock()
		// Callers waiting for this fetch must not fail because the one
		// that started it went away; the client's timeout bounds it.
		token, life, err := ts.fetch(context.WithoutCancel(ctx))
		ts.mu.Lock()
		ts.inflight, ts.lastErr = nil, err
		if err == nil {
			ts.token = token
			ts.expires = ts.now().Add(life - min(tokenMargin, life/10))
		}
		close(wait)
		ts.mu.Unlock()
		return token, err
	}
}

// drop forgets the cached token if it is the one a refused call carried.
func (ts *tokenSource) drop(sent string) {
	ts.mu.Lock()
	defer ts.mu.Unlock()
	if ts.token != "" && strings.HasSuffix(sent, ts.token) {
		ts.token = ""
	}
}

// fetch asks the token server for a token with the client credentials
// grant, and returns it with its lifetime.
func (ts *tokenSource) fetch(ctx context.Context) (string, time.Duration, error) {
	d := ts.def
	fields := map[string]string{
		"grant_type":                                field(d.GrantType, "client_credentials"),
		field(d.ClientIDField, "client_id"):         d.Username,
		field(d.ClientSecretField, "client_secret"): d.Password,
	}
	if len(d.Scopes) > 0 {
		fields["scope"] = strings.Join(d.Scopes, " ")
	}
	for _, f := range d.ExtraFields {
		k, v, _ := strings.Cut(f, "=")
		fields[k] = v
	}
	var body []byte
	ctype := "application/x-www-form-urlencoded"
	if d.DataFormat == "json" {
		body, _ = json.Marshal(fields)
		ctype = "application/json"
	} else {
		form := url.Values{}
		for k, v := range fields {
			form.Set(k, v)
		}
		body = []byte(form.Encode())
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, d.AuthServerURL, bytes.NewReader(body))
	if err != nil {
		return "", 0, fmt.Errorf("requesting an OAuth2 token: %w", err)
	}
	req.Header.Set("Content-Type", ctype)
	req.Header.Set("Accept", "application/json")
	resp, err := ts.client.Do(req)
	if err != nil {
		return "", 0, fmt.Errorf("requesting an OAuth2 token: %w", err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, maxTokenAnswer))
	if err != nil {
		return "", 0, fmt.Errorf("reading the OAuth2 token answer: %w", err)
	}
	if resp.StatusCode != http.StatusOK {
		// The body may echo what was sent; only the status is reported.
		return "", 0, fmt.Errorf("requesting an OAuth2 token: the token server answered %d", resp.StatusCode)
	}
	var answer struct {
		AccessToken string          `json:"access_token"`
		ExpiresIn   json.RawMessage `json:"expires_in"`
	}
	if err := json.Unmarshal(data, &answer); err != nil || answer.AccessToken == "" {
		return "", 0, fmt.Errorf("reading the OAuth2 token answer: no access_token in it")
	}
	if strings.ContainsAny(answer.AccessToken, "\r\n\x00") {
		return "", 0, fmt.Errorf("reading the OAuth2 token answer: the access_token has line breaks")
	}
	life := defaultTokenLife
	var secs float64
	if err := json.Unmarshal(bytes.Trim(answer.ExpiresIn, `"`), &secs); err == nil && secs > 0 {
		life = time.Duration(secs * float64(time.Second))
	}
	return answer.AccessToken, life, nil
}
