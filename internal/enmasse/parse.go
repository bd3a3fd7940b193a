package enmasse

import (
	"bytes"
	"cmp"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"reflect"
	"slices"
	"strings"

	"go.yaml.in/yaml/v4"

	"github.com/plexushq/plexus/internal/redact"
	"github.com/plexushq/plexus/internal/registry"
)

// Input is what an import reads: the root files and a way to read them and
// the files they include.
type Input struct {
	// Roots are the files to import, in order.
	Roots []string
	// Read returns a file's content by name. Names are slash-separated;
	// an include is resolved against the directory of the file that
	// includes it.
	Read func(name string) ([]byte, error)
}

// FileInput reads the files at paths, and what they include, from the
// file system.
func FileInput(paths ...string) Input {
	roots := make([]string, len(paths))
	for i, p := range paths {
		roots[i] = filepath.ToSlash(filepath.Clean(p))
	}
	return Input{Roots: roots, Read: func(name string) ([]byte, error) {
		return os.ReadFile(filepath.FromSlash(name))
	}}
}

// IncludeKey is the top-level key that lists other files to import first.
const IncludeKey = "include"

// resolveInclude returns the name of the file an include names: an
// absolute path as is, a relative one against the including file's
// directory.
func resolveInclude(from, include string) string {
	include = filepath.ToSlash(include)
	if path.IsAbs(include) || filepath.IsAbs(filepath.FromSlash(include)) {
		return path.Clean(include)
	}
	return path.Join(path.Dir(from), include)
}

// object is one configuration object of a file.
type object struct {
	file     string
	kind     *registry.Kind
	node     *yaml.Node // the object's mapping
	name     string
	nameNode *yaml.Node
	fields   map[string]*fieldNode // by Plexus field name (or as written, when unknown)
	order    []string
}

// fieldNode is one field of an object as written.
type fieldNode struct {
	key, value *yaml.Node
	// zato is the Zato name the field was written as, or "".
	zato string
}

// keyValue is one entry of a YAML mapping.
type keyValue struct {
	key, value *yaml.Node
}

// use counts the objects that used something a warning is about.
type use struct {
	first   *registry.Problem
	count   int
	section bool // about a section rather than a field
}

// parser reads the files of one import.
type parser struct {
	in     Input
	lookup func(string) (string, bool)

	files    []string
	seen     map[string]bool
	stack    []string
	objects  []*object
	problems []*registry.Problem
	warnings []*registry.Problem
	warned   map[string]bool
	// unsupported counts the objects using each Zato field or section
	// Plexus does not support, so each gets one warning.
	unsupported map[string]*use
	unsupOrder  []string
	missing     map[string]bool
	// covered are fields (kind, name, field) whose problems another
	// problem already explains.
	covered map[[3]string]bool
	// nodes counts the values visited, against the bytes read and the
	// expansion allowance.
	nodes, bytes int
	exhausted    bool
	// amqpDefs are Zato 3.2's AMQP definitions by name, and amqpRefs the
	// objects that name one (see foldAMQPDefinitions).
	amqpDefs map[string][]keyValue
	amqpRefs []amqpDefRef
	// psEndpoints are Zato 3.2's pub/sub endpoints by name, and psSubs
	// the subscriptions that name one (see foldPubSubEndpoints).
	psEndpoints     map[string]*psEndpoint
	psEndpointOrder []*psEndpoint
	psSubs          []*psSubRef
}

func newParser(in Input, lookup func(string) (string, bool)) *parser {
	if lookup == nil {
		lookup = func(string) (string, bool) { return "", false }
	}
	return &parser{in: in, lookup: lookup, seen: map[string]bool{}, unsupported: map[string]*use{}, missing: map[string]bool{}, covered: map[[3]string]bool{}, warned: map[string]bool{}}
}

// at returns a problem placed at a node of a file.
func at(file string, n *yaml.Node, kind, name, field, format string, args ...any) *registry.Problem {
	p := &registry.Problem{File: file, Kind: kind, Name: name, Field: field, Message: fmt.Sprintf(format, args...)}
	if n != nil {
		p.Line, p.Column = n.Line, n.Column
	}
	return p
}

