// Package mongodb connects services to MongoDB: kind outgoing_mongodb
// (Zato's section mongodb) is a named, pooled client that services use as
// Zato's do — self.out.mongodb["CRM"].conn.client in Starlark, with
// PyMongo's database, collection and query methods, and
// s.Out().MongoDB("CRM") in Go, which gives the official Go driver's
// *mongo.Client. The client connects in the background and the
// connection's status follows the driver's view of the servers.
package mongodb

import (
	"fmt"
	"net"
	"net/url"
	"strings"
	"time"

	"github.com/plexushq/plexus/internal/config"
	"github.com/plexushq/plexus/internal/registry"
	"github.com/plexushq/plexus/sdk/service"
)

// Kind is the kind's id.
const Kind = service.KindOutgoingMongoDB

// Outgoing is the configuration of an outgoing MongoDB connection, with
// Zato's field names.
type Outgoing struct {
	Name     string `json:"name" label:"Name" group:"Connection" placeholder:"CRM" doc:"Unique name of the connection; services use it: self.out.mongodb[\"CRM\"].conn.client."`
	IsActive bool   `json:"is_active" label:"Active" group:"Connection" doc:"Whether the connection is used; an inactive one is not connected, and services using it get 503."`

	Address       string `json:"address" label:"Connection string" group:"Servers" placeholder:"mongodb://db1.example.com:27017,db2.example.com:27017/?replicaSet=rs0" doc:"A mongodb:// or mongodb+srv:// connection string, with its options; no password: give it in password. Give this or server_list."`
	ServerList    string `json:"server_list" label:"Servers" group:"Servers" widget:"multiline" placeholder:"db1.example.com:27017" doc:"The servers as host:port, one per line (Zato's form); used when address is empty."`
	ReplicaSet    string `json:"replica_set" label:"Replica set" group:"Servers" placeholder:"rs0" doc:"The name of the replica set the servers form; empty connects to what the servers say they are."`
	AppName       string `json:"app_name" label:"Application name" group:"Servers" advanced:"true" placeholder:"billing" doc:"The name the servers log and show for the connection's clients; empty: plexus."`
	Username      string `json:"username" label:"Username" group:"Credentials" placeholder:"crm" doc:"The user the connection logs in as; empty: no authentication."`
	Password      string `json:"password" label:"Password" group:"Credentials" widget:"password" secret:"true" doc:"The password of username, stored encrypted."`
	AuthSource    string `json:"auth_source" label:"Authentication database" group:"Credentials" placeholder:"admin" doc:"The database that holds the user's credentials; empty: admin."`
	AuthMechanism string `json:"auth_mechanism" label:"Authentication mechanism" group:"Credentials" enum:"|SCRAM-SHA-256|SCRAM-SHA-1|PLAIN|MONGODB-X509" enum_labels:"Negotiated|SCRAM-SHA-256|SCRAM-SHA-1|PLAIN (LDAP)|X.509 certificate" doc:"How the connection authenticates; empty lets the server choose (SCRAM)."`

	PoolSizeMax         int             `json:"pool_size_max" label:"Connections at most" group:"Pool" min:"1" max:"10000" doc:"How many connections to each server the client opens at most; operations beyond wait their turn, within socket_timeout."`
	MaxIdleTime         config.Duration `json:"max_idle_time" label:"Idle time" group:"Pool" advanced:"true" min:"0s" placeholder:"5m" doc:"How long an unused connection is kept open; 0 keeps it."`
	ConnectTimeout      config.Duration `json:"connect_timeout" label:"Connect timeout" group:"Timeouts" min:"1ms" max:"10m" placeholder:"10s" doc:"How long opening a connection may take."`
	SocketTimeout       config.Duration `json:"socket_timeout" label:"Operation timeout" group:"Timeouts" min:"1ms" max:"1h" placeholder:"30s" doc:"How long one operation (a query, an insert, a command), waiting for a connection included, may take before it fails with 504."`
	ServerSelectTimeout config.Duration `json:"server_select_timeout" label:"Server selection timeout" group:"Timeouts" min:"1ms" max:"10m" placeholder:"5s" doc:"How long an operation waits for a server it can use (the primary, for writes) before it fails with 502."`
	HBFrequency         config.Duration `json:"hb_frequency" label:"Heartbeat" group:"Timeouts" advanced:"true" min:"500ms" max:"10m" placeholder:"10s" doc:"How often the client checks each server; the connection's status follows these checks."`

	IsTLSEnabled      bool   `json:"is_tls_enabled" label:"TLS" group:"TLS" doc:"Whether connections use TLS."`
	TLSCACertsFile    string `json:"tls_ca_certs_file" label:"CA certificates" group:"TLS" when:"is_tls_enabled=true" placeholder:"ca.pem" doc:"A PEM file of the certificate authorities that sign the servers' certificates, relative to the environment directory; empty: the system's."`
	TLSCertFile       string `json:"tls_cert_file" label:"Client certificate" group:"TLS" when:"is_tls_enabled=true" placeholder:"client.pem" doc:"A PEM file of the client certificate, for servers that ask for one (and for MONGODB-X509)."`
	TLSPrivateKeyFile string `json:"tls_private_key_file" label:"Client key" group:"TLS" when:"is_tls_enabled=true" placeholder:"client.key" doc:"A PEM file of the client certificate's private key; empty when tls_cert_file holds it."`
	TLSValidate       string `json:"tls_validate" label:"Certificate check" group:"TLS" when:"is_tls_enabled=true" enum:"CERT_REQUIRED|CERT_NONE" enum_labels:"Required|None (insecure)" doc:"Whether the servers' certificates are checked; CERT_NONE accepts any, for tests only."`

	CompressorList        string `json:"compressor_list" label:"Compressors" group:"Advanced" advanced:"true" placeholder:"zstd,snappy" doc:"Comma-separated compressors the client offers the servers: snappy, zlib, zstd; empty: none."`
	WriteTo               string `json:"write_to" label:"Write concern" group:"Advanced" advanced:"true" placeholder:"majority" doc:"How many servers must have a write before it succeeds: a number or majority; empty: the server's default."`
	WriteJournalIsEnabled bool   `json:"write_journal_is_enabled" label:"Journaled writes" group:"Advanced" advanced:"true" doc:"Whether a write succeeds only once it is in the servers' journal."`
	ReadPrefType          string `json:"read_pref_type" label:"Read preference" group:"Advanced" advanced:"true" enum:"primary|primaryPreferred|secondary|secondaryPreferred|nearest" enum_labels:"Primary|Primary preferred|Secondary|Secondary preferred|Nearest" doc:"Which servers of a replica set reads go to."`
	MaxDocuments          int    `json:"max_documents" label:"Documents per result at most" group:"Advanced" min:"1" max:"10000000" doc:"How many documents one find, aggregate or distinct may return to a service; more is an error that asks for a limit. It bounds the memory a query takes."`
}

