// Package security holds security definitions: named, reusable credentials
// (kind security, Zato's section name) and security groups (kind groups).
// Outgoing connections name a definition in their security field and carry
// its credentials on every call; channels name a definition or groups and
// check every request against them.
//
// Each type of definition (basic_auth, apikey, jwt, bearer_token, mtls) is
// a handler in the types table: what it requires, what an incoming request
// must carry and what an outgoing request carries. A new type is a new
// entry in the table and in the Type field's enum tag.
package security

import (
	"crypto/sha256"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/plexushq/plexus/internal/config"
	"github.com/plexushq/plexus/internal/ratelimit"
	"github.com/plexushq/plexus/internal/redact"
	"github.com/plexushq/plexus/internal/registry"
	"github.com/plexushq/plexus/sdk/service"
)

// Kind is the kind id of security definitions.
const Kind = "security"

// DefaultAPIKeyHeader is the header an API key travels in when a
// definition names none.
const DefaultAPIKeyHeader = "X-API-Key"

// DefaultTTL is how long a jwt session lives without use when its
// definition sets no ttl.
const DefaultTTL = time.Hour

// Definition is the configuration of a security definition (Zato's field
// names). The fields a type does not use are ignored.
type Definition struct {
	Name     string `json:"name" label:"Name" group:"Definition" placeholder:"billing.creds" doc:"Unique name of the definition; connections, channels and groups refer to it by this name."`
	IsActive bool   `json:"is_active" label:"Active" group:"Definition" doc:"Whether the definition may be used; a channel checking an inactive definition refuses every request (401), and an outgoing connection using one refuses calls with 503."`
	Type     string `json:"type" label:"Type" group:"Definition" enum_labels:"HTTP Basic Auth|API key|Plexus JWT sessions|Bearer token|Client certificate" required:"true" enum:"basic_auth|apikey|jwt|bearer_token|mtls" doc:"What the definition holds: basic_auth (a username and password, HTTP Basic Auth), apikey (a key in password, sent in the header the header field names), jwt (Plexus-issued session tokens for username and password, see POST /plexus/jwt/log-in), bearer_token (external JWTs checked against a JWKS, a static token, or OAuth2 client credentials for outgoing calls) or mtls (a client certificate presented to the TLS listener)."`
	Username string `json:"username" label:"Username or client ID" group:"Credentials" when:"type=basic_auth|jwt|bearer_token" doc:"User name, for basic_auth and jwt; the OAuth2 client ID, for bearer_token with auth_server_url."`
	Password string `json:"password" label:"Password, key or client secret" group:"Credentials" widget:"password" when:"type=basic_auth|apikey|jwt|bearer_token" secret:"true" doc:"The password (basic_auth, jwt), the API key itself (apikey) or the OAuth2 client secret (bearer_token with auth_server_url), stored encrypted. Change it with POST /admin/api/v1/objects/security/{name}/password or plexus security change-password. A basic_auth, apikey or bearer_token definition may be made without one: it then authenticates nobody and outgoing calls using it fail with 503 until one is set."`
	Realm    string `json:"realm" label:"Realm" group:"Credentials" advanced:"true" when:"type=basic_auth" placeholder:"Plexus" doc:"Realm of the WWW-Authenticate challenge sent when a channel checking this definition refuses a request, for basic_auth."`
	Header   string `json:"header" label:"Header" group:"Credentials" when:"type=apikey" placeholder:"X-API-Key" doc:"Header that carries the key, for apikey. Empty means X-API-Key."`

	TTL config.Duration `json:"ttl" label:"Session lifetime" group:"Credentials" when:"type=jwt" placeholder:"1h" doc:"How long a jwt session token lives without use, e.g. 30m or a number of seconds; every request it authenticates extends it by this much again. Empty (0) means 1h."`

	StaticToken       string   `json:"static_token" label:"Static token" group:"Bearer token" when:"type=bearer_token" secret:"true" doc:"A fixed bearer token, for bearer_token: outgoing calls send it, and channels admit requests carrying exactly it. Stored encrypted."`
	StaticHeader      string   `json:"static_header" label:"Token header" group:"Bearer token" advanced:"true" when:"type=bearer_token" placeholder:"Authorization" doc:"Header a static_token or an OAuth2 token is sent in, for bearer_token. Empty means Authorization."`
	StaticPrefix      string   `json:"static_prefix" label:"Token prefix" group:"Bearer token" advanced:"true" when:"type=bearer_token" placeholder:"Bearer" doc:"Word sent before the token in static_header, for bearer_token. Empty means Bearer; - sends the token alone."`
	AuthServerURL     string   `json:"auth_server_url" label:"OAuth2 token endpoint" group:"OAuth2 client credentials" when:"type=bearer_token" placeholder:"https://idp.example.com/oauth/token" doc:"OAuth2 token endpoint, for bearer_token: outgoing calls get a token there with the client credentials grant (username is the client ID, password the client secret) and send it until shortly before it expires."`
	ClientIDField     string   `json:"client_id_field" label:"Client ID field" group:"OAuth2 client credentials" advanced:"true" when:"type=bearer_token" placeholder:"client_id" doc:"Name of the form or JSON field that carries the client ID in the token request, for bearer_token. Empty means client_id."`
	ClientSecretField string   `json:"client_secret_field" label:"Client secret field" group:"OAuth2 client credentials" advanced:"true" when:"type=bearer_token" placeholder:"client_secret" doc:"Name of the field that carries the client secret in the token request, for bearer_token. Empty means client_secret."`
	GrantType         string   `json:"grant_type" label:"Grant type" group:"OAuth2 client credentials" advanced:"true" when:"type=bearer_token" placeholder:"client_credentials" doc:"OAuth2 grant type of the token request, for bearer_token. Empty means client_credentials."`
	Scopes            []string `json:"scopes" label:"Scopes" group:"OAuth2 client credentials" when:"type=bearer_token" doc:"OAuth2 scopes asked for in the token request (sent space-separated), for bearer_token."`
	ExtraFields       []string `json:"extra_fields" label:"Extra fields" group:"OAuth2 client credentials" advanced:"true" when:"type=bearer_token" doc:"More fields of the token request, each name=value, for bearer_token (an audience or resource some servers want)."`
	DataFormat        string   `json:"data_format" label:"Token request format" group:"OAuth2 client credentials" advanced:"true" when:"type=bearer_token" enum_labels:"URL-encoded form|JSON" enum:"form|json" doc:"How the token request is encoded, for bearer_token: form (application/x-www-form-urlencoded, the OAuth2 standard, and the default) or json."`
	Issuer            string   `json:"issuer" label:"Issuer" group:"Incoming JWTs" when:"type=bearer_token" placeholder:"https://idp.example.com/" doc:"Expected iss claim of incoming JWTs, for bearer_token with jwks_url; empty accepts any issuer."`
	Audience          string   `json:"audience" label:"Audience" group:"Incoming JWTs" when:"type=bearer_token" doc:"Expected aud claim of incoming JWTs, for bearer_token with jwks_url (required with it)."`
	JWKSURL           string   `json:"jwks_url" label:"JWKS URL" group:"Incoming JWTs" when:"type=bearer_token" placeholder:"https://idp.example.com/.well-known/jwks.json" doc:"URL of the JSON Web Key Set that signs incoming JWTs (or of an OpenID configuration naming one), for bearer_token: channels then admit requests with Authorization: Bearer and a JWT signed with RS256 or ES256 by one of its keys, unexpired, for audience (and issuer)."`
	Claims            []string `json:"claims" label:"Required claims" group:"Incoming JWTs" when:"type=bearer_token" doc:"Claims incoming JWTs must carry, for bearer_token with jwks_url: name (present) or name=value (equal, or contained when the claim is a list)."`

	ClientCertFingerprint string `json:"client_cert_fingerprint" label:"Certificate fingerprint (SHA-256)" group:"Client certificate" when:"type=mtls" doc:"SHA-256 fingerprint of the admitted client certificate, in hex (colons and case ignored), for mtls; empty admits any certificate the listener's client CA verified that matches client_cert_subject_dn."`
	ClientCertSubjectDN   string `json:"client_cert_subject_dn" label:"Certificate subject" group:"Client certificate" when:"type=mtls" placeholder:"CN=billing,O=Example" doc:"Subject of the admitted client certificate, e.g. CN=billing,O=Example (spaces after commas and case ignored), for mtls."`

	RateLimiting ratelimit.Rules `json:"rate_limiting" label:"Rate limits" group:"Rate limits" doc:"Rate limits of the identity, checked after authentication on every channel that uses the definition and keyed by the definition, with the client address choosing the rule; an address no rule matches is refused (403). Empty: no limit."`
}

