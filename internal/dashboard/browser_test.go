package dashboard_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/pquerna/otp/totp"

	"github.com/plexushq/plexus/internal/servertest"
)

// chrome starts headless Chromium (PLEXUS_TEST_CHROMIUM) for a test, or
// skips it when the variable is unset.
func chrome(t *testing.T) context.Context {
	path := os.Getenv("PLEXUS_TEST_CHROMIUM")
	if path == "" {
		t.Skip("PLEXUS_TEST_CHROMIUM is not set")
	}
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(path), chromedp.Headless, chromedp.NoSandbox, chromedp.DisableGPU,
		chromedp.Flag("disable-background-networking", true), chromedp.NoFirstRun, chromedp.NoDefaultBrowserCheck,
		chromedp.WindowSize(1280, 900),
	}
	actx, cancel := chromedp.NewExecAllocator(context.Background(), opts...)
	t.Cleanup(cancel)
	ctx, cancel2 := chromedp.NewContext(actx)
	t.Cleanup(cancel2)
	ctx, cancel3 := context.WithTimeout(ctx, 90*time.Second)
	t.Cleanup(cancel3)
	if err := chromedp.Do(ctx, chromedp.Navigate("about:blank")); err != nil {
		t.Fatalf("starting %s: %v", path, err)
	}
	return ctx
}

// shot saves a screenshot of the page into PLEXUS_TEST_ARTIFACTS, when
// set.
func shot(t *testing.T, ctx context.Context, name string) {
	dir := os.Getenv("PLEXUS_TEST_ARTIFACTS")
	if dir == "" {
		return
	}
	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		t.Fatalf("screenshot %s: %v", name, err)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "dashboard-"+name+".png"), png, 0o644); err != nil {
		t.Fatal(err)
	}
}

// run runs browser actions, failing the test with what step failed.
func run(t *testing.T, ctx context.Context, step string, actions ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	sctx, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	if err := chromedp.Do(sctx, actions...); err != nil {
		short, cancel := context.WithTimeout(ctx, 5*time.Second)
		defer cancel()
		loc, _ := chromedp.Run(short, chromedp.Location())
		html, _ := chromedp.Run(short, chromedp.OuterHTML(chromedp.CSS("main")))
		t.Fatalf("%s: %v\nat %s\n%s", step, err, loc, html)
	}
}

// eval returns the value of a JavaScript expression.
func eval[T any](t *testing.T, ctx context.Context, expr string) T {
	t.Helper()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[T](expr))
	if err != nil {
		t.Fatalf("evaluating %s: %v", expr, err)
	}
	return v
}

// text returns the text of the first element a selector matches.
func text(t *testing.T, ctx context.Context, sel string) string {
	t.Helper()
	s, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(sel)))
	if err != nil {
		t.Fatalf("reading %s: %v", sel, err)
	}
	return s
}

