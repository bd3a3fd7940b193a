package rest_test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"io"
	"log"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/plexushq/plexus/internal/admin"
)

// pki is a certificate authority with a server and a client certificate,
// generated for one test and written as PEM files.
type pki struct {
	dir                  string
	caFile               string
	clientCert, clientKy string
	otherKey             string // a key that is not the client certificate's
	combined             string // client certificate and key in one file
	serverTLS            *tls.Config
}

func newPKI(t *testing.T) *pki {
	t.Helper()
	p := &pki{dir: t.TempDir()}
	caKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	caTpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "Plexus test CA"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign,
	}
	caDER, err := x509.CreateCertificate(rand.Reader, caTpl, caTpl, &caKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	ca, _ := x509.ParseCertificate(caDER)
	issue := func(serial int64, cn string, usage x509.ExtKeyUsage, ips []net.IP) (certPEM, keyPEM []byte) {
		key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		tpl := &x509.Certificate{
			SerialNumber: big.NewInt(serial), Subject: pkix.Name{CommonName: cn},
			NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
			ExtKeyUsage: []x509.ExtKeyUsage{usage}, IPAddresses: ips, KeyUsage: x509.KeyUsageDigitalSignature,
		}
		der, err := x509.CreateCertificate(rand.Reader, tpl, ca, &key.PublicKey, caKey)
		if err != nil {
			t.Fatal(err)
		}
		kder, _ := x509.MarshalECPrivateKey(key)
		return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kder})
	}
	srvCert, srvKey := issue(2, "127.0.0.1", x509.ExtKeyUsageServerAuth, []net.IP{net.ParseIP("127.0.0.1")})
	cliCert, cliKey := issue(3, "plexus-client", x509.ExtKeyUsageClientAuth, nil)
	_, otherKey := issue(4, "other", x509.ExtKeyUsageClientAuth, nil)
	write := func(name string, data ...[]byte) string {
		path := filepath.Join(p.dir, name)
		var all []byte
		for _, d := range data {
			all = append(all, d...)
		}
		if err := os.WriteFile(path, all, 0o600); err != nil {
			t.Fatal(err)
		}
		return path
	}
	p.caFile = write("ca.pem", pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: caDER}))
	p.clientCert = write("client.pem", cliCert)
	p.clientKy = write("client-key.pem", cliKey)
	p.combined = write("client-both.pem", cliCert, cliKey)
	p.otherKey = write("other-key.pem", otherKey)
	pair, err := tls.X509KeyPair(srvCert, srvKey)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(ca)
	p.serverTLS = &tls.Config{Certificates: []tls.Certificate{pair}, ClientCAs: pool, ClientAuth: tls.RequireAndVerifyClientCert}
	return p
}

func TestTLS(t *testing.T) {
	p := newPKI(t)
	b := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, `{"client": %q}`, r.TLS.PeerCertificates[0].Subject.CommonName)
	}))
	b.TLS = p.serverTLS
	b.Config.ErrorLog = log.New(io.Discard, "", 0) // the handshakes refused on purpose
	b.StartTLS()
	t.Cleanup(b.Close)
	s := start(t)

	for _, c := range []struct {
		name   string
		conn   map[string]any
		status int
		want   string
	}{
		{"ca and client certificate", map[string]any{"tls_ca_certs": p.caFile, "tls_client_cert": p.clientCert, "tls_client_key": p.clientKy}, 200, "plexus-client"},
		{"certificate and key in one file", map[string]any{"tls_ca_certs": p.caFile, "tls_client_cert": p.combined}, 200, "plexus-client"},
		{"no verification", map[string]any{"tls_verify": false, "tls_client_cert": p.combined}, 200, "plexus-client"},
		{"no client certificate", map[string]any{"tls_ca_certs": p.caFile}, 502, "TLS handshake failed"},
		{"the system's CAs", map[string]any{"tls_client_cert": p.combined}, 502, "TLS handshake failed"},
	} {
		conn := map[string]any{"host": b.URL, "url_path": "/", "max_retries": 3, "retry_sleep_time": "1ms"}
		for k, v := range c.conn {
			conn[k] = v
		}
		putConn(t, s, "Secure", conn)
		status, m, _ := call(t, s, map[string]any{"conn": "Secure", "method": "GET"})
		got := fmt.Sprint(m["details"])
		if d, ok := m["data"].(map[string]any); ok {
			got = fmt.Sprint(d["client"])
		}
		if status != c.status || !strings.Contains(got, c.want) {
			t.Errorf("%s: %d %v, want %d %q", c.name, status, m, c.status, c.want)
		}
		// TLS failures are not retried.
		if c.status == 502 && strings.Contains(got, "attempts") {
			t.Errorf("%s: a TLS failure was retried: %s", c.name, got)
		}
	}
}

