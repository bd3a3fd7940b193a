// Package redis connects services to Redis servers: kind outgoing_redis
// is a named, pooled connection (one server, Sentinel or Cluster, with
// TLS) that services use as self.out.redis["Name"].conn in Starlark and
// s.Out().Redis("Name") in Go, with the commands of package kvdb. The
// connection a plexus.yaml kvdb.redis names is also self.kvdb.conn. The
// kind declares self.kvdb too, so that the embedded store and Redis are
// reached the same way.
package redis

import (
	"fmt"
	"net"
	"strconv"
	"time"

	"github.com/plexushq/plexus/internal/config"
	"github.com/plexushq/plexus/internal/kvdb"
	"github.com/plexushq/plexus/internal/registry"
	"github.com/plexushq/plexus/sdk/service"
)

// Kind is the id of outgoing Redis connections.
const Kind = service.KindOutgoingRedis

// Modes of a connection.
const (
	ModeStandalone = "standalone"
	ModeSentinel   = "sentinel"
	ModeCluster    = "cluster"
)

// Outgoing is the configuration of an outgoing Redis connection (Zato's
// field names where Zato has them).
type Outgoing struct {
	Name             string          `json:"name" label:"Name" group:"Connection" placeholder:"sessions" doc:"Unique name of the connection; services use it: self.out.redis[\"sessions\"].conn."`
	IsActive         bool            `json:"is_active" label:"Active" group:"Connection" doc:"Whether the connection is used; an inactive one is not connected, and services using it get 503."`
	Mode             string          `json:"mode" label:"Mode" group:"Connection" enum:"standalone|sentinel|cluster" enum_labels:"One server|Sentinel|Cluster" doc:"How the server is found: standalone connects to host and port; sentinel asks the sentinels for the current master of sentinel_master; cluster discovers a Redis Cluster from host and port and the addresses in nodes."`
	Host             string          `json:"host" required:"true" label:"Host" group:"Connection" placeholder:"redis.example.com" doc:"The server's host name or address (for sentinel mode: a sentinel's; for cluster mode: a node's)."`
	Port             int             `json:"port" label:"Port" group:"Connection" min:"1" max:"65535" doc:"The server's TCP port (for sentinel mode: the sentinel's, usually 26379)."`
	Nodes            []string        `json:"nodes" label:"More nodes" group:"Connection" when:"mode=sentinel|cluster" placeholder:"redis-2.example.com:6379" doc:"More host:port addresses of sentinels or cluster nodes, tried when host and port do not answer."`
	SentinelMaster   string          `json:"sentinel_master" label:"Master name" group:"Connection" when:"mode=sentinel" placeholder:"mymaster" doc:"The name of the master the sentinels watch."`
	SentinelPassword string          `json:"sentinel_password" label:"Sentinel password" group:"Connection" when:"mode=sentinel" widget:"password" secret:"true" doc:"The password of the sentinels themselves, stored encrypted; empty when they need none."`
	DB               int             `json:"db" label:"Database" group:"Connection" min:"0" max:"1000" doc:"The database number selected after connecting (not in cluster mode, which has only 0)."`
	Username         string          `json:"username" label:"Username" group:"Credentials" placeholder:"plexus" doc:"The ACL user the connection logs in as; empty: the default user."`
	Password         string          `json:"password" label:"Password" group:"Credentials" widget:"password" secret:"true" doc:"The password, stored encrypted; empty when the server needs none."`
	TLS              bool            `json:"tls" label:"TLS" group:"TLS" doc:"Whether the connection is encrypted with TLS (rediss://)."`
	TLSCAFile        string          `json:"tls_ca_file" label:"CA file" group:"TLS" when:"tls=true" widget:"file" placeholder:"certs/redis-ca.pem" doc:"PEM file of the CAs that sign the server's certificate; empty: the system's. Relative paths are relative to the environment directory."`
	TLSSkipVerify    bool            `json:"tls_skip_verify" label:"Skip verification" group:"TLS" when:"tls=true" advanced:"true" doc:"Whether the server's certificate is accepted without checking it: only for tests, never in production."`
	PoolSize         int             `json:"pool_size" label:"Pool size" group:"Pool" min:"1" max:"10000" doc:"Most connections open to each server at once; a command waits for a free one up to timeout."`
	Timeout          config.Duration `json:"timeout" label:"Timeout" group:"Pool" min:"1ms" max:"10m" placeholder:"5s" doc:"How long connecting, a command's reply and waiting for a free connection may each take before the command fails with 504."`
	MaxRetries       int             `json:"max_retries" label:"Retries" group:"Pool" min:"0" max:"10" doc:"How many times a command that failed on a broken connection (the server restarted, or closed it) is sent again on a new one before the call fails with 502. Commands are sent again whatever they are: 0 for those that must run at most once."`
	HealthInterval   config.Duration `json:"health_interval" label:"Health check every" group:"Pool" advanced:"true" min:"1s" max:"1h" placeholder:"10s" doc:"How often the server checks the connection with PING, for its status."`
}

