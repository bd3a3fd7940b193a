// Package apispec describes the deployed services as an OpenAPI 3.1
// document, built from the running state: the REST channels' paths and
// verbs, the services' typed I/O (SimpleIO, models, JSON Schemas) and
// documentation, and the channels' security definitions. Services without
// a REST channel appear under the admin API's invoke path. The same
// document feeds the static API documentation site (Site).
package apispec

import (
	"fmt"
	"path"
	"regexp"
	"slices"
	"sort"
	"strings"

	"github.com/plexushq/plexus/internal/catalog"
	"github.com/plexushq/plexus/internal/channel/rest"
	"github.com/plexushq/plexus/internal/live"
	"github.com/plexushq/plexus/internal/router"
	"github.com/plexushq/plexus/internal/security"
	"github.com/plexushq/plexus/internal/sio"
	"github.com/plexushq/plexus/sdk/service"
)

// DefaultExclude leaves out Plexus's own services and the quickstart's
// demos, as Zato leaves out zato.*.
const DefaultExclude = "plexus.*,demo.*"

// InvokePath is the path under which services without a REST channel
// appear: the admin API's invoke call, on the admin listener.
const InvokePath = "/admin/api/v1/services/{name}/invoke"

// Options select and label what a document describes.
type Options struct {
	// Include and Exclude are glob patterns on service names (path.Match
	// syntax: * matches any run of characters, dots included). An empty
	// Include includes every service.
	Include, Exclude []string
	// Title and Version are the document's info; defaults "API" and
	// "1.0.0".
	Title, Version string
	// APIURL is the API listener's base URL, the document's server.
	APIURL string
	// AdminURL is the admin listener's base URL, the server of the invoke
	// paths.
	AdminURL string
	// Schemas resolves the JSON Schema files services name.
	Schemas *sio.Schemas
}

// SplitGlobs splits a comma-separated list of globs.
func SplitGlobs(s string) []string {
	var out []string
	for g := range strings.SplitSeq(s, ",") {
		if g = strings.TrimSpace(g); g != "" {
			out = append(out, g)
		}
	}
	return out
}

// Selected reports whether a service name passes the include and exclude
// globs.
func (o Options) Selected(name string) bool {
	match := func(globs []string) bool {
		for _, g := range globs {
			if ok, _ := path.Match(g, name); ok {
				return true
			}
		}
		return false
	}
	if len(o.Include) > 0 && !match(o.Include) {
		return false
	}
	return !match(o.Exclude)
}

// Document is an OpenAPI 3.1 document, in the order its keys are written.
type Document struct {
	OpenAPI    string               `json:"openapi"`
	Info       Info                 `json:"info"`
	Servers    []Server             `json:"servers,omitempty"`
	Tags       []Tag                `json:"tags,omitempty"`
	Paths      map[string]*PathItem `json:"paths"`
	Components Components           `json:"components"`
}

// Info is the document's title and version.
type Info struct {
	Title       string `json:"title"`
	Description string `json:"description,omitempty"`
	Version     string `json:"version"`
}

// Server is a base URL.
type Server struct {
	URL         string `json:"url"`
	Description string `json:"description,omitempty"`
}

// Tag is a namespace of services.
type Tag struct {
	Name        string `json:"name"`
	Description string `json:"description,omitempty"`
}

// PathItem holds the operations of one path.
type PathItem struct {
	Servers []Server   `json:"servers,omitempty"`
	Get     *Operation `json:"get,omitempty"`
	Put     *Operation `json:"put,omitempty"`
	Post    *Operation `json:"post,omitempty"`
	Delete  *Operation `json:"delete,omitempty"`
	Options *Operation `json:"options,omitempty"`
	Head    *Operation `json:"head,omitempty"`
	Patch   *Operation `json:"patch,omitempty"`
}

