// Package docgen writes the reference documentation from the declarations
// it describes: one page for the configuration kinds (from the registry)
// and one for plexus.yaml (from the settings struct). A test keeps the
// committed pages in docs/reference in step with the code.
package docgen

import (
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/plexushq/plexus/internal/config"
	"github.com/plexushq/plexus/internal/enmasse"
	"github.com/plexushq/plexus/internal/registry"
)

// Kinds returns docs/reference/kinds.md.
func Kinds() string {
	var b strings.Builder
	b.WriteString("# Configuration kinds\n\n")
	b.WriteString("Generated from the kind declarations; do not edit. Each kind is a section of\n")
	b.WriteString("an enmasse file and a path of the admin API (`/admin/api/v1/objects/{kind}`).\n")
	for _, k := range registry.All() {
		fmt.Fprintf(&b, "\n## %s — %s\n\n%s\n", k.ID, k.Title, k.Summary)
		if len(k.Aliases) > 0 {
			fmt.Fprintf(&b, "\nAlso accepted as: %s.\n", code(k.Aliases))
		}
		b.WriteString(zatoFields(k))
		props := k.Schema()["properties"].(map[string]any)
		var nested []registry.Field
		for _, group := range groups(k.Fields()) {
			fmt.Fprintf(&b, "\n### %s\n\n", group)
			b.WriteString(fieldTable(k.Fields(), group, props))
			for _, f := range k.Fields() {
				if f.Group == group && f.Sub != nil {
					nested = append(nested, f)
				}
			}
		}
		for _, f := range nested {
			fmt.Fprintf(&b, "\nEach of `%s`:\n\n", f.Name)
			sub := props[f.Name].(map[string]any)
			if items, ok := sub["items"].(map[string]any); ok {
				sub = items
			} else if values, ok := sub["additionalProperties"].(map[string]any); ok {
				sub = values
			}
			b.WriteString(fieldTable(f.Sub, "", sub["properties"].(map[string]any)))
		}
		if k.Out != nil && k.Out.Section != "" {
			fmt.Fprintf(&b, "\nServices reach an object by name: `self.out.%s[\"Name\"]` in Starlark, `s.Out().Kind(%q, name)` in Go.\n", k.Out.Section, k.ID)
		}
		if len(k.Actions) > 0 {
			fmt.Fprintf(&b, "\nActions (`POST /admin/api/v1/objects/%s/{name}/{action}`, `plexus action %s NAME ACTION`):\n\n", k.ID, k.ID)
			for _, a := range k.Actions {
				fmt.Fprintf(&b, "- `%s`: %s", a.Name, a.Doc)
				if len(a.Aliases) > 0 {
					fmt.Fprintf(&b, " Also at %s, kept as an alias of older clients.", code(prefixed(a.Aliases)))
				}
				b.WriteString("\n")
			}
		}
		if len(k.Examples) > 0 {
			b.WriteString("\nExample (admin API JSON):\n\n```json\n")
			b.WriteString(k.Examples[0])
			b.WriteString("\n```\n")
		}
	}
	b.WriteString("\n## Zato sections not supported yet\n\n")
	b.WriteString("An enmasse import skips these sections of Zato's files (3.2 and current) with\none warning each, saying how many objects it held:\n\n")
	b.WriteString("| section | holds |\n|---|---|\n")
	for _, s := range enmasse.UnsupportedZatoSections() {
		fmt.Fprintf(&b, "| `%s` | %s |\n", s.Name, s.Title)
	}
	return b.String()
}

// groups returns the groups of fields, in the order they first appear.
func groups(fields []registry.Field) []string {
	var out []string
	for _, f := range fields {
		if !slices.Contains(out, f.Group) {
			out = append(out, f.Group)
		}
	}
	return out
}

