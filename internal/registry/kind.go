// Package registry holds the configuration kinds: each kind (REST channel,
// outgoing connection, security definition, …) is declared once, with a Go
// struct whose tags carry the field metadata, and registered from its
// package's init. The admin API, enmasse, validation, JSON Schemas and the
// reference docs all derive from these declarations.
//
// A kind's struct uses these tags on its exported fields:
//
//	json:"url_path"          the field's name in JSON, YAML and the admin API
//	doc:"…"                  user-facing help, shown in forms and docs (required)
//	enum:"json|form|raw"     the allowed values of a string field
//	ref:"security"           the value names an object of that kind ("service"
//	                         names a deployed service)
//	secret:"true"            never exported or shown; stored encrypted (a
//	                         string, or a list or map of strings)
//	required:"true"          must not be empty
//
// and these for the Dashboard's forms and the reference docs:
//
//	label:"Pool size"        the field's short name in a form
//	group:"Connection"       the section of the form it is in
//	advanced:"true"          folded away until asked for
//	when:"type=apikey|jwt"   shown only while another field of the same
//	                         struct (an enum or a boolean) holds one of these
//	min:"0" max:"10000"      bounds of a number, or of a duration ("1s");
//	                         values outside them are refused
//	unit:"bytes"             what a number counts
//	placeholder:"…"          an example value shown in an empty input
//	widget:"multiline"       how a form edits a string: multiline, secret,
//	                         password, file or code
//	enum_labels:"JSON|Form"  the labels of the enum values, in order
//
// Structs nested in a field (a struct, a list or map of structs) take the
// same tags. Defaults are whatever the kind's New function sets.
package registry

import (
	"cmp"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"reflect"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"unicode/utf8"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/plexushq/plexus/internal/catalog"
	"github.com/plexushq/plexus/internal/config"
	"github.com/plexushq/plexus/internal/metrics"
)

// Object is one configuration object: a pointer to a kind's struct.
type Object interface {
	// Validate reports what is wrong with the object taken alone. Field
	// metadata (required, enum, ref) is checked by the registry before it,
	// so Validate checks only what the tags cannot say. Return problems made
	// with FieldProblem to point at a field.
	Validate() []error
}

