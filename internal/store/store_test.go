package store_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/plexushq/plexus/internal/store"
	"github.com/plexushq/plexus/internal/testenv"
)

// stores opens each store flavour; PostgreSQL needs PLEXUS_TEST_POSTGRES.
var stores = map[string]func(t *testing.T) *store.Store{
	"sqlite": func(t *testing.T) *store.Store {
		st, err := store.Open(context.Background(), "", t.TempDir())
		if err != nil {
			t.Fatal(err)
		}
		return st
	},
	"postgres": func(t *testing.T) *store.Store {
		st, err := store.Open(context.Background(), testenv.Postgres(t), "")
		if err != nil {
			t.Fatal(err)
		}
		return st
	},
}

func TestCommitAndLoad(t *testing.T) {
	for name, open := range stores {
		t.Run(name, func(t *testing.T) {
			ctx := context.Background()
			st := open(t)
			defer st.Close()
			rev, err := st.Commit(ctx, store.Change{Source: "test",
				Put:     []store.Record{{Kind: "k", Name: "b", Body: []byte(`{"n":2}`)}, {Kind: "k", Name: "a", Body: []byte(`{"n":1}`)}},
				PutCode: []store.Code{{File: "x.star", Source: []byte("def handle(self): pass"), Origin: "pickup"}}})
			if err != nil || rev != 1 {
				t.Fatalf("commit: %d %v", rev, err)
			}
			if snap, err := st.Load(ctx); err != nil || len(snap.Code) != 1 || snap.Code[0].Origin != "pickup" {
				t.Fatalf("code and its origin: %+v %v", snap, err)
			}
			rev, err = st.Commit(ctx, store.Change{Source: "test",
				Put:        []store.Record{{Kind: "k", Name: "a", Body: []byte(`{"n":10}`)}},
				Delete:     []store.Key{{Kind: "k", Name: "b"}},
				DeleteCode: []string{"x.star"}})
			if err != nil || rev != 2 {
				t.Fatalf("second commit: %d %v", rev, err)
			}
			snap, err := st.Load(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if snap.Rev != 2 || len(snap.Objects) != 1 || string(snap.Objects[0].Body) != `{"n":10}` || len(snap.Code) != 0 {
				t.Fatalf("snapshot: %+v", snap)
			}
			if ok, err := st.Stored(ctx, "k", "a"); !ok || err != nil {
				t.Fatalf("stored a: %v %v", ok, err)
			}
			if ok, err := st.Stored(ctx, "k", "b"); ok || err != nil {
				t.Fatalf("stored b, deleted: %v %v", ok, err)
			}
			if err := st.SetSetting(ctx, "k", "v1"); err != nil {
				t.Fatal(err)
			}
			st.SetSetting(ctx, "k", "v2")
			if v, ok, err := st.Setting(ctx, "k"); v != "v2" || !ok || err != nil {
				t.Fatalf("setting: %q %v %v", v, ok, err)
			}
			if _, ok, _ := st.Setting(ctx, "none"); ok {
				t.Fatal("unset setting found")
			}
		})
	}
}

// A failed commit changes nothing.
func TestCommitIsAtomic(t *testing.T) {
	st, err := store.Open(context.Background(), "", t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	ctx := context.Background()
	st.Commit(ctx, store.Change{Put: []store.Record{{Kind: "k", Name: "a", Body: []byte("1")}}})
	ctx2, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := st.Commit(ctx2, store.Change{Put: []store.Record{{Kind: "k", Name: "b", Body: []byte("2")}}}); err == nil {
		t.Fatal("commit with a cancelled context succeeded")
	}
	snap, _ := st.Load(ctx)
	if snap.Rev != 1 || len(snap.Objects) != 1 {
		t.Fatalf("after a failed commit: %+v", snap)
	}
}

func TestOpenErrors(t *testing.T) {
	_, err := store.Open(context.Background(), "mysql://x", t.TempDir())
	if err == nil || !strings.Contains(err.Error(), "postgres://") {
		t.Errorf("unsupported URL: %v", err)
	}
	_, err = store.Open(context.Background(), "postgres://user:secret@127.0.0.1:1/none", "")
	if err == nil || strings.Contains(err.Error(), "secret") {
		t.Errorf("unreachable database error must not show the password: %v", err)
	}
}

func BenchmarkCommit10k(b *testing.B) {
	st, err := store.Open(context.Background(), "", b.TempDir())
	if err != nil {
		b.Fatal(err)
	}
	defer st.Close()
	var recs []store.Record
	for i := range 10000 {
		recs = append(recs, store.Record{Kind: "channel_rest", Name: fmt.Sprint(i), Body: []byte(`{"name":"x","service":"plexus.ping","url_path":"/x"}`)})
	}
	for b.Loop() {
		if _, err := st.Commit(context.Background(), store.Change{Put: recs}); err != nil {
			b.Fatal(err)
		}
	}
}

// The embedded database is readable by its owner only, in new data
// directories and in ones made with wider modes.
func TestSQLiteOwnerOnly(t *testing.T) {
	mode := func(p string) os.FileMode {
		fi, err := os.Stat(p)
		if err != nil {
			t.Fatal(err)
		}
		return fi.Mode().Perm()
	}
	fresh := filepath.Join(t.TempDir(), "data")
	old := t.TempDir()
	os.Chmod(old, 0o755)
	for _, name := range []string{"plexus.db", "plexus.db-wal", "plexus.db-shm"} {
		os.WriteFile(filepath.Join(old, name), nil, 0o644)
	}
	for _, dir := range []string{fresh, old} {
		st, err := store.Open(context.Background(), "", dir)
		if err != nil {
			t.Fatal(err)
		}
		if m := mode(dir); m != 0o700 {
			t.Errorf("%s: %v, want 0700", dir, m)
		}
		for _, name := range []string{"plexus.db", "plexus.db-wal", "plexus.db-shm"} {
			if m := mode(filepath.Join(dir, name)); m != 0o600 {
				t.Errorf("%s: %v, want 0600", name, m)
			}
		}
		st.Close()
	}
}
