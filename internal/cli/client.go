package cli

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/plexushq/plexus/internal/envdir"
)

// errUnreachable is the error of a request that found no server.
var errUnreachable = errors.New("cannot reach the Plexus server")

// client talks to a running server's admin API.
type client struct {
	base   string
	dir    string
	bearer string
	user   string
	pass   string
	http   *http.Client
}

// newClient finds the server: --server URL with the admin password from
// the environment variable, or the local environment DIR, whose admin
// address and CLI token it reads.
func (a *App) newClient(server, dir string) (*client, error) {
	c := &client{dir: dir, http: &http.Client{Timeout: 5 * time.Minute}}
	if p := a.Getenv(PasswordEnv); p != "" {
		c.user, c.pass = "admin", p
	}
	if server != "" {
		c.base = strings.TrimRight(server, "/")
		if !strings.Contains(c.base, "://") {
			c.base = "http://" + c.base
		}
		if c.pass == "" {
			return nil, fmt.Errorf("talking to %s needs the admin password: set %s", c.base, PasswordEnv)
		}
		return c, nil
	}
	env, err := envdir.Open(dir)
	if err != nil {
		return nil, fmt.Errorf("%w\nOr talk to a running server with --server URL", err)
	}
	local, err := env.ReadCLI()
	if err != nil {
		return nil, fmt.Errorf("the server of %s has never run; start it with: plexus start %s", dir, dir)
	}
	c.base = "http://" + hostPort(local.Admin)
	if c.pass == "" {
		c.bearer = local.Token
	}
	return c, nil
}

// do sends a request to the admin API and returns the status and body.
func (c *client) do(ctx context.Context, method, path string, body []byte) (int, []byte, error) {
	resp, err := c.send(ctx, method, path, body)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if resp.StatusCode == http.StatusUnauthorized {
		return resp.StatusCode, data, fmt.Errorf("the server at %s refused the credentials: set %s to the admin password (or restart the server if it was started before the CLI token changed)", c.base, PasswordEnv)
	}
	return resp.StatusCode, data, err
}

// send sends a request to the admin API with the client's credentials.
func (c *client) send(ctx context.Context, method, path string, body []byte) (*http.Response, error) {
	req, err := http.NewRequestWithContext(ctx, method, c.base+path, bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	if c.bearer != "" {
		req.Header.Set("Authorization", "Bearer "+c.bearer)
	} else {
		req.SetBasicAuth(c.user, c.pass)
	}
	if len(body) > 0 {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := c.http.Do(req)
	if err != nil {
		var op *net.OpError
		if errors.As(err, &op) {
			hint := "start it with: plexus start " + c.dir
			if c.dir == "" {
				hint = "check the --server URL"
			}
			return nil, fmt.Errorf("%w at %s: is it running? %s", errUnreachable, c.base, hint)
		}
		return nil, err
	}
	return resp, nil
}