func (p *parser) problem(pr *registry.Problem) { p.problems = append(p.problems, pr) }

// warn records a warning once, however often its node is read (through
// aliases, say).
func (p *parser) warn(pr *registry.Problem) {
	key := pr.Error()
	if !p.warned[key] {
		p.warned[key] = true
		p.warnings = append(p.warnings, pr)
	}
}

// warnOnce records one warning per key, counting the objects it is about.
func (p *parser) warnOnce(key string, pr *registry.Problem, section bool) {
	u, ok := p.unsupported[key]
	if !ok {
		u = &use{first: pr, section: section}
		p.unsupported[key] = u
		p.unsupOrder = append(p.unsupOrder, key)
	}
	u.count++
}

// flushWarnings turns the counted warnings into warnings.
func (p *parser) flushWarnings() {
	for _, key := range p.unsupOrder {
		u := p.unsupported[key]
		switch {
		case u.section && u.count == 1:
			u.first.Message += " (1 object)"
		case u.section:
			u.first.Message += fmt.Sprintf(" (%d objects)", u.count)
		case u.count > 1:
			u.first.Message += fmt.Sprintf(" (in %d objects; this is the first)", u.count)
		}
		p.warnings = append(p.warnings, u.first)
	}
	p.unsupOrder = nil
	clear(p.unsupported)
}

// parseFile reads one file and, first, the files it includes. from is the
// include that named it, nil for a root.
func (p *parser) parseFile(name string, from *registry.Problem) {
	if i := slices.Index(p.stack, name); i >= 0 {
		cycle := append(slices.Clone(p.stack[i:]), name)
		pr := *from
		pr.Message = "include cycle: " + strings.Join(cycle, " → ")
		p.problem(&pr)
		return
	}
	if p.seen[name] {
		return // included twice (not in a cycle): read once
	}
	p.seen[name] = true
	data, err := p.in.Read(name)
	if err != nil {
		if from == nil {
			p.problem(&registry.Problem{File: name, Message: fmt.Sprintf("cannot read the file: %v", err)})
		} else {
			pr := *from
			var pe *fs.PathError
			if errors.As(err, &pe) {
				err = pe.Err // the path is the name
			}
			pr.Message = fmt.Sprintf("cannot read included file %s: %v", redact.Short(name), err)
			p.problem(&pr)
		}
		return
	}
	p.files = append(p.files, name)
	p.bytes += len(data)
	root, problems := parseYAML(name, data)
	p.problems = append(p.problems, problems...)
	if root == nil {
		return
	}
	p.stack = append(p.stack, name)
	defer func() { p.stack = p.stack[:len(p.stack)-1] }()
	root = deref(root)
	if root == nil || isNull(root) {
		return
	}
	if root.Kind != yaml.MappingNode {
		p.problem(at(name, root, "", "", "", "expected a mapping of section names to lists of objects, such as channel_rest:"))
		return
	}
	entries := p.entries(name, root, 0)
	for _, e := range entries {
		if e.key.Value == IncludeKey {
			p.includes(name, e.value)
		}
	}
	for _, e := range entries {
		if e.key.Value != IncludeKey {
			p.section(name, e.key, e.value)
		}
	}
}

// parseYAML parses one file's YAML document. A syntax error and a second
// document are problems.
func parseYAML(name string, data []byte) (*yaml.Node, []*registry.Problem) {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var doc yaml.Node
	if err := dec.Decode(&doc); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, nil
		}
		return nil, []*registry.Problem{yamlProblem(name, err)}
	}
	var problems []*registry.Problem
	var extra yaml.Node
	if err := dec.Decode(&extra); err == nil {
		problems = append(problems, at(name, &extra, "", "", "", "a file holds one YAML document; move this one to another file and include it"))
	} else if !errors.Is(err, io.EOF) {
		problems = append(problems, yamlProblem(name, err))
	}
	if doc.Kind != yaml.DocumentNode || len(doc.Content) == 0 {
		return nil, problems
	}
	return doc.Content[0], problems
}

