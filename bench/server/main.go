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

func main() {
	os.Exit(plexus.New().Register(Proxy{}).Run())
}
