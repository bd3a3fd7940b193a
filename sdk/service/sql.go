package service

import (
	"context"
	"fmt"
	"time"
)

// KindOutgoingSQL is the kind of outgoing SQL connections, as
// Platform.Resource knows them.
const KindOutgoingSQL = "outgoing_sql"

// SQL returns the outgoing SQL connection with a name:
// s.Out().SQL("CRM").Execute(query, params) is Starlark's
// self.out.sql["CRM"].conn.execute(query, params). The name is looked up
// on each call, in the configuration current at that moment.
func (o Out) SQL(name string) *SQLConn { return &SQLConn{c: o.c, name: name} }

// SQLConn is an outgoing SQL connection as a service queries it. Queries
// name their parameters, as in "SELECT * FROM customer WHERE id = :id",
// and give their values in params: values are sent apart from the query,
// never formatted into it.
//
// Values in params: nil (NULL), bool, integers, float64, string, []byte,
// time.Time, json.Number (an exact decimal), and maps and slices (sent
// as JSON). Values in rows: nil, int64, float64, bool, string, []byte,
// time.Time, json.Number for NUMERIC and DECIMAL columns, and the
// decoded value of JSON columns (numbers as json.Number).
//
// An error is the database's (wrapped, for errors.As), a timeout (*Error
// 504), a database that cannot be reached (*Error 503), a result with
// more rows than the connection's max_rows, or the connection is missing
// or inactive (503).
type SQLConn struct {
	c    *Context
	name string
}

// Name returns the connection's name.
func (s *SQLConn) Name() string { return s.name }

// Execute runs one statement. A statement that returns rows (SELECT,
// WITH, VALUES, SHOW, EXPLAIN, PRAGMA, or one with RETURNING) fills
// Rows; any other fills RowsAffected.
func (s *SQLConn) Execute(query string, params map[string]any, opts ...SQLOption) (*SQLResult, error) {
	db, err := s.db()
	if err != nil {
		return nil, err
	}
	return db.QuerySQL(s.ctx(), newSQLQuery(query, params, opts))
}

// One runs a query and returns its only row, or nil when it returned
// none; more than one row is an error.
func (s *SQLConn) One(query string, params map[string]any, opts ...SQLOption) (map[string]any, error) {
	r, err := s.Execute(query, params, opts...)
	if err != nil {
		return nil, err
	}
	return r.One()
}

// Scalar runs a query and returns the first column of its only row, or
// nil when it returned none; more than one row is an error.
func (s *SQLConn) Scalar(query string, params map[string]any, opts ...SQLOption) (any, error) {
	r, err := s.Execute(query, params, opts...)
	if err != nil {
		return nil, err
	}
	return r.Scalar()
}

// Transaction runs fn in a transaction: it commits when fn returns nil
// and rolls back when fn returns an error (returned as it is) or
// panics.
func (s *SQLConn) Transaction(fn func(tx *SQLTx) error) (err error) {
	db, err := s.db()
	if err != nil {
		return err
	}
	ctx := s.ctx()
	t, err := db.BeginSQL(ctx)
	if err != nil {
		return err
	}
	done := false
	defer func() {
		if !done {
			t.Rollback()
		}
	}()
	if err := fn(&SQLTx{t: t, ctx: ctx}); err != nil {
		done = true
		if rerr := t.Rollback(); rerr != nil {
			return fmt.Errorf("%w (and rolling back: %v)", err, rerr)
		}
		return err
	}
	done = true
	return t.Commit()
}

func (s *SQLConn) db() (SQLDatabase, error) {
	return Resource[SQLDatabase](s.c, KindOutgoingSQL, s.name)
}

func (s *SQLConn) ctx() context.Context {
	if s.c.Context == nil {
		return context.Background()
	}
	return s.c
}

// SQLTx is a transaction in progress: its statements see each other's
// changes, and none is seen outside before it commits.
type SQLTx struct {
	t   SQLTransaction
	ctx context.Context
}

// Execute runs one statement in the transaction, as SQLConn.Execute.
func (t *SQLTx) Execute(query string, params map[string]any, opts ...SQLOption) (*SQLResult, error) {
	return t.t.QuerySQL(t.ctx, newSQLQuery(query, params, opts))
}

// One runs a query in the transaction, as SQLConn.One.
func (t *SQLTx) One(query string, params map[string]any, opts ...SQLOption) (map[string]any, error) {
	r, err := t.Execute(query, params, opts...)
	if err != nil {
		return nil, err
	}
	return r.One()
}

// Scalar runs a query in the transaction, as SQLConn.Scalar.
func (t *SQLTx) Scalar(query string, params map[string]any, opts ...SQLOption) (any, error) {
	r, err := t.Execute(query, params, opts...)
	if err != nil {
		return nil, err
	}
	return r.Scalar()
}

// SQLOption changes one statement.
type SQLOption func(*SQLQuery)

// SQLTimeout bounds how long one statement may take, instead of the
// connection's query_timeout.
func SQLTimeout(d time.Duration) SQLOption { return func(q *SQLQuery) { q.Timeout = d } }

// SQLMaxRows bounds the rows one query may return, below the connection's
// max_rows.
func SQLMaxRows(n int) SQLOption { return func(q *SQLQuery) { q.MaxRows = n } }

func newSQLQuery(query string, params map[string]any, opts []SQLOption) *SQLQuery {
	q := &SQLQuery{Query: query, Params: params}
	for _, o := range opts {
		o(q)
	}
	return q
}

// SQLQuery is one statement, as the platform receives it.
type SQLQuery struct {
	// Query is the statement, with :name placeholders.
	Query string
	// Params are the placeholders' values, by name.
	Params map[string]any
	// Timeout, when not zero, replaces the connection's query_timeout.
	Timeout time.Duration
	// MaxRows, when not zero, lowers the connection's max_rows.
	MaxRows int
}

// SQLResult is what a statement returned.
type SQLResult struct {
	// Columns are the names of the columns, in order.
	Columns []string
	// Rows are the rows, each a map from column name to value.
	Rows []map[string]any
	// RowsAffected is how many rows a statement that returns none
	// changed.
	RowsAffected int64
}

// One returns the only row, or nil when there is none; more than one row
// is an error.
func (r *SQLResult) One() (map[string]any, error) {
	switch len(r.Rows) {
	case 0:
		return nil, nil
	case 1:
		return r.Rows[0], nil
	}
	return nil, fmt.Errorf("the query returned %d rows, not one", len(r.Rows))
}

// Scalar returns the first column of the only row, or nil when there is
// none; more than one row is an error.
func (r *SQLResult) Scalar() (any, error) {
	row, err := r.One()
	if row == nil || err != nil || len(r.Columns) == 0 {
		return nil, err
	}
	return row[r.Columns[0]], nil
}

// SQLDatabase is what the platform returns for an outgoing SQL
// connection. Services use SQLConn; tests of services may implement it
// in their own Platform.
type SQLDatabase interface {
	QuerySQL(ctx context.Context, q *SQLQuery) (*SQLResult, error)
	BeginSQL(ctx context.Context) (SQLTransaction, error)
}

// SQLTransaction is a transaction an SQLDatabase began.
type SQLTransaction interface {
	QuerySQL(ctx context.Context, q *SQLQuery) (*SQLResult, error)
	Commit() error
	Rollback() error
}