func yamlProblem(name string, err error) *registry.Problem {
	var le *yaml.LoadError
	if errors.As(err, &le) {
		msg := "invalid YAML: " + le.Message
		if le.ContextMsg != "" && le.ContextMark.Line > 0 && le.ContextMark != le.Mark {
			msg += fmt.Sprintf(" (%s at line %d, column %d)", le.ContextMsg, le.ContextMark.Line, le.ContextMark.Column)
		}
		return &registry.Problem{File: name, Line: le.Mark.Line, Column: le.Mark.Column, Message: msg}
	}
	return &registry.Problem{File: name, Message: "invalid YAML: " + strings.TrimPrefix(err.Error(), "yaml: ")}
}

// includes reads the files an include: entry lists.
func (p *parser) includes(file string, n *yaml.Node) {
	n = deref(n)
	var items []*yaml.Node
	switch {
	case n == nil || isNull(n):
		return
	case n.Kind == yaml.ScalarNode:
		items = []*yaml.Node{n}
	case n.Kind == yaml.SequenceNode:
		items = n.Content
	default:
		p.problem(at(file, n, "", "", "", "include: expected a list of file names"))
		return
	}
	for _, item := range items {
		item = deref(item)
		if item == nil || item.Kind != yaml.ScalarNode || item.Value == "" || isNull(item) {
			p.problem(at(file, item, "", "", "", "include: expected a file name"))
			continue
		}
		p.parseFile(resolveInclude(file, item.Value), at(file, item, "", "", "", ""))
	}
}

// section reads one section: a list of objects of one kind.
func (p *parser) section(file string, key, val *yaml.Node) {
	sec := key.Value
	val = deref(val)
	if val == nil || isNull(val) || (val.Kind == yaml.SequenceNode && len(val.Content) == 0) {
		return // empty sections are ignored, as Zato does
	}
	if sec == amqpDefSection && val.Kind == yaml.SequenceNode {
		p.amqpDefinitions(file, val)
		return
	}
	if sec == pubsubEndpointSection && val.Kind == yaml.SequenceNode {
		p.pubsubEndpoints(file, val)
		return
	}
	kind, known := registry.Lookup(sec)
	if sec == "http_soap" {
		kind, known = nil, true // each object names its section
	}
	if !known {
		if title, zato := zatoSections()[sec]; zato {
			n := 1
			if val.Kind == yaml.SequenceNode {
				n = len(val.Content)
			}
			for range n {
				p.warnOnce("section:"+sec, at(file, key, "", "", "", "section %s (Zato's %s) is not supported by Plexus yet; its objects were skipped", sec, title), true)
			}
			return
		}
		msg := "unknown section " + redact.Quote(sec)
		if s := suggestSection(sec); s != "" {
			msg += fmt.Sprintf("; did you mean %q?", s)
		} else {
			msg += "; known sections are " + strings.Join(registry.IDs(), ", ")
		}
		p.problem(at(file, key, "", "", "", "%s", msg))
		return
	}
	if val.Kind != yaml.SequenceNode {
		p.problem(at(file, val, "", "", "", "section %s: expected a list of objects, each starting with \"- name: …\"", redact.Short(sec)))
		return
	}
	for _, item := range val.Content {
		item = deref(item)
		if item == nil || item.Kind != yaml.MappingNode {
			p.problem(at(file, item, "", "", "", "section %s: expected an object, a mapping of field names to values", redact.Short(sec)))
			continue
		}
		p.object(file, sec, kind, key, item)
	}
}