// Kind declares one kind of configuration object. Its lifecycle, for every
// change applied to the configuration:
//
//  1. New makes an object with its defaults; the change's fields are decoded
//     over it.
//  2. The registry checks the field metadata, then calls Object.Validate,
//     then Check with every object of the kind.
//  3. For each new or changed object, Update may take the change in place
//     (the running form stays); otherwise Provision builds a new running
//     form. Unchanged objects keep theirs. Neither does I/O to remote
//     systems: dry runs stop after this step, and a change is never
//     refused because a remote system is down.
//  4. Assemble builds the kind's running whole from all the objects and
//     their running forms (a router from channels, for example). It runs
//     only when the kind's objects change, so what it builds must refer to
//     other kinds' objects by name and look them up in the State when used.
//  5. The change is committed and the new state published atomically. Old
//     running forms are replaced as Swap says; a running form that is a
//     Runner has its Run started in the background, and reports its
//     status; running forms no longer used are closed if they implement
//     io.Closer, after their Run has returned. The metric series of
//     deleted objects are deleted.
//
// Besides its objects, a kind declares its faces, which the server wires
// the same way for every kind: Out (services reach its objects by name,
// from Go and Starlark), Resources and Self (more for services), Actions
// (operations on one object, in the admin API and the CLI) and
// Collectors (its metrics).
type Kind struct {
	// ID is the kind's enmasse section name and admin API id, e.g.
	// "channel_rest".
	ID string
	// Title is the human name, e.g. "REST channel".
	Title string
	// Summary is one sentence on what the kind is for.
	Summary string
	// Aliases are other section names accepted on import (Zato 3.2 names).
	Aliases []string
	// ZatoFields maps the field names Zato's enmasse files (3.2 and
	// current) use for this kind, where Plexus spells them differently or
	// does not support them, for import only. A value names the Plexus
	// field the Zato field sets (service_name: service). ZatoUnsupported
	// marks a field Plexus does not support yet: import ignores it with a
	// warning naming it. ZatoRefused marks one whose value must not be
	// ignored, such as a channel's security: import refuses it unless it
	// is empty.
	ZatoFields map[string]string
	// ZatoName is the field that names an object in Zato's files, which
	// give objects of this kind no name (a pub/sub subscription is its
	// security definition's): import names the object after its value.
	ZatoName string
	// ZatoSkipped maps a field to the values Zato gives it that Plexus
	// does not support yet, each with what it means, such as security
	// type ntlm: import skips an object holding one, with a warning. The
	// field may be a Zato field marked ZatoUnsupported, and the value "*"
	// stands for any value.
	ZatoSkipped map[string]map[string]string
	// ZatoValues maps a field to the values Zato gives it that Plexus
	// spells differently, each with Plexus's, for import only, such as
	// Zato 3.2's SQL engine mysql+pymysql: mysql.
	ZatoValues map[string]map[string]string
	// Order places the kind among the others: kinds that others refer to
	// come first (security before channels). Lower is earlier.
	Order int
	// New returns an object holding the kind's defaults.
	New func() Object
	// Examples are JSON objects that must validate; docs show them.
	Examples []string
	// Check validates all objects of the kind together (optional).
	Check func(objs []Object) []error
	// Provision builds the running form of one object (optional). It
	// checks what Validate cannot (files it reads, say) but does no I/O to
	// remote systems: connecting is Run's job (see Runner).
	Provision func(env *Env, obj Object) (any, error)
	// Update applies a changed object to the running form of its previous
	// version in place, when it can (optional): it returns a function
	// that makes the change, called once the change is committed (never
	// on a dry run) and before the new state is published, or nil when
	// the change needs a new running form. A running form updated in
	// place keeps its connections, its clients and its Run.
	Update func(env *Env, running any, old, obj Object) (apply func())
	// Swap says how a new running form replaces the previous version's;
	// the zero value is Overlap.
	Swap SwapPolicy
	// Assemble builds the running whole of the kind (optional); it gets
	// the entries in no particular order. What it returns must be
	// comparable (a pointer, say), since states are told apart by it.
	Assemble func(env *Env, entries []Entry) (any, error)

	// Out gives services the kind's objects by name, from Go and from
	// Starlark (optional; see Out).
	Out *Out
	// Resources are further things services get from the platform, by an
	// id of their own (Context.Platform().Resource(c, id, name)); kind
	// security's "jwt" starts a session for a username (optional).
	Resources map[string]func(st State, name string) (any, error)
	// Self are attributes the kind adds to every Starlark service's self,
	// by dotted path, beyond self.out: security adds security.jwt
	// (optional).
	Self map[string]SelfFunc
	// Actions are the operations an administrator runs on one object
	// (optional; see Action).
	Actions []Action
	// Collectors makes the kind's own Prometheus collectors, once for
	// each server (optional). They are registered with the server's
	// metrics; Provision finds them with Env.Collectors. Vectors with a
	// label "name" hold series per object: the series of a deleted object
	// are deleted with it.
	Collectors func() []prometheus.Collector

	fields []Field
}

// Markers in Kind.ZatoFields for Zato fields Plexus does not support yet.
const (
	ZatoUnsupported = ""
	ZatoRefused     = "!"
)

// Entry is an object with its name and running form, as Assemble sees it.
type Entry struct {
	Name    string
	Object  Object
	Running any
	// Changed marks objects the change being applied adds or replaces, so
	// Assemble can blame a conflict on them.
	Changed bool
}

// Env is what Provision, Update and Assemble get, and what a State was
// built with.
type Env struct {
	// Dir is the environment directory; relative file paths in
	// configuration objects are relative to it.
	Dir      string
	Logger   *slog.Logger
	Settings *config.Settings
	Metrics  *metrics.Metrics
	// Services is the set of services the new state will run.
	Services *catalog.Set
	// Running returns the running form of an object of a kind that comes
	// earlier in Order.
	Running func(kind, name string) (any, bool)
	// Subsystems are the server's shared parts (the scheduler, the JWT
	// sessions), found by type with Subsystem.
	Subsystems []any
	// Collectors returns the collectors a kind's Collectors made for this
	// server, or nil.
	Collectors func(kind string) []prometheus.Collector
}

