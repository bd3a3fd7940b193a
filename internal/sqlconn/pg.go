package sqlconn

import (
	"context"
	"database/sql/driver"
	"encoding/binary"
	"encoding/json"
	"errors"
	"sync"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgtype"
)

// maxBadConn is how many times a statement runs on another of the
// pool's connections when pgx says, before sending it, that the one it
// got is broken; database/sql's own number.
const maxBadConn = 3

// pgFormats asks PostgreSQL for these types' values in binary, the rest
// as text, as pgx's database/sql driver does: the values read are the
// same.
var pgFormats = pgx.QueryResultFormatsByOID{
	pgtype.BoolOID: pgtype.BinaryFormatCode, pgtype.ByteaOID: pgtype.BinaryFormatCode,
	pgtype.CIDOID: pgtype.BinaryFormatCode, pgtype.DateOID: pgtype.BinaryFormatCode,
	pgtype.Float4OID: pgtype.BinaryFormatCode, pgtype.Float8OID: pgtype.BinaryFormatCode,
	pgtype.Int2OID: pgtype.BinaryFormatCode, pgtype.Int4OID: pgtype.BinaryFormatCode,
	pgtype.Int8OID: pgtype.BinaryFormatCode, pgtype.OIDOID: pgtype.BinaryFormatCode,
	pgtype.TimestampOID: pgtype.BinaryFormatCode, pgtype.TimestamptzOID: pgtype.BinaryFormatCode,
	pgtype.XIDOID: pgtype.BinaryFormatCode,
}

// pgRunner runs statements with pgx, on its pool or in a transaction.
type pgRunner struct {
	q interface {
		Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
		Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error)
	}
	// pool says a statement that a broken connection refused runs again
	// on another, as database/sql does; in a transaction it fails.
	pool bool
}

func (p *pgRunner) exec(ctx context.Context, text string, args []any) (int64, error) {
	for attempt := 1; ; attempt++ {
		tag, err := p.q.Exec(ctx, text, args[1:]...)
		if err == nil {
			return tag.RowsAffected(), nil
		}
		if !p.again(attempt, err) {
			return 0, err
		}
	}
}

func (p *pgRunner) rows(ctx context.Context, name, text string, args []any, maxRows int) (*result, error) {
	args[0] = pgFormats
	for attempt := 1; ; attempt++ {
		r, err := readPG(ctx, p.q, name, text, args, maxRows)
		if err == nil || !p.again(attempt, err) {
			return r, err
		}
	}
}

// again reports whether a statement that failed with err, before it was
// sent, runs again.
func (p *pgRunner) again(attempt int, err error) bool {
	return p.pool && attempt < maxBadConn && pgconn.SafeToRetry(err)
}

