// Command server is the Plexus program the load benchmark runs: plexus,
// as cmd/plexus builds it, plus the Go services of the benchmark's
// scenarios, registered through the library face as a user's program
// registers its own.
package main

import (
	"encoding/json"
	"os"

	"github.com/plexushq/plexus"
	"github.com/plexushq/plexus/sdk/service"
)

// Proxy answers with what the outgoing REST connection "Backend" answers:
// channel → Go service → outgoing REST → backend, the proxy scenario.
type Proxy struct{}

// Name is the service's name.
func (Proxy) Name() string { return "bench.proxy" }

// Handle calls the backend and returns its JSON as it is.
func (Proxy) Handle(s *service.Context) error {
	resp, err := s.Out().REST("Backend").Get(s.CID, nil)
	if err != nil {
		return err
	}
	s.Response.StatusCode = resp.StatusCode
	s.Response.Payload = json.RawMessage(resp.Body)
	return nil
}

// TypedEcho declares ten elements of mixed types and returns its input:
// the typed-echo scenario, measured against the untyped echo.
type TypedEcho struct{}

// Name is the service's name.
func (TypedEcho) Name() string { return "bench.typed-echo" }

// SimpleIO declares the elements, required on input and output.
func (TypedEcho) SimpleIO() service.SimpleIO {
	elems := []service.Elem{
		service.Int("cust_id"), service.Text("name"), service.Bool("is_active"), service.Float("score"),
		service.Int("item_count"), service.Text("region"), service.Date("since"), service.Text("email"),
		service.Decimal("balance"), service.UUID("ref"),
	}
	return service.SimpleIO{InputRequired: elems, OutputRequired: elems}
}

// Handle returns the converted input.
func (TypedEcho) Handle(s *service.Context) error {
	s.Response.Payload = map[string]any(s.Request.Input)
	return nil
}

func main() {
	os.Exit(plexus.New().Register(Proxy{}, TypedEcho{}).Run())
}