// table is what is registered. Register replaces it whole, so that
// lookups, which requests make, take no lock.
type table struct {
	kinds     map[string]*Kind
	alias     map[string]string
	resources map[string]func(st State, name string) (any, error)
	// sorted is every kind in dependency order (then by id).
	sorted []*Kind
}

var (
	mu      sync.Mutex // serialises Register
	current atomic.Pointer[table]
)

func registered() *table {
	if t := current.Load(); t != nil {
		return t
	}
	return &table{}
}

// Register adds a kind. It panics when the declaration is malformed or the
// id is taken, so mistakes show at start-up.
func Register(k Kind) {
	if k.ID == "" || k.New == nil || k.Title == "" || k.Summary == "" {
		panic(fmt.Sprintf("registry: kind %q needs ID, Title, Summary and New", k.ID))
	}
	obj := k.New()
	t := reflect.TypeOf(obj)
	if t.Kind() != reflect.Pointer || t.Elem().Kind() != reflect.Struct {
		panic(fmt.Sprintf("registry: kind %q: New must return a pointer to a struct", k.ID))
	}
	fields, err := fieldsOf(t.Elem())
	if err != nil {
		panic(fmt.Sprintf("registry: kind %q: %v", k.ID, err))
	}
	if len(fields) == 0 || fields[0].Name != "name" || fields[0].Type.Kind() != reflect.String {
		panic(fmt.Sprintf("registry: kind %q: the first field must be `name`, a string", k.ID))
	}
	if err := checkWhens(fields); err != nil {
		panic(fmt.Sprintf("registry: kind %q: %v", k.ID, err))
	}
	if err := k.checkFaces(); err != nil {
		panic(fmt.Sprintf("registry: kind %q: %v", k.ID, err))
	}
	k.fields = fields
	if _, ok := k.Field(k.ZatoName); k.ZatoName != "" && !ok {
		panic(fmt.Sprintf("registry: kind %q: ZatoName names unknown field %q", k.ID, k.ZatoName))
	}
	for field, values := range k.ZatoSkipped {
		f, ok := k.Field(field)
		if zf, zato := k.ZatoFields[field]; !ok && zato && zf == ZatoUnsupported {
			continue // a Zato field of its own
		}
		if !ok {
			panic(fmt.Sprintf("registry: kind %q: Zato values skip objects by unknown field %q", k.ID, field))
		}
		for v := range values {
			if slices.Contains(f.Enum, v) {
				panic(fmt.Sprintf("registry: kind %q: Zato value %q of field %q is one Plexus supports", k.ID, v, field))
			}
		}
	}
	for field, values := range k.ZatoValues {
		f, ok := k.Field(field)
		if !ok {
			panic(fmt.Sprintf("registry: kind %q: Zato values map values of unknown field %q", k.ID, field))
		}
		for _, v := range values {
			if len(f.Enum) > 0 && !slices.Contains(f.Enum, v) {
				panic(fmt.Sprintf("registry: kind %q: Zato values of field %q map to %q, which is not one of its values", k.ID, field, v))
			}
		}
	}
	for zato, field := range k.ZatoFields {
		if _, ok := k.Field(zato); ok {
			panic(fmt.Sprintf("registry: kind %q: Zato field %q is also a Plexus field", k.ID, zato))
		}
		if _, ok := k.Field(field); !ok && field != ZatoUnsupported && field != ZatoRefused {
			panic(fmt.Sprintf("registry: kind %q: Zato field %q maps to unknown field %q", k.ID, zato, field))
		}
	}
	mu.Lock()
	defer mu.Unlock()
	old := registered()
	for _, id := range append([]string{k.ID}, k.Aliases...) {
		if _, dup := old.kinds[id]; dup {
			panic(fmt.Sprintf("registry: kind %q registered twice", id))
		}
		if _, dup := old.alias[id]; dup {
			panic(fmt.Sprintf("registry: kind alias %q registered twice", id))
		}
		if _, dup := old.resources[id]; dup {
			panic(fmt.Sprintf("registry: kind %q is the id of a resource", id))
		}
	}
	for id := range k.Resources {
		if _, dup := old.kinds[id]; dup || id == k.ID {
			panic(fmt.Sprintf("registry: kind %q: resource %q is the id of a kind", k.ID, id))
		}
		if _, dup := old.resources[id]; dup {
			panic(fmt.Sprintf("registry: kind %q: resource %q registered twice", k.ID, id))
		}
	}
	next := &table{kinds: maps.Clone(old.kinds), alias: maps.Clone(old.alias), resources: maps.Clone(old.resources)}
	if next.kinds == nil {
		next.kinds, next.alias, next.resources = map[string]*Kind{}, map[string]string{}, map[string]func(State, string) (any, error){}
	}
	next.kinds[k.ID] = &k
	for _, a := range k.Aliases {
		next.alias[a] = k.ID
	}
	for id, r := range k.Resources {
		next.resources[id] = r
	}
	next.sorted = slices.SortedFunc(maps.Values(next.kinds), func(a, b *Kind) int {
		return cmp.Or(cmp.Compare(a.Order, b.Order), cmp.Compare(a.ID, b.ID))
	})
	current.Store(next)
}

