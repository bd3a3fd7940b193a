package sqlconn

import (
	"fmt"
	"strconv"
	"strings"
)

// Dialects of SQL, as the placeholders and quoting rules differ.
const (
	EnginePostgreSQL = "postgresql"
	EngineMySQL      = "mysql"
	EngineSQLite     = "sqlite"
)

// statement is a query with its :name placeholders translated to the
// driver's: $1, $2, … for PostgreSQL (a name used twice is one
// parameter), ? for MySQL and SQLite (one per use).
type statement struct {
	// text is the query as the driver gets it.
	text string
	// names are the parameters in the driver's order.
	names []string
	// rows says whether the statement returns rows: it starts with a
	// query verb (SELECT, WITH, …) or has a RETURNING clause.
	rows bool
}

// rowVerbs are the first words of statements that return rows.
var rowVerbs = map[string]bool{
	"SELECT": true, "WITH": true, "VALUES": true, "SHOW": true, "EXPLAIN": true, "PRAGMA": true,
	"DESCRIBE": true, "DESC": true, "TABLE": true, "FETCH": true,
}

// maxParams is the most placeholders a statement may have: PostgreSQL's
// protocol counts parameters in 16 bits.
const maxParams = 65535

// parse translates the :name placeholders of a query for an engine. It
// knows the engine's quoting — '…' strings (with backslash escapes in
// MySQL and in PostgreSQL's E'…'), "…" and `…` identifiers,
// PostgreSQL's $tag$…$tag$ strings, -- and # line comments (# in MySQL)
// and /* */ comments (nested in PostgreSQL) — so a colon inside them is
// left alone, as is PostgreSQL's :: cast. The driver's own placeholders
// outside quotes ($1 in PostgreSQL, ? in MySQL and SQLite) are refused:
// parameters are named.
func parse(engine, query string) (*statement, error) {
	st := &statement{}
	var b strings.Builder
	b.Grow(len(query) + 8)
	index := map[string]int{}
	first := true
	for i := 0; i < len(query); {
		c := query[i]
		switch {
		case c == '\'' || c == '"' || c == '`' && engine == EngineMySQL:
			escapes := engine == EngineMySQL && c != '`' ||
				engine == EnginePostgreSQL && c == '\'' && i > 0 && (query[i-1] == 'E' || query[i-1] == 'e') && (i < 2 || !isWord(query[i-2]))
			end, err := quoted(query, i, c, escapes)
			if err != nil {
				return nil, err
			}
			b.WriteString(query[i:end])
			i = end
		case c == '-' && i+1 < len(query) && query[i+1] == '-', c == '#' && engine == EngineMySQL:
			end := strings.IndexByte(query[i:], '\n')
			if end < 0 {
				end = len(query) - i
			}
			b.WriteString(query[i : i+end])
			i += end
		case c == '/' && i+1 < len(query) && query[i+1] == '*':
			end, err := blockComment(query, i, engine == EnginePostgreSQL)
			if err != nil {
				return nil, err
			}
			b.WriteString(query[i:end])
			i = end
		case c == '$' && engine == EnginePostgreSQL:
			if tag, ok := dollarTag(query, i); ok {
				end := strings.Index(query[i+len(tag):], tag)
				if end < 0 {
					return nil, fmt.Errorf("the %s string at offset %d is not closed", tag, i)
				}
				end += i + 2*len(tag)
				b.WriteString(query[i:end])
				i = end
				continue
			}
			if i+1 < len(query) && isDigit(query[i+1]) {
				return nil, fmt.Errorf("positional parameter at offset %d: name parameters, as in :id, and give their values in params", i)
			}
			b.WriteByte(c)
			i++
		case c == '?' && engine != EnginePostgreSQL:
			return nil, fmt.Errorf("positional parameter ? at offset %d: name parameters, as in :id, and give their values in params", i)
		case c == ':' && i+1 < len(query) && query[i+1] == ':':
			b.WriteString("::") // a PostgreSQL cast
			i += 2
		case c == ':' && i+1 < len(query) && isNameStart(query[i+1]) && (i == 0 || !isWord(query[i-1])):
			j := i + 1
			for j < len(query) && (isNameStart(query[j]) || isDigit(query[j])) {
				j++
			}
			name := query[i+1 : j]
			if engine == EnginePostgreSQL {
				n, ok := index[name]
				if !ok {
					st.names = append(st.names, name)
					n = len(st.names)
					index[name] = n
				}
				b.WriteByte('$')
				b.WriteString(strconv.Itoa(n))
			} else {
				st.names = append(st.names, name)
				b.WriteByte('?')
			}
			if len(st.names) > maxParams {
				return nil, fmt.Errorf("more than %d parameters", maxParams)
			}
			i = j
		case isNameStart(c):
			j := i + 1
			for j < len(query) && isWord(query[j]) {
				j++
			}
			word := query[i:j]
			if first {
				st.rows = rowVerbs[strings.ToUpper(word)]
				first = false
			} else if len(word) == len("RETURNING") && strings.EqualFold(word, "RETURNING") {
				st.rows = true
			}
			b.WriteString(query[i:j])
			i = j
		case c == '(' && first:
			// (SELECT …) UNION …: the verb follows.
			b.WriteByte(c)
			i++
		default:
			if isDigit(c) || isWordByte(c) {
				// A number or the rest of a word: never a placeholder's
				// start, never a verb.
				j := i + 1
				for j < len(query) && isWord(query[j]) {
					j++
				}
				b.WriteString(query[i:j])
				i = j
				continue
			}
			b.WriteByte(c)
			i++
		}
	}
	st.text = b.String()
	return st, nil
}

