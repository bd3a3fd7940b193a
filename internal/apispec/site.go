package apispec

import (
	"embed"
	"fmt"
	"html/template"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

//go:embed site
var siteFiles embed.FS

// SiteOptions brand the API documentation site.
type SiteOptions struct {
	// Title is shown on every page; default the document's title.
	Title string
	// CSS is a stylesheet that replaces the default one.
	CSS []byte
}

// SiteService is one service as the site shows it.
type SiteService struct {
	Name, Namespace, Summary, Description, Language, Schema string
	Invokes                                                 []string
	Channels                                                []SiteChannel
	Input, Output                                           []SiteElem
	Security                                                []string
	Page                                                    string
	// Calls are the services it invokes, with their pages when the site
	// documents them.
	Calls []SiteLink
}

// SiteLink is a service name and its page ("" when not documented).
type SiteLink struct{ Name, Page string }

// SiteChannel is a way to call a service.
type SiteChannel struct {
	Method, Path, Name, Server string
}

// SiteElem is one row of an I/O table.
type SiteElem struct {
	Name, In, Type, Default string
	Required                bool
	Depth                   int
}

// SiteNamespace is a group of services.
type SiteNamespace struct {
	Name     string
	Services []*SiteService
}

// WriteSite writes a static HTML site documenting the services of an
// OpenAPI document produced by Generate: index.html grouped by namespace,
// one page per service under services/, style.css, and the document itself
// as openapi.json and openapi.yaml for download. It needs no JavaScript.
func WriteSite(dir string, docJSON []byte, opts SiteOptions) error {
	doc, err := Parse(docJSON)
	if err != nil {
		return err
	}
	yml, err := JSONToYAML(docJSON)
	if err != nil {
		return err
	}
	if opts.Title == "" {
		opts.Title = doc.Info.Title
	}
	namespaces := siteServices(doc)
	tpl, err := template.New("").Funcs(template.FuncMap{
		"lower": strings.ToLower,
		"dict": func(kv ...any) map[string]any {
			m := map[string]any{}
			for i := 0; i+1 < len(kv); i += 2 {
				m[fmt.Sprint(kv[i])] = kv[i+1]
			}
			return m
		},
	}).ParseFS(siteFiles, "site/*.html")
	if err != nil {
		return fmt.Errorf("writing the API docs: %w", err)
	}
	if err := os.MkdirAll(filepath.Join(dir, "services"), 0o755); err != nil {
		return fmt.Errorf("writing the API docs: %w", err)
	}
	css := opts.CSS
	if css == nil {
		if css, err = siteFiles.ReadFile("site/style.css"); err != nil {
			return err
		}
	}
	write := func(name string, data []byte) error {
		if err := os.WriteFile(filepath.Join(dir, name), data, 0o644); err != nil {
			return fmt.Errorf("writing the API docs: %w", err)
		}
		return nil
	}
	render := func(name, tplName string, data any) error {
		var b strings.Builder
		if err := tpl.ExecuteTemplate(&b, tplName, data); err != nil {
			return fmt.Errorf("writing the API docs: %s: %w", name, err)
		}
		return write(name, []byte(b.String()))
	}
	for _, f := range []struct {
		name string
		data []byte
	}{{"style.css", css}, {"openapi.json", docJSON}, {"openapi.yaml", yml}} {
		if err := write(f.name, f.data); err != nil {
			return err
		}
	}
	count := 0
	for _, ns := range namespaces {
		count += len(ns.Services)
	}
	if err := render("index.html", "index.html", map[string]any{
		"Title": opts.Title, "Version": doc.Info.Version, "Namespaces": namespaces, "Count": count, "Root": "",
	}); err != nil {
		return err
	}
	for _, ns := range namespaces {
		for _, s := range ns.Services {
			if err := render(s.Page, "service.html", map[string]any{"Title": opts.Title, "S": s, "Root": "../"}); err != nil {
				return err
			}
		}
	}
	return nil
}

// siteServices gathers the document's operations by service and the
// services by namespace, both sorted.
func siteServices(doc *Document) []*SiteNamespace {
	byName := map[string]*SiteService{}
	paths := make([]string, 0, len(doc.Paths))
	for p := range doc.Paths {
		paths = append(paths, p)
	}
	sort.Strings(paths)
	for _, p := range paths {
		item := doc.Paths[p]
		ops := item.Operations()
		verbs := make([]string, 0, len(ops))
		for v := range ops {
			verbs = append(verbs, v)
		}
		sort.Strings(verbs)
		for _, verb := range verbs {
			op := ops[verb]
			s := byName[op.Service]
			if s == nil {
				ns := "general"
				if len(op.Tags) > 0 {
					ns = op.Tags[0]
				}
				s = &SiteService{Name: op.Service, Namespace: ns, Summary: op.Summary, Description: op.Description,
					Language: op.Language, Invokes: op.Invokes, Schema: op.Schema, Page: "services/" + pageName(op.Service) + ".html"}
				s.Input = inputRows(doc, op)
				s.Output = outputRows(doc, op)
				byName[op.Service] = s
			}
			server := ""
			if len(item.Servers) > 0 {
				server = item.Servers[0].URL
			} else if len(doc.Servers) > 0 {
				server = doc.Servers[0].URL
			}
			s.Channels = append(s.Channels, SiteChannel{Method: strings.ToUpper(verb), Path: p, Name: op.Channel, Server: server})
			for _, req := range op.Security {
				for name := range req {
					if !contains(s.Security, name) {
						s.Security = append(s.Security, name)
					}
				}
			}
		}
	}
	nsMap := map[string]*SiteNamespace{}
	for _, s := range byName {
		for _, name := range s.Invokes {
			l := SiteLink{Name: name}
			if byName[name] != nil {
				l.Page = pageName(name) + ".html"
			}
			s.Calls = append(s.Calls, l)
		}
		ns := nsMap[s.Namespace]
		if ns == nil {
			ns = &SiteNamespace{Name: s.Namespace}
			nsMap[s.Namespace] = ns
		}
		ns.Services = append(ns.Services, s)
	}
	out := make([]*SiteNamespace, 0, len(nsMap))
	for _, ns := range nsMap {
		sort.Slice(ns.Services, func(i, j int) bool { return ns.Services[i].Name < ns.Services[j].Name })
		out = append(out, ns)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func pageName(service string) string {
	return strings.Map(func(r rune) rune {
		if r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '.' || r == '-' || r == '_' {
			return r
		}
		return '_'
	}, service)
}

// resolve follows a $ref into the document's components.
func resolve(doc *Document, s map[string]any) (map[string]any, string) {
	for range 10 {
		ref, ok := s["$ref"].(string)
		if !ok {
			return s, ""
		}
		name := strings.TrimPrefix(ref, "#/components/schemas/")
		next, ok := doc.Components.Schemas[name].(map[string]any)
		if !ok {
			return s, name
		}
		if _, more := next["$ref"]; !more {
			return next, name
		}
		s = next
	}
	return s, ""
}

func inputRows(doc *Document, op *Operation) []SiteElem {
	var rows []SiteElem
	for _, p := range op.Parameters {
		rows = append(rows, SiteElem{Name: p.Name, In: p.In, Type: typeName(doc, p.Schema), Required: p.Required, Default: defaultOf(p.Schema)})
	}
	if op.RequestBody != nil {
		if mt, ok := op.RequestBody.Content["application/json"]; ok {
			schema := mt.Schema
			if all, ok := schema["allOf"].([]any); ok {
				for _, part := range all {
					if m, ok := part.(map[string]any); ok {
						rows = append(rows, objectRows(doc, m, "body", 0, map[string]bool{})...)
					}
				}
			} else {
				rows = append(rows, objectRows(doc, schema, "body", 0, map[string]bool{})...)
			}
		}
	}
	return rows
}

func outputRows(doc *Document, op *Operation) []SiteElem {
	ok := op.Responses["200"]
	if ok == nil {
		return nil
	}
	mt, found := ok.Content["application/json"]
	if !found {
		return nil
	}
	return objectRows(doc, mt.Schema, "", 0, map[string]bool{})
}

// objectRows lists an object schema's properties, nested objects indented.
func objectRows(doc *Document, s map[string]any, in string, depth int, seen map[string]bool) []SiteElem {
	s, name := resolve(doc, s)
	if name != "" {
		if seen[name] || depth > 5 {
			return nil
		}
		seen[name] = true
		defer delete(seen, name)
	}
	props, _ := s["properties"].(map[string]any)
	required := map[string]bool{}
	if req, ok := s["required"].([]any); ok {
		for _, r := range req {
			if rs, ok := r.(string); ok {
				required[rs] = true
			}
		}
	}
	names := make([]string, 0, len(props))
	for n := range props {
		names = append(names, n)
	}
	sort.Strings(names)
	var rows []SiteElem
	for _, n := range names {
		ps, _ := props[n].(map[string]any)
		rows = append(rows, SiteElem{Name: n, In: in, Type: typeName(doc, ps), Required: required[n], Default: defaultOf(ps), Depth: depth})
		target := ps
		if items, ok := ps["items"].(map[string]any); ok && ps["type"] == "array" {
			target = items
		}
		if r, _ := resolve(doc, target); r["properties"] != nil {
			rows = append(rows, objectRows(doc, target, in, depth+1, seen)...)
		}
	}
	return rows
}

// typeName shows a schema as the element type it came from.
func typeName(doc *Document, s map[string]any) string {
	if s == nil {
		return "as-is"
	}
	if ref, ok := s["$ref"].(string); ok {
		return strings.TrimPrefix(ref, "#/components/schemas/")
	}
	if t, ok := s["x-plexus-type"].(string); ok {
		return t
	}
	format, _ := s["format"].(string)
	switch s["type"] {
	case "integer":
		return "int"
	case "boolean":
		return "bool"
	case "number":
		return "float"
	case "array":
		items, _ := s["items"].(map[string]any)
		if len(items) == 0 {
			return "list"
		}
		return "list of " + typeName(doc, items)
	case "object":
		return "dict"
	case "string":
		switch format {
		case "date":
			return "date"
		case "date-time":
			return "datetime"
		case "uuid":
			return "uuid"
		case "password":
			return "secret"
		}
		if enum, ok := s["enum"].([]any); ok {
			parts := make([]string, len(enum))
			for i, e := range enum {
				parts[i] = fmt.Sprint(e)
			}
			return "one of " + strings.Join(parts, ", ")
		}
		return "text"
	case nil:
		return "as-is"
	}
	return fmt.Sprint(s["type"])
}

func defaultOf(s map[string]any) string {
	d, ok := s["default"]
	if !ok {
		return ""
	}
	return fmt.Sprint(d)
}