// Lookup returns the kind with an id or alias.
func Lookup(id string) (*Kind, bool) {
	t := registered()
	if k, ok := t.kinds[id]; ok {
		return k, true
	}
	if real, ok := t.alias[id]; ok {
		return t.kinds[real], true
	}
	return nil, false
}

// All returns every kind, in dependency order (then by id).
func All() []*Kind { return slices.Clone(registered().sorted) }

// IDs returns every kind id, in dependency order.
func IDs() []string {
	var ids []string
	for _, k := range All() {
		ids = append(ids, k.ID)
	}
	return ids
}

// Fields returns the kind's field metadata, in declaration order.
func (k *Kind) Fields() []Field { return k.fields }

// Field returns the field with a JSON name.
func (k *Kind) Field(name string) (Field, bool) {
	for _, f := range k.fields {
		if f.Name == name {
			return f, true
		}
	}
	return Field{}, false
}

// NameOf returns an object's name.
func NameOf(obj Object) string {
	return reflect.ValueOf(obj).Elem().Field(0).String()
}

// SetName sets an object's name.
func SetName(obj Object, name string) {
	reflect.ValueOf(obj).Elem().Field(0).SetString(name)
}

// Close closes a running form that implements io.Closer.
func Close(running any) error {
	if c, ok := running.(io.Closer); ok {
		return c.Close()
	}
	return nil
}

// Suggest returns the candidate closest to s when it is close enough to be
// a likely typo, or "".
func Suggest(s string, candidates []string) string {
	n := utf8.RuneCountInString(s)
	best, bestDist := "", n/2+2
	for _, c := range candidates {
		// The distance is at least the difference in length: a candidate
		// that cannot be closer is not compared (nor is a huge s).
		if diff := n - utf8.RuneCountInString(c); diff >= bestDist || -diff >= bestDist {
			continue
		}
		if d := Distance(strings.ToLower(s), strings.ToLower(c)); d < bestDist {
			best, bestDist = c, d
		}
	}
	return best
}

// Distance is the Damerau-Levenshtein (optimal string alignment) distance
// between two strings: the edits, including swaps of neighbours, that turn
// one into the other.
func Distance(a, b string) int {
	ra, rb := []rune(a), []rune(b)
	d := make([][]int, len(ra)+1)
	for i := range d {
		d[i] = make([]int, len(rb)+1)
		d[i][0] = i
	}
	for j := range d[0] {
		d[0][j] = j
	}
	for i := 1; i <= len(ra); i++ {
		for j := 1; j <= len(rb); j++ {
			cost := 1
			if ra[i-1] == rb[j-1] {
				cost = 0
			}
			d[i][j] = min(d[i-1][j]+1, d[i][j-1]+1, d[i-1][j-1]+cost)
			if i > 1 && j > 1 && ra[i-1] == rb[j-2] && ra[i-2] == rb[j-1] {
				d[i][j] = min(d[i][j], d[i-2][j-2]+1)
			}
		}
	}
	return d[len(ra)][len(rb)]
}
