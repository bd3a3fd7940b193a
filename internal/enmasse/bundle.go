package enmasse

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v4"

	"github.com/plexushq/plexus/internal/redact"
	"github.com/plexushq/plexus/internal/registry"
)

// Bundle is an import as a client sends it to a server's admin API: the
// files, read where the client runs (the first is the root; the others
// are what it includes), and the values of the variables they use, taken
// from the client's environment. The server parses and checks it all, so
// every problem comes back with its file:line:column.
type Bundle struct {
	Files []File `json:"files"`
	// Env holds the variables the files use that are set.
	Env map[string]string `json:"env,omitempty"`
	// ConfirmDelete is Options.ConfirmDelete.
	ConfirmDelete []registry.Ref `json:"confirm_delete,omitempty"`
	// IfRev is Options.IfRev.
	IfRev int64 `json:"if_rev,omitempty"`
}

// File is one file of a bundle. Error says why the client could not read
// a file that another includes.
type File struct {
	Name    string `json:"name"`
	Content string `json:"content"`
	Error   string `json:"error,omitempty"`
}

// Input returns the bundle as an import's input.
func (b *Bundle) Input() Input {
	in := Input{Read: func(name string) ([]byte, error) {
		for _, f := range b.Files {
			if f.Name == name {
				if f.Error != "" {
					return nil, errors.New(f.Error)
				}
				return []byte(f.Content), nil
			}
		}
		return nil, errors.New("not sent with the import (send included files along, as plexus enmasse import does)")
	}}
	if len(b.Files) > 0 {
		in.Roots = []string{b.Files[0].Name}
	}
	return in
}

// Lookup returns a variable of the bundle.
func (b *Bundle) Lookup(name string) (string, bool) {
	v, ok := b.Env[name]
	return v, ok
}

// Gather reads the file at path and every file it includes, and the values
// lookup gives the variables they use, into a bundle. Only the root must
// be readable: the server reports the rest, with their places.
func Gather(path string, lookup func(string) (string, bool)) (*Bundle, error) {
	in := FileInput(path)
	root := in.Roots[0]
	data, err := in.Read(root)
	if err != nil {
		return nil, fmt.Errorf("reading enmasse file: %w", err)
	}
	b := &Bundle{Env: map[string]string{}}
	seen := map[string]bool{root: true}
	queue := []File{{Name: root, Content: string(data)}}
	for len(queue) > 0 {
		f := queue[0]
		queue = queue[1:]
		b.Files = append(b.Files, f)
		if f.Error != "" {
			continue
		}
		doc, _ := parseYAML(f.Name, []byte(f.Content))
		scanVars(doc, func(name string) {
			if v, ok := lookup(name); ok {
				b.Env[name] = v
			}
		})
		for _, inc := range includesOf(doc) {
			name := resolveInclude(f.Name, inc)
			if seen[name] {
				continue
			}
			seen[name] = true
			next := File{Name: name}
			if data, err := in.Read(name); err != nil {
				next.Error = err.Error()
			} else {
				next.Content = string(data)
			}
			queue = append(queue, next)
		}
	}
	return b, nil
}

// includesOf returns the file names a document's include: lists.
func includesOf(doc *yaml.Node) []string {
	doc = deref(doc)
	if doc == nil || doc.Kind != yaml.MappingNode {
		return nil
	}
	var out []string
	for i := 0; i+1 < len(doc.Content); i += 2 {
		if doc.Content[i].Value != IncludeKey {
			continue
		}
		v := deref(doc.Content[i+1])
		switch {
		case v == nil:
		case v.Kind == yaml.ScalarNode && v.Value != "":
			out = append(out, v.Value)
		case v.Kind == yaml.SequenceNode:
			for _, item := range v.Content {
				if item = deref(item); item != nil && item.Kind == yaml.ScalarNode && item.Value != "" {
					out = append(out, item.Value)
				}
			}
		}
	}
	return out
}

// scanVars calls fn with the name of every variable a document's values
// refer to. Aliases are not followed: they repeat what their anchor has.
func scanVars(n *yaml.Node, fn func(string)) {
	if n == nil {
		return
	}
	if n.Kind == yaml.ScalarNode && n.Tag == "!!str" && n.Style&yaml.TaggedStyle == 0 {
		for _, name := range varRefs(n.Value) {
			fn(name)
		}
	}
	for _, c := range n.Content {
		scanVars(c, fn)
	}
}

// ReadEnvFile reads variables from a file: one NAME=value (or NAME: value)
// per line, as in .env files and Zato's INI env files. Blank lines, lines
// starting with # or ; and [section] headers are skipped; an "export "
// prefix is allowed; a value in single quotes is taken as is, one in
// double quotes may use \n, \t, \" and \\.
func ReadEnvFile(path string) (map[string]string, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("reading env file: %w", err)
	}
	defer f.Close()
	out := map[string]string{}
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for line := 1; sc.Scan(); line++ {
		s := strings.TrimSpace(sc.Text())
		if s == "" || s[0] == '#' || s[0] == ';' || s[0] == '[' && strings.HasSuffix(s, "]") {
			continue
		}
		s = strings.TrimPrefix(s, "export ")
		i := strings.IndexAny(s, "=:")
		if i <= 0 {
			return nil, fmt.Errorf("reading env file %s:%d: expected NAME=value", filepath.Base(path), line)
		}
		name, value := strings.TrimSpace(s[:i]), strings.TrimSpace(s[i+1:])
		if !validVarName(name) {
			return nil, fmt.Errorf("reading env file %s:%d: %s is not a variable name", filepath.Base(path), line, redact.Quote(name))
		}
		switch {
		case len(value) >= 2 && value[0] == '\'' && value[len(value)-1] == '\'':
			value = value[1 : len(value)-1]
		case len(value) >= 2 && value[0] == '"' && value[len(value)-1] == '"':
			uq, err := strconv.Unquote(value)
			if err != nil {
				return nil, fmt.Errorf("reading env file %s:%d: %v", filepath.Base(path), line, err)
			}
			value = uq
		}
		out[name] = value
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("reading env file: %w", err)
	}
	return out, nil
}