// typeSpec is what one type of definition does.
type typeSpec struct {
	// validate checks the fields the type uses.
	validate func(d *Definition) []error
	// outgoing returns the header an outgoing request carries; nil when
	// the type sends nothing static.
	outgoing func(d *Definition) (name, value string)
	// inbound checks an incoming request against the definition.
	inbound func(c *Credentials, in *Inbound) (username string, res Result)
	// challenge is the WWW-Authenticate value of a refusal, or "".
	challenge func(d *Definition) string
	// passwordless types have no password to change.
	passwordless bool
}

// types holds every type of definition, keyed by its id. It is never
// changed after initialisation.
var types = map[string]typeSpec{
	"basic_auth": {
		validate: func(d *Definition) []error {
			var errs []error
			if d.Username == "" {
				errs = append(errs, registry.FieldProblem("username", "must not be empty for basic_auth"))
			}
			if strings.Contains(d.Username, ":") {
				errs = append(errs, registry.FieldProblem("username", "must not contain a colon: HTTP Basic Auth separates the username from the password with one"))
			}
			return errs
		},
		outgoing: func(d *Definition) (string, string) {
			return "Authorization", basicValue(d.Username, d.Password)
		},
		inbound:   basicInbound,
		challenge: func(d *Definition) string { return basicChallenge(d.Realm) },
	},
	"apikey": {
		validate: func(d *Definition) []error {
			var errs []error
			if d.Header != "" && !ValidHeaderName(d.Header) {
				errs = append(errs, registry.FieldProblem("header", "%s is not a valid HTTP header name", redact.Quote(d.Header)))
			}
			return errs
		},
		outgoing: func(d *Definition) (string, string) {
			return d.apiKeyHeader(), d.Password
		},
		inbound:   apiKeyInbound,
		challenge: func(*Definition) string { return "" },
	},
	"jwt": {
		validate: func(d *Definition) []error {
			var errs []error
			if d.Username == "" {
				errs = append(errs, registry.FieldProblem("username", "must not be empty for jwt"))
			}
			if d.Password == "" {
				errs = append(errs, registry.FieldProblem("password", "must not be empty for jwt"))
			}
			if d.TTL != 0 && d.TTL.D() < time.Second {
				errs = append(errs, registry.FieldProblem("ttl", "must be at least 1s"))
			}
			return errs
		},
		inbound:   sessionInbound,
		challenge: func(*Definition) string { return "Bearer" },
	},
	"bearer_token": {
		validate:  validateBearer,
		outgoing:  staticOutgoing,
		inbound:   bearerInbound,
		challenge: func(*Definition) string { return "Bearer" },
	},
	"mtls": {
		validate: func(d *Definition) []error {
			if d.ClientCertFingerprint != "" {
				if _, err := parseFingerprint(d.ClientCertFingerprint); err != nil {
					return []error{registry.FieldProblem("client_cert_fingerprint", "%v", err)}
				}
			}
			return nil
		},
		inbound:      mtlsInbound,
		challenge:    func(*Definition) string { return "" },
		passwordless: true,
	},
}

