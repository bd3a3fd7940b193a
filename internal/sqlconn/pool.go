package sqlconn

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"database/sql"
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/go-sql-driver/mysql"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/prometheus/client_golang/prometheus"
	_ "modernc.org/sqlite" // registers the "sqlite" driver

	"github.com/plexushq/plexus/internal/registry"
	"github.com/plexushq/plexus/sdk/service"
)

// Database is the running form of an outgoing SQL connection: its pool,
// which opens connections as statements need them, and its Run, which
// checks the database in the background. It is safe for concurrent use.
type Database struct {
	name   string
	engine string
	target string        // engine host:port/db, for admins: no credentials
	db     *sql.DB       // MySQL and SQLite
	pg     *pgxpool.Pool // PostgreSQL
	run    runner        // runs statements on db or pg
	cfg    atomic.Pointer[Config]
	stats  *poolStats
	counts *prometheus.CounterVec
	// statements caches the translation of the queries it ran, at most
	// maxStatements of them.
	statements sync.Map
	cached     atomic.Int32
	// next is the pool that replaced this one, where statements that
	// find this one closed run.
	next atomic.Pointer[Database]
}

// TakeOver links the pool d replaces to d: a service that got the old
// pool before the change, and runs a statement after it closed, runs it
// on d.
func (d *Database) TakeOver(old any) {
	if o, ok := old.(*Database); ok {
		o.next.Store(d)
	}
}

// provision builds the pool without connecting: statements and Run
// connect.
func provision(env *registry.Env, obj registry.Object) (any, error) {
	cfg := obj.(*Config)
	d := &Database{name: cfg.Name, engine: cfg.Engine}
	var err error
	switch cfg.Engine {
	case EnginePostgreSQL:
		d.pg, d.target, err = openPostgres(env.Dir, cfg)
	case EngineMySQL:
		d.db, d.target, err = openMySQL(env.Dir, cfg)
	case EngineSQLite:
		d.db, d.target, err = openSQLite(env.Dir, cfg)
	default:
		err = registry.FieldProblem("engine", "unknown engine %q", cfg.Engine)
	}
	if err != nil {
		return nil, err
	}
	if d.pg != nil {
		d.run = &pgRunner{q: d.pg, pool: true}
	} else {
		d.run = &sqlRunner{q: d.db}
		d.size(cfg)
	}
	d.cfg.Store(cfg)
	if cs := env.Collectors(Kind); len(cs) == 2 {
		d.stats, d.counts = cs[0].(*poolStats), cs[1].(*prometheus.CounterVec)
	}
	return d, nil
}

// size applies the limits of a database/sql pool; a PostgreSQL pool
// gets them when it opens.
func (d *Database) size(cfg *Config) {
	n := cfg.PoolSize
	if cfg.Engine == EngineSQLite && cfg.DBName == ":memory:" {
		n = 1 // each connection would have a database of its own
	}
	d.db.SetMaxOpenConns(n)
	d.db.SetMaxIdleConns(n)
	d.db.SetConnMaxIdleTime(5 * time.Minute)
}

// update changes the settings that leave the connections as they are —
// pool size (but PostgreSQL's, which pgx's pool fixes when it opens),
// timeouts, max_rows — in place; any other change needs a new pool.
func update(_ *registry.Env, running any, old, obj registry.Object) func() {
	o, n := *old.(*Config), *obj.(*Config)
	if o.IsActive != n.IsActive || !slices.Equal(o.Extra, n.Extra) ||
		n.Engine == EnginePostgreSQL && o.PoolSize != n.PoolSize {
		return nil
	}
	o.Extra, n.Extra = nil, nil
	for _, c := range []*Config{&o, &n} {
		c.PoolSize, c.QueryTimeout, c.MaxRows, c.PingInterval = 0, 0, 0, 0
	}
	if !reflect.DeepEqual(o, n) {
		return nil
	}
	d, cfg := running.(*Database), obj.(*Config)
	return func() {
		d.cfg.Store(cfg)
		if d.db != nil {
			d.size(cfg)
		}
	}
}

func appName(cfg *Config) string { return "plexus " + Kind + " " + cfg.Name }

func hostPort(cfg *Config, port int) string {
	host := cfg.Host
	if host == "" {
		host = "localhost"
	}
	if cfg.Port != 0 {
		port = cfg.Port
	}
	return net.JoinHostPort(host, strconv.Itoa(port))
}

