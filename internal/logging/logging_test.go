package logging

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/plexushq/plexus/internal/config"
	"github.com/plexushq/plexus/internal/testenv"
)

func TestOutputFlushes(t *testing.T) {
	var dst testenv.Buffer
	o := NewOutput(&dst)
	o.Write([]byte("one\n"))
	if dst.String() != "" {
		t.Fatal("written before the flush interval")
	}
	deadline := time.Now().Add(2 * time.Second)
	for dst.String() != "one\n" && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	if dst.String() != "one\n" {
		t.Fatalf("not flushed: %q", dst.String())
	}
	o.Write([]byte("two\n"))
	o.Close()
	if dst.String() != "one\ntwo\n" {
		t.Fatalf("Close did not flush: %q", dst.String())
	}
	o.Write([]byte("three\n"))
	if !strings.HasSuffix(dst.String(), "three\n") {
		t.Fatal("writes after Close are lost")
	}
}

func TestAccessText(t *testing.T) {
	var b bytes.Buffer
	a := NewAccess(&b, config.Log{Format: "text"})
	a.Log(time.Now(), String("cid", "abc"), String("path", "/a b"), String("empty", ""), Int("status", 200), Float("duration_ms", 0.125))
	line := b.String()
	for _, want := range []string{"level=INFO msg=request cid=abc", `path="/a b"`, `empty=""`, "status=200", "duration_ms=0.125"} {
		if !strings.Contains(line, want) {
			t.Errorf("line lacks %q: %s", want, line)
		}
	}
}

func TestAccessJSON(t *testing.T) {
	var b bytes.Buffer
	a := NewAccess(&b, config.Log{Format: "json"})
	a.Log(time.Now(), String("path", "/a\"b\\\x01\xff"), Int("status", 404))
	var m map[string]any
	if err := json.Unmarshal(b.Bytes(), &m); err != nil {
		t.Fatalf("not JSON: %v %s", err, b.String())
	}
	if m["msg"] != "request" || m["status"] != float64(404) || m["path"] != "/a\"b\\\x01\ufffd" {
		t.Errorf("fields: %v", m)
	}
}

func FuzzAccessJSON(f *testing.F) {
	f.Add("/path", "GET")
	f.Add("\xff\x00\"", "\\")
	f.Fuzz(func(t *testing.T, path, method string) {
		var b bytes.Buffer
		NewAccess(&b, config.Log{Format: "json"}).Log(time.Now(), String("path", path), String("method", method))
		if !json.Valid(bytes.TrimSpace(b.Bytes())) {
			t.Fatalf("invalid JSON line: %s", b.String())
		}
	})
}

func BenchmarkAccess(b *testing.B) {
	a := NewAccess(io.Discard, config.Log{Format: "text"})
	for b.Loop() {
		a.Log(time.Now(), String("cid", "0ee199609d5020d7cb8ca924"), String("channel", "demo.echo"), String("service", "plexus.helpers.echo"),
			String("method", "POST"), String("path", "/api/echo"), Int("status", 200), Float("duration_ms", 0.102), Int("bytes", 120), String("remote", "127.0.0.1:49298"))
	}
}

func TestAccessTime(t *testing.T) {
	var b bytes.Buffer
	a := NewAccess(&b, config.Log{Format: "text"})
	loc := time.FixedZone("X", -7*3600)
	for _, ts := range []time.Time{
		time.Date(2026, 11, 23, 19, 52, 30, 195_000_000, time.UTC),
		time.Date(2026, 11, 23, 19, 52, 30, 7_000_000, time.UTC),
		time.Date(2026, 11, 23, 19, 52, 31, 999_999_999, loc),
	} {
		b.Reset()
		a.Log(ts)
		want := "time=" + ts.Format("2006-01-02T15:04:05.000Z07:00") + " "
		if !strings.HasPrefix(b.String(), want) {
			t.Errorf("%v: %q, want prefix %q", ts, b.String(), want)
		}
	}
}

// A traceback in the text log shows one frame per line, after the record
// whose line holds the error; in JSON, every record stays one line.
func TestMultilineValues(t *testing.T) {
	tb := "Traceback (most recent call last):\n  billing.star:3:5: in handle\n  billing.star:9:9: in total\nError: division by zero"
	stamp := regexp.MustCompile(`^time=\S+ `)
	var text bytes.Buffer
	log, _ := New(&text, config.Log{Format: "text", Level: "info"})
	log = log.With("cid", "abc").WithGroup("g").With("x", 1)
	log.Error("service failed", "status", 500, "error", tb)
	log.Info("plain", "error", errors.New("one line"))
	log.Info("an error value", "error", errors.New("first\nsecond\n"))
	want := `level=ERROR msg="service failed" cid=abc g.x=1 g.status=500 g.error="Error: division by zero"
	Traceback (most recent call last):
	  billing.star:3:5: in handle
	  billing.star:9:9: in total
	Error: division by zero
level=INFO msg=plain cid=abc g.x=1 g.error="one line"
level=INFO msg="an error value" cid=abc g.x=1 g.error=second
	first
	second
`
	var got strings.Builder
	for line := range strings.Lines(text.String()) {
		got.WriteString(stamp.ReplaceAllString(line, ""))
	}
	if got.String() != want {
		t.Errorf("text log:\n%s\nwant:\n%s", got.String(), want)
	}

	var js bytes.Buffer
	log, _ = New(&js, config.Log{Format: "json", Level: "info"})
	log.Error("service failed", "error", tb)
	var rec map[string]any
	if strings.Count(js.String(), "\n") != 1 || json.Unmarshal(js.Bytes(), &rec) != nil || rec["error"] != tb {
		t.Errorf("JSON log: %s", js.String())
	}
}
