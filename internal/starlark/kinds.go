package starlark

import (
	"fmt"

	sl "go.starlark.net/starlark"

	"github.com/plexushq/plexus/internal/registry"
	"github.com/plexushq/plexus/sdk/service"
)

// provideKinds adds what the registered kinds declare to every service's
// self: self.out.<section> for each kind with an Out section, and each
// kind's Self attributes.
func (comp *Compiler) provideKinds() {
	for _, k := range registry.All() {
		if k.Out != nil && k.Out.Section != "" {
			section := func(c *service.Context) (sl.Value, error) {
				return &outSection{c: c, kind: k, seen: map[string]sl.Value{}}, nil
			}
			comp.Provide("out."+k.Out.Section, section)
			if alias := outAliases[k.Out.Section]; alias != "" {
				comp.Provide("out."+alias, section)
			}
		}
		for path, fn := range k.Self {
			comp.Provide(path, AttrFunc(fn))
		}
	}
}

// outAliases are Zato's names of self.out's sections, by Plexus's name:
// Zato code's self.out.plain_http["CRM"] is self.out.rest["CRM"].
var outAliases = map[string]string{"rest": "plain_http"}

// outSection is self.out.<section>: the objects of one kind by name.
// Indexing one resolves it in the configuration current at that moment; a
// missing or unusable one is an error that names it, and
// `"Billing" in self.out.rest` tells whether one can be used. A name
// resolved once keeps its value for the rest of the invocation.
type outSection struct {
	c    *service.Context
	kind *registry.Kind
	seen map[string]sl.Value
}

var _ sl.Mapping = (*outSection)(nil)

func (o *outSection) String() string        { return "<out." + o.kind.Out.Section + ">" }
func (o *outSection) Type() string          { return "out." + o.kind.Out.Section }
func (o *outSection) Freeze()               {}
func (o *outSection) Truth() sl.Bool        { return sl.True }
func (o *outSection) Hash() (uint32, error) { return 0, fmt.Errorf("unhashable: %s", o.Type()) }

func (o *outSection) Get(k sl.Value) (sl.Value, bool, error) {
	name, ok := k.(sl.String)
	if !ok {
		return nil, false, fmt.Errorf("%s: connection names are strings, not %s", o.Type(), k.Type())
	}
	if v, ok := o.seen[string(name)]; ok {
		return v, true, nil
	}
	res, err := o.c.Platform().Resource(o.c, o.kind.ID, string(name))
	if err != nil {
		return nil, false, err
	}
	v, err := o.kind.Out.Starlark(o.c, string(name), res)
	if err != nil {
		return nil, false, err
	}
	o.seen[string(name)] = v
	return v, true, nil
}
