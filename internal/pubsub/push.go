package pubsub

import (
	"context"
	"fmt"
	"sync"

	"github.com/plexushq/plexus/internal/registry"
)

// Push is one delivery of a message to a target registered with
// RegisterPushTarget.
type Push struct {
	// State is the configuration current at the delivery: a target finds
	// its running forms in it (a WebSocket channel's clients).
	State registry.State
	// Subscription is the subscription delivered for; its PushTarget
	// names the destination within the target's type.
	Subscription *SubscriptionConfig
	// Message is the message, its payload included.
	Message *Message
}

// PushTarget delivers messages to a kind of destination the package does
// not know itself, such as WebSocket clients (push_type wsx). Deliver
// returns once the destination has the message; an error (no client is
// connected, say) is a failed attempt, retried with the subscription's
// back-off. It is called from the subscription's worker, one message at a
// time, and must honour ctx.
type PushTarget interface {
	Deliver(ctx context.Context, p *Push) error
}

// PushTargetFunc is a function that is a PushTarget.
type PushTargetFunc func(ctx context.Context, p *Push) error

// Deliver calls f.
func (f PushTargetFunc) Deliver(ctx context.Context, p *Push) error { return f(ctx, p) }

var (
	targetsMu sync.RWMutex
	targets   = map[string]PushTarget{}
)

// RegisterPushTarget makes t the target of the subscriptions whose
// push_type is pushType (such as PushWSX); call it from the package's
// init. It panics on a type registered twice or one of the package's own
// (service, rest).
func RegisterPushTarget(pushType string, t PushTarget) {
	targetsMu.Lock()
	defer targetsMu.Unlock()
	if pushType == PushService || pushType == PushREST || pushType == "" {
		panic(fmt.Sprintf("pubsub: push type %q is built in", pushType))
	}
	if _, dup := targets[pushType]; dup {
		panic(fmt.Sprintf("pubsub: push target %q registered twice", pushType))
	}
	targets[pushType] = t
}

// pushTarget returns the target registered for a push type.
func pushTarget(pushType string) (PushTarget, bool) {
	targetsMu.RLock()
	defer targetsMu.RUnlock()
	t, ok := targets[pushType]
	return t, ok
}
