package enmasse_test

import (
	"bytes"
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"testing"

	"github.com/plexushq/plexus/internal/builtin"
	"github.com/plexushq/plexus/internal/catalog"
	_ "github.com/plexushq/plexus/internal/channel/rest" // registers channel_rest
	"github.com/plexushq/plexus/internal/config"
	"github.com/plexushq/plexus/internal/live"
	"github.com/plexushq/plexus/internal/metrics"
	"github.com/plexushq/plexus/internal/secret"
	"github.com/plexushq/plexus/internal/store"
	"github.com/plexushq/plexus/internal/testenv"
)

// newRuntime returns a runtime on a new store, with the built-in services
// and extra, in an environment directory holding the TLS files the
// fixtures name.
func newRuntime(t testing.TB, extra ...*catalog.Service) *live.Runtime {
	t.Helper()
	dir := t.TempDir()
	ca := testenv.NewCA(t)
	cert, key := ca.Issue(t, "plexus-client", true)
	os.MkdirAll(filepath.Join(dir, "tls"), 0o700)
	testenv.Write(t, dir, "tls/ca.pem", ca.PEM)
	testenv.Write(t, dir, "tls/client.pem", cert)
	testenv.Write(t, dir, "tls/client.key", key)
	st, err := store.Open(context.Background(), "", t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	var svcs []*catalog.Service
	for _, v := range builtin.Services() {
		s, err := catalog.FromGo(v)
		if err != nil {
			t.Fatal(err)
		}
		svcs = append(svcs, s)
	}
	svcs = append(svcs, extra...)
	box, _ := secret.New(bytes.Repeat([]byte{3}, 32))
	rt, err := live.New(live.Options{Dir: dir, Store: st, Logger: slog.New(slog.DiscardHandler), Settings: config.Default(), Metrics: metrics.New(), Builtins: svcs, Secrets: box})
	if err != nil {
		t.Fatal(err)
	}
	return rt
}
