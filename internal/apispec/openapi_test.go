package apispec_test

import (
	"context"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"

	"github.com/plexushq/plexus/internal/admin"
	"github.com/plexushq/plexus/internal/apispec"
	"github.com/plexushq/plexus/internal/servertest"
	"github.com/plexushq/plexus/sdk/service"
)

var update = flag.Bool("update", false, "rewrite the golden files")

// The seed's API-spec services (seed 004), in Starlark.
var seedFiles = map[string]string{
	"customer.star": `"""Returns basic information about a customer.

Looks the customer up in the CRM.
"""
name = "get-customer"
namespace = "my.api.customer"
input_required = ["cust_id"]
input_optional = ["cust_type", "segment"]
output_required = ["name", "is_active", "region"]
output_optional = ["last_seen"]
invokes = ["update-customer"]

def handle(self):
    pass
`,
	"update_customer.star": `"""Updates basic information about a customer."""
name = "update-customer"
namespace = "my.api.customer"
input_required = ["name", "is_active", "region"]
output_required = ["result"]

def handle(self):
    pass
`,
	"cases.star": `"""Returns basic information about an individual case opened by a customer."""
name = "get-customer-cases"
namespace = "my.api.customer-cases"
input_required = ["case_id"]
output_required = ["cust_id", "is_open", "status", Date("last_contact_date")]
output_optional = ["supervisor_id", "region_id"]

def handle_GET(self):
    pass

def handle_DELETE(self):
    pass
`,
	"orders.star": `"""Creates an order."""
name = "orders.create"
Address = model("Address", street = str, city = str, zip = optional(str))
Item = model("Item", sku = str, qty = Int(default = 1), price = optional(Decimal))
Order = model("Order", customer_id = int, address = Address, items = list_of(Item), deliver_on = optional(Date))
input = Order
output = model("OrderCreated", order_id = UUID, created = DateTime)
response_elem = "response"

def handle(self):
    pass
`,
	"book.star": `"""Stores a book."""
name = "books.store"
schema = "book.json"

def handle(self):
    pass
`,
}

type getClientRequest struct {
	ClientID int `json:"client_id"`
}

type getClientResponse struct {
	Name    string  `json:"name"`
	Email   string  `json:"email"`
	Segment string  `json:"segment"`
	Since   *string `json:"since,omitempty" sio:"date"`
}

func start(t *testing.T) *servertest.Server {
	t.Helper()
	s := servertest.Start(t, servertest.Options{Services: []any{
		service.Typed("client.get-client", "Returns basic information about a client.", func(c *service.Context, r getClientRequest) (getClientResponse, error) {
			return getClientResponse{Name: "Jane Doe", Email: "jane.doe@example.com", Segment: "RNZ"}, nil
		}),
		service.Func("client.ping", "Answers pong.", func(c *service.Context) error {
			c.Response.Payload = map[string]any{"pong": true}
			return nil
		}),
	}})
	os.WriteFile(filepath.Join(s.Dir, "schema", "json", "book.json"), []byte(`{"$schema": "https://json-schema.org/draft/2020-12/schema",
  "type": "object", "required": ["name", "pub_year"],
  "properties": {"name": {"type": "string"}, "pub_year": {"type": "number"}}}`), 0o644)
	var req admin.DeployRequest
	for f, src := range seedFiles {
		req.Files = append(req.Files, admin.SourceFile{File: f, Source: src})
	}
	body, _ := json.Marshal(req)
	if r := s.AdminCall("POST", admin.Prefix+"/deploy", string(body)); r.StatusCode != 200 {
		t.Fatalf("deploy: %d %s", r.StatusCode, r.Body)
	}
	s.Channel("client", "client.get-client", "POST", "/api/v1/client", nil)
	s.Channel("customer.get", "get-customer", "GET", "/api/customers/{cust_id}", nil)
	s.Channel("customer.update", "update-customer", "PUT", "/api/customers/{name}", nil)
	s.Channel("cases", "get-customer-cases", "", "/api/cases/{case_id}", nil)
	s.Channel("orders", "orders.create", "POST", "/api/orders", nil)
	s.Channel("books", "books.store", "POST", "/api/books/{rest...}", nil)
	return s
}

