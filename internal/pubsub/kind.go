package pubsub

import (
	"fmt"
	"strings"
	"sync/atomic"
	"time"

	"github.com/plexushq/plexus/internal/config"
	"github.com/plexushq/plexus/internal/registry"
)

func init() {
	registry.Register(registry.Kind{
		ID: KindTopic, Title: "Pub/sub topic", Order: 70,
		Summary: "A named stream of messages that publishers send to and subscriptions receive, durably, in order of priority then publication.",
		ZatoFields: map[string]string{
			"max_depth_gd": "max_depth", "has_gd": registry.ZatoUnsupported, "max_depth_non_gd": registry.ZatoUnsupported,
			"depth_check_freq": registry.ZatoUnsupported, "is_api_sub_allowed": registry.ZatoUnsupported, "is_internal": registry.ZatoUnsupported,
			"on_no_subs_pub": registry.ZatoUnsupported, "task_delivery_interval": registry.ZatoUnsupported, "task_sync_interval": registry.ZatoUnsupported,
			"hook_service_name": registry.ZatoUnsupported, "pub_buffer_size_gd": registry.ZatoUnsupported, "backend_type": registry.ZatoUnsupported,
			"limit_retention": registry.ZatoUnsupported, "limit_message_expiry": registry.ZatoUnsupported, "limit_sub_inactivity": registry.ZatoUnsupported,
			"id": registry.ZatoUnsupported,
		},
		New: func() registry.Object {
			return &TopicConfig{IsActive: true, MaxDepth: defaultMaxDepth, DefaultExpiration: config.Duration(DefaultExpiration), Backend: BackendStore}
		},
		Examples: []string{`{"name": "orders.new", "description": "Orders as they are placed"}`, `{"name": "prices", "max_depth": 1000, "default_expiration": "1h"}`},
		Check:    checkTopics,
		Assemble: assembleTopics,
		Actions:  topicActions(),
	})
	registry.Register(registry.Kind{
		ID: KindPermission, Title: "Pub/sub permission", Order: 71,
		Summary:    "Lets the clients of a security definition publish to, and subscribe to, the topics whose names match its patterns.",
		ZatoName:   "security",
		ZatoFields: map[string]string{"id": registry.ZatoUnsupported},
		New:        func() registry.Object { return &PermissionConfig{} },
		Examples:   []string{`{"name": "orders.client", "security": "orders.client", "pub": ["orders.*"], "sub": ["orders.**"]}`},
		Assemble:   assemblePermissions,
	})
	registry.Register(registry.Kind{
		ID: KindSubscription, Title: "Pub/sub subscription", Order: 72,
		Summary:  "A subscriber's queue of the messages of some topics, pushed to a service, an outgoing REST connection or a WebSocket client, or pulled over REST.",
		ZatoName: "security",
		ZatoFields: map[string]string{
			"topic_list": "topics", "push_service_name": "push_service", "sub_key": registry.ZatoUnsupported, "id": registry.ZatoUnsupported,
			"rest_push_endpoint_id": registry.ZatoUnsupported,
		},
		New: func() registry.Object {
			return &SubscriptionConfig{DeliveryType: DeliveryPull, PushType: PushService, IsDeliveryActive: true, IsPubActive: true,
				Ack: AckAuto, VisibilityTimeout: config.Duration(30 * time.Second), MaxRetryTime: config.Duration(30 * 24 * time.Hour),
				RetryInitial: config.Duration(3 * time.Second), RetryMax: config.Duration(10 * time.Second), BatchSize: 100}
		},
		Examples: []string{
			`{"name": "billing.orders", "security": "billing", "topics": ["orders.new"], "delivery_type": "push", "push_type": "service", "push_service": "billing.take-order"}`,
			`{"name": "shop.orders", "security": "shop", "topics": ["orders.new"], "ack": "explicit"}`,
			`{"name": "crm.orders", "topics": ["orders.new"], "delivery_type": "push", "push_type": "rest", "push_rest_endpoint": "crm.webhook"}`,
		},
		Actions:    subscriptionActions(),
		Check:      checkSubscriptions,
		Assemble:   assembleSubscriptions,
		Provision:  provisionSubscription,
		Update:     updateSubscription,
		Resources:  map[string]func(registry.State, string) (any, error){resourcePubSub: resolveEngine},
		Self:       selfAttrs,
		Collectors: collectors,
	})
}

// defaultMaxDepth is a topic's max_depth unless set.
const defaultMaxDepth = 100_000

