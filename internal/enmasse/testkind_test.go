package enmasse_test

import (
	"time"

	"github.com/plexushq/plexus/internal/config"
	"github.com/plexushq/plexus/internal/registry"
)

// testKind is a kind registered only in this package's tests. It has what
// the kinds registered so far lack - secrets (nested ones too), structs,
// lists of structs, maps, numbers, durations, a reference to another kind
// and Zato field names - so that enmasse is tested on every shape a later
// kind may have.
const testKind = "test_credentials"

// testKinds are the kinds the round-trip fixture of real kinds leaves out.
var testKinds = map[string]bool{testKind: true}

type testCredentials struct {
	Name     string            `json:"name" doc:"Unique name."`
	IsActive bool              `json:"is_active" doc:"Whether it is used."`
	Username string            `json:"username" doc:"User name."`
	Password string            `json:"password" secret:"true" doc:"Password."`
	Channel  string            `json:"channel" ref:"channel_rest" doc:"A REST channel."`
	Service  string            `json:"service" ref:"service" doc:"A service."`
	Tags     []string          `json:"tags" doc:"Tags."`
	Timeout  config.Duration   `json:"timeout" doc:"Timeout."`
	Retries  int               `json:"retries" doc:"Retries."`
	Ratio    float64           `json:"ratio" doc:"A ratio between 0 and 1."`
	Headers  map[string]string `json:"headers" doc:"Headers."`
	Limits   testLimits        `json:"limits" doc:"Limits."`
	Rules    []testRule        `json:"rules" doc:"Rules."`
	Extra    map[string]any    `json:"extra" doc:"Anything."`
}

type testLimits struct {
	Max    int             `json:"max" doc:"Most."`
	Window config.Duration `json:"window" doc:"Window."`
	Token  string          `json:"token" secret:"true" doc:"Token."`
}

type testRule struct {
	CIDR string `json:"cidr" doc:"Network."`
	Key  string `json:"key" secret:"true" doc:"Key."`
}

func (c *testCredentials) Validate() []error {
	var errs []error
	if c.Ratio < 0 || c.Ratio > 1 {
		errs = append(errs, registry.FieldProblem("ratio", "must be between 0 and 1"))
	}
	for i, r := range c.Rules {
		if r.CIDR == "" {
			errs = append(errs, registry.FieldProblem("rules["+itoa(i)+"].cidr", "must not be empty"))
		}
	}
	return errs
}

func itoa(i int) string { return string(rune('0' + i)) }

func init() {
	registry.Register(registry.Kind{
		ID:      testKind,
		Title:   "Test credentials",
		Summary: "Test-only kind.",
		Aliases: []string{"def_test_credentials"},
		ZatoFields: map[string]string{
			"user_name": "username", "legacy_flag": registry.ZatoUnsupported, "acl": registry.ZatoRefused,
		},
		Order: 40,
		New: func() registry.Object {
			return &testCredentials{IsActive: true, Timeout: config.Duration(30 * time.Second), Retries: 3, Limits: testLimits{Max: 10}}
		},
		Examples: []string{`{"name": "x"}`},
	})
}