// validate checks a document with kin-openapi, as an OpenAPI 3.1 document.
func validate(t *testing.T, data []byte) *openapi3.T {
	t.Helper()
	loader := openapi3.NewLoader()
	doc, err := loader.LoadFromData(data)
	if err != nil {
		t.Fatalf("kin-openapi cannot load the document: %v", err)
	}
	if !doc.IsOpenAPI31OrLater() {
		t.Fatalf("not OpenAPI 3.1: %s", doc.OpenAPI)
	}
	if err := doc.Validate(context.Background()); err != nil {
		t.Fatalf("kin-openapi finds the document invalid: %v", err)
	}
	return doc
}

func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	file := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(file, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(file)
	if err != nil {
		t.Fatalf("%v (run go test ./internal/apispec -update to create it)", err)
	}
	if string(want) != string(got) {
		t.Errorf("%s differs from the generated document (run go test ./internal/apispec -update and review the diff):\n%s", file, got)
	}
}

func TestGoldenDocuments(t *testing.T) {
	s := start(t)
	opts := apispec.Options{Exclude: apispec.SplitGlobs(apispec.DefaultExclude), APIURL: "http://localhost:11223",
		AdminURL: "http://127.0.0.1:11224", Schemas: s.Invoker.IO.Schemas, Title: "My API spec"}
	doc, problems := apispec.Generate(s.Runtime.State(), opts)
	if len(problems) > 0 {
		t.Fatalf("problems: %v", problems)
	}
	data, err := doc.JSON()
	if err != nil {
		t.Fatal(err)
	}
	golden(t, "all.json", data)
	kin := validate(t, data)

	// What the seeds promise: inferred types, docstrings, namespaces, real
	// paths and verbs, the generic invoke path for a service without a
	// channel.
	get := kin.Paths.Find("/api/customers/{cust_id}").Get
	if get.Summary != "Returns basic information about a customer." || get.Description != "Looks the customer up in the CRM." || get.Tags[0] != "my.api.customer" {
		t.Errorf("docstring and namespace: %+v", get)
	}
	if p := get.Parameters.GetByInAndName("path", "cust_id"); p == nil || !p.Schema.Value.Type.Is("integer") {
		t.Errorf("cust_id is an integer path parameter: %+v", p)
	}
	out := kin.Components.Schemas["get-customer.Output"].Value
	if !out.Properties["is_active"].Value.Type.Is("boolean") || len(out.Required) != 3 {
		t.Errorf("is_active is a boolean: %+v", out)
	}
	put := kin.Paths.Find("/api/customers/{cust_id}").Put
	if put == nil || put.Parameters[0].Value.Name != "cust_id" || !strings.Contains(put.Parameters[0].Value.Description, "as name") {
		t.Errorf("two channels of one path shape share its parameter names: %+v", put)
	}
	if kin.Paths.Find("/api/cases/{case_id}").Delete == nil || kin.Paths.Find("/api/cases/{case_id}").Get == nil {
		t.Error("a channel without a method shows the service's verbs")
	}
	inv := kin.Paths.Find("/admin/api/v1/services/client.ping/invoke")
	if inv == nil || inv.Post == nil || inv.Servers[0].URL != "http://127.0.0.1:11224" || kin.Components.SecuritySchemes["plexusAdmin"] == nil {
		t.Errorf("invoke path: %+v", inv)
	}
	if kin.Paths.Find("/plexus/ping") != nil || strings.Contains(string(data), `"plexus.helpers.echo"`) {
		t.Error("plexus.* is excluded by default")
	}
	resp := kin.Paths.Find("/api/orders").Post.Responses.Status(200).Value.Content["application/json"].Schema.Value
	if resp.Properties["response"] == nil {
		t.Error("response_elem wraps the output")
	}

	// The seed's selection: --include "client*".
	opts.Include = apispec.SplitGlobs("client*")
	doc, _ = apispec.Generate(s.Runtime.State(), opts)
	yml, err := doc.YAML()
	if err != nil {
		t.Fatal(err)
	}
	golden(t, "client.yaml", yml)
	validate(t, yml)
}

