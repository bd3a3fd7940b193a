package plexustest

import (
	"bytes"
	"strings"
	"sync"
	"testing"
	"time"
)

// accessMark is in the text form of an access log line; accessMarkJSON in
// its JSON form.
const (
	accessMark     = "msg=request "
	accessMarkJSON = `"msg":"request",`
)

// Log collects what a server logs. A record is a line with the lines after
// it that start with a tab (the further lines of a multi-line value, such
// as a backtrace). Its zero value is ready to use, and it is safe for
// concurrent use.
type Log struct {
	mu      sync.Mutex
	buf     bytes.Buffer
	changed chan struct{} // closed and replaced on every write
	flush   func()        // writes what the server still buffers
	timeout time.Duration // of waits; zero: DefaultTimeout
}

// Write appends p and wakes those waiting for a record.
func (l *Log) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.changed != nil {
		close(l.changed)
		l.changed = nil
	}
	return l.buf.Write(p)
}

// String returns everything logged so far.
func (l *Log) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.String()
}

// Lines returns the records that contain every one of parts, such as a
// request's cid and a message.
func (l *Log) Lines(parts ...string) []string {
	var records []string
	for line := range strings.SplitSeq(l.String(), "\n") {
		if n := len(records); n > 0 && strings.HasPrefix(line, "\t") {
			records[n-1] += "\n" + line
		} else {
			records = append(records, line)
		}
	}
	var out []string
	for _, r := range records {
		if r != "" && containsAll(r, parts) {
			out = append(out, r)
		}
	}
	return out
}

func containsAll(s string, parts []string) bool {
	for _, p := range parts {
		if !strings.Contains(s, p) {
			return false
		}
	}
	return true
}

// sync writes what the server still buffers.
func (l *Log) sync() {
	if l.flush != nil {
		l.flush()
	}
}

// WaitFor waits until a record with every one of parts is logged and
// returns the first one; it fails the test, showing the log, after the
// server's Options.Timeout.
func (l *Log) WaitFor(t testing.TB, parts ...string) string {
	t.Helper()
	line, ok := l.wait(parts...)
	if !ok {
		t.Fatalf("no log line contains all of %q within %s; the log:\n%s", parts, l.waitTime(), l)
	}
	return line
}

func (l *Log) waitTime() time.Duration {
	if l.timeout > 0 {
		return l.timeout
	}
	return DefaultTimeout
}

// wait waits until a record with every one of parts is logged; a part
// that is accessMark also accepts accessMarkJSON.
func (l *Log) wait(parts ...string) (string, bool) {
	alt := make([]string, len(parts))
	for i, p := range parts {
		alt[i] = strings.ReplaceAll(p, accessMark, accessMarkJSON)
	}
	deadline := time.NewTimer(l.waitTime())
	defer deadline.Stop()
	for {
		l.sync()
		l.mu.Lock()
		if l.changed == nil {
			l.changed = make(chan struct{})
		}
		changed := l.changed
		l.mu.Unlock()
		if lines := l.Lines(parts...); len(lines) > 0 {
			return lines[0], true
		}
		if lines := l.Lines(alt...); len(lines) > 0 {
			return lines[0], true
		}
		select {
		case <-changed:
		case <-deadline.C:
			return "", false
		}
	}
}
