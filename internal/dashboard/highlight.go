package dashboard

import (
	"html/template"
	"strings"
	"unicode"
	"unicode/utf8"
)

// keywords are Starlark's keywords and constants.
var keywords = map[string]bool{
	"and": true, "break": true, "continue": true, "def": true, "elif": true, "else": true, "for": true,
	"if": true, "in": true, "lambda": true, "load": true, "not": true, "or": true, "pass": true,
	"return": true, "while": true, "True": true, "False": true, "None": true,
}

// highlight returns Starlark (or Python) source as HTML, with comments,
// strings, numbers and keywords in spans of classes tok-com, tok-str,
// tok-num and tok-kw. Everything else is escaped as it is; a string left
// open runs to the end.
func highlight(src string) template.HTML {
	var b strings.Builder
	span := func(class, text string) {
		b.WriteString(`<span class="` + class + `">`)
		b.WriteString(template.HTMLEscapeString(text))
		b.WriteString(`</span>`)
	}
	for i := 0; i < len(src); {
		c := src[i]
		switch {
		case c == '#':
			end := strings.IndexByte(src[i:], '\n')
			if end < 0 {
				end = len(src) - i
			}
			span("tok-com", src[i:i+end])
			i += end
		case c == '"' || c == '\'':
			n := stringLen(src[i:])
			span("tok-str", src[i:i+n])
			i += n
		case c >= '0' && c <= '9':
			n := 1
			for i+n < len(src) && (isWord(src[i+n]) || src[i+n] == '.') {
				n++
			}
			span("tok-num", src[i:i+n])
			i += n
		case isWord(c) || c >= utf8.RuneSelf:
			n := 0
			for i+n < len(src) {
				r, size := utf8.DecodeRuneInString(src[i+n:])
				if !(r == '_' || unicode.IsLetter(r) || unicode.IsDigit(r)) {
					break
				}
				n += size
			}
			if n == 0 {
				_, n = utf8.DecodeRuneInString(src[i:])
			}
			if w := src[i : i+n]; keywords[w] {
				span("tok-kw", w)
			} else {
				b.WriteString(template.HTMLEscapeString(w))
			}
			i += n
		default:
			b.WriteString(template.HTMLEscapeString(src[i : i+1]))
			i++
		}
	}
	return template.HTML(b.String())
}

func isWord(c byte) bool {
	return c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9'
}

// stringLen returns the length of the string literal s starts with:
// quoted once or three times, with backslash escapes.
func stringLen(s string) int {
	q := s[:1]
	if len(s) >= 3 && s[1] == s[0] && s[2] == s[0] {
		q = s[:3]
	}
	for i := len(q); i < len(s); i++ {
		switch {
		case s[i] == '\\':
			i++
		case strings.HasPrefix(s[i:], q):
			return i + len(q)
		case len(q) == 1 && s[i] == '\n':
			return i
		}
	}
	return len(s)
}
