package porter

import (
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"
)

// tokKind is the kind of a Python token.
type tokKind int

const (
	tEOF tokKind = iota
	tName
	tNumber
	tString
	tOp
	tNewline
	tIndent
	tDedent
)

func (k tokKind) String() string {
	return [...]string{"end of file", "name", "number", "string", "operator", "newline", "indent", "dedent"}[k]
}

// token is one Python token: its kind, its text as written, and where it
// starts and ends (1-based lines, 0-based byte offsets).
type token struct {
	kind       tokKind
	text       string
	line, col  int
	start, end int
	endLine    int
}

// comment is a # comment of the source.
type comment struct {
	line int
	text string // with the #
	// own says the comment is alone on its line.
	own bool
}

// SyntaxError is Python source the porter cannot read, with its line.
type SyntaxError struct {
	Line, Col int
	Msg       string
}

func (e *SyntaxError) Error() string { return fmt.Sprintf("%d:%d: %s", e.Line, e.Col, e.Msg) }

// cleanComment keeps a comment's text printable, so that it is written
// as the same comment.
func cleanComment(text string) string {
	return strings.Map(func(r rune) rune {
		if r == '\t' || r >= 0x20 && r != 0x7f && r != utf8.RuneError {
			return r
		}
		return '?'
	}, text)
}

// isSeparator reports whether a comment only draws a line (# ####…),
// which the porter leaves out: it separated what the conversion moves.
func isSeparator(text string) bool {
	body := strings.TrimPrefix(text, "#")
	return len(body) >= 3 && strings.Trim(body, " #=*-~_") == ""
}

// maxDepth bounds the nesting of brackets, blocks and expressions.
const maxDepth = 200

// tokenize splits Python 3 source into tokens, with INDENT and DEDENT for
// blocks, as Python's tokenizer does; comments are returned apart.
func tokenize(src string) ([]token, []comment, error) {
	lx := &lexer{src: src, line: 1, indents: []int{0}}
	if err := lx.run(); err != nil {
		return nil, nil, err
	}
	return lx.toks, lx.comments, nil
}

type lexer struct {
	src      string
	pos      int
	line     int
	lineAt   int // offset of the current line's start
	toks     []token
	comments []comment
	indents  []int
	depth    int // open brackets
}

func (lx *lexer) errorf(format string, args ...any) error {
	return &SyntaxError{Line: lx.line, Col: lx.pos - lx.lineAt + 1, Msg: fmt.Sprintf(format, args...)}
}

func (lx *lexer) emit(kind tokKind, start int, startLine, startCol int) {
	lx.toks = append(lx.toks, token{kind: kind, text: lx.src[start:lx.pos], line: startLine, col: startCol, start: start, end: lx.pos, endLine: lx.line})
}

