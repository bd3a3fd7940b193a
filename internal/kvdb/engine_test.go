package kvdb

import (
	"bytes"
	"context"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/plexushq/plexus/internal/store"
)

// memKeyspace is a keyspace in a map, for fuzzing the commands.
type memKeyspace struct {
	keys map[string]*entry
	at   int64
}

func (m *memKeyspace) load(key string) (*entry, error) {
	e := m.keys[key]
	if e == nil || e.exp != 0 && e.exp <= m.at {
		return nil, nil
	}
	// What the SQL keyspace returns is decoded from the stored bytes.
	v, err := decode(e.v.typ, e.v.encode())
	if err != nil {
		return nil, err
	}
	return &entry{v: v, exp: e.exp}, nil
}

func (m *memKeyspace) save(key string, e *entry) error {
	if e == nil {
		delete(m.keys, key)
	} else {
		m.keys[key] = e
	}
	return nil
}

func (m *memKeyspace) scan(cursor, count int) ([]string, int, error) {
	var keys []string
	for k := range m.keys {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	if cursor >= len(keys) {
		return nil, 0, nil
	}
	end := min(cursor+count, len(keys))
	next := end
	if end == len(keys) {
		next = 0
	}
	return keys[cursor:end], next, nil
}

func (m *memKeyspace) now() int64 { return m.at }

// Any command line is answered with a value or an error reply, never a
// panic, and what it stores decodes again.
func FuzzCommands(f *testing.F) {
	for _, s := range []string{"SET k v EX 10", "ZADD z 1 a 2 b", "LRANGE l -100 100", "SCAN 0 MATCH [a-\\", "HSET h a 1 b",
		"INCRBY n 9223372036854775807", "ZRANGEBYSCORE z (1 +inf WITHSCORES", "LTRIM l -1 -2", "SET k v KEEPTTL PX 1"} {
		f.Add(s, "RPUSH l a b c")
	}
	f.Fuzz(func(t *testing.T, line1, line2 string) {
		ks := &memKeyspace{keys: map[string]*entry{}, at: 1000}
		for _, line := range []string{line2, line1, line2} {
			args := strings.Fields(line)
			c, err := lookup(args)
			if err != nil {
				continue
			}
			if _, err := c.run(ks, args[1:]); err != nil {
				if _, ok := err.(ReplyError); !ok {
					t.Fatalf("%q: %v is not a reply error", line, err)
				}
			}
		}
		for k, e := range ks.keys {
			if e.v.empty() {
				t.Errorf("%q: empty collection kept", k)
			}
			if _, err := decode(e.v.typ, e.v.encode()); err != nil {
				t.Errorf("%q: %v", k, err)
			}
		}
	})
}

// Stored values decode without panicking, and what decodes encodes back
// to the same bytes once sorted.
func FuzzDecode(f *testing.F) {
	for _, v := range []*value{
		{typ: typeHash, hash: map[string]string{"a": "1", "\x00": ""}}, {typ: typeList, list: []string{"x", ""}},
		{typ: typeSet, set: map[string]struct{}{"m": {}}}, {typ: typeZSet, zset: map[string]float64{"a": 1.5, "b": -2}},
	} {
		f.Add(v.typ, v.encode())
	}
	f.Add(byte(9), []byte{0xff, 0xff})
	f.Fuzz(func(t *testing.T, typ byte, b []byte) {
		v, err := decode(typ, b)
		if err != nil {
			return
		}
		w, err := decode(typ, v.encode())
		if err != nil {
			t.Fatalf("re-decoding: %v", err)
		}
		if !bytes.Equal(w.encode(), v.encode()) {
			t.Fatalf("encoding is not stable")
		}
	})
}

// Match agrees with a regular expression built from the same glob.
func FuzzMatch(f *testing.F) {
	for _, s := range [][2]string{{"user:*", "user:42"}, {"h?llo", "hello"}, {"h[ae]llo", "hallo"}, {"h[^e]llo", "hello"},
		{"h[a-b]llo", "hbllo"}, {"a\\*b", "a*b"}, {"*a*a*a*b", "aaaaaaaaaaaaaaaaaaaaaaaa"}, {"[", "["}} {
		f.Add(s[0], s[1])
	}
	f.Fuzz(func(t *testing.T, pattern, s string) {
		if len(pattern) > 64 || len(s) > 256 {
			return
		}
		got := Match(pattern, s)
		// Match works on bytes, as Redis does; Go's regexps read runes, so
		// they judge ASCII only (where a byte is a rune).
		if re := globRegexp(pattern); re != nil && isASCII(pattern) && isASCII(s) && re.MatchString(s) != got {
			t.Fatalf("Match(%q, %q) = %v, the regexp %s says otherwise", pattern, s, got, re)
		}
		if strings.ContainsAny(s, "*?[\\") {
			return
		}
		if !Match(s, s) {
			t.Fatalf("%q does not match itself", s)
		}
	})
}

// globRegexp translates the simple globs (no classes, no escapes) to a
// regular expression, or returns nil.
func globRegexp(p string) *regexp.Regexp {
	if strings.ContainsAny(p, "[]\\") {
		return nil
	}
	var b strings.Builder
	b.WriteString(`(?s)\A`)
	for i := 0; i < len(p); i++ {
		switch p[i] {
		case '*':
			b.WriteString(`[\x00-\xff]*`)
		case '?':
			b.WriteString(`[\x00-\xff]`)
		default:
			b.WriteString(regexp.QuoteMeta(string(p[i])))
		}
	}
	b.WriteString(`\z`)
	re, err := regexp.Compile(b.String())
	if err != nil {
		return nil
	}
	return re
}

func TestMatch(t *testing.T) {
	for _, c := range []struct {
		p, s string
		ok   bool
	}{
		{"*", "", true}, {"user:*", "user:1", true}, {"user:*", "usr:1", false}, {"h?llo", "hllo", false},
		{"h[ae]llo", "hello", true}, {"h[ae]llo", "hillo", false}, {"h[^e]llo", "hello", false}, {"h[^e]llo", "hallo", true},
		{"h[a-c]llo", "hcllo", true}, {"h[c-a]llo", "hbllo", true}, {"a\\*", "a*", true}, {"a\\*", "ab", false},
		{"*.json", "x.json.bak", false}, {"a*b*c", "axxbyyc", true},
	} {
		if got := Match(c.p, c.s); got != c.ok {
			t.Errorf("Match(%q, %q) = %v", c.p, c.s, got)
		}
	}
}

func newTestEmbedded(t *testing.T) *Embedded {
	st, err := store.Open(context.Background(), "", t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return NewEmbedded(st)
}

// Keys expire: reads stop seeing them at once, and a later write sweeps
// them from the table.
func TestExpiry(t *testing.T) {
	e := newTestEmbedded(t)
	clock := int64(1_000_000)
	e.now = func() int64 { return clock }
	e.lastSweep.Store(clock)
	ctx := context.Background()
	must := func(cmd ...string) any {
		t.Helper()
		res, err := e.Do(ctx, cmd)
		if err != nil || res[0].Err != nil {
			t.Fatalf("%q: %v %v", cmd, err, res)
		}
		return res[0].Val
	}
	must("SET", "a", "1", "EX", "10")
	must("HSET", "h", "f", "v")
	must("PEXPIRE", "h", "1500")
	if got := must("TTL", "a"); got != int64(10) {
		t.Errorf("TTL = %v", got)
	}
	clock += 1500
	if got := must("EXISTS", "a", "h"); got != int64(1) {
		t.Errorf("after 1.5s, EXISTS a h = %v", got)
	}
	if got := must("SET", "a", "2", "NX"); got != nil {
		t.Errorf("SET NX of a live key = %v", got)
	}
	clock += 9000
	if got := must("GET", "a"); got != nil {
		t.Errorf("after 10.5s, GET a = %v", got)
	}
	if got := must("SET", "a", "3", "NX"); got != "OK" {
		t.Errorf("SET NX of an expired key = %v", got)
	}
	must("SET", "b", "1", "PX", "1")
	clock += sweepEvery.Milliseconds() + 1
	must("SET", "c", "1")
	var n int
	if err := e.db.QueryRow("SELECT COUNT(*) FROM kvdb").Scan(&n); err != nil || n != 2 {
		t.Errorf("after a sweep, %d rows (%v), want a and c", n, err)
	}
}

// Counters are exact under concurrent writers.
func TestConcurrentIncr(t *testing.T) {
	e := newTestEmbedded(t)
	var wg sync.WaitGroup
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 50 {
				if res, err := e.Do(context.Background(), []string{"INCR", "n"}, []string{"HINCRBY", "h", "f", "2"}); err != nil || res[0].Err != nil {
					t.Errorf("INCR: %v %v", err, res)
					return
				}
			}
		}()
	}
	wg.Wait()
	res, err := e.Do(context.Background(), []string{"GET", "n"}, []string{"HGET", "h", "f"})
	if err != nil || res[0].Val != "400" || res[1].Val != "800" {
		t.Errorf("after 400 increments: %v %v", res, err)
	}
}

// A pipeline past MaxPipeline is refused whole.
func TestPipelineLimit(t *testing.T) {
	e := newTestEmbedded(t)
	cmds := make([][]string, MaxPipeline+1)
	for i := range cmds {
		cmds[i] = []string{"PING"}
	}
	if _, err := e.Do(context.Background(), cmds...); err == nil {
		t.Error("a pipeline past the limit ran")
	}
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= 0x80 {
			return false
		}
	}
	return true
}
