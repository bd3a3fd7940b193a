package catalog

import (
	"fmt"
	"sort"
)

// Set is an immutable set of services by name. The zero value is empty.
type Set struct {
	byName map[string]*Service
	names  []string
}

// NewSet returns a set of services; a name used twice is an error.
func NewSet(list ...*Service) (*Set, error) {
	s := &Set{byName: make(map[string]*Service, len(list))}
	for _, svc := range list {
		if prev, dup := s.byName[svc.Name]; dup {
			return nil, fmt.Errorf("service name %q is used by both %s and %s", svc.Name, prev.Origin(), svc.Origin())
		}
		s.byName[svc.Name] = svc
	}
	s.sortNames()
	return s, nil
}

func (s *Set) sortNames() {
	s.names = make([]string, 0, len(s.byName))
	for n := range s.byName {
		s.names = append(s.names, n)
	}
	sort.Strings(s.names)
}

// ZatoNames are the names Zato gives the built-in services Plexus has,
// each with Plexus's name: code written for Zato invokes them, and
// channels and jobs name them, by either.
var ZatoNames = map[string]string{
	"zato.ping": "plexus.ping", "zato.helpers.echo": "plexus.helpers.echo",
	"zato.helpers.input-logger":   "plexus.helpers.input-logger",
	"zato.scheduler.job.create":   "plexus.scheduler.job.create",
	"zato.scheduler.job.edit":     "plexus.scheduler.job.edit",
	"zato.scheduler.job.delete":   "plexus.scheduler.job.delete",
	"zato.scheduler.job.execute":  "plexus.scheduler.job.execute",
	"zato.scheduler.job.get-list": "plexus.scheduler.job.get-list",
	"zato.scheduler.job.get":      "plexus.scheduler.job.get",
	// Zato's get-by-name is Plexus's get: jobs are known by name.
	"zato.scheduler.job.get-by-name": "plexus.scheduler.job.get",
}

// Get returns the service with a name, or under one of ZatoNames, or nil.
func (s *Set) Get(name string) *Service {
	if s == nil {
		return nil
	}
	if svc, ok := s.byName[name]; ok {
		return svc
	}
	if to, ok := ZatoNames[name]; ok {
		return s.byName[to]
	}
	return nil
}

// Names returns every service name, sorted.
func (s *Set) Names() []string {
	if s == nil {
		return nil
	}
	return s.names
}

// Len returns the number of services.
func (s *Set) Len() int {
	if s == nil {
		return 0
	}
	return len(s.byName)
}

// From returns the names of the services from one source, sorted.
func (s *Set) From(source string) []string {
	var out []string
	for _, n := range s.Names() {
		if s.byName[n].Source == source {
			out = append(out, n)
		}
	}
	return out
}

// Replace returns a new set in which the services from the given sources
// (Starlark files, say) are replaced by add. A name that add uses twice, or
// that a service of another source keeps, makes it an error.
func (s *Set) Replace(sources []string, add ...*Service) (*Set, error) {
	drop := make(map[string]bool, len(sources))
	for _, src := range sources {
		drop[src] = true
	}
	out := &Set{byName: make(map[string]*Service, s.Len()+len(add))}
	if s != nil {
		for n, svc := range s.byName {
			if !drop[svc.Source] {
				out.byName[n] = svc
			}
		}
	}
	for _, svc := range add {
		if prev, dup := out.byName[svc.Name]; dup {
			return nil, fmt.Errorf("service name %q is already used by %s", svc.Name, prev.Origin())
		}
		out.byName[svc.Name] = svc
	}
	out.sortNames()
	return out, nil
}