// tlsConfig returns the TLS settings of a connection, nil without TLS.
func tlsConfig(dir string, cfg *Config) (*tls.Config, error) {
	switch cfg.TLS {
	case "", TLSDisable:
		return nil, nil
	case TLSRequire:
		return &tls.Config{InsecureSkipVerify: true}, nil // encrypted, as the setting says, not authenticated
	}
	t := &tls.Config{ServerName: cfg.TLSServerName, MinVersion: tls.VersionTLS12}
	if t.ServerName == "" {
		t.ServerName = cfg.Host
	}
	if cfg.TLSCAFile != "" {
		pem, err := os.ReadFile(inDir(dir, cfg.TLSCAFile))
		if err != nil {
			return nil, registry.FieldProblem("tls_ca_file", "%v", err)
		}
		t.RootCAs = x509.NewCertPool()
		if !t.RootCAs.AppendCertsFromPEM(pem) {
			return nil, registry.FieldProblem("tls_ca_file", "%s holds no PEM certificate", cfg.TLSCAFile)
		}
	}
	return t, nil
}

func inDir(dir, path string) string {
	if filepath.IsAbs(path) || dir == "" {
		return path
	}
	return filepath.Join(dir, path)
}

// openPostgres makes pgx's own pool, which connects as statements need:
// pool_size connections at most, closed after 5 minutes idle, an idle
// one pinged before reuse after a second, as database/sql's pool with
// pgx's driver did.
func openPostgres(dir string, cfg *Config) (*pgxpool.Pool, string, error) {
	addr := hostPort(cfg, 5432)
	u := url.URL{Scheme: "postgres", Host: addr, Path: "/" + cfg.DBName}
	q := url.Values{"sslmode": {"disable"}, "application_name": {appName(cfg)}}
	extras, _ := cfg.extras()
	for _, kv := range extras {
		q.Set(kv[0], kv[1])
	}
	u.RawQuery = strings.ReplaceAll(q.Encode(), "+", "%20") // pgx reads + as itself
	pc, err := pgx.ParseConfig(u.String())
	if err != nil {
		return nil, "", registry.FieldProblem("extra", "%v", errors.Unwrap(err))
	}
	pc.User, pc.Password = cfg.Username, cfg.Password
	pc.ConnectTimeout = cfg.ConnectTimeout.D()
	if pc.TLSConfig, err = tlsConfig(dir, cfg); err != nil {
		return nil, "", err
	}
	pc.Fallbacks = nil
	// The pool's settings are all set below; its connections' are pc.
	poolCfg, err := pgxpool.ParseConfig("")
	if err != nil {
		return nil, "", registry.FieldProblem("extra", "%v", errors.Unwrap(err))
	}
	poolCfg.ConnConfig = pc
	if cfg.PoolSize > 0 {
		poolCfg.MaxConns = int32(cfg.PoolSize)
	}
	poolCfg.MinConns, poolCfg.MinIdleConns = 0, 0
	poolCfg.MaxConnLifetime, poolCfg.MaxConnLifetimeJitter = 0, 0 // as long as they work
	poolCfg.MaxConnIdleTime = 5 * time.Minute
	pool, err := pgxpool.NewWithConfig(context.Background(), poolCfg)
	if err != nil {
		return nil, "", err
	}
	return pool, EnginePostgreSQL + " " + addr + "/" + cfg.DBName, nil
}

func openMySQL(dir string, cfg *Config) (*sql.DB, string, error) {
	addr := hostPort(cfg, 3306)
	mc := mysql.NewConfig()
	// Zato 3.2 gives MySQL's options after the name: t1?charset=utf8.
	name, params, _ := strings.Cut(cfg.DBName, "?")
	mc.Net, mc.Addr, mc.DBName = "tcp", addr, name
	mc.ParseTime, mc.Loc = true, time.UTC
	dsn := mc.FormatDSN()
	if params != "" {
		dsn += "&" + params
	}
	extras, _ := cfg.extras()
	for _, kv := range extras {
		dsn += "&" + url.QueryEscape(kv[0]) + "=" + url.QueryEscape(kv[1])
	}
	mc, err := mysql.ParseDSN(dsn)
	if err != nil {
		return nil, "", registry.FieldProblem("extra", "%v", err)
	}
	mc.User, mc.Passwd = cfg.Username, cfg.Password
	mc.Timeout = cfg.ConnectTimeout.D()
	mc.MultiStatements = false // one statement per call: no "; DROP" stacked after it
	if mc.TLS, err = tlsConfig(dir, cfg); err != nil {
		return nil, "", err
	}
	conn, err := mysql.NewConnector(mc)
	if err != nil {
		return nil, "", err
	}
	return sql.OpenDB(conn), EngineMySQL + " " + addr + "/" + name, nil
}

