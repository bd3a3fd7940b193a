package security

import (
	"net/http"
	"strings"
	"testing"
)

func TestParseAuthorization(t *testing.T) {
	for v, want := range map[string]Presented{
		"":                                  {},
		"Basic YmlsbGluZzpzM2NyZXQ=":        {Basic: true, Username: "billing", Password: "s3cret"},
		"basic YmlsbGluZzpzM2NyZXQ=":        {Basic: true, Username: "billing", Password: "s3cret"},
		"Basic Og==":                        {Basic: true},                                 // ":": both empty
		"Basic YTpiOmM=":                    {Basic: true, Username: "a", Password: "b:c"}, // the first colon splits
		"Basic !!!":                         {BadBasic: true},
		"Basic bm9jb2xvbg==":                {BadBasic: true}, // "nocolon"
		"Basic ":                            {BadBasic: true},
		"Basic":                             {},
		"Basicx YQ==":                       {},
		"Bearer abc.def.ghi":                {Token: "abc.def.ghi"},
		"BEARER  tok ":                      {Token: "tok"},
		"Bearer ":                           {},
		"Digest username=\"x\"":             {},
		"Bearerabc":                         {},
		"Negotiate YmlsbGluZzpzM2NyZXQ=":    {},
		"Basic YmlsbGluZzpzM2NyZXQ= extra":  {BadBasic: true},
		"Bearer a b":                        {Token: "a b"},
		"Bearer\tabc":                       {},
		"Basic\tYmlsbGluZzpzM2NyZXQ=":       {},
		"Bearer abc\r":                      {Token: "abc"},
		"X Basic YmlsbGluZzpzM2NyZXQ=":      {},
		"basic YmlsbGluZzpzM2NyZXQ=\x00abc": {BadBasic: true},
	} {
		if got := ParseAuthorization(v); !samePresented(got, want) {
			t.Errorf("%q: %+v, want %+v", v, got, want)
		}
	}
}

func samePresented(a, b Presented) bool {
	return a.Basic == b.Basic && a.Username == b.Username && a.Password == b.Password && a.BadBasic == b.BadBasic && a.Token == b.Token
}

// FuzzParseAuthorization checks the parser against net/http's reading of
// Basic credentials, and that a value is read as one scheme at most.
func FuzzParseAuthorization(f *testing.F) {
	for _, s := range []string{"Basic YmlsbGluZzpzM2NyZXQ=", "basic Og==", "Basic !!!", "Bearer abc", "bearer  a.b.c ", "Digest x", "Basic", "Bearer "} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, v string) {
		p := ParseAuthorization(v)
		r := &http.Request{Header: http.Header{"Authorization": {v}}}
		user, password, ok := r.BasicAuth()
		if p.Basic != ok || p.Username != user || p.Password != password {
			t.Fatalf("%q: Basic %v %q %q, net/http %v %q %q", v, p.Basic, p.Username, p.Password, ok, user, password)
		}
		isBasic := len(v) > 5 && strings.EqualFold(v[:5], "basic") && v[5] == ' '
		if p.BadBasic != (isBasic && !ok) {
			t.Fatalf("%q: BadBasic %v", v, p.BadBasic)
		}
		if (p.Basic || p.BadBasic) && p.Token != "" {
			t.Fatalf("%q: read as Basic and Bearer", v)
		}
		if p.Token != "" && (p.Token != strings.TrimSpace(p.Token) || !strings.Contains(v, p.Token)) {
			t.Fatalf("%q: token %q", v, p.Token)
		}
	})
}
