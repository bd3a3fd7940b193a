package pubsub

import (
	"context"
	"time"
)

// claim takes or renews the subscription's lease and, when it holds it,
// marks the subscription's next n messages in flight and returns them in
// order, all in one transaction. Messages in flight already were left by
// a server that held the lease before: they are delivered again (at least
// once).
func (w *worker) claim(ctx context.Context, n int) (held bool, got []*row, err error) {
	e := w.e
	if !w.created {
		if _, err := e.db.ExecContext(ctx, e.rebind("INSERT INTO pubsub_sub (sub) VALUES (?) ON CONFLICT (sub) DO NOTHING"), w.name); err != nil {
			return false, nil, storeError(err)
		}
		w.created = true
	}
	now := e.nowMS()
	until := now + leaseFor.Milliseconds()
	tx, err := e.db.BeginTx(ctx, nil)
	if err != nil {
		return false, nil, storeError(err)
	}
	defer tx.Rollback()
	res, err := tx.ExecContext(ctx, e.rebind(`UPDATE pubsub_sub SET holder = ?, lease_until = ?
		WHERE sub = ? AND paused = 0 AND (holder = ? OR lease_until <= ?)`), w.holder, until, w.name, w.holder, now)
	if err != nil {
		return false, nil, storeError(err)
	}
	if k, _ := res.RowsAffected(); k != 1 {
		return false, nil, storeError(tx.Commit())
	}
	rows, err := tx.QueryContext(ctx, e.rebind("SELECT "+rowColumns(true)+
		" WHERE d.sub = ? AND d.state IN (0, 1) ORDER BY d.priority DESC, d.seq LIMIT ?"), w.name, n)
	if err != nil {
		return false, nil, storeError(err)
	}
	if got, err = scanRows(rows); err != nil {
		return false, nil, err
	}
	var queued []any
	for _, r := range got {
		if r.state == stQueued {
			queued = append(queued, r.seq)
		}
	}
	if len(queued) > 0 {
		if _, err := tx.ExecContext(ctx, e.rebind("UPDATE pubsub_delivery SET state = 1 WHERE sub = ? AND seq IN "+inList(len(queued))),
			append([]any{w.name}, queued...)...); err != nil {
			return false, nil, storeError(err)
		}
	}
	if err := tx.Commit(); err != nil {
		return false, nil, storeError(err)
	}
	w.leaseUntil = until
	return true, got, nil
}

// acks are a batch's messages delivered or expired, removed from the
// queue together by done.
type acks struct {
	rows     []*row
	outcomes []string
}

func (a *acks) add(r *row, outcome string) {
	a.rows = append(a.rows, r)
	a.outcomes = append(a.outcomes, outcome)
}

// done removes delivered and expired messages from the queue in one
// statement. It runs even once the worker is stopping: a message
// delivered but not removed would be delivered again.
func (w *worker) done(a acks) error {
	if len(a.rows) == 0 {
		return nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	args := []any{w.name}
	for _, r := range a.rows {
		args = append(args, r.seq)
	}
	if _, err := w.e.db.ExecContext(ctx, w.e.rebind("DELETE FROM pubsub_delivery WHERE sub = ? AND seq IN "+inList(len(a.rows))), args...); err != nil {
		return storeError(err)
	}
	for i, r := range a.rows {
		w.e.count(r.Topic, w.name, a.outcomes[i])
	}
	return nil
}
