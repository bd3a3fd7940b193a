package security

import (
	"github.com/plexushq/plexus/internal/ratelimit"
	"github.com/plexushq/plexus/internal/registry"
)

// GroupKind is the kind id of security groups (Zato's section name).
const GroupKind = "groups"

// Group is the configuration of a security group: several definitions a
// channel admits alike, each a caller of its own.
type Group struct {
	Name         string          `json:"name" label:"Name" group:"Group" placeholder:"partners" doc:"Unique name of the group; channels list it in their groups field."`
	Members      []string        `json:"members" label:"Members" group:"Group" ref:"security" doc:"Names of the security definitions in the group; a request passes a channel that lists the group when it passes any one of them, and runs as that one. A group without members admits nobody."`
	RateLimiting ratelimit.Rules `json:"rate_limiting" label:"Rate limits per member" group:"Rate limits" doc:"Rate limits applied to each member separately (keyed by the member), after the member's own limits, on every channel listing the group; the client address chooses the rule, and an address no rule matches is refused (403). Empty: no limit."`
}

func init() {
	registry.Register(registry.Kind{
		ID:         GroupKind,
		Title:      "Security group",
		Summary:    "A named set of security definitions that channels admit alike, with rate limits per member.",
		ZatoFields: map[string]string{"quota_tier": registry.ZatoRefused},
		Order:      20,
		New:        func() registry.Object { return &Group{} },
		Examples: []string{
			`{"name": "partners", "members": ["partner.a", "partner.b"], "rate_limiting": [{"rate": 5, "burst": 10}]}`,
		},
		Provision: provisionGroup,
	})
}

// Validate refuses a member listed twice.
func (g *Group) Validate() []error {
	return registry.ListedTwice("members", g.Members)
}

// GroupRunning is a group's running form: its members, by name (looked up
// in the state of each request), and its rate limiter, which keeps each
// member's usage while the group is unchanged. It is safe for concurrent
// use.
type GroupRunning struct {
	name    string
	members []string
	limiter *ratelimit.Limiter
}

func provisionGroup(_ *registry.Env, obj registry.Object) (any, error) {
	g := obj.(*Group)
	l, err := ratelimit.New(g.RateLimiting)
	if err != nil {
		return nil, registry.FieldProblem("rate_limiting", "%v", err)
	}
	return &GroupRunning{name: g.Name, members: append([]string(nil), g.Members...), limiter: l}, nil
}

// Name returns the group's name.
func (g *GroupRunning) Name() string { return g.name }

// Members returns the names of the group's definitions.
func (g *GroupRunning) Members() []string { return g.members }

// Limiter returns the group's rate limiter.
func (g *GroupRunning) Limiter() *ratelimit.Limiter { return g.limiter }
