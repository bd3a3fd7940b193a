package sio

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/fsnotify/fsnotify"
	"github.com/santhosh-tekuri/jsonschema/v6"
	"golang.org/x/text/language"
	"golang.org/x/text/message"
)

// Schemas compiles the JSON Schema files services name, once each, and
// forgets them when a file in a watched directory changes, so the next
// request compiles the new version. Relative names are resolved against
// the environment's schema/json directory. It is safe for concurrent use.
type Schemas struct {
	dir string
	log *slog.Logger

	mu      sync.RWMutex
	entries map[string]*schemaEntry
	dirs    map[string]bool // directories to watch
	added   chan string     // directories added while watching
	printer *message.Printer
}

type schemaEntry struct {
	schema *jsonschema.Schema
	raw    any
	err    error
}

// NewSchemas returns the schema files of a directory (the environment's
// schema/json).
func NewSchemas(dir string, log *slog.Logger) *Schemas {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Schemas{
		dir: dir, log: log, entries: map[string]*schemaEntry{},
		dirs: map[string]bool{dir: true}, added: make(chan string, 16),
		printer: message.NewPrinter(language.English),
	}
}

// Dir returns the directory relative names are resolved against.
func (s *Schemas) Dir() string { return s.dir }

// Path returns the file a schema name refers to.
func (s *Schemas) Path(name string) string {
	if filepath.IsAbs(name) {
		return filepath.Clean(name)
	}
	return filepath.Join(s.dir, filepath.FromSlash(name))
}

// Get returns a compiled schema and its JSON document, compiling it on
// first use.
func (s *Schemas) Get(name string) (*jsonschema.Schema, any, error) {
	p := s.Path(name)
	s.mu.RLock()
	e, ok := s.entries[p]
	s.mu.RUnlock()
	if ok {
		return e.schema, e.raw, e.err
	}
	e = s.compile(p)
	s.mu.Lock()
	s.entries[p] = e
	d := filepath.Dir(p)
	if !s.dirs[d] {
		s.dirs[d] = true
		select {
		case s.added <- d:
		default:
		}
	}
	s.mu.Unlock()
	if e.err != nil {
		s.log.Error("loading JSON Schema", "schema", name, "error", e.err.Error())
	}
	return e.schema, e.raw, e.err
}

func (s *Schemas) compile(p string) *schemaEntry {
	f, err := os.Open(p)
	if err != nil {
		return &schemaEntry{err: fmt.Errorf("loading JSON Schema %s: %w", p, err)}
	}
	defer f.Close()
	raw, err := jsonschema.UnmarshalJSON(f)
	if err != nil {
		return &schemaEntry{err: fmt.Errorf("loading JSON Schema %s: %w", p, err)}
	}
	c := jsonschema.NewCompiler()
	if err := c.AddResource(p, raw); err != nil {
		return &schemaEntry{err: fmt.Errorf("loading JSON Schema %s: %w", p, err)}
	}
	sch, err := c.Compile(p)
	if err != nil {
		return &schemaEntry{err: fmt.Errorf("compiling JSON Schema %s: %w", p, err)}
	}
	return &schemaEntry{schema: sch, raw: raw}
}

// Forget drops every compiled schema; the next use compiles it again.
func (s *Schemas) Forget() {
	s.mu.Lock()
	clear(s.entries)
	s.mu.Unlock()
}

// Watch forgets the compiled schemas whenever a file changes in the schema
// directory or in the directory of any schema file used, until ctx ends.
// A schema may refer to others, so any change forgets them all.
func (s *Schemas) Watch(ctx context.Context) error {
	w, err := fsnotify.NewWatcher()
	if err != nil {
		return fmt.Errorf("watching JSON Schemas: %w", err)
	}
	defer w.Close()
	s.mu.RLock()
	for d := range s.dirs {
		if err := w.Add(d); err != nil && !errors.Is(err, os.ErrNotExist) {
			s.log.Warn("watching JSON Schemas", "dir", d, "error", err.Error())
		}
	}
	s.mu.RUnlock()
	// Editors write in bursts; forget once the burst is over.
	var debounce <-chan time.Time
	for {
		select {
		case <-ctx.Done():
			return nil
		case d := <-s.added:
			if err := w.Add(d); err != nil {
				s.log.Warn("watching JSON Schemas", "dir", d, "error", err.Error())
			}
		case ev, ok := <-w.Events:
			if !ok {
				return nil
			}
			if strings.HasPrefix(filepath.Base(ev.Name), ".") {
				continue
			}
			debounce = time.After(50 * time.Millisecond)
		case <-debounce:
			debounce = nil
			s.Forget()
			s.log.Info("JSON Schemas changed; they are compiled again on next use")
		case err, ok := <-w.Errors:
			if !ok {
				return nil
			}
			s.log.Warn("watching JSON Schemas", "error", err.Error())
		}
	}
}

// Validate validates a payload against a schema. The error is a
// *SchemaError for invalid payloads and another error when the schema
// itself cannot be loaded.
func (s *Schemas) Validate(name string, payload any) error {
	sch, _, err := s.Get(name)
	if err != nil {
		return err
	}
	if !pure(payload, 0) {
		// A payload from code (a *big.Int, a struct): check its JSON form.
		if payload, err = jsonForm(payload); err != nil {
			return &SchemaError{Details: "the payload cannot be encoded as JSON"}
		}
	}
	err = sch.Validate(payload)
	var ve *jsonschema.ValidationError
	if errors.As(err, &ve) {
		return &SchemaError{Details: s.details(ve)}
	}
	return err
}

// details lists the leaf problems of a validation error: "/pub_year: got
// string, want number".
func (s *Schemas) details(ve *jsonschema.ValidationError) string {
	var parts []string
	var walk func(e *jsonschema.ValidationError)
	walk = func(e *jsonschema.ValidationError) {
		if len(e.Causes) == 0 {
			loc := "/" + strings.Join(e.InstanceLocation, "/")
			parts = append(parts, loc+": "+e.ErrorKind.LocalizedString(s.printer))
			return
		}
		for _, c := range e.Causes {
			walk(c)
		}
	}
	walk(ve)
	return strings.Join(parts, "; ")
}

// SchemaError is a payload that does not validate against its JSON Schema.
type SchemaError struct {
	// Details lists the problems; callers see them only when the service's
	// detailed_errors switch is on.
	Details string
}

func (e *SchemaError) Error() string { return "Invalid request: " + e.Details }

// pure reports whether v holds only the types a JSON decoder produces,
// which is what the validator accepts.
func pure(v any, depth int) bool {
	if depth > 1000 {
		return false
	}
	switch x := v.(type) {
	case nil, string, bool, json.Number, float64, int, int64:
		return true
	case map[string]any:
		for _, e := range x {
			if !pure(e, depth+1) {
				return false
			}
		}
		return true
	case []any:
		for _, e := range x {
			if !pure(e, depth+1) {
				return false
			}
		}
		return true
	}
	return false
}
