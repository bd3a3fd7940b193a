package enmasse

import (
	"slices"
	"strings"

	"go.yaml.in/yaml/v4"

	"github.com/plexushq/plexus/internal/redact"
	"github.com/plexushq/plexus/internal/registry"
)

// Zato 3.2's pub/sub is endpoint-based: a pub/sub endpoint (section
// pubsub_endpoint) is a REST client (its security definition), a service
// or a WebSocket channel, with the topic patterns it may publish and
// subscribe to; its subscriptions name it with endpoint_name. Plexus's
// permissions and subscriptions hold all of that themselves: import turns
// each endpoint with a security definition and patterns into a
// pubsub_permission named after the endpoint, and gives each subscription
// of an endpoint the endpoint's delivery.

// Sections and kinds of 3.2's pub/sub.
const (
	pubsubEndpointSection = "pubsub_endpoint"
	pubsubPermissionKind  = "pubsub_permission"
	pubsubSubKind         = "pubsub_subscription"
)

// psEndpoint is one entry of a pubsub_endpoint section.
type psEndpoint struct {
	file     string
	node     *yaml.Node
	nameNode *yaml.Node
	name     string
	order    []string              // keys as written
	keys     map[string]*yaml.Node // key nodes by key
	fields   map[string]*yaml.Node // values by key
	// supported is false for endpoint types Plexus has no equivalent of.
	supported bool
}

// value returns a scalar field's value, or "" when unset.
func (e *psEndpoint) value(key string) string {
	if n := e.fields[key]; n != nil && !unset(n) && n.Kind == yaml.ScalarNode {
		return strings.TrimSpace(n.Value)
	}
	return ""
}

// security returns the node naming the endpoint's security definition
// (3.2 exports it as security_name, older files as sec_def), or nil.
func (e *psEndpoint) security() *yaml.Node {
	for _, k := range []string{"security_name", "sec_def"} {
		if n := e.fields[k]; n != nil && !unset(n) && n.Kind == yaml.ScalarNode {
			return n
		}
	}
	return nil
}

// psEndpointFields are the fields of a 3.2 endpoint that import reads or
// that say nothing Plexus needs (ids, which the names repeat).
var psEndpointFields = []string{"name", "endpoint_type", "is_active", "is_internal", "role", "topic_patterns", "security_name", "sec_def",
	"service_name", "ws_channel_name", "security_id", "service_id", "ws_channel_id", "id", "sec_type", "sec_name"}

// psSubFields are the fields of a 3.2 subscription of an endpoint that
// import reads instead of the subscription's own.
var psSubFields = []string{"endpoint_name", "endpoint_type", "delivery_method", "rest_connection", "rest_method", "out_http_method"}

// psSubRef is a subscription that names an endpoint.
type psSubRef struct {
	obj    *object
	file   string
	fields map[string]keyValue // psSubFields as written
}

// pubsubEndpoints records the endpoints of a pubsub_endpoint section.
func (p *parser) pubsubEndpoints(file string, val *yaml.Node) {
	if p.psEndpoints == nil {
		p.psEndpoints = map[string]*psEndpoint{}
	}
	for _, item := range val.Content {
		item = deref(item)
		if item == nil || item.Kind != yaml.MappingNode {
			p.problem(at(file, item, "", "", "", "section %s: expected an object, a mapping of field names to values", pubsubEndpointSection))
			continue
		}
		e := &psEndpoint{file: file, node: item, keys: map[string]*yaml.Node{}, fields: map[string]*yaml.Node{}}
		for _, kv := range p.entries(file, item, 0) {
			e.order = append(e.order, kv.key.Value)
			e.keys[kv.key.Value] = kv.key
			e.fields[kv.key.Value] = deref(kv.value)
		}
		e.nameNode = e.fields["name"]
		if e.nameNode == nil || e.nameNode.Kind != yaml.ScalarNode || unset(e.nameNode) {
			p.problem(at(file, item, pubsubEndpointSection, "", "name", "the pub/sub endpoint has no name"))
			continue
		}
		e.name = e.nameNode.Value
		if prev := p.psEndpoints[e.name]; prev != nil {
			p.problem(at(file, e.nameNode, pubsubEndpointSection, e.name, "name", "defined twice (first at %s:%d:%d)", prev.file, prev.nameNode.Line, prev.nameNode.Column))
			continue
		}
		p.psEndpoints[e.name] = e
		p.psEndpointOrder = append(p.psEndpointOrder, e)
	}
}

// endpointSubscription takes the fields of a 3.2 subscription of an
// endpoint out of its entries; the ref is nil for any other subscription.
func (p *parser) endpointSubscription(file string, entries []keyValue) ([]keyValue, *psSubRef) {
	named := false
	for _, e := range entries {
		if e.key.Value == "endpoint_name" && !unset(e.value) {
			named = true
		}
	}
	if !named {
		return entries, nil
	}
	ref := &psSubRef{file: file, fields: map[string]keyValue{}}
	kept := entries[:0:0]
	for _, e := range entries {
		if slices.Contains(psSubFields, e.key.Value) {
			ref.fields[e.key.Value] = e
		} else {
			kept = append(kept, e)
		}
	}
	return kept, ref
}

