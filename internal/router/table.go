package router

import (
	"net/http"
	"net/url"
	"sort"
	"strings"
)

// Route is a template and a method bound to a value (a channel).
type Route struct {
	Template *Template
	// Method is the HTTP verb; empty matches every verb.
	Method string
	Value  any
}

// Conflict is a pair of routes that would match the same requests.
type Conflict struct {
	Existing, Added *Route
}

type leaf struct {
	any     *Route
	methods map[string]*Route
}

type mixedEdge struct {
	seg   segment
	shape string
	child *node
}

type node struct {
	lit   map[string]*node
	mixed []*mixedEdge
	param *node
	rest  *leaf
	leaf  *leaf
}

// Table is an immutable routing table.
type Table struct {
	root node
	n    int
}

// New builds a table. Routes whose template shape and method equal an
// earlier route's are left out and reported as conflicts.
func New(routes []*Route) (*Table, []Conflict) {
	t := &Table{}
	seen := map[string]*Route{}
	var conflicts []Conflict
	for _, r := range routes {
		key := r.Method + " " + r.Template.Shape()
		if prev, dup := seen[key]; dup {
			conflicts = append(conflicts, Conflict{Existing: prev, Added: r})
			continue
		}
		seen[key] = r
		t.insert(r)
		t.n++
	}
	t.root.sortEdges()
	return t, conflicts
}

// Len returns the number of routes.
func (t *Table) Len() int { return t.n }

func (t *Table) insert(r *Route) {
	n := &t.root
	for _, s := range r.Template.segs {
		switch s.kind {
		case segLiteral:
			if n.lit == nil {
				n.lit = map[string]*node{}
			}
			c := n.lit[s.lit]
			if c == nil {
				c = &node{}
				n.lit[s.lit] = c
			}
			n = c
		case segMixed:
			shape := s.shape()
			var c *node
			for _, e := range n.mixed {
				if e.shape == shape {
					c = e.child
				}
			}
			if c == nil {
				c = &node{}
				n.mixed = append(n.mixed, &mixedEdge{seg: s, shape: shape, child: c})
			}
			n = c
		case segParam:
			if n.param == nil {
				n.param = &node{}
			}
			n = n.param
		case segRest:
			if n.rest == nil {
				n.rest = &leaf{}
			}
			n.rest.add(r)
			return
		}
	}
	if n.leaf == nil {
		n.leaf = &leaf{}
	}
	n.leaf.add(r)
}

func (l *leaf) add(r *Route) {
	if r.Method == "" {
		l.any = r
		return
	}
	if l.methods == nil {
		l.methods = map[string]*Route{}
	}
	l.methods[r.Method] = r
}

func (n *node) sortEdges() {
	if len(n.mixed) > 1 {
		n.sortMixed()
	}
	for _, c := range n.lit {
		c.sortEdges()
	}
	for _, e := range n.mixed {
		e.child.sortEdges()
	}
	if n.param != nil {
		n.param.sortEdges()
	}
}

func (n *node) sortMixed() {
	sort.SliceStable(n.mixed, func(i, j int) bool {
		a, b := n.mixed[i].seg.litLen(), n.mixed[j].seg.litLen()
		if a != b {
			return a > b
		}
		return n.mixed[i].shape < n.mixed[j].shape
	})
}

// Result is the outcome of a match.
type Result struct {
	// Status is 200 when a route matched, 404 when no template matched the
	// path, 405 when templates matched but none accepts the method, and
	// 400 when the path is malformed.
	Status int
	Route  *Route
	// Params holds the parameter values in Route.Template.Params order.
	Params []string
	// Allow lists the accepted methods when Status is 405.
	Allow string
}

// Param returns the value of a named parameter.
func (r *Result) Param(name string) string {
	for i, n := range r.Route.Template.Params {
		if n == name {
			return r.Params[i]
		}
	}
	return ""
}

type matcher struct {
	method string
	res    Result
	allow  map[string]bool
}

// Match finds the most specific route for a method and an escaped request
// path (as url.URL.EscapedPath returns it).
func (t *Table) Match(method, escapedPath string) Result {
	var segBuf, capBuf [16]string // most paths fit: no allocation
	segs, ok := split(escapedPath, segBuf[:0])
	if !ok {
		return Result{Status: http.StatusBadRequest}
	}
	m := matcher{method: method}
	if t.walk(&t.root, segs, capBuf[:0], &m) {
		m.res.Status = http.StatusOK
		return m.res
	}
	if len(m.allow) == 0 {
		return Result{Status: http.StatusNotFound}
	}
	allow := make([]string, 0, len(m.allow))
	for v := range m.allow {
		allow = append(allow, v)
	}
	sort.Strings(allow)
	return Result{Status: http.StatusMethodNotAllowed, Allow: strings.Join(allow, ", ")}
}

func (t *Table) walk(n *node, segs, caps []string, m *matcher) bool {
	if len(segs) == 0 {
		return m.try(n.leaf, caps)
	}
	s := segs[0]
	if c := n.lit[s]; c != nil && t.walk(c, segs[1:], caps, m) {
		return true
	}
	for _, e := range n.mixed {
		if out, ok := matchMixed(e.seg.pieces, s, caps); ok && t.walk(e.child, segs[1:], out, m) {
			return true
		}
	}
	if n.param != nil && s != "" && t.walk(n.param, segs[1:], append(caps, s), m) {
		return true
	}
	if n.rest != nil {
		return m.try(n.rest, append(caps, strings.Join(segs, "/")))
	}
	return false
}

func (m *matcher) try(l *leaf, caps []string) bool {
	if l == nil {
		return false
	}
	r := l.methods[m.method]
	if r == nil && m.method == http.MethodHead {
		r = l.methods[http.MethodGet]
	}
	if r == nil {
		r = l.any
	}
	if r != nil {
		m.res.Route = r
		m.res.Params = append([]string(nil), caps...)
		return true
	}
	if m.allow == nil {
		m.allow = map[string]bool{}
	}
	for v := range l.methods {
		m.allow[v] = true
		if v == http.MethodGet {
			m.allow[http.MethodHead] = true
		}
	}
	return false
}

// Split normalises an escaped request path into decoded segments: empty
// and "." segments are dropped, ".." removes the segment before it, each
// segment is percent-decoded on its own, and a trailing slash becomes a
// last empty segment. ok is false for a path that does not start with / or
// has invalid percent-encoding.
func Split(escapedPath string) (segs []string, ok bool) {
	return split(escapedPath, nil)
}

// split is Split appending to segs.
func split(escapedPath string, segs []string) ([]string, bool) {
	if escapedPath == "" || escapedPath[0] != '/' {
		return nil, false
	}
	rest := escapedPath[1:]
	if rest == "" {
		return append(segs, ""), true
	}
	for {
		raw, tail, more := strings.Cut(rest, "/")
		s := raw
		if strings.IndexByte(raw, '%') >= 0 {
			var err error
			if s, err = url.PathUnescape(raw); err != nil {
				return nil, false
			}
		}
		switch s {
		case "", ".":
			if !more {
				segs = append(segs, "")
			}
		case "..":
			if len(segs) > 0 {
				segs = segs[:len(segs)-1]
			}
			if !more {
				segs = append(segs, "")
			}
		default:
			segs = append(segs, s)
		}
		if !more {
			return segs, true
		}
		rest = tail
	}
}
