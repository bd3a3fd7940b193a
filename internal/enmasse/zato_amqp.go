package enmasse

import (
	"net"
	"strings"

	"go.yaml.in/yaml/v4"

	"github.com/plexushq/plexus/internal/redact"
)

// Zato 3.2 kept an AMQP broker's address and credentials in a definition
// (section def_amqp) that channels and outgoing connections named with
// def_name. Plexus's AMQP objects hold their broker themselves: import
// folds the definition into each object that names it.

// amqpDefSection is Zato 3.2's section of AMQP definitions.
const amqpDefSection = "def_amqp"

// foldsAMQPDefinition reports whether objects of a kind take a 3.2 AMQP
// definition's broker.
func foldsAMQPDefinition(kind string) bool {
	return kind == "channel_amqp" || kind == "outgoing_amqp"
}

// amqpDefRef is an object that names a definition.
type amqpDefRef struct {
	obj  *object
	node *yaml.Node // the def_name value
}

// amqpDefinitions records the definitions of a def_amqp section.
func (p *parser) amqpDefinitions(file string, val *yaml.Node) {
	if p.amqpDefs == nil {
		p.amqpDefs = map[string][]keyValue{}
	}
	for _, item := range val.Content {
		item = deref(item)
		if item == nil || item.Kind != yaml.MappingNode {
			p.problem(at(file, item, "", "", "", "section %s: expected an object, a mapping of field names to values", amqpDefSection))
			continue
		}
		entries := p.entries(file, item, 0)
		for _, e := range entries {
			if e.key.Value == "name" {
				if v := deref(e.value); v != nil {
					p.amqpDefs[v.Value] = entries
				}
			}
		}
	}
}

// foldAMQPDefinitions gives each object that names a definition the
// definition's broker: its address (amqp://host:port/vhost), username,
// password and heartbeat, unless the object sets them itself; and turns
// 3.2's numeric delivery modes into their names.
func (p *parser) foldAMQPDefinitions() {
	for _, ref := range p.amqpRefs {
		obj := ref.obj
		def, ok := p.amqpDefs[ref.node.Value]
		if !ok {
			p.problem(at(obj.file, ref.node, obj.kind.ID, obj.name, "def_name", "no AMQP definition (section %s) named %s", amqpDefSection, redact.Quote(ref.node.Value)))
			continue
		}
		fields := map[string]*yaml.Node{}
		for _, e := range def {
			fields[e.key.Value] = deref(e.value)
		}
		value := func(k, def string) string {
			if n := fields[k]; n != nil && n.Kind == yaml.ScalarNode && n.Value != "" && !isNull(n) {
				return n.Value
			}
			return def
		}
		vhost := strings.TrimPrefix(value("vhost", "/"), "/")
		address := "amqp://" + net.JoinHostPort(value("host", "localhost"), value("port", "5672")) + "/" + vhost
		key := &yaml.Node{Kind: yaml.ScalarNode, Value: "def_name", Line: ref.node.Line, Column: ref.node.Column}
		add := func(field string, v *yaml.Node) {
			if _, set := obj.fields[field]; !set && v != nil && !isNull(v) {
				p.addField(obj, field, keyValue{key: key, value: v}, "def_name")
			}
		}
		add("address", &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: address, Line: ref.node.Line, Column: ref.node.Column})
		add("username", fields["username"])
		add("password", fields["password"])
		add("heartbeat", fields["heartbeat"])
		if f, ok := obj.fields["delivery_mode"]; ok {
			if v := deref(f.value); v != nil {
				switch v.Value {
				case "1":
					f.value = &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: "non_persistent", Line: v.Line, Column: v.Column}
				case "2":
					f.value = &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: "persistent", Line: v.Line, Column: v.Column}
				}
			}
		}
	}
}