// lacksPassword reports whether the definition needs a password it does
// not have: a basic_auth or apikey definition, or a bearer_token one with
// auth_server_url, made without one (as Zato's enmasse files allow). It
// authenticates nobody and sends nothing until one is set.
func (d *Definition) lacksPassword() bool {
	return d.Password == "" && (d.Type == "basic_auth" || d.Type == "apikey" || d.Type == "bearer_token" && d.AuthServerURL != "")
}

func (d *Definition) apiKeyHeader() string {
	if d.Header == "" {
		return DefaultAPIKeyHeader
	}
	return d.Header
}

// validateBearer checks a bearer_token definition: it must say what it is
// for (a static token, a JWKS, or an OAuth2 token endpoint), and each use
// needs its fields.
func validateBearer(d *Definition) []error {
	var errs []error
	if d.StaticToken == "" && d.JWKSURL == "" && d.AuthServerURL == "" {
		errs = append(errs, registry.FieldProblem("type", "bearer_token needs static_token, jwks_url or auth_server_url"))
	}
	if d.StaticToken != "" && d.AuthServerURL != "" {
		errs = append(errs, registry.FieldProblem("static_token", "a definition sends either a static_token or tokens from auth_server_url, not both"))
	}
	for _, f := range []struct{ name, url string }{{"jwks_url", d.JWKSURL}, {"auth_server_url", d.AuthServerURL}} {
		if f.url != "" && !httpURL(f.url) {
			errs = append(errs, registry.FieldProblem(f.name, "%s is not an http:// or https:// URL", redact.Quote(f.url)))
		}
	}
	if d.JWKSURL != "" && d.Audience == "" {
		errs = append(errs, registry.FieldProblem("audience", "must not be empty with jwks_url: a token issued for another API must not pass"))
	}
	if d.AuthServerURL != "" && d.Username == "" {
		errs = append(errs, registry.FieldProblem("username", "with auth_server_url, username holds the OAuth2 client ID (and password the client secret); it must not be empty"))
	}
	if d.StaticHeader != "" && !ValidHeaderName(d.StaticHeader) {
		errs = append(errs, registry.FieldProblem("static_header", "%s is not a valid HTTP header name", redact.Quote(d.StaticHeader)))
	}
	if strings.ContainsAny(d.StaticPrefix+d.StaticToken, "\r\n\x00") {
		errs = append(errs, registry.FieldProblem("static_token", "must not contain line breaks"))
	}
	for _, c := range d.Claims {
		if name, _, _ := strings.Cut(c, "="); strings.TrimSpace(name) == "" {
			errs = append(errs, registry.FieldProblem("claims", "%s: expected name or name=value", redact.Quote(c)))
		}
	}
	for _, f := range d.ExtraFields {
		if name, _, ok := strings.Cut(f, "="); !ok || name == "" {
			errs = append(errs, registry.FieldProblem("extra_fields", "%s: expected name=value", redact.Quote(f)))
		}
	}
	return errs
}

