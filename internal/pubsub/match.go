package pubsub

import (
	"fmt"
	"slices"
	"strings"
)

// A pattern matches topic names as Zato's permissions do. Current Zato's
// patterns: names and patterns are split on '.'; '*' matches exactly one
// segment (which may be empty), '**' zero or more segments, anything else
// the segment itself; the whole name must match.
//
// A pattern that starts with '/' is Zato 3.2's, whose topic names are
// paths (/orders/new) and whose patterns are globs: '?' matches one
// character but '/', '*' zero or more characters but '/', '**' zero or
// more characters, '/' included, [abc], [a-z] and [!a-z] (or [^a-z]) one
// character of (or not of) a set, '\' makes the next character literal,
// anything else itself. As in 3.2, a pattern matches a name that starts
// with what it matches: /orders/* matches /orders/new and also
// /orders/new/eu. 3.2's inline regular expressions ({...}) are not
// supported: CheckPattern refuses them.
//
// Both kinds are case-insensitive, as topic names are.

// CheckPattern says what is wrong with a pattern, or returns nil.
func CheckPattern(pattern string) error {
	switch {
	case pattern == "":
		return fmt.Errorf("a pattern must not be empty")
	case len(pattern) > MaxTopicName:
		return fmt.Errorf("a pattern has at most %d characters, not %d", MaxTopicName, len(pattern))
	case strings.Contains(pattern, "#"):
		return fmt.Errorf("a pattern must not contain '#'")
	}
	if pattern[0] == '/' {
		_, err := compileGlob(strings.ToLower(pattern))
		return err
	}
	return nil
}

// MatchPattern reports whether a pattern matches a topic name. A pattern
// CheckPattern refuses matches nothing.
func MatchPattern(pattern, name string) bool {
	pattern, name = strings.ToLower(pattern), strings.ToLower(name)
	if strings.HasPrefix(pattern, "/") {
		g, err := compileGlob(pattern)
		return err == nil && g.matchPrefix(name)
	}
	return matchSegments(strings.Split(pattern, "."), strings.Split(name, "."))
}

// matchSegments matches segments, remembering nothing: '**' tries every
// split, which is bounded by the number of segments of a name (at most
// MaxTopicName/2+1) times that of the pattern.
func matchSegments(p, n []string) bool {
	// done[i][j]: p[i:] was tried against n[j:] and failed.
	done := make([][]bool, len(p)+1)
	for i := range done {
		done[i] = make([]bool, len(n)+1)
	}
	var match func(i, j int) bool
	match = func(i, j int) bool {
		if done[i][j] {
			return false
		}
		ok := false
		switch {
		case i == len(p):
			ok = j == len(n)
		case p[i] == "**":
			for k := j; k <= len(n) && !ok; k++ {
				ok = match(i+1, k)
			}
		case j == len(n):
			ok = false
		case p[i] == "*" || p[i] == n[j]:
			ok = match(i+1, j+1)
		}
		if !ok {
			done[i][j] = true
		}
		return ok
	}
	return match(0, 0)
}

// globToken is one element of a 3.2 pattern.
type globToken struct {
	op  byte      // 'c' a character, '?' one but '/', '*' any but '/', 'S' (**) any, '[' a set
	c   byte      // op 'c'
	set [256]bool // op '[': the characters matched
}

// glob is a compiled 3.2 pattern.
type glob []globToken

