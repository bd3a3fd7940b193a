package dashboard

import (
	"html/template"
	"strings"
)

// pageNames are the pages, each a template of its own over the layout.
var pageNames = []string{"message", "login", "overview", "list", "form", "help", "services", "service", "deploy", "scheduler", "pubsub", "enmasse", "account"}

// funcs are the functions the templates use.
var funcs = template.FuncMap{
	"add":     func(a, b int) int { return a + b },
	"sub":     func(a, b int) int { return a - b },
	"lines":   func(ss []string) string { return strings.Join(ss, "\n") },
	"actions": func() []string { return []string{"execute", "pause", "resume"} },
	"verbs":   func() []string { return []string{"GET", "POST", "PUT", "PATCH", "DELETE"} },
	"fieldCtx": func(fd *formData, f fieldView) fieldCtx {
		return fieldCtx{fieldView: f, Kind: fd.Kind.ID, Readonly: fd.Name != ""}
	},
}

// fieldCtx is what the field template gets: a field, the kind's id and
// whether the name can be changed.
type fieldCtx struct {
	fieldView
	Kind     string
	Readonly bool
}

// parsePages parses every page with the layout; a broken template
// panics at start-up, and the tests render every page.
func parsePages() map[string]*template.Template {
	out := map[string]*template.Template{}
	for _, name := range pageNames {
		out[name] = template.Must(template.New(name).Funcs(funcs).ParseFS(files, "templates/layout.html", "templates/"+name+".html"))
	}
	return out
}
