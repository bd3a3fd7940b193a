package sqlconn

import (
	"bytes"
	"context"
	"database/sql"
	"database/sql/driver"
	"encoding/json"
	"errors"
	"fmt"
	"math/big"
	"net"
	"net/http"
	"reflect"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/go-sql-driver/mysql"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/plexushq/plexus/sdk/service"
)

// class is how a column's values are decoded, from its database type.
type class uint8

const (
	classPlain   class = iota // as the driver gives them; bytes as text
	classDecimal              // NUMERIC, DECIMAL: exact, as json.Number
	classJSON                 // JSON, JSONB: decoded
	classBytes                // BYTEA, BLOB, BINARY: bytes
	classBool                 // BOOL, BOOLEAN
	classInt                  // integers sent as text
	classFloat                // floating point sent as text
)

// classOf returns the class of a database type name, as the drivers
// spell them (SQLite's are the declared types).
func classOf(typ string) class {
	base, _, _ := strings.Cut(strings.ToUpper(typ), "(")
	base = strings.TrimSpace(strings.TrimPrefix(base, "UNSIGNED "))
	switch base {
	case "NUMERIC", "DECIMAL", "NEWDECIMAL":
		return classDecimal
	case "JSON", "JSONB":
		return classJSON
	case "BYTEA", "BLOB", "TINYBLOB", "MEDIUMBLOB", "LONGBLOB", "BINARY", "VARBINARY", "GEOMETRY":
		return classBytes
	case "BOOL", "BOOLEAN":
		return classBool
	case "INT", "INTEGER", "TINYINT", "SMALLINT", "MEDIUMINT", "BIGINT", "YEAR", "INT2", "INT4", "INT8":
		return classInt
	case "FLOAT", "DOUBLE", "REAL", "FLOAT4", "FLOAT8", "DOUBLE PRECISION":
		return classFloat
	}
	return classPlain
}

// result is a statement's result with its columns' classes.
type result struct {
	service.SQLResult
	classes []class
}

// runner runs statements on a pool or in a transaction, through
// database/sql (MySQL, SQLite) or pgx (PostgreSQL). The arguments it
// gets start with a free slot, for pgx's options, and go on with the
// statement's parameters.
type runner interface {
	// rows runs a statement that returns rows and reads them, failing
	// past maxRows of them.
	rows(ctx context.Context, name, text string, args []any, maxRows int) (*result, error)
	// exec runs a statement that returns no rows and returns the count
	// of rows it affected, -1 when the driver does not say.
	exec(ctx context.Context, text string, args []any) (int64, error)
}

// sqlRunner runs statements through database/sql.
type sqlRunner struct {
	q interface {
		QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
		ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
	}
}

func (s *sqlRunner) exec(ctx context.Context, text string, args []any) (int64, error) {
	res, err := s.q.ExecContext(ctx, text, args[1:]...)
	if err != nil {
		return 0, err
	}
	n, err := res.RowsAffected()
	if err != nil {
		n = -1
	}
	return n, nil
}

