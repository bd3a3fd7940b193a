package cli

import (
	"context"
	"path/filepath"
	"strings"
	"testing"

	"github.com/plexushq/plexus/internal/admin"
	"github.com/plexushq/plexus/internal/envdir"
	"github.com/plexushq/plexus/internal/store"
)

func TestTOTPReset(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "env")
	env, err := envdir.Create(dir)
	if err != nil {
		t.Fatal(err)
	}
	app := &App{Getenv: func(string) string { return "" }}
	st, err := app.openStore(context.Background(), env, store.Open)
	if err != nil {
		t.Fatal(err)
	}
	if err := st.SetSetting(context.Background(), admin.TOTPSetting, "sealed-key"); err != nil {
		t.Fatal(err)
	}
	st.Close()
	stdout, stderr, code := runCLI(t, nil, "admin", "totp", "reset", dir)
	if code != 0 || !strings.Contains(stdout, "Two-factor login turned off") {
		t.Fatalf("reset: %d %q %q", code, stdout, stderr)
	}
	st, err = app.openStore(context.Background(), env, store.Open)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if _, ok, _ := st.Setting(context.Background(), admin.TOTPSetting); ok {
		t.Fatal("the TOTP key is still there")
	}
}
