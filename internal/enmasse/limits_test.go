package enmasse_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/plexushq/plexus/internal/enmasse"
)

// Aliases and merge keys that expand exponentially (ten to the tenth
// values here) are a problem found quickly, not a hang.
func TestAliasBombs(t *testing.T) {
	refs := func(name string) string {
		return strings.TrimSuffix(strings.Repeat("*"+name+", ", 10), ", ")
	}
	var seq, merge strings.Builder
	seq.WriteString("anchors:\n  a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n")
	merge.WriteString("anchors:\n  m0: &m0 {k0: 1}\n")
	for i := 1; i <= 9; i++ {
		fmt.Fprintf(&seq, "  a%d: &a%d [%s]\n", i, i, refs(fmt.Sprintf("a%d", i-1)))
		fmt.Fprintf(&merge, "  m%d: &m%d {k%d: 1, <<: [%s]}\n", i, i, i, refs(fmt.Sprintf("m%d", i-1)))
	}
	seq.WriteString("test_credentials:\n  - name: b\n    extra: {v: *a9}\n")
	merge.WriteString("test_credentials:\n  - name: b\n    extra:\n      <<: *m9\n")
	for name, bomb := range map[string]string{"sequence": seq.String(), "merge": merge.String()} {
		t.Run(name, func(t *testing.T) {
			b := &enmasse.Bundle{Files: []enmasse.File{{Name: "bomb.yaml", Content: bomb}}}
			start := time.Now()
			_, err := enmasse.Import(context.Background(), newRuntime(t), b.Input(), enmasse.Options{})
			if err == nil || !strings.Contains(err.Error(), "too much to read") {
				t.Errorf("want a too-much-to-read problem, got %v", err)
			}
			if took := time.Since(start); took > 10*time.Second {
				t.Errorf("took %s", took)
			}
		})
	}
}
