// Package sqlconn connects services to SQL databases — PostgreSQL
// (pgx), MySQL and MariaDB (go-sql-driver/mysql) and SQLite
// (modernc.org/sqlite) — through kind outgoing_sql (Zato's sql and
// outconn_sql): a pool of connections per object, which services query
// with named parameters from Go (s.Out().SQL("CRM").Execute) and
// Starlark (self.out.sql["CRM"].conn.execute), rows coming back as maps
// with the types docs/sql.md lists. The pool connects on first use;
// its Run checks the database in the background and reports the
// object's status, and its metrics show the pool's use.
package sqlconn

import (
	"fmt"
	"strings"
	"time"

	"github.com/plexushq/plexus/internal/config"
	"github.com/plexushq/plexus/internal/registry"
	"github.com/plexushq/plexus/sdk/service"
)

// Kind is the kind id.
const Kind = service.KindOutgoingSQL

// TLS modes.
const (
	TLSDisable = "disable"
	TLSRequire = "require"
	TLSVerify  = "verify"
)

// Config is the configuration of an outgoing SQL connection (Zato's field
// names, where Zato has the field).
type Config struct {
	Name           string          `json:"name" label:"Name" group:"Connection" placeholder:"CRM" doc:"Unique name of the connection; services use it: self.out.sql[\"CRM\"].conn."`
	IsActive       bool            `json:"is_active" label:"Active" group:"Connection" doc:"Whether the connection is used; an inactive one is not connected, and services using it get 503."`
	Engine         string          `json:"engine" required:"true" label:"Database" group:"Connection" enum:"postgresql|mysql|sqlite" enum_labels:"PostgreSQL|MySQL or MariaDB|SQLite" doc:"The database's engine: postgresql, mysql (MySQL and MariaDB) or sqlite."`
	Host           string          `json:"host" label:"Host" group:"Connection" when:"engine=postgresql|mysql" placeholder:"db.example.com" doc:"The database server's host name or address; empty: localhost."`
	Port           int             `json:"port" label:"Port" group:"Connection" when:"engine=postgresql|mysql" min:"0" max:"65535" placeholder:"5432" doc:"The database server's port; 0: the engine's own (5432, 3306)."`
	DBName         string          `json:"db_name" required:"true" label:"Database name" group:"Connection" placeholder:"crm" doc:"The database to use; for SQLite, the file's path (relative to the environment directory) or :memory:."`
	Username       string          `json:"username" label:"Username" group:"Credentials" when:"engine=postgresql|mysql" placeholder:"crm" doc:"The user the connection logs in as."`
	Password       string          `json:"password" label:"Password" group:"Credentials" when:"engine=postgresql|mysql" widget:"password" secret:"true" doc:"The password of username, stored encrypted."`
	PoolSize       int             `json:"pool_size" label:"Pool size" group:"Pool" min:"1" max:"1000" doc:"The most connections open to the database at once; statements beyond wait for one, within their timeout."`
	ConnectTimeout config.Duration `json:"connect_timeout" label:"Connect timeout" group:"Timeouts" min:"1ms" max:"10m" placeholder:"10s" doc:"Longest time opening a connection may take."`
	QueryTimeout   config.Duration `json:"query_timeout" label:"Query timeout" group:"Timeouts" min:"1ms" max:"24h" placeholder:"30s" doc:"Longest time one statement may take, waiting for a connection included; a service may give another for one call. Past it the statement is cancelled and the call fails with 504."`
	MaxRows        int             `json:"max_rows" label:"Most rows" group:"Timeouts" min:"1" max:"10000000" doc:"The most rows one query may return; a query returning more fails, naming this setting, rather than filling the server's memory."`
	PingInterval   config.Duration `json:"ping_interval" label:"Check every" group:"Timeouts" advanced:"true" min:"1s" max:"1h" placeholder:"30s" doc:"How often the server checks the database in the background; the object's status shows the outcome."`
	TLS            string          `json:"tls" label:"TLS" group:"TLS" when:"engine=postgresql|mysql" enum:"disable|require|verify" enum_labels:"No TLS|TLS, certificate not checked|TLS, certificate checked" doc:"Whether the connection uses TLS: disable, require (encrypted, the server's certificate not checked) or verify (encrypted, the certificate checked against tls_ca_file or the system's roots, and the host name)."`
	TLSCAFile      string          `json:"tls_ca_file" label:"CA file" group:"TLS" when:"tls=verify" widget:"file" placeholder:"certs/db-ca.pem" doc:"PEM file of the certificate authorities the server's certificate is checked against (relative to the environment directory); empty: the system's."`
	TLSServerName  string          `json:"tls_server_name" label:"Server name" group:"TLS" when:"tls=verify" advanced:"true" placeholder:"db.example.com" doc:"The name the server's certificate must hold; empty: host."`
	Extra          []string        `json:"extra" label:"Extra options" group:"Advanced" advanced:"true" placeholder:"search_path=crm" doc:"The driver's further options, each key=value: PostgreSQL run-time parameters such as search_path, MySQL DSN parameters and system variables, SQLite URI parameters such as _pragma=foreign_keys(1)."`
}

