package sqlconn

import (
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	sl "go.starlark.net/starlark"

	"github.com/plexushq/plexus/internal/config"
	"github.com/plexushq/plexus/internal/registry"
	"github.com/plexushq/plexus/sdk/service"
)

// self.out.sql["Name"] and its conn read, print and list their
// attributes as the structs they stand for, and run statements.
func TestStarlarkValue(t *testing.T) {
	v, err := provision(&registry.Env{Collectors: func(string) []prometheus.Collector { return nil }},
		&Config{Name: "mem", IsActive: true, Engine: EngineSQLite, DBName: ":memory:", PoolSize: 1,
			QueryTimeout: config.Duration(30 * time.Second), MaxRows: 100})
	if err != nil {
		t.Fatal(err)
	}
	d := v.(*Database)
	defer d.Close()
	val, err := starlarkValue(&service.Context{}, "mem", d)
	if err != nil {
		t.Fatal(err)
	}
	prog := `
out = [type(sql), sql.name, dir(sql), dir(sql.conn), str(sql.conn)]
def fill(tx):
    tx.execute("CREATE TABLE t (n int)")
    tx.execute("INSERT INTO t VALUES (:n)", {"n": 7})
    return [dir(tx), str(tx)]
out.append(sql.conn.transaction(fill))
out.append(sql.conn.scalar("SELECT n FROM t"))
out.append(sql.conn.one("SELECT n FROM t WHERE n = :n", {"n": 7}))
`
	globals, err := sl.ExecFile(&sl.Thread{}, "test.star", prog, sl.StringDict{"sql": val})
	if err != nil {
		t.Fatal(err)
	}
	got := globals["out"].String()
	for _, want := range []string{`"struct", "mem", ["conn", "name"], ["execute", "one", "scalar", "transaction"]`,
		`"sql_conn(execute = <built-in function conn.execute>, one = <built-in function conn.one>, scalar = <built-in function conn.scalar>, transaction = <built-in function transaction>)"`,
		`[["execute", "one", "scalar"], "sql_transaction(execute = <built-in function tx.execute>, one = <built-in function tx.one>, scalar = <built-in function tx.scalar>)"]`,
		`, 7, {"n": 7}]`} {
		if !strings.Contains(got, want) {
			t.Errorf("got %s, want %s in it", got, want)
		}
	}
}