// object reads one object of a section.
func (p *parser) object(file, sec string, kind *registry.Kind, secKey, n *yaml.Node) {
	entries := p.entries(file, n, 0)
	if isHTTPSOAPSection(sec) {
		var ok bool
		if entries, sec, ok = p.httpSOAP(file, sec, n, entries); !ok {
			return
		}
		if kind, ok = registry.Lookup(sec); !ok {
			p.warnOnce("section:"+sec, at(file, n, "", "", "", "section %s (Zato's %s) is not supported by Plexus yet; its objects were skipped", sec, zatoSections()[sec]), true)
			return
		}
	}
	var psSub *psSubRef
	if kind.ID == pubsubSubKind {
		entries, psSub = p.endpointSubscription(file, entries)
	}
	if p.skipped(file, kind, entries) {
		return
	}
	obj := &object{file: file, kind: kind, node: n, fields: map[string]*fieldNode{}}
	for _, e := range entries {
		if e.key.Value == "name" {
			obj.nameNode = deref(e.value)
		}
	}
	if obj.nameNode == nil && kind.ZatoName != "" {
		// Zato names such objects by a field: the name is its value.
		for _, e := range entries {
			if e.key.Value == kind.ZatoName {
				obj.nameNode = deref(e.value)
			}
		}
	}
	switch {
	case obj.nameNode == nil:
		p.problem(at(file, n, kind.ID, "", "", "the object has no name"))
		return
	case obj.nameNode.Kind != yaml.ScalarNode || isNull(obj.nameNode):
		p.problem(at(file, obj.nameNode, kind.ID, "", "name", "expected a name"))
		return
	}
	c := &converter{p: p, obj: obj, field: "name"}
	before := len(p.problems)
	obj.name, _ = c.text(obj.nameNode)
	if obj.name == "" && len(p.problems) > before {
		return // an unset variable, already reported
	}
	if obj.name == "" {
		p.problem(at(file, obj.nameNode, kind.ID, "", "name", "must not be empty"))
		return
	}
	for _, e := range entries {
		k := e.key.Value
		if k == "name" {
			continue
		}
		if _, ok := kind.Field(k); ok {
			p.addField(obj, k, e, "")
			continue
		}
		if v := deref(e.value); k == "def_name" && foldsAMQPDefinition(kind.ID) && v != nil && v.Kind == yaml.ScalarNode {
			p.amqpRefs = append(p.amqpRefs, amqpDefRef{obj: obj, node: v})
			continue
		}
		target, ok := kind.ZatoFields[k]
		switch {
		case !ok:
			p.addField(obj, k, e, "") // unknown: decoding reports it with a suggestion
		case target == registry.ZatoUnsupported:
			if !emptyish(e.value) {
				p.warnOnce(kind.ID+"."+k, at(file, e.key, kind.ID, obj.name, k, "Zato field not supported by Plexus yet; ignored"), false)
			}
		case target == registry.ZatoRefused:
			if !emptyish(e.value) {
				p.problem(at(file, e.key, kind.ID, obj.name, k,
					"Zato field not supported by Plexus yet, and ignoring it would let in callers that Zato turns away; remove it to import this %s without it", kind.Title))
			}
		case deref(e.value) != nil && isNull(deref(e.value)):
			// Zato's null under its own name: not set, so Plexus's
			// default applies.
		default:
			p.addField(obj, target, oneEntryList(kind, target, e), k)
		}
	}
	p.objects = append(p.objects, obj)
	if psSub != nil {
		psSub.obj = obj
		p.psSubs = append(p.psSubs, psSub)
	}
}

// oneEntryList turns the single value of a Zato field that Plexus
// renames to a list (Zato's Kafka topic: Plexus's topics) into a list of
// that value.
func oneEntryList(kind *registry.Kind, target string, e keyValue) keyValue {
	f, ok := kind.Field(target)
	v := deref(e.value)
	if !ok || f.Type.Kind() != reflect.Slice || v == nil || v.Kind != yaml.ScalarNode || isNull(v) {
		return e
	}
	e.value = &yaml.Node{Kind: yaml.SequenceNode, Tag: "!!seq", Line: v.Line, Column: v.Column, Content: []*yaml.Node{v}}
	return e
}

