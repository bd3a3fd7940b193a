package sqlconn_test

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/plexushq/plexus/internal/registry"
	"github.com/plexushq/plexus/internal/sqlconn"
	"github.com/plexushq/plexus/plexustest"
	"github.com/plexushq/plexus/sdk/service"
)

// The declaration has everything the admin API, forms and docs need.
func TestDeclaration(t *testing.T) {
	k, ok := registry.Lookup(sqlconn.Kind)
	if !ok {
		t.Fatal("outgoing_sql is not registered")
	}
	for _, err := range k.Lint() {
		t.Error(err)
	}
	for _, alias := range []string{"sql", "outconn_sql"} {
		if a, ok := registry.Lookup(alias); !ok || a.ID != sqlconn.Kind {
			t.Errorf("alias %s: %v", alias, a)
		}
	}
}

// sqlcall runs what its request says on a connection, and answers each
// value with its Starlark type and text.
const sqlcall = `
def show(v):
    if type(v) == "dict":
        return {k: show(x) for k, x in v.items()}
    if type(v) == "list":
        return [show(x) for x in v]
    if type(v) == "bytes":
        return [type(v), repr(v)]
    return [type(v), str(v)]

def handle(self):
    p = self.request.payload
    c = self.out.sql[p["conn"]].conn
    params = p.get("params") or {}
    if p.get("decimals"):
        for k in p["decimals"]:
            params[k] = decimal.Decimal(params[k])
    if p.get("times"):
        for k in p["times"]:
            params[k] = time.parse(params[k])
    if p.get("bytes"):
        for k in p["bytes"]:
            params[k] = base64.b64decode(params[k])
    op = p.get("op", "execute")
    kw = {}
    if p.get("timeout"):
        kw["timeout"] = p["timeout"]
    if p.get("max_rows"):
        kw["max_rows"] = p["max_rows"]
    if op == "execute":
        r = c.execute(p["query"], params, **kw)
    elif op == "one":
        r = c.one(p["query"], params, **kw)
    elif op == "scalar":
        r = c.scalar(p["query"], params, **kw)
    elif op == "transaction":
        def work(tx):
            for q in p["queries"]:
                tx.execute(q, params)
            if p.get("fail"):
                fail("the service changed its mind")
            return tx.scalar(p["query"], params)
        r = c.transaction(work)
    self.response.payload = {"result": show(r)}
`

// goSQL does what sqlcall does, from Go.
type goSQL struct{}

func (goSQL) Name() string { return "t.go-sql" }

func (goSQL) Handle(c *service.Context) error {
	var p struct {
		Conn, Op, Query string
		Queries         []string
		Params          map[string]any
		Fail            bool
	}
	data, _ := json.Marshal(c.Request.Payload)
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	if err := dec.Decode(&p); err != nil {
		return err
	}
	for k, v := range p.Params {
		if n, ok := v.(json.Number); ok {
			if i, err := n.Int64(); err == nil {
				p.Params[k] = i
			}
		}
	}
	conn := c.Out().SQL(p.Conn)
	var res any
	var err error
	switch p.Op {
	case "execute":
		var r *service.SQLResult
		if r, err = conn.Execute(p.Query, p.Params); err == nil {
			res = map[string]any{"rows": r.Rows, "affected": r.RowsAffected, "columns": r.Columns}
		}
	case "one":
		res, err = conn.One(p.Query, p.Params)
	case "scalar":
		res, err = conn.Scalar(p.Query, p.Params)
	case "transaction":
		err = conn.Transaction(func(tx *service.SQLTx) error {
			for _, q := range p.Queries {
				if _, err := tx.Execute(q, p.Params); err != nil {
					return err
				}
			}
			if p.Fail {
				return service.BadRequest("the service changed its mind")
			}
			res, err = tx.Scalar(p.Query, p.Params)
			return err
		})
	}
	if err != nil {
		return err
	}
	c.Response.Payload = map[string]any{"result": res}
	return nil
}

// start starts a server with sqlcall and goSQL on channels /sql and
// /go-sql, and a connection to each database named after its engine.
func start(t *testing.T, dbs []*database, more map[string]any) *plexustest.Server {
	t.Helper()
	s := plexustest.Start(t, plexustest.Options{Services: []any{goSQL{}}})
	s.Deploy("sqlcall.star", sqlcall)
	s.Channel("sql", "sqlcall", "POST", "/sql", nil)
	s.Channel("go-sql", "t.go-sql", "POST", "/go-sql", nil)
	for _, d := range dbs {
		s.Put(sqlconn.Kind, d.engine, d.object(more))
		s.WaitState(sqlconn.Kind, d.engine, "running")
	}
	return s
}