func (lx *lexer) run() error {
	atLineStart := true
	for {
		if atLineStart && lx.depth == 0 {
			blank, err := lx.indentation()
			if err != nil {
				return err
			}
			if lx.pos >= len(lx.src) {
				break
			}
			atLineStart = false
			if blank {
				atLineStart = true
				continue
			}
		}
		if lx.pos >= len(lx.src) {
			break
		}
		c := lx.src[lx.pos]
		switch {
		case c == '\n':
			if lx.depth == 0 && len(lx.toks) > 0 && lx.toks[len(lx.toks)-1].kind != tNewline {
				lx.toks = append(lx.toks, token{kind: tNewline, line: lx.line, col: lx.pos - lx.lineAt + 1, start: lx.pos, end: lx.pos, endLine: lx.line})
			}
			lx.newline()
			atLineStart = lx.depth == 0
		case c == '\r':
			lx.pos++
		case c == ' ' || c == '\t' || c == '\f':
			lx.pos++
		case c == '#':
			start := lx.pos
			for lx.pos < len(lx.src) && lx.src[lx.pos] != '\n' {
				lx.pos++
			}
			own := len(lx.toks) == 0 || lx.toks[len(lx.toks)-1].line != lx.line || lx.toks[len(lx.toks)-1].kind == tNewline ||
				lx.toks[len(lx.toks)-1].kind == tIndent || lx.toks[len(lx.toks)-1].kind == tDedent
			if text := cleanComment(strings.TrimRight(lx.src[start:lx.pos], " \t\r")); !isSeparator(text) {
				lx.comments = append(lx.comments, comment{line: lx.line, text: text, own: own})
			}
		case c == '\\':
			if lx.pos+1 < len(lx.src) && (lx.src[lx.pos+1] == '\n' || lx.src[lx.pos+1] == '\r') {
				lx.pos++
				if lx.src[lx.pos] == '\r' {
					lx.pos++
				}
				if lx.pos < len(lx.src) && lx.src[lx.pos] == '\n' {
					lx.newline()
				}
				continue
			}
			return lx.errorf("unexpected character after line continuation character")
		case isIdentStart(c) || c >= utf8.RuneSelf:
			if err := lx.nameOrString(); err != nil {
				return err
			}
		case c >= '0' && c <= '9' || c == '.' && lx.pos+1 < len(lx.src) && lx.src[lx.pos+1] >= '0' && lx.src[lx.pos+1] <= '9':
			lx.number()
		case c == '"' || c == '\'':
			if err := lx.str(lx.pos, lx.line, lx.pos-lx.lineAt+1); err != nil {
				return err
			}
		default:
			if err := lx.op(); err != nil {
				return err
			}
		}
	}
	if lx.depth > 0 {
		return lx.errorf("unexpected end of file: a bracket is not closed")
	}
	if len(lx.toks) > 0 && lx.toks[len(lx.toks)-1].kind != tNewline {
		lx.toks = append(lx.toks, token{kind: tNewline, line: lx.line, start: lx.pos, end: lx.pos, endLine: lx.line})
	}
	for len(lx.indents) > 1 {
		lx.indents = lx.indents[:len(lx.indents)-1]
		lx.toks = append(lx.toks, token{kind: tDedent, line: lx.line, start: lx.pos, end: lx.pos, endLine: lx.line})
	}
	lx.toks = append(lx.toks, token{kind: tEOF, line: lx.line, start: lx.pos, end: lx.pos, endLine: lx.line})
	return nil
}

func (lx *lexer) newline() {
	lx.pos++
	lx.line++
	lx.lineAt = lx.pos
}

// indentation reads the indentation of a line and emits INDENT or DEDENTs;
// it reports blank and comment-only lines, which do not count.
func (lx *lexer) indentation() (blank bool, err error) {
	col := 0
	for lx.pos < len(lx.src) {
		switch lx.src[lx.pos] {
		case ' ':
			col++
		case '\t':
			col = (col/8 + 1) * 8
		case '\f':
			col = 0
		default:
			goto measured
		}
		lx.pos++
	}
measured:
	if lx.pos >= len(lx.src) {
		return true, nil
	}
	switch lx.src[lx.pos] {
	case '\n', '\r', '#':
		if lx.src[lx.pos] == '#' {
			start := lx.pos
			for lx.pos < len(lx.src) && lx.src[lx.pos] != '\n' {
				lx.pos++
			}
			if text := cleanComment(strings.TrimRight(lx.src[start:lx.pos], " \t\r")); !isSeparator(text) {
				lx.comments = append(lx.comments, comment{line: lx.line, text: text, own: true})
			}
		}
		for lx.pos < len(lx.src) && lx.src[lx.pos] == '\r' {
			lx.pos++
		}
		if lx.pos < len(lx.src) && lx.src[lx.pos] == '\n' {
			lx.newline()
		}
		return true, nil
	}
	cur := lx.indents[len(lx.indents)-1]
	switch {
	case col > cur:
		if len(lx.indents) > maxDepth {
			return false, lx.errorf("blocks nested more than %d deep", maxDepth)
		}
		lx.indents = append(lx.indents, col)
		lx.toks = append(lx.toks, token{kind: tIndent, line: lx.line, col: col + 1, start: lx.pos, end: lx.pos, endLine: lx.line})
	case col < cur:
		for col < lx.indents[len(lx.indents)-1] {
			lx.indents = lx.indents[:len(lx.indents)-1]
			lx.toks = append(lx.toks, token{kind: tDedent, line: lx.line, col: col + 1, start: lx.pos, end: lx.pos, endLine: lx.line})
		}
		if col != lx.indents[len(lx.indents)-1] {
			return false, lx.errorf("unindent does not match any outer indentation level")
		}
	}
	return false, nil
}