// Validate checks the name under Zato's rules.
func (c *TopicConfig) Validate() []error {
	if err := CheckTopicName(c.Name); err != nil {
		return []error{registry.FieldProblem("name", "%s", err)}
	}
	if field, conn := c.connectionField(); field != "" && conn == "" {
		return []error{registry.FieldProblem(field, "backend %s needs the connection that reaches it", c.Backend)}
	}
	return nil
}

// checkTopics refuses names that differ only in case: topics are
// case-insensitive.
func checkTopics(objs []registry.Object) []error {
	seen := map[string]string{}
	var errs []error
	for _, o := range objs {
		n := o.(*TopicConfig).Name
		if other, dup := seen[strings.ToLower(n)]; dup {
			errs = append(errs, registry.FieldProblem("name", "topics %q and %q differ only in case; topic names are case-insensitive", other, n))
		}
		seen[strings.ToLower(n)] = n
	}
	return errs
}

// topicIndex is the topics by lower-cased name.
type topicIndex struct{ byName map[string]*TopicConfig }

func assembleTopics(_ *registry.Env, entries []registry.Entry) (any, error) {
	ix := &topicIndex{byName: map[string]*TopicConfig{}}
	for _, e := range entries {
		c := e.Object.(*TopicConfig)
		ix.byName[strings.ToLower(c.Name)] = c
	}
	return ix, nil
}

// Validate checks the patterns.
func (c *PermissionConfig) Validate() []error {
	var errs []error
	for field, list := range map[string][]string{"pub": c.Pub, "sub": c.Sub} {
		for _, p := range list {
			if err := CheckPattern(p); err != nil {
				errs = append(errs, registry.FieldProblem(field, "pattern %q: %v; a pattern is a topic name of at most %d characters without '#', with * and ** segments, or a Zato 3.2 pattern starting with '/'", p, err, MaxTopicName))
			}
		}
	}
	return errs
}

// permissions are each security definition's matchers.
type permissions struct{ pub, sub map[string]*Matcher }

func assemblePermissions(_ *registry.Env, entries []registry.Entry) (any, error) {
	pubs, subs := map[string][]string{}, map[string][]string{}
	for _, e := range entries {
		c := e.Object.(*PermissionConfig)
		pubs[c.Security] = append(pubs[c.Security], c.Pub...)
		subs[c.Security] = append(subs[c.Security], c.Sub...)
	}
	p := &permissions{pub: map[string]*Matcher{}, sub: map[string]*Matcher{}}
	for s, l := range pubs {
		p.pub[s] = NewMatcher(l)
	}
	for s, l := range subs {
		p.sub[s] = NewMatcher(l)
	}
	return p, nil
}

// pushType returns how a push subscription delivers: its push_type, or
// rest when only push_rest_endpoint is set (as Zato's files say it).
func (c *SubscriptionConfig) pushType() string {
	if c.PushType == PushService && c.PushService == "" && c.PushRESTEndpoint != "" {
		return PushREST
	}
	return c.PushType
}

// Validate checks that the delivery has what it needs.
func (c *SubscriptionConfig) Validate() []error {
	var errs []error
	if strings.HasPrefix(c.Name, serviceTopicPrefix) {
		errs = append(errs, registry.FieldProblem("name", "names starting with %q are reserved", serviceTopicPrefix))
	}
	if c.RetryMax < c.RetryInitial {
		errs = append(errs, registry.FieldProblem("retry_max", "must not be shorter than retry_initial"))
	}
	if c.DeliveryType == DeliveryPull {
		if c.Security == "" {
			errs = append(errs, registry.FieldProblem("security", "a pull subscription needs the security definition its clients sign in with"))
		}
		return errs
	}
	switch c.pushType() {
	case PushService:
		if c.PushService == "" {
			errs = append(errs, registry.FieldProblem("push_service", "push_type service needs the service to invoke"))
		}
	case PushREST:
		if c.PushRESTEndpoint == "" {
			errs = append(errs, registry.FieldProblem("push_rest_endpoint", "push_type rest needs the outgoing REST connection to POST to"))
		}
	default:
		// Whether the server has the push type's target is the worker's
		// to report, so that a file imports into any server.
		if c.PushTarget == "" {
			errs = append(errs, registry.FieldProblem("push_target", "push_type %s needs the target to deliver to", c.PushType))
		}
	}
	return errs
}

