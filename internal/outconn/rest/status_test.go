package rest_test

import (
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/plexushq/plexus/internal/admin"
	"github.com/plexushq/plexus/internal/servertest"
)

// status returns the status the admin API shows for a connection.
func status(t *testing.T, s *servertest.Server, name string) map[string]any {
	t.Helper()
	r := s.AdminCall("GET", admin.Prefix+"/objects/outgoing_rest/"+name, "")
	if r.StatusCode != http.StatusOK {
		t.Fatalf("GET: %d %s", r.StatusCode, r.Body)
	}
	st, _ := r.JSON(t)["status"].(map[string]any)
	return st
}

// notRunning returns the states of the objects GET /status lists, by
// name.
func notRunning(t *testing.T, s *servertest.Server) map[string]string {
	t.Helper()
	r := s.AdminCall("GET", admin.Prefix+"/status", "")
	if r.StatusCode != http.StatusOK {
		t.Fatalf("GET /status: %d %s", r.StatusCode, r.Body)
	}
	out := map[string]string{}
	list, _ := r.JSON(t)["not_running"].([]any)
	for _, o := range list {
		m, _ := o.(map[string]any)
		name, _ := m["name"].(string)
		out[name], _ = m["state"].(string)
	}
	return out
}

// waitState waits until a connection's status is in a state.
func waitState(t *testing.T, s *servertest.Server, name, state string) map[string]any {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		st := status(t, s, name)
		if st["state"] == state {
			return st
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: status %v, want %s", name, st, state)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// A connection whose remote API is down is configured all the same, shows
// degraded with the error, can be changed while down, and runs once it is
// pointed at a live API.
func TestStatusOfUnreachableConnection(t *testing.T) {
	s := start(t)
	down := "http://" + closedAddr(t)
	putConn(t, s, "Down", map[string]any{"host": down, "url_path": "/x"})
	st := waitState(t, s, "Down", "degraded")
	if msg, _ := st["error"].(string); !strings.Contains(msg, "refused") {
		t.Fatalf("degraded without the error: %v", st)
	}
	if since, _ := st["since"].(string); since == "" {
		t.Fatalf("no since: %v", st)
	}
	// The summary lists it.
	if got := notRunning(t, s); got["Down"] != "degraded" {
		t.Fatalf("GET /status lists %v", got)
	}
	// Changed while down: accepted, still degraded.
	putConn(t, s, "Down", map[string]any{"host": down, "url_path": "/y", "timeout": "3s"})
	waitState(t, s, "Down", "degraded")
	// Written back as read (with its status), the object is accepted.
	r := s.AdminCall("GET", admin.Prefix+"/objects/outgoing_rest/Down", "")
	if w := s.AdminCall("PUT", admin.Prefix+"/objects/outgoing_rest/Down", string(r.Body)); w.StatusCode != http.StatusOK {
		t.Fatalf("PUT of the object as read: %d %s", w.StatusCode, w.Body)
	}
	// Pointed at a live API, it runs.
	b := newBackend(t)
	putConn(t, s, "Down", map[string]any{"host": b.URL, "url_path": "/y"})
	waitState(t, s, "Down", "running")
	if got := notRunning(t, s); got["Down"] != "" {
		t.Fatalf("a running connection is listed as not running: %v", got)
	}
	// An inactive connection is stopped.
	putConn(t, s, "Down", map[string]any{"host": b.URL, "url_path": "/y", "is_active": false})
	waitState(t, s, "Down", "stopped")
}

// A connection that was running becomes degraded when its calls cannot
// connect, and running again when the remote API is back.
func TestStatusFollowsCalls(t *testing.T) {
	s := start(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.Write([]byte(`{}`)) })}
	go srv.Serve(ln)
	putConn(t, s, "Flaky", map[string]any{"host": "http://" + addr, "url_path": "/x"})
	waitState(t, s, "Flaky", "running")
	srv.Close()
	s.Call("POST", "/call", `{"conn": "Flaky", "method": "GET"}`, nil)
	waitState(t, s, "Flaky", "degraded")
	ln, err = net.Listen("tcp", addr)
	if err != nil {
		t.Skipf("the port was taken in the meantime: %v", err)
	}
	srv = &http.Server{Handler: srv.Handler}
	go srv.Serve(ln)
	defer srv.Close()
	waitState(t, s, "Flaky", "running")
}

// A dry run never opens a network connection: only a committed change
// runs the connection.
func TestDryRunOpensNoConnection(t *testing.T) {
	s := start(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	accepted := make(chan struct{}, 1)
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			c.Close()
			accepted <- struct{}{}
		}
	}()
	body := `{"host": "http://` + ln.Addr().String() + `", "url_path": "/x"}`
	r := s.AdminCall("PUT", admin.Prefix+"/objects/outgoing_rest/Dry?dry_run=true", body)
	if r.StatusCode != http.StatusCreated && r.StatusCode != http.StatusOK {
		t.Fatalf("dry run: %d %s", r.StatusCode, r.Body)
	}
	select {
	case <-accepted:
		t.Fatal("a dry run connected to the remote address")
	case <-time.After(300 * time.Millisecond):
	}
	// The same change applied does connect: the listener above can see
	// connections at all.
	if r := s.AdminCall("PUT", admin.Prefix+"/objects/outgoing_rest/Dry", body); r.StatusCode != http.StatusCreated {
		t.Fatalf("apply: %d %s", r.StatusCode, r.Body)
	}
	select {
	case <-accepted:
	case <-time.After(10 * time.Second):
		t.Fatal("the applied connection never probed its remote address")
	}
}
