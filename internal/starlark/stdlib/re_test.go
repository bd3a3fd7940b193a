package stdlib

import (
	"strings"
	"testing"
)

// The re module against Python's re (the results were made with it).
func TestRe(t *testing.T) {
	check(t, [][2]string{
		{`repr(re.findall(r"\d+", "a1b22c333"))`, `["1", "22", "333"]`},
		{`repr(re.findall(r"(\w+)=(\d+)", "a=1, b=22"))`, `[("a", "1"), ("b", "22")]`},
		{`repr(re.findall(r"(a)|b", "ab"))`, `["a", ""]`},
		{`repr(re.sub(r"(\w+)@(\w+)", r"\2 at \1", "jane@example"))`, `"example at jane"`},
		{`repr(re.sub(r"\s+", " ", "a   b \t\n c", count=1))`, `"a b \t\n c"`},
		{`repr(re.subn(r"o", "0", "foo boo"))`, `("f00 b00", 4)`},
		{`repr(re.sub(r"(?P<d>\d)", r"[\g<d>]", "a1b2"))`, `"a[1]b[2]"`},
		{`repr(re.sub(r"(\d)", r"\g<1>0", "a1b2"))`, `"a10b20"`},
		{`repr(re.sub(r"x", r"\n", "axb"))`, `"a\nb"`},
		{`repr(re.sub(r"(\d+)", lambda m: str(int(m.group(1)) * 2), "a1b21"))`, `"a2b42"`},
		{`repr(re.split(r"[,;]\s*", "a, b;c"))`, `["a", "b", "c"]`},
		{`repr(re.split(r"(-)|(\+)", "1-2+3"))`, `["1", "-", None, "2", None, "+", "3"]`},
		{`repr(re.split(r",", "a,b,c,d", maxsplit=2))`, `["a", "b", "c,d"]`},
		{`repr(re.match(r"\d+", "a1"))`, `None`},
		{`repr(re.match(r"(\d+)-(\d+)", "10-20 x").groups())`, `("10", "20")`},
		{`repr(re.fullmatch(r"\d+", "123x"))`, `None`},
		{`repr(re.fullmatch(r"\d+|\d+x", "123x").group())`, `"123x"`},
		{`repr(re.search(r"(?P<year>\d{4})-(?P<month>\d\d)", "on 2024-07-04").groupdict())`, `{"year": "2024", "month": "07"}`},
		{`repr(re.search(r"(?P<year>\d{4})-(?P<month>\d\d)", "on 2024-07-04").span())`, `(3, 10)`},
		{`repr(re.search(r"(?P<year>\d{4})", "on 2024").group("year"))`, `"2024"`},
		{`repr(re.search(r"(a)(b)?", "ac").groups())`, `("a", None)`},
		{`repr(re.search(r"(a)(b)?", "ac").groups("-"))`, `("a", "-")`},
		{`repr(re.search(r"(a)(b)?", "ac").group(0, 1, 2))`, `("a", "a", None)`},
		{`repr(re.search(r"(a)(b)?", "xac").start(1))`, `1`},
		{`repr(re.search(r"(?P<x>a)(?P<y>b)", "ab").lastgroup)`, `"y"`},
		{`repr(re.search(r"(a)(b)", "ab").lastindex)`, `2`},
		{`repr(re.search(r"HELLO", "say hello", re.I).group())`, `"hello"`},
		{`repr(re.findall(r"^\w", "ab\ncd", flags=re.M))`, `["a", "c"]`},
		{`repr(re.search(r"a.b", "a\nb", re.S | re.I).group())`, `"a\nb"`},
		{`repr(re.findall(r"""\d+  # digits
  [a-z]""", "12a 3b", re.X))`, `["12a", "3b"]`},
		{`repr(re.escape("1.5*2"))`, `"1\\.5\\*2"`},
		{`repr(re.compile(r"(?P<k>\w+):(\d)").groupindex)`, `{"k": 1}`},
		{`repr(re.compile(r"(?P<k>\w+):(\d)").groups)`, `2`},
		{`repr(re.compile(r"\d").pattern)`, `"\\d"`},
		{`repr(re.compile(r"(\d)").sub(r"<\1>", "a1"))`, `"a<1>"`},
		{`repr(re.search(r"end\Z", "the end").group())`, `"end"`},
		{`repr([m.group(1) for m in re.finditer(r"<(\w+)>", "<a><bb>")])`, `["a", "bb"]`},
		{`repr(re.search(r"(\d+)", "ab12")[1])`, `"12"`},
		{`repr(re.match(r"[]a]+", "]a]b").group())`, `"]a]"`},
		{`repr(re.findall(r"a(?#note)b", "ab"))`, `["ab"]`},
	})
}

// What RE2 lacks is refused with what to do instead.
func TestReRefuses(t *testing.T) {
	check(t, [][2]string{
		{`re.search(r"(a)\1", "aa")`, `error: re.search: backreference \1 at position 3: Plexus matches with RE2, which has no backreferences; match the groups and compare them in code`},
		{`re.search(r"a(?=b)", "ab")`, `error: re.search: lookahead (?= at position 1: Plexus matches with RE2, which has no lookaround; match more and check the text in code`},
		{`re.search(r"(?<!a)b", "ab")`, `error: re.search: lookbehind (?<! at position 0: Plexus matches with RE2, which has no lookaround; match more and check the text in code`},
		{`re.search(r"(?P<x>a)(?P=x)", "aa")`, `error: re.search: named backreference (?P= at position 8: Plexus matches with RE2, which has no backreferences`},
		{`re.compile(r"a{2000}")`, `error: re.compile: invalid repeat count: ` + "`{2000}`" + ` (a repeat count is at most 1000)`},
		{`re.compile(r"(ab")`, "error: re.compile: missing closing ): `(ab`"},
		{`re.sub(r"(a)", r"\2", "a")`, `error: re.sub: invalid group reference \2 in the replacement: the pattern has 1 group`},
		{`re.sub(r"(a)", r"\g<nope>", "a")`, `error: re.sub: unknown group name "nope" in the replacement`},
		{`re.compile("a", 1024)`, `error: re.compile: unknown flags 1024: use re.I, re.M, re.S, re.A, re.X or re.U, joined with |`},
		{`re.search(r"(\d)", "1").group(5)`, `error: group: no such group 5: the pattern has 1 group`},
	})
}

// Patterns longer than starlark.max_pattern_size are refused.
func TestRePatternLimit(t *testing.T) {
	_, err := exec(t, Limits{MaxPattern: 100}, "re.compile('a' * 101)")
	if err == nil || !strings.Contains(err.Error(), "starlark.max_pattern_size exceeded: re.compile: the pattern is 101 bytes long, longer than 100") {
		t.Fatalf("got %v", err)
	}
	if !IsLimit(err) {
		t.Error("a pattern past the limit is not a limit error")
	}
	if _, err := exec(t, Limits{MaxPattern: 100}, "re.compile('a' * 100)"); err != nil {
		t.Fatal(err)
	}
}
