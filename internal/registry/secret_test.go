package registry_test

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/plexushq/plexus/internal/registry"
)

// vault is a kind with secrets at every depth the walker goes to.
type vault struct {
	Name    string               `json:"name" label:"Name" group:"Vault" doc:"Unique name of the vault."`
	Key     string               `json:"key" label:"Master key" group:"Keys" secret:"true" doc:"The master key."`
	Keys    []string             `json:"keys" label:"Further keys" group:"Keys" secret:"true" doc:"Further keys, tried in turn."`
	Headers map[string]string    `json:"headers" label:"Headers" group:"Keys" secret:"true" doc:"Headers sent with every call, by name."`
	Auth    vaultAuth            `json:"auth" label:"Credentials" group:"Access" doc:"Credentials of the vault itself."`
	Backup  *vaultAuth           `json:"backup" label:"Backup credentials" group:"Access" doc:"Credentials of the backup vault."`
	Peers   []vaultAuth          `json:"peers" label:"Peer credentials" group:"Access" doc:"Credentials of the peer vaults."`
	Zones   map[string]vaultAuth `json:"zones" label:"Zone credentials" group:"Access" doc:"Credentials by zone."`
	Plain   []vaultPlain         `json:"plain" label:"Notes" group:"Vault" doc:"Notes that are not secret."`
}

type vaultAuth struct {
	User  string `json:"user" label:"User" doc:"User name to log in with."`
	Token string `json:"token" label:"Token" secret:"true" doc:"Token to log in with."`
}

type vaultPlain struct {
	Note string `json:"note" label:"Note" doc:"A note shown to everyone."`
}

func (*vault) Validate() []error { return nil }

var vaultKind = func() *registry.Kind {
	registry.Register(registry.Kind{ID: "test_vault", Title: "Test vault", Summary: "A test kind with nested secrets.",
		New:      func() registry.Object { return &vault{} },
		Examples: []string{`{"name": "v", "key": "k", "auth": {"user": "u", "token": "t"}, "zones": {"eu": {"token": "z"}}}`}})
	k, _ := registry.Lookup("test_vault")
	return k
}()

func fullVault() *vault {
	return &vault{
		Name: "v", Key: "s-key", Keys: []string{"s-k1", "", "s-k2"}, Headers: map[string]string{"X-A": "s-ha", "X-B": "s-hb"},
		Auth: vaultAuth{User: "u", Token: "s-auth"}, Backup: &vaultAuth{User: "b", Token: "s-backup"},
		Peers: []vaultAuth{{User: "p1", Token: "s-p1"}, {User: "p2"}},
		Zones: map[string]vaultAuth{"eu": {User: "z", Token: "s-eu"}},
		Plain: []vaultPlain{{Note: "visible"}},
	}
}

// Every secret, nested ones too, is masked by Public, and the object it
// was copied from keeps its values.
func TestNestedSecretsMasked(t *testing.T) {
	v := fullVault()
	before, _ := json.Marshal(v)
	pub, _ := json.Marshal(vaultKind.Public(v))
	if strings.Contains(string(pub), "s-") {
		t.Errorf("Public shows a secret: %s", pub)
	}
	for _, want := range []string{`"user":"u"`, `"note":"visible"`, `"keys":["******","","******"]`, `"X-A":"******"`} {
		if !strings.Contains(string(pub), want) {
			t.Errorf("Public lacks %s: %s", want, pub)
		}
	}
	if after, _ := json.Marshal(v); string(after) != string(before) {
		t.Errorf("Public changed the object:\n%s\n%s", before, after)
	}
	got := vaultKind.Secrets(v)
	want := map[string]string{"key": "s-key", "keys[0]": "s-k1", "keys[2]": "s-k2", "headers[X-A]": "s-ha", "headers[X-B]": "s-hb",
		"auth.token": "s-auth", "backup.token": "s-backup", "peers[0].token": "s-p1", "zones[eu].token": "s-eu"}
	if len(got) != len(want) {
		t.Errorf("secrets: %v", got)
	}
	for p, s := range want {
		if got[p] != s {
			t.Errorf("secret %s = %q, want %q", p, got[p], s)
		}
	}
}

// Sealing and opening go through the same walk, and an error names the
// path of the secret.
func TestNestedSecretsMapped(t *testing.T) {
	sealed, err := vaultKind.MapSecrets(fullVault(), func(_, s string) (string, error) { return "sealed:" + s, nil })
	if err != nil {
		t.Fatal(err)
	}
	opened, err := vaultKind.MapSecrets(sealed, func(_, s string) (string, error) { return strings.TrimPrefix(s, "sealed:"), nil })
	if err != nil {
		t.Fatal(err)
	}
	a, _ := json.Marshal(opened)
	b, _ := json.Marshal(fullVault())
	if string(a) != string(b) {
		t.Errorf("sealed and opened:\n%s\nwant\n%s", a, b)
	}
	_, err = vaultKind.MapSecrets(fullVault(), func(path, s string) (string, error) {
		if path == "zones[eu].token" {
			return "", errors.New("cannot open")
		}
		return s, nil
	})
	var p *registry.Problem
	if !errors.As(err, &p) || p.Field != "zones[eu].token" {
		t.Errorf("error: %v", err)
	}
}

// An object written back as read (secrets masked) keeps its secrets;
// a secret given a new value takes it.
func TestNestedSecretsKept(t *testing.T) {
	prev := fullVault()
	obj := vaultKind.Public(prev).(*vault)
	obj.Peers[0].Token = "s-new"
	vaultKind.KeepSecrets(obj, prev)
	want := fullVault()
	want.Peers[0].Token = "s-new"
	a, _ := json.Marshal(obj)
	b, _ := json.Marshal(want)
	if string(a) != string(b) {
		t.Errorf("kept:\n%s\nwant\n%s", a, b)
	}
}

type badSecret struct {
	Name string `json:"name" doc:"Unique name of the vault."`
	Port int    `json:"port" secret:"true" doc:"Port."`
}

func (*badSecret) Validate() []error { return nil }

// A secret the walker cannot hide is a mistake found at start-up.
func TestSecretOfWrongType(t *testing.T) {
	defer func() {
		if r := recover(); r == nil || !strings.Contains(r.(string), "a secret must be a string") {
			t.Errorf("Register did not refuse: %v", r)
		}
	}()
	registry.Register(registry.Kind{ID: "test_bad_secret", Title: "Bad", Summary: "A test kind.", New: func() registry.Object { return &badSecret{} }})
}