// Operations returns the item's operations by lower-case verb.
func (p *PathItem) Operations() map[string]*Operation {
	out := map[string]*Operation{}
	for verb, op := range map[string]*Operation{"get": p.Get, "put": p.Put, "post": p.Post, "delete": p.Delete, "options": p.Options, "head": p.Head, "patch": p.Patch} {
		if op != nil {
			out[verb] = op
		}
	}
	return out
}

func (p *PathItem) set(verb string, op *Operation) bool {
	slot := map[string]**Operation{"get": &p.Get, "put": &p.Put, "post": &p.Post, "delete": &p.Delete, "options": &p.Options, "head": &p.Head, "patch": &p.Patch}[verb]
	if slot == nil || *slot != nil {
		return false
	}
	*slot = op
	return true
}

// Operation is one verb on one path, for one service.
type Operation struct {
	Tags        []string              `json:"tags,omitempty"`
	Summary     string                `json:"summary,omitempty"`
	Description string                `json:"description,omitempty"`
	OperationID string                `json:"operationId"`
	Parameters  []Parameter           `json:"parameters,omitempty"`
	RequestBody *RequestBody          `json:"requestBody,omitempty"`
	Responses   map[string]*Response  `json:"responses"`
	Security    []map[string][]string `json:"security,omitempty"`
	// Service is the service the operation invokes.
	Service string `json:"x-plexus-service"`
	// Language is the service's language: go or starlark.
	Language string `json:"x-plexus-language,omitempty"`
	// Channel is the REST channel, empty for the invoke path.
	Channel string `json:"x-plexus-channel,omitempty"`
	// Invokes lists the services the service declares it invokes.
	Invokes []string `json:"x-plexus-invokes,omitempty"`
	// Schema is the JSON Schema file the request is validated against.
	Schema string `json:"x-plexus-schema,omitempty"`
}

// Parameter is a path or query parameter.
type Parameter struct {
	Name        string         `json:"name"`
	In          string         `json:"in"`
	Description string         `json:"description,omitempty"`
	Required    bool           `json:"required,omitempty"`
	Schema      map[string]any `json:"schema"`
}

// RequestBody is an operation's body.
type RequestBody struct {
	Required bool                 `json:"required,omitempty"`
	Content  map[string]MediaType `json:"content"`
}

// MediaType is the schema of a body.
type MediaType struct {
	Schema map[string]any `json:"schema"`
}

// Response is one status of an operation, or a reference to one in the
// components.
type Response struct {
	Ref         string               `json:"$ref,omitempty"`
	Description string               `json:"description,omitempty"`
	Headers     map[string]any       `json:"headers,omitempty"`
	Content     map[string]MediaType `json:"content,omitempty"`
}

// Components holds the schemas and security schemes operations refer to.
type Components struct {
	Schemas         map[string]any `json:"schemas"`
	Responses       map[string]any `json:"responses,omitempty"`
	Headers         map[string]any `json:"headers,omitempty"`
	SecuritySchemes map[string]any `json:"securitySchemes,omitempty"`
}

// ErrorSchema is the error envelope every caller sees.
const ErrorSchema = "Error"

// AdminScheme is the security scheme of the invoke paths.
const AdminScheme = "plexusAdmin"

// builder builds one document.
type builder struct {
	doc     *Document
	opts    Options
	st      *live.State
	models  map[*sio.Model]string
	opIDs   map[string]int
	tags    map[string]bool
	schemes map[string]map[string]any
	shapes  map[string]pathShape
	errs    []string
}

