package rest

import (
	"context"
	"errors"
	"net"
	"net/http"
	"net/url"
	"time"

	"github.com/plexushq/plexus/internal/registry"
)

// Probing of a connection's remote address while it is degraded.
const (
	probeTimeout    = 5 * time.Second
	minProbeBackoff = time.Second
	maxProbeBackoff = 30 * time.Second
)

// Run reports whether the remote API can be reached: it opens (and
// closes) a TCP connection to the remote address, or to the proxy the
// environment names for it, then follows the outcome of the calls made:
// a call that cannot connect makes the connection degraded, with its
// error, and the address is probed with a back-off until it answers again
// or a call succeeds. An inactive connection is stopped. Run never blocks
// a change: a connection whose remote API is down is configured all the
// same, and calls to it fail with 502 or 504 as they would anyway.
func (c *Conn) Run(ctx context.Context, st *registry.Status) error {
	if !c.cfg.IsActive {
		return nil
	}
	backoff := minProbeBackoff
	setHealthy := func(ok bool, err error) {
		c.degraded.Store(!ok)
		if ok {
			backoff = minProbeBackoff
			st.Running()
		} else {
			st.Degraded(err)
		}
	}
	c.degraded.Store(true) // until the first probe answers
	for {
		if c.degraded.Load() {
			err := c.probe(ctx)
			setHealthy(err == nil, err)
		}
		var wait <-chan time.Time
		var t *time.Timer
		if c.degraded.Load() {
			t = time.NewTimer(backoff)
			wait = t.C
			backoff = min(backoff*2, maxProbeBackoff)
		}
		select {
		case <-ctx.Done():
			stopTimer(t)
			return nil
		case <-wait:
		case err := <-c.health:
			stopTimer(t)
			if err == nil && !c.degraded.Load() {
				continue
			}
			setHealthy(err == nil, err)
		}
	}
}

func stopTimer(t *time.Timer) {
	if t != nil {
		t.Stop()
	}
}

// report passes a call's outcome to Run without ever blocking the call:
// nil for a call that reached the remote API (only while degraded, so a
// healthy connection's calls cost nothing here), or the failure of one
// that could not connect.
func (c *Conn) report(f *failure) {
	var err error
	if f == nil && !c.degraded.Load() {
		return
	}
	if f != nil {
		switch f.reason {
		case "refused", "dns", "tls", "connection":
			err = errors.New("calls fail: " + f.Error())
		default:
			return
		}
	}
	select {
	case c.health <- err:
	default:
	}
}

// probe opens and closes one TCP connection to the remote address (or the
// proxy in front of it).
func (c *Conn) probe(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, probeTimeout)
	defer cancel()
	addr := c.probeAddr
	if c.transport.Proxy != nil {
		if u, err := c.transport.Proxy(&http.Request{URL: c.baseURL}); err == nil && u != nil {
			addr = hostPort(u)
		}
	}
	var d net.Dialer
	conn, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return classify(err)
	}
	return conn.Close()
}

// hostPort returns the host:port a URL's scheme connects to.
func hostPort(u *url.URL) string {
	port := u.Port()
	if port == "" {
		port = "80"
		if u.Scheme == "https" {
			port = "443"
		}
	}
	return net.JoinHostPort(u.Hostname(), port)
}