// typedColumns are columns of every mapped type, per engine.
var typedColumns = map[string]string{
	sqlconn.EnginePostgreSQL: "id int PRIMARY KEY, n numeric(40,10), f double precision, b boolean, s text, ts timestamptz, j jsonb, bin bytea, i8 bigint",
	sqlconn.EngineMySQL:      "id int PRIMARY KEY, n decimal(40,10), f double, b boolean, s longtext, ts datetime(6), j json, bin longblob, i8 bigint",
	sqlconn.EngineSQLite:     "id integer PRIMARY KEY, n decimal(40,10), f real, b boolean, s text, ts timestamp, j json, bin blob, i8 integer",
}

// Every mapped type goes in and comes back as the docs say, from
// Starlark and from Go, with NULL as None, on every database.
func TestTypes(t *testing.T) {
	dbs := databases(t, t.TempDir())
	s := start(t, dbs, nil)
	for _, d := range dbs {
		t.Run(d.engine, func(t *testing.T) {
			d.create(t, typedColumns)
			n := "12345678901234567890.0123456789"
			if d.engine == sqlconn.EngineSQLite {
				n = "1234.5" // SQLite keeps decimals as floats
			}
			insert := "INSERT INTO " + d.table + " (id, n, f, b, s, ts, j, bin, i8) VALUES (:id, :n, :f, :b, :s, :ts, :j, :bin, :i8)"
			code, out := call(t, s, "/sql", map[string]any{"conn": d.engine, "query": insert,
				"params": map[string]any{"id": 1, "n": n, "f": 1.5, "b": true, "s": "Zażółć", "ts": "2024-03-31T02:30:00.25+02:00",
					"j": map[string]any{"a": []any{1, "x", nil}}, "bin": "AAH/", "i8": 9007199254740993},
				"decimals": []string{"n"}, "times": []string{"ts"}, "bytes": []string{"bin"}})
			if code != 200 || fmt.Sprint(out) != "map[result:[int 1]]" {
				t.Fatalf("insert: %d %v\n%s", code, out, s.Log)
			}
			code, out = call(t, s, "/sql", map[string]any{"conn": d.engine, "query": insert,
				"params": map[string]any{"id": 2, "n": nil, "f": nil, "b": nil, "s": nil, "ts": nil, "j": nil, "bin": nil, "i8": nil}})
			if code != 200 {
				t.Fatalf("insert NULLs: %d %v", code, out)
			}
			code, out = call(t, s, "/sql", map[string]any{"conn": d.engine, "query": "SELECT * FROM " + d.table + " ORDER BY id"})
			rows, _ := out.(map[string]any)["result"].([]any)
			if code != 200 || len(rows) != 2 {
				t.Fatalf("select: %d %v", code, out)
			}
			got := rows[0].(map[string]any)
			want := map[string]string{
				"id": "int 1", "n": "decimal " + n, "f": "float 1.5", "b": "bool True", "s": "string Zażółć",
				"ts":  "time 2024-03-31 00:30:00.250000+00:00",
				"bin": `bytes b"\x00\x01\xff"`, "i8": "int 9007199254740993",
			}
			switch d.engine {
			case sqlconn.EngineMySQL:
				want["b"] = "int 1" // BOOLEAN is TINYINT(1)
				if isMariaDB(t, d) {
					want["j"] = `string {"a":[1,"x",null]}` // MariaDB's JSON is LONGTEXT
				}
			}
			if fmt.Sprint(got["j"]) != "map[a:[[int 1] [string x] [NoneType None]]]" && want["j"] == "" {
				t.Errorf("j: got %v", got["j"])
			}
			for col, w := range want {
				v, _ := got[col].([]any)
				if g := fmt.Sprint(v...); len(v) != 2 || fmt.Sprint(v[0])+" "+fmt.Sprint(v[1]) != w {
					t.Errorf("%s: got %s, want %s", col, g, w)
				}
			}
			for col, v := range rows[1].(map[string]any) {
				if col != "id" && fmt.Sprint(v) != "[NoneType None]" {
					t.Errorf("NULL %s came back as %v", col, v)
				}
			}
			// The column order is the query's.
			code, out = call(t, s, "/sql", map[string]any{"conn": d.engine, "op": "one", "query": "SELECT s, id, n FROM " + d.table + " WHERE id = :id", "params": map[string]any{"id": 1}})
			if code != 200 || !strings.Contains(fmt.Sprint(out), "map[id:[int 1] n:[decimal "+n+"] s:[string Zażółć]]") {
				t.Errorf("one: %d %v", code, out)
			}
			// From Go: exact decimals as json.Number, bytes, times.
			code, out = call(t, s, "/go-sql", map[string]any{"conn": d.engine, "op": "one", "query": "SELECT n, b, bin, i8, s FROM " + d.table + " WHERE id = :id", "params": map[string]any{"id": 1}})
			data, _ := json.Marshal(out)
			if code != 200 || !strings.Contains(string(data), `"n":`+n) || !strings.Contains(string(data), `"i8":9007199254740993`) || !strings.Contains(string(data), `"bin":"AAH/"`) {
				t.Errorf("Go one: %d %s", code, data)
			}
			code, out = call(t, s, "/go-sql", map[string]any{"conn": d.engine, "op": "scalar", "query": "SELECT count(*) FROM " + d.table})
			if code != 200 || fmt.Sprint(out) != "map[result:2]" {
				t.Errorf("Go scalar: %d %v", code, out)
			}
			code, out = call(t, s, "/go-sql", map[string]any{"conn": d.engine, "op": "execute", "query": "UPDATE " + d.table + " SET s = :s", "params": map[string]any{"s": "x"}})
			if code != 200 || !strings.Contains(fmt.Sprint(out), "affected:2") {
				t.Errorf("Go update: %d %v", code, out)
			}
		})
	}
}

