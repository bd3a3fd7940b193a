// Package live holds a server's live configuration and the one path
// every change takes: Apply validates a changeset against the whole
// configuration, builds the new running objects, commits the change to the
// store in one transaction, publishes the new State atomically and closes
// what the old one used and the new one does not. If any step fails nothing
// changes and the old State keeps serving.
package live

import (
	"sort"

	"github.com/plexushq/plexus/internal/catalog"
	"github.com/plexushq/plexus/internal/registry"
)

// State is one immutable revision of the running configuration. Requests
// load the current State once and look objects up in it, so a change does
// not take objects away from a request in flight; what a request reaches
// through the runtime again (a service it invokes, say) comes from the
// state current at that moment.
type State struct {
	// Rev is the store revision the state was built from.
	Rev int64
	// Services is every service the state runs.
	Services *catalog.Set

	env       *registry.Env
	objects   map[string]map[string]*entry
	code      map[string]CodeFile
	assembled map[string]any
}

// Env returns what the state was built with: the environment directory,
// settings, metrics and subsystems, and the state's services.
func (s *State) Env() *registry.Env { return s.env }

var _ registry.State = (*State)(nil)

type entry struct {
	obj     registry.Object
	body    []byte // canonical JSON, to tell changed objects from unchanged
	rev     int64  // the store revision that last wrote the object
	running any
	// status is the running form's status when it is a registry.Runner.
	status *registry.Status
}

// Object returns an object by kind and name.
func (s *State) Object(kind, name string) (registry.Object, bool) {
	e, ok := s.objects[kind][name]
	if !ok {
		return nil, false
	}
	return e.obj, true
}

// ObjectRev returns the store revision that last wrote an object, and
// whether the object exists.
func (s *State) ObjectRev(kind, name string) (int64, bool) {
	e, ok := s.objects[kind][name]
	if !ok {
		return 0, false
	}
	return e.rev, true
}

// Names returns the names of a kind's objects, sorted.
func (s *State) Names(kind string) []string {
	names := make([]string, 0, len(s.objects[kind]))
	for n := range s.objects[kind] {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// Objects returns a kind's objects, sorted by name.
func (s *State) Objects(kind string) []registry.Object {
	names := s.Names(kind)
	out := make([]registry.Object, len(names))
	for i, n := range names {
		out[i] = s.objects[kind][n].obj
	}
	return out
}

// Count returns the number of objects of a kind.
func (s *State) Count(kind string) int { return len(s.objects[kind]) }

// Running returns the running form of an object.
func (s *State) Running(kind, name string) (any, bool) {
	e, ok := s.objects[kind][name]
	if !ok || e.running == nil {
		return nil, false
	}
	return e.running, true
}

// Assembled returns the running whole of a kind, or nil.
func (s *State) Assembled(kind string) any { return s.assembled[kind] }

// CodeFile is a deployed source file.
type CodeFile struct {
	Source []byte
	// Origin says where the file was deployed from (see CodeChange).
	Origin string
}

// Code returns the deployed source files by file name.
func (s *State) Code() map[string]CodeFile { return s.code }

// Assembled returns a kind's running whole as a T, or the zero T.
func Assembled[T any](s *State, kind string) T {
	v, _ := s.assembled[kind].(T)
	return v
}
