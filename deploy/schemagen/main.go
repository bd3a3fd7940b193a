// Command schemagen writes the JSON Schemas kubeconform validates
// Kubernetes manifests with, from the OpenAPI (swagger.json) document of
// a Kubernetes release, so that validation needs no network: one file per
// kind, named as kubeconform's default location names them
// (deployment-apps-v1.json, service-v1.json), holding the kind's
// definition and every definition it refers to. Objects reject fields
// their definition does not name, int-or-string fields take either, and
// quantities take strings or numbers.
//
//	go run ./deploy/schemagen -swagger .../api/openapi-spec/swagger.json -out DIR
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

type gvk struct {
	Group   string `json:"group"`
	Version string `json:"version"`
	Kind    string `json:"kind"`
}

func main() {
	swagger := flag.String("swagger", "", "the swagger.json of a Kubernetes release")
	out := flag.String("out", "", "directory to write the schemas to")
	flag.Parse()
	if err := run(*swagger, *out); err != nil {
		fmt.Fprintln(os.Stderr, "schemagen:", err)
		os.Exit(1)
	}
}

func run(swagger, out string) error {
	data, err := os.ReadFile(swagger)
	if err != nil {
		return err
	}
	var doc struct {
		Definitions map[string]map[string]any `json:"definitions"`
	}
	if err := json.Unmarshal(data, &doc); err != nil {
		return fmt.Errorf("reading %s: %w", swagger, err)
	}
	defs := doc.Definitions
	for name, d := range defs {
		switch {
		case d["format"] == "int-or-string":
			defs[name] = map[string]any{"oneOf": []any{map[string]any{"type": "string"}, map[string]any{"type": "integer"}}}
		case strings.HasSuffix(name, ".api.resource.Quantity"):
			defs[name] = map[string]any{"oneOf": []any{map[string]any{"type": "string"}, map[string]any{"type": "number"}}}
		default:
			strict(d)
		}
	}
	if err := os.MkdirAll(out, 0o755); err != nil {
		return err
	}
	n := 0
	for name, d := range defs {
		raw, _ := json.Marshal(d["x-kubernetes-group-version-kind"])
		var kinds []gvk
		json.Unmarshal(raw, &kinds)
		for _, k := range kinds {
			used := map[string]any{}
			collect(defs, name, used)
			schema := map[string]any{"$ref": "#/definitions/" + name, "definitions": used}
			suffix := "-" + k.Version
			if k.Group != "" {
				suffix = "-" + strings.Split(k.Group, ".")[0] + suffix
			}
			file := filepath.Join(out, strings.ToLower(k.Kind)+suffix+".json")
			body, err := json.Marshal(schema)
			if err != nil {
				return err
			}
			if err := os.WriteFile(file, body, 0o644); err != nil {
				return err
			}
			n++
		}
	}
	fmt.Printf("schemagen: %d schemas in %s\n", n, out)
	return nil
}

// strict makes the objects of a definition reject fields they do not
// name.
func strict(v any) {
	switch x := v.(type) {
	case map[string]any:
		if _, ok := x["properties"]; ok && x["additionalProperties"] == nil {
			x["additionalProperties"] = false
		}
		for _, c := range x {
			strict(c)
		}
	case []any:
		for _, c := range x {
			strict(c)
		}
	}
}

// collect adds a definition and those it refers to.
func collect(defs map[string]map[string]any, name string, used map[string]any) {
	if _, ok := used[name]; ok {
		return
	}
	d, ok := defs[name]
	if !ok {
		return
	}
	used[name] = d
	var walk func(v any)
	walk = func(v any) {
		switch x := v.(type) {
		case map[string]any:
			if ref, ok := x["$ref"].(string); ok {
				collect(defs, strings.TrimPrefix(ref, "#/definitions/"), used)
			}
			for _, c := range x {
				walk(c)
			}
		case []any:
			for _, c := range x {
				walk(c)
			}
		}
	}
	walk(d)
}
