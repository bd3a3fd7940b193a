package sqlconn

import (
	"slices"
	"strings"
	"testing"
)

func TestParse(t *testing.T) {
	tests := []struct {
		engine, query, want string
		names               []string
		rows                bool
	}{
		{EnginePostgreSQL, "SELECT * FROM t WHERE id = :id AND a = :a OR id = :id", "SELECT * FROM t WHERE id = $1 AND a = $2 OR id = $1", []string{"id", "a"}, true},
		{EngineMySQL, "SELECT * FROM t WHERE id = :id AND a = :a OR id = :id", "SELECT * FROM t WHERE id = ? AND a = ? OR id = ?", []string{"id", "a", "id"}, true},
		{EngineSQLite, "select :x", "select ?", []string{"x"}, true},
		{EnginePostgreSQL, "SELECT ':id', \":id\", $$ :id $$, $tag$ :id $tag$, x::int FROM t -- :id\n WHERE /* :id /* :id */ :id */ b = :b", "SELECT ':id', \":id\", $$ :id $$, $tag$ :id $tag$, x::int FROM t -- :id\n WHERE /* :id /* :id */ :id */ b = $1", []string{"b"}, true},
		{EnginePostgreSQL, `SELECT E'it\'s :a', 'it''s :b', :c`, `SELECT E'it\'s :a', 'it''s :b', $1`, []string{"c"}, true},
		{EnginePostgreSQL, `SELECT 'c:\' , :c`, `SELECT 'c:\' , $1`, []string{"c"}, true}, // no backslash escapes in standard strings
		{EngineMySQL, `SELECT 'it\'s :a', "b\":b", ` + "`:c`" + `, :d # :e`, `SELECT 'it\'s :a', "b\":b", ` + "`:c`" + `, ? # :e`, []string{"d"}, true},
		{EngineMySQL, "INSERT INTO t (a) VALUES (:a)", "INSERT INTO t (a) VALUES (?)", []string{"a"}, false},
		{EnginePostgreSQL, "insert into t (a) values (:a) returning id", "insert into t (a) values ($1) returning id", []string{"a"}, true},
		{EnginePostgreSQL, "  (SELECT 1) UNION (SELECT 2)", "  (SELECT 1) UNION (SELECT 2)", nil, true},
		{EnginePostgreSQL, "WITH x AS (SELECT 1) SELECT * FROM x", "WITH x AS (SELECT 1) SELECT * FROM x", nil, true},
		{EnginePostgreSQL, "UPDATE t SET returning_x = 1 WHERE t.a = :a", "UPDATE t SET returning_x = 1 WHERE t.a = $1", []string{"a"}, false},
		{EnginePostgreSQL, "SELECT a[1:2], b[lo:hi], data ? 'k' FROM t", "SELECT a[1:2], b[lo:hi], data ? 'k' FROM t", nil, true},
		{EngineSQLite, "SELECT 1 -- ?\n", "SELECT 1 -- ?\n", nil, true},
		{EngineSQLite, "delete from t", "delete from t", nil, false},
	}
	for _, tt := range tests {
		st, err := parse(tt.engine, tt.query)
		if err != nil {
			t.Errorf("%s %q: %v", tt.engine, tt.query, err)
			continue
		}
		if st.text != tt.want || !slices.Equal(st.names, tt.names) || st.rows != tt.rows {
			t.Errorf("%s %q:\n got %q %q rows=%v\nwant %q %q rows=%v", tt.engine, tt.query, st.text, st.names, st.rows, tt.want, tt.names, tt.rows)
		}
	}
}

func TestParseRefuses(t *testing.T) {
	tests := []struct{ engine, query, want string }{
		{EnginePostgreSQL, "SELECT $1", "positional parameter"},
		{EngineMySQL, "SELECT ?", "positional parameter ?"},
		{EngineSQLite, "SELECT * FROM t WHERE a = ?", "positional parameter ?"},
		{EnginePostgreSQL, "SELECT 'abc", "quote at offset 7 is not closed"},
		{EngineMySQL, `SELECT 'ab\'`, "not closed"},
		{EnginePostgreSQL, "SELECT /* a /* b */", "comment at offset 7 is not closed"},
		{EnginePostgreSQL, "SELECT $x$ abc", "$x$ string at offset 7 is not closed"},
	}
	for _, tt := range tests {
		if _, err := parse(tt.engine, tt.query); err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s %q: got %v, want %q", tt.engine, tt.query, err, tt.want)
		}
	}
}

func TestArgs(t *testing.T) {
	st, _ := parse(EngineMySQL, "SELECT :a, :b, :a")
	args, err := st.args(map[string]any{"a": 1, "b": map[string]any{"k": []any{1, "x"}}, "unused": 2}, goArg, 1)
	if err != nil || !slices.Equal(args, []any{nil, int64(1), `{"k":[1,"x"]}`, int64(1)}) {
		t.Errorf("got %#v, %v", args, err)
	}
	if _, err := st.args(map[string]any{"a": 1}, goArg, 0); err == nil || err.Error() != "parameter :b has no value in params" {
		t.Errorf("got %v", err)
	}
	if _, err := st.args(map[string]any{"a": 1, "b": make(chan int)}, goArg, 0); err == nil || !strings.Contains(err.Error(), "parameter :b") {
		t.Errorf("got %v", err)
	}
}

// FuzzParse checks that translating placeholders never fails on a valid
// query in a way that changes anything but the placeholders: the text
// outside them is kept, and every placeholder found is a name.
func FuzzParse(f *testing.F) {
	for _, s := range []string{
		"SELECT * FROM t WHERE id = :id", "SELECT ':a' -- :b\n, :c", "SELECT $$:a$$, $t$ :b $t$, x::int",
		"SELECT E'\\':a', /* /* :a */ */ :b", "SELECT `:a`, \":b\", :c # :d", "insert into t values (:a) returning *",
		"SELECT '", "SELECT /*", "SELECT $a", "SELECT :", ":a:b::c", "SELECT \x00:a",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, query string) {
		for _, engine := range []string{EnginePostgreSQL, EngineMySQL, EngineSQLite} {
			st, err := parse(engine, query)
			if err != nil {
				continue
			}
			for _, n := range st.names {
				if n == "" || !isNameStart(n[0]) {
					t.Fatalf("%s %q: bad name %q", engine, query, n)
				}
			}
			// Putting the names back gives the query again.
			back := st.text
			if engine == EnginePostgreSQL {
				if len(st.names) == 0 && back != query {
					t.Fatalf("%s %q: no placeholders, yet the text changed to %q", engine, query, back)
				}
				continue
			}
			var b strings.Builder
			k := 0
			for i := 0; i < len(back); i++ {
				if back[i] == '?' && k < len(st.names) && !strings.Contains(query, "?") {
					b.WriteString(":" + st.names[k])
					k++
					continue
				}
				b.WriteByte(back[i])
			}
			if k == len(st.names) && b.String() != query {
				t.Fatalf("%s %q: round trip gives %q", engine, query, b.String())
			}
		}
	})
}