func TestAdminEndpoint(t *testing.T) {
	s := start(t)
	r := s.AdminCall("GET", admin.Prefix+"/openapi.json?include=client*,get-*", "")
	if r.StatusCode != 200 || r.Header.Get("Content-Type") != "application/json" {
		t.Fatalf("%d %s", r.StatusCode, r.Body)
	}
	doc := validate(t, r.Body)
	if doc.Paths.Find("/api/v1/client") == nil || doc.Paths.Find("/api/orders") != nil || doc.Servers[0].URL != s.API {
		t.Errorf("selection or servers: %s", r.Body)
	}
	r = s.AdminCall("GET", admin.Prefix+"/openapi.yaml?exclude=&include=plexus.ping", "")
	if r.StatusCode != 200 || !strings.HasPrefix(string(r.Body), "openapi: 3.1.0\n") || !strings.Contains(string(r.Body), "/admin/api/v1/services/plexus.ping/invoke") {
		t.Fatalf("%d %s", r.StatusCode, r.Body)
	}
	validate(t, r.Body)
	r = servertest.Do(t, "GET", s.Admin+admin.Prefix+"/openapi.json", "", nil)
	if r.StatusCode != 401 {
		t.Errorf("the document needs the admin login: %d", r.StatusCode)
	}
	// The services' I/O in the admin API.
	r = s.AdminCall("GET", admin.Prefix+"/services/get-customer", "")
	if !strings.Contains(string(r.Body), `"name": "cust_id",
          "type": "int",
          "required": true`) {
		t.Errorf("admin API I/O: %s", r.Body)
	}
}

// Channels' security definitions, and the members of their groups, become
// the document's security schemes and their operations' requirements.
func TestSecuritySchemes(t *testing.T) {
	s := servertest.Start(t, servertest.Options{})
	for name, def := range map[string]map[string]any{
		"api.basic": {"type": "basic_auth", "username": "u", "password": "p"},
		"api.key":   {"type": "apikey", "password": "k", "header": "X-My-Key"},
		"api.jwt":   {"type": "jwt", "username": "u", "password": "p"},
		"api.ext":   {"type": "bearer_token", "jwks_url": "https://idp.example.com/jwks", "audience": "plexus"},
		"api.mtls":  {"type": "mtls", "client_cert_subject_dn": "CN=client"},
	} {
		s.Put("security", name, def)
	}
	s.Put("groups", "api.partners", map[string]any{"members": []string{"api.key", "api.mtls"}})
	s.Channel("basic", "plexus.ping", "GET", "/secure/basic", map[string]any{"security": "api.basic"})
	s.Channel("group", "plexus.ping", "GET", "/secure/group", map[string]any{"groups": []string{"api.partners"}})
	s.Channel("tokens", "plexus.ping", "GET", "/secure/tokens", map[string]any{"security": "api.jwt", "groups": []string{}})
	s.Channel("ext", "plexus.ping", "GET", "/secure/ext", map[string]any{"security": "api.ext"})
	r := s.AdminCall("GET", "/admin/api/v1/openapi.json?exclude=none", "")
	doc := validate(t, r.Body)
	want := map[string]string{
		"api.basic": `{"scheme":"basic","type":"http"}`,
		"api.key":   `{"in":"header","name":"X-My-Key","type":"apiKey"}`,
		"api.jwt":   `{"description":"A session token from POST /plexus/jwt/log-in.","scheme":"bearer","type":"http"}`,
		"api.ext":   `{"bearerFormat":"JWT","scheme":"bearer","type":"http"}`,
		"api.mtls":  `{"type":"mutualTLS"}`,
	}
	for name, prefix := range want {
		ref, ok := doc.Components.SecuritySchemes[name]
		if !ok {
			t.Errorf("no security scheme %s in %v", name, doc.Components.SecuritySchemes)
			continue
		}
		got, _ := json.Marshal(ref.Value)
		if string(got) != prefix {
			t.Errorf("%s: %s, want %s", name, got, prefix)
		}
	}
	group := doc.Paths.Find("/secure/group").Get
	if group == nil || group.Security == nil || len(*group.Security) != 2 {
		t.Fatalf("the group channel's operation should accept either member: %+v", group)
	}
}