func TestBrowser(t *testing.T) {
	ctx := chrome(t)
	s := servertest.Start(t, servertest.Options{})
	base := s.Admin
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("server log:\n%s", s.Log)
		}
	})

	// Log in.
	run(t, ctx, "login page",
		chromedp.Navigate(base+"/"),
		chromedp.WaitVisible(chromedp.CSS("#password")))
	run(t, ctx, "login",
		chromedp.SendKeys(chromedp.CSS("#password"), servertest.Password),
		chromedp.Submit(chromedp.CSS("#password")),
		chromedp.WaitVisible(chromedp.CSS("#charts")),
	)
	shot(t, ctx, "overview")

	// An outgoing REST connection through its form.
	run(t, ctx, "outgoing REST connection",
		chromedp.Navigate(base+"/kinds/outgoing_rest/new"),
		chromedp.WaitVisible(chromedp.CSS("#f-name")),
		chromedp.SendKeys(chromedp.CSS("#f-name"), "Billing"),
		chromedp.SendKeys(chromedp.CSS("#f-host"), "https://billing.example.com"),
		chromedp.SendKeys(chromedp.CSS("#f-url_path"), "/api/billing/{phone_no}"),
		chromedp.Click(chromedp.CSS(`form.object-form button[type="submit"]:not([name])`)),
		chromedp.WaitVisible(chromedp.CSS(`p.notice`)),
	)
	if got := text(t, ctx, "p.notice"); !strings.HasPrefix(got, "Saved") {
		t.Fatalf("after creating: %q", got)
	}
	if _, ok := s.Runtime.State().Object("outgoing_rest", "Billing"); !ok {
		t.Fatal("the connection was not created")
	}
	shot(t, ctx, "form")

	// A bad form shows the problem at its field, and changes nothing.
	run(t, ctx, "bad form",
		chromedp.Navigate(base+"/kinds/outgoing_rest/new"),
		chromedp.WaitVisible(chromedp.CSS("#f-name")),
		chromedp.SendKeys(chromedp.CSS("#f-name"), "Broken"),
		chromedp.SendKeys(chromedp.CSS("#f-host"), "https://x.example.com"),
		chromedp.SendKeys(chromedp.CSS("#f-url_path"), "no-slash"),
		chromedp.Click(chromedp.CSS(`form.object-form button[type="submit"]:not([name])`)),
		chromedp.WaitVisible(chromedp.CSS("#p-url_path")),
	)
	if got := text(t, ctx, "#p-url_path"); !strings.Contains(got, "no-slash") {
		t.Fatalf("problem at url_path: %q", got)
	}
	if _, ok := s.Runtime.State().Object("outgoing_rest", "Broken"); ok {
		t.Fatal("a refused form created the object")
	}
	shot(t, ctx, "form-problem")

	// A channel for the seed's LogInputData service, the service picked
	// from a list.
	run(t, ctx, "REST channel",
		chromedp.Navigate(base+"/kinds/channel_rest/new"),
		chromedp.WaitVisible(chromedp.CSS("#f-name")),
		chromedp.SendKeys(chromedp.CSS("#f-name"), "log-input"),
		chromedp.SendKeys(chromedp.CSS("#f-url_path"), "/api/log-input-data"),
		chromedp.SetValue(chromedp.CSS("#f-service"), "demo.log-input-data"),
		chromedp.Click(chromedp.CSS(`form.object-form button[type="submit"]:not([name])`)),
		chromedp.WaitVisible(chromedp.CSS(`p.notice`)),
	)
	if _, ok := s.Runtime.State().Object("channel_rest", "log-input"); !ok {
		t.Fatal("the channel was not created")
	}
	run(t, ctx, "list", chromedp.Navigate(base+"/kinds/channel_rest"), chromedp.WaitVisible(chromedp.CSS("table")))
	shot(t, ctx, "list")

	// Conditional fields follow the type picked.
	run(t, ctx, "conditional fields",
		chromedp.Navigate(base+"/kinds/security/new"),
		chromedp.WaitVisible(chromedp.CSS("#f-type")),
	)
	eval[bool](t, ctx, `(() => { const s = document.querySelector('#f-type'); s.value = 'apikey'; s.dispatchEvent(new Event('change', {bubbles: true})); return true; })()`)
	hidden := eval[[]bool](t, ctx, `[document.querySelector('#field-header').hidden, document.querySelector('#field-username').hidden]`)
	if len(hidden) != 2 || hidden[0] || !hidden[1] {
		t.Fatalf("apikey: header hidden, username hidden = %v", hidden)
	}

	// Invoke the service from its page and see its log line.
	run(t, ctx, "invoke",
		chromedp.Navigate(base+"/services/demo.log-input-data"),
		chromedp.WaitVisible(chromedp.CSS("#payload")),
		chromedp.SetValue(chromedp.CSS("#payload"), `{"user_id": "123", "user_name": "my.user"}`),
		chromedp.Click(chromedp.CSS(`#invoke button`)),
		chromedp.WaitVisible(chromedp.CSS("#answer-log")),
	)
	if got := text(t, ctx, "#answer-log"); !strings.Contains(got, "uid:123; username:my.user") {
		t.Fatalf("log lines of the invocation: %q", got)
	}
	shot(t, ctx, "service")
	run(t, ctx, "services", chromedp.Navigate(base+"/services?builtins=true"), chromedp.WaitVisible(chromedp.CSS("table")))
	shot(t, ctx, "services")
	run(t, ctx, "scheduler", chromedp.Navigate(base+"/scheduler"), chromedp.WaitVisible(chromedp.CSS("table")))
	shot(t, ctx, "scheduler")

	// Import an enmasse file: the dry run's report, then apply.
	yaml := "outgoing_rest:\n  - name: Billing\n    host: https://billing.example.com\n    url_path: /api/v2/{phone_no}\n  - name: CRM\n    host: http://10.0.0.5:8080\n    url_path: /v2/customers\n"
	run(t, ctx, "enmasse dry run",
		chromedp.Navigate(base+"/enmasse"),
		chromedp.WaitVisible(chromedp.CSS("#content")),
		chromedp.SetValue(chromedp.CSS("#content"), yaml),
		chromedp.Click(chromedp.CSS(`form[enctype] button[type="submit"]`)),
		chromedp.WaitVisible(chromedp.CSS("#report")),
	)
	if c, u := text(t, ctx, "#report-created"), text(t, ctx, "#report-updated"); c != "1" || u != "1" {
		t.Fatalf("dry run: created %s, changed %s", c, u)
	}
	shot(t, ctx, "enmasse")
	if _, ok := s.Runtime.State().Object("outgoing_rest", "CRM"); ok {
		t.Fatal("the dry run imported")
	}
	// The page is replaced when the import ends: wait for the new report,
	// not the dry run's, which stays while the import runs.
	run(t, ctx, "enmasse apply",
		chromedp.Click(chromedp.CSS(`#report form button`)),
		chromedp.WaitVisible(chromedp.Search(`//article[@id="report"]/header[normalize-space()="Imported"]`)),
	)
	if _, ok := s.Runtime.State().Object("outgoing_rest", "CRM"); !ok {
		t.Fatal("not imported")
	}

	// At 400 px, nothing is wider than the screen.
	for _, path := range []string{"/", "/kinds/outgoing_rest/objects/Billing", "/kinds/channel_rest", "/services/demo.log-input-data"} {
		run(t, ctx, "400 px "+path,
			chromedp.EmulateViewport(400, 800),
			chromedp.Navigate(base+path),
			chromedp.WaitVisible(chromedp.CSS("main")),
		)
		if width := eval[int](t, ctx, `document.documentElement.scrollWidth`); width > 400 {
			t.Errorf("%s at 400 px is %d px wide", path, width)
		}
	}
	shot(t, ctx, "phone-form")
	run(t, ctx, "1280 px", chromedp.EmulateViewport(1280, 900))

	// Enrol TOTP, log out, log in with the password and a code.
	run(t, ctx, "enrol",
		chromedp.Navigate(base+"/account"),
		chromedp.Click(chromedp.CSS(`form[action="/account/totp/start"] button`)),
		chromedp.WaitVisible(chromedp.CSS("#totp-qr")),
	)
	key := text(t, ctx, "#totp-key")
	shot(t, ctx, "totp-enrol")
	code, _ := totp.GenerateCode(key, time.Now())
	run(t, ctx, "confirm",
		chromedp.SendKeys(chromedp.CSS("#code"), code),
		chromedp.Submit(chromedp.CSS("#code")),
		chromedp.WaitVisible(chromedp.CSS("p.notice")),
	)
	if got := text(t, ctx, "p.notice"); got != "Two-factor login is on." {
		t.Fatalf("enrolment: %q", got)
	}
	run(t, ctx, "logout and password",
		chromedp.Click(chromedp.CSS(`form[action="/logout"] button`)),
		chromedp.WaitVisible(chromedp.CSS("#password")),
		chromedp.SendKeys(chromedp.CSS("#password"), servertest.Password),
		chromedp.Submit(chromedp.CSS("#password")),
		chromedp.WaitVisible(chromedp.CSS("#code")),
	)
	code, _ = totp.GenerateCode(key, time.Now())
	run(t, ctx, "code",
		chromedp.SendKeys(chromedp.CSS("#code"), code),
		chromedp.Submit(chromedp.CSS("#code")),
		chromedp.WaitVisible(chromedp.CSS("#charts")),
	)
	run(t, ctx, "account", chromedp.Navigate(base+"/account"), chromedp.WaitVisible(chromedp.CSS("main")))
	shot(t, ctx, "account")
}
