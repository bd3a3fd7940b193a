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
		b.WriteString("\n| field | type | default | description |\n|---|---|---|---|\n")
		props := k.Schema()["properties"].(map[string]any)
		for _, f := range k.Fields() {
			p := props[f.Name].(map[string]any)
			typ := fmt.Sprint(p["type"])
			if len(f.Enum) > 0 {
				typ = strings.Join(f.Enum, " \\| ")
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
			fmt.Fprintf(&b, "| `%s` | %s | %s | %s |\n", f.Name, typ, def, strings.ReplaceAll(doc, "|", "\\|"))
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
