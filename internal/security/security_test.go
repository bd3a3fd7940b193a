package security_test

import (
	"encoding/base64"
	"encoding/json"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/plexushq/plexus/internal/registry"
	"github.com/plexushq/plexus/internal/security"
)

func decode(t *testing.T, obj string) (registry.Object, string) {
	t.Helper()
	k, _ := registry.Lookup(security.Kind)
	o, errs := k.Decode([]byte(obj))
	if o != nil {
		errs = append(errs, k.CheckFields(o)...)
		errs = append(errs, o.Validate()...)
	}
	var out []string
	for _, p := range registry.Locate(security.Kind, "d", errs) {
		out = append(out, p.Error())
	}
	return o, strings.Join(out, "\n")
}

func TestValidate(t *testing.T) {
	for obj, want := range map[string]string{
		`{"name": "d", "type": "basic_auth", "username": "u", "password": "p"}`:                    "",
		`{"name": "d", "type": "apikey", "password": "k"}`:                                         "",
		`{"name": "d", "type": "apikey", "password": "k", "header": "X-Key"}`:                      "",
		`{"name": "d", "username": "u", "password": "p"}`:                                          "type: must not be empty",
		`{"name": "d", "type": "jwt", "username": "u", "password": "p"}`:                           "",
		`{"name": "d", "type": "ntlm", "username": "u", "password": "p"}`:                          `type: "ntlm" is not one of basic_auth, apikey, jwt, bearer_token, mtls`,
		`{"name": "d", "type": "jwt", "password": "p", "ttl": "10ms"}`:                             "ttl: must be at least 1s",
		`{"name": "d", "type": "bearer_token"}`:                                                    "bearer_token needs static_token, jwks_url or auth_server_url",
		`{"name": "d", "type": "bearer_token", "jwks_url": "https://x/jwks"}`:                      "audience: must not be empty with jwks_url",
		`{"name": "d", "type": "bearer_token", "jwks_url": "ftp://x", "audience": "a"}`:            "jwks_url: \"ftp://x\" is not an http",
		`{"name": "d", "type": "bearer_token", "auth_server_url": "https://x/t"}`:                  "username: with auth_server_url",
		`{"name": "d", "type": "bearer_token", "auth_server_url": "https://x/t", "username": "c"}`: "",
		`{"name": "d", "type": "bearer_token", "static_token": "t", "claims": ["=x"]}`:             "claims: \"=x\": expected name",
		`{"name": "d", "type": "mtls", "client_cert_fingerprint": "zz"}`:                           "client_cert_fingerprint: expected a SHA-256 fingerprint",
		`{"name": "d", "type": "mtls", "client_cert_subject_dn": "CN=x"}`:                          "",
		`{"name": "d", "type": "apikey", "password": "k", "rate_limiting": [{"cidr": ["x"]}]}`:     "rate_limiting: rule 1: cidr",
		`{"name": "d", "type": "basic_auth", "password": "p"}`:                                     "username: must not be empty for basic_auth",
		`{"name": "d", "type": "basic_auth", "username": "a:b", "password": "p"}`:                  "username: must not contain a colon",
		`{"name": "d", "type": "basic_auth", "username": "u"}`:                                     "",
		`{"name": "d", "type": "apikey"}`:                                                          "",
		`{"name": "d", "type": "apikey", "password": "k", "header": "X Key"}`:                      `header: "X Key" is not a valid HTTP header name`,
		`{"name": "d", "type": "apikey", "password": "k", "header": "X-Key\r\nA:"}`:                "is not a valid HTTP header name",
	} {
		_, got := decode(t, obj)
		if want == "" && got != "" || !strings.Contains(got, want) {
			t.Errorf("%s:\n got %q\nwant %q", obj, got, want)
		}
	}
}

func TestCredentials(t *testing.T) {
	k, _ := registry.Lookup(security.Kind)
	for _, c := range []struct {
		obj, header, value string
	}{
		{`{"name": "d", "type": "basic_auth", "username": "billing", "password": "p@ss:w"}`, "Authorization", "Basic " + base64.StdEncoding.EncodeToString([]byte("billing:p@ss:w"))},
		{`{"name": "d", "type": "apikey", "password": "k-1"}`, "X-Api-Key", "k-1"},
		{`{"name": "d", "type": "apikey", "password": "k-1", "header": "x-crm-token"}`, "X-Crm-Token", "k-1"},
	} {
		obj, _ := decode(t, c.obj)
		running, err := k.Provision(&registry.Env{}, obj)
		if err != nil {
			t.Fatal(err)
		}
		creds := running.(*security.Credentials)
		h := http.Header{}
		h.Set(c.header, "forged")
		creds.Apply(h)
		if creds.Header() != c.header || len(h.Values(c.header)) != 1 || h.Get(c.header) != c.value {
			t.Errorf("%s: %s %v", c.obj, creds.Header(), h)
		}
		if s := creds.String(); strings.Contains(s, "p@ss") || strings.Contains(s, "k-1") {
			t.Errorf("String shows the secret: %s", s)
		}
	}
}

// The types table and the type field's enum list the same types.
func TestTypesMatchEnum(t *testing.T) {
	k, _ := registry.Lookup(security.Kind)
	f, _ := k.Field("type")
	enum := slices.Clone(f.Enum)
	slices.Sort(enum)
	if !slices.Equal(enum, security.Types()) {
		t.Errorf("enum %v, types %v", enum, security.Types())
	}
}

func TestSecretHidden(t *testing.T) {
	k, _ := registry.Lookup(security.Kind)
	obj, _ := decode(t, `{"name": "d", "type": "basic_auth", "username": "u", "password": "very-secret"}`)
	pub, _ := json.Marshal(k.Public(obj))
	if strings.Contains(string(pub), "very-secret") || !strings.Contains(string(pub), `"password":"******"`) {
		t.Errorf("Public: %s", pub)
	}
	if a, ok := registry.Lookup("def_sec"); !ok || a != k {
		t.Error("def_sec is not an alias of security")
	}
}
