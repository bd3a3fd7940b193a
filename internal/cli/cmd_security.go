package cli

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/plexushq/plexus/internal/admin"
	"github.com/plexushq/plexus/internal/envdir"
	"github.com/plexushq/plexus/internal/secret"
	"github.com/plexushq/plexus/internal/store"
)

// NewPasswordEnv names the environment variable change-password reads the
// new secret from, when set, instead of standard input.
const NewPasswordEnv = "PLEXUS_NEW_PASSWORD"

func (a *App) securityCmd() *cobra.Command {
	c := &cobra.Command{
		Use:   "security",
		Short: "Manage security definitions",
	}
	var server string
	cp := &cobra.Command{
		Use:   "change-password NAME [DIR]",
		Short: "Set the password of a security definition",
		Long: `Set the password of the security definition NAME on a running server, through
the one change path: the next request is checked against the new password.
For apikey definitions the password is the key; for bearer_token ones with
auth_server_url, the OAuth2 client secret.

The new password is read from ` + NewPasswordEnv + ` when it is set, else from the
first line of standard input; never from the command line, where other users
and the shell history would see it.

The server is the one of the local environment DIR (default ./plexus-env), or
the one --server names, with the admin password in ` + PasswordEnv + `.`,
		Example: `  printf '%s\n' "$NEW_SECRET" | plexus security change-password billing.creds
  ` + NewPasswordEnv + `=... plexus security change-password crm.key /srv/plexus-env`,
		Args:              rangeArgs(1, 2),
		ValidArgsFunction: a.completeFromServer(0, objectsPath("security")),
		RunE: func(c *cobra.Command, args []string) error {
			password, err := a.newPassword()
			if err != nil {
				return err
			}
			cl, err := a.newClient(server, dirArg(args, 1))
			if err != nil {
				return err
			}
			body, _ := json.Marshal(map[string]string{"password": password})
			path := admin.Prefix + "/objects/security/" + url.PathEscape(args[0]) + "/password"
			status, answer, err := cl.do(c.Context(), "POST", path, body)
			if err != nil {
				return err
			}
			if status != http.StatusOK {
				var env struct {
					Details string `json:"details"`
				}
				if json.Unmarshal(answer, &env) == nil && env.Details != "" {
					return errors.New(env.Details)
				}
				return fmt.Errorf("the server answered %d", status)
			}
			fmt.Fprintf(a.Stdout, "Password of security definition %q changed.\n", args[0])
			return nil
		},
	}
	cp.Flags().StringVar(&server, "server", "", "admin URL of a running server, e.g. http://127.0.0.1:11224")
	c.AddCommand(cp)
	return c
}

// newPassword reads a new secret from NewPasswordEnv or standard input.
func (a *App) newPassword() (string, error) {
	if p := a.Getenv(NewPasswordEnv); p != "" {
		return p, nil
	}
	if a.Stdin == nil {
		return "", fmt.Errorf("no new password: set %s or write it to standard input", NewPasswordEnv)
	}
	line, err := bufio.NewReader(io.LimitReader(a.Stdin, 64<<10)).ReadString('\n')
	if err != nil && !errors.Is(err, io.EOF) {
		return "", fmt.Errorf("reading the new password: %w", err)
	}
	p := strings.TrimRight(line, "\r\n")
	if p == "" {
		return "", fmt.Errorf("no new password: set %s or write it to standard input", NewPasswordEnv)
	}
	return p, nil
}

func (a *App) secretsCmd() *cobra.Command {
	c := &cobra.Command{
		Use:   "secrets",
		Short: "Manage the server key that encrypts secrets at rest",
	}
	rotate := &cobra.Command{
		Use:   "rotate-key [DIR]",
		Short: "Replace the server key, re-encrypting every stored secret",
		Long: `Replace the server key of the environment DIR (default ./plexus-env): every
secret in the store is decrypted with the old key and encrypted with a new
one in one transaction, then secrets/server.key is replaced atomically.
JWT session tokens are sealed with a key derived from the server key, so
every session ends: users log in again.

Stop the server first (every node, with PostgreSQL): a running server would
go on encrypting with the old key. If the machine stops between the
transaction and the replacement of the key file, the next start (or the
next rotate-key) finishes the rotation: secrets/server.key.new holds the new
key until then.`,
		Example: `  plexus secrets rotate-key
  plexus secrets rotate-key /srv/plexus-env`,
		Args: maxArgs(1),
		RunE: func(c *cobra.Command, args []string) error {
			return a.rotateKey(c.Context(), dirArg(args, 0))
		},
	}
	c.AddCommand(rotate)
	return c
}

func (a *App) rotateKey(ctx context.Context, dir string) error {
	env, err := envdir.Open(dir)
	if err != nil {
		return err
	}
	if local, err := env.ReadCLI(); err == nil && serverAnswers(ctx, local.Admin) {
		return fmt.Errorf("the server of %s is running at %s: stop it first, then rotate the key", dir, local.Admin)
	}
	st, err := a.openStore(ctx, env, store.Open)
	if err != nil {
		return err
	}
	defer st.Close()
	n, err := secret.Rotate(ctx, st, env.Path(envdir.ServerKey), []string{"DELETE FROM jwt_sessions"})
	if err != nil {
		return fmt.Errorf("rotating the server key: %w", err)
	}
	fmt.Fprintf(a.Stdout, "Server key rotated: the secrets of %d objects re-encrypted; JWT sessions ended.\n", n)
	return nil
}

// serverAnswers reports whether a server answers /health on an admin
// address.
func serverAnswers(ctx context.Context, addr string) bool {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, "GET", "http://"+hostPort(addr)+"/health", nil)
	if err != nil {
		return false
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return false
	}
	resp.Body.Close()
	return true
}
