// Command goservice is a Plexus program with its own Go services: it
// registers them through the library face and gets every plexus command.
//
//	PLEXUS_ADMIN_PASSWORD=change-me-now go run ./examples/goservice quickstart
//
// then, in another terminal, mount a service on a REST channel and call it:
//
//	curl -u admin:change-me-now -X PUT localhost:11224/admin/api/v1/objects/channel_rest/hello \
//	     -d '{"service": "example.greet", "url_path": "/api/hello/{name}"}'
//	curl localhost:11223/api/hello/world
//
// main_test.go tests the services with package plexustest, as a test in
// your own module would.
package main

import (
	"fmt"
	"os"
	"strings"

	"github.com/plexushq/plexus"
	"github.com/plexushq/plexus/sdk/service"
)

// Greet answers every verb with a greeting for the name in the path.
type Greet struct{}

// Name is the service's name; without it, it would be main's "greet".
func (Greet) Name() string { return "example.greet" }

// Doc is shown by the admin API.
func (Greet) Doc() string { return "Greets whoever the path names." }

// Handle builds the greeting.
func (Greet) Handle(s *service.Context) error {
	name := s.Request.Input.String("name")
	if name == "" {
		return service.BadRequest("Element missing: name")
	}
	s.Logger().Info("greeting", "name", name)
	s.Response.Payload = map[string]any{"greeting": "Hello, " + name + "!", "cid": s.CID}
	return nil
}

// Customers answers GET and POST only; other verbs get 405 with Allow.
type Customers struct{}

func (Customers) Name() string { return "example.customers" }

// HandleGET returns a customer.
func (Customers) HandleGET(s *service.Context) error {
	id := s.Request.HTTP.Params["id"]
	if id == "404" {
		return service.NotFound("No customer %s", id)
	}
	s.Response.Payload = map[string]any{"id": id, "name": "Jane Doe"}
	return nil
}

// HandlePOST creates a customer, invoking another service on the way.
func (Customers) HandlePOST(s *service.Context) error {
	greeting, err := s.Invoke("example.greet", map[string]any{"name": s.Request.Input.String("name")})
	if err != nil {
		return err
	}
	s.Response.StatusCode = 201
	s.Response.Payload = map[string]any{"created": strings.ToLower(s.Request.Input.String("name")), "greeting": greeting}
	return nil
}

func main() {
	app := plexus.New()
	app.Register(Greet{}, Customers{})
	if code := app.Run(); code != 0 {
		fmt.Fprintln(os.Stderr, "goservice: exiting")
		os.Exit(code)
	}
}
