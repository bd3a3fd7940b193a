// Package builtin holds the services every server runs (plexus.ping and
// the plexus.helpers.* family) and the demo services of the quickstart,
// which mirror the examples users read first.
package builtin

import (
	"github.com/plexushq/plexus/sdk/service"
)

// Services returns the built-in services (plexus.*) followed by the demo
// services (demo.*).
func Services() []any {
	return append([]any{
		service.Func("plexus.ping", "Answers {\"is_ok\": true, \"cid\": <cid>}: a liveness check that goes through the whole pipeline.", ping),
		service.Func("plexus.helpers.echo", "Returns its input: the JSON object it received merged with path and query parameters, or the payload itself when it is not an object.", echo),
		service.Func("plexus.helpers.input-logger", "Logs its input at INFO level and returns nothing.", inputLogger),
	}, demos()...)
}

func ping(s *service.Context) error {
	s.Response.Payload = map[string]any{"is_ok": true, "cid": s.CID}
	return nil
}

func echo(s *service.Context) error {
	if _, isMap := s.Request.Payload.(map[string]any); isMap || len(s.Request.Input) > 0 {
		s.Response.Payload = map[string]any(s.Request.Input)
		return nil
	}
	s.Response.Payload = s.Request.Payload
	return nil
}

func inputLogger(s *service.Context) error {
	var input any = map[string]any(s.Request.Input)
	if len(s.Request.Input) == 0 {
		input = s.Request.Payload
	}
	s.Logger().Info("input received", "input", input)
	return nil
}
