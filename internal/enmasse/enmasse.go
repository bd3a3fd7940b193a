// Package enmasse reads and writes the whole configuration as YAML in
// Zato's enmasse format: a mapping of section names (one per kind, e.g.
// channel_rest) to lists of objects, each a mapping of field names to
// values.
//
// Import parses every file (following include:), converts each object's
// fields to JSON and decodes them with the kind's own declaration, so type
// checks and unknown-field suggestions come from one place. Every problem,
// from every file, is collected with its file:line:column before anything
// changes; the objects are then applied through the runtime's one change
// path, in one transaction. Problems that the change path reports
// (references, services not deployed, conflicts) are located in the files
// too, by the kind, name and field they name.
//
// Export writes every object of every kind, sections in dependency order,
// objects by name, fields in declaration order, only fields that differ
// from the kind's defaults, and secrets as ${VAR} references. The output
// is deterministic, so export → import → export gives the same bytes.
//
// The functions of the package are safe for concurrent use.
package enmasse

import (
	"cmp"
	"fmt"
	"slices"
	"strings"

	"github.com/plexushq/plexus/internal/registry"
)

// Report is what an import did, or would do in a dry run.
type Report struct {
	// Files are the files read, the roots first, then what they include.
	Files []string `json:"files"`
	// Objects is the number of objects in the files.
	Objects int `json:"objects"`
	// Created, Updated and Unchanged count the objects of the files by
	// what the import does with them.
	Created   int `json:"created"`
	Updated   int `json:"updated"`
	Unchanged int `json:"unchanged"`
	// CreatedObjects and UpdatedObjects name the objects created and
	// changed, in the files' order.
	CreatedObjects []registry.Ref `json:"created_objects"`
	UpdatedObjects []registry.Ref `json:"updated_objects"`
	// Deleted lists the objects --replace deletes: every object of the
	// store that the files do not hold.
	Deleted []registry.Ref `json:"deleted"`
	// Rev is the revision the import committed, 0 when it changed nothing.
	Rev    int64 `json:"rev"`
	DryRun bool  `json:"dry_run"`
	// Warnings did not stop the import, e.g. a Zato field that Plexus does
	// not support yet.
	Warnings []*registry.Problem `json:"warnings"`
	// Problems stopped it: when there is any, nothing was changed.
	Problems []*registry.Problem `json:"problems"`
	// MissingVariables lists every ${VAR} the files use that is not set.
	MissingVariables []string `json:"missing_variables,omitempty"`
}

// OK reports whether the import had no problems.
func (r *Report) OK() bool { return len(r.Problems) == 0 }

// Summary returns one line saying what the import did.
func (r *Report) Summary() string {
	verb := ""
	if r.DryRun {
		verb = "would be "
	}
	noun := "objects"
	if r.Objects == 1 {
		noun = "object"
	}
	s := fmt.Sprintf("%d %s: %d %screated, %d %supdated, %d unchanged, %d %sdeleted",
		r.Objects, noun, r.Created, verb, r.Updated, verb, r.Unchanged, len(r.Deleted), verb)
	if r.Rev > 0 {
		s += fmt.Sprintf(" (revision %d)", r.Rev)
	}
	return s
}

// Refused is the error of an import that found problems and changed
// nothing. Its text lists every problem, one per line.
type Refused struct {
	Report *Report
}

// Error lists every problem, one per line.
func (e *Refused) Error() string {
	var b strings.Builder
	n := len(e.Report.Problems)
	if n == 1 {
		b.WriteString("1 problem; nothing was changed:")
	} else {
		fmt.Fprintf(&b, "%d problems; nothing was changed:", n)
	}
	for _, p := range e.Report.Problems {
		b.WriteString("\n  ")
		b.WriteString(p.Error())
	}
	if len(e.Report.MissingVariables) > 0 {
		fmt.Fprintf(&b, "\n  variables not set: %s", strings.Join(e.Report.MissingVariables, ", "))
	}
	return b.String()
}

// sortProblems orders problems by file (in the order the files were
// read), line and column; problems without a place come last.
func sortProblems(ps []*registry.Problem, files []string) {
	order := make(map[string]int, len(files))
	for i, f := range files {
		order[f] = i
	}
	rank := func(p *registry.Problem) int {
		if p.File == "" {
			return len(files) + 1
		}
		if i, ok := order[p.File]; ok {
			return i
		}
		return len(files)
	}
	slices.SortStableFunc(ps, func(a, b *registry.Problem) int {
		return cmp.Or(cmp.Compare(rank(a), rank(b)), cmp.Compare(a.Line, b.Line), cmp.Compare(a.Column, b.Column))
	})
}
