package enmasse_test

import (
	"context"
	"strings"
	"testing"

	"github.com/plexushq/plexus/internal/enmasse"
)

// Problems echo what the file holds only in part: secrets in URLs are
// masked wherever a value is echoed (kinds' checks, field checks, enmasse's
// own), and a huge value comes back as a short prefix.
func TestProblemsEchoValuesSafely(t *testing.T) {
	huge := strings.Repeat("A", 1<<20)
	file := `security:
  - name: idp
    type: bearer_token
    jwks_url: "ftp://idp.example.com/keys?access_token=jwks-token-1"
    audience: plexus
channel_rest:
  - name: api.big
    service: plexus.ping
    url_path: ` + huge + `
    data_format: ` + huge + `
    ` + huge + `: 1
outgoing_rest:
  - name: crm
    host: https://crm:host-password-1@crm.example.com/?x=1
    url_path: v1/{?api_key=path-key-1&page=2
  - name: ` + huge + `
    host: ` + huge + `
    url_path: /x
`
	b := &enmasse.Bundle{Files: []enmasse.File{{Name: "echo.yaml", Content: file}}}
	rep, err := enmasse.Lint(context.Background(), b.Input(), enmasse.Options{})
	if err == nil {
		t.Fatal("lint passed")
	}
	text := err.Error()
	for _, secret := range []string{"jwks-token-1", "host-password-1", "path-key-1"} {
		if strings.Contains(text, secret) {
			t.Errorf("the problems show %s:\n%s", secret, text)
		}
	}
	mustContain(t, "problems", text,
		`https://crm:******@crm.example.com/?x=1`,
		`access_token=******`,
		`api_key=******&page=2`,
		`"`+strings.Repeat("A", 64)+`…"`)
	if len(text) > 8<<10 {
		t.Errorf("%d problems of a 4 MiB file take %d bytes", len(rep.Problems), len(text))
	}
}
