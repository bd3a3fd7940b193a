package logging

import (
	"bytes"
	"strings"
	"sync"
)

// Recent keeps the last lines of the log, for the Dashboard to show the
// lines of one correlation id. A record's further lines (a traceback,
// each starting with a tab) stay with it. It holds at most Max records
// (default 5,000) of at most MaxLine bytes each (default 8 KiB, longer
// ones cut), and is safe for concurrent use.
type Recent struct {
	Max, MaxLine int

	mu      sync.Mutex
	lines   []string // a ring of records
	next    int
	partial []byte
}

// Write adds the records in p; a record may span several writes.
func (r *Recent) Write(p []byte) (int, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	limit, maxLine := r.Max, r.MaxLine
	if limit <= 0 {
		limit = 5000
	}
	if maxLine <= 0 {
		maxLine = 8 << 10
	}
	data := p
	for len(data) > 0 {
		i := bytes.IndexByte(data, '\n')
		if i < 0 {
			r.partial = appendCut(r.partial, data, maxLine)
			break
		}
		line := appendCut(r.partial, data[:i], maxLine)
		r.partial = r.partial[:0]
		data = data[i+1:]
		if len(line) > 0 && line[0] == '\t' && len(r.lines) > 0 {
			last := (r.next - 1 + len(r.lines)) % len(r.lines)
			if room := maxLine - len(r.lines[last]) - 1; room > 0 {
				r.lines[last] += "\n" + string(line[:min(len(line), room)])
			}
			continue
		}
		if len(r.lines) < limit {
			r.lines = append(r.lines, string(line))
			r.next = len(r.lines) % limit
		} else {
			r.lines[r.next] = string(line)
			r.next = (r.next + 1) % limit
		}
	}
	return len(p), nil
}

func appendCut(dst, src []byte, limit int) []byte {
	if room := limit - len(dst); room < len(src) {
		src = src[:max(room, 0)]
	}
	return append(dst, src...)
}

// Lines returns the records that contain s, oldest first.
func (r *Recent) Lines(s string) []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []string
	n := len(r.lines)
	for i := range n {
		l := r.lines[(r.next+i)%n]
		if strings.Contains(l, s) {
			out = append(out, l)
		}
	}
	return out
}
