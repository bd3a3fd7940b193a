package pubsub

import (
	"slices"
	"strings"
)

// A pattern matches topic names as Zato's permissions do: names and
// patterns are split on '.'; '*' matches exactly one segment (which may
// be empty), '**' zero or more segments, anything else the segment
// itself, case-insensitively; the whole name must match.

// MatchPattern reports whether a pattern matches a topic name.
func MatchPattern(pattern, name string) bool {
	return matchSegments(strings.Split(strings.ToLower(pattern), "."), strings.Split(strings.ToLower(name), "."))
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

// Matcher holds the patterns of a permission in Zato's order: patterns
// without wildcards first, then the others, each group alphabetically.
type Matcher struct {
	patterns []string
}

// NewMatcher returns a matcher of patterns.
func NewMatcher(patterns []string) *Matcher {
	m := &Matcher{patterns: slices.Clone(patterns)}
	slices.SortStableFunc(m.patterns, func(a, b string) int {
		wa, wb := strings.Contains(a, "*"), strings.Contains(b, "*")
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
