package benchutil

import (
	"context"
	"net"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"testing"
	"time"
)

func TestFreeAddrCanBeListenedOn(t *testing.T) {
	addr, err := FreeAddr()
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		t.Fatalf("listening on %s: %v", addr, err)
	}
	ln.Close()
}

func TestRandomHex(t *testing.T) {
	a, b := RandomHex(6), RandomHex(6)
	if len(a) != 12 || a == b {
		t.Fatalf("RandomHex(6) = %q, %q: want 12 hex digits, different each time", a, b)
	}
}

func TestWaitOK(t *testing.T) {
	ok := httptest.NewServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
	defer ok.Close()
	if err := WaitOK(ok.URL, time.Minute); err != nil {
		t.Fatal(err)
	}
	failing := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(503) }))
	defer failing.Close()
	if err := WaitOK(failing.URL, 200*time.Millisecond); err == nil {
		t.Fatal("a server answering 503 was taken as ready")
	}
}

func TestBuildReportsTheCompilerOutput(t *testing.T) {
	err := Build(context.Background(), "", filepath.Join(t.TempDir(), "x"), "./no-such-package")
	if err == nil {
		t.Fatal("building a missing package succeeded")
	}
}
