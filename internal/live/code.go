package live

import (
	"fmt"
	"maps"
	"path"
	"slices"
	"strconv"
	"strings"

	"github.com/plexushq/plexus/internal/catalog"
	"github.com/plexushq/plexus/internal/redact"
	"github.com/plexushq/plexus/internal/registry"
)

// codeStep is one file of a code change being prepared.
type codeStep struct {
	file string
	cc   CodeChange
	prev CodeFile
	svcs []*catalog.Service
	// ok: the file compiled and comes from the source it replaces.
	ok bool
	// held: the file keeps its previous version although it is ok,
	// because a name it takes is not free.
	held bool
}

func (st *codeStep) swapped() bool { return st.ok && !st.held }

// prepareCode applies code changes to the candidate. A service is known
// by its name, and a deployed file by where it comes from: a change that
// would replace or undeploy what another source deployed is refused
// unless forced. Every file is compiled first and their services are
// swapped in together, so the outcome does not depend on the files'
// order; a file with problems keeps its previous version.
func (rt *Runtime) prepareCode(c *candidate, changes []CodeChange, force bool) {
	if len(changes) == 0 {
		return
	}
	steps := rt.codeSteps(c, changes, force)
	files := sortedNames(steps)
	displaced := c.checkNames(steps, files, force)
	var drop []string
	var add []*catalog.Service
	for _, f := range files {
		if st := steps[f]; st.swapped() {
			drop = append(drop, f)
			add = append(add, st.svcs...)
		}
	}
	drop = append(drop, sortedNames(displaced)...)
	set, err := c.services.Replace(drop, add...)
	if err != nil {
		c.problem(registry.KindCode, "", "", "%v", err)
		return
	}
	c.services = set
	c.code = maps.Clone(c.code)
	for _, f := range files {
		st := steps[f]
		switch {
		case !st.swapped():
		case st.cc.Source == nil:
			delete(c.code, f)
			c.result.Services[f] = nil
		default:
			origin := st.cc.Origin
			if origin == "" {
				origin = st.prev.Origin
			}
			c.code[f] = CodeFile{Source: st.cc.Source, Origin: origin}
			for _, s := range st.svcs {
				c.result.Services[f] = append(c.result.Services[f], s.Name)
			}
		}
	}
	for _, g := range sortedNames(displaced) {
		c.result.Warnings = append(c.result.Warnings, fmt.Sprintf("%s: undeployed (it came from %s): %s now provides its service", g, describeOrigin(c.code[g].Origin), displaced[g]))
		delete(c.code, g)
		c.result.Services[g] = nil
	}
}

// codeSteps checks the files of a code change and compiles them.
func (rt *Runtime) codeSteps(c *candidate, changes []CodeChange, force bool) map[string]*codeStep {
	steps := map[string]*codeStep{}
	for _, cc := range changes {
		file := cleanFile(cc.File)
		if cc.File == "" || file == ".." || strings.HasPrefix(file, "../") || path.IsAbs(file) {
			name := file
			if cc.File == "" {
				name = ""
			}
			c.problem(registry.KindCode, name, "", "file name must be relative to the pickup directory")
			continue
		}
		if _, dup := steps[file]; dup {
			c.problem(registry.KindCode, file, "", "is given twice in one change")
			continue
		}
		prev, deployed := c.code[file]
		st := &codeStep{file: file, cc: cc, prev: prev}
		steps[file] = st
		if cc.Source == nil && !deployed {
			c.problem(registry.KindCode, file, "", "is not deployed")
			continue
		}
		if cc.Source != nil {
			comp, ok := rt.opts.Compilers[path.Ext(file)]
			if !ok {
				c.problem(registry.KindCode, file, "", "no service language uses %s files", redact.Quote(path.Ext(file)))
				continue
			}
			svcs, warnings, err := comp.Compile(file, cc.Source)
			c.result.Warnings = append(c.result.Warnings, warnings...)
			if err != nil {
				c.problems = append(c.problems, registry.Locate(registry.KindCode, file, []error{err})...)
				continue
			}
			st.svcs = svcs
		}
		if deployed && !sameOrigin(prev.Origin, cc.Origin) {
			if !force {
				c.problem(registry.KindCode, file, "", "%s", originConflict(st, c.services.From(file)))
				continue
			}
			c.result.Warnings = append(c.result.Warnings, fmt.Sprintf("%s: replaces the file deployed from %s (%s)", file, describeOrigin(prev.Origin), serviceList(c.services.From(file))))
		}
		st.ok = true
	}
	return steps
}

