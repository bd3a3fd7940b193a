package server_test

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/plexushq/plexus/internal/channel/rest"
	"github.com/plexushq/plexus/internal/envdir"
	"github.com/plexushq/plexus/internal/live"
	"github.com/plexushq/plexus/internal/server"
	"github.com/plexushq/plexus/internal/servertest"
	"github.com/plexushq/plexus/internal/testenv"
	"github.com/plexushq/plexus/sdk/service"
)

func TestRestartKeepsConfiguration(t *testing.T) {
	s := servertest.Start(t, servertest.Options{})
	s.Channel("keep.me", "plexus.helpers.echo", "POST", "/keep/{id}", nil)
	s.Channel("drop.me", "plexus.ping", "", "/drop", nil)
	s.AdminCall("DELETE", "/admin/api/v1/objects/channel_rest/drop.me", "")
	rev := s.Runtime.State().Rev
	s = s.Restart()
	if got := s.Runtime.State().Rev; got != rev {
		t.Errorf("revision after restart %d, want %d", got, rev)
	}
	if r := s.Call("POST", "/keep/5", `{"a":"b"}`, nil); r.StatusCode != 200 || string(r.Body) != `{"a":"b","id":"5"}` {
		t.Errorf("after restart: %d %s", r.StatusCode, r.Body)
	}
	if r := s.Call("GET", "/drop", "", nil); r.StatusCode != 404 {
		t.Errorf("deleted channel came back: %d", r.StatusCode)
	}
}

// A channel whose Go service is gone after a restart (the user removed it
// from their program) stays configured and answers 503.
func TestRestartWithoutService(t *testing.T) {
	svc := service.Func("gone.soon", "", func(s *service.Context) error { return nil })
	s := servertest.Start(t, servertest.Options{Services: []any{svc}})
	s.Channel("orphan", "gone.soon", "", "/orphan", nil)
	s.Stop()
	s2 := servertest.Start(t, servertest.Options{Dir: s.Dir})
	if r := s2.Call("GET", "/orphan", "", nil); r.StatusCode != 503 {
		t.Errorf("orphan channel: %d %s", r.StatusCode, r.Body)
	}
	if r := s2.AdminCall("GET", "/admin/api/v1/objects/channel_rest/orphan", ""); r.StatusCode != 200 {
		t.Errorf("orphan channel is no longer listed: %d", r.StatusCode)
	}
}

// Requests in flight when shutdown starts finish; new connections are
// refused.
func TestGracefulShutdown(t *testing.T) {
	started := make(chan struct{})
	release := make(chan struct{})
	s := servertest.Start(t, servertest.Options{Services: []any{
		service.Func("slow", "", func(c *service.Context) error {
			close(started)
			<-release
			c.Response.Payload = "finished"
			return nil
		}),
	}})
	s.Channel("slow", "slow", "", "/slow", nil)
	result := make(chan string, 1)
	go func() {
		resp, err := http.Get(s.API + "/slow")
		if err != nil {
			result <- err.Error()
			return
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		result <- fmt.Sprintf("%d %s", resp.StatusCode, body)
	}()
	<-started
	done := make(chan error, 1)
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		done <- s.Shutdown(ctx)
	}()
	// Wait until the listener is closed, then let the request finish.
	deadline := time.Now().Add(5 * time.Second)
	for {
		conn, err := net.Dial("tcp", s.APIAddr())
		if err != nil {
			break
		}
		conn.Close()
		if time.Now().After(deadline) {
			t.Fatal("listener still open during shutdown")
		}
		time.Sleep(5 * time.Millisecond)
	}
	close(release)
	if got := <-result; got != "200 finished" {
		t.Errorf("in-flight request: %s", got)
	}
	if err := <-done; err != nil {
		t.Errorf("shutdown: %v", err)
	}
	s.Log.WaitFor(t, "server stopped")
}

// Changing channels under load never fails a request: each request sees
// either the old or the new configuration.
func TestLiveChangesUnderLoad(t *testing.T) {
	s := servertest.Start(t, servertest.Options{})
	s.Channel("stable", "plexus.helpers.echo", "", "/stable", nil)
	var (
		stop     atomic.Bool
		requests atomic.Int64
		failures atomic.Int64
		wg       sync.WaitGroup
	)
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 16}}
	var firstFailure atomic.Value
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for !stop.Load() {
				resp, err := client.Post(s.API+"/stable", "application/json", strings.NewReader(`{"k":"v"}`))
				if err != nil {
					failures.Add(1)
					firstFailure.CompareAndSwap(nil, err.Error())
					continue
				}
				body, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				requests.Add(1)
				if resp.StatusCode != 200 || string(body) != `{"k":"v"}` {
					failures.Add(1)
					firstFailure.CompareAndSwap(nil, fmt.Sprintf("%d %s", resp.StatusCode, body))
				}
			}
		}()
	}
	for i := range 100 {
		s.Channel(fmt.Sprintf("churn.%d", i%10), "plexus.ping", "", fmt.Sprintf("/churn/%d", i), nil)
		if i%3 == 0 {
			s.AdminCall("DELETE", fmt.Sprintf("/admin/api/v1/objects/channel_rest/churn.%d", i%10), "")
		}
		// Replace the stable channel itself with an equivalent one.
		s.Channel("stable", "plexus.helpers.echo", "", "/stable", map[string]any{"content_type": fmt.Sprintf("application/json; v=%d", i%2)})
	}
	stop.Store(true)
	wg.Wait()
	if failures.Load() > 0 || requests.Load() < 100 {
		t.Fatalf("%d of %d requests failed during live changes; first: %v", failures.Load(), requests.Load(), firstFailure.Load())
	}
	t.Logf("%d requests, 0 failed, during 100 configuration changes", requests.Load())
}