// foldPubSubEndpoints turns the endpoints into permissions and gives
// their subscriptions their delivery.
func (p *parser) foldPubSubEndpoints() {
	perm, ok := registry.Lookup(pubsubPermissionKind)
	if !ok {
		return
	}
	for _, e := range p.psEndpointOrder {
		p.endpointPermission(e, perm)
	}
	skip := map[*object]bool{}
	for _, ref := range p.psSubs {
		if !p.endpointDelivery(ref) {
			skip[ref.obj] = true
		}
	}
	if len(skip) > 0 {
		p.objects = slices.DeleteFunc(p.objects, func(o *object) bool { return skip[o] })
	}
}

// endpointPermission checks an endpoint and, when it has a security
// definition and patterns, adds its permission.
func (p *parser) endpointPermission(e *psEndpoint, perm *registry.Kind) {
	for _, key := range e.order {
		if v := e.fields[key]; !slices.Contains(psEndpointFields, key) && !emptyish(v) {
			p.warnOnce(pubsubEndpointSection+"."+key, at(e.file, e.keys[key], pubsubEndpointSection, e.name, key, "Zato field not supported by Plexus yet; ignored"), false)
		}
	}
	if n := e.fields["is_internal"]; n != nil && !emptyish(n) {
		p.warn(at(e.file, n, pubsubEndpointSection, e.name, "is_internal", "an internal endpoint is Zato's own; the endpoint and its subscriptions were skipped"))
		return
	}
	typ := e.value("endpoint_type")
	switch typ {
	case "rest", "service", "wsx":
		e.supported = true
	default:
		where := e.fields["endpoint_type"]
		if where == nil {
			where = e.nameNode
		}
		p.warn(at(e.file, where, pubsubEndpointSection, e.name, "endpoint_type",
			"endpoint type %s is not supported by Plexus (only rest, service and wsx are); the endpoint and its subscriptions were skipped", redact.Quote(typ)))
		return
	}
	pub, sub := p.topicPatterns(e)
	switch role := e.value("role"); role {
	case "pub":
		sub = nil
	case "sub":
		pub = nil
	case "", "pub-sub":
	default:
		p.warn(at(e.file, e.fields["role"], pubsubEndpointSection, e.name, "role", "role %s is none of pub, sub and pub-sub; the endpoint's patterns were not imported", redact.Quote(role)))
		return
	}
	if len(pub)+len(sub) == 0 {
		return
	}
	sec := e.security()
	switch {
	case typ == "service":
		return // services publish and subscribe without permissions in Plexus
	case sec == nil:
		msg := "the endpoint has no security definition, so its topic patterns permit no client; they were not imported"
		if typ == "wsx" {
			msg = "the endpoint has no security definition, so its topic patterns were not imported: WebSocket clients publish as their channel's security definition, which needs a pubsub_permission"
		}
		p.warn(at(e.file, e.keys["topic_patterns"], pubsubEndpointSection, e.name, "topic_patterns", "%s", msg))
		return
	}
	if a := e.fields["is_active"]; a != nil && emptyish(a) && !unset(a) {
		p.warn(at(e.file, a, pubsubEndpointSection, e.name, "is_active", "the endpoint is inactive, so its topic patterns were not imported"))
		return
	}
	obj := &object{file: e.file, kind: perm, node: e.node, name: e.name, nameNode: e.nameNode, fields: map[string]*fieldNode{}}
	p.addField(obj, "security", keyValue{key: e.keys[secKey(e)], value: sec}, secKey(e))
	list := func(field string, nodes []*yaml.Node) {
		if len(nodes) > 0 {
			n := &yaml.Node{Kind: yaml.SequenceNode, Tag: "!!seq", Content: nodes, Line: nodes[0].Line, Column: nodes[0].Column}
			p.addField(obj, field, keyValue{key: e.keys["topic_patterns"], value: n}, "topic_patterns")
		}
	}
	list("pub", pub)
	list("sub", sub)
	p.objects = append(p.objects, obj)
}

// secKey returns the key an endpoint's security definition is written as.
func secKey(e *psEndpoint) string {
	if n := e.fields["security_name"]; n != nil && !unset(n) {
		return "security_name"
	}
	return "sec_def"
}

