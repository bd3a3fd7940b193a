// Package plexus is the library face of the Plexus integration platform:
// a program registers its Go services and runs the plexus command line,
// which then starts servers that include them.
//
//	func main() {
//		app := plexus.New()
//		app.Register(&billing.GetCustomer{}, &billing.SetInvoice{})
//		os.Exit(app.Run())
//	}
//
// The program then has every plexus command: myapp quickstart,
// myapp start DIR, myapp invoke NAME, and so on.
package plexus

import (
	"context"
	"os"

	"github.com/plexushq/plexus/internal/cli"
)

// App is a Plexus program.
type App struct {
	services []any
}

// New returns an App with the built-in services only.
func New() *App { return &App{} }

// Register adds Go services: values with a Handle(*service.Context) error
// method or HandleVERB methods (see package service). A malformed service
// is reported when the server starts.
func (a *App) Register(services ...any) *App {
	a.services = append(a.services, services...)
	return a
}

// Run runs the command line in os.Args and returns the exit code.
func (a *App) Run() int {
	return a.RunArgs(context.Background(), os.Args[1:])
}

// RunArgs runs a command line and returns the exit code.
func (a *App) RunArgs(ctx context.Context, args []string) int {
	c := &cli.App{Services: a.services}
	return c.Main(ctx, args)
}
