package cli

import (
	"net"
	"net/url"
	"strings"
	"testing"

	"github.com/plexushq/plexus/internal/admin"
	"github.com/plexushq/plexus/internal/servertest"
	"github.com/plexushq/plexus/internal/testenv"
)

// plexus ping outgoing_redis sends PING through the connection's pool.
func TestPingRedis(t *testing.T) {
	u, err := url.Parse(testenv.Value(t, "PLEXUS_TEST_REDIS", "a Redis URL such as redis://127.0.0.1:6379/0"))
	if err != nil {
		t.Fatal(err)
	}
	port := u.Port()
	if port == "" {
		port = "6379"
	}
	l, _ := net.Listen("tcp", "127.0.0.1:0")
	closed := l.Addr().(*net.TCPAddr).Port
	l.Close()
	s := servertest.Start(t, servertest.Options{})
	for name, body := range map[string]string{
		"up":   `{"host": "` + u.Hostname() + `", "port": ` + port + `}`,
		"down": `{"host": "127.0.0.1", "port": ` + strings.TrimSpace(itoa(closed)) + `, "timeout": "500ms"}`,
	} {
		if r := s.AdminCall("PUT", admin.Prefix+"/objects/outgoing_redis/"+name, body); r.StatusCode != 201 {
			t.Fatalf("%d %s", r.StatusCode, r.Body)
		}
	}
	stdout, stderr, code := runCLI(t, nil, "ping", "outgoing_redis", "up", s.Dir)
	if code != 0 || !strings.HasPrefix(stdout, `outgoing_redis "up": `) || !strings.Contains(stdout, "(redis "+u.Hostname()+":"+port) {
		t.Errorf("ping up: %d %q %q", code, stdout, stderr)
	}
	stdout, stderr, code = runCLI(t, nil, "ping", "outgoing_redis", "down", s.Dir)
	if code != 1 || !strings.Contains(stdout+stderr, "connection refused") {
		t.Errorf("ping down: %d %q %q", code, stdout, stderr)
	}
}

func itoa(n int) string {
	var b [20]byte
	i := len(b)
	for {
		i--
		b[i] = byte('0' + n%10)
		n /= 10
		if n == 0 {
			return string(b[i:])
		}
	}
}
