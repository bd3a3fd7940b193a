package redact_test

import (
	"strings"
	"testing"

	"github.com/plexushq/plexus/internal/redact"
)

func TestQuote(t *testing.T) {
	long := strings.Repeat("x", 100)
	for _, tc := range []struct{ in, want string }{
		{"https://api.example.com/v1", `"https://api.example.com/v1"`},
		{"https://billing:s3cret@api.example.com/v1", `"https://billing:******@api.example.com/v1"`},
		{"https://billing:s3cr@t@api.example.com", `"https://billing:******@api.example.com"`},
		{"https://billing@api.example.com", `"https://billing@api.example.com"`},
		{"https://host/p?access_token=abc&page=2;api_key=k#frag", `"https://host/p?access_token=******&page=2;api_key=******#frag"`},
		{"/orders?X-Amz-Signature=abc&X-Amz-Credential=def&limit=5", `"/orders?X-Amz-Signature=******&X-Amz-Credential=******&limit=5"`},
		{"user:pass@host", `"user:pass@host"`}, // not a URL: nothing to mask
		{"", `""`},
		{long, `"` + strings.Repeat("x", 64) + `…"`},
		{strings.Repeat("é", 70), `"` + strings.Repeat("é", 64) + `…"`},
		{"https://u:" + long + "@host", `"https://u:******@host"`},
	} {
		if got := redact.Quote(tc.in); got != tc.want {
			t.Errorf("Quote(%.40q) = %s, want %s", tc.in, got, tc.want)
		}
	}
}

// A 50 MB value gives an error of a few dozen bytes.
func TestQuoteBounded(t *testing.T) {
	v := "https://u:" + strings.Repeat("p", 50<<20) + "@h/?token=" + strings.Repeat("t", 1<<20)
	if got := redact.Quote(v); len(got) > 4*redact.MaxShown {
		t.Errorf("Quote of 51 MB gave %d bytes", len(got))
	}
}

func FuzzQuote(f *testing.F) {
	for _, s := range []string{"https://a:b@c/d?token=e&f=g#h", "?key=1;x=2", "://@:", "é", "a?b=c&&;="} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got := redact.Quote(s)
		if len(got) > 2+10*redact.MaxShown+len("…") {
			t.Fatalf("Quote gave %d bytes", len(got))
		}
		// A password of a URL never comes back.
		if i := strings.Index(s, "://"); i >= 0 {
			auth := s[i+3:]
			if end := strings.IndexAny(auth, "/?#"); end >= 0 {
				auth = auth[:end]
			}
			if at := strings.LastIndexByte(auth, '@'); at >= 0 {
				if _, pw, ok := strings.Cut(auth[:at], ":"); ok && len(pw) >= 8 && !strings.Contains(redact.Mask, pw) && strings.Contains(redact.Secrets(s), ":"+pw+"@") {
					t.Fatalf("Secrets(%q) kept the password %q", s, pw)
				}
			}
		}
	})
}