// compileGlob reads a 3.2 pattern.
func compileGlob(pattern string) (glob, error) {
	var g glob
	for i := 0; i < len(pattern); i++ {
		switch c := pattern[i]; c {
		case '\\':
			if i+1 == len(pattern) {
				return nil, fmt.Errorf("pattern %q ends with '\\', which escapes nothing", pattern)
			}
			i++
			g = append(g, globToken{op: 'c', c: pattern[i]})
		case '?':
			g = append(g, globToken{op: '?'})
		case '*':
			if i+1 < len(pattern) && pattern[i+1] == '*' {
				i++
				g = append(g, globToken{op: 'S'})
			} else {
				g = append(g, globToken{op: '*'})
			}
		case '{', '}':
			return nil, fmt.Errorf("pattern %q: Zato 3.2's inline regular expressions ({...}) are not supported; use ?, *, ** and [...]", pattern)
		case '[':
			t := globToken{op: '['}
			j := i + 1
			negate := j < len(pattern) && (pattern[j] == '!' || pattern[j] == '^')
			if negate {
				j++
			}
			start := j
			for ; j < len(pattern) && (pattern[j] != ']' || j == start); j++ {
				lo := pattern[j]
				if lo == '\\' && j+1 < len(pattern) {
					j++
					lo = pattern[j]
				}
				hi := lo
				if j+2 < len(pattern) && pattern[j+1] == '-' && pattern[j+2] != ']' {
					hi = pattern[j+2]
					if hi == '\\' && j+3 < len(pattern) {
						j++
						hi = pattern[j+2]
					}
					j += 2
					if hi < lo {
						return nil, fmt.Errorf("pattern %q: range %c-%c is backwards", pattern, lo, hi)
					}
				}
				for x := int(lo); x <= int(hi); x++ {
					t.set[x] = true
				}
			}
			if j == len(pattern) {
				return nil, fmt.Errorf("pattern %q: '[' at %d has no closing ']'", pattern, i+1)
			}
			if negate {
				for x := range t.set {
					t.set[x] = !t.set[x]
				}
			}
			g = append(g, t)
			i = j
		default:
			g = append(g, globToken{op: 'c', c: c})
		}
	}
	return g, nil
}

// matchPrefix reports whether the glob matches a prefix of name. It
// follows every way through the pattern at once, so its time is at most
// the product of the lengths of the pattern and the name.
func (g glob) matchPrefix(name string) bool {
	cur, next := make([]bool, len(g)+1), make([]bool, len(g)+1)
	// closure adds the states a state reaches without reading: past a
	// '*' or '**' that matches nothing.
	closure := func(s []bool) {
		for i := range g {
			if s[i] && (g[i].op == '*' || g[i].op == 'S') {
				s[i+1] = true
			}
		}
	}
	cur[0] = true
	closure(cur)
	for j := 0; ; j++ {
		if cur[len(g)] {
			return true
		}
		if j == len(name) {
			return false
		}
		c := name[j]
		clear(next)
		any := false
		for i, t := range g {
			if !cur[i] {
				continue
			}
			switch {
			case t.op == 'c' && t.c == c, t.op == '?' && c != '/', t.op == '[' && t.set[c]:
				next[i+1] = true
			case t.op == '*' && c != '/', t.op == 'S':
				next[i] = true
			default:
				continue
			}
			any = true
		}
		if !any {
			return false
		}
		closure(next)
		cur, next = next, cur
	}
}

// isWildcard reports whether a pattern matches other names than one.
func isWildcard(p string) bool {
	if strings.HasPrefix(p, "/") {
		return strings.ContainsAny(p, "*?[")
	}
	return strings.Contains(p, "*")
}

// Matcher holds the patterns of a permission in Zato's order: patterns
// without wildcards ('*', and for 3.2 patterns '?' and '[') first, then the others, each group alphabetically.
type Matcher struct {
	patterns []string
}

// NewMatcher returns a matcher of patterns.
func NewMatcher(patterns []string) *Matcher {
	m := &Matcher{patterns: slices.Clone(patterns)}
	slices.SortStableFunc(m.patterns, func(a, b string) int {
		wa, wb := isWildcard(a), isWildcard(b)
		if wa != wb {
			if wa {
				return 1
			}
			return -1
		}
		return strings.Compare(a, b)
	})
	return m
}

// Match returns the first pattern that matches a topic name.
func (m *Matcher) Match(name string) (pattern string, ok bool) {
	if m == nil {
		return "", false
	}
	for _, p := range m.patterns {
		if MatchPattern(p, name) {
			return p, true
		}
	}
	return "", false
}