func TestBadSettings(t *testing.T) {
	dir := t.TempDir() + "/env"
	if _, err := envdir.Create(dir); err != nil {
		t.Fatal(err)
	}
	os.WriteFile(dir+"/plexus.yaml", []byte("listen: :1\nlimts:\n  max_body_size: 1\n"), 0o644)
	_, err := server.Open(context.Background(), server.Options{Dir: dir})
	if err == nil || !strings.Contains(err.Error(), "limts") {
		t.Fatalf("unknown settings key: %v", err)
	}
	if _, err := server.Open(context.Background(), server.Options{Dir: t.TempDir()}); err == nil || !strings.Contains(err.Error(), "plexus quickstart") {
		t.Fatalf("missing environment: %v", err)
	}
}

// BenchmarkColdStart measures opening a server whose store holds 10,000
// channels and serving the first request.
func BenchmarkColdStart(b *testing.B) {
	dir := b.TempDir() + "/env"
	if _, err := envdir.Create(dir); err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	srv, err := server.Open(ctx, server.Options{Dir: dir, LogOutput: io.Discard})
	if err != nil {
		b.Fatal(err)
	}
	if _, err := srv.Runtime.Apply(ctx, channels(10000)); err != nil {
		b.Fatal(err)
	}
	srv.Close()
	for b.Loop() {
		srv, err := server.Open(ctx, server.Options{Dir: dir, Listen: "127.0.0.1:0", AdminListen: "127.0.0.1:0", LogOutput: io.Discard})
		if err != nil {
			b.Fatal(err)
		}
		if err := srv.Start(); err != nil {
			b.Fatal(err)
		}
		resp, err := http.Get("http://" + srv.APIAddr() + "/api/v1/res5000/1")
		if err != nil || resp.StatusCode != 200 {
			b.Fatalf("first request: %v %v", resp, err)
		}
		resp.Body.Close()
		srv.Shutdown(ctx)
	}
}

// The server runs the same on PostgreSQL.
func TestPostgresStore(t *testing.T) {
	dsn := testenv.Postgres(t)
	s := servertest.Start(t, servertest.Options{DB: dsn})
	s.Channel("pg.echo", "plexus.helpers.echo", "", "/pg", nil)
	s = s.Restart()
	if r := s.Call("POST", "/pg", `{"on":"postgres"}`, nil); r.StatusCode != 200 || string(r.Body) != `{"on":"postgres"}` {
		t.Fatalf("after restart on PostgreSQL: %d %s", r.StatusCode, r.Body)
	}
	if s.Store.Dialect() != "postgres" {
		t.Fatalf("dialect %s", s.Store.Dialect())
	}
}

// The API listener serves HTTPS with HTTP/2, and verifies client
// certificates against the configured CA.
func TestTLS(t *testing.T) {
	dir := t.TempDir()
	ca := testenv.NewCA(t)
	cert, key := ca.Issue(t, "localhost", false)
	clientCert, clientKey := ca.Issue(t, "client-1", true)
	testenv.Write(t, dir, "ca.pem", ca.PEM)
	settings := fmt.Sprintf("tls:\n  cert_file: %s\n  key_file: %s\n  client_ca_file: %s\n  client_auth: %%s\n",
		testenv.Write(t, dir, "cert.pem", cert), testenv.Write(t, dir, "key.pem", key), filepath.Join(dir, "ca.pem"))
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(ca.PEM)
	pair, _ := tls.X509KeyPair(clientCert, clientKey)
	client := func(withCert bool) *http.Client {
		tc := &tls.Config{RootCAs: pool}
		if withCert {
			tc.Certificates = []tls.Certificate{pair}
		}
		return &http.Client{Transport: &http.Transport{TLSClientConfig: tc, ForceAttemptHTTP2: true}}
	}

	s := servertest.Start(t, servertest.Options{Settings: fmt.Sprintf(settings, "request")})
	s.Channel("ping", "plexus.ping", "", "/ping", nil)
	if !strings.HasPrefix(s.API, "https://") {
		t.Fatalf("API URL %s", s.API)
	}
	for _, withCert := range []bool{false, true} {
		resp, err := client(withCert).Get(s.API + "/ping")
		if err != nil {
			t.Fatalf("cert %v: %v", withCert, err)
		}
		resp.Body.Close()
		if resp.StatusCode != 200 || resp.Proto != "HTTP/2.0" {
			t.Errorf("cert %v: %d %s", withCert, resp.StatusCode, resp.Proto)
		}
	}
	s.Stop()

	s = servertest.Start(t, servertest.Options{Settings: fmt.Sprintf(settings, "require")})
	s.Channel("ping", "plexus.ping", "", "/ping", nil)
	if _, err := client(false).Get(s.API + "/ping"); err == nil {
		t.Error("require: a client without a certificate got in")
	}
	resp, err := client(true).Get(s.API + "/ping")
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("require with a certificate: %v %v", resp, err)
	}
	resp.Body.Close()
}

