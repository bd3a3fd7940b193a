package rest_test

import (
	"encoding/json"
	"fmt"
	"net"
	"net/url"
	"strings"
	"testing"

	"github.com/plexushq/plexus/internal/admin"
	"github.com/plexushq/plexus/internal/servertest"
	"github.com/plexushq/plexus/sdk/service"
)

// A client that closes its side of the connection while its service runs
// cancels the service; that is logged as a client disconnect with the cid
// and status 499 in the access log, not as a failure of the service.
func TestClientDisconnect(t *testing.T) {
	// The Starlark service loops until it is cancelled.
	s := servertest.Start(t, servertest.Options{Settings: "starlark:\n  max_steps: 100000000000\n", Services: []any{
		service.Func("test.waits", "", func(c *service.Context) error {
			c.Logger().Info("waiting")
			<-c.Done()
			return c.Err()
		}),
	}})
	src := "def handle(self):\n    print('looping')\n    for i in range(100000000000):\n        pass\n"
	body, _ := json.Marshal(admin.DeployRequest{Files: []admin.SourceFile{{File: "loops.star", Source: src}}})
	if r := s.AdminCall("POST", admin.Prefix+"/deploy", string(body)); r.StatusCode != 200 {
		t.Fatalf("deploying: %d %s", r.StatusCode, r.Body)
	}
	s.Channel("waits", "test.waits", "", "/api/waits", nil)
	s.Channel("loops", "loops", "", "/api/loops", nil)
	for _, c := range []struct{ path, service, running string }{
		{"/api/waits", "test.waits", "waiting"},
		{"/api/loops", "loops", "looping"},
	} {
		u, _ := url.Parse(s.API)
		conn, err := net.Dial("tcp", u.Host)
		if err != nil {
			t.Fatal(err)
		}
		fmt.Fprintf(conn, "POST %s HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\n{}", c.path)
		running := s.Log.WaitFor(t, "service="+c.service, c.running)
		cid := running[strings.Index(running, "cid=")+4:]
		cid = cid[:strings.IndexByte(cid, ' ')]
		conn.(*net.TCPConn).CloseWrite()
		line := s.Log.WaitFor(t, "client disconnected before the response", "cid="+cid)
		if !strings.Contains(line, "level=INFO") || !strings.Contains(line, "status=499") {
			t.Errorf("disconnect line: %s", line)
		}
		access := s.Log.WaitFor(t, "msg=request", "cid="+cid)
		if !strings.Contains(access, "status=499") {
			t.Errorf("access log line: %s", access)
		}
		if errs := s.Log.Lines("level=ERROR"); len(errs) > 0 {
			t.Errorf("a client disconnect logged errors: %q", errs)
		}
		conn.Close()
	}
}
