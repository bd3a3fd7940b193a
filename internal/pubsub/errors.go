package pubsub

import (
	"net/http"

	"github.com/plexushq/plexus/sdk/service"
)

var errNotStarted = service.ServiceUnavailable("Publish/subscribe is not available: the server is starting or stopping")

func notFound(msg string) error { return service.NotFound("%s", msg) }

func badRequest(format string, args ...any) error { return service.BadRequest(format, args...) }

// errFull answers a publish to a topic holding max_depth messages.
func errFull(topic string, depth int64) error {
	return service.NewError(http.StatusServiceUnavailable, "Topic %s holds %d messages waiting for delivery, its max_depth: publish again once subscribers have caught up, or raise max_depth", topic, depth)
}