func httpURL(s string) bool {
	return strings.HasPrefix(s, "http://") && len(s) > len("http://") || strings.HasPrefix(s, "https://") && len(s) > len("https://")
}

// staticOutgoing is the header of a bearer_token with a static token.
func staticOutgoing(d *Definition) (string, string) {
	if d.StaticToken == "" {
		return "", ""
	}
	return d.tokenHeader(), d.tokenValue(d.StaticToken)
}

func (d *Definition) tokenHeader() string {
	if d.StaticHeader == "" {
		return "Authorization"
	}
	return d.StaticHeader
}

func (d *Definition) tokenValue(token string) string {
	prefix := d.StaticPrefix
	if prefix == "" {
		prefix = "Bearer"
	}
	if prefix == "-" {
		return token
	}
	return prefix + " " + token
}

// ttl returns the life of a jwt session without use.
func (d *Definition) ttl() time.Duration {
	if d.TTL == 0 {
		return DefaultTTL
	}
	return d.TTL.D()
}

// field returns a value, or its default when it is empty.
func field(v, def string) string {
	if v == "" {
		return def
	}
	return v
}

func init() {
	registry.Register(registry.Kind{
		ID:      Kind,
		Title:   "Security definition",
		Summary: "Named credentials that channels check and outgoing connections send: HTTP Basic Auth, API keys, Plexus JWT sessions, bearer tokens (JWKS, static, OAuth2) and client certificates.",
		Aliases: []string{"def_sec"},
		ZatoFields: map[string]string{
			"auth_endpoint": "auth_server_url",
			"id":            registry.ZatoUnsupported, "is_static_token": registry.ZatoUnsupported,
			"quota_tier": registry.ZatoRefused,
			"cert_path":  registry.ZatoUnsupported, "key_path": registry.ZatoUnsupported, "ca_certs_path": registry.ZatoUnsupported,
			"is_rate_limit_active": registry.ZatoUnsupported, "rate_limit_type": registry.ZatoUnsupported,
			"rate_limit_def": registry.ZatoRefused, "rate_limit_check_parent_def": registry.ZatoUnsupported,
		},
		// Types of Zato 3.2 and current Zato (ZATO-BEHAVIOUR §6.1) that
		// Plexus does not have yet.
		ZatoSkipped: map[string]map[string]string{"type": {
			"ntlm": "NTLM", "spnego": "SPNEGO, Kerberos", "wss": "WS-Security",
			"aws": "AWS credentials", "xpath_sec": "XPath security", "vault_conn_sec": "Vault connections",
			"tls_channel_sec": "TLS channel security", "tls_key_cert": "TLS keys and certificates",
		}},
		Order: 10,
		New: func() registry.Object {
			return &Definition{IsActive: true}
		},
		Examples: []string{
			`{"name": "billing.creds", "type": "basic_auth", "username": "billing", "password": "secret", "realm": "Billing"}`,
			`{"name": "crm.key", "type": "apikey", "password": "k-123", "header": "X-CRM-Key"}`,
			`{"name": "app.sessions", "type": "jwt", "username": "frontend", "password": "s3cret", "ttl": "30m"}`,
			`{"name": "partners", "type": "bearer_token", "jwks_url": "https://idp.example.com/.well-known/jwks.json", "issuer": "https://idp.example.com/", "audience": "plexus", "claims": ["scope=orders"]}`,
			`{"name": "erp.oauth", "type": "bearer_token", "auth_server_url": "https://idp.example.com/oauth/token", "username": "client-id", "password": "client-secret", "scopes": ["erp.read"]}`,
			`{"name": "billing.cert", "type": "mtls", "client_cert_subject_dn": "CN=billing,O=Example"}`,
			`{"name": "public.api", "type": "apikey", "password": "k-456", "rate_limiting": [{"rate": 10, "burst": 20}]}`,
		},
		Check:     checkDefinitions,
		Provision: provision,
		Resources: map[string]func(registry.State, string) (any, error){service.KindJWT: createJWT},
		Self:      map[string]registry.SelfFunc{"security.jwt": selfJWT},
		Actions:   []registry.Action{changePassword},
	})
}

