package cli

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/plexushq/plexus/internal/servertest"
)

// plexus ping pings an outgoing SQL connection: a SQLite file answers,
// a PostgreSQL server that is not there does not.
func TestPingSQL(t *testing.T) {
	s := servertest.Start(t, servertest.Options{})
	s.Put("outgoing_sql", "Local", map[string]any{"engine": "sqlite", "db_name": filepath.Join(t.TempDir(), "local.db")})
	s.Put("outgoing_sql", "CRM", map[string]any{"engine": "postgresql", "host": "127.0.0.1", "port": 1, "db_name": "crm"})

	stdout, stderr, code := runCLI(t, nil, "ping", "outgoing_sql", "Local", s.Dir)
	if code != 0 || !strings.HasPrefix(stdout, `outgoing_sql "Local": ok in `) || !strings.Contains(stdout, "(sqlite ") {
		t.Errorf("ping: %d %q %q", code, stdout, stderr)
	}
	stdout, stderr, code = runCLI(t, nil, "ping", "outgoing_sql", "CRM", s.Dir)
	if code != 1 || !strings.Contains(stdout+stderr, "connection refused") || !strings.Contains(stdout, "(postgresql 127.0.0.1:1/crm)") {
		t.Errorf("ping a server that is not there: %d %q %q", code, stdout, stderr)
	}
}
