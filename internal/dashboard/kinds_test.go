package dashboard_test

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/plexushq/plexus/internal/admin"
	"github.com/plexushq/plexus/internal/registry"
	"github.com/plexushq/plexus/internal/security"
	"github.com/plexushq/plexus/internal/servertest"
)

// basic returns the Authorization header of the admin API.
func basic() string {
	req, _ := http.NewRequest("GET", "/", nil)
	req.SetBasicAuth(admin.User, servertest.Password)
	return req.Header.Get("Authorization")
}

// TestEveryKindRenders renders the list, the new-object form and the help
// of every registered kind, and the page of each example the admin API
// accepts.
func TestEveryKindRenders(t *testing.T) {
	s, b := start(t)
	objects := 0
	for _, k := range registry.All() {
		for _, path := range []string{"/kinds/" + k.ID, "/kinds/" + k.ID + "/new", "/kinds/" + k.ID + "/help"} {
			p := b.get(path)
			if p.Status != 200 || !strings.Contains(p.Body, k.Title) {
				t.Errorf("GET %s: %d\n%s", path, p.Status, p.Body)
			}
		}
		form := b.get("/kinds/" + k.ID + "/new").Body
		for _, f := range k.Fields() {
			if !strings.Contains(form, `id="field-`+f.Name+`"`) || !strings.Contains(form, `for="f-`+f.Name) && !strings.Contains(form, "<legend>") {
				t.Errorf("kind %s: the form has no labelled control for %s", k.ID, f.Name)
			}
		}
		for _, ex := range k.Examples {
			obj, errs := k.Decode([]byte(ex))
			if len(errs) > 0 {
				continue
			}
			name := registry.NameOf(obj)
			if r := s.AdminCall("PUT", admin.Prefix+"/objects/"+k.ID+"/"+url.PathEscape(name), ex); r.StatusCode >= 300 {
				continue // its references are not there
			}
			objects++
			p := b.get("/kinds/" + k.ID + "/objects/" + url.PathEscape(name))
			if p.Status != 200 || !strings.Contains(p.Body, `value="`+htmlEscape(name)+`"`) {
				t.Errorf("object %s %s: %d", k.ID, name, p.Status)
			}
			for path, secret := range k.Secrets(obj) {
				if strings.Contains(p.Body, `value="`+htmlEscape(secret)+`"`) || strings.Contains(p.Body, ">"+htmlEscape(secret)+"<") {
					t.Errorf("object %s %s shows its secret %s", k.ID, name, path)
				}
			}
			if p := b.get("/kinds/" + k.ID + "/new?clone=" + url.QueryEscape(name)); p.Status != 200 || !strings.Contains(p.Body, htmlEscape(name)+"-copy") {
				t.Errorf("clone of %s %s: %d", k.ID, name, p.Status)
			}
			if p := b.get("/kinds/" + k.ID); !strings.Contains(p.Body, ">"+htmlEscape(name)+"</a>") {
				t.Errorf("list of %s lacks %s", k.ID, name)
			}
		}
	}
	if objects < 5 {
		t.Fatalf("only %d examples could be shown", objects)
	}
	if p := b.get("/kinds/no_such_kind"); p.Status != 404 {
		t.Fatalf("unknown kind: %d", p.Status)
	}
	if p := b.get("/kinds/security/objects/nope"); p.Status != 404 {
		t.Fatalf("unknown object: %d", p.Status)
	}
}