// Validate checks the engine's fields and the extra options.
func (c *Config) Validate() []error {
	var errs []error
	if c.Engine == EngineSQLite && c.TLS != "" && c.TLS != TLSDisable {
		errs = append(errs, registry.FieldProblem("tls", "SQLite is a file: it has no TLS"))
	}
	if _, err := c.extras(); err != nil {
		errs = append(errs, registry.FieldProblem("extra", "%v", err))
	}
	return errs
}

// extras returns the extra options as key and value pairs.
func (c *Config) extras() ([][2]string, error) {
	var out [][2]string
	for _, item := range c.Extra {
		for line := range strings.SplitSeq(item, "\n") {
			line = strings.TrimSpace(line)
			if line == "" || strings.HasPrefix(line, "#") {
				continue
			}
			k, v, ok := strings.Cut(line, "=")
			if !ok || strings.TrimSpace(k) == "" {
				return nil, fmt.Errorf("%q is not key=value", line)
			}
			out = append(out, [2]string{strings.TrimSpace(k), strings.TrimSpace(v)})
		}
	}
	return out, nil
}

// Defaults.
const (
	defaultPoolSize       = 10
	defaultConnectTimeout = 10 * time.Second
	defaultQueryTimeout   = 30 * time.Second
	defaultMaxRows        = 10000
	defaultPingInterval   = 30 * time.Second
)

// zatoEngines are Zato's names of the engines Plexus supports, as
// SQLAlchemy spells them, and zatoSkippedEngines the engines Plexus does
// not support yet.
var (
	zatoEngines = map[string]string{
		"mysql+pymysql": EngineMySQL, "mysql+mysqldb": EngineMySQL,
		"postgresql+pg8000": EnginePostgreSQL, "postgresql+psycopg2": EnginePostgreSQL,
	}
	zatoSkippedEngines = map[string]string{
		"oracle": "Oracle connections", "mssql": "Microsoft SQL Server connections", "mssql+pymssql": "Microsoft SQL Server connections",
		"snowflake": "Snowflake connections", "redshift": "Amazon Redshift connections",
	}
)

// zatoFields are the fields of Zato's sql sections that Plexus spells
// differently or does not use.
var zatoFields = map[string]string{
	"type":                "engine",
	"engine_display_name": registry.ZatoUnsupported,
	"timeout":             "query_timeout",
	"ssl":                 registry.ZatoUnsupported,
	"ssl_ca_file":         "tls_ca_file",
}

func init() {
	registry.Register(registry.Kind{
		ID:          Kind,
		Title:       "Outgoing SQL connection",
		Summary:     "A pool of connections to a SQL database (PostgreSQL, MySQL or MariaDB, SQLite) that services query with named parameters.",
		Aliases:     []string{"sql", "outconn_sql"},
		ZatoFields:  zatoFields,
		ZatoValues:  map[string]map[string]string{"engine": zatoEngines},
		ZatoSkipped: map[string]map[string]string{"engine": zatoSkippedEngines},
		Order:       40,
		New: func() registry.Object {
			return &Config{IsActive: true, PoolSize: defaultPoolSize, ConnectTimeout: config.Duration(defaultConnectTimeout),
				QueryTimeout: config.Duration(defaultQueryTimeout), MaxRows: defaultMaxRows,
				PingInterval: config.Duration(defaultPingInterval), TLS: TLSDisable}
		},
		Examples: []string{
			`{"name": "CRM", "engine": "postgresql", "host": "db.example.com", "db_name": "crm", "username": "crm", "password": "${CRM_DB_PASSWORD}"}`,
			`{"name": "Billing", "engine": "mysql", "host": "10.0.0.7", "port": 3306, "db_name": "billing", "username": "billing", "pool_size": 20, "query_timeout": "5s", "tls": "verify", "tls_ca_file": "certs/billing-ca.pem"}`,
			`{"name": "Local", "engine": "sqlite", "db_name": "data/local.db", "extra": ["_pragma=foreign_keys(1)"]}`,
		},
		Provision: provision,
		Update:    update,
		// The old pool is closed as soon as the change is published: its
		// idle connections at once, the rest once the statements and
		// transactions in progress on them finish. New calls use the
		// new pool, which connects as they need, so the two pools
		// together hold no more connections than are in use; a service
		// that got the old pool before the change runs its next
		// statements on the new one (TakeOver).
		Swap:       registry.Handover,
		Out:        &registry.Out{Section: "sql", Resolve: resolve, Starlark: starlarkValue},
		Actions:    []registry.Action{pingAction},
		Collectors: collectors,
	})
}