func isIdentStart(c byte) bool { return c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' }

func isIdentChar(r rune) bool { return r == '_' || unicode.IsLetter(r) || unicode.IsDigit(r) }

// nameOrString reads a name, or a string with a prefix (r, b, f, u, …).
func (lx *lexer) nameOrString() error {
	start, line, col := lx.pos, lx.line, lx.pos-lx.lineAt+1
	for lx.pos < len(lx.src) {
		r, n := utf8.DecodeRuneInString(lx.src[lx.pos:])
		if !isIdentChar(r) {
			break
		}
		lx.pos += n
	}
	if lx.pos == start {
		r, _ := utf8.DecodeRuneInString(lx.src[lx.pos:])
		return lx.errorf("invalid character %q", r)
	}
	word := lx.src[start:lx.pos]
	if lx.pos < len(lx.src) && (lx.src[lx.pos] == '"' || lx.src[lx.pos] == '\'') && len(word) <= 2 && isStringPrefix(word) {
		return lx.str(start, line, col)
	}
	lx.emit(tName, start, line, col)
	return nil
}

func isStringPrefix(p string) bool {
	switch strings.ToLower(p) {
	case "r", "u", "b", "f", "br", "rb", "fr", "rf":
		return true
	}
	return false
}

// str reads a string literal whose prefix starts at start; lx.pos is at
// its opening quote.
func (lx *lexer) str(start, line, col int) error {
	prefix := strings.ToLower(lx.src[start:lx.pos])
	raw := strings.Contains(prefix, "r")
	q := lx.src[lx.pos]
	triple := strings.HasPrefix(lx.src[lx.pos:], strings.Repeat(string(q), 3))
	if triple {
		lx.pos += 3
	} else {
		lx.pos++
	}
	for {
		if lx.pos >= len(lx.src) {
			return &SyntaxError{Line: line, Col: col, Msg: "unterminated string literal"}
		}
		c := lx.src[lx.pos]
		switch {
		case c == '\\' && lx.pos+1 < len(lx.src):
			if lx.src[lx.pos+1] == '\n' {
				lx.pos++
				lx.newline()
				continue
			}
			lx.pos += 2
			_ = raw
			continue
		case c == '\n':
			if !triple {
				return &SyntaxError{Line: line, Col: col, Msg: "unterminated string literal"}
			}
			lx.newline()
			continue
		case c == q:
			if !triple {
				lx.pos++
				lx.emit(tString, start, line, col)
				return nil
			}
			if strings.HasPrefix(lx.src[lx.pos:], strings.Repeat(string(q), 3)) {
				lx.pos += 3
				lx.emit(tString, start, line, col)
				return nil
			}
		}
		lx.pos++
	}
}

func (lx *lexer) number() {
	start, line, col := lx.pos, lx.line, lx.pos-lx.lineAt+1
	for lx.pos < len(lx.src) {
		c := lx.src[lx.pos]
		switch {
		case c >= '0' && c <= '9', c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c == '_', c == '.':
			lx.pos++
		case (c == '+' || c == '-') && (lx.src[lx.pos-1] == 'e' || lx.src[lx.pos-1] == 'E') && !strings.HasPrefix(strings.ToLower(lx.src[start:]), "0x"):
			lx.pos++
		default:
			lx.emit(tNumber, start, line, col)
			return
		}
	}
	lx.emit(tNumber, start, line, col)
}

// operators, longest first.
var operators = []string{
	"**=", "//=", ">>=", "<<=", "...", "->", ":=",
	"**", "//", "<<", ">>", "<=", ">=", "==", "!=", "+=", "-=", "*=", "/=", "%=", "&=", "|=", "^=", "@=",
	"+", "-", "*", "/", "%", "@", "&", "|", "^", "~", "<", ">", "(", ")", "[", "]", "{", "}", ",", ":", ".", ";", "=",
}

func (lx *lexer) op() error {
	start, line, col := lx.pos, lx.line, lx.pos-lx.lineAt+1
	for _, op := range operators {
		if strings.HasPrefix(lx.src[lx.pos:], op) {
			lx.pos += len(op)
			switch op {
			case "(", "[", "{":
				lx.depth++
				if lx.depth > maxDepth {
					return lx.errorf("brackets nested more than %d deep", maxDepth)
				}
			case ")", "]", "}":
				if lx.depth == 0 {
					return lx.errorf("unmatched %q", op)
				}
				lx.depth--
			}
			lx.emit(tOp, start, line, col)
			return nil
		}
	}
	r, _ := utf8.DecodeRuneInString(lx.src[lx.pos:])
	return lx.errorf("invalid character %q", r)
}
