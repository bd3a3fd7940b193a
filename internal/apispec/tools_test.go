package apispec_test

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/plexushq/plexus/internal/cli"
)

// run runs a plexus command in-process.
func run(t *testing.T, args ...string) string {
	t.Helper()
	var out, errOut bytes.Buffer
	app := &cli.App{Stdout: &out, Stderr: &errOut, Getenv: func(string) string { return "" }}
	if code := app.Main(context.Background(), args); code != 0 {
		t.Fatalf("plexus %s: exit %d\n%s%s", strings.Join(args, " "), code, out.String(), errOut.String())
	}
	return out.String()
}

func TestOpenAPICommand(t *testing.T) {
	s := start(t)
	file := filepath.Join(t.TempDir(), "openapi.yaml")
	// The seed's command: zato openapi /path/to/server --include "client*" --file /tmp/openapi.yaml
	out := run(t, "openapi", s.Dir, "--include", "client*", "--file", file)
	if !strings.Contains(out, "written to "+file) {
		t.Errorf("output: %s", out)
	}
	data, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	doc := validate(t, data)
	if doc.Paths.Find("/api/v1/client") == nil || doc.Paths.Find("/api/orders") != nil {
		t.Errorf("--include: %s", data)
	}
	stdout := run(t, "openapi", s.Dir, "--exclude", "client*,plexus.*,demo.*", "--title", "Orders")
	doc = validate(t, []byte(stdout))
	if doc.Info.Title != "Orders" || doc.Paths.Find("/api/orders") == nil || doc.Paths.Find("/api/v1/client") != nil {
		t.Errorf("--exclude, --title: %s", stdout)
	}
	jsonFile := filepath.Join(t.TempDir(), "openapi.json")
	run(t, "openapi", s.Dir, "--file", jsonFile)
	data, _ = os.ReadFile(jsonFile)
	if !bytes.HasPrefix(data, []byte("{")) {
		t.Errorf("a .json file gets JSON: %.40s", data)
	}
	validate(t, data)
}

func TestIndependentValidator(t *testing.T) {
	script := os.Getenv("PLEXUS_TEST_OPENAPI_VALIDATOR")
	if script == "" {
		t.Skip("set PLEXUS_TEST_OPENAPI_VALIDATOR to .ci/validate-openapi.mjs beside an npm install of @apidevtools/swagger-parser (.ci/run does) to validate the documents with it")
	}
	s := start(t)
	dir := t.TempDir()
	all, client := filepath.Join(dir, "all.json"), filepath.Join(dir, "client.yaml")
	run(t, "openapi", s.Dir, "--file", all)
	run(t, "openapi", s.Dir, "--include", "client*", "--file", client)
	out, err := exec.Command("node", script, all, client).CombinedOutput()
	if err != nil {
		t.Fatalf("swagger-parser: %v\n%s", err, out)
	}
	t.Logf("%s", out)
}

// chromium returns the browser the site test uses: PLEXUS_TEST_CHROMIUM,
// else /usr/bin/chromium when installed.
func chromium(t *testing.T) string {
	if p := os.Getenv("PLEXUS_TEST_CHROMIUM"); p != "" {
		return p
	}
	if _, err := os.Stat("/usr/bin/chromium"); err == nil {
		return "/usr/bin/chromium"
	}
	t.Skip("/usr/bin/chromium is not installed (apt-get install chromium; .ci/run does): the API docs site is not rendered")
	return ""
}

// dumpDOM renders a page in headless Chromium and returns its DOM.
func dumpDOM(t *testing.T, browser, page string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, browser, "--headless", "--no-sandbox", "--disable-gpu",
		"--disable-background-networking", "--disable-component-update", "--disable-sync", "--no-first-run",
		"--user-data-dir="+t.TempDir(), "--dump-dom", "file://"+page)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("chromium: %v\n%s", err, stderr.String())
	}
	return string(out)
}

