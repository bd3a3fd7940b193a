package dashboard

import (
	"html"
	"regexp"
	"strings"
	"testing"
)

var tags = regexp.MustCompile(`</?span[^>]*>`)

func TestHighlight(t *testing.T) {
	got := string(highlight("def handle(self):\n    x = \"a<b\" # note\n    return 42 if True else 'c'\n"))
	for _, want := range []string{
		`<span class="tok-kw">def</span> handle`, `<span class="tok-str">&#34;a&lt;b&#34;</span>`,
		`<span class="tok-com"># note</span>`, `<span class="tok-num">42</span>`, `<span class="tok-kw">True</span>`,
		`<span class="tok-str">&#39;c&#39;</span>`,
	} {
		if !regexp.MustCompile(regexp.QuoteMeta(want)).MatchString(got) {
			t.Errorf("missing %s in\n%s", want, got)
		}
	}
}

func FuzzHighlight(f *testing.F) {
	for _, s := range []string{"def f():\n  return 'x' # c\n", `"""doc"""`, `'\'`, "x = 1.5e3", "é = \"ü\"", "<script>"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, src string) {
		out := string(highlight(src))
		if back := html.UnescapeString(tags.ReplaceAllString(out, "")); back != src && validUTF8(src) && !strings.Contains(src, "\x00") {
			t.Fatalf("highlight(%q) reads back as %q", src, back)
		}
		if strings.Contains(tags.ReplaceAllString(out, ""), "<") {
			t.Fatalf("unescaped markup in %q", out)
		}
	})
}

func validUTF8(s string) bool {
	for _, r := range s {
		if r == '\uFFFD' {
			return false
		}
	}
	return true
}
