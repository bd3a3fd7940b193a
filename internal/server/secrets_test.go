package server_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/plexushq/plexus/internal/admin"
	"github.com/plexushq/plexus/internal/registry"
	"github.com/plexushq/plexus/internal/servertest"
)

// vault is a kind registered only in this package's tests, with secrets
// at every depth: a string, a list and a map of strings, and strings in a
// struct, a pointer, a list and a map of structs.
type vault struct {
	Name    string               `json:"name" doc:"Unique name of the vault."`
	Key     string               `json:"key" secret:"true" doc:"The master key."`
	Keys    []string             `json:"keys" secret:"true" doc:"Further keys, tried in turn."`
	Headers map[string]string    `json:"headers" secret:"true" doc:"Headers sent with every call, by name."`
	Auth    vaultAuth            `json:"auth" doc:"Credentials of the vault itself."`
	Backup  *vaultAuth           `json:"backup" doc:"Credentials of the backup vault."`
	Peers   []vaultAuth          `json:"peers" doc:"Credentials of the peer vaults."`
	Zones   map[string]vaultAuth `json:"zones" doc:"Credentials by zone."`
}

type vaultAuth struct {
	User  string `json:"user" doc:"User name to log in with."`
	Token string `json:"token" secret:"true" doc:"Token to log in with."`
}

func (*vault) Validate() []error { return nil }

func init() {
	registry.Register(registry.Kind{
		ID: "test_vault", Title: "Test vault", Summary: "A test kind with nested secrets.", Order: 90,
		New:       func() registry.Object { return &vault{} },
		Examples:  []string{`{"name": "v"}`},
		Provision: func(env *registry.Env, obj registry.Object) (any, error) { return obj, nil },
	})
}

const vaultJSON = `{"key": "s3cret-key", "keys": ["s3cret-k1", "s3cret-k2"], "headers": {"X-Auth": "s3cret-header"},
	"auth": {"user": "u", "token": "s3cret-auth"}, "backup": {"user": "b", "token": "s3cret-backup"},
	"peers": [{"user": "p", "token": "s3cret-peer"}], "zones": {"eu": {"user": "z", "token": "s3cret-zone"}}}`

// Nested secrets are sealed in the store, opened on load, and never shown:
// not in the admin API's answers, not in an export, not in the log.
func TestNestedSecretsNeverShown(t *testing.T) {
	s := servertest.Start(t, servertest.Options{})
	path := admin.Prefix + "/objects/test_vault/v"
	var answers []string
	r := s.AdminCall("PUT", path, vaultJSON)
	if r.StatusCode != 201 {
		t.Fatalf("PUT: %d %s", r.StatusCode, r.Body)
	}
	answers = append(answers, string(r.Body))
	read := s.AdminCall("GET", path, "")
	answers = append(answers, string(read.Body), string(s.AdminCall("GET", admin.Prefix+"/objects/test_vault", "").Body))
	// Written back as read, with one new token, it keeps the others.
	obj := read.JSON(t)
	obj["peers"].([]any)[0].(map[string]any)["token"] = "s3cret-new-peer"
	data, _ := json.Marshal(obj)
	body := string(data)
	if r := s.AdminCall("PUT", path+"?dry_run=true", body); r.StatusCode != 200 {
		t.Fatalf("dry run: %d %s", r.StatusCode, r.Body)
	} else {
		answers = append(answers, string(r.Body))
	}
	if r := s.AdminCall("PUT", path, body); r.StatusCode != 200 {
		t.Fatalf("PUT back: %d %s", r.StatusCode, r.Body)
	} else {
		answers = append(answers, string(r.Body))
	}
	answers = append(answers, string(s.AdminCall("GET", admin.Prefix+"/enmasse/export", "").Body))
	refused := s.AdminCall("PUT", admin.Prefix+"/objects/test_vault/w", `{"key": "s3cret-refused", "auth": {"token": 5}}`)
	if refused.StatusCode != 400 {
		t.Fatalf("refused: %d %s", refused.StatusCode, refused.Body)
	}
	answers = append(answers, string(refused.Body))
	for _, a := range answers {
		if strings.Contains(a, "s3cret") {
			t.Errorf("an answer shows a secret: %s", a)
		}
	}
	export := answers[len(answers)-2]
	for _, want := range []string{"${TEST_VAULT_V_ZONES_EU_TOKEN}", "${TEST_VAULT_V_KEYS_1}", "${TEST_VAULT_V_HEADERS_X_AUTH}", "${TEST_VAULT_V_PEERS_0_TOKEN}"} {
		if !strings.Contains(export, want) {
			t.Errorf("export lacks %s:\n%s", want, export)
		}
	}
	var stored string
	if err := s.Store.DB().QueryRowContext(context.Background(), "SELECT body FROM objects WHERE kind = 'test_vault'").Scan(&stored); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(stored, "s3cret") || strings.Count(stored, `"enc:`) < 8 {
		t.Errorf("the store holds secrets in clear: %s", stored)
	}

	s = s.Restart()
	if strings.Contains(s.Log.String(), "s3cret") {
		t.Errorf("the log shows a secret:\n%s", s.Log)
	}
	v, ok := s.Runtime.State().Running("test_vault", "v")
	if !ok {
		t.Fatal("vault not loaded")
	}
	got := v.(*vault)
	if got.Key != "s3cret-key" || got.Keys[1] != "s3cret-k2" || got.Headers["X-Auth"] != "s3cret-header" || got.Backup.Token != "s3cret-backup" ||
		got.Peers[0].Token != "s3cret-new-peer" || got.Zones["eu"].Token != "s3cret-zone" || got.Auth.Token != "s3cret-auth" {
		t.Errorf("secrets after restart: %+v", got)
	}
}
