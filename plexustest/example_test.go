package plexustest_test

import (
	"fmt"
	"testing"

	"github.com/plexushq/plexus/plexustest"
	"github.com/plexushq/plexus/sdk/service"
)

// Greet is a Go service: it greets whoever the input names.
type Greet struct{}

func (Greet) Name() string { return "example.greet" }

func (Greet) Handle(s *service.Context) error {
	name := s.Request.Input.String("name")
	if name == "" {
		return service.BadRequest("Element missing: name")
	}
	s.Logger().Info("greeting", "name", name)
	s.Response.Payload = map[string]any{"greeting": "Hello, " + name + "!", "cid": s.CID}
	return nil
}

// A test of a Go service: start a server with it, mount it on a channel
// and run scenarios. In a test, t is the test's *testing.T, and each
// scenario runs as a subtest.
func Example() {
	test(func(t testing.TB) {
		s := plexustest.Start(t, plexustest.Options{Services: []any{Greet{}}})
		s.Channel("greet", "example.greet", "", "/api/greet", nil)

		for _, sc := range []plexustest.Scenario{{
			Name:       "greets",
			URL:        "/api/greet?name=Jane",
			WantBody:   plexustest.JSONSubset(`{"greeting": "Hello, Jane!"}`),
			WantHeader: map[string]string{"Content-Type": "application/json"},
			WantLog:    []plexustest.LogLine{{"msg=greeting", "name=Jane"}},
		}, {
			Name:       "needs a name",
			URL:        "/api/greet",
			WantStatus: 400,
			WantBody:   plexustest.Envelope("Element missing: name"),
		}, {
			Name:     "invoked without a channel",
			Service:  "example.greet",
			Body:     `{"name": "Ann"}`,
			WantBody: plexustest.JSONSubset(`{"greeting": "Hello, Ann!"}`),
		}} {
			sc.Run(t, s)
		}
	})
	// Output: PASS
}

// A Starlark service, deployed from its source (DeployFiles deploys .star
// files), and called directly.
func ExampleServer_Deploy() {
	test(func(t testing.TB) {
		s := plexustest.Start(t, plexustest.Options{})
		s.Deploy("get_customer.star", `
"""Returns a customer."""

name = "crm.get-customer"
input_required = ["cust_id"]

def handle(self):
    self.response.payload = {"id": self.request.input.cust_id, "name": "Jane Doe"}
`)
		s.Channel("customer", "crm.get-customer", "GET", "/api/customers/{cust_id}", nil)
		r := s.Call("GET", "/api/customers/7", "", nil)
		fmt.Println(r.StatusCode, string(r.Body))
	})
	// Output:
	// 200 {"id":7,"name":"Jane Doe"}
	// PASS
}

// Configuration from an enmasse file: a security definition and a channel
// that needs it.
func ExampleServer_Import() {
	test(func(t testing.TB) {
		s := plexustest.Start(t, plexustest.Options{})
		s.Import(`
security:
  - name: partner
    type: basic_auth
    username: partner
    password: s3cret-p
channel_rest:
  - name: echo
    service: plexus.helpers.echo
    url_path: /api/echo
    security: partner
`)
		plexustest.Scenario{
			URL: "/api/echo", Body: `{"a": 1}`, Auth: plexustest.Basic("partner", "s3cret-p"),
			WantBody: plexustest.JSON(`{"a": 1}`),
		}.Run(t, s)
		plexustest.Scenario{
			URL: "/api/echo", Body: `{"a": 1}`, Auth: plexustest.Basic("partner", "guess"),
			WantStatus: 401, WantHeader: map[string]string{"WWW-Authenticate": `Basic realm="Plexus"`},
		}.Run(t, s)
	})
	// Output: PASS
}

// A recording backend stands in for the remote API of an outgoing REST
// connection: the scenario checks what the service sent it.
func ExampleServer_Backend() {
	test(func(t testing.TB) {
		s := plexustest.Start(t, plexustest.Options{})
		billing := s.Backend("Billing", map[string]any{"url_path": "/api/billing/{phone_no}"})
		billing.Handle("POST /api/billing/{phone_no}", plexustest.Reply(201, `{"invoice": "INV-1"}`))
		s.Deploy("set_billing.star", `
def handle(self):
    conn = self.out.rest["Billing"].conn
    response = conn.post(self.cid, {"amount": "395.7"}, {"phone_no": "271637517", "priority": "normal"})
    self.response.payload = {"status": response.status_code, "invoice": response.data["invoice"]}
`)
		s.Channel("billing", "set-billing", "POST", "/api/billing", nil)
		plexustest.Scenario{
			URL:      "/api/billing",
			Method:   "POST",
			WantBody: plexustest.JSON(`{"status": 201, "invoice": "INV-1"}`),
			WantCalls: []plexustest.Call{{
				Backend: billing,
				Method:  "POST",
				Path:    "/api/billing/271637517?priority=normal",
				Body:    plexustest.JSON(`{"amount": "395.7"}`),
			}},
		}.Run(t, s)
		fmt.Println(len(billing.Requests()), "call")
	})
	// Output:
	// 1 call
	// PASS
}

func ExampleJSONSubset() {
	match := plexustest.JSONSubset(`{"name": "Jane", "address": {"city": "Wellington"}}`)
	fmt.Println(match([]byte(`{"id": 7, "name": "Jane", "address": {"city": "Wellington", "street": "1 Main St"}}`)))
	fmt.Println(match([]byte(`{"id": 7, "name": "Jane", "address": {"city": "Auckland"}}`)))
	// Output:
	// <nil>
	// the body differs from the wanted JSON:
	//   /address/city: got "Auckland", want "Wellington"
}
