package wsx_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/plexushq/plexus/internal/testenv"
	"github.com/plexushq/plexus/internal/wsx"
)

// page is served by a REST channel: it gets a session token from its
// frontend's service, opens the channel with it in ?token= (a browser's
// WebSocket cannot set headers), keeps what arrives, and invokes the
// channel's service.
const pageSvc = `name = "test.page"

def handle(self):
    self.response.content_type = "text/html"
    self.response.payload = """<!doctype html><html><body><script>
window.got = [];
fetch("/token", {method: "POST"}).then(r => r.json()).then(t => {
  const ws = new WebSocket("ws://" + location.host + "/ws/browser?token=" + encodeURIComponent(t.token));
  ws.onopen = () => { window.opened = true; };
  ws.onmessage = (e) => { window.got.push(JSON.parse(e.data)); };
  window.ws = ws;
});
</script></body></html>"""
`

// A page in headless Chromium authenticates with a JWT session a service
// created, receives a broadcast and invokes the channel's service.
func TestBrowser(t *testing.T) {
	chromium := testenv.Value(t, "PLEXUS_TEST_CHROMIUM", "the path of a Chromium binary such as /usr/bin/chromium")
	s := start(t)
	s.Deploy("page.star", pageSvc)
	s.Put("security", "web", map[string]any{"type": "jwt", "username": "browser", "password": "pw-4567"})
	s.Put(wsx.ChannelKind, "browser", map[string]any{"url_path": "/ws/browser", "service": "test.echo", "protocol": "json", "security": "web"})
	s.Channel("page", "test.page", "GET", "/page", nil)

	opts := append(chromedp.DefaultExecAllocatorOptions[:], chromedp.ExecPath(chromium), chromedp.Flag("headless", true),
		chromedp.NoSandbox, chromedp.DisableGPU, chromedp.Flag("disable-background-networking", true))
	actx, cancel := chromedp.NewExecAllocator(context.Background(), opts...)
	defer cancel()
	ctx, cancel := chromedp.NewContext(actx)
	defer cancel()
	ctx, cancel = context.WithTimeout(ctx, 60*time.Second)
	defer cancel()
	if err := chromedp.Do(ctx, chromedp.Navigate(s.API+"/page"),
		chromedp.Poll[chromedp.Void](`window.opened === true`, chromedp.WithPollingTimeout(20*time.Second))); err != nil {
		t.Fatalf("opening the channel: %v\n%s", err, s.Log)
	}
	if r := s.Call("POST", "/notify", `{"channel": "browser", "data": {"hello": "browser"}}`, nil); r.StatusCode != 200 {
		t.Fatalf("notify: %d %s", r.StatusCode, r.Body)
	}
	if err := chromedp.Do(ctx, chromedp.Poll[chromedp.Void](`window.got.length >= 1`, chromedp.WithPollingTimeout(10*time.Second))); err != nil {
		t.Fatalf("no broadcast arrived: %v", err)
	}
	if err := chromedp.Do(ctx, chromedp.Evaluate[chromedp.Void](`ws.send(JSON.stringify({"from": "page"}))`),
		chromedp.Poll[chromedp.Void](`window.got.length >= 2`, chromedp.WithPollingTimeout(10*time.Second))); err != nil {
		t.Fatalf("invoking the service: %v", err)
	}
	got, err := chromedp.Run(ctx, chromedp.Evaluate[[]map[string]any](`window.got`))
	if err != nil {
		t.Fatal(err)
	}
	if str(got[0]["hello"]) != "browser" {
		t.Errorf("broadcast: %v", got[0])
	}
	if got[1]["user"] != "browser" || str(got[1]["got"]) != "map[from:page]" || !strings.HasPrefix(str(got[1]["client"]), "wsx.") {
		t.Errorf("service's response: %v", got[1])
	}
}