func isMariaDB(t *testing.T, d *database) bool {
	var v string
	d.db.QueryRow("SELECT VERSION()").Scan(&v)
	return strings.Contains(strings.ToLower(v), "mariadb")
}

// Hostile values are values: quotes, a statement stacked after them, NUL
// bytes and a large string arrive as they were sent and change nothing
// else.
func TestHostileValues(t *testing.T) {
	dbs := databases(t, t.TempDir())
	s := start(t, dbs, nil)
	for _, d := range dbs {
		t.Run(d.engine, func(t *testing.T) {
			d.create(t, map[string]string{
				sqlconn.EnginePostgreSQL: "id int PRIMARY KEY, s text, bin bytea",
				sqlconn.EngineMySQL:      "id int PRIMARY KEY, s longtext, bin longblob",
				sqlconn.EngineSQLite:     "id integer PRIMARY KEY, s text, bin blob",
			})
			hostile := []string{
				`O'Brien "the" \ back\'slash`,
				`x'); DROP TABLE ` + d.table + `; --`,
				`:id :s ? $1 /* -- `,
				strings.Repeat(`'"\;`, 1<<18), // 1 MiB
				"a\x00b",
			}
			for i, v := range hostile {
				params := map[string]any{"id": i, "s": v, "bin": base64.StdEncoding.EncodeToString([]byte(v))}
				if d.engine == sqlconn.EnginePostgreSQL && strings.Contains(v, "\x00") {
					// PostgreSQL's text holds no NUL: a clear error, and nothing else happens.
					code, out := call(t, s, "/go-sql", map[string]any{"conn": d.engine, "op": "execute", "query": "INSERT INTO " + d.table + " (id, s) VALUES (:id, :s)", "params": params})
					if code != 500 {
						t.Errorf("NUL in text: %d %v", code, out)
					}
					s.Log.WaitFor(t, "invalid byte sequence")
					params["s"] = "nul in bytea"
				}
				code, out := call(t, s, "/sql", map[string]any{"conn": d.engine, "query": "INSERT INTO " + d.table + " (id, s, bin) VALUES (:id, :s, :bin)", "params": params, "bytes": []string{"bin"}})
				if code != 200 {
					t.Fatalf("insert %d: %d %v", i, code, out)
				}
				code, out = call(t, s, "/sql", map[string]any{"conn": d.engine, "op": "scalar", "query": "SELECT count(*) FROM " + d.table + " WHERE s = :s AND bin = :bin AND id = :id", "params": params, "bytes": []string{"bin"}})
				if code != 200 || fmt.Sprint(out) != "map[result:[int 1]]" {
					t.Errorf("value %d did not come back as sent: %d %v", i, code, out)
				}
				code, out = call(t, s, "/go-sql", map[string]any{"conn": d.engine, "op": "scalar", "query": "SELECT s FROM " + d.table + " WHERE id = :id", "params": params})
				if code != 200 || fmt.Sprint(out) != fmt.Sprint(map[string]any{"result": params["s"]}) {
					t.Errorf("value %d did not come back to Go as sent: %d", i, code)
				}
			}
			if n := d.count(t); n != len(hostile) {
				t.Errorf("%d rows, want %d", n, len(hostile))
			}
		})
	}
}

