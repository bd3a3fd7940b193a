// Package logging sets up a server's logs: a slog logger in text or JSON,
// a fast writer for the access log, and a buffered output shared by both,
// so a busy server does not pay a system call per log line.
package logging

import (
	"bufio"
	"io"
	"log/slog"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
	"unicode/utf8"

	"github.com/plexushq/plexus/internal/config"
)

// FlushInterval is how long a log line may wait in the buffer.
const FlushInterval = 100 * time.Millisecond

// Output is a buffered, concurrency-safe log output: lines are written to
// the underlying writer in batches, at most FlushInterval after they were
// logged, and at once when the buffer fills or on Close.
type Output struct {
	mu     sync.Mutex
	raw    io.Writer
	w      *bufio.Writer
	stop   chan struct{}
	done   chan struct{}
	closed bool
}

// NewOutput starts buffering writes to w.
func NewOutput(w io.Writer) *Output {
	o := &Output{raw: w, w: bufio.NewWriterSize(w, 64<<10), stop: make(chan struct{}), done: make(chan struct{})}
	go o.loop()
	return o
}

func (o *Output) loop() {
	defer close(o.done)
	t := time.NewTicker(FlushInterval)
	defer t.Stop()
	for {
		select {
		case <-o.stop:
			return
		case <-t.C:
			o.Flush()
		}
	}
}

// Write buffers p; a line is never split between flushes.
func (o *Output) Write(p []byte) (int, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.closed {
		return o.raw.Write(p) // after Close: pass through, unbuffered
	}
	if o.w.Available() < len(p) {
		o.w.Flush()
	}
	return o.w.Write(p)
}

// Flush writes what is buffered.
func (o *Output) Flush() error {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.w.Flush()
}

// Close flushes and stops the background flusher. Later writes go through
// at once.
func (o *Output) Close() error {
	o.mu.Lock()
	if o.closed {
		o.mu.Unlock()
		return nil
	}
	o.closed = true
	o.mu.Unlock()
	close(o.stop)
	<-o.done
	return o.Flush()
}

// New returns the server's logger writing to w: one line per record in
// JSON; in text, one line per record followed by the further lines of
// multi-line values (tracebacks), each starting with a tab.
func New(w io.Writer, cfg config.Log) (*slog.Logger, error) {
	level, err := config.ParseLevel(cfg.Level)
	if err != nil {
		return nil, err
	}
	opts := &slog.HandlerOptions{Level: level}
	if cfg.Format == "json" {
		return slog.New(slog.NewJSONHandler(w, opts)), nil
	}
	return slog.New(newTextHandler(w, opts)), nil
}

// Access writes access log lines in the same shape as the server's slog
// handler (text or JSON), without slog's generality: it is on the path of
// every request. It is safe for concurrent use.
type Access struct {
	w     io.Writer
	json  bool
	pool  sync.Pool
	stamp atomic.Pointer[stamp]
}

// stamp caches the formatted time of one second: lines written in the
// same second reuse it and append only their milliseconds.
type stamp struct {
	unix   int64
	date   []byte // 2006-01-02T15:04:05
	offset []byte // Z or -07:00
}

// appendTime appends t as 2006-01-02T15:04:05.000Z07:00, as slog does.
func (a *Access) appendTime(b []byte, t time.Time) []byte {
	st := a.stamp.Load()
	if st == nil || st.unix != t.Unix() {
		st = &stamp{unix: t.Unix(), date: t.AppendFormat(nil, "2006-01-02T15:04:05"), offset: t.AppendFormat(nil, "Z07:00")}
		a.stamp.Store(st)
	}
	ms := t.Nanosecond() / 1e6
	b = append(b, st.date...)
	b = append(b, '.', byte('0'+ms/100), byte('0'+ms/10%10), byte('0'+ms%10))
	return append(b, st.offset...)
}

// NewAccess returns an access log writing to w in the configured format.
func NewAccess(w io.Writer, cfg config.Log) *Access {
	return &Access{w: w, json: cfg.Format == "json", pool: sync.Pool{New: func() any { b := make([]byte, 0, 512); return &b }}}
}

// Field is one key and value of an access log line: a string, or an int
// when Str is empty and IsInt is set, or a float with three decimals.
type Field struct {
	Key   string
	Str   string
	Int   int64
	Float float64
	kind  uint8
}

// String, Int and Float make fields.
func String(k, v string) Field    { return Field{Key: k, Str: v} }
func Int(k string, v int64) Field { return Field{Key: k, Int: v, kind: 1} }
func Float(k string, v float64) Field {
	return Field{Key: k, Float: v, kind: 2}
}

// Log writes one line with msg "request" at INFO level, time-stamped now
// (the caller usually has the time at hand).
func (a *Access) Log(now time.Time, fields ...Field) {
	bp := a.pool.Get().(*[]byte)
	b := (*bp)[:0]
	if a.json {
		b = append(b, `{"time":"`...)
		b = a.appendTime(b, now)
		b = append(b, `","level":"INFO","msg":"request"`...)
		for _, f := range fields {
			b = append(b, ',', '"')
			b = append(b, f.Key...)
			b = append(b, '"', ':')
			b = f.appendJSON(b)
		}
		b = append(b, '}', '\n')
	} else {
		b = append(b, "time="...)
		b = a.appendTime(b, now)
		b = append(b, " level=INFO msg=request"...)
		for _, f := range fields {
			b = append(b, ' ')
			b = append(b, f.Key...)
			b = append(b, '=')
			b = f.appendText(b)
		}
		b = append(b, '\n')
	}
	a.w.Write(b)
	*bp = b
	a.pool.Put(bp)
}

func (f Field) appendText(b []byte) []byte {
	switch f.kind {
	case 1:
		return strconv.AppendInt(b, f.Int, 10)
	case 2:
		return strconv.AppendFloat(b, f.Float, 'f', -1, 64)
	}
	if needsQuoting(f.Str) {
		return strconv.AppendQuote(b, f.Str)
	}
	return append(b, f.Str...)
}

func (f Field) appendJSON(b []byte) []byte {
	switch f.kind {
	case 1:
		return strconv.AppendInt(b, f.Int, 10)
	case 2:
		return strconv.AppendFloat(b, f.Float, 'f', -1, 64)
	}
	return appendJSONString(b, f.Str)
}

// needsQuoting follows slog's text handler: empty strings, spaces, quotes,
// = and non-printable characters need quotes.
func needsQuoting(s string) bool {
	if s == "" {
		return true
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c <= ' ' || c == '"' || c == '=' || c >= utf8.RuneSelf || c == 0x7f {
			return true
		}
	}
	return false
}

// appendJSONString appends s as a JSON string; invalid UTF-8 becomes
// U+FFFD so the line stays valid JSON.
func appendJSONString(b []byte, s string) []byte {
	b = append(b, '"')
	for i := 0; i < len(s); {
		c := s[i]
		if c >= utf8.RuneSelf {
			r, size := utf8.DecodeRuneInString(s[i:])
			if r == utf8.RuneError && size == 1 {
				b = append(b, `\ufffd`...)
			} else {
				b = append(b, s[i:i+size]...)
			}
			i += size
			continue
		}
		switch {
		case c == '"' || c == '\\':
			b = append(b, '\\', c)
		case c < 0x20:
			b = append(b, `\u00`...)
			b = append(b, "0123456789abcdef"[c>>4], "0123456789abcdef"[c&0xf])
		default:
			b = append(b, c)
		}
		i++
	}
	return append(b, '"')
}
