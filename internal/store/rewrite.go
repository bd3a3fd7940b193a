package store

import (
	"context"
	"fmt"
)

// Rewrite changes the body of every stored object with fn, sets settings
// and runs statements, all in one transaction: either everything is
// written or nothing is. It does not make a revision, since the
// configuration it holds does not change (key rotation re-encrypts
// secrets with it). It returns the number of objects whose body changed.
func (s *Store) Rewrite(ctx context.Context, fn func(kind, name string, body []byte) ([]byte, error), settings map[string]string, statements []string) (n int, err error) {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return 0, fmt.Errorf("rewriting objects: %w", err)
	}
	defer func() {
		if err != nil {
			tx.Rollback()
		}
	}()
	rows, err := tx.QueryContext(ctx, "SELECT kind, name, body FROM objects ORDER BY kind, name")
	if err != nil {
		return 0, fmt.Errorf("rewriting objects: %w", err)
	}
	var recs []Record
	for rows.Next() {
		var r Record
		var body string
		if err := rows.Scan(&r.Kind, &r.Name, &body); err != nil {
			rows.Close()
			return 0, fmt.Errorf("rewriting objects: %w", err)
		}
		r.Body = []byte(body)
		recs = append(recs, r)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return 0, fmt.Errorf("rewriting objects: %w", err)
	}
	for _, r := range recs {
		body, err := fn(r.Kind, r.Name, r.Body)
		if err != nil {
			return 0, fmt.Errorf("rewriting %s %q: %w", r.Kind, r.Name, err)
		}
		if string(body) == string(r.Body) {
			continue
		}
		if _, err := tx.ExecContext(ctx, s.Rebind("UPDATE objects SET body = ? WHERE kind = ? AND name = ?"), string(body), r.Kind, r.Name); err != nil {
			return 0, fmt.Errorf("rewriting %s %q: %w", r.Kind, r.Name, err)
		}
		n++
	}
	for k, v := range settings {
		if _, err := tx.ExecContext(ctx, s.Rebind("INSERT INTO settings (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value"), k, v); err != nil {
			return 0, fmt.Errorf("writing setting %s: %w", k, err)
		}
	}
	for _, q := range statements {
		if _, err := tx.ExecContext(ctx, q); err != nil {
			return 0, fmt.Errorf("rewriting objects: %w", err)
		}
	}
	if err := tx.Commit(); err != nil {
		return 0, fmt.Errorf("rewriting objects: %w", err)
	}
	return n, nil
}