// readPG runs a statement and reads its rows.
func readPG(ctx context.Context, q interface {
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
}, name, text string, args []any, maxRows int) (*result, error) {
	rows, err := q.Query(ctx, text, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	more := rows.Next() // the columns are known once the first row, or the end, arrived
	if err := rows.Err(); err != nil {
		return nil, err
	}
	m := rows.Conn().TypeMap()
	fields := rows.FieldDescriptions()
	r := newResult(len(fields), func(i int) (string, class) { return fields[i].Name, pgClass(m, fields[i].DataTypeOID) })
	vals := make([]any, len(fields))
	for ; more; more = rows.Next() {
		for i, src := range rows.RawValues() {
			if vals[i], err = pgValue(m, &fields[i], r.classes[i], src); err != nil {
				return nil, err
			}
		}
		if err := r.add(name, vals, maxRows); err != nil {
			return nil, err
		}
	}
	return r, rows.Err()
}

// pgClasses caches the class of PostgreSQL's types by OID: pgx's map of
// types, which names them, is the same on every connection.
var pgClasses sync.Map

// pgClass returns the class of a PostgreSQL type; a type pgx does not
// know is plain.
func pgClass(m *pgtype.Map, oid uint32) class {
	if c, ok := pgClasses.Load(oid); ok {
		return c.(class)
	}
	t, ok := m.TypeForOID(oid)
	if !ok {
		return classPlain
	}
	c := classOf(t.Name)
	pgClasses.Store(oid, c)
	return c
}

// pgValue converts a column's value as pgx's database/sql driver does,
// for decode: integers as int64, floats as float64, times as time.Time
// (infinite ones as text), bytea, JSON and XML as bytes, the rest as
// PostgreSQL's text — a decimal's already as decode makes it.
func pgValue(m *pgtype.Map, f *pgconn.FieldDescription, c class, src []byte) (any, error) {
	if src == nil {
		return nil, nil
	}
	oid, format := f.DataTypeOID, f.Format
	if format == pgtype.BinaryFormatCode {
		// The commonest, as pgx decodes them.
		switch {
		case oid == pgtype.Int4OID && len(src) == 4:
			return int64(int32(binary.BigEndian.Uint32(src))), nil
		case oid == pgtype.Int8OID && len(src) == 8:
			return int64(binary.BigEndian.Uint64(src)), nil
		case oid == pgtype.Int2OID && len(src) == 2:
			return int64(int16(binary.BigEndian.Uint16(src))), nil
		}
	}
	switch oid {
	case pgtype.BoolOID:
		var v bool
		err := m.Scan(oid, format, src, &v)
		return v, err
	case pgtype.ByteaOID, pgtype.JSONOID, pgtype.JSONBOID, pgtype.XMLOID:
		var v []byte
		err := m.Scan(oid, format, src, &v)
		return v, err
	case pgtype.CIDOID, pgtype.OIDOID, pgtype.XIDOID:
		var v pgtype.Uint32
		return scanValue(m, f, src, &v)
	case pgtype.DateOID:
		var v pgtype.Date
		return scanValue(m, f, src, &v)
	case pgtype.Float4OID:
		var v float32
		err := m.Scan(oid, format, src, &v)
		return float64(v), err
	case pgtype.Float8OID:
		var v float64
		err := m.Scan(oid, format, src, &v)
		return v, err
	case pgtype.Int2OID:
		var v int16
		err := m.Scan(oid, format, src, &v)
		return int64(v), err
	case pgtype.Int4OID:
		var v int32
		err := m.Scan(oid, format, src, &v)
		return int64(v), err
	case pgtype.Int8OID:
		var v int64
		err := m.Scan(oid, format, src, &v)
		return v, err
	case pgtype.TimestampOID:
		var v pgtype.Timestamp
		return scanValue(m, f, src, &v)
	case pgtype.TimestamptzOID:
		var v pgtype.Timestamptz
		return scanValue(m, f, src, &v)
	}
	if format == pgtype.TextFormatCode {
		if c == classDecimal {
			return json.Number(src), nil
		}
		return string(src), nil // what pgx scans text into a string with
	}
	var v string
	err := m.Scan(oid, format, src, &v)
	return v, err
}

// scanValue scans src into v and returns v's driver value.
func scanValue[T interface{ Value() (driver.Value, error) }](m *pgtype.Map, f *pgconn.FieldDescription, src []byte, v T) (any, error) {
	if err := m.Scan(f.DataTypeOID, f.Format, src, v); err != nil {
		return nil, err
	}
	return v.Value()
}

// beginPG begins a PostgreSQL transaction, on another of the pool's
// connections when pgx says, before sending BEGIN, that the one it got
// is broken. The end of the transaction's context rolls it back.
func (t *Tx) beginPG(ctx context.Context) error {
	var err error
	for attempt := 1; ; attempt++ {
		if t.pgTx, err = t.d.pg.Begin(ctx); err == nil {
			break
		}
		if attempt == maxBadConn || !pgconn.SafeToRetry(err) {
			return err
		}
	}
	t.run = &pgRunner{q: t.pgTx}
	t.stop = context.AfterFunc(t.ctx, func() { t.rollbackPG() })
	return nil
}

// rollbackPG rolls a PostgreSQL transaction back, once any statement
// in progress ended, within the query timeout even when the
// transaction's context ended; after a commit it does nothing.
func (t *Tx) rollbackPG() error {
	t.mu.Lock()
	defer t.mu.Unlock()
	ctx, cancel := context.WithTimeout(context.WithoutCancel(t.ctx), t.d.cfg.Load().QueryTimeout.D())
	defer cancel()
	if err := t.pgTx.Rollback(ctx); err != nil && !errors.Is(err, pgx.ErrTxClosed) {
		return err
	}
	return nil
}