func TestTLSFilesRefused(t *testing.T) {
	p := newPKI(t)
	s := start(t)
	garbage := filepath.Join(p.dir, "garbage.pem")
	os.WriteFile(garbage, []byte("not a certificate"), 0o600)
	for _, c := range []struct {
		conn  map[string]any
		field string
		want  string
	}{
		{map[string]any{"tls_ca_certs": filepath.Join(p.dir, "missing.pem")}, "tls_ca_certs", "no such file or directory"},
		{map[string]any{"tls_ca_certs": garbage}, "tls_ca_certs", "holds no PEM certificate"},
		{map[string]any{"tls_ca_certs": "certs/ca.pem"}, "tls_ca_certs", `reading \"certs/ca.pem\": no such file or directory`},
		{map[string]any{"tls_client_cert": garbage, "tls_client_key": p.clientKy}, "tls_client_cert", "holds no PEM certificate"},
		{map[string]any{"tls_client_cert": p.clientKy, "tls_client_key": p.clientKy}, "tls_client_cert", "holds no PEM certificate"},
		{map[string]any{"tls_client_cert": p.clientCert}, "tls_client_cert", "loading the client certificate's key"},
		{map[string]any{"tls_client_cert": p.clientCert, "tls_client_key": p.caFile}, "tls_client_key", "loading the client certificate's key"},
		{map[string]any{"tls_client_cert": p.clientCert, "tls_client_key": p.otherKey}, "tls_client_key", "private key does not match public key"},
		{map[string]any{"tls_client_cert": p.clientCert, "tls_client_key": filepath.Join(p.dir, "nope.pem")}, "tls_client_key", "no such file or directory"},
		{map[string]any{"tls_client_key": p.clientKy}, "tls_client_key", "needs tls_client_cert"},
	} {
		conn := map[string]any{"host": "https://127.0.0.1:1", "url_path": "/"}
		for k, v := range c.conn {
			conn[k] = v
		}
		data := fmt.Sprintf("%v", conn)
		body, _ := jsonString(conn)
		r := s.AdminCall("PUT", admin.Prefix+"/objects/outgoing_rest/Secure", body)
		if r.StatusCode != 400 || !strings.Contains(string(r.Body), `"field": "`+c.field+`"`) || !strings.Contains(string(r.Body), c.want) {
			t.Errorf("%s: %d %s, want %s: %s", data, r.StatusCode, r.Body, c.field, c.want)
		}
	}
	// A relative path is relative to the environment directory.
	ca, _ := os.ReadFile(p.caFile)
	os.MkdirAll(filepath.Join(s.Dir, "certs"), 0o700)
	os.WriteFile(filepath.Join(s.Dir, "certs", "ca.pem"), ca, 0o600)
	body, _ := jsonString(map[string]any{"host": "https://127.0.0.1:1", "url_path": "/", "tls_ca_certs": "certs/ca.pem"})
	if r := s.AdminCall("PUT", admin.Prefix+"/objects/outgoing_rest/Secure", body); r.StatusCode != 201 {
		t.Errorf("relative CA path in the environment: %d %s", r.StatusCode, r.Body)
	}
}