// A transaction commits what its function did, and rolls it all back
// when the function fails, in Starlark and in Go.
func TestTransactions(t *testing.T) {
	dbs := databases(t, t.TempDir())
	s := start(t, dbs, nil)
	for _, d := range dbs {
		t.Run(d.engine, func(t *testing.T) {
			d.create(t, map[string]string{
				sqlconn.EnginePostgreSQL: "id int PRIMARY KEY", sqlconn.EngineMySQL: "id int PRIMARY KEY", sqlconn.EngineSQLite: "id integer PRIMARY KEY",
			})
			for _, path := range []string{"/sql", "/go-sql"} {
				queries := []string{"INSERT INTO " + d.table + " (id) VALUES (:a)", "INSERT INTO " + d.table + " (id) VALUES (:b)"}
				count := "SELECT count(*) FROM " + d.table
				before := d.count(t)
				code, out := call(t, s, path, map[string]any{"conn": d.engine, "op": "transaction", "queries": queries, "query": count,
					"params": map[string]any{"a": before + 1, "b": before + 2}, "fail": true})
				if code < 400 || d.count(t) != before {
					t.Errorf("%s: a failed transaction: %d %v, %d rows", path, code, out, d.count(t))
				}
				// A statement the database refuses rolls back the ones before.
				code, out = call(t, s, path, map[string]any{"conn": d.engine, "op": "transaction", "queries": queries, "query": count,
					"params": map[string]any{"a": before + 1, "b": before + 1}})
				if code != 500 || d.count(t) != before {
					t.Errorf("%s: a refused statement: %d %v, %d rows", path, code, out, d.count(t))
				}
				code, out = call(t, s, path, map[string]any{"conn": d.engine, "op": "transaction", "queries": queries, "query": count,
					"params": map[string]any{"a": before + 1, "b": before + 2}})
				if code != 200 || !strings.Contains(fmt.Sprint(out), fmt.Sprint(before+2)) || d.count(t) != before+2 {
					t.Errorf("%s: a transaction: %d %v, %d rows", path, code, out, d.count(t))
				}
			}
		})
	}
}

// A per-call timeout cancels a slow statement with 504, and a query
// returning more rows than allowed fails naming max_rows.
func TestLimits(t *testing.T) {
	dbs := databases(t, t.TempDir())
	s := start(t, dbs, map[string]any{"max_rows": 50})
	for _, d := range dbs {
		t.Run(d.engine, func(t *testing.T) {
			series := "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < :n) SELECT x FROM c"
			code, out := call(t, s, "/sql", map[string]any{"conn": d.engine, "op": "scalar", "query": "SELECT count(*) FROM (" + series + ") AS s", "params": map[string]any{"n": 1000}})
			if code != 200 || fmt.Sprint(out) != "map[result:[int 1000]]" {
				t.Errorf("count: %d %v", code, out)
			}
			code, out = call(t, s, "/sql", map[string]any{"conn": d.engine, "query": series, "params": map[string]any{"n": 50}})
			if code != 200 || len(out.(map[string]any)["result"].([]any)) != 50 {
				t.Errorf("50 rows: %d", code)
			}
			code, _ = call(t, s, "/sql", map[string]any{"conn": d.engine, "query": series, "params": map[string]any{"n": 51}})
			if code != 500 {
				t.Errorf("51 rows: %d", code)
			}
			s.Log.WaitFor(t, "the query returned more than 50 rows (max_rows)")
			code, _ = call(t, s, "/sql", map[string]any{"conn": d.engine, "query": series, "params": map[string]any{"n": 11}, "max_rows": 10})
			if code != 500 {
				t.Errorf("max_rows=10: %d", code)
			}
			s.Log.WaitFor(t, "the query returned more than 10 rows (max_rows)")
			sleep := map[string]string{sqlconn.EnginePostgreSQL: "SELECT pg_sleep(:s)", sqlconn.EngineMySQL: "SELECT SLEEP(:s)"}[d.engine]
			if sleep != "" {
				code, out = call(t, s, "/sql", map[string]any{"conn": d.engine, "query": sleep, "params": map[string]any{"s": 10}, "timeout": 0.2})
				if code != 504 || !strings.Contains(fmt.Sprint(out), "the statement took longer than 200ms") {
					t.Errorf("timeout: %d %v", code, out)
				}
			}
			// Placeholders are named, and each needs a value.
			code, out = call(t, s, "/sql", map[string]any{"conn": d.engine, "query": "SELECT :a"})
			if code != 400 || !strings.Contains(fmt.Sprint(out), "parameter :a has no value in params") {
				t.Errorf("missing parameter: %d %v", code, out)
			}
			// One statement per call.
			if d.engine != sqlconn.EngineSQLite {
				code, _ = call(t, s, "/sql", map[string]any{"conn": d.engine, "query": "SELECT 1; DROP TABLE nothing_here"})
				if code != 500 {
					t.Errorf("two statements: %d", code)
				}
			}
		})
	}
}

