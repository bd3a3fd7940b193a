package pubsub

import "github.com/plexushq/plexus/sdk/service"

var errUnavailable = service.ServiceUnavailable("publish/subscribe is starting")