// Generate builds the document of the services a state runs. Problems
// that leave a part out (a JSON Schema that cannot be read) are returned
// with the document, which is still usable.
func Generate(st *live.State, opts Options) (*Document, []string) {
	if opts.Title == "" {
		opts.Title = "API"
	}
	if opts.Version == "" {
		opts.Version = "1.0.0"
	}
	b := &builder{
		opts: opts, st: st, models: map[*sio.Model]string{}, opIDs: map[string]int{}, tags: map[string]bool{},
		schemes: map[string]map[string]any{}, shapes: map[string]pathShape{},
		doc: &Document{
			OpenAPI: "3.1.0",
			Info:    Info{Title: opts.Title, Version: opts.Version},
			Paths:   map[string]*PathItem{},
			Components: Components{
				Schemas:   map[string]any{ErrorSchema: errorSchema()},
				Headers:   map[string]any{"X-Plexus-CID": map[string]any{"description": "The request's correlation ID.", "schema": map[string]any{"type": "string", "pattern": "^[0-9a-f]{24}$"}}},
				Responses: errorResponses(),
			},
		},
	}
	if opts.APIURL != "" {
		b.doc.Servers = []Server{{URL: opts.APIURL, Description: "API listener"}}
	}
	channels := map[string][]*rest.Channel{}
	for _, obj := range st.Objects(rest.Kind) {
		c := obj.(*rest.Channel)
		if c.IsActive {
			channels[c.Service] = append(channels[c.Service], c)
		}
	}
	for _, name := range st.Services.Names() {
		if !opts.Selected(name) {
			continue
		}
		svc := st.Services.Get(name)
		if chans := channels[name]; len(chans) > 0 {
			for _, c := range chans {
				b.channel(svc, c)
			}
		} else {
			b.invokePath(svc)
		}
	}
	tags := make([]string, 0, len(b.tags))
	for t := range b.tags {
		tags = append(tags, t)
	}
	sort.Strings(tags)
	for _, t := range tags {
		b.doc.Tags = append(b.doc.Tags, Tag{Name: t})
	}
	if len(b.schemes) > 0 {
		b.doc.Components.SecuritySchemes = map[string]any{}
		for n, s := range b.schemes {
			b.doc.Components.SecuritySchemes[n] = s
		}
	}
	return b.doc, b.errs
}

// Namespace returns the group a service is shown in: its declared
// namespace, else its name without the last dotted part ("general" for a
// name without dots).
func Namespace(svc *catalog.Service) string {
	if svc.IO != nil && svc.IO.Namespace != "" {
		return svc.IO.Namespace
	}
	if i := strings.LastIndex(svc.Name, "."); i > 0 {
		return svc.Name[:i]
	}
	return "general"
}

var (
	restParam = regexp.MustCompile(`\{([^{}]+)\.\.\.\}`)
	paramName = regexp.MustCompile(`\{[^{}]*\}`)
)

// pathShape is the first path of a shape and its parameter names.
type pathShape struct {
	path   string
	params []string
}

// channel adds the operations of one REST channel.
func (b *builder) channel(svc *catalog.Service, c *rest.Channel) {
	tpl, err := router.Parse(c.URLPath)
	if err != nil {
		return
	}
	p := restParam.ReplaceAllString(c.URLPath, "{$1}")
	// OpenAPI takes /a/{x} and /a/{y} for one path: the first channel's
	// parameter names are used, and the operation says what the service
	// calls each.
	shape := paramName.ReplaceAllString(p, "{}")
	renamed := map[string]string{}
	if prev, ok := b.shapes[shape]; ok && prev.path != p {
		for i, n := range tpl.Params {
			if i < len(prev.params) && prev.params[i] != n {
				renamed[n] = prev.params[i]
			}
		}
		p = prev.path
	} else if !ok {
		b.shapes[shape] = pathShape{path: p, params: tpl.Params}
	}
	var verbs []string
	switch {
	case c.Method != "":
		verbs = []string{c.Method}
	case !svc.AnswersAll():
		verbs = svc.Verbs()
	default:
		verbs = []string{"POST"}
	}
	item := b.doc.Paths[p]
	if item == nil {
		item = &PathItem{}
		b.doc.Paths[p] = item
	}
	for _, verb := range verbs {
		// The verb first, as Zato does (post_…): an id never clashes with
		// what client generators name their own types and fields.
		id := strings.ToLower(verb) + "_" + svc.Name
		op := b.operation(svc, id, verb, tpl.Params, strings.Contains(c.URLPath, "..."))
		for i, prm := range op.Parameters {
			if canon, ok := renamed[prm.Name]; ok && prm.In == "path" {
				op.Parameters[i].Name = canon
				op.Parameters[i].Description = strings.TrimSpace(prm.Description + " The service receives it as " + prm.Name + ".")
			}
		}
		op.Channel = c.Name
		if sec := b.security(c); sec != nil {
			op.Security = sec
			op.Responses["401"] = ref("#/components/responses/Unauthorized")
		}
		if !item.set(strings.ToLower(verb), op) {
			b.errs = append(b.errs, fmt.Sprintf("channel %s: %s %s is described already", c.Name, verb, p))
		}
	}
}

