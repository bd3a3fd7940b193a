package porter

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"testing"

	"github.com/plexushq/plexus/internal/config"
	_ "github.com/plexushq/plexus/internal/server" // registers every kind
	"github.com/plexushq/plexus/internal/starlark"
	"github.com/plexushq/plexus/sdk/service"
)

// run calls a ported service's handle with an empty request and returns
// its payload, each key's value as JSON.
func run(t *testing.T, f File) map[string]string {
	t.Helper()
	comp := starlark.New(config.Default().Starlark, slog.New(slog.NewTextHandler(io.Discard, nil)))
	svcs, _, err := comp.Compile(f.Name, []byte(f.Source))
	if err != nil {
		t.Fatal(err)
	}
	c := service.NewContext(context.Background(), nopPlatform{})
	c.Name = f.Service
	c.Request.Payload = map[string]any{}
	if err := svcs[0].Run(c, ""); err != nil {
		t.Fatalf("%v\n%s", err, f.Source)
	}
	out := map[string]string{}
	m, _ := c.Response.Payload.(map[string]any)
	for k, v := range m {
		data, _ := json.Marshal(v)
		out[k] = string(data)
	}
	return out
}

type nopPlatform struct{}

func (nopPlatform) Invoke(*service.Context, string, any, service.InvokeOptions) (any, error) {
	return nil, nil
}
func (nopPlatform) InvokeAsync(*service.Context, string, any, service.InvokeOptions) (string, error) {
	return "", nil
}
func (nopPlatform) Logger(*service.Context) *slog.Logger {
	return slog.New(slog.NewTextHandler(io.Discard, nil))
}
func (nopPlatform) Resource(*service.Context, string, string) (any, error) { return nil, nil }