// topicPatterns reads an endpoint's topic_patterns: lines pub=PATTERN
// and sub=PATTERN; blank lines are skipped, any other line is ignored
// with a warning, as Zato 3.2 does.
func (p *parser) topicPatterns(e *psEndpoint) (pub, sub []*yaml.Node) {
	n := e.fields["topic_patterns"]
	if n == nil || unset(n) {
		return nil, nil
	}
	if n.Kind != yaml.ScalarNode {
		p.problem(at(e.file, n, pubsubEndpointSection, e.name, "topic_patterns", "expected lines of pub=PATTERN and sub=PATTERN"))
		return nil, nil
	}
	for i, line := range strings.Split(n.Value, "\n") {
		line = strings.TrimSpace(line)
		if line == "" {
			continue
		}
		node := &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Line: n.Line + i, Column: n.Column}
		if n.Style&(yaml.LiteralStyle|yaml.FoldedStyle) != 0 {
			node.Line++ // the text starts on the line after | or >
		}
		switch {
		case strings.HasPrefix(line, "pub="):
			node.Value = strings.TrimSpace(strings.TrimPrefix(line, "pub="))
			pub = append(pub, node)
		case strings.HasPrefix(line, "sub="):
			node.Value = strings.TrimSpace(strings.TrimPrefix(line, "sub="))
			sub = append(sub, node)
		default:
			p.warn(at(e.file, node, pubsubEndpointSection, e.name, "topic_patterns", "line %s starts with neither pub= nor sub=; ignored, as Zato does", redact.Quote(line)))
		}
	}
	return pub, sub
}

// endpointDelivery gives a subscription its endpoint's delivery. It
// returns false when the subscription is to be skipped.
func (p *parser) endpointDelivery(ref *psSubRef) bool {
	obj := ref.obj
	nameKV := ref.fields["endpoint_name"]
	e := p.psEndpoints[deref(nameKV.value).Value]
	if e == nil {
		p.problem(at(obj.file, nameKV.value, obj.kind.ID, obj.name, "endpoint_name", "no pub/sub endpoint (section %s) named %s", pubsubEndpointSection, redact.Quote(deref(nameKV.value).Value)))
		return false
	}
	if !e.supported {
		p.warn(at(obj.file, nameKV.value, obj.kind.ID, obj.name, "endpoint_name", "the subscription was skipped, as its endpoint %s was", redact.Quote(e.name)))
		return false
	}
	value := func(key string) (*yaml.Node, string) {
		if kv, ok := ref.fields[key]; ok {
			if v := deref(kv.value); v != nil && v.Kind == yaml.ScalarNode && !unset(v) {
				return v, strings.TrimSpace(v.Value)
			}
		}
		return nil, ""
	}
	str := func(v string) *yaml.Node {
		return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: v, Line: nameKV.key.Line, Column: nameKV.key.Column}
	}
	set := func(field string, v *yaml.Node) {
		if _, ok := obj.fields[field]; !ok && v != nil {
			p.addField(obj, field, keyValue{key: nameKV.key, value: v}, "endpoint_name")
		}
	}
	methodNode, method := value("delivery_method")
	switch method {
	case "", "notify":
		method = "notify"
	case "pull":
	default:
		p.problem(at(obj.file, methodNode, obj.kind.ID, obj.name, "delivery_method", "delivery method %s: Zato's are notify and pull", redact.Quote(method)))
		return true
	}
	if sec := e.security(); sec != nil {
		set("security", sec)
	}
	switch typ := e.value("endpoint_type"); {
	case method == "pull" && typ == "rest":
		set("delivery_type", str("pull"))
		if e.security() == nil {
			p.problem(at(obj.file, nameKV.value, obj.kind.ID, obj.name, "endpoint_name", "a pull subscription needs its endpoint's security definition, and endpoint %s has none", redact.Quote(e.name)))
		}
	case method == "pull":
		p.warn(at(obj.file, methodNode, obj.kind.ID, obj.name, "delivery_method", "the subscription was skipped: only the subscriptions of REST endpoints pull, and endpoint %s is of type %s", redact.Quote(e.name), typ))
		return false
	case typ == "service":
		set("delivery_type", str("push"))
		set("push_type", str("service"))
		set("push_service", e.fields["service_name"])
		if e.value("service_name") == "" {
			p.problem(at(e.file, e.nameNode, pubsubEndpointSection, e.name, "service_name", "a service endpoint needs its service_name"))
		}
	case typ == "rest":
		conn, _ := value("rest_connection")
		if conn == nil {
			p.problem(at(obj.file, nameKV.key, obj.kind.ID, obj.name, "rest_connection", "a notify subscription of REST endpoint %s needs rest_connection, the outgoing REST connection to POST each message to", redact.Quote(e.name)))
			return true
		}
		set("delivery_type", str("push"))
		set("push_type", str("rest"))
		set("push_rest_endpoint", conn)
		for _, k := range []string{"rest_method", "out_http_method"} {
			if n, m := value(k); n != nil && !strings.EqualFold(m, "POST") {
				p.warn(at(obj.file, n, obj.kind.ID, obj.name, k, "Plexus POSTs each message; method %s ignored", redact.Quote(m)))
			}
		}
	case typ == "wsx":
		channel := e.fields["ws_channel_name"]
		if e.value("ws_channel_name") == "" {
			p.warn(at(obj.file, nameKV.value, obj.kind.ID, obj.name, "endpoint_name", "the subscription was skipped: WebSocket endpoint %s names no ws_channel_name to push to", redact.Quote(e.name)))
			return false
		}
		set("delivery_type", str("push"))
		set("push_type", str("wsx"))
		set("push_target", channel)
	}
	return true
}
