// Package serviceio holds kind service_io: the runtime switches of a
// service's typed I/O - JSON Schema validation on or off, detailed errors
// - one object per service, named as the service. They are configuration
// like any other: changed through the one change path with a revision,
// exported and imported by enmasse, checked by dry runs. The admin API's
// GET and PUT /admin/api/v1/services/{name}/io are a view over them.
package serviceio

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"

	"github.com/plexushq/plexus/internal/live"
	"github.com/plexushq/plexus/internal/registry"
	"github.com/plexushq/plexus/internal/sio"
	"github.com/plexushq/plexus/internal/store"
)

// Kind is the kind id of services' I/O switches.
const Kind = "service_io"

// Config is the typed I/O switches of one service.
type Config struct {
	Name           string `json:"name" label:"Service" group:"Typed I/O" placeholder:"schema.check" doc:"Name of the service whose typed I/O the switches change; the service may be deployed later."`
	ValidateSchema bool   `json:"validate_schema" label:"Validate against the JSON Schema" group:"Typed I/O" doc:"Whether requests are validated against the service's JSON Schema; false skips the validation."`
	DetailedErrors bool   `json:"detailed_errors" label:"Detailed errors" group:"Typed I/O" doc:"Whether a request that fails the JSON Schema is answered Invalid request followed by what is wrong, instead of Invalid request alone."`
}

// Validate has nothing to check that the tags do not.
func (c *Config) Validate() []error { return nil }

// Switches returns the switches the configuration holds.
func (c *Config) Switches() sio.Switches {
	return sio.Switches{ValidateSchema: c.ValidateSchema, DetailedErrors: c.DetailedErrors}
}

func init() {
	registry.Register(registry.Kind{
		ID:      Kind,
		Title:   "Service I/O switches",
		Summary: "Switches of a service's typed I/O, changed without a redeploy: JSON Schema validation on or off, and detailed errors for invalid requests.",
		Order:   60,
		New:     func() registry.Object { return &Config{ValidateSchema: true} },
		Examples: []string{
			`{"name": "schema.check", "detailed_errors": true}`,
			`{"name": "legacy.import", "validate_schema": false}`,
		},
		Assemble: func(_ *registry.Env, entries []registry.Entry) (any, error) {
			t := &table{byService: make(map[string]sio.Switches, len(entries))}
			for _, e := range entries {
				t.byService[e.Name] = e.Object.(*Config).Switches()
			}
			return t, nil
		},
	})
}

// table is the kind's running whole: every service's switches.
type table struct {
	byService map[string]sio.Switches
}

// Lookup returns the source of every service's switches for the typed I/O
// stage: the service_io object of the configuration current at each call.
func Lookup(rt *live.Runtime) func(service string) (sio.Switches, bool) {
	return func(service string) (sio.Switches, bool) {
		t := live.Assembled[*table](rt.State(), Kind)
		if t == nil {
			return sio.Switches{}, false
		}
		sw, ok := t.byService[service]
		return sw, ok
	}
}

// LegacySetting is the store setting in which earlier versions kept every
// service's switches, as a JSON object by service name.
const LegacySetting = "sio.switches"

// Upgrade turns switches kept by earlier versions in the store's settings
// into service_io objects, through the one change path, and removes the
// setting. It does nothing when there is no such setting.
func Upgrade(ctx context.Context, st *store.Store, rt *live.Runtime, log *slog.Logger) error {
	v, ok, err := st.Setting(ctx, LegacySetting)
	if err != nil || !ok {
		return err
	}
	var old map[string]sio.Switches
	if err := json.Unmarshal([]byte(v), &old); err != nil {
		return fmt.Errorf("reading the services' I/O switches: %w", err)
	}
	cs := live.Changeset{Source: "upgrade", Summary: "services' I/O switches become service_io objects"}
	for name, sw := range old {
		if _, exists := rt.State().Object(Kind, name); exists {
			continue
		}
		cs.Objects = append(cs.Objects, live.Change{Kind: Kind, Name: name,
			Object: &Config{Name: name, ValidateSchema: sw.ValidateSchema, DetailedErrors: sw.DetailedErrors}})
	}
	if len(cs.Objects) > 0 {
		res, err := rt.Apply(ctx, cs)
		if err != nil {
			return fmt.Errorf("keeping the services' I/O switches as configuration: %w", err)
		}
		log.Info("services' I/O switches are configuration now", "objects", len(cs.Objects), "rev", res.Rev)
	}
	return st.DeleteSetting(ctx, LegacySetting)
}