// skipped reports whether an object holds a value its kind declares Zato
// has and Plexus does not support yet (see registry.Kind.ZatoSkipped),
// warning once per value with the number of objects skipped.
func (p *parser) skipped(file string, kind *registry.Kind, entries []keyValue) bool {
	for _, e := range entries {
		field := e.key.Value
		if renamed, ok := kind.ZatoFields[field]; ok && renamed != registry.ZatoUnsupported {
			field = renamed
		}
		v := deref(e.value)
		if v == nil || v.Kind != yaml.ScalarNode {
			continue
		}
		title, ok := kind.ZatoSkipped[field][v.Value]
		if !ok {
			title, ok = kind.ZatoSkipped[field]["*"]
		}
		if ok {
			p.warnOnce("value:"+kind.ID+"."+field+"="+v.Value, at(file, v, kind.ID, "", e.key.Value,
				"%s (Zato's %s) is not supported by Plexus yet; its objects were skipped", v.Value, title), true)
			return true
		}
	}
	return false
}

// httpSOAP applies Zato's connection and transport keys, which say which
// section an object of Zato 3.2's http_soap table belongs in, and removes
// them. It returns the object's section.
func (p *parser) httpSOAP(file, sec string, n *yaml.Node, entries []keyValue) ([]keyValue, string, bool) {
	connection, transport := "channel", "plain_http"
	var conn, trans *yaml.Node
	kept := entries[:0:0]
	for _, e := range entries {
		v := deref(e.value)
		switch {
		case e.key.Value == "connection" && v != nil && v.Kind == yaml.ScalarNode:
			conn, connection = v, v.Value
		case e.key.Value == "transport" && v != nil && v.Kind == yaml.ScalarNode:
			trans, transport = v, v.Value
		default:
			kept = append(kept, e)
		}
	}
	if conn == nil && trans == nil {
		if sec == "http_soap" {
			sec = "channel_plain_http"
		}
		return kept, sec, true
	}
	target, ok := httpSOAPSection(connection, transport)
	if !ok {
		where := conn
		if trans != nil {
			where = trans
		}
		p.problem(at(file, where, "", "", "", "connection %s and transport %s: Zato's connection is channel or outgoing, its transport plain_http or soap", redact.Quote(connection), redact.Quote(transport)))
		return nil, "", false
	}
	if sec == "http_soap" {
		return kept, target, true
	}
	want, _ := registry.Lookup(target)
	have, _ := registry.Lookup(sec)
	if want != have || want == nil && target != sec {
		where := conn
		if where == nil {
			where = trans
		}
		p.problem(at(file, where, "", "", "", "connection %s and transport %s make this object one of section %s, not %s; move it there", redact.Quote(connection), redact.Quote(transport), target, sec))
		return nil, "", false
	}
	return kept, sec, true
}

// addField records a field of an object. Two names for one field (Zato
// 3.2 exports both service and service_name) must agree.
func (p *parser) addField(obj *object, name string, e keyValue, zato string) {
	if prev, ok := obj.fields[name]; ok {
		if !sameScalar(prev.value, e.value) && !(unset(prev.value) && unset(e.value)) {
			p.problem(at(obj.file, e.key, obj.kind.ID, obj.name, e.key.Value, "differs from %s at line %d, which sets the same field (%s is Zato's name for %s); keep one of them",
				prev.key.Value, prev.key.Line, cmp.Or(zato, prev.zato), name))
		}
		return
	}
	if v := deref(e.value); v != nil && v.Kind == yaml.ScalarNode {
		if to, ok := obj.kind.ZatoValues[name][v.Value]; ok {
			c := *v // the node may be an anchor others use
			c.Value = to
			e.value = &c
		}
	}
	obj.fields[name] = &fieldNode{key: e.key, value: e.value, zato: zato}
	obj.order = append(obj.order, name)
}

// maxMergeDepth bounds nested merge keys (<<).
const maxMergeDepth = 32