// Defaults.
const (
	defaultPoolSize            = 100
	defaultConnectTimeout      = 10 * time.Second
	defaultSocketTimeout       = 30 * time.Second
	defaultServerSelectTimeout = 5 * time.Second
	defaultHBFrequency         = 10 * time.Second
	defaultMaxDocuments        = 10000
)

// Validate checks the servers and the options the connection string
// holds.
func (o *Outgoing) Validate() []error {
	var errs []error
	switch {
	case o.Address == "" && strings.TrimSpace(o.ServerList) == "":
		errs = append(errs, registry.FieldProblem("address", "give a mongodb:// connection string in address, or host:port lines in server_list"))
	case o.Address != "" && strings.TrimSpace(o.ServerList) != "":
		errs = append(errs, registry.FieldProblem("server_list", "give address or server_list, not both"))
	case o.Address != "":
		errs = append(errs, checkAddress(o.Address)...)
	default:
		for _, h := range o.servers() {
			if _, port, err := net.SplitHostPort(h); err != nil || port == "" {
				errs = append(errs, registry.FieldProblem("server_list", "%q is not host:port, such as db1.example.com:27017", h))
			}
		}
	}
	for _, c := range o.compressors() {
		if c != "snappy" && c != "zlib" && c != "zstd" {
			errs = append(errs, registry.FieldProblem("compressor_list", "%q is not a compressor: snappy, zlib or zstd", c))
		}
	}
	if o.TLSPrivateKeyFile != "" && o.TLSCertFile == "" {
		errs = append(errs, registry.FieldProblem("tls_cert_file", "a private key needs its certificate"))
	}
	if _, err := options(o, ""); err != nil && len(errs) == 0 {
		errs = append(errs, registry.FieldProblem("address", "%v", err))
	}
	return errs
}