func TestAPIDocsSite(t *testing.T) {
	browser := chromium(t)
	s := start(t)
	out := t.TempDir()
	css := filepath.Join(t.TempDir(), "brand.css")
	os.WriteFile(css, []byte("body { background: #fafaf0; } /* brand */"), 0o644)
	run(t, "apidocs", s.Dir, "--out", out, "--title", "My API spec", "--css", css)

	for _, f := range []string{"index.html", "style.css", "openapi.json", "openapi.yaml", "services/get-customer.html"} {
		if _, err := os.Stat(filepath.Join(out, f)); err != nil {
			t.Errorf("missing %s", f)
		}
	}
	if data, _ := os.ReadFile(filepath.Join(out, "style.css")); !strings.Contains(string(data), "/* brand */") {
		t.Error("--css replaces the stylesheet")
	}
	validate(t, mustRead(t, filepath.Join(out, "openapi.yaml")))

	index := dumpDOM(t, browser, filepath.Join(out, "index.html"))
	for _, want := range []string{
		"<title>Services · My API spec</title>", `<a class="brand" href="index.html">My API spec</a>`,
		`<h2>my.api.customer</h2>`, `<h2>my.api.customer-cases</h2>`, `<h2>client</h2>`,
		`<a href="services/get-customer.html">get-customer</a>`, "Returns basic information about a customer.",
		`<span class="verb verb-get">GET</span> /api/customers/{cust_id}`, `href="openapi.yaml" download=""`,
	} {
		if !strings.Contains(index, want) {
			t.Errorf("index.html lacks %q", want)
		}
	}
	if strings.Index(index, "<h2>client</h2>") > strings.Index(index, "<h2>my.api.customer</h2>") {
		t.Error("namespaces are sorted")
	}

	page := dumpDOM(t, browser, filepath.Join(out, "services", "get-customer.html"))
	for _, want := range []string{
		`<h1 class="service-name">get-customer</h1>`, `<p class="summary">Returns basic information about a customer.</p>`,
		"Looks the customer up in the CRM.",
		`<tr><td class="depth-0"><code>cust_id</code></td><td>int</td><td>yes</td><td></td><td>path</td></tr>`,
		`<tr><td class="depth-0"><code>segment</code></td><td>text</td><td>no</td><td></td><td>query</td></tr>`,
		`<tr><td class="depth-0"><code>is_active</code></td><td>bool</td><td>yes</td></tr>`,
		`<tr><td class="depth-0"><code>last_seen</code></td><td>text</td><td>no</td></tr>`,
		`<a href="update-customer.html">update-customer</a>`, "<code>/api/customers/{cust_id}</code>",
	} {
		if !strings.Contains(page, want) {
			t.Errorf("get-customer.html lacks %q", want)
		}
	}
	page = dumpDOM(t, browser, filepath.Join(out, "services", "orders.create.html"))
	for _, want := range []string{
		`<tr><td class="depth-0"><code>address</code></td><td>Address</td><td>yes</td><td></td><td>body</td></tr>`,
		`<tr><td class="depth-1"><code>street</code></td><td>text</td><td>yes</td><td></td><td>body</td></tr>`,
		`<tr><td class="depth-0"><code>items</code></td><td>list of Item</td><td>yes</td><td></td><td>body</td></tr>`,
		`<tr><td class="depth-1"><code>qty</code></td><td>int</td><td>no</td><td>1</td><td>body</td></tr>`,
		`<tr><td class="depth-0"><code>deliver_on</code></td><td>date</td><td>no</td><td></td><td>body</td></tr>`,
	} {
		if !strings.Contains(page, want) {
			t.Errorf("orders.create.html lacks %q\n%s", want, page)
		}
	}
	page = dumpDOM(t, browser, filepath.Join(out, "services", "client.ping.html"))
	if !strings.Contains(page, "/admin/api/v1/services/client.ping/invoke") || !strings.Contains(page, "<em>invoke</em>") {
		t.Errorf("a service without a REST channel shows the invoke path:\n%s", page)
	}
}