// Validate checks the fields the definition's type uses.
func (d *Definition) Validate() []error {
	spec, ok := types[d.Type]
	if !ok {
		return nil // the type is reported by the enum check
	}
	return spec.validate(d)
}

// checkDefinitions refuses two jwt definitions with one username: log-in
// finds the definition by the username it is sent.
func checkDefinitions(objs []registry.Object) []error {
	seen := map[string]string{}
	var errs []error
	for _, o := range objs {
		d := o.(*Definition)
		if d.Type != "jwt" || d.Username == "" {
			continue
		}
		if prev, dup := seen[d.Username]; dup {
			errs = append(errs, &registry.Problem{Name: d.Name, Field: "username",
				Message: fmt.Sprintf("jwt definition %q already has username %q: log-in finds definitions by username", prev, d.Username)})
			continue
		}
		seen[d.Username] = d.Name
	}
	return errs
}

// Credentials is a security definition's running form: what an outgoing
// request carries and what an incoming request is checked against. It
// keeps digests of the secrets it checks, never shows them, and holds the
// definition's rate limiter, so usage survives changes to other objects.
// It is safe for concurrent use.
type Credentials struct {
	name, typ string
	active    bool
	spec      typeSpec
	def       *Definition
	header    string
	value     string

	// Digests of what an incoming request must carry.
	userDigest, secretDigest [32]byte
	fingerprint              []byte
	subjectDN                string
	limiter                  *ratelimit.Limiter
	keys                     *keySet
	claims                   []claim
	tokens                   *tokenSource
}

