package secret

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/plexushq/plexus/internal/store"
)

// CheckSetting is the store setting holding a value sealed with the
// current server key, which tells after a crash which key the store's
// secrets are sealed with.
const CheckSetting = "server_key_check"

const checkValue = "plexus server key check"

// NewSuffix names the new key file while a rotation is under way.
const NewSuffix = ".new"

// ReadKey reads a key file: 32 bytes in base64.
func ReadKey(path string) ([]byte, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("reading server key: %w", err)
	}
	key, err := base64.StdEncoding.DecodeString(strings.TrimSpace(string(data)))
	if err != nil || len(key) != 32 {
		return nil, fmt.Errorf("reading server key: %s must hold 32 bytes in base64", path)
	}
	return key, nil
}

// Rotate replaces the server key in keyFile with a new one. The store is
// changed in one transaction: every sealed secret is opened with the old
// key and sealed with the new one, the check setting is sealed with the
// new key, and the statements run (ending what the old key protected, such
// as JWT sessions). Only then is the new key, written beforehand to
// keyFile.new, renamed over keyFile. Recover finishes or undoes a rotation
// that a crash interrupted between the two. The server must not be
// running: it would go on sealing with the old key. Rotate returns the
// number of objects whose secrets were re-encrypted.
func Rotate(ctx context.Context, st *store.Store, keyFile string, statements []string) (int, error) {
	if err := Recover(ctx, st, keyFile); err != nil {
		return 0, err
	}
	oldKey, err := ReadKey(keyFile)
	if err != nil {
		return 0, err
	}
	oldBox, _ := New(oldKey)
	newKey := make([]byte, 32)
	rand.Read(newKey)
	newBox, _ := New(newKey)
	newFile := keyFile + NewSuffix
	if err := writeKey(newFile, newKey); err != nil {
		return 0, fmt.Errorf("writing the new server key: %w", err)
	}
	n, err := st.Rewrite(ctx, func(_, _ string, body []byte) ([]byte, error) {
		return reseal(body, oldBox, newBox)
	}, map[string]string{CheckSetting: newBox.Seal(checkValue)}, statements)
	if err != nil {
		os.Remove(newFile)
		return 0, err
	}
	if err := replace(newFile, keyFile); err != nil {
		return n, fmt.Errorf("the secrets are re-encrypted with the new key but %s could not replace %s (start the server or run rotate-key again to finish): %w", newFile, keyFile, err)
	}
	return n, nil
}

// Recover finishes a rotation that a crash interrupted: when keyFile.new
// exists, the check setting tells whether the store's transaction
// committed. If it did, the new key replaces the old one; if not, the new
// key is discarded. Without keyFile.new it does nothing.
func Recover(ctx context.Context, st *store.Store, keyFile string) error {
	newFile := keyFile + NewSuffix
	if _, err := os.Stat(newFile); errors.Is(err, os.ErrNotExist) {
		return nil
	}
	newKey, err := ReadKey(newFile)
	if err != nil {
		os.Remove(newFile) // written partly: the rotation never reached the store
		return nil
	}
	box, _ := New(newKey)
	check, ok, err := st.Setting(ctx, CheckSetting)
	if err != nil {
		return fmt.Errorf("recovering an interrupted key rotation: %w", err)
	}
	if ok {
		if v, err := box.Open(check); err == nil && v == checkValue {
			if err := replace(newFile, keyFile); err != nil {
				return fmt.Errorf("recovering an interrupted key rotation: %w", err)
			}
			return nil
		}
	}
	return os.Remove(newFile)
}

// reseal opens every sealed string of a JSON document with one box and
// seals it with another.
func reseal(body []byte, from, to *Box) ([]byte, error) {
	if !bytes.Contains(body, []byte(Prefix)) {
		return body, nil
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	var doc any
	if err := dec.Decode(&doc); err != nil {
		return nil, fmt.Errorf("reading: %w", err)
	}
	var walk func(v any) (any, error)
	walk = func(v any) (any, error) {
		switch x := v.(type) {
		case string:
			if !IsSealed(x) {
				return x, nil
			}
			plain, err := from.Open(x)
			if err != nil {
				return nil, err
			}
			return to.Seal(plain), nil
		case map[string]any:
			for k, e := range x {
				nv, err := walk(e)
				if err != nil {
					return nil, err
				}
				x[k] = nv
			}
		case []any:
			for i, e := range x {
				nv, err := walk(e)
				if err != nil {
					return nil, err
				}
				x[i] = nv
			}
		}
		return v, nil
	}
	doc, err := walk(doc)
	if err != nil {
		return nil, err
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(doc); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n")), nil
}

// writeKey writes a key file with mode 0600 and flushes it to disk.
func writeKey(path string, key []byte) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return err
	}
	if _, err := f.WriteString(base64.StdEncoding.EncodeToString(key) + "\n"); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// replace renames from over to atomically and flushes the directory.
func replace(from, to string) error {
	if err := os.Rename(from, to); err != nil {
		return err
	}
	if d, err := os.Open(filepath.Dir(to)); err == nil {
		d.Sync()
		d.Close()
	}
	return nil
}
