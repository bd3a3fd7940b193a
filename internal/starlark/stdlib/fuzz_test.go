package stdlib

import (
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	sl "go.starlark.net/starlark"
)

// FuzzRe compiles any Python pattern and runs it over any input: no
// panic, and every match lies within the input.
func FuzzRe(f *testing.F) {
	for _, seed := range [][2]string{
		{`(\d+)-(\w+)`, "12-ab 34-cd"}, {`(?P<y>\d{4})`, "2024"}, {`[]a]+`, "]a]"}, {`a{2,3}?`, "aaaa"},
		{`(a)\1`, "aa"}, {`(?=x)`, "x"}, {`(?#c)x`, "x"}, {`\Z`, ""}, {`(?i)é`, "É"}, {`x*`, "axb"}, {`[`, ""}, {`\g<1>`, ""},
	} {
		f.Add(seed[0], seed[1], "<\\1>")
	}
	f.Fuzz(func(t *testing.T, pattern, input, repl string) {
		th := newThread(Limits{MaxSteps: 1 << 24, MaxPattern: 4096})
		p, err := compilePattern(th, "re.compile", pattern, 0)
		if err != nil {
			return
		}
		locs, err := p.all(th, "re.findall", input, -1)
		if err != nil {
			return
		}
		for _, loc := range locs {
			for i := 0; i < len(loc); i += 2 {
				if loc[i] >= 0 && (loc[i] > loc[i+1] || loc[i+1] > len(input)) {
					t.Fatalf("match %v outside %q", loc, input)
				}
			}
		}
		for _, op := range []string{"findall", "split", "search", "match", "fullmatch", "finditer"} {
			reOps[op](th, "re."+op, p, sl.Tuple{sl.String(input)}, nil)
		}
		reOps["sub"](th, "re.sub", p, sl.Tuple{sl.String(repl), sl.String(input)}, nil)
	})
}

// FuzzCSV reads any text: no panic, and what a writer writes reads back
// as the same rows.
func FuzzCSV(f *testing.F) {
	for _, s := range []string{"a,b\r\nc,\"d\"\"e\"\n", "\"abc", "a\\,b", "\n\n", ",,", "\"a\"b"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		th := newThread(Limits{})
		d := dialect{delimiter: ',', quotechar: '"', doublequote: true, lineterminator: "\r\n"}
		rows, err := parseCSV(th, "csv.reader", s, d)
		if err != nil {
			t.Fatal(err)
		}
		if !utf8.ValidString(s) {
			return
		}
		var b strings.Builder
		for _, r := range rows {
			vals := make([]sl.Value, len(r))
			for i, f := range r {
				vals[i] = sl.String(f)
			}
			if err := writeRow(&b, "csv.writer", d, vals); err != nil {
				t.Fatal(err)
			}
		}
		again, err := parseCSV(th, "csv.reader", b.String(), d)
		if err != nil {
			t.Fatal(err)
		}
		if rowsValue(again).String() != rowsValue(rows).String() {
			t.Fatalf("%q read %v, wrote %q, read back %v", s, rows, b.String(), again)
		}
	})
}

// FuzzXML parses any document and any path: no panic; what tostring
// writes parses again.
func FuzzXML(f *testing.F) {
	f.Add(ordersXML, ".//item[@qty='1']")
	f.Add(`<a xmlns="urn:x"><b c="1">t</b>tail</a>`, "{*}b")
	f.Add(`<!DOCTYPE a [<!ENTITY e "x">]><a>&e;</a>`, "..")
	f.Add(`<a><b/></a>`, "b[last()-1]")
	f.Fuzz(func(t *testing.T, doc, path string) {
		th := newThread(Limits{})
		root, err := fromString(th, "xml.fromstring", doc)
		if err != nil {
			return
		}
		if steps, err := parsePath(path, map[string]string{"x": "urn:x"}); err == nil {
			evalPath(root, steps)
		}
		var cost int64
		elementValue(root, dictOptions{attrPrefix: "@", textKey: "#text"}, 0, &cost)
		w := &xmlWriter{prefixes: map[string]string{}, short: true}
		if err := w.collect(root); err != nil {
			t.Fatal(err)
		}
		if err := w.element(root, 0, true); err != nil {
			t.Fatal(err)
		}
		if _, err := fromString(th, "xml.fromstring", w.b.String()); err != nil {
			t.Fatalf("%q wrote %q, which does not parse: %v", doc, w.b.String(), err)
		}
	})
}

// FuzzDecimal reads any text as a decimal; what str() writes reads back
// as the same number.
func FuzzDecimal(f *testing.F) {
	for _, s := range []string{"12.50", "-0", "1E+3", "0.0000001", "1_000.5", "9" + strings.Repeat("9", 50) + "e-20"} {
		f.Add(s, "3")
	}
	f.Fuzz(func(t *testing.T, s, divisor string) {
		d, err := parseDecimal("decimal.Decimal", s)
		if err != nil {
			return
		}
		back, err := parseDecimal("decimal.Decimal", d.String())
		if err != nil || back.String() != d.String() || back.cmp(d) != 0 {
			t.Fatalf("%q → %s → %v %v", s, d, back, err)
		}
		if e, err := parseDecimal("decimal.Decimal", divisor); err == nil {
			divide("/", d, e, DivisionPrecision, nil, "ROUND_HALF_EVEN")
			d.Binary(0, e, sl.Left)
		}
	})
}

// FuzzTimeParse reads any text with any format: no panic.
func FuzzTimeParse(f *testing.F) {
	f.Add("31/12/2023 11:59:58 PM", "%d/%m/%Y %I:%M:%S %p")
	f.Add("2024-02-29T10:00:00+0530", "%Y-%m-%dT%H:%M:%S%z")
	f.Add("2024 060", "%Y %j")
	f.Add("2024-07-04T12:30:05.123+02:00", "")
	f.Fuzz(func(t *testing.T, s, format string) {
		if format == "" {
			parseISO(s, time.UTC)
			return
		}
		if tm, err := strptime(s, format, time.UTC); err == nil {
			strftime(tm, format)
		}
	})
}

// FuzzFormat formats values with any spec: no panic.
func FuzzFormat(f *testing.F) {
	for _, s := range []string{".2f", ",", ">10", "#x", "*^9", "+08.3e", ".1%", "_b", "0=10d", "z.0f"} {
		f.Add(s, 1234.5678, int64(-42), "text")
	}
	f.Fuzz(func(t *testing.T, spec string, fl float64, n int64, s string) {
		for _, v := range []sl.Value{sl.Float(fl), sl.MakeInt64(n), sl.String(s), sl.Bool(n%2 == 0), sl.None} {
			formatValue(v, spec)
		}
		if d, err := parseDecimal("d", s); err == nil {
			formatValue(d, spec)
		}
	})
}
