// Package kind lets a program that uses Plexus as a library declare kinds
// of configuration objects - its own channels and outgoing connections -
// exactly as Plexus's own packages declare theirs. A kind is declared
// once, as a Kind value with a Go struct whose tags carry the field
// metadata, and registered from its package's init:
//
//	func init() {
//		kind.Register(kind.Kind{ID: "http_check", Title: "HTTP check", …})
//	}
//
// The program's binary (plexus.New().Run()) then has everything a kind
// gets: the admin API's CRUD under /admin/api/v1/objects/{kind}, its
// actions, status and form metadata, enmasse import and export, dry runs,
// services' access from Go (s.Out().Kind) and Starlark
// (self.out.<section>), its metrics and its reference docs (plexus kinds).
//
// The types are Plexus's own: see each one's documentation, and
// docs/extending.md for a walk through a complete kind.
package kind

import (
	sl "go.starlark.net/starlark"

	"github.com/plexushq/plexus/internal/config"
	"github.com/plexushq/plexus/internal/registry"
	"github.com/plexushq/plexus/internal/starlark"
	"github.com/plexushq/plexus/internal/starlark/memlimit"
)

// The declaration and what its functions get.
type (
	// Kind declares one kind of configuration object.
	Kind = registry.Kind
	// Object is one configuration object: a pointer to a kind's struct.
	Object = registry.Object
	// Env is what Provision, Update and Assemble get.
	Env = registry.Env
	// Entry is an object with its name and running form, for Assemble.
	Entry = registry.Entry
	// State is the configuration resolvers and actions see.
	State = registry.State
	// Out declares how services reach the kind's objects by name.
	Out = registry.Out
	// SelfFunc returns the value of a Starlark self attribute.
	SelfFunc = registry.SelfFunc
	// Action is an operation an administrator runs on one object.
	Action = registry.Action
	// Call is one run of an action.
	Call = registry.Call
	// PingResult is the answer of an action named ping.
	PingResult = registry.PingResult
	// Field describes one field of a kind, from its tags.
	Field = registry.Field
	// Problem is one thing wrong with an object.
	Problem = registry.Problem
	// Runner is a running form with work in the background.
	Runner = registry.Runner
	// Successor takes state over from its previous version (Handover).
	Successor = registry.Successor
	// Status is the live status a Runner reports.
	Status = registry.Status
	// StatusInfo is a snapshot of a Status.
	StatusInfo = registry.StatusInfo
	// SwapPolicy says how a changed object's running form is replaced.
	SwapPolicy = registry.SwapPolicy
	// Duration is a duration field: "30s", "1m" or a number of seconds.
	Duration = config.Duration
)

// Swap policies.
const (
	Overlap       = registry.Overlap
	StopThenStart = registry.StopThenStart
	Handover      = registry.Handover
)

// Register adds a kind. It panics when the declaration is malformed or the
// id is taken, so mistakes show at start-up; call it from init.
func Register(k Kind) { registry.Register(k) }

// Lookup returns a registered kind by id or alias.
func Lookup(id string) (*Kind, bool) { return registry.Lookup(id) }

// FieldProblem returns a problem with one field, for Validate and Check.
func FieldProblem(field, format string, args ...any) error {
	return registry.FieldProblem(field, format, args...)
}

// Suggest returns the candidate closest to s when it is close enough to be
// a likely typo, or "": resolvers use it to say "did you mean …?".
func Suggest(s string, candidates []string) string { return registry.Suggest(s, candidates) }

// ToStarlark converts a Go value made of maps, lists, strings, numbers and
// booleans (as JSON decodes them) to a Starlark value, in a builtin that
// thread runs: what it makes counts against the invocation's memory
// allowance (starlark.max_memory).
func ToStarlark(thread *sl.Thread, v any) (sl.Value, error) {
	return starlark.ToStarlark(allowance(thread), v)
}

// FromStarlark converts a Starlark value to Go maps, lists, strings,
// numbers and booleans, in a builtin that thread runs, within the
// invocation's memory allowance.
func FromStarlark(thread *sl.Thread, v sl.Value) (any, error) {
	return starlark.FromStarlark(allowance(thread), v)
}

func allowance(thread *sl.Thread) *memlimit.Allowance {
	if thread == nil {
		return nil
	}
	return memlimit.Of(thread)
}
