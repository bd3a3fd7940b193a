// Command plexus is the Plexus server and command line.
package main

import (
	"os"

	"github.com/plexushq/plexus"
)

func main() {
	os.Exit(plexus.New().Run())
}
