package dashboard_test

import (
	"context"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/pquerna/otp/totp"

	"github.com/plexushq/plexus/internal/admin"
	"github.com/plexushq/plexus/internal/secret"
	"github.com/plexushq/plexus/internal/servertest"
)

var keyRe = regexp.MustCompile(`<code id="totp-key">([A-Z2-7]+)</code>`)

func TestTOTP(t *testing.T) {
	s, b := start(t)
	p := b.post("/account/totp/start", nil)
	m := keyRe.FindStringSubmatch(p.Body)
	if p.Status != 200 || m == nil || !strings.Contains(p.Body, `src="data:image/png;base64,`) {
		t.Fatalf("enrol: %d\n%s", p.Status, p.Body)
	}
	key := m[1]
	if p := b.post("/account/totp/confirm", url.Values{"code": {"000000"}}); p.Status != 400 || !strings.Contains(p.Body, "Wrong code") {
		t.Fatalf("wrong code at enrolment: %d\n%s", p.Status, p.Body)
	}
	code, _ := totp.GenerateCode(key, time.Now())
	if p := b.post("/account/totp/confirm", url.Values{"code": {code}}); p.Status != http.StatusSeeOther {
		t.Fatalf("confirm: %d\n%s", p.Status, p.Body)
	}
	// The key is stored sealed with the server key.
	stored, ok, _ := s.Store.Setting(context.Background(), admin.TOTPSetting)
	if !ok || !secret.IsSealed(stored) || strings.Contains(stored, key) {
		t.Fatalf("stored key %q", stored)
	}
	// Logging in now takes the password, then the code.
	other := newBrowser(t, s.Admin)
	p = other.login(servertest.Password)
	if p.Status != 200 || !strings.Contains(p.Body, `action="/login/totp"`) {
		t.Fatalf("password step: %d\n%s", p.Status, p.Body)
	}
	if p := other.get("/"); p.Status != http.StatusSeeOther {
		t.Fatalf("the password alone opened a page: %d", p.Status)
	}
	if p := other.post("/login/totp", url.Values{"code": {"123456"}}); p.Status != http.StatusUnauthorized || !strings.Contains(p.Body, "Wrong code") {
		t.Fatalf("wrong code: %d\n%s", p.Status, p.Body)
	}
	code, _ = totp.GenerateCode(key, time.Now())
	if p := other.post("/login/totp", url.Values{"code": {code}}); p.Status != http.StatusSeeOther {
		t.Fatalf("right code: %d\n%s", p.Status, p.Body)
	}
	if p := other.get("/"); p.Status != 200 {
		t.Fatalf("after the code: %d", p.Status)
	}
	// plexus admin totp reset removes it: the password alone logs in.
	if err := admin.ResetTOTP(context.Background(), s.Store); err != nil {
		t.Fatal(err)
	}
	if p := newBrowser(t, s.Admin).login(servertest.Password); p.Status != http.StatusSeeOther {
		t.Fatalf("after the reset: %d", p.Status)
	}
}