// invokePath adds a service without a REST channel under the admin API's
// invoke path.
func (b *builder) invokePath(svc *catalog.Service) {
	p := strings.Replace(InvokePath, "{name}", svc.Name, 1)
	op := b.operation(svc, "invoke_"+svc.Name, "POST", nil, false)
	op.Security = []map[string][]string{{AdminScheme: {}}}
	op.Responses["401"] = ref("#/components/responses/Unauthorized")
	b.schemes[AdminScheme] = map[string]any{"type": "http", "scheme": "basic", "description": "The admin account (user admin) of the admin listener."}
	item := &PathItem{Post: op}
	if b.opts.AdminURL != "" {
		item.Servers = []Server{{URL: b.opts.AdminURL, Description: "admin listener"}}
	}
	if !svc.AnswersAll() {
		op.Parameters = append(op.Parameters, Parameter{Name: "verb", In: "query", Required: true,
			Description: "The verb handler to run.", Schema: map[string]any{"type": "string", "enum": svc.Verbs()}})
	}
	b.doc.Paths[p] = item
}

func ref(to string) *Response { return &Response{Ref: to} }

func (b *builder) opID(s string) string {
	id := strings.Map(func(r rune) rune {
		if r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '_' {
			return r
		}
		return '_'
	}, s)
	b.opIDs[id]++
	if n := b.opIDs[id]; n > 1 {
		id = fmt.Sprintf("%s_%d", id, n)
	}
	return id
}

// bodyless verbs take their input from the query string.
func bodyless(verb string) bool { return verb == "GET" || verb == "DELETE" || verb == "HEAD" }

func (b *builder) operation(svc *catalog.Service, id, verb string, pathParams []string, restTail bool) *Operation {
	summary, desc, _ := strings.Cut(strings.TrimSpace(svc.Doc), "\n")
	ns := Namespace(svc)
	b.tags[ns] = true
	op := &Operation{
		Tags: []string{ns}, Summary: strings.TrimSpace(summary), Description: strings.TrimSpace(desc),
		OperationID: b.opID(id), Service: svc.Name, Language: svc.Language,
		Responses: map[string]*Response{},
	}
	io := svc.IO
	if io == nil {
		io = &sio.IO{}
	}
	op.Invokes, op.Schema = io.Invokes, io.Schema
	var in *sio.Model = io.Input
	inPath := map[string]bool{}
	for _, name := range pathParams {
		inPath[name] = true
		schema := map[string]any{"type": "string"}
		if in != nil {
			if e := in.Elem(name); e != nil && e.Type != sio.TypeModel {
				schema = sio.ElemSchema(e, b.modelRef)
			}
		}
		p := Parameter{Name: name, In: "path", Required: true, Schema: schema}
		if restTail && name == pathParams[len(pathParams)-1] {
			p.Description = "The rest of the path, slashes included."
		}
		op.Parameters = append(op.Parameters, p)
	}
	var bodySchemas []map[string]any
	bodyRequired := false
	if in != nil {
		if bodyless(verb) {
			for _, e := range in.Elems {
				if inPath[e.Name] || e.Type == sio.TypeModel || e.Type == service.TypeDict {
					continue
				}
				op.Parameters = append(op.Parameters, Parameter{Name: e.Name, In: "query", Required: e.Required, Schema: sio.ElemSchema(e, b.modelRef)})
			}
		} else {
			s, required := b.bodySchema(svc, in, inPath)
			bodySchemas = append(bodySchemas, s)
			bodyRequired = required
		}
	}
	if io.Schema != "" && !bodyless(verb) {
		if s := b.fileSchema(svc, io.Schema); s != nil {
			bodySchemas = append(bodySchemas, s)
			bodyRequired = true
		}
	}
	switch len(bodySchemas) {
	case 0:
		if !bodyless(verb) && in == nil && io.Schema == "" {
			op.RequestBody = &RequestBody{Content: map[string]MediaType{"application/json": {Schema: map[string]any{}}}}
		}
	case 1:
		op.RequestBody = &RequestBody{Required: bodyRequired, Content: map[string]MediaType{"application/json": {Schema: bodySchemas[0]}}}
	default:
		all := make([]any, len(bodySchemas))
		for i, s := range bodySchemas {
			all[i] = s
		}
		op.RequestBody = &RequestBody{Required: true, Content: map[string]MediaType{"application/json": {Schema: map[string]any{"allOf": all}}}}
	}
	ok := &Response{Description: "The service's response.", Headers: map[string]any{"X-Plexus-CID": map[string]any{"$ref": "#/components/headers/X-Plexus-CID"}}}
	if s := b.outputSchema(svc, io); s != nil {
		ok.Content = map[string]MediaType{"application/json": {Schema: s}}
	}
	op.Responses["200"] = ok
	op.Responses["400"] = ref("#/components/responses/BadRequest")
	op.Responses["500"] = ref("#/components/responses/InternalServerError")
	return op
}