func provision(_ *registry.Env, obj registry.Object) (any, error) {
	d := obj.(*Definition)
	c := &Credentials{name: d.Name, typ: d.Type, active: d.IsActive, def: d}
	spec, ok := types[d.Type]
	if !ok {
		return nil, fmt.Errorf("unknown type %q", d.Type)
	}
	c.spec = spec
	if spec.outgoing != nil {
		c.header, c.value = spec.outgoing(d)
		if c.header != "" {
			c.header = http.CanonicalHeaderKey(c.header)
		}
	}
	c.userDigest = sha256.Sum256([]byte(d.Username))
	switch d.Type {
	case "bearer_token":
		c.secretDigest = sha256.Sum256([]byte(d.StaticToken))
		if d.JWKSURL != "" {
			c.keys = newKeySet(d.JWKSURL)
			c.claims = parseClaims(d.Claims)
		}
		if d.AuthServerURL != "" {
			c.tokens = newTokenSource(d)
			c.header = http.CanonicalHeaderKey(d.tokenHeader())
		}
	case "mtls":
		c.fingerprint, _ = parseFingerprint(d.ClientCertFingerprint)
		c.subjectDN = normalizeDN(d.ClientCertSubjectDN)
	default:
		c.secretDigest = sha256.Sum256([]byte(d.Password))
	}
	var err error
	if c.limiter, err = ratelimit.New(d.RateLimiting); err != nil {
		return nil, registry.FieldProblem("rate_limiting", "%v", err)
	}
	return c, nil
}

// Name returns the definition's name.
func (c *Credentials) Name() string { return c.name }

// Login returns the username and password of a basic_auth definition,
// for connections that log in to a server with them (a message broker);
// ok is false for the other types.
func (c *Credentials) Login() (username, password string, ok bool) {
	if c.typ != "basic_auth" {
		return "", "", false
	}
	return c.def.Username, c.def.Password, true
}

// Type returns the definition's type, such as basic_auth.
func (c *Credentials) Type() string { return c.typ }

// Active reports whether the definition may be used.
func (c *Credentials) Active() bool { return c.active }

// Header returns the name of the header the credentials travel in on
// outgoing calls, in its canonical form, or "" when the type sends none.
func (c *Credentials) Header() string { return c.header }

// Limiter returns the definition's rate limiter; it admits everything
// when the definition has no rules.
func (c *Credentials) Limiter() *ratelimit.Limiter { return c.limiter }

// Challenge returns the WWW-Authenticate value a refusal carries, or "".
func (c *Credentials) Challenge() string { return c.spec.challenge(c.def) }

// Apply sets the static credentials on an outgoing request's headers,
// replacing any value the caller set for the same header. Types whose
// credentials are fetched (OAuth2) need Authorize.
func (c *Credentials) Apply(h http.Header) {
	if c.header != "" && c.value != "" {
		h[c.header] = []string{c.value}
	}
}

// String describes the credentials without their secret.
func (c *Credentials) String() string {
	return fmt.Sprintf("security definition %q (%s)", c.name, c.typ)
}

// Types returns the ids of the known types of definition, sorted.
func Types() []string {
	ids := make([]string, 0, len(types))
	for id := range types {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	return ids
}

// HasPassword reports whether definitions of a type hold a password that
// change-password can set.
func HasPassword(typ string) bool {
	spec, ok := types[typ]
	return ok && !spec.passwordless
}

// ValidHeaderName reports whether s is an HTTP header field name (an RFC
// 9110 token).
func ValidHeaderName(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9':
		case strings.IndexByte("!#$%&'*+-.^_`|~", c) >= 0:
		default:
			return false
		}
	}
	return true
}
