package pubsub

import (
	"context"
	"strings"
)

// ClaimPlan returns how the store runs a push worker's claim of a
// subscription's next batch: its query plan, a line per step.
func (e *Engine) ClaimPlan(ctx context.Context, sub string) (string, error) {
	if e.postgres {
		if _, err := e.db.ExecContext(ctx, "ANALYZE pubsub_delivery"); err != nil {
			return "", err
		}
	}
	q := "EXPLAIN QUERY PLAN " + claimRows
	if e.postgres {
		q = "EXPLAIN " + claimRows
	}
	rows, err := e.db.QueryContext(ctx, e.rebind(q), sub, 100)
	if err != nil {
		return "", err
	}
	defer rows.Close()
	cols, _ := rows.Columns()
	var plan []string
	for rows.Next() {
		vals := make([]any, len(cols))
		for i := range vals {
			vals[i] = new(any)
		}
		if err := rows.Scan(vals...); err != nil {
			return "", err
		}
		line := ""
		switch v := (*vals[len(vals)-1].(*any)).(type) {
		case string:
			line = v
		case []byte:
			line = string(v)
		}
		plan = append(plan, line)
	}
	return strings.Join(plan, "\n"), rows.Err()
}