// bodySchema returns the schema of the body for an input model, leaving
// out the elements the path provides.
func (b *builder) bodySchema(svc *catalog.Service, in *sio.Model, inPath map[string]bool) (map[string]any, bool) {
	required := false
	for _, e := range in.Elems {
		if e.Required && !inPath[e.Name] {
			required = true
		}
	}
	if in.Name != "" && !slices.ContainsFunc(in.Elems, func(e *sio.Elem) bool { return inPath[e.Name] }) {
		return b.modelRef(in), required
	}
	var elems []*sio.Elem
	for _, e := range in.Elems {
		if !inPath[e.Name] {
			elems = append(elems, e)
		}
	}
	body, _ := sio.NewModel("", elems)
	return b.component(svc.Name+".Input", body.JSONSchema(b.modelRef)), required
}

func (b *builder) outputSchema(svc *catalog.Service, io *sio.IO) map[string]any {
	var s map[string]any
	switch {
	case io.Output == nil:
		if io.ResponseElem == "" {
			return nil
		}
		s = map[string]any{}
	case io.Output.Name != "":
		s = b.modelRef(io.Output)
	default:
		s = b.component(svc.Name+".Output", io.Output.JSONSchema(b.modelRef))
	}
	if io.ResponseElem != "" {
		s = map[string]any{"type": "object", "required": []string{io.ResponseElem}, "properties": map[string]any{io.ResponseElem: s}}
	}
	return s
}

// component adds a schema under a name and returns a reference to it.
func (b *builder) component(name string, s map[string]any) map[string]any {
	b.doc.Components.Schemas[name] = s
	return map[string]any{"$ref": "#/components/schemas/" + name}
}

// modelRef returns a reference to a named model, adding it (and the
// models it uses) to the components on first use. Two different models
// with one name get numbered names.
func (b *builder) modelRef(m *sio.Model) map[string]any {
	if name, ok := b.models[m]; ok {
		return map[string]any{"$ref": "#/components/schemas/" + name}
	}
	name := componentName(m.Name)
	for i := 2; ; i++ {
		if _, taken := b.doc.Components.Schemas[name]; !taken {
			break
		}
		name = fmt.Sprintf("%s_%d", componentName(m.Name), i)
	}
	b.models[m] = name
	b.doc.Components.Schemas[name] = map[string]any{} // reserve the name for recursive models
	b.doc.Components.Schemas[name] = m.JSONSchema(b.modelRef)
	return map[string]any{"$ref": "#/components/schemas/" + name}
}

