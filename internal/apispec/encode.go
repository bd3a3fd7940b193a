package apispec

import (
	"bytes"
	"encoding/json"
	"fmt"

	"go.yaml.in/yaml/v4"
)

// JSON returns the document as indented JSON.
func (d *Document) JSON() ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(d); err != nil {
		return nil, fmt.Errorf("encoding the OpenAPI document: %w", err)
	}
	return buf.Bytes(), nil
}

// YAML returns the document as YAML, its keys in the same order as JSON.
func (d *Document) YAML() ([]byte, error) {
	data, err := json.Marshal(d)
	if err != nil {
		return nil, fmt.Errorf("encoding the OpenAPI document: %w", err)
	}
	return JSONToYAML(data)
}

// JSONToYAML rewrites a JSON document as YAML, keeping the order of keys.
func JSONToYAML(data []byte) ([]byte, error) {
	var node yaml.Node
	if err := yaml.Unmarshal(data, &node); err != nil {
		return nil, fmt.Errorf("converting the OpenAPI document to YAML: %w", err)
	}
	plain(&node)
	var buf bytes.Buffer
	enc := yaml.NewEncoder(&buf)
	enc.SetIndent(2)
	if err := enc.Encode(&node); err != nil {
		return nil, fmt.Errorf("converting the OpenAPI document to YAML: %w", err)
	}
	enc.Close()
	return buf.Bytes(), nil
}

// plain drops the flow style JSON gives every node, so the YAML is block
// style.
func plain(n *yaml.Node) {
	n.Style = 0
	for _, c := range n.Content {
		plain(c)
	}
}

// Parse reads a document written by JSON or YAML.
func Parse(data []byte) (*Document, error) {
	var generic any
	if err := yaml.Unmarshal(data, &generic); err != nil {
		return nil, fmt.Errorf("reading the OpenAPI document: %w", err)
	}
	j, err := json.Marshal(generic)
	if err != nil {
		return nil, fmt.Errorf("reading the OpenAPI document: %w", err)
	}
	var d Document
	if err := json.Unmarshal(j, &d); err != nil {
		return nil, fmt.Errorf("reading the OpenAPI document: %w", err)
	}
	return &d, nil
}