func TestBadTLSSettings(t *testing.T) {
	dir := t.TempDir() + "/env"
	envdir.Create(dir)
	os.WriteFile(dir+"/plexus.yaml", []byte("tls:\n  cert_file: missing.pem\n  key_file: missing.key\n"), 0o644)
	if _, err := server.Open(context.Background(), server.Options{Dir: dir}); err == nil || !strings.Contains(err.Error(), "tls.cert_file") {
		t.Fatalf("missing certificate: %v", err)
	}
}

// BenchmarkChangeOne10k measures one channel change through the admin API
// with 10,000 channels configured: the cost of the one change path at
// scale.
func BenchmarkChangeOne10k(b *testing.B) {
	s := servertest.Start(b, servertest.Options{})
	if _, err := s.Runtime.Apply(context.Background(), channels(10000)); err != nil {
		b.Fatal(err)
	}
	i := 0
	for b.Loop() {
		i++
		s.Channel(fmt.Sprintf("new%d", i), "plexus.ping", "", fmt.Sprintf("/new/%d", i), nil)
	}
}

// channels returns a change creating n REST channels, each on its own
// path with a parameter.
func channels(n int) live.Changeset {
	cs := live.Changeset{Source: "bench"}
	for i := range n {
		name := fmt.Sprintf("ch%05d", i)
		cs.Objects = append(cs.Objects, live.Change{Kind: rest.Kind, Name: name, Object: &rest.Channel{
			Name: name, IsActive: true, Service: "plexus.ping", URLPath: fmt.Sprintf("/api/v1/res%d/{id}", i),
			DataFormat: "json", MergeURLParamsReq: true, URLParamsPri: "qs-over-path"}})
	}
	return cs
}

// runServer runs a server of a new environment with the given settings
// on listeners bound by the test. Run's result arrives on done; stop ends
// the server and waits for it.
func runServer(t *testing.T, settings, admin string) (lns *server.Listeners, log *testenv.Buffer, done chan error, stop func()) {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "env")
	if _, err := envdir.Create(dir); err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(dir, envdir.SettingsFile), []byte(settings), 0o644)
	lns, err := server.Listen("127.0.0.1:0", admin)
	if err != nil {
		t.Fatal(err)
	}
	log = &testenv.Buffer{}
	srv, err := server.Open(context.Background(), server.Options{Dir: dir, Listeners: lns, LogOutput: log})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	started := make(chan struct{})
	done = make(chan error, 1)
	exited := make(chan struct{})
	go func() {
		done <- srv.Run(ctx, func() { close(started) })
		close(exited)
	}()
	select {
	case <-started:
	case err := <-done:
		t.Fatalf("run: %v", err)
	}
	stop = func() {
		cancel()
		<-exited
	}
	t.Cleanup(stop)
	return lns, log, done, stop
}

// A listener that stops serving stops the server, which says why.
func TestListenerFailureStopsServer(t *testing.T) {
	for _, which := range []string{"API", "admin"} {
		lns, log, done, _ := runServer(t, "", "127.0.0.1:0")
		ln := lns.API
		if which == "admin" {
			ln = lns.Admin
		}
		addr := ln.Addr().String()
		ln.Close()
		select {
		case err := <-done:
			want := "the " + which + " listener on " + addr + " stopped"
			if err == nil || !strings.Contains(err.Error(), want) {
				t.Errorf("Run returned %v, want %q", err, want)
			}
		case <-time.After(10 * time.Second):
			t.Fatalf("the server kept running without its %s listener", which)
		}
		if s := log.String(); !strings.Contains(s, "stopping the server") || !strings.Contains(s, "server stopped") {
			t.Errorf("log:\n%s", s)
		}
	}
}

// Starting with an admin listener other machines can reach, or in
// development mode, warns.
func TestExposureWarnings(t *testing.T) {
	const adminWarning, devWarning = "the admin listener is reachable from other machines", "development mode is on"
	for _, c := range []struct {
		settings, admin string
		want            []string
	}{
		{"", "127.0.0.1:0", nil},
		{"development: true\n", "0.0.0.0:0", []string{adminWarning, devWarning}},
	} {
		_, log, _, stop := runServer(t, c.settings, c.admin)
		stop() // the log is complete
		warnings := strings.Count(log.String(), "level=WARN")
		for _, w := range c.want {
			if !strings.Contains(log.String(), `level=WARN msg="`+w) {
				t.Errorf("admin on %s: no warning %q", c.admin, w)
			}
		}
		if warnings != len(c.want) {
			t.Errorf("admin on %s, settings %q: %d warnings, want %d:\n%s", c.admin, c.settings, warnings, len(c.want), log)
		}
	}
}
