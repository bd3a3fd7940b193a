package sqlconn

import (
	"bytes"
	"context"
	"database/sql"
	"database/sql/driver"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/big"
	"net"
	"net/http"
	"reflect"
	"strconv"
	"strings"
	"time"

	"github.com/go-sql-driver/mysql"
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
	base = strings.TrimSpace(strings.TrimPrefix(strings.TrimPrefix(base, "UNSIGNED "), "_"))
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
	*service.SQLResult
	classes []class
}

// querier is a pool or a transaction.
type querier interface {
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
}

// QuerySQL runs one statement on the pool.
func (d *Database) QuerySQL(ctx context.Context, q *service.SQLQuery) (*service.SQLResult, error) {
	r, err := d.exec(ctx, q)
	if err != nil {
		return nil, err
	}
	return r.SQLResult, nil
}

// exec runs one statement on the pool, or on the pool that replaced it
// when it was closed before the statement could start.
func (d *Database) exec(ctx context.Context, q *service.SQLQuery) (*result, error) {
	for {
		r, err := d.query(ctx, d.db, q)
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

// poolClosed reports whether err is database/sql's refusal of a closed
// pool, which it returns before using a connection.
func poolClosed(err error) bool {
	for err != nil {
		if err.Error() == "sql: database is closed" {
			return true
		}
		err = errors.Unwrap(err)
	}
	return false
}

// query runs one statement: rows for one that returns them, the count of
// rows affected otherwise.
func (d *Database) query(ctx context.Context, on querier, q *service.SQLQuery) (*result, error) {
	cfg := d.cfg.Load()
	st, err := d.statement(q.Query)
	if err != nil {
		return nil, d.count(service.BadRequest("SQL connection %q: %v", d.name, err), "refused")
	}
	args, err := st.args(q.Params, goArg)
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
	if !st.rows {
		res, err := on.ExecContext(qctx, st.text, args...)
		if err != nil {
			return nil, d.fail(qctx, err, timeout)
		}
		n, err := res.RowsAffected()
		if err != nil {
			n = -1
		}
		d.count(nil, "ok")
		return &result{SQLResult: &service.SQLResult{RowsAffected: n}}, nil
	}
	var r *result
	if _, pool := on.(*sql.DB); pool && d.engine == EnginePostgreSQL {
		r, err = d.queryDriver(qctx, st.text, args, maxRows)
	} else {
		r, err = d.queryRows(qctx, on, st.text, args, maxRows)
	}
	if err != nil {
		return nil, d.fail(qctx, err, timeout)
	}
	d.count(nil, "ok")
	return r, nil
}

// queryRows runs a statement that returns rows through database/sql.
func (d *Database) queryRows(ctx context.Context, on querier, text string, args []any, maxRows int) (*result, error) {
	rows, err := on.QueryContext(ctx, text, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	types, err := rows.ColumnTypes()
	if err != nil {
		return nil, err
	}
	r := newResult(len(types), func(i int) (string, string) { return types[i].Name(), types[i].DatabaseTypeName() })
	vals := make([]any, len(types))
	ptrs := make([]any, len(types))
	for i := range vals {
		ptrs[i] = &vals[i]
	}
	for rows.Next() {
		if err := rows.Scan(ptrs...); err != nil {
			return nil, err
		}
		if err := r.add(d.name, vals, maxRows); err != nil {
			return nil, err
		}
	}
	return r, rows.Err()
}

// maxBadConn is how many times a statement runs on another of the
// pool's connections when the driver says, before sending it, that the
// one it got is broken; database/sql's own number.
const maxBadConn = 3

// queryDriver runs a statement that returns rows on one of the pool's
// connections, calling the driver itself: database/sql's Rows would
// start a goroutine per statement to watch ctx, which pgx watches
// already, and copy every value once more. pgx's driver takes the
// arguments as they are, as database/sql would hand them over.
func (d *Database) queryDriver(ctx context.Context, text string, args []any, maxRows int) (r *result, err error) {
	named := make([]driver.NamedValue, len(args))
	for i, a := range args {
		named[i] = driver.NamedValue{Ordinal: i + 1, Value: a}
	}
	for range maxBadConn {
		var conn *sql.Conn
		if conn, err = d.db.Conn(ctx); err != nil {
			return nil, err
		}
		err = conn.Raw(func(dc any) error {
			r, err = d.readDriver(ctx, dc.(driver.QueryerContext), text, named, maxRows)
			return err
		})
		conn.Close()
		if !errors.Is(err, driver.ErrBadConn) {
			break
		}
	}
	return r, err
}

// readDriver runs a statement on a driver's connection and reads its rows.
func (d *Database) readDriver(ctx context.Context, q driver.QueryerContext, text string, args []driver.NamedValue, maxRows int) (*result, error) {
	rows, err := q.QueryContext(ctx, text, args)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	cols := rows.Columns()
	typed, _ := rows.(driver.RowsColumnTypeDatabaseTypeName)
	r := newResult(len(cols), func(i int) (string, string) {
		if typed == nil {
			return cols[i], ""
		}
		return cols[i], typed.ColumnTypeDatabaseTypeName(i)
	})
	dest := make([]driver.Value, len(cols))
	vals := make([]any, len(cols))
	for {
		if err := rows.Next(dest); err == io.EOF {
			return r, nil
		} else if err != nil {
			return nil, err
		}
		for i, v := range dest {
			vals[i] = v
		}
		if err := r.add(d.name, vals, maxRows); err != nil {
			return nil, err
		}
	}
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
// database type given by column.
func newResult(n int, column func(int) (name, typ string)) *result {
	r := &result{SQLResult: &service.SQLResult{Columns: make([]string, n)}, classes: make([]class, n)}
	for i := range n {
		name, typ := column(i)
		r.Columns[i], r.classes[i] = name, classOf(typ)
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
	return errors.As(err, &ce) || errors.As(err, &oe) || errors.As(err, &ne) ||
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
// connections until it commits or rolls back.
func (d *Database) BeginSQL(ctx context.Context) (service.SQLTransaction, error) {
	cfg := d.cfg.Load()
	bctx, cancel := context.WithTimeout(ctx, cfg.QueryTimeout.D())
	defer cancel()
	// The transaction lives as long as ctx: BeginTx's context ends it.
	tx, err := d.db.BeginTx(ctx, nil)
	if n := d.successor(err); n != nil {
		return n.BeginSQL(ctx)
	}
	if err != nil {
		return nil, d.fail(bctx, err, 0)
	}
	return &Tx{d: d, tx: tx}, nil
}

// Tx is a transaction on one of the pool's connections.
type Tx struct {
	d  *Database
	tx *sql.Tx
}

// QuerySQL runs one statement in the transaction.
func (t *Tx) QuerySQL(ctx context.Context, q *service.SQLQuery) (*service.SQLResult, error) {
	r, err := t.d.query(ctx, t.tx, q)
	if err != nil {
		return nil, err
	}
	return r.SQLResult, nil
}

// Commit commits the transaction.
func (t *Tx) Commit() error {
	if err := t.tx.Commit(); err != nil {
		return fmt.Errorf("SQL connection %q: committing: %w", t.d.name, err)
	}
	return nil
}

// Rollback rolls the transaction back; after a commit it does nothing.
func (t *Tx) Rollback() error {
	if err := t.tx.Rollback(); err != nil && !errors.Is(err, sql.ErrTxDone) {
		return fmt.Errorf("SQL connection %q: rolling back: %w", t.d.name, err)
	}
	return nil
}
