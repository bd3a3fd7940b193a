package secret_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/plexushq/plexus/internal/secret"
	"github.com/plexushq/plexus/internal/store"
)

// setup makes a store holding one object with two sealed secrets under a
// key written to a key file.
func setup(t *testing.T) (*store.Store, string, []byte) {
	t.Helper()
	dir := t.TempDir()
	st, err := store.Open(context.Background(), "", filepath.Join(dir, "data"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	key := make([]byte, 32)
	key[0] = 7
	keyFile := filepath.Join(dir, "server.key")
	os.WriteFile(keyFile, []byte(base64.StdEncoding.EncodeToString(key)+"\n"), 0o600)
	box, _ := secret.New(key)
	body, _ := json.Marshal(map[string]any{"name": "d", "password": box.Seal("pw-1"), "nested": []any{map[string]any{"token": box.Seal("tok-1")}}, "n": 1})
	if _, err := st.Commit(context.Background(), store.Change{Source: "test", Put: []store.Record{{Kind: "security", Name: "d", Body: body}, {Kind: "plain", Name: "p", Body: []byte(`{"name":"p"}`)}}}); err != nil {
		t.Fatal(err)
	}
	return st, keyFile, key
}

func secrets(t *testing.T, st *store.Store, key []byte) (string, string) {
	t.Helper()
	snap, err := st.Load(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	var obj struct {
		Password string `json:"password"`
		Nested   []struct {
			Token string `json:"token"`
		} `json:"nested"`
	}
	for _, r := range snap.Objects {
		if r.Kind == "security" {
			json.Unmarshal(r.Body, &obj)
		}
	}
	box, _ := secret.New(key)
	pw, err1 := box.Open(obj.Password)
	tok, err2 := box.Open(obj.Nested[0].Token)
	if err1 != nil || err2 != nil {
		t.Fatalf("opening with the key: %v %v", err1, err2)
	}
	return pw, tok
}

func TestRotate(t *testing.T) {
	ctx := context.Background()
	st, keyFile, old := setup(t)
	n, err := secret.Rotate(ctx, st, keyFile, nil)
	if err != nil || n != 1 {
		t.Fatalf("rotate: %d %v", n, err)
	}
	key, err := secret.ReadKey(keyFile)
	if err != nil || string(key) == string(old) {
		t.Fatalf("key file: %v", err)
	}
	if pw, tok := secrets(t, st, key); pw != "pw-1" || tok != "tok-1" {
		t.Errorf("secrets %q %q", pw, tok)
	}
	if fi, _ := os.Stat(keyFile); fi.Mode().Perm() != 0o600 {
		t.Errorf("key file mode %v", fi.Mode())
	}
	if _, err := os.Stat(keyFile + secret.NewSuffix); !os.IsNotExist(err) {
		t.Error("the new key file is left behind")
	}
}

// A crash after the new key file is written but before the transaction
// commits: recovery discards the new key.
func TestRecoverBeforeCommit(t *testing.T) {
	st, keyFile, old := setup(t)
	os.WriteFile(keyFile+secret.NewSuffix, []byte(base64.StdEncoding.EncodeToString(make([]byte, 32))+"\n"), 0o600)
	if err := secret.Recover(context.Background(), st, keyFile); err != nil {
		t.Fatal(err)
	}
	key, _ := secret.ReadKey(keyFile)
	if string(key) != string(old) {
		t.Fatal("the old key was replaced")
	}
	secrets(t, st, key)
	if _, err := os.Stat(keyFile + secret.NewSuffix); !os.IsNotExist(err) {
		t.Error("the uncommitted key is left behind")
	}
}

// A crash after the transaction commits but before the key file is
// replaced: recovery puts the new key in place.
func TestRecoverAfterCommit(t *testing.T) {
	ctx := context.Background()
	st, keyFile, old := setup(t)
	// Rotate, then put the old key back as if the rename never happened.
	if _, err := secret.Rotate(ctx, st, keyFile, nil); err != nil {
		t.Fatal(err)
	}
	newKey, _ := os.ReadFile(keyFile)
	os.WriteFile(keyFile+secret.NewSuffix, newKey, 0o600)
	os.WriteFile(keyFile, []byte(base64.StdEncoding.EncodeToString(old)+"\n"), 0o600)
	if err := secret.Recover(ctx, st, keyFile); err != nil {
		t.Fatal(err)
	}
	key, _ := secret.ReadKey(keyFile)
	if strings.TrimSpace(string(newKey)) != base64.StdEncoding.EncodeToString(key) {
		t.Fatal("the new key is not in place")
	}
	secrets(t, st, key)
}

// A secret sealed with another key stops the rotation before anything
// changes.
func TestRotateWrongKey(t *testing.T) {
	st, keyFile, old := setup(t)
	os.WriteFile(keyFile, []byte(base64.StdEncoding.EncodeToString(make([]byte, 32))+"\n"), 0o600)
	if _, err := secret.Rotate(context.Background(), st, keyFile, nil); err == nil {
		t.Fatal("rotated secrets it could not open")
	}
	secrets(t, st, old)
}
