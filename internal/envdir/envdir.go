// Package envdir lays out a Plexus environment directory:
//
//	plexus.yaml    server settings
//	services/      pickup directory for hot-deployed service files
//	schema/json/   JSON Schemas referenced by services
//	enmasse/       YAML configuration imported at start-up
//	data/          the embedded SQLite store (mode 0700)
//	secrets/       the server key (mode 0600) and the CLI token
package envdir

import (
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/plexushq/plexus/internal/config"
)

// DefaultDir is the environment directory commands use when given none.
const DefaultDir = "plexus-env"

// Names of files and directories inside an environment.
const (
	SettingsFile = "plexus.yaml"
	ServicesDir  = "services"
	SchemaDir    = "schema/json"
	EnmasseDir   = "enmasse"
	DataDir      = "data"
	SecretsDir   = "secrets"
	ServerKey    = "secrets/server.key"
	CLIFile      = "secrets/cli.json"
)

// Env is an environment directory.
type Env struct {
	Dir string
}

// Path returns a path inside the environment.
func (e *Env) Path(rel string) string { return filepath.Join(e.Dir, filepath.FromSlash(rel)) }

// Settings loads the environment's plexus.yaml.
func (e *Env) Settings() (*config.Settings, error) {
	return config.Load(e.Path(SettingsFile))
}

// Exists reports whether dir holds an environment.
func Exists(dir string) bool {
	_, err := os.Stat(filepath.Join(dir, SettingsFile))
	return err == nil
}

// Open returns the environment in dir, which must exist.
func Open(dir string) (*Env, error) {
	if !Exists(dir) {
		return nil, fmt.Errorf("%s is not a Plexus environment (it has no %s); create one with: plexus quickstart %s", dir, SettingsFile, dir)
	}
	return &Env{Dir: dir}, nil
}

// Create makes a new environment in dir with the default settings.
func Create(dir string) (*Env, error) { return CreateWith(dir, config.Default()) }

// CreateWith makes a new environment in dir: the directories, a documented
// plexus.yaml holding settings and a new server key. The data and secrets
// directories are readable by their owner only. It refuses a dir that
// already holds an environment.
func CreateWith(dir string, settings *config.Settings) (*Env, error) {
	if Exists(dir) {
		return nil, fmt.Errorf("%s already holds a Plexus environment", dir)
	}
	e := &Env{Dir: dir}
	for d, mode := range map[string]os.FileMode{ServicesDir: 0o755, SchemaDir: 0o755, EnmasseDir: 0o755, DataDir: 0o700, SecretsDir: 0o700} {
		if err := os.MkdirAll(e.Path(d), mode); err != nil {
			return nil, fmt.Errorf("creating environment: %w", err)
		}
	}
	if err := writeSecret(e.Path(ServerKey), randomKey()); err != nil {
		return nil, fmt.Errorf("creating environment: %w", err)
	}
	// The settings file goes last: its presence marks a complete environment.
	if err := os.WriteFile(e.Path(SettingsFile), []byte(config.TemplateFor(settings)), 0o644); err != nil {
		return nil, fmt.Errorf("creating environment: %w", err)
	}
	return e, nil
}

// ServerKey returns the server key, creating it if the environment has none.
func (e *Env) ServerKey() ([]byte, error) {
	data, err := os.ReadFile(e.Path(ServerKey))
	if errors.Is(err, os.ErrNotExist) {
		k := randomKey()
		if err := os.MkdirAll(e.Path(SecretsDir), 0o700); err != nil {
			return nil, err
		}
		if err := writeSecret(e.Path(ServerKey), k); err != nil {
			return nil, err
		}
		data = []byte(k)
	} else if err != nil {
		return nil, fmt.Errorf("reading server key: %w", err)
	}
	key, err := base64.StdEncoding.DecodeString(strings.TrimSpace(string(data)))
	if err != nil || len(key) != 32 {
		return nil, fmt.Errorf("reading server key: %s must hold 32 bytes in base64", e.Path(ServerKey))
	}
	return key, nil
}

// CLI is what local CLI commands need to reach the running server's admin
// API: its address and a token that admits them. The server writes it at
// every start, readable only by the environment's owner.
type CLI struct {
	Admin string `json:"admin"`
	Token string `json:"token"`
}

// WriteCLI replaces the CLI file.
func (e *Env) WriteCLI(c CLI) error {
	if err := os.MkdirAll(e.Path(SecretsDir), 0o700); err != nil {
		return err
	}
	data, _ := json.Marshal(c)
	return writeSecret(e.Path(CLIFile), string(data))
}

// ReadCLI reads the CLI file.
func (e *Env) ReadCLI() (CLI, error) {
	var c CLI
	data, err := os.ReadFile(e.Path(CLIFile))
	if err != nil {
		return c, err
	}
	return c, json.Unmarshal(data, &c)
}

func writeSecret(path, content string) error {
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, []byte(content+"\n"), 0o600); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}

// RandomToken returns n random bytes in URL-safe base64.
func RandomToken(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

func randomKey() string {
	b := make([]byte, 32)
	rand.Read(b)
	return base64.StdEncoding.EncodeToString(b)
}
