package rest

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"math/big"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"github.com/plexushq/plexus/internal/redact"
	"github.com/plexushq/plexus/sdk/service"
)

// pathTemplate is a parsed url_path: literal text and {placeholders}.
type pathTemplate struct {
	raw   string
	parts []tplPart
	// names are the placeholders, each once, in order of appearance.
	names []string
	// queryAt is the index of the first part after the '?' of a url_path
	// with a fixed query string, else len(parts).
	queryAt  int
	hasQuery bool
	// segs maps the index of each path segment holding placeholders to
	// their names. Values cannot hold a /, so indexes stay the same once
	// the path is filled.
	segs map[int][]string
}

type tplPart struct {
	lit  string
	name string // a placeholder when not empty
}

// parseTemplate parses a url_path such as /api/billing/{phone_no}.
func parseTemplate(s string) (*pathTemplate, error) {
	if !strings.HasPrefix(s, "/") {
		return nil, errors.New("must start with /")
	}
	if strings.ContainsAny(s, "# \t\r\n") {
		return nil, errors.New("must not contain spaces, control characters or a #fragment")
	}
	t := &pathTemplate{raw: s}
	rest := s
	for rest != "" {
		open := strings.IndexAny(rest, "{}")
		if open < 0 {
			t.addLit(rest)
			break
		}
		if rest[open] == '}' {
			return nil, fmt.Errorf("has a } without its {")
		}
		t.addLit(rest[:open])
		end := strings.IndexAny(rest[open+1:], "{}")
		if end < 0 || rest[open+1+end] != '}' {
			return nil, fmt.Errorf("has a { without its }")
		}
		name := rest[open+1 : open+1+end]
		if !validName(name) {
			return nil, fmt.Errorf("placeholder {%s}: names are letters, digits, _ and -", redact.Short(name))
		}
		t.parts = append(t.parts, tplPart{name: name})
		if !slices.Contains(t.names, name) {
			t.names = append(t.names, name)
		}
		rest = rest[open+2+end:]
	}
	t.queryAt = len(t.parts)
	for i, p := range t.parts {
		if p.name == "" && strings.Contains(p.lit, "?") {
			t.queryAt, t.hasQuery = i, true
			break
		}
	}
	for seg := range strings.SplitSeq(strings.SplitN(s, "?", 2)[0], "/") {
		if seg == "." || seg == ".." {
			return nil, errors.New("must not contain . or .. segments")
		}
	}
	seg := 0
	for _, p := range t.parts[:t.queryAt] {
		if p.name == "" {
			seg += strings.Count(p.lit, "/")
			continue
		}
		if t.segs == nil {
			t.segs = map[int][]string{}
		}
		t.segs[seg] = append(t.segs[seg], p.name)
	}
	return t, nil
}

func (t *pathTemplate) addLit(s string) {
	if s != "" {
		t.parts = append(t.parts, tplPart{lit: s})
	}
}

func validName(s string) bool {
	if s == "" {
		return false
	}
	for _, c := range s {
		if !(c == '_' || c == '-' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9') {
			return false
		}
	}
	return true
}

// build returns base + the path with its placeholders filled from params,
// followed by the query string made of the other params. params is only
// read. Placeholder values are percent-encoded with no safe characters, so
// a value stays within its place: "../../admin" becomes "..%2F..%2Fadmin"
// and "%2e" becomes "%252e". A value that makes an empty, "." or ".."
// segment (which would address another resource), or that is not a
// scalar, is a 400 naming its parameter. A missing placeholder is the
// service's or the connection's fault, not the caller's: it is a plain
// error, which answers 500 without showing url_path, and whose text, for
// the log, names the parameters and url_path.
func (t *pathTemplate) build(conn, base string, params map[string]any) (string, error) {
	var b strings.Builder
	b.Grow(len(base) + len(t.raw) + 32)
	b.WriteString(base)
	var missing []string
	pathStart, pathEnd := b.Len(), -1
	for i, p := range t.parts {
		if i == t.queryAt {
			pathEnd = b.Len()
		}
		if p.name == "" {
			b.WriteString(p.lit)
			continue
		}
		v, ok := params[p.name]
		if !ok || v == nil {
			if !slices.Contains(missing, p.name) {
				missing = append(missing, p.name)
			}
			continue
		}
		s, err := scalar(v)
		if err != nil {
			return "", service.BadRequest("Path parameter %s of outgoing REST connection %q %v", p.name, conn, err)
		}
		escape(&b, s)
	}
	if pathEnd < 0 {
		pathEnd = b.Len()
	}
	if len(missing) > 0 {
		word := "parameter"
		if len(missing) > 1 {
			word = "parameters"
		}
		return "", fmt.Errorf("calling outgoing REST connection %q: missing path %s %s (url_path %s)", conn, word, strings.Join(missing, ", "), t.raw)
	}
	if t.segs != nil {
		if err := t.checkSegments(conn, b.String()[pathStart:pathEnd]); err != nil {
			return "", err
		}
	}
	sep := byte('?')
	if t.hasQuery {
		sep = '&'
	}
	if key, err := t.query(&b, sep, params); err != nil {
		return "", service.BadRequest("Query parameter %s of outgoing REST connection %q %v", key, conn, err)
	}
	return b.String(), nil
}

