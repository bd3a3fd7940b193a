package pubsub

import (
	"context"
	"database/sql"
	"time"
)

// Statements of a push worker's claim, prepared once.
const (
	claimLease = `UPDATE pubsub_sub SET holder = ?, lease_until = ?, in_flight = ?
		WHERE sub = ? AND paused = 0 AND (holder = ? OR lease_until <= ?)`
	claimRows = "SELECT " + rowColumnsData + " WHERE d.sub = ? AND d.state < 2 ORDER BY d.priority DESC, d.seq LIMIT ?"
)

// claim removes the messages of the previous batch that acks holds
// (delivered or expired), reads the subscription's next n messages in
// order and takes or renews its lease, counting them in flight, all in
// one transaction; it returns them when it holds the lease. The messages
// themselves are not marked: the lease makes them the holder's, and a
// server that takes the lease over delivers them again (at least once).
func (w *worker) claim(ctx context.Context, n int, a acks) (held bool, got []*row, err error) {
	e := w.e
	if !w.created {
		if _, err := e.db.ExecContext(ctx, e.rebind("INSERT INTO pubsub_sub (sub) VALUES (?) ON CONFLICT (sub) DO NOTHING"), w.name); err != nil {
			return false, nil, storeError(err)
		}
		w.created = true
	}
	now := e.nowMS()
	until := now + leaseFor.Milliseconds()
	tx, err := e.beginAck(ctx)
	if err != nil {
		return false, nil, storeError(err)
	}
	defer tx.Rollback()
	if err := w.remove(ctx, tx, a); err != nil {
		return false, nil, err
	}
	sel, err := e.txStmt(ctx, tx, claimRows)
	if err != nil {
		return false, nil, storeError(err)
	}
	rows, err := sel.QueryContext(ctx, w.name, n)
	if err != nil {
		return false, nil, storeError(err)
	}
	if got, err = scanRows(rows); err != nil {
		return false, nil, err
	}
	lease, err := e.txStmt(ctx, tx, claimLease)
	if err != nil {
		return false, nil, storeError(err)
	}
	res, err := lease.ExecContext(ctx, w.holder, until, len(got), w.name, w.holder, now)
	if err != nil {
		return false, nil, storeError(err)
	}
	k, _ := res.RowsAffected()
	held = k == 1
	if err := tx.Commit(); err != nil {
		return false, nil, storeError(err)
	}
	w.counted(a)
	if !held {
		return false, nil, nil
	}
	w.leaseUntil = until
	return true, got, nil
}

// acks are a batch's messages delivered or expired, removed from the
// queue together by done or by the next claim.
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
	tx, err := w.e.beginAck(ctx)
	if err != nil {
		return storeError(err)
	}
	defer tx.Rollback()
	if err := w.remove(ctx, tx, a); err != nil {
		return err
	}
	if err := tx.Commit(); err != nil {
		return storeError(err)
	}
	w.counted(a)
	return nil
}

// remove deletes acks' messages from the queue in tx.
func (w *worker) remove(ctx context.Context, tx *sql.Tx, a acks) error {
	if len(a.rows) == 0 {
		return nil
	}
	e := w.e
	del, err := e.txStmt(ctx, tx, "DELETE FROM pubsub_delivery WHERE sub = ? AND "+e.seqIn("seq"))
	if err != nil {
		return storeError(err)
	}
	seqs := make([]int64, len(a.rows))
	for i, r := range a.rows {
		seqs[i] = r.seq
	}
	_, err = del.ExecContext(ctx, w.name, e.seqList(seqs))
	return storeError(err)
}

// counted counts acks' outcomes once they are removed.
func (w *worker) counted(a acks) {
	for i, r := range a.rows {
		w.e.count(r.Topic, w.name, a.outcomes[i])
	}
}

// beginAck begins a transaction that records deliveries (acknowledged,
// claimed, leased), not publishes. On PostgreSQL it commits without
// waiting for the flush of the database's log: a crash of the database
// itself (not of Plexus) may forget its last fraction of a second of
// acknowledgements, whose messages are then delivered again, as
// at-least-once delivery allows; nothing published is lost.
func (e *Engine) beginAck(ctx context.Context) (*sql.Tx, error) {
	tx, err := e.db.BeginTx(ctx, nil)
	if err != nil || !e.postgres {
		return tx, err
	}
	if _, err := tx.ExecContext(ctx, "SET LOCAL synchronous_commit TO OFF"); err != nil {
		tx.Rollback()
		return nil, err
	}
	return tx, nil
}