// Validate checks what the tags cannot.
func (o *Outgoing) Validate() []error {
	var errs []error
	for _, n := range o.Nodes {
		if _, port, err := net.SplitHostPort(n); err != nil || port == "" {
			errs = append(errs, registry.FieldProblem("nodes", "%q is not a host:port address", n))
		} else if p, err := strconv.Atoi(port); err != nil || p < 1 || p > 65535 {
			errs = append(errs, registry.FieldProblem("nodes", "%q has no valid port", n))
		}
	}
	if o.Mode == ModeSentinel && o.SentinelMaster == "" {
		errs = append(errs, registry.FieldProblem("sentinel_master", "sentinel mode needs the master's name"))
	}
	if o.Mode == ModeCluster && o.DB != 0 {
		errs = append(errs, registry.FieldProblem("db", "a Redis Cluster has only database 0"))
	}
	return errs
}

// addrs returns the addresses the connection starts from.
func (o *Outgoing) addrs() []string {
	return append([]string{net.JoinHostPort(o.Host, strconv.Itoa(o.Port))}, o.Nodes...)
}

// target describes the connection in pings and errors.
func (o *Outgoing) target() string {
	switch o.Mode {
	case ModeSentinel:
		return fmt.Sprintf("sentinel %s master %s", o.addrs()[0], o.SentinelMaster)
	case ModeCluster:
		return "cluster " + o.addrs()[0]
	}
	return fmt.Sprintf("redis %s/%d", o.addrs()[0], o.DB)
}

// Defaults.
const (
	defaultPoolSize       = 10
	defaultTimeout        = 5 * time.Second
	defaultMaxRetries     = 3
	defaultHealthInterval = 10 * time.Second
)

func init() {
	registry.Register(registry.Kind{
		ID:      Kind,
		Title:   "Outgoing Redis connection",
		Summary: "A pooled connection to a Redis server, Sentinel or Cluster, for services' commands: strings, counters, expiry, hashes, lists, sets, sorted sets, scan, pipelines and publish.",
		Aliases: []string{"outconn_redis"},
		ZatoFields: map[string]string{
			// Zato's redis_sentinels is one string of addresses: give them
			// in nodes, with mode sentinel.
			"redis_sentinels": registry.ZatoUnsupported, "redis_sentinels_master": "sentinel_master", "use_redis_sentinels": registry.ZatoUnsupported,
			"ssl": "tls", "ssl_ca_certs": "tls_ca_file", "unix_socket_path": registry.ZatoUnsupported,
		},
		Order: 40,
		New: func() registry.Object {
			return &Outgoing{IsActive: true, Mode: ModeStandalone, Port: 6379, PoolSize: defaultPoolSize,
				Timeout: config.Duration(defaultTimeout), MaxRetries: defaultMaxRetries, HealthInterval: config.Duration(defaultHealthInterval)}
		},
		Examples: []string{
			`{"name": "sessions", "host": "redis.example.com", "port": 6379, "db": 1, "username": "plexus"}`,
			`{"name": "cache", "mode": "sentinel", "host": "sentinel-1.example.com", "port": 26379, "nodes": ["sentinel-2.example.com:26379"], "sentinel_master": "mymaster", "tls": true}`,
			`{"name": "counters", "mode": "cluster", "host": "redis-1.example.com", "nodes": ["redis-2.example.com:6379", "redis-3.example.com:6379"], "pool_size": 50, "timeout": "2s"}`,
		},
		Provision:  provision,
		Out:        &registry.Out{Section: "redis", Resolve: resolve, Starlark: starlarkOut},
		Resources:  map[string]func(registry.State, string) (any, error){kvdb.Kind: kvdb.Resolve},
		Self:       map[string]registry.SelfFunc{"kvdb.conn": kvdb.Self},
		Actions:    []registry.Action{pingAction},
		Collectors: collectors,
	})
}
