package enmasse

import (
	"fmt"
	"io"
	"os"
	"strings"
)

// IsTerminal reports whether w is a terminal.
func IsTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}

// ProgressPrinter shows an import's progress: on a terminal, a bar redrawn
// in place; otherwise one plain line as each phase starts, which reads
// well in CI logs. It is not safe for concurrent use.
type ProgressPrinter struct {
	w        io.Writer
	terminal bool
	phase    string
	percent  int
	drawn    bool
}

// NewProgressPrinter returns a printer writing to w.
func NewProgressPrinter(w io.Writer, terminal bool) *ProgressPrinter {
	return &ProgressPrinter{w: w, terminal: terminal, percent: -1}
}

// barWidth is the width of the terminal bar, in characters.
const barWidth = 30

// Update shows p.
func (pp *ProgressPrinter) Update(p Progress) {
	if p.Phase == PhaseDone {
		pp.Finish()
		return
	}
	if !pp.terminal {
		if p.Phase != pp.phase {
			pp.phase = p.Phase
			fmt.Fprintf(pp.w, "enmasse: %s %s\n", p.Phase, count(p.Phase, p.Total))
		}
		return
	}
	percent := 100
	if p.Total > 0 {
		percent = p.Done * 100 / p.Total
	}
	if p.Phase == pp.phase && percent == pp.percent {
		return
	}
	pp.phase, pp.percent = p.Phase, percent
	filled := percent * barWidth / 100
	bar := strings.Repeat("█", filled) + strings.Repeat("░", barWidth-filled)
	fmt.Fprintf(pp.w, "\r\033[K%-9s %s %3d%%  %d/%d", p.Phase, bar, percent, p.Done, p.Total)
	pp.drawn = true
}

// Finish clears the bar from the terminal.
func (pp *ProgressPrinter) Finish() {
	if pp.terminal && pp.drawn {
		fmt.Fprint(pp.w, "\r\033[K")
		pp.drawn = false
	}
}

func count(phase string, n int) string {
	unit := map[string]string{PhaseRead: "file", PhaseCheck: "object", PhaseApply: "change"}[phase]
	if unit == "" {
		return fmt.Sprint(n)
	}
	if n != 1 {
		unit += "s"
	}
	return fmt.Sprintf("%d %s", n, unit)
}
