package logging

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"slices"
	"strings"
)

// textHandler is slog's text handler, except that an attribute whose
// value spans several lines (a Starlark backtrace, a Go stack) keeps only
// its last line in the record's line (for a backtrace, the error itself, so
// the line found by its cid says what failed); the whole value follows the
// record, one line per line, each starting with a tab, instead of one long
// quoted line of \n escapes. It is safe for concurrent use.
type textHandler struct {
	w    io.Writer
	opts *slog.HandlerOptions
	h    slog.Handler // slog's text handler writing to w, with ops applied
	ops  []func(slog.Handler) slog.Handler
}

func newTextHandler(w io.Writer, opts *slog.HandlerOptions) *textHandler {
	return &textHandler{w: w, opts: opts, h: slog.NewTextHandler(w, opts)}
}

func (h *textHandler) Enabled(ctx context.Context, l slog.Level) bool { return h.h.Enabled(ctx, l) }

func (h *textHandler) WithAttrs(as []slog.Attr) slog.Handler {
	return h.with(func(x slog.Handler) slog.Handler { return x.WithAttrs(as) })
}

func (h *textHandler) WithGroup(name string) slog.Handler {
	return h.with(func(x slog.Handler) slog.Handler { return x.WithGroup(name) })
}

func (h *textHandler) with(op func(slog.Handler) slog.Handler) *textHandler {
	return &textHandler{w: h.w, opts: h.opts, h: op(h.h), ops: append(slices.Clip(h.ops), op)}
}

// Handle writes r; a record with multi-line values is written in one Write,
// so its lines stay together.
func (h *textHandler) Handle(ctx context.Context, r slog.Record) error {
	var values []string
	r.Attrs(func(a slog.Attr) bool {
		if v, ok := multiline(a.Value); ok {
			values = append(values, v)
		}
		return true
	})
	if values == nil {
		return h.h.Handle(ctx, r)
	}
	first := slog.NewRecord(r.Time, r.Level, r.Message, r.PC)
	r.Attrs(func(a slog.Attr) bool {
		if v, ok := multiline(a.Value); ok {
			a.Value = slog.StringValue(v[strings.LastIndexByte(v, '\n')+1:])
		}
		first.AddAttrs(a)
		return true
	})
	var b bytes.Buffer
	var th slog.Handler = slog.NewTextHandler(&b, h.opts)
	for _, op := range h.ops {
		th = op(th)
	}
	if err := th.Handle(ctx, first); err != nil {
		return err
	}
	for _, v := range values {
		for line := range strings.Lines(v) {
			b.WriteByte('\t')
			b.WriteString(strings.TrimSuffix(line, "\n"))
			b.WriteByte('\n')
		}
	}
	_, err := h.w.Write(b.Bytes())
	return err
}

// multiline returns the text of a string or error value that spans
// several lines, without trailing newlines.
func multiline(v slog.Value) (string, bool) {
	var s string
	switch v = v.Resolve(); v.Kind() {
	case slog.KindString:
		s = v.String()
	case slog.KindAny:
		err, isErr := v.Any().(error)
		if !isErr {
			return "", false
		}
		s = err.Error()
	default:
		return "", false
	}
	s = strings.TrimRight(s, "\n")
	return s, strings.Contains(s, "\n")
}