func htmlEscape(s string) string {
	return strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;", `"`, "&#34;", "'", "&#39;").Replace(s)
}

// TestFormChange creates, previews, edits, refuses, runs an action on,
// clones and deletes objects through the forms.
func TestFormChange(t *testing.T) {
	s, b := start(t)
	conn := url.Values{"name": {"Billing"}, "host": {"http://127.0.0.1:9"}, "url_path": {"/api/{id}"}, "data_format": {"json"},
		"timeout": {"5s"}, "pool_size": {"4"}, "is_active": {"false", "true"}, "security": {""}}
	// A preview checks and shows the change but makes none.
	p := b.post("/kinds/outgoing_rest/new", with(conn, "dry_run", "true"))
	if p.Status != 200 || !strings.Contains(p.Body, "Preview") || !strings.Contains(p.Body, "<ins>http://127.0.0.1:9</ins>") {
		t.Fatalf("preview: %d\n%s", p.Status, p.Body)
	}
	if _, ok := s.Runtime.State().Object("outgoing_rest", "Billing"); ok {
		t.Fatal("a preview created the object")
	}
	if p := b.post("/kinds/outgoing_rest/new", conn); p.Status != http.StatusSeeOther || !strings.HasPrefix(p.Header.Get("Location"), "/kinds/outgoing_rest/objects/Billing?notice=Saved") {
		t.Fatalf("create: %d %s\n%s", p.Status, p.Header.Get("Location"), p.Body)
	}
	r := s.AdminCall("GET", admin.Prefix+"/objects/outgoing_rest/Billing", "")
	if !strings.Contains(string(r.Body), `"timeout": "5s"`) || !strings.Contains(string(r.Body), `"pool_size": 4`) {
		t.Fatalf("created: %s", r.Body)
	}
	// Creating it again under the same name is refused at the name.
	if p := b.post("/kinds/outgoing_rest/new", conn); p.Status != 400 || !problemAt(p.Body, "name", "exists already") {
		t.Fatalf("duplicate: %d\n%s", p.Status, p.Body)
	}
	// Problems are shown at their fields, with what was typed kept.
	bad := with(with(with(conn, "data_format", "jsonn"), "pool_size", "lots"), "url_path", "/kept/typed")
	p = b.post("/kinds/outgoing_rest/objects/Billing", bad)
	if p.Status != 400 || !problemAt(p.Body, "pool_size", "expected a number") || !strings.Contains(p.Body, `value="/kept/typed"`) {
		t.Fatalf("bad number: %d\n%s", p.Status, p.Body)
	}
	p = b.post("/kinds/outgoing_rest/objects/Billing", with(conn, "data_format", "jsonn"))
	if p.Status != 400 || !problemAt(p.Body, "data_format", "is not one of") {
		t.Fatalf("bad enum: %d\n%s", p.Status, p.Body)
	}
	p = b.post("/kinds/outgoing_rest/objects/Billing", with(conn, "security", "no-such-definition"))
	if p.Status != 400 || !problemAt(p.Body, "security", "no-such-definition") {
		t.Fatalf("bad reference: %d\n%s", p.Status, p.Body)
	}
	// A secret is written, never shown, and kept when left empty.
	sec := url.Values{"name": {"billing.creds"}, "type": {"basic_auth"}, "username": {"billing"}, "password": {"s3cret-of-the-form"}, "is_active": {"false", "true"}}
	if p := b.post("/kinds/security/new", sec); p.Status != http.StatusSeeOther {
		t.Fatalf("security: %d\n%s", p.Status, p.Body)
	}
	p = b.get("/kinds/security/objects/billing.creds")
	if strings.Contains(p.Body, "s3cret-of-the-form") || !strings.Contains(p.Body, "set; leave empty to keep it") {
		t.Fatalf("the secret is shown, or not said to be set:\n%s", p.Body)
	}
	// Fields of other types are hidden until the type is theirs.
	if !strings.Contains(p.Body, `id="field-header" data-when="type" data-when-values="apikey" hidden`) ||
		strings.Contains(p.Body, `id="field-username" data-when="type" data-when-values="basic_auth|jwt|bearer_token" hidden`) {
		t.Fatalf("conditional fields:\n%s", p.Body)
	}
	if p := b.post("/kinds/security/objects/billing.creds", with(sec, "password", "")); p.Status != http.StatusSeeOther {
		t.Fatalf("edit: %d\n%s", p.Status, p.Body)
	}
	obj, _ := s.Runtime.State().Object("security", "billing.creds")
	if obj.(*security.Definition).Password != "s3cret-of-the-form" {
		t.Fatalf("the secret was not kept: %q", obj.(*security.Definition).Password)
	}
	// References are picked from the objects there are.
	p = b.get("/kinds/outgoing_rest/objects/Billing")
	if !strings.Contains(p.Body, `<option value="billing.creds">billing.creds</option>`) {
		t.Fatalf("no picker for the security definition:\n%s", p.Body)
	}
	// Actions are buttons; ping answers what the remote said.
	p = b.post("/kinds/outgoing_rest/objects/Billing/actions/ping", nil)
	if p.Status != 200 || !strings.Contains(p.Body, `id="answer"`) || !strings.Contains(p.Body, "cid ") {
		t.Fatalf("ping: %d\n%s", p.Status, p.Body)
	}
	// Delete.
	if p := b.post("/kinds/outgoing_rest/objects/Billing/delete", nil); p.Status != http.StatusSeeOther {
		t.Fatalf("delete: %d\n%s", p.Status, p.Body)
	}
	if _, ok := s.Runtime.State().Object("outgoing_rest", "Billing"); ok {
		t.Fatal("not deleted")
	}
	// A definition in use cannot be deleted: the refusal is shown.
	b.post("/kinds/outgoing_rest/new", with(conn, "security", "billing.creds"))
	if p := b.post("/kinds/security/objects/billing.creds/delete", nil); p.Status != 400 || !strings.Contains(p.Body, "Billing") {
		t.Fatalf("delete in use: %d\n%s", p.Status, p.Body)
	}
}

// problemAt reports whether the page shows a problem holding text at a
// field.
func problemAt(body, field, text string) bool {
	i := strings.Index(body, `id="p-`+field+`"`)
	if i < 0 {
		return false
	}
	end := strings.Index(body[i:], "</small>")
	return end > 0 && strings.Contains(body[i:i+end], htmlEscape(text))
}

// TestListPaging lists, searches, sorts and pages 120 connections.
func TestListPaging(t *testing.T) {
	s, b := start(t)
	var sb strings.Builder
	sb.WriteString("outgoing_rest:\n")
	for i := range 120 {
		fmt.Fprintf(&sb, "  - name: conn-%03d\n    host: http://h%d.example.com\n    url_path: /x\n    pool_size: %d\n", i, i%7, 120-i)
	}
	if r := servertest.Do(t, "POST", s.Admin+admin.Prefix+"/enmasse/import", sb.String(), http.Header{"Content-Type": {"application/yaml"}, "Authorization": {basic()}}); r.StatusCode != 200 {
		t.Fatalf("import: %d %s", r.StatusCode, r.Body)
	}
	p := b.get("/kinds/outgoing_rest")
	if !strings.Contains(p.Body, "120 objects") || !strings.Contains(p.Body, ">conn-000<") || strings.Contains(p.Body, ">conn-050<") || !strings.Contains(p.Body, "page 1 of 3") {
		t.Fatalf("first page:\n%s", p.Body)
	}
	if p := b.get("/kinds/outgoing_rest?page=3"); !strings.Contains(p.Body, ">conn-119<") || strings.Contains(p.Body, ">conn-099<") {
		t.Fatalf("last page:\n%s", p.Body)
	}
	if p := b.get("/kinds/outgoing_rest?q=h3.example"); !strings.Contains(p.Body, "17 objects") || !strings.Contains(p.Body, ">conn-003<") || strings.Contains(p.Body, ">conn-004<") {
		t.Fatalf("search:\n%s", p.Body)
	}
	// Sorted by host, then name: h0's connections come first.
	p = b.get("/kinds/outgoing_rest?sort=host")
	if i, j := strings.Index(p.Body, ">conn-007<"), strings.Index(p.Body, ">conn-001<"); i < 0 || j < 0 || i > j {
		t.Fatalf("sort by host:\n%s", p.Body)
	}
	if p := b.get("/kinds/outgoing_rest?desc=true"); !strings.Contains(p.Body, ">conn-119<") {
		t.Fatalf("reversed:\n%s", p.Body)
	}
}