func mustRead(t *testing.T, f string) []byte {
	data, err := os.ReadFile(f)
	if err != nil {
		t.Fatal(err)
	}
	return data
}

// oapiCodegen is the client generator the test runs through the Go module
// proxy.
const oapiCodegen = "github.com/oapi-codegen/oapi-codegen/v2/cmd/oapi-codegen@v2.8.2"

// TestGeneratedClient generates a Go client from the document with
// oapi-codegen, builds it in a module of its own and calls the running
// server through it.
func TestGeneratedClient(t *testing.T) {
	if testing.Short() {
		t.Skip("fetches and runs oapi-codegen")
	}
	required := os.Getenv("PLEXUS_TEST_OAPI_CODEGEN") != ""
	s := start(t)
	dir := t.TempDir()
	os.MkdirAll(filepath.Join(dir, "client"), 0o755)
	run(t, "openapi", s.Dir, "--file", filepath.Join(dir, "openapi.json"))
	write := func(name, content string) {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("go.mod", "module clienttest\n\ngo 1.26\n")
	write("oapi.yaml", "package: client\ngenerate:\n  client: true\n  models: true\noutput: client/client.gen.go\n")
	write("main.go", clientMain)
	goCmd := func(timeout time.Duration, args ...string) ([]byte, error) {
		ctx, cancel := context.WithTimeout(context.Background(), timeout)
		defer cancel()
		cmd := exec.CommandContext(ctx, "go", args...)
		cmd.Dir = dir
		cmd.Env = append(os.Environ(), "GOFLAGS=-mod=mod", "GOWORK=off")
		return cmd.CombinedOutput()
	}
	if out, err := goCmd(5*time.Minute, "run", oapiCodegen, "-config", "oapi.yaml", "openapi.json"); err != nil {
		if !required {
			t.Skipf("oapi-codegen cannot be fetched or run here (set PLEXUS_TEST_OAPI_CODEGEN, as .ci/run does, to make this an error): %v\n%s", err, out)
		}
		t.Fatalf("oapi-codegen: %v\n%s", err, out)
	}
	if out, err := goCmd(5*time.Minute, "mod", "tidy"); err != nil {
		if !required {
			t.Skipf("the generated client's dependencies cannot be fetched here: %s", out)
		}
		t.Fatalf("go mod tidy: %v\n%s", err, out)
	}
	out, err := goCmd(5*time.Minute, "run", ".", s.API)
	if err != nil {
		t.Fatalf("the generated client: %v\n%s", err, out)
	}
	want := "200 Jane Doe jane.doe@example.com RNZ true\n400 Error Element missing: /client_id\n"
	if string(out) != want {
		t.Errorf("got\n%s\nwant\n%s", out, want)
	}
}

const clientMain = `package main

import (
	"context"
	"fmt"
	"os"
	"strings"

	"clienttest/client"
)

func main() {
	c, err := client.NewClientWithResponses(os.Args[1])
	if err != nil {
		panic(err)
	}
	ctx := context.Background()
	r, err := c.PostClientGetClientWithResponse(ctx, client.PostClientGetClientJSONRequestBody{ClientId: 123})
	if err != nil || r.JSON200 == nil {
		fmt.Println("error", err, string(r.Body))
		os.Exit(1)
	}
	fmt.Println(r.StatusCode(), r.JSON200.Name, r.JSON200.Email, r.JSON200.Segment, r.HTTPResponse.Header.Get("X-Plexus-CID") != "")
	bad, err := c.PostClientGetClientWithBodyWithResponse(ctx, "application/json", strings.NewReader("{}"))
	if err != nil || bad.JSON400 == nil {
		fmt.Println("error", err, string(bad.Body))
		os.Exit(1)
	}
	fmt.Println(bad.StatusCode(), bad.JSON400.Result, bad.JSON400.Details)
}
`