// A database that is down leaves the connection degraded and the server
// up; ping says why; services get 503.
func TestDown(t *testing.T) {
	s := plexustest.Start(t, plexustest.Options{})
	s.Deploy("sqlcall.star", sqlcall)
	s.Channel("sql", "sqlcall", "POST", "/sql", nil)
	for _, engine := range []string{"postgresql", "mysql"} {
		s.Put(sqlconn.Kind, engine, map[string]any{"engine": engine, "host": "127.0.0.1", "port": 1, "db_name": "x", "username": "u", "password": "secret-pw"})
		st := s.WaitState(sqlconn.Kind, engine, "degraded")
		if !strings.Contains(fmt.Sprint(st["error"]), "cannot be reached") {
			t.Errorf("%s: %v", engine, st)
		}
		r := s.AdminCall("POST", "/admin/api/v1/objects/outgoing_sql/"+engine+"/ping", "")
		var ping registry.PingResult
		json.Unmarshal(r.Body, &ping)
		if r.StatusCode != 200 || ping.OK || !strings.Contains(ping.Error, "connection refused") || ping.Target != engine+" 127.0.0.1:1/x" {
			t.Errorf("%s ping: %d %s", engine, r.StatusCode, r.Body)
		}
		code, out := call(t, s, "/sql", map[string]any{"conn": engine, "query": "SELECT 1"})
		if code != http.StatusServiceUnavailable || !strings.Contains(fmt.Sprint(out), "the database cannot be reached") {
			t.Errorf("%s: %d %v", engine, code, out)
		}
	}
	if strings.Contains(s.Log.String(), "secret-pw") {
		t.Error("the password is in the log")
	}
	if r := s.Call("GET", "/nothing", "", nil); r.StatusCode != 404 {
		t.Errorf("the server is not up: %d", r.StatusCode)
	}
	_ = errors.New
}

// Zato's enmasse sections sql and outconn_sql import, with Zato's field
// names; the password is a secret.
func TestZatoImport(t *testing.T) {
	dir := t.TempDir()
	s := plexustest.Start(t, plexustest.Options{})
	s.Import(`
sql:
  - name: CRM
    type: sqlite
    db_name: ` + dir + `/crm.db
    pool_size: 5
    timeout: 7
outconn_sql:
  - name: Billing
    is_active: true
    engine: postgresql
    host: 127.0.0.1
    port: 1
    db_name: billing
    username: billing
    password: very-secret
  - name: Orders
    engine: mysql+pymysql
    host: 127.0.0.1
    port: 1
    db_name: orders?charset=utf8mb4
    extra:
      - loc=UTC
`)
	orders := s.AdminCall("GET", "/admin/api/v1/objects/outgoing_sql/Orders", "").JSON(t)
	if orders["engine"] != "mysql" {
		t.Errorf("Orders: %v", orders)
	}
	r := s.AdminCall("POST", "/admin/api/v1/objects/outgoing_sql/Orders/ping", "")
	if !strings.Contains(string(r.Body), `"target": "mysql 127.0.0.1:1/orders"`) {
		t.Errorf("Orders ping: %s", r.Body)
	}
	s.WaitState(sqlconn.Kind, "CRM", "running")
	crm := s.AdminCall("GET", "/admin/api/v1/objects/outgoing_sql/CRM", "").JSON(t)
	if crm["engine"] != "sqlite" || fmt.Sprint(crm["query_timeout"]) != "7s" || fmt.Sprint(crm["pool_size"]) != "5" {
		t.Errorf("CRM: %v", crm)
	}
	r = s.AdminCall("GET", "/admin/api/v1/objects/outgoing_sql/Billing", "")
	if strings.Contains(string(r.Body), "very-secret") || !strings.Contains(string(r.Body), `"******"`) {
		t.Errorf("Billing: %s", r.Body)
	}
	s.WaitState(sqlconn.Kind, "Billing", "degraded")
	if strings.Contains(s.Log.String(), "very-secret") {
		t.Error("the password is in the log")
	}
}
