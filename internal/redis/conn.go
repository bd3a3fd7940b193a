package redis

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	goredis "github.com/redis/go-redis/v9"
	"github.com/redis/go-redis/v9/maintnotifications"
	sl "go.starlark.net/starlark"
	"go.starlark.net/starlarkstruct"

	"github.com/plexushq/plexus/internal/kvdb"
	"github.com/plexushq/plexus/internal/registry"
	"github.com/plexushq/plexus/sdk/service"
)

func init() {
	// go-redis logs pool failures itself; the connection's status and the
	// calls' errors already say them.
	goredis.SetLogger(discard{})
}

type discard struct{}

func (discard) Printf(context.Context, string, ...any) {}

// closeGrace is how long a replaced connection stays open for the
// invocations that resolved it before the change, so that a live edit
// fails none of them; commands sent to it after that fail with 503.
const closeGrace = 5 * time.Second

// Conn is the running form of an outgoing Redis connection: a go-redis
// client and its pool. It is safe for concurrent use.
type Conn struct {
	cfg    *Outgoing
	client goredis.UniversalClient
	what   string // `Redis connection "name"`, for errors
	stats  *pool

	mu     sync.RWMutex // held for reading by each Do; closed under write
	closed bool
}

var _ service.KVDoer = (*Conn)(nil)

// provision builds the client, which connects on first use.
func provision(env *registry.Env, obj registry.Object) (any, error) {
	cfg := obj.(*Outgoing)
	opts := &goredis.UniversalOptions{
		Addrs:                    cfg.addrs(),
		ClientName:               "plexus:" + cfg.Name,
		DB:                       cfg.DB,
		Protocol:                 2, // replies as kvdb.Result describes them
		Username:                 cfg.Username,
		Password:                 cfg.Password,
		MaxRetries:               cfg.MaxRetries,
		DialTimeout:              cfg.Timeout.D(),
		ReadTimeout:              cfg.Timeout.D(),
		WriteTimeout:             cfg.Timeout.D(),
		PoolTimeout:              cfg.Timeout.D(),
		PoolSize:                 cfg.PoolSize,
		IsClusterMode:            cfg.Mode == ModeCluster,
		DisableIdentity:          true,
		ContextTimeoutEnabled:    true,
		MaintNotificationsConfig: &maintnotifications.Config{Mode: maintnotifications.ModeDisabled},
	}
	if cfg.MaxRetries == 0 {
		opts.MaxRetries = -1 // go-redis: 0 means its default of 3
	}
	if cfg.Mode == ModeSentinel {
		opts.MasterName = cfg.SentinelMaster
		opts.SentinelPassword = cfg.SentinelPassword
	}
	if cfg.TLS {
		tc := &tls.Config{MinVersion: tls.VersionTLS12, InsecureSkipVerify: cfg.TLSSkipVerify, ServerName: cfg.Host}
		if cfg.TLSCAFile != "" {
			path := cfg.TLSCAFile
			if !filepath.IsAbs(path) && env != nil {
				path = filepath.Join(env.Dir, path)
			}
			pem, err := os.ReadFile(path)
			if err != nil {
				return nil, registry.FieldProblem("tls_ca_file", "reading %s: %v", cfg.TLSCAFile, err)
			}
			tc.RootCAs = x509.NewCertPool()
			if !tc.RootCAs.AppendCertsFromPEM(pem) {
				return nil, registry.FieldProblem("tls_ca_file", "%s holds no PEM certificate", cfg.TLSCAFile)
			}
		}
		opts.TLSConfig = tc
	}
	c := &Conn{cfg: cfg, client: goredis.NewUniversalClient(opts), what: fmt.Sprintf("Redis connection %q", cfg.Name)}
	if env != nil && env.Collectors != nil {
		if cs := env.Collectors(Kind); len(cs) > 0 {
			c.stats = cs[0].(*pool)
		}
	}
	return c, nil
}

// Client returns the go-redis client, for Go code that needs a command
// Do does not shape (streams, pub/sub subscriptions).
func (c *Conn) Client() goredis.UniversalClient { return c.client }

// Backend returns "redis".
func (c *Conn) Backend() string { return "redis" }