// fieldTable returns the table of the fields of a group ("" for all),
// with their schema properties.
func fieldTable(fields []registry.Field, group string, props map[string]any) string {
	var b strings.Builder
	b.WriteString("| field | label | type | default | description |\n|---|---|---|---|---|\n")
	for _, f := range fields {
		if group != "" && f.Group != group {
			continue
		}
		p := props[f.Name].(map[string]any)
		typ := fmt.Sprint(p["type"])
		if len(f.Enum) > 0 {
			values := make([]string, len(f.Enum))
			for i, v := range f.Enum {
				values[i] = "`" + v + "`"
				if len(f.EnumLabels) > i && !strings.EqualFold(f.EnumLabels[i], v) {
					values[i] += " (" + f.EnumLabels[i] + ")"
				}
			}
			typ = strings.Join(values, ", ")
		}
		def := ""
		if d, ok := p["default"]; ok {
			def = fmt.Sprintf("`%v`", d)
		}
		doc := f.Doc
		if f.Required || f.Name == "name" {
			doc = "**Required.** " + doc
		}
		if f.Ref != "" {
			doc += fmt.Sprintf(" Names a %s.", refTitle(f.Ref))
		}
		if f.Secret {
			doc += " Secret: never shown or exported."
		}
		switch {
		case f.Min != "" && f.Max != "":
			doc += fmt.Sprintf(" From %s to %s.", f.Min, f.Max)
		case f.Min != "":
			doc += fmt.Sprintf(" At least %s.", f.Min)
		case f.Max != "":
			doc += fmt.Sprintf(" At most %s.", f.Max)
		}
		if f.Unit != "" {
			doc += " Unit: " + f.Unit + "."
		}
		if f.When != nil {
			doc += fmt.Sprintf(" Only when `%s` is %s.", f.When.Field, orList(f.When.Values))
		}
		if f.Advanced {
			doc += " Advanced."
		}
		fmt.Fprintf(&b, "| `%s` | %s | %s | %s | %s |\n", f.Name, f.Label, typ, def, strings.ReplaceAll(doc, "|", "\\|"))
	}
	return b.String()
}

// prefixed returns admin API paths with their prefix.
func prefixed(paths []string) []string {
	out := make([]string, len(paths))
	for i, p := range paths {
		out[i] = "POST /admin/api/v1" + p
	}
	return out
}

// orList returns `a`, `b` or `c`.
func orList(values []string) string {
	quoted := make([]string, len(values))
	for i, v := range values {
		quoted[i] = "`" + v + "`"
	}
	if len(quoted) == 1 {
		return quoted[0]
	}
	return strings.Join(quoted[:len(quoted)-1], ", ") + " or " + quoted[len(quoted)-1]
}

// zatoFields describes the Zato field names a kind's import accepts.
func zatoFields(k *registry.Kind) string {
	var renamed, unsupported, refused []string
	for _, zato := range slices.Sorted(maps.Keys(k.ZatoFields)) {
		switch field := k.ZatoFields[zato]; field {
		case registry.ZatoUnsupported:
			unsupported = append(unsupported, zato)
		case registry.ZatoRefused:
			refused = append(refused, zato)
		default:
			renamed = append(renamed, fmt.Sprintf("`%s` (as `%s`)", zato, field))
		}
	}
	var b strings.Builder
	if len(renamed) > 0 {
		fmt.Fprintf(&b, "\nZato field names read on import: %s.\n", strings.Join(renamed, ", "))
	}
	if len(unsupported) > 0 {
		fmt.Fprintf(&b, "\nZato fields not supported yet, ignored on import with a warning: %s.\n", code(unsupported))
	}
	if len(refused) > 0 {
		fmt.Fprintf(&b, "\nZato fields not supported yet that an import refuses unless empty (ignoring them would let in callers Zato turns away): %s.\n", code(refused))
	}
	for _, field := range slices.Sorted(maps.Keys(k.ZatoSkipped)) {
		values := k.ZatoSkipped[field]
		var list []string
		for _, v := range slices.Sorted(maps.Keys(values)) {
			list = append(list, fmt.Sprintf("`%s` (%s)", v, values[v]))
		}
		fmt.Fprintf(&b, "\nZato's values of `%s` not supported yet; an import skips their objects with a warning: %s.\n", field, strings.Join(list, ", "))
	}
	return b.String()
}

func refTitle(ref string) string {
	if ref == registry.RefService {
		return "deployed service"
	}
	if k, ok := registry.Lookup(ref); ok {
		return k.Title + " (`" + k.ID + "`)"
	}
	return ref
}

func code(items []string) string {
	out := make([]string, len(items))
	for i, s := range items {
		out[i] = "`" + s + "`"
	}
	return strings.Join(out, ", ")
}

// Settings returns docs/reference/settings.md.
func Settings() string {
	var b strings.Builder
	b.WriteString("# plexus.yaml\n\n")
	b.WriteString("Generated from the settings declaration; do not edit. Every key is optional.\n")
	b.WriteString("`plexus quickstart` writes this file with every key, its default and its\n")
	b.WriteString("description as a comment. Command-line flags override it.\n\n")
	b.WriteString("| key | default | description |\n|---|---|---|\n")
	for _, k := range config.Keys() {
		def := ""
		if k.Default != nil {
			def = fmt.Sprintf("`%v`", k.Default)
			if s, ok := k.Default.(string); ok && s == "" {
				def = "empty"
			}
		}
		fmt.Fprintf(&b, "| `%s` | %s | %s |\n", k.Path, def, k.Doc)
	}
	return b.String()
}
