package broker

import (
	"context"
	"net/http"
	"sync"
	"time"

	"github.com/plexushq/plexus/sdk/service"
)

// Session holds the session (a connection, a client) that an outgoing
// connection's Run keeps to its broker, for its sends: Run calls Up once
// connected and Down once the session is lost; a send calls Wait. It is
// safe for concurrent use.
type Session[S comparable] struct {
	unreachable string       // what a send that waited in vain is told
	alive       func(S) bool // whether a session set is still open; nil: it is

	mu      sync.Mutex
	cur     S
	ready   chan struct{} // closed when cur is set
	lastErr error
}

// NewSession returns a holder with no session. unreachable is the
// message of the 504 a send gets when none comes in time (followed by
// the last error Run met); alive, if not nil, tells a session the broker
// closed before Run noticed, which sends then do not use.
func NewSession[S comparable](unreachable string, alive func(S) bool) *Session[S] {
	return &Session[S]{unreachable: unreachable, alive: alive, ready: make(chan struct{})}
}

// Up makes s the current session and wakes the sends waiting for one.
func (h *Session[S]) Up(s S) {
	h.mu.Lock()
	h.cur, h.lastErr = s, nil
	select {
	case <-h.ready: // already up: a new session replaces the old one
	default:
		close(h.ready)
	}
	h.mu.Unlock()
}

// Down forgets the current session, lost because of err (nil: stopped):
// sends wait for the next one.
func (h *Session[S]) Down(err error) {
	var zero S
	h.mu.Lock()
	h.cur, h.ready, h.lastErr = zero, make(chan struct{}), err
	h.mu.Unlock()
}

// Failed records why no session could be made, for the sends waiting.
func (h *Session[S]) Failed(err error) {
	h.mu.Lock()
	h.lastErr = err
	h.mu.Unlock()
}

// Current returns the current session, the zero S if there is none.
func (h *Session[S]) Current() S {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.cur
}

// Take returns the current session and forgets it, for closing it.
func (h *Session[S]) Take() S {
	var zero S
	h.mu.Lock()
	defer h.mu.Unlock()
	s := h.cur
	h.cur = zero
	return s
}

// Wait returns the current session, waiting for one until ctx ends; then
// it fails with 504.
func (h *Session[S]) Wait(ctx context.Context) (S, error) {
	var zero S
	for {
		h.mu.Lock()
		s, ready, last := h.cur, h.ready, h.lastErr
		h.mu.Unlock()
		if s != zero && (h.alive == nil || h.alive(s)) {
			return s, nil
		}
		if s != zero {
			ready = nil // closed, and Run not told yet: wait a moment
		}
		select {
		case <-ready:
		case <-time.After(50 * time.Millisecond):
		case <-ctx.Done():
			msg := h.unreachable
			if last != nil {
				msg += ": " + last.Error()
			}
			return zero, service.NewError(http.StatusGatewayTimeout, "%s", msg)
		}
	}
}