func (s *sqlRunner) rows(ctx context.Context, name, text string, args []any, maxRows int) (*result, error) {
	rows, err := s.q.QueryContext(ctx, text, args[1:]...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	types, err := rows.ColumnTypes()
	if err != nil {
		return nil, err
	}
	r := newResult(len(types), func(i int) (string, class) { return types[i].Name(), classOf(types[i].DatabaseTypeName()) })
	vals := make([]any, len(types))
	ptrs := make([]any, len(types))
	for i := range vals {
		ptrs[i] = &vals[i]
	}
	for rows.Next() {
		if err := rows.Scan(ptrs...); err != nil {
			return nil, err
		}
		if err := r.add(name, vals, maxRows); err != nil {
			return nil, err
		}
	}
	return r, rows.Err()
}

// QuerySQL runs one statement on the pool.
func (d *Database) QuerySQL(ctx context.Context, q *service.SQLQuery) (*service.SQLResult, error) {
	r, err := d.exec(ctx, q)
	if err != nil {
		return nil, err
	}
	return &r.SQLResult, nil
}

// exec runs one statement on the pool, or on the pool that replaced it
// when it was closed before the statement could start.
func (d *Database) exec(ctx context.Context, q *service.SQLQuery) (*result, error) {
	for {
		r, err := d.query(ctx, d.run, q)
		if n := d.successor(err); n != nil {
			d = n
			continue
		}
		return r, err
	}
}

// successor returns the pool that replaced d when err says d is closed.
func (d *Database) successor(err error) *Database {
	if !poolClosed(err) {
		return nil
	}
	return d.next.Load()
}

// poolClosed reports whether err is database/sql's or pgx's refusal of
// a closed pool, which they return before using a connection.
func poolClosed(err error) bool {
	for err != nil {
		if msg := err.Error(); msg == "sql: database is closed" || msg == "closed pool" {
			return true
		}
		err = errors.Unwrap(err)
	}
	return false
}

// query runs one statement: rows for one that returns them, the count of
// rows affected otherwise.
func (d *Database) query(ctx context.Context, on runner, q *service.SQLQuery) (*result, error) {
	cfg := d.cfg.Load()
	st, err := d.statement(q.Query)
	if err != nil {
		return nil, d.count(service.BadRequest("SQL connection %q: %v", d.name, err), "refused")
	}
	args, err := st.args(q.Params, goArg, 1)
	if err != nil {
		return nil, d.count(service.BadRequest("SQL connection %q: %v", d.name, err), "refused")
	}
	timeout := cfg.QueryTimeout.D()
	if q.Timeout > 0 {
		timeout = q.Timeout
	}
	maxRows := cfg.MaxRows
	if q.MaxRows > 0 && q.MaxRows < maxRows {
		maxRows = q.MaxRows
	}
	qctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	var r *result
	if st.rows {
		r, err = on.rows(qctx, d.name, st.text, args, maxRows)
	} else {
		var n int64
		if n, err = on.exec(qctx, st.text, args); err == nil {
			r = &result{SQLResult: service.SQLResult{RowsAffected: n}}
		}
	}
	if err != nil {
		return nil, d.fail(qctx, err, timeout)
	}
	d.count(nil, "ok")
	return r, nil
}

// maxStatements is how many translated statements a pool keeps; past
// it, statements are translated on every call.
const maxStatements = 1000

// statement returns a query translated for the pool's engine, from the
// pool's cache when it was seen before.
func (d *Database) statement(query string) (*statement, error) {
	if st, ok := d.statements.Load(query); ok {
		return st.(*statement), nil
	}
	st, err := parse(d.engine, query)
	if err == nil && d.cached.Load() < maxStatements {
		if _, loaded := d.statements.LoadOrStore(query, st); !loaded {
			d.cached.Add(1)
		}
	}
	return st, err
}

// TooManyRowsError is the error of a query that returned more rows than
// its limit.
type TooManyRowsError struct {
	Name  string
	Limit int
}

func (e *TooManyRowsError) Error() string {
	return fmt.Sprintf("SQL connection %q: the query returned more than %d rows (max_rows); add a LIMIT or a WHERE, or raise max_rows", e.Name, e.Limit)
}

// newResult returns an empty result with n columns, each one's name and
// class given by column.
func newResult(n int, column func(int) (string, class)) *result {
	r := &result{SQLResult: service.SQLResult{Columns: make([]string, n)}, classes: make([]class, n)}
	for i := range n {
		r.Columns[i], r.classes[i] = column(i)
	}
	return r
}

// add decodes a row's values and appends the row, past maxRows rows an
// error; the values may be the driver's own buffers, reused after.
func (r *result) add(name string, vals []any, maxRows int) error {
	if len(r.Rows) == maxRows {
		return &TooManyRowsError{Name: name, Limit: maxRows}
	}
	row := make(map[string]any, len(vals))
	for i, v := range vals {
		var err error
		if row[r.Columns[i]], err = decode(r.classes[i], v); err != nil {
			return fmt.Errorf("reading column %q: %w", r.Columns[i], err)
		}
	}
	r.Rows = append(r.Rows, row)
	return nil
}

// decode converts what a driver gave for a column to its Go value.
func decode(c class, v any) (any, error) {
	if v == nil {
		return nil, nil
	}
	if b, ok := v.([]byte); ok {
		if c != classBytes {
			v = string(b)
		} else {
			v = bytes.Clone(b)
		}
	}
	switch c {
	case classDecimal:
		switch x := v.(type) {
		case string:
			return json.Number(x), nil
		case int64:
			return json.Number(strconv.FormatInt(x, 10)), nil
		case float64:
			return json.Number(strconv.FormatFloat(x, 'f', -1, 64)), nil
		}
	case classJSON:
		if s, ok := v.(string); ok {
			dec := json.NewDecoder(strings.NewReader(s))
			dec.UseNumber()
			var out any
			if err := dec.Decode(&out); err != nil {
				return nil, err
			}
			return out, nil
		}
	case classBytes:
		if s, ok := v.(string); ok {
			return []byte(s), nil
		}
	case classBool:
		switch x := v.(type) {
		case int64:
			return x != 0, nil
		case string:
			return strconv.ParseBool(x)
		}
	case classInt:
		if s, ok := v.(string); ok {
			if n, err := strconv.ParseInt(s, 10, 64); err == nil {
				return n, nil
			}
			return strconv.ParseUint(s, 10, 64)
		}
	case classFloat:
		switch x := v.(type) {
		case string:
			return strconv.ParseFloat(x, 64)
		case float32:
			return float64(x), nil
		}
	}
	if f, ok := v.(float32); ok {
		return float64(f), nil
	}
	return v, nil
}

// goArg converts a parameter's value for the drivers: maps and slices
// become JSON, exact numbers their text.
func goArg(v any) (any, error) {
	switch x := v.(type) {
	case nil, bool, int64, float64, string, []byte:
		return x, nil
	case time.Time:
		return x.UTC(), nil
	case int:
		return int64(x), nil
	case int32:
		return int64(x), nil
	case uint64:
		if x > 1<<63-1 {
			return strconv.FormatUint(x, 10), nil
		}
		return int64(x), nil
	case float32:
		return float64(x), nil
	case json.Number:
		return x.String(), nil
	case *big.Int:
		return x.String(), nil
	case driver.Valuer:
		return x, nil
	}
	rv := reflect.ValueOf(v)
	switch rv.Kind() {
	case reflect.Map, reflect.Slice, reflect.Array, reflect.Struct:
		var buf bytes.Buffer
		enc := json.NewEncoder(&buf)
		enc.SetEscapeHTML(false)
		if err := enc.Encode(v); err != nil {
			return nil, err
		}
		return strings.TrimSuffix(buf.String(), "\n"), nil
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return rv.Int(), nil
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32:
		return int64(rv.Uint()), nil
	case reflect.String:
		return rv.String(), nil
	}
	return nil, fmt.Errorf("a %T cannot be sent to the database", v)
}

// fail returns the error of a failed statement: a timeout (504), a
// database that cannot be reached (503), or the database's own error,
// wrapped with the connection's name.
func (d *Database) fail(ctx context.Context, err error, timeout time.Duration) error {
	var tooMany *TooManyRowsError
	var se *service.Error
	switch {
	case errors.As(err, &tooMany):
		return d.count(err, "refused")
	case errors.As(err, &se):
		return d.count(err, "refused")
	case errors.Is(ctx.Err(), context.DeadlineExceeded) && timeout > 0:
		return d.count(&service.Error{Status: http.StatusGatewayTimeout,
			Message: fmt.Sprintf("SQL connection %q: the statement took longer than %s", d.name, timeout), Cause: err}, "timeout")
	case errors.Is(ctx.Err(), context.DeadlineExceeded):
		return d.count(&service.Error{Status: http.StatusGatewayTimeout,
			Message: fmt.Sprintf("SQL connection %q: the database did not answer in time", d.name), Cause: err}, "timeout")
	case ctx.Err() != nil:
		return d.count(err, "error")
	case poolClosed(err):
		if d.next.Load() != nil {
			return err // the statement runs again on the new pool
		}
		return d.count(&service.Error{Status: http.StatusServiceUnavailable,
			Message: fmt.Sprintf("SQL connection %q was deleted", d.name), Cause: err}, "unavailable")
	case unreachable(err):
		return d.count(&service.Error{Status: http.StatusServiceUnavailable,
			Message: fmt.Sprintf("SQL connection %q: the database cannot be reached", d.name), Cause: err}, "unavailable")
	}
	return d.count(fmt.Errorf("SQL connection %q: %w", d.name, err), "error")
}

// unreachable reports whether err says the database could not be
// reached, rather than refusing the statement.
func unreachable(err error) bool {
	var ce *pgconn.ConnectError
	var ne net.Error
	var oe *net.OpError
	return errors.As(err, &ce) || errors.As(err, &oe) || errors.As(err, &ne) || pgconn.SafeToRetry(err) ||
		errors.Is(err, driver.ErrBadConn) || errors.Is(err, mysql.ErrInvalidConn)
}

// count counts a statement's outcome and returns err.
func (d *Database) count(err error, outcome string) error {
	if d.counts != nil {
		d.counts.WithLabelValues(d.name, outcome).Inc()
	}
	return err
}

// BeginSQL begins a transaction, which holds one of the pool's
// connections until it commits or rolls back, or until ctx ends, which
// rolls it back.
func (d *Database) BeginSQL(ctx context.Context) (service.SQLTransaction, error) {
	cfg := d.cfg.Load()
	bctx, cancel := context.WithTimeout(ctx, cfg.QueryTimeout.D())
	defer cancel()
	t := &Tx{d: d, ctx: ctx}
	var err error
	if d.pg != nil {
		err = t.beginPG(bctx)
	} else if t.sqlTx, err = d.db.BeginTx(ctx, nil); err == nil { // BeginTx's context ends the transaction
		t.run = &sqlRunner{q: t.sqlTx}
	}
	if n := d.successor(err); n != nil {
		return n.BeginSQL(ctx)
	}
	if err != nil {
		return nil, d.fail(bctx, err, 0)
	}
	return t, nil
}

// Tx is a transaction on one of the pool's connections. It runs one
// statement at a time.
type Tx struct {
	d     *Database
	ctx   context.Context
	run   runner
	mu    sync.Mutex
	sqlTx *sql.Tx // MySQL, SQLite
	pgTx  pgx.Tx  // PostgreSQL
	stop  func() bool
}

// QuerySQL runs one statement in the transaction.
func (t *Tx) QuerySQL(ctx context.Context, q *service.SQLQuery) (*service.SQLResult, error) {
	r, err := t.query(ctx, q)
	if err != nil {
		return nil, err
	}
	return &r.SQLResult, nil
}

// query runs one statement in the transaction.
func (t *Tx) query(ctx context.Context, q *service.SQLQuery) (*result, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.d.query(ctx, t.run, q)
}

// Commit commits the transaction.
func (t *Tx) Commit() error {
	var err error
	if t.pgTx != nil {
		t.stop()
		t.mu.Lock()
		err = t.pgTx.Commit(t.ctx)
		t.mu.Unlock()
	} else {
		err = t.sqlTx.Commit()
	}
	if err != nil {
		return fmt.Errorf("SQL connection %q: committing: %w", t.d.name, err)
	}
	return nil
}

// Rollback rolls the transaction back; after a commit it does nothing.
func (t *Tx) Rollback() error {
	var err error
	if t.pgTx != nil {
		t.stop()
		err = t.rollbackPG()
	} else if err = t.sqlTx.Rollback(); errors.Is(err, sql.ErrTxDone) {
		err = nil
	}
	if err != nil {
		return fmt.Errorf("SQL connection %q: rolling back: %w", t.d.name, err)
	}
	return nil
}
