// Package servertest starts real Plexus servers for Plexus's own tests: it
// is package plexustest, which users test their services with, plus the
// server's parts (runtime, store, invoker…) that tests of those parts
// reach into.
package servertest

import (
	"net/http"
	"testing"

	"github.com/plexushq/plexus/internal/server"
	"github.com/plexushq/plexus/internal/testhook"
	"github.com/plexushq/plexus/plexustest"
)

// Password is the admin password of test servers.
const Password = plexustest.AdminPassword

// Options, Response and Log are plexustest's.
type (
	Options  = plexustest.Options
	Response = plexustest.Response
	Log      = plexustest.Log
	// Harness is the public face of a test server, which scenarios run
	// against: plexustest.Scenario.Run(t, s.Harness).
	Harness = plexustest.Server
)

// Server is a running test server.
type Server struct {
	*server.Server
	*Harness
	// API and Admin are the base URLs of the two listeners (Harness's URL
	// and AdminURL).
	API, Admin string
}

// Start starts a server and stops it when the test ends.
func Start(t testing.TB, opts Options) *Server {
	t.Helper()
	return wrap(plexustest.Start(t, opts))
}

func wrap(h *Harness) *Server {
	return &Server{Server: testhook.Server(h), Harness: h, API: h.URL, Admin: h.AdminURL}
}

// Restart stops the server and starts a new one on the same environment.
func (s *Server) Restart() *Server {
	return wrap(s.Harness.Restart())
}

// Do sends a request and reads the response.
func Do(t testing.TB, method, url, body string, header http.Header) *Response {
	t.Helper()
	return plexustest.Do(t, method, url, body, header)
}
