package pubsub

import (
	"context"
	"time"
)

// sweepLoop sweeps every sweepEvery until ctx is done.
func (e *Engine) sweepLoop(ctx context.Context) {
	defer e.workers.Done()
	t := time.NewTicker(sweepEvery)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			if _, err := e.Sweep(ctx); err != nil && ctx.Err() == nil {
				e.log.Warn("pub/sub sweep", "error", err.Error())
			}
		}
	}
}

// Sweep removes the expired messages from the queues (dead letters stay
// until redelivered or cleared), drops the data of messages no queue
// holds any more, and deletes the messages that expired and that no
// queue holds. It returns how many deliveries expired. The engine sweeps
// by itself every minute; every server of a cluster does, harmlessly.
func (e *Engine) Sweep(ctx context.Context) (int, error) {
	if e.db == nil {
		return 0, errNotStarted
	}
	now := e.nowMS()
	rows, err := e.db.QueryContext(ctx, e.rebind("DELETE FROM pubsub_delivery WHERE expires_at <= ? AND state <> 2 RETURNING topic, sub"), now)
	if err != nil {
		return 0, storeError(err)
	}
	n := 0
	for rows.Next() {
		var topic, sub string
		if err := rows.Scan(&topic, &sub); err != nil {
			rows.Close()
			return n, storeError(err)
		}
		e.count(topic, sub, "expired")
		n++
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return n, storeError(err)
	}
	if _, err := e.db.ExecContext(ctx, `UPDATE pubsub_message SET data = NULL WHERE data IS NOT NULL
		AND NOT EXISTS (SELECT 1 FROM pubsub_delivery d WHERE d.seq = pubsub_message.seq)`); err != nil {
		return n, storeError(err)
	}
	if _, err := e.db.ExecContext(ctx, e.rebind(`DELETE FROM pubsub_message WHERE expires_at <= ?
		AND NOT EXISTS (SELECT 1 FROM pubsub_delivery d WHERE d.seq = pubsub_message.seq)`), now); err != nil {
		return n, storeError(err)
	}
	return n, nil
}