// quoted returns the end of the quoted run starting at query[start] with
// quote q; a doubled quote stands for itself, and a backslash escapes
// the next byte when escapes is set.
func quoted(query string, start int, q byte, escapes bool) (int, error) {
	for i := start + 1; i < len(query); i++ {
		switch query[i] {
		case '\\':
			if escapes {
				i++
			}
		case q:
			if i+1 < len(query) && query[i+1] == q {
				i++
				continue
			}
			return i + 1, nil
		}
	}
	return 0, fmt.Errorf("the %c quote at offset %d is not closed", q, start)
}

// blockComment returns the end of the /* comment at query[start].
func blockComment(query string, start int, nested bool) (int, error) {
	depth := 0
	for i := start; i+1 < len(query); i++ {
		switch {
		case query[i] == '/' && query[i+1] == '*':
			if depth == 0 || nested {
				depth++
			}
			i++
		case query[i] == '*' && query[i+1] == '/':
			depth--
			i++
			if depth == 0 {
				return i + 1, nil
			}
		}
	}
	return 0, fmt.Errorf("the /* comment at offset %d is not closed", start)
}

// dollarTag returns the $tag$ opening a PostgreSQL dollar-quoted string
// at query[i], if one does.
func dollarTag(query string, i int) (string, bool) {
	if i > 0 && isWord(query[i-1]) {
		return "", false // part of an identifier such as a$b
	}
	j := i + 1
	if j < len(query) && isNameStart(query[j]) {
		for j < len(query) && isWord(query[j]) && query[j] != '$' {
			j++
		}
	}
	if j < len(query) && query[j] == '$' {
		return query[i : j+1], true
	}
	return "", false
}

func isDigit(c byte) bool     { return c >= '0' && c <= '9' }
func isWordByte(c byte) bool  { return c >= 0x80 }
func isNameStart(c byte) bool { return c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' }
func isWord(c byte) bool      { return isNameStart(c) || isDigit(c) || c == '$' || isWordByte(c) }

// args returns the driver's arguments of a statement from params, each
// converted by conv, after skip free slots; a placeholder without a
// value is an error.
func (st *statement) args(params map[string]any, conv func(any) (any, error), skip int) ([]any, error) {
	out := make([]any, skip+len(st.names))
	for i, name := range st.names {
		v, ok := params[name]
		if !ok {
			return nil, fmt.Errorf("parameter :%s has no value in params", name)
		}
		c, err := conv(v)
		if err != nil {
			return nil, fmt.Errorf("parameter :%s: %w", name, err)
		}
		out[skip+i] = c
	}
	return out, nil
}
