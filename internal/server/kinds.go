package server

// The kinds a server runs: each package declares its kinds and registers
// them from its init, and one line here links it into the server.
import (
	_ "github.com/plexushq/plexus/internal/amqp"
	_ "github.com/plexushq/plexus/internal/cache"
	_ "github.com/plexushq/plexus/internal/channel/rest"
	_ "github.com/plexushq/plexus/internal/kafka"
	_ "github.com/plexushq/plexus/internal/mongodb"
	_ "github.com/plexushq/plexus/internal/mqtt"
	_ "github.com/plexushq/plexus/internal/nats"
	_ "github.com/plexushq/plexus/internal/outconn/rest"
	_ "github.com/plexushq/plexus/internal/pubsub"
	_ "github.com/plexushq/plexus/internal/pubsub/amqpbackend"
	_ "github.com/plexushq/plexus/internal/pubsub/natsbackend"
	_ "github.com/plexushq/plexus/internal/redis"
	_ "github.com/plexushq/plexus/internal/scheduler"
	_ "github.com/plexushq/plexus/internal/security"
	_ "github.com/plexushq/plexus/internal/serviceio"
	_ "github.com/plexushq/plexus/internal/sqlconn"
	_ "github.com/plexushq/plexus/internal/wsx"
)
