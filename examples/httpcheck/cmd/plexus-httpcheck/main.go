// Command plexus-httpcheck is the plexus command with one more kind of
// configuration object, http_check, declared by package httpcheck:
//
//	PLEXUS_ADMIN_PASSWORD=change-me-now go run ./examples/httpcheck/cmd/plexus-httpcheck quickstart
//
// then, in another terminal:
//
//	curl -u admin:change-me-now -X PUT localhost:11224/admin/api/v1/objects/http_check/plexus \
//	     -d '{"url": "http://127.0.0.1:11223/health"}'
//	PLEXUS_ADMIN_PASSWORD=change-me-now go run ./examples/httpcheck/cmd/plexus-httpcheck ping http_check plexus --server http://127.0.0.1:11224
package main

import (
	"os"

	"github.com/plexushq/plexus"

	_ "github.com/plexushq/plexus/examples/httpcheck" // registers kind http_check
)

func main() { os.Exit(plexus.New().Run()) }
