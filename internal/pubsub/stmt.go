package pubsub

import (
	"context"
	"database/sql"
	"strconv"
)

// stmt returns the prepared form of a statement (written with ?
// placeholders), prepared once and kept for the engine's life: the hot
// path's statements are parsed once rather than at every call.
func (e *Engine) stmt(ctx context.Context, q string) (*sql.Stmt, error) {
	if s, ok := e.stmts.Load(q); ok {
		return s.(*sql.Stmt), nil
	}
	s, err := e.db.PrepareContext(ctx, e.rebind(q))
	if err != nil {
		return nil, err
	}
	if old, loaded := e.stmts.LoadOrStore(q, s); loaded {
		s.Close()
		return old.(*sql.Stmt), nil
	}
	return s, nil
}

// txStmt returns a prepared statement for use in tx.
func (e *Engine) txStmt(ctx context.Context, tx *sql.Tx, q string) (*sql.Stmt, error) {
	s, err := e.stmt(ctx, q)
	if err != nil {
		return nil, err
	}
	return tx.StmtContext(ctx, s), nil
}

// closeStmts closes the prepared statements.
func (e *Engine) closeStmts() {
	e.stmts.Range(func(k, v any) bool {
		v.(*sql.Stmt).Close()
		e.stmts.Delete(k)
		return true
	})
}

// seqIn is the condition "column is one of the values of the one
// argument seqList returns": the same statement text for any number of
// values, so that it is prepared once.
func (e *Engine) seqIn(column string) string {
	if e.postgres {
		return column + " = ANY(?::bigint[])"
	}
	return column + " IN (SELECT value FROM json_each(?))"
}

// seqList is the argument of seqIn's condition.
func (e *Engine) seqList(seqs []int64) any {
	if e.postgres {
		return seqs
	}
	b := make([]byte, 0, 2+len(seqs)*8)
	b = append(b, '[')
	for i, s := range seqs {
		if i > 0 {
			b = append(b, ',')
		}
		b = strconv.AppendInt(b, s, 10)
	}
	return string(append(b, ']'))
}