// Run checks the server with PING every health_interval and reports the
// status: degraded while it does not answer.
func (c *Conn) Run(ctx context.Context, st *registry.Status) error {
	if !c.cfg.IsActive {
		return nil
	}
	if c.stats != nil {
		c.stats.add(c.cfg.Name, c)
	}
	t := time.NewTicker(c.cfg.HealthInterval.D())
	defer t.Stop()
	for {
		err := c.ping(ctx)
		switch {
		case ctx.Err() != nil:
			return nil
		case err != nil:
			st.Degraded(fmt.Errorf("pinging %s: %w", c.cfg.target(), err))
		default:
			st.Running()
		}
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}

// ping sends PING through the pool, within timeout. The pool sends it
// again while the server refuses connections, so a server that does so
// at once is told by connecting to it first.
func (c *Conn) ping(ctx context.Context) error {
	pctx, cancel := context.WithTimeout(ctx, c.cfg.Timeout.D())
	defer cancel()
	err := c.client.Ping(pctx).Err()
	if err == nil || c.cfg.Mode != ModeStandalone || ctx.Err() != nil {
		return err
	}
	conn, derr := (&net.Dialer{Timeout: c.cfg.Timeout.D()}).DialContext(ctx, "tcp", c.cfg.addrs()[0])
	if derr != nil {
		return derr
	}
	conn.Close()
	return err
}

// Close closes the pool once the invocations that may still hold the
// connection are done: after closeGrace, in the background.
func (c *Conn) Close() error {
	if c.stats != nil {
		c.stats.remove(c.cfg.Name, c)
	}
	time.AfterFunc(closeGrace, func() {
		c.mu.Lock()
		c.closed = true
		c.mu.Unlock()
		c.client.Close()
	})
	return nil
}

// Do runs commands: one alone with a round trip of its own, more in one
// pipeline. A reply error (WRONGTYPE, say) is its Result's Err; a broken
// connection, after max_retries, is a *service.Error 502 (504 on a
// timeout) naming the connection.
func (c *Conn) Do(ctx context.Context, cmds ...[]string) ([]kvdb.Result, error) {
	c.mu.RLock()
	defer c.mu.RUnlock()
	if c.closed {
		return nil, service.ServiceUnavailable("%s was changed or deleted; invoke the service again", c.what)
	}
	if len(cmds) > kvdb.MaxPipeline {
		return nil, fmt.Errorf("a pipeline runs at most %d commands, not %d", kvdb.MaxPipeline, len(cmds))
	}
	out := make([]kvdb.Result, len(cmds))
	if len(cmds) == 1 && !c.clusterScan(cmds[0]) {
		v, err := c.client.Do(ctx, args(cmds[0])...).Result()
		if out[0], err = c.result(v, err); err != nil {
			return nil, err
		}
		return out, nil
	}
	pipe := c.client.Pipeline()
	sent := make([]*goredis.Cmd, len(cmds))
	for i, cmd := range cmds {
		if !c.clusterScan(cmd) {
			sent[i] = pipe.Do(ctx, args(cmd)...)
		}
	}
	if pipe.Len() > 0 {
		pipe.Exec(ctx) // each command's error is its own
	}
	for i, s := range sent {
		var err error
		if s == nil {
			out[i], err = c.scanCluster(ctx, cmds[i])
		} else {
			out[i], err = c.result(s.Result())
		}
		if err != nil {
			return nil, err
		}
	}
	return out, nil
}

// result sorts a reply: a value, a refusal by the server (the command's
// own error) or a failure to reach it (the call's error).
func (c *Conn) result(v any, err error) (kvdb.Result, error) {
	var rerr goredis.Error
	switch {
	case err == nil:
		return kvdb.Result{Val: v}, nil
	case errors.Is(err, goredis.Nil):
		return kvdb.Result{}, nil
	case errors.As(err, &rerr) && strings.HasPrefix(err.Error(), "CROSSSLOT"):
		return kvdb.Result{Err: kvdb.ReplyError(err.Error() + crossSlotHint)}, nil
	case errors.As(err, &rerr) && !isConnError(err):
		return kvdb.Result{Err: kvdb.ReplyError(err.Error())}, nil
	}
	if c.stats != nil {
		c.stats.failed(c.cfg.Name)
	}
	return kvdb.Result{}, kvdb.Unreachable(c.what, err)
}

// isConnError reports replies that say the connection, not the command,
// failed: the server is loading, read-only or not the master any more.
func isConnError(err error) bool {
	s := err.Error()
	for _, p := range []string{"LOADING", "READONLY", "MASTERDOWN", "CLUSTERDOWN", "TRYAGAIN"} {
		if len(s) >= len(p) && s[:len(p)] == p {
			return true
		}
	}
	return false
}

func args(cmd []string) []any {
	out := make([]any, len(cmd))
	for i, s := range cmd {
		out[i] = s
	}
	return out
}

// resolve returns a connection by name for services.
func resolve(st registry.State, name string) (any, error) {
	v, ok := st.Running(Kind, name)
	if !ok {
		msg := fmt.Sprintf("no outgoing Redis connection named %q", name)
		if s := registry.Suggest(name, st.Names(Kind)); s != "" {
			msg += fmt.Sprintf("; did you mean %q?", s)
		}
		return nil, errors.New(msg)
	}
	c := v.(*Conn)
	if !c.cfg.IsActive {
		return nil, service.ServiceUnavailable("outgoing Redis connection %q is inactive", name)
	}
	return c, nil
}

// starlarkOut is self.out.redis["Name"]: its name and conn, whose
// methods are those of self.kvdb.conn.
func starlarkOut(c *service.Context, name string, resource any) (sl.Value, error) {
	conn := resource.(*Conn)
	return starlarkstruct.FromStringDict(sl.String("redis"), sl.StringDict{
		"name": sl.String(name),
		"conn": kvdb.NewStarlarkConn(c, conn, conn.what),
	}), nil
}

// pingAction sends PING and says whether the server answered.
var pingAction = registry.Action{
	Name: "ping",
	Doc:  `Sends PING to the server through the connection's pool and answers {"name", "cid", "target", "ok", "status", "time_ms", "error"}.`,
	Run: func(ctx context.Context, call *registry.Call) (any, error) {
		c := call.Running.(*Conn)
		res := registry.PingResult{Name: call.Name, CID: call.CID, Target: c.cfg.target()}
		if !c.cfg.IsActive {
			res.Error = "the connection is inactive"
			return res, nil
		}
		start := time.Now()
		if err := c.ping(ctx); err != nil {
			res.Error = err.Error()
		} else {
			res.OK = true
		}
		res.TimeMS = float64(time.Since(start).Microseconds()) / 1000
		return res, nil
	},
}