// checkNames checks the names the files of a change take: two files of
// the change taking one name are both refused; a name that a file outside
// the change provides is taken over only by force, and that file is
// undeployed; a name that a file of the change gives up only in a version
// that is not swapped in waits for it. It returns the files to undeploy,
// each with the file that takes over its service.
func (c *candidate) checkNames(steps map[string]*codeStep, files []string, force bool) map[string]string {
	provider := map[string]string{}
	for _, f := range files {
		if !steps[f].ok {
			continue
		}
		for _, s := range steps[f].svcs {
			if other, dup := provider[s.Name]; dup {
				c.problem(registry.KindCode, other, "", "service %q is also defined in %s, deployed in the same change", s.Name, f)
				c.problem(registry.KindCode, f, "", "service %q is also defined in %s, deployed in the same change", s.Name, other)
				steps[f].held, steps[other].held = true, true
			}
			provider[s.Name] = f
		}
	}
	displaced := map[string]string{}
	for _, f := range files {
		st := steps[f]
		if !st.ok {
			continue
		}
		for _, s := range st.svcs {
			prev := c.services.Get(s.Name)
			if prev == nil || prev.Source == f || steps[prev.Source] != nil {
				continue // free, its own, or its file changes too (below)
			}
			switch _, isFile := c.code[prev.Source]; {
			case !isFile:
				c.problem(registry.KindCode, f, "", "service name %q is already used by %s", s.Name, prev.Origin())
			case !force:
				c.problem(registry.KindCode, f, "", "service %q is already deployed from %s (%s); %s", s.Name, prev.Source,
					describeOrigin(c.code[prev.Source].Origin), forceHint("move it to "+f+" and undeploy "+prev.Source))
			default:
				displaced[prev.Source] = f
				continue
			}
			st.held = true
		}
	}
	for waiting := true; waiting; {
		waiting = false
		for _, f := range files {
			for _, s := range steps[f].svcs {
				prev := c.services.Get(s.Name)
				if steps[f].swapped() && prev != nil && steps[prev.Source] != nil && !steps[prev.Source].swapped() {
					steps[f].held, waiting = true, true
					if c.waits == nil {
						c.waits = map[string][]string{}
					}
					c.waits[f] = append(c.waits[f], prev.Source)
				}
			}
		}
	}
	return displaced
}

// cleanFile returns a file name in the form code is kept under.
func cleanFile(file string) string {
	return path.Clean(strings.ReplaceAll(file, "\\", "/"))
}

// sameOrigin reports whether two origins are the same source; an empty
// origin (a file deployed before origins were kept, or a caller that does
// not say) matches any.
func sameOrigin(a, b string) bool { return a == "" || b == "" || a == b }

// describeOrigin names an origin for messages.
func describeOrigin(origin string) string {
	switch origin {
	case OriginPickup:
		return "the pickup directory"
	case OriginAPI:
		return "the admin API"
	case "":
		return "an unknown source"
	}
	return origin
}

// forceHint says how to force a change that does what.
func forceHint(what string) string {
	return "force the deploy to " + what + " (plexus deploy --force, or ?force=true in the admin API)"
}

// originConflict says why a file deployed from one origin is not replaced
// or removed from another: the services it provides and would lose.
func originConflict(st *codeStep, had []string) string {
	from := fmt.Sprintf("is deployed from %s (%s)", describeOrigin(st.prev.Origin), serviceList(had))
	if st.cc.Source == nil {
		return fmt.Sprintf("%s, not from %s; it stays deployed: %s", from, describeOrigin(st.cc.Origin), forceHint("undeploy it"))
	}
	var names []string
	for _, s := range st.svcs {
		names = append(names, s.Name)
	}
	var lost []string
	for _, n := range had {
		if !slices.Contains(names, n) {
			lost = append(lost, n)
		}
	}
	effect := "replace it"
	if len(lost) > 0 {
		effect = "undeploy " + serviceList(lost)
	}
	return fmt.Sprintf("%s; deploying it from %s (%s) would %s: give one of the files another name, or %s",
		from, describeOrigin(st.cc.Origin), serviceList(names), effect, forceHint("replace it"))
}

// serviceList names services for messages: service "a", services "a", "b".
func serviceList(names []string) string {
	q := make([]string, len(names))
	for i, n := range names {
		q[i] = strconv.Quote(n)
	}
	if len(q) == 1 {
		return "service " + q[0]
	}
	return "services " + strings.Join(q, ", ")
}