func componentName(s string) string {
	return strings.Map(func(r rune) rune {
		if r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '_' || r == '.' || r == '-' {
			return r
		}
		return '_'
	}, s)
}

// fileSchema adds a service's JSON Schema file to the components.
func (b *builder) fileSchema(svc *catalog.Service, file string) map[string]any {
	if b.opts.Schemas == nil {
		b.errs = append(b.errs, fmt.Sprintf("service %s: JSON Schema %s: schema files are not available", svc.Name, file))
		return nil
	}
	_, raw, err := b.opts.Schemas.Get(file)
	if err != nil {
		b.errs = append(b.errs, fmt.Sprintf("service %s: %v", svc.Name, err))
		return nil
	}
	m, ok := raw.(map[string]any)
	if !ok {
		return nil
	}
	s := make(map[string]any, len(m))
	for k, v := range m {
		if k != "$schema" && k != "$id" {
			s[k] = v
		}
	}
	return b.component(svc.Name+".Request", s)
}

func errorSchema() map[string]any {
	return map[string]any{
		"type":        "object",
		"description": "The error envelope every caller sees.",
		"required":    []string{"result", "cid", "details"},
		"properties": map[string]any{
			"result":  map[string]any{"type": "string", "const": "Error"},
			"cid":     map[string]any{"type": "string", "description": "The request's correlation ID, 24 lowercase hex characters.", "pattern": "^[0-9a-f]{24}$"},
			"details": map[string]any{"type": "string", "description": "What went wrong, e.g. \"Element missing: user_id\"."},
		},
	}
}

func errorResponses() map[string]any {
	resp := func(desc string) map[string]any {
		return map[string]any{
			"description": desc,
			"headers":     map[string]any{"X-Plexus-CID": map[string]any{"$ref": "#/components/headers/X-Plexus-CID"}},
			"content":     map[string]any{"application/json": map[string]any{"schema": map[string]any{"$ref": "#/components/schemas/" + ErrorSchema}}},
		}
	}
	return map[string]any{
		"BadRequest":          resp("Invalid request: an element is missing or has the wrong type, the body does not validate against the service's JSON Schema, or it is not JSON."),
		"Unauthorized":        resp("The credentials are missing or wrong."),
		"InternalServerError": resp("The service failed; the cause is in the server's log under the cid."),
	}
}

// security returns the security requirement of a channel: its security
// definition, or any member of one of its groups (alternatives, as the
// channel admits a request that passes any of them).
func (b *builder) security(c *rest.Channel) []map[string][]string {
	var req []map[string][]string
	add := func(name string) {
		obj, ok := b.st.Object(security.Kind, name)
		if !ok {
			return
		}
		scheme := SecurityScheme(obj.(*security.Definition))
		if scheme == nil {
			return
		}
		id := componentName(name)
		b.schemes[id] = scheme
		req = append(req, map[string][]string{id: {}})
	}
	if c.Security != "" {
		add(c.Security)
	}
	for _, g := range c.Groups {
		if obj, ok := b.st.Object(security.GroupKind, g); ok {
			for _, m := range obj.(*security.Group).Members {
				add(m)
			}
		}
	}
	return req
}

// SecurityScheme maps a security definition to its OpenAPI security
// scheme.
func SecurityScheme(d *security.Definition) map[string]any {
	switch d.Type {
	case "basic_auth":
		return map[string]any{"type": "http", "scheme": "basic"}
	case "apikey":
		header := d.Header
		if header == "" {
			header = security.DefaultAPIKeyHeader
		}
		return map[string]any{"type": "apiKey", "in": "header", "name": header}
	case "jwt":
		return map[string]any{"type": "http", "scheme": "bearer", "description": "A session token from POST /plexus/jwt/log-in."}
	case "bearer_token":
		scheme := map[string]any{"type": "http", "scheme": "bearer"}
		if d.JWKSURL != "" {
			scheme["bearerFormat"] = "JWT"
		}
		return scheme
	case "mtls":
		return map[string]any{"type": "mutualTLS"}
	}
	return nil
}
