// Package security holds security definitions: named, reusable credentials
// (kind security, Zato's section name). Outgoing connections name one in
// their security field and carry its credentials on every call; channels
// will check incoming requests against them.
//
// Each type of definition (basic_auth, apikey, …) is a handler in the types
// table: what it requires and what an outgoing request carries. A new type
// is a new entry in the table and in the Type field's enum tag.
package security

import (
	"encoding/base64"
	"fmt"
	"net/http"
	"slices"
	"strings"

	"github.com/plexushq/plexus/internal/registry"
)

// Kind is the kind id of security definitions.
const Kind = "security"

// DefaultAPIKeyHeader is the header an API key travels in when a
// definition names none.
const DefaultAPIKeyHeader = "X-API-Key"

// Definition is the configuration of a security definition (Zato's field
// names). The fields a type does not use are ignored.
type Definition struct {
	Name     string `json:"name" doc:"Unique name of the definition; connections and channels refer to it by this name."`
	IsActive bool   `json:"is_active" doc:"Whether the definition may be used; an outgoing connection whose definition is inactive refuses calls with 503."`
	Type     string `json:"type" required:"true" enum:"basic_auth|apikey" doc:"What the definition holds: basic_auth (a username and a password, sent as HTTP Basic Auth) or apikey (a key in password, sent in the header the header field names)."`
	Username string `json:"username" doc:"User name, for basic_auth."`
	Password string `json:"password" secret:"true" doc:"The password (basic_auth) or the API key itself (apikey), stored encrypted."`
	Realm    string `json:"realm" doc:"Realm of the WWW-Authenticate challenge sent when a channel checking this definition refuses a request, for basic_auth."`
	Header   string `json:"header" doc:"Header that carries the key, for apikey. Empty means X-API-Key."`
}

// typeSpec is what one type of definition does.
type typeSpec struct {
	// validate checks the fields the type uses.
	validate func(d *Definition) []error
	// outgoing returns the header an outgoing request carries.
	outgoing func(d *Definition) (name, value string)
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
			if d.Password == "" {
				errs = append(errs, registry.FieldProblem("password", "must not be empty for basic_auth"))
			}
			return errs
		},
		outgoing: func(d *Definition) (string, string) {
			return "Authorization", "Basic " + base64.StdEncoding.EncodeToString([]byte(d.Username+":"+d.Password))
		},
	},
	"apikey": {
		validate: func(d *Definition) []error {
			var errs []error
			if d.Password == "" {
				errs = append(errs, registry.FieldProblem("password", "must hold the API key"))
			}
			if d.Header != "" && !ValidHeaderName(d.Header) {
				errs = append(errs, registry.FieldProblem("header", "%q is not a valid HTTP header name", d.Header))
			}
			return errs
		},
		outgoing: func(d *Definition) (string, string) {
			return d.apiKeyHeader(), d.Password
		},
	},
}

func (d *Definition) apiKeyHeader() string {
	if d.Header == "" {
		return DefaultAPIKeyHeader
	}
	return d.Header
}

func init() {
	registry.Register(registry.Kind{
		ID:      Kind,
		Title:   "Security definition",
		Summary: "Named credentials, HTTP Basic Auth or an API key, that outgoing connections send.",
		Aliases: []string{"def_sec"},
		Order:   10,
		New:     func() registry.Object { return &Definition{IsActive: true} },
		Examples: []string{
			`{"name": "billing.creds", "type": "basic_auth", "username": "billing", "password": "secret"}`,
			`{"name": "crm.key", "type": "apikey", "password": "k-123", "header": "X-CRM-Key"}`,
		},
		Start: start,
	})
}

// Validate checks the fields the definition's type uses.
func (d *Definition) Validate() []error {
	spec, ok := types[d.Type]
	if !ok {
		return nil // reported by the enum check
	}
	return spec.validate(d)
}

// Credentials is a security definition's running form: what an outgoing
// request carries. It never shows the secret. It is immutable and safe for
// concurrent use.
type Credentials struct {
	name, typ string
	active    bool
	header    string
	value     string
}

func start(_ *registry.Env, obj registry.Object) (any, error) {
	d := obj.(*Definition)
	c := &Credentials{name: d.Name, typ: d.Type, active: d.IsActive}
	if spec, ok := types[d.Type]; ok {
		c.header, c.value = spec.outgoing(d)
		c.header = http.CanonicalHeaderKey(c.header)
	}
	return c, nil
}

// Name returns the definition's name.
func (c *Credentials) Name() string { return c.name }

// Type returns the definition's type, such as basic_auth.
func (c *Credentials) Type() string { return c.typ }

// Active reports whether the definition may be used.
func (c *Credentials) Active() bool { return c.active }

// Header returns the name of the header the credentials travel in, in
// its canonical form.
func (c *Credentials) Header() string { return c.header }

// Apply sets the credentials on an outgoing request's headers, replacing
// any value the caller set for the same header.
func (c *Credentials) Apply(h http.Header) {
	h[c.header] = []string{c.value}
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