func checkAddress(address string) []error {
	u, err := url.Parse(address)
	if err != nil || (u.Scheme != "mongodb" && u.Scheme != "mongodb+srv") || u.Host == "" {
		return []error{registry.FieldProblem("address", "%q is not a mongodb:// or mongodb+srv:// connection string", redact(address))}
	}
	if u.User != nil {
		if _, ok := u.User.Password(); ok {
			return []error{registry.FieldProblem("address", "the connection string holds a password: give it in password, which is stored encrypted and never shown")}
		}
	}
	return nil
}

// redact returns a connection string without its user information.
func redact(address string) string {
	u, err := url.Parse(address)
	if err != nil || u.User == nil {
		return address
	}
	u.User = nil
	return u.String()
}

// servers returns server_list's lines.
func (o *Outgoing) servers() []string {
	var hosts []string
	for _, l := range strings.Split(o.ServerList, "\n") {
		if l = strings.TrimSpace(l); l != "" {
			hosts = append(hosts, l)
		}
	}
	return hosts
}

func (o *Outgoing) compressors() []string {
	var cs []string
	for _, c := range strings.Split(o.CompressorList, ",") {
		if c = strings.TrimSpace(c); c != "" {
			cs = append(cs, c)
		}
	}
	return cs
}

// target says what the connection connects to, without credentials.
func (o *Outgoing) target() string {
	if o.Address != "" {
		return redact(o.Address)
	}
	return strings.Join(o.servers(), ",")
}

// zatoFields are the fields of Zato's mongodb section that Plexus does
// not use: Python driver options with no equivalent here.
var zatoFields = map[string]string{
	"is_tz_aware": registry.ZatoUnsupported, "document_class": registry.ZatoUnsupported,
	"wait_queue_timeout": registry.ZatoUnsupported, "zlib_level": registry.ZatoUnsupported,
	"tls_crl_file": registry.ZatoUnsupported, "tls_version": registry.ZatoUnsupported,
	"tls_pem_passphrase": registry.ZatoUnsupported, "tls_match_hostname_is_enabled": registry.ZatoUnsupported,
	"write_fsync_is_enabled": registry.ZatoUnsupported, "read_pref_tag_list": registry.ZatoUnsupported,
	"read_pref_max_stale": registry.ZatoUnsupported, "write_timeout": registry.ZatoUnsupported,
}

func init() {
	registry.Register(registry.Kind{
		ID:         Kind,
		Title:      "Outgoing MongoDB connection",
		Summary:    "A pooled client of a MongoDB deployment (a server, a replica set or a sharded cluster) that services query by name.",
		Aliases:    []string{"mongodb", "outconn_mongodb"},
		ZatoFields: zatoFields,
		Order:      40,
		New: func() registry.Object {
			return &Outgoing{IsActive: true, PoolSizeMax: defaultPoolSize, TLSValidate: "CERT_REQUIRED", ReadPrefType: "primary",
				ConnectTimeout: config.Duration(defaultConnectTimeout), SocketTimeout: config.Duration(defaultSocketTimeout),
				ServerSelectTimeout: config.Duration(defaultServerSelectTimeout), HBFrequency: config.Duration(defaultHBFrequency),
				MaxDocuments: defaultMaxDocuments}
		},
		Examples: []string{
			`{"name": "CRM", "server_list": "127.0.0.1:27017", "username": "crm", "auth_source": "crm"}`,
			`{"name": "Orders", "address": "mongodb://db1.example.com:27017,db2.example.com:27017/?replicaSet=rs0", "username": "orders", "is_tls_enabled": true, "tls_ca_certs_file": "ca.pem", "pool_size_max": 50, "socket_timeout": "5s", "write_to": "majority", "read_pref_type": "secondaryPreferred"}`,
		},
		Provision:  provision,
		Out:        &registry.Out{Section: "mongodb", Resolve: resolve, Starlark: starlarkValue},
		Actions:    []registry.Action{pingAction},
		Collectors: collectors,
	})
}

// String is for logs: never the password.
func (o *Outgoing) String() string { return fmt.Sprintf("%s (%s)", o.Name, o.target()) }
