package registry

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"regexp"
	"strings"

	"go.starlark.net/starlark"

	"github.com/plexushq/plexus/sdk/service"
)

// A kind's faces are what its declaration gives besides its objects: the
// resolvers that give services its objects by name (Out, Resources,
// Self), the actions an administrator runs on one object (Actions) and
// its metrics (Collectors). The server wires every kind's faces the same
// way; nothing outside the kind's package names them.

// State is the configuration that resolvers and actions see: the one
// current when they are called. *live.State implements it.
type State interface {
	// Object returns an object by kind and name.
	Object(kind, name string) (Object, bool)
	// Running returns the running form of an object.
	Running(kind, name string) (any, bool)
	// Names returns the names of a kind's objects, sorted.
	Names(kind string) []string
	// Env returns what the state was built with, the server's subsystems
	// among it.
	Env() *Env
}

// Out declares how services reach a kind's objects by name, as they reach
// outgoing connections: from Go with s.Out().Kind(kind, name) and from
// Starlark as self.out.<Section>["Name"].
type Out struct {
	// Section names the kind under self.out in Starlark: "rest" gives
	// self.out.rest["Billing"]. Empty keeps the kind out of self.out.
	Section string
	// Resolve returns what a service gets for the object with a name, from
	// the configuration current when the service asks (a connection
	// changed by an administrator is used from the next call on). A
	// missing or unusable object is an error saying why: a *service.Error
	// answers the caller with its status (503 for an inactive
	// connection), any other error 500, with the text in the log.
	Resolve func(st State, name string) (any, error)
	// Starlark returns the Starlark value of self.out.<Section>["Name"]
	// for one invocation c, given what Resolve returned. Required with a
	// Section.
	Starlark func(c *service.Context, name string, resource any) (starlark.Value, error)
}

// SelfFunc returns the value of a Starlark self attribute for one
// invocation.
type SelfFunc func(c *service.Context) (starlark.Value, error)

// Action is an operation an administrator runs on one object of a kind:
// a ping, a password change, running a job now. The admin API serves it
// at POST /admin/api/v1/objects/{kind}/{name}/{action}, and the CLI runs
// it with plexus action KIND NAME ACTION (plexus ping KIND NAME for the
// action named ping).
type Action struct {
	// Name is the action's name in the URL and the CLI: lowercase words
	// joined by hyphens, such as ping or change-password.
	Name string
	// Doc says what the action does, the JSON body it reads and what it
	// answers; the admin API and the reference docs show it.
	Doc string
	// Run runs the action. It returns the answer, encoded as JSON, or an
	// error: a *service.Error answers its status and message; problems
	// (a refused change, or *Problem values) answer 400 listing them; any
	// other error answers 500 with the cause in the log under the call's
	// cid.
	Run func(ctx context.Context, call *Call) (any, error)
	// Status is the HTTP status of a successful answer; 0 means 200. An
	// action that starts work in the background answers 202.
	Status int
	// Aliases are older admin API paths, under /admin/api/v1, that run the
	// action too, with {name} for the object's name, such as
	// /outgoing_rest/{name}/ping. They are kept so that clients written
	// for them go on working.
	Aliases []string
}

// Call is one run of an action.
type Call struct {
	// Kind is the object's kind, Name its name.
	Kind *Kind
	Name string
	// Object is the object as configured; Running its running form, or
	// nil.
	Object  Object
	Running any
	// State is the configuration the action runs against.
	State State
	// Body is the request's body, a JSON value, or nil when it is empty.
	Body json.RawMessage
	// CID identifies the call: the answer carries it in X-Plexus-CID and
	// every log line of the call should too.
	CID    string
	Logger *slog.Logger
	// Apply replaces the object by obj (of the same kind and name) through
	// the one change path, as the admin API's PUT does, and returns the
	// revision; summary describes the change for the revision history.
	Apply func(ctx context.Context, obj Object, summary string) (rev int64, err error)
}

// DecodeBody decodes the call's body into v, refusing unknown fields; an
// empty body leaves v as it is. Its error says what was expected.
func (c *Call) DecodeBody(v any, expected string) error {
	if len(c.Body) == 0 {
		return nil
	}
	dec := json.NewDecoder(strings.NewReader(string(c.Body)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return service.BadRequest("Expected %s", expected)
	}
	return nil
}

// PingResult is the answer of a ping action, whatever the kind: whether
// the remote end was reached and answered well, how long it took and
// what was pinged. Kinds may answer more fields.
type PingResult struct {
	Name string `json:"name"`
	CID  string `json:"cid"`
	// Target says what was pinged, such as HEAD https://api.example.com/.
	Target string `json:"target"`
	OK     bool   `json:"ok"`
	// Status is the remote end's answer, such as an HTTP status; 0 when
	// none arrived or the protocol has none.
	Status int     `json:"status"`
	TimeMS float64 `json:"time_ms"`
	// Error says why the ping failed.
	Error string `json:"error"`
}

// actionName is what an action's name may be.
var actionName = regexp.MustCompile(`^[a-z][a-z0-9]*(-[a-z0-9]+)*$`)

// checkFaces checks the faces of a declaration at registration.
func (k *Kind) checkFaces() error {
	if k.Out != nil {
		if k.Out.Resolve == nil {
			return fmt.Errorf("Out needs Resolve")
		}
		if k.Out.Section != "" && k.Out.Starlark == nil {
			return fmt.Errorf("Out.Section %q needs Out.Starlark", k.Out.Section)
		}
	}
	seen := map[string]bool{}
	for _, a := range k.Actions {
		if !actionName.MatchString(a.Name) {
			return fmt.Errorf("action %q: a name is lowercase words joined by hyphens", a.Name)
		}
		if seen[a.Name] {
			return fmt.Errorf("action %q declared twice", a.Name)
		}
		seen[a.Name] = true
		if a.Run == nil || a.Doc == "" {
			return fmt.Errorf("action %q needs Doc and Run", a.Name)
		}
		for _, alias := range a.Aliases {
			if !strings.HasPrefix(alias, "/") || !strings.Contains(alias, "{name}") {
				return fmt.Errorf("action %q: alias %q must start with / and hold {name}", a.Name, alias)
			}
		}
	}
	return nil
}

// Action returns the kind's action with a name.
func (k *Kind) Action(name string) (*Action, bool) {
	for i := range k.Actions {
		if k.Actions[i].Name == name {
			return &k.Actions[i], true
		}
	}
	return nil, false
}

// Resolver returns the function that resolves resources of an id for
// services: a kind's Out.Resolve, or a Resources entry of a kind. It
// returns nil when no kind declares one.
func Resolver(id string) func(st State, name string) (any, error) {
	t := registered()
	if k, ok := t.kinds[id]; ok && k.Out != nil {
		return k.Out.Resolve
	}
	return t.resources[id]
}

// Subsystem returns the server's subsystem of type T (the scheduler, the
// JWT sessions), for the resolvers and actions of the kinds that work
// with one.
func Subsystem[T any](env *Env) (T, bool) {
	if env != nil {
		for _, s := range env.Subsystems {
			if t, ok := s.(T); ok {
				return t, true
			}
		}
	}
	var zero T
	return zero, false
}