// entries returns a mapping's entries. A key given twice keeps its first
// place and takes its last value, with a warning, as PyYAML (and so Zato)
// reads it; merge keys (<<: *defaults) add the entries of the mappings
// they name that the mapping does not set itself.
func (p *parser) entries(file string, n *yaml.Node, depth int) []keyValue {
	out := make([]keyValue, 0, len(n.Content)/2)
	seen := make(map[string]*yaml.Node, len(n.Content)/2)
	place := make(map[string]int, len(n.Content)/2)
	var merged []keyValue
	for i := 0; i+1 < len(n.Content); i += 2 {
		if !p.spend(file, n) {
			return out
		}
		k, v := deref(n.Content[i]), n.Content[i+1]
		if k == nil || k.Kind != yaml.ScalarNode {
			p.problem(at(file, n.Content[i], "", "", "", "keys must be plain names"))
			continue
		}
		if k.Tag == "!!merge" {
			if depth >= maxMergeDepth {
				p.problem(at(file, k, "", "", "", "merge keys (<<) nested too deep"))
				continue
			}
			merged = append(merged, p.mergeSources(file, v, depth)...)
			continue
		}
		if prev, dup := seen[k.Value]; dup {
			p.warn(at(file, k, "", "", "", "duplicate key %s (first at line %d): the last one is used, as in Zato, and the others ignored", redact.Quote(k.Value), prev.Line))
			out[place[k.Value]] = keyValue{key: k, value: v}
			continue
		}
		seen[k.Value] = k
		place[k.Value] = len(out)
		out = append(out, keyValue{key: k, value: v})
	}
	for _, e := range merged {
		if _, ok := seen[e.key.Value]; !ok {
			seen[e.key.Value] = e.key
			out = append(out, e)
		}
	}
	return out
}

func (p *parser) mergeSources(file string, v *yaml.Node, depth int) []keyValue {
	v = deref(v)
	switch {
	case v != nil && v.Kind == yaml.MappingNode:
		return p.entries(file, v, depth+1)
	case v != nil && v.Kind == yaml.SequenceNode:
		var out []keyValue
		for _, s := range v.Content {
			if s = deref(s); s != nil && s.Kind == yaml.MappingNode {
				out = append(out, p.entries(file, s, depth+1)...)
			} else {
				p.problem(at(file, s, "", "", "", "a merge key (<<) takes a mapping or a list of mappings"))
			}
		}
		return out
	}
	p.problem(at(file, v, "", "", "", "a merge key (<<) takes a mapping or a list of mappings"))
	return nil
}

// deref follows an alias to the node it names.
func deref(n *yaml.Node) *yaml.Node {
	if n != nil && n.Kind == yaml.AliasNode {
		return n.Alias
	}
	return n
}

func isNull(n *yaml.Node) bool {
	return n.Kind == yaml.ScalarNode && n.Tag == "!!null"
}

// unset reports whether a value says "none": null, empty or Zato's
// zato-no-security.
func unset(n *yaml.Node) bool {
	n = deref(n)
	return n == nil || n.Kind == yaml.ScalarNode && (isNull(n) || strings.TrimSpace(n.Value) == "" || n.Value == zatoNoSecurity)
}

// emptyish reports whether a value says "not set": unset, false or 0
// (written as such or as a string, as PyYAML-era files have them), or a
// list of such values or an empty mapping.
func emptyish(n *yaml.Node) bool {
	n = deref(n)
	switch {
	case unset(n):
		return true
	case n.Kind == yaml.ScalarNode:
		v := strings.TrimSpace(n.Value)
		if b, ok := parseBool(v); ok {
			return !b
		}
		f, ok := parseFloat(v)
		return ok && f == 0
	case n.Kind == yaml.SequenceNode:
		for _, item := range n.Content {
			if !emptyish(item) {
				return false
			}
		}
		return true
	case n.Kind == yaml.MappingNode:
		return len(n.Content) == 0
	}
	return false
}

// sameScalar reports whether two values are the same scalar.
func sameScalar(a, b *yaml.Node) bool {
	a, b = deref(a), deref(b)
	return a != nil && b != nil && a.Kind == yaml.ScalarNode && b.Kind == yaml.ScalarNode && a.Value == b.Value
}