// checkSubscriptions keeps the push workers bounded, and one pull
// subscription per security definition (the one its clients pull from).
func checkSubscriptions(objs []registry.Object) []error {
	push, pull := 0, map[string]string{}
	var errs []error
	for _, o := range objs {
		c := o.(*SubscriptionConfig)
		if c.DeliveryType == DeliveryPush {
			push++
			continue
		}
		if other, dup := pull[c.Security]; dup {
			errs = append(errs, registry.FieldProblem("security", "subscriptions %q and %q both pull for security definition %q; its clients pull from one subscription: list every topic in it", other, c.Name, c.Security))
		}
		pull[c.Security] = c.Name
	}
	if push > MaxPushWorkers {
		errs = append(errs, registry.FieldProblem("delivery_type", "a server delivers for at most %d push subscriptions, not %d", MaxPushWorkers, push))
	}
	return errs
}

// subIndex is the subscriptions by lower-cased topic and by security
// definition (pull ones).
type subIndex struct {
	byTopic map[string][]*SubscriptionConfig
	pull    map[string]*SubscriptionConfig
}

func assembleSubscriptions(_ *registry.Env, entries []registry.Entry) (any, error) {
	ix := &subIndex{byTopic: map[string][]*SubscriptionConfig{}, pull: map[string]*SubscriptionConfig{}}
	for _, e := range entries {
		c := e.Object.(*SubscriptionConfig)
		for _, t := range c.Topics {
			ix.byTopic[strings.ToLower(t)] = append(ix.byTopic[strings.ToLower(t)], c)
		}
		if c.DeliveryType == DeliveryPull {
			ix.pull[c.Security] = c
		}
	}
	return ix, nil
}

// subscription is a subscription's running form: its configuration,
// which updates replace, and for push its delivery, run by Run.
type subscription struct {
	cfg atomic.Pointer[SubscriptionConfig]
	e   *Engine
}

func provisionSubscription(env *registry.Env, obj registry.Object) (any, error) {
	s := &subscription{}
	s.cfg.Store(obj.(*SubscriptionConfig))
	s.e, _ = registry.Subsystem[*Engine](env)
	if s.e == nil {
		return s, nil
	}
	s.e.metricsFrom(env)
	if obj.(*SubscriptionConfig).DeliveryType == DeliveryPush {
		return &pusher{subscription: s}, nil
	}
	return s, nil
}

// updateSubscription takes a change that keeps the delivery type in
// place: the worker goes on with the new settings.
func updateSubscription(_ *registry.Env, running any, old, obj registry.Object) func() {
	o, n := old.(*SubscriptionConfig), obj.(*SubscriptionConfig)
	if o.Name != n.Name || o.DeliveryType != n.DeliveryType {
		return nil
	}
	var s *subscription
	switch r := running.(type) {
	case *pusher:
		s = r.subscription
	case *subscription:
		s = r
	}
	if s == nil {
		return nil
	}
	return func() { s.cfg.Store(n) }
}

// state helpers -----------------------------------------------------------

// assembled is what a state gives of the kinds' running wholes
// (*live.State does).
type assembled interface{ Assembled(kind string) any }

func topicOf(st registry.State, name string) (*TopicConfig, bool) {
	if a, ok := st.(assembled); ok {
		if ix, ok := a.Assembled(KindTopic).(*topicIndex); ok {
			c, ok := ix.byName[strings.ToLower(name)]
			return c, ok
		}
	}
	return nil, false
}

func subsOfTopic(st registry.State, topic string) []*SubscriptionConfig {
	if a, ok := st.(assembled); ok {
		if ix, ok := a.Assembled(KindSubscription).(*subIndex); ok {
			return ix.byTopic[strings.ToLower(topic)]
		}
	}
	return nil
}

func pullSubOf(st registry.State, security string) (*SubscriptionConfig, bool) {
	if a, ok := st.(assembled); ok {
		if ix, ok := a.Assembled(KindSubscription).(*subIndex); ok {
			c, ok := ix.pull[security]
			return c, ok
		}
	}
	return nil, false
}

func permissionsOf(st registry.State) *permissions {
	if a, ok := st.(assembled); ok {
		if p, ok := a.Assembled(KindPermission).(*permissions); ok {
			return p
		}
	}
	return &permissions{}
}

func subscriptionOf(st registry.State, name string) (*SubscriptionConfig, error) {
	o, ok := st.Object(KindSubscription, name)
	if !ok {
		msg := fmt.Sprintf("no subscription named %q", name)
		if s := registry.Suggest(name, st.Names(KindSubscription)); s != "" {
			msg += fmt.Sprintf("; did you mean %q?", s)
		}
		return nil, notFound(msg)
	}
	return o.(*SubscriptionConfig), nil
}