func openSQLite(dir string, cfg *Config) (*sql.DB, string, error) {
	path := cfg.DBName
	if path != ":memory:" {
		path = inDir(dir, path)
	}
	q := url.Values{}
	q.Add("_pragma", "busy_timeout(5000)")
	q.Set("_time_format", "sqlite")
	extras, _ := cfg.extras()
	for _, kv := range extras {
		q.Add(kv[0], kv[1])
	}
	db, err := sql.Open("sqlite", "file:"+path+"?"+q.Encode())
	if err != nil {
		return nil, "", err
	}
	return db, EngineSQLite + " " + cfg.DBName, nil
}

// Run checks the database every ping_interval, reporting running, or
// degraded with the error while it cannot be reached; the runtime
// retries with a back-off. An inactive connection is stopped.
func (d *Database) Run(ctx context.Context, st *registry.Status) error {
	if !d.cfg.Load().IsActive {
		return nil
	}
	if d.stats != nil {
		d.stats.add(d)
	}
	for {
		if err := d.Ping(ctx); err != nil {
			if ctx.Err() != nil {
				return nil
			}
			return err
		}
		st.Running()
		t := time.NewTimer(d.cfg.Load().PingInterval.D())
		select {
		case <-ctx.Done():
			t.Stop()
			return nil
		case <-t.C:
		}
	}
}

// Ping connects to the database, if no idle connection is at hand, and
// checks it answers, within connect_timeout.
func (d *Database) Ping(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, d.cfg.Load().ConnectTimeout.D())
	defer cancel()
	var err error
	if d.pg != nil {
		err = d.pg.Ping(ctx)
	} else {
		err = d.db.PingContext(ctx)
	}
	if n := d.successor(err); n != nil {
		return n.Ping(ctx)
	}
	if err != nil {
		return d.fail(ctx, err, 0)
	}
	return nil
}

// Close closes the pool: idle connections at once, the others once the
// statements and transactions using them are done.
func (d *Database) Close() error {
	if d.stats != nil {
		d.stats.remove(d)
	}
	if d.pg != nil {
		d.pg.Close() // waits only for the idle connections to close
		return nil
	}
	return d.db.Close()
}

// Target says which database the connection reaches, for admins.
func (d *Database) Target() string { return d.target }

// resolve gives services the database with a name.
func resolve(st registry.State, name string) (any, error) {
	v, ok := st.Running(Kind, name)
	if !ok {
		msg := fmt.Sprintf("no outgoing SQL connection named %q", name)
		if s := registry.Suggest(name, st.Names(Kind)); s != "" {
			msg += fmt.Sprintf("; did you mean %q?", s)
		}
		return nil, errors.New(msg)
	}
	d := v.(*Database)
	if !d.cfg.Load().IsActive {
		return nil, service.ServiceUnavailable("outgoing SQL connection %q is inactive", name)
	}
	return d, nil
}

var pingAction = registry.Action{
	Name: "ping",
	Doc:  `Connects to the database, if no idle connection is at hand, and checks it answers; answers {"name", "cid", "target", "ok", "time_ms", "error"}.`,
	Run: func(ctx context.Context, call *registry.Call) (any, error) {
		d := call.Running.(*Database)
		start := time.Now()
		err := d.Ping(ctx)
		res := registry.PingResult{Name: call.Name, CID: call.CID, Target: d.target, OK: err == nil,
			TimeMS: float64(time.Since(start).Microseconds()) / 1000}
		if err != nil {
			res.Error = publicError(err)
			call.Logger.Warn("pinging the database", "error", err)
		}
		return res, nil
	},
}

// publicError is the text of an error an admin or a caller may see: a
// *service.Error's message, the error's text otherwise (driver errors
// hold no password).
func publicError(err error) string {
	var se *service.Error
	if errors.As(err, &se) {
		return se.Message + ": " + rootCause(se.Cause)
	}
	return err.Error()
}

func rootCause(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}
