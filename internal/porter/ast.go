package porter

// The syntax tree of the Python the porter reads: the statements and
// expressions of Python 3 that services use. Every node knows the line it
// starts on, so notes can point at it.

// expr is an expression.
type expr interface{ pos() int }

type (
	// nameExpr is an identifier (True, False and None too).
	nameExpr struct {
		line int
		id   string
	}
	// numExpr is a number as written.
	numExpr struct {
		line int
		text string
	}
	// strExpr is one string literal or several adjacent ones.
	strExpr struct {
		line  int
		parts []strPart
	}
	// attrExpr is x.name.
	attrExpr struct {
		line int
		x    expr
		name string
	}
	// indexExpr is x[index]; index may be a sliceExpr or a tuple.
	indexExpr struct {
		line  int
		x     expr
		index expr
	}
	// sliceExpr is lo:hi:step inside brackets.
	sliceExpr struct {
		line         int
		lo, hi, step expr
		hasStep      bool
	}
	// callExpr is fn(args).
	callExpr struct {
		line      int
		fn        expr
		args      []arg
		multiline bool // written over several lines
		endLine   int
	}
	// binaryExpr is x op y, and/or included.
	binaryExpr struct {
		line int
		op   string
		x, y expr
	}
	// unaryExpr is op x: not, -, +, ~.
	unaryExpr struct {
		line int
		op   string
		x    expr
	}
	// compareExpr is x op1 y1 op2 y2 …: <, in, not in, is, is not, …
	compareExpr struct {
		line int
		x    expr
		ops  []string
		ys   []expr
	}
	// condExpr is then if cond else els.
	condExpr struct {
		line            int
		cond, then, els expr
	}
	// lambdaExpr is lambda params: body.
	lambdaExpr struct {
		line   int
		params []param
		body   expr
	}
	// seqExpr is a list, tuple or set display.
	seqExpr struct {
		line      int
		kind      byte // '[', '(' (tuple, parenthesised or not), '{' (set)
		elems     []expr
		paren     bool // a tuple written with parentheses
		trailing  bool // a comma after the last element
		multiline bool
		endLine   int
	}
	// dictExpr is a dict display.
	dictExpr struct {
		line      int
		entries   []dictEntry
		multiline bool
		trailing  bool
		endLine   int
	}
	// compExpr is a comprehension or generator expression.
	compExpr struct {
		line    int
		kind    byte // '[', '{' (set), 'd' (dict), '(' (generator)
		elt     expr // key for dicts
		val     expr // value for dicts
		clauses []compClause
		bare    bool // a generator that is a call's only argument, without its own parentheses
	}
	// parenExpr is (x) as written.
	parenExpr struct {
		line int
		x    expr
	}
	// starExpr is *x (or **x in a call, see arg).
	starExpr struct {
		line int
		x    expr
	}
	// ellipsisExpr is ...
	ellipsisExpr struct{ line int }
	// unsupportedExpr is Python the porter does not convert (yield, await,
	// :=): its source text, with what it is.
	unsupportedExpr struct {
		line int
		what string
		text string
	}
	// rawExpr is Starlark text made by a conversion.
	rawExpr struct {
		line int
		text string
	}
)

// strPart is one string literal: its prefix (lower case), quote and the
// text between the quotes, as written.
type strPart struct {
	prefix string
	quote  string
	body   string
	line   int
}

// arg is a call argument: positional, name=x, *x or **x.
type arg struct {
	name string
	star string
	x    expr
}

// param is a function parameter.
type param struct {
	name  string
	star  string // "", "*", "**"; a bare * has no name
	def   expr
	annot expr
	slash bool // the / of positional-only parameters
}

type dictEntry struct {
	key, val expr // key is nil for **val
}

type compClause struct {
	vars expr // for a for clause
	iter expr
	cond expr // for an if clause
}

func (e *nameExpr) pos() int        { return e.line }
func (e *numExpr) pos() int         { return e.line }
func (e *strExpr) pos() int         { return e.line }
func (e *attrExpr) pos() int        { return e.line }
func (e *indexExpr) pos() int       { return e.line }
func (e *sliceExpr) pos() int       { return e.line }
func (e *callExpr) pos() int        { return e.line }
func (e *binaryExpr) pos() int      { return e.line }
func (e *unaryExpr) pos() int       { return e.line }
func (e *compareExpr) pos() int     { return e.line }
func (e *condExpr) pos() int        { return e.line }
func (e *lambdaExpr) pos() int      { return e.line }
func (e *seqExpr) pos() int         { return e.line }
func (e *dictExpr) pos() int        { return e.line }
func (e *compExpr) pos() int        { return e.line }
func (e *parenExpr) pos() int       { return e.line }
func (e *starExpr) pos() int        { return e.line }
func (e *ellipsisExpr) pos() int    { return e.line }
func (e *unsupportedExpr) pos() int { return e.line }
func (e *rawExpr) pos() int         { return e.line }

// stmt is a statement; each keeps its first and last line and whether a
// blank line was before it.
type stmt interface {
	lines() *span
}

type span struct {
	line, end int
	blank     bool // a blank line before it
	// prevEnd is the last line before the statement that belongs to
	// something else (its previous sibling, or its block's header): the
	// comments after it are the statement's.
	prevEnd int
}

func (s *span) lines() *span { return s }

type (
	exprStmt struct {
		span
		x expr
	}
	// assignStmt is targets = value, x op= value, or x: annot [= value].
	assignStmt struct {
		span
		targets []expr
		op      string // "=", "+=", …; ":" for an annotation alone
		value   expr
		annot   expr
	}
	simpleStmt struct { // pass, break, continue
		span
		keyword string
	}
	returnStmt struct {
		span
		x expr
	}
	raiseStmt struct {
		span
		x, from expr
	}
	globalStmt struct {
		span
		keyword string
		names   []string
	}
	delStmt struct {
		span
		targets []expr
	}
	assertStmt struct {
		span
		test, msg expr
	}
	importStmt struct {
		span
		from  string // module of from … import; "" for import …
		level int    // leading dots
		names []importName
	}
	ifStmt struct {
		span
		test expr
		body []stmt
		els  []stmt
		elif bool // els is one ifStmt written as elif
	}
	forStmt struct {
		span
		vars, iter expr
		body, els  []stmt
	}
	whileStmt struct {
		span
		test      expr
		body, els []stmt
	}
	tryStmt struct {
		span
		body     []stmt
		handlers []handler
		els      []stmt
		finally  []stmt
	}
	withStmt struct {
		span
		items []withItem
		body  []stmt
	}
	defStmt struct {
		span
		name       string
		params     []param
		body       []stmt
		decorators []expr
		async      bool
	}
	classStmt struct {
		span
		name       string
		bases      []arg
		body       []stmt
		decorators []expr
	}
	// badStmt is a statement the porter does not convert (match, async
	// for), kept as its source.
	badStmt struct {
		span
		what string
		text string
	}
)

type importName struct {
	path string // dotted
	as   string
}

type handler struct {
	line int
	typ  expr // nil for a bare except
	name string
	body []stmt
}

type withItem struct {
	x  expr
	as expr
}
