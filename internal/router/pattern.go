// Package router matches request paths against channel URL templates.
//
// A template is a path whose segments are literals, parameters ({id}),
// literals mixed with parameters ({name}.{ext}, v{version}), or, as the last
// segment only, a rest parameter ({path...}) that takes the rest of the
// path. Matching is anchored and trailing slashes are significant. Request
// paths are split into segments before each segment is percent-decoded, so
// an encoded slash (%2F) stays inside its segment.
//
// When several templates match a path, the most specific wins whatever the
// order they were added in: at each segment a literal beats a mixed segment
// (the one with more literal characters first), which beats a parameter,
// which beats a rest parameter. A Table is immutable and safe for
// concurrent use; build a new one for every change.
package router

import (
	"fmt"
	"net/url"
	"strings"

	"github.com/plexushq/plexus/internal/redact"
)

// MaxPatternLen is the longest template accepted.
const MaxPatternLen = 2048

type segKind uint8

const (
	segLiteral segKind = iota
	segMixed
	segParam
	segRest
)

// piece is a literal run or a parameter inside a mixed segment.
type piece struct {
	lit   string
	param bool
}

type segment struct {
	kind   segKind
	lit    string  // segLiteral
	pieces []piece // segMixed
	names  []string
}

// shape is the segment with parameter names erased, for spotting
// templates that would match the same paths.
func (s segment) shape() string {
	switch s.kind {
	case segLiteral:
		return "L" + s.lit
	case segParam:
		return "{}"
	case segRest:
		return "{...}"
	}
	var b strings.Builder
	b.WriteString("M")
	for _, p := range s.pieces {
		if p.param {
			b.WriteString("{}")
		} else {
			b.WriteString(strings.ReplaceAll(p.lit, "{", "{{"))
		}
	}
	return b.String()
}

// litLen is the number of literal characters of a mixed segment.
func (s segment) litLen() int {
	n := 0
	for _, p := range s.pieces {
		n += len(p.lit)
	}
	return n
}

// Template is a parsed URL path template. It is immutable.
type Template struct {
	Raw    string
	segs   []segment
	Params []string // parameter names in order
	shape  string
}

// Shape returns a key equal for templates that match the same paths.
func (t *Template) Shape() string { return t.shape }

// Parse parses a URL path template. Its errors say what is wrong in words a
// user can act on.
func Parse(pattern string) (*Template, error) {
	switch {
	case pattern == "":
		return nil, fmt.Errorf("must not be empty")
	case len(pattern) > MaxPatternLen:
		return nil, fmt.Errorf("is longer than %d characters", MaxPatternLen)
	case pattern[0] != '/':
		return nil, fmt.Errorf("must start with /")
	case strings.ContainsAny(pattern, "?#"):
		return nil, fmt.Errorf("must not contain ? or #: query parameters reach the service without being declared")
	}
	for _, c := range pattern {
		if c < 0x20 || c == 0x7f {
			return nil, fmt.Errorf("must not contain control characters")
		}
	}
	t := &Template{Raw: pattern}
	raw := strings.Split(pattern[1:], "/")
	seen := map[string]bool{}
	for i, r := range raw {
		last := i == len(raw)-1
		if r == "" && !last {
			return nil, fmt.Errorf("has an empty segment (//)")
		}
		if r == "." || r == ".." {
			return nil, fmt.Errorf("must not contain . or .. segments")
		}
		seg, err := parseSegment(r, last)
		if err != nil {
			return nil, fmt.Errorf("segment %s: %w", redact.Quote(r), err)
		}
		for _, n := range seg.names {
			if seen[n] {
				return nil, fmt.Errorf("names parameter {%s} twice", redact.Short(n))
			}
			seen[n] = true
			t.Params = append(t.Params, n)
		}
		t.segs = append(t.segs, seg)
	}
	parts := make([]string, len(t.segs))
	for i, s := range t.segs {
		parts[i] = s.shape()
	}
	t.shape = strings.Join(parts, "/")
	return t, nil
}

func parseSegment(r string, last bool) (segment, error) {
	if !strings.ContainsAny(r, "{}") {
		lit, err := url.PathUnescape(r)
		if err != nil {
			return segment{}, fmt.Errorf("invalid percent-encoding")
		}
		return segment{kind: segLiteral, lit: lit}, nil
	}
	var pieces []piece
	var names []string
	rest := r
	for rest != "" {
		open := strings.IndexByte(rest, '{')
		if open < 0 {
			if strings.IndexByte(rest, '}') >= 0 {
				return segment{}, fmt.Errorf("has a } without a {")
			}
			pieces = append(pieces, piece{lit: rest})
			break
		}
		if strings.IndexByte(rest[:open], '}') >= 0 {
			return segment{}, fmt.Errorf("has a } without a {")
		}
		if open > 0 {
			lit, err := url.PathUnescape(rest[:open])
			if err != nil {
				return segment{}, fmt.Errorf("invalid percent-encoding")
			}
			pieces = append(pieces, piece{lit: lit})
		}
		end := strings.IndexByte(rest[open:], '}')
		if end < 0 {
			return segment{}, fmt.Errorf("has a { without a }")
		}
		name := rest[open+1 : open+end]
		rest = rest[open+end+1:]
		if base, ok := strings.CutSuffix(name, "..."); ok {
			if !last || len(pieces) > 0 || rest != "" {
				return segment{}, fmt.Errorf("{%s} must be the whole last segment", redact.Short(name))
			}
			if !validName(base) {
				return segment{}, fmt.Errorf("parameter name %s must be letters, digits and _, not starting with a digit", redact.Quote(base))
			}
			return segment{kind: segRest, names: []string{base}}, nil
		}
		if !validName(name) {
			return segment{}, fmt.Errorf("parameter name %s must be letters, digits and _, not starting with a digit", redact.Quote(name))
		}
		if n := len(pieces); n > 0 && pieces[n-1].param {
			return segment{}, fmt.Errorf("two parameters need a literal between them")
		}
		pieces = append(pieces, piece{param: true})
		names = append(names, name)
	}
	if len(pieces) == 1 && pieces[0].param {
		return segment{kind: segParam, names: names}, nil
	}
	return segment{kind: segMixed, pieces: pieces, names: names}, nil
}

func validName(s string) bool {
	if s == "" {
		return false
	}
	for i, c := range s {
		switch {
		case c == '_', c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z':
		case c >= '0' && c <= '9' && i > 0:
		default:
			return false
		}
	}
	return true
}

// matchMixed matches a segment value against mixed pieces, appending the
// captured parameter values. Parameters take at least one character; the
// first parameter takes as much as it can (so {name}.{ext} splits
// a.b.c into a.b and c).
func matchMixed(pieces []piece, v string, caps []string) ([]string, bool) {
	if len(pieces) == 0 {
		return caps, v == ""
	}
	p := pieces[0]
	if !p.param {
		if !strings.HasPrefix(v, p.lit) {
			return caps, false
		}
		return matchMixed(pieces[1:], v[len(p.lit):], caps)
	}
	if len(pieces) == 1 {
		if v == "" {
			return caps, false
		}
		return append(caps, v), true
	}
	next := pieces[1].lit // a literal always follows a parameter
	for i := len(v) - len(next); i >= 1; i-- {
		if v[i:i+len(next)] != next {
			continue
		}
		if out, ok := matchMixed(pieces[1:], v[i:], append(caps, v[:i])); ok {
			return out, true
		}
	}
	return caps, false
}