// checkSegments refuses a filled path whose placeholders make a segment
// that is empty, "." or "..".
func (t *pathTemplate) checkSegments(conn, path string) error {
	i := 0
	for seg := range strings.SplitSeq(path, "/") {
		if names, ok := t.segs[i]; ok && (seg == "" || seg == "." || seg == "..") {
			what := fmt.Sprintf("the path segment %q", seg)
			if seg == "" {
				what = "an empty path segment"
			}
			return service.BadRequest("Path parameter %s of outgoing REST connection %q makes %s, which would address another resource", strings.Join(names, ", "), conn, what)
		}
		i++
	}
	return nil
}

// query appends the params that are not placeholders as a query string,
// keys sorted, lists as repeated keys, nil values left out. On error it
// returns the key at fault.
func (t *pathTemplate) query(b *strings.Builder, sep byte, params map[string]any) (string, error) {
	n := len(params)
	if n == 0 {
		return "", nil
	}
	keys := make([]string, 0, n)
	for k := range params {
		if !slices.Contains(t.names, k) {
			keys = append(keys, k)
		}
	}
	if len(keys) == 0 {
		return "", nil
	}
	slices.Sort(keys)
	add := func(k, v string) {
		b.WriteByte(sep)
		sep = '&'
		b.WriteString(url.QueryEscape(k))
		b.WriteByte('=')
		b.WriteString(url.QueryEscape(v))
	}
	for _, k := range keys {
		switch v := params[k].(type) {
		case nil:
		case []any:
			for _, e := range v {
				if e == nil {
					continue
				}
				s, err := scalar(e)
				if err != nil {
					return k, err
				}
				add(k, s)
			}
		case []string:
			for _, s := range v {
				add(k, s)
			}
		default:
			s, err := scalar(v)
			if err != nil {
				return k, err
			}
			add(k, s)
		}
	}
	return "", nil
}

// scalar formats one parameter value: strings as they are, numbers and
// booleans as JSON writes them.
func scalar(v any) (string, error) {
	switch x := v.(type) {
	case string:
		return x, nil
	case []byte:
		return string(x), nil
	case bool:
		return strconv.FormatBool(x), nil
	case int:
		return strconv.Itoa(x), nil
	case int64:
		return strconv.FormatInt(x, 10), nil
	case int32:
		return strconv.FormatInt(int64(x), 10), nil
	case uint64:
		return strconv.FormatUint(x, 10), nil
	case uint:
		return strconv.FormatUint(uint64(x), 10), nil
	case float64:
		if math.IsNaN(x) || math.IsInf(x, 0) {
			return "", fmt.Errorf("is %v, which is not a number a URL can carry", x)
		}
		if math.Abs(x) < 1e21 {
			return strconv.FormatFloat(x, 'f', -1, 64), nil
		}
		return strconv.FormatFloat(x, 'e', -1, 64), nil
	case float32:
		return scalar(float64(x))
	case json.Number:
		return string(x), nil
	case *big.Int:
		return x.String(), nil
	case []any, []string, map[string]any, map[string]string, http.Header, url.Values:
		return "", errors.New("must be a string or a number, not a list or a dict")
	case fmt.Stringer:
		return x.String(), nil
	}
	return fmt.Sprint(v), nil
}

const upperhex = "0123456789ABCDEF"

// escape writes s percent-encoded, keeping only RFC 3986's unreserved
// characters (letters, digits, - . _ ~) as they are, as Python's
// urllib.parse.quote(s, safe="") does.
func escape(b *strings.Builder, s string) {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if unreserved(c) {
			b.WriteByte(c)
			continue
		}
		b.WriteByte('%')
		b.WriteByte(upperhex[c>>4])
		b.WriteByte(upperhex[c&15])
	}
}

func unreserved(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '.' || c == '_' || c == '~'
}
