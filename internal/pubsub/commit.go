package pubsub

import (
	"context"
	"database/sql"
	"fmt"
	"sync"
	"time"

	"github.com/plexushq/plexus/sdk/service"
)

// Group commit of publishes: concurrent publishes are written by one
// goroutine in shared transactions, each of up to maxGroup messages, so
// that a store commits (and syncs) once for many messages rather than
// once each, and SQLite's single writer is not fought over. Each publish
// still returns only after its own message's transaction has committed.
const (
	// maxGroup is the most messages one transaction writes.
	maxGroup = 256
	// maxWaiting is the most publishes waiting for their commit; more are
	// refused with 503.
	maxWaiting = 10_000
	// groupTimeout bounds one shared transaction.
	groupTimeout = 30 * time.Second
)

// stored is one message waiting to be written, and its outcome.
type stored struct {
	args []any    // pubsub_message's columns, in insertMessages' order
	subs []string // subscriptions getting a delivery row
	// delivery row values shared by its subscriptions
	msgID, topic string
	prio, size   int
	exp          int64
	err          error
	done         chan struct{}
}

// committer is the engine's queue of publishes waiting for their commit.
type committer struct {
	mu      sync.Mutex
	waiting []*stored
	busy    bool // a goroutine is writing
}

const insertMessages = `INSERT INTO pubsub_message
	(msg_id, topic, data, size, priority, correl_id, in_reply_to, ext_client_id, cid, publisher, pub_time, expires_at) `

// store writes a message with its delivery rows and returns once they
// are committed, or with the error that stopped them.
func (e *Engine) store(s *stored) error {
	s.done = make(chan struct{})
	c := &e.commits
	c.mu.Lock()
	if len(c.waiting) >= maxWaiting {
		c.mu.Unlock()
		return service.ServiceUnavailable("%d publishes are waiting for the pub/sub store; try again", maxWaiting)
	}
	c.waiting = append(c.waiting, s)
	if !c.busy {
		c.busy = true
		go e.commitLoop()
	}
	c.mu.Unlock()
	<-s.done
	return s.err
}

// commitLoop writes the waiting publishes, a group at a time, until none
// is left.
func (e *Engine) commitLoop() {
	c := &e.commits
	for {
		c.mu.Lock()
		n := min(len(c.waiting), maxGroup)
		if n == 0 {
			c.busy = false
			c.mu.Unlock()
			return
		}
		group := c.waiting[:n:n]
		c.waiting = c.waiting[n:]
		if len(c.waiting) == 0 {
			c.waiting = nil
		}
		c.mu.Unlock()
		err := e.writeGroup(group)
		for _, s := range group {
			s.err = err
			close(s.done)
		}
		if err == nil {
			e.wakeOthers(group)
		}
	}
}

// writeGroup writes a group of messages in one transaction.
func (e *Engine) writeGroup(group []*stored) error {
	ctx, cancel := context.WithTimeout(context.Background(), groupTimeout)
	defer cancel()
	tx, err := e.db.BeginTx(ctx, nil)
	if err != nil {
		return storeError(err)
	}
	defer tx.Rollback()
	if e.postgres {
		err = e.insertArrays(ctx, tx, group)
	} else {
		err = e.insertRows(ctx, tx, group)
	}
	if err != nil {
		return storeError(err)
	}
	return storeError(tx.Commit())
}

const (
	insertMessage  = insertMessages + "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
	insertDelivery = "INSERT INTO pubsub_delivery (sub, seq, msg_id, topic, priority, size, expires_at) VALUES (?, ?, ?, ?, ?, ?, ?)"
)

// insertRows inserts a group's messages and deliveries a row at a time
// with prepared statements: with SQLite, in the process, that costs
// less than parsing one statement of many rows.
func (e *Engine) insertRows(ctx context.Context, tx *sql.Tx, group []*stored) error {
	msg, err := e.txStmt(ctx, tx, insertMessage)
	if err != nil {
		return err
	}
	del, err := e.txStmt(ctx, tx, insertDelivery)
	if err != nil {
		return err
	}
	for _, s := range group {
		res, err := msg.ExecContext(ctx, s.args...)
		if err != nil {
			return err
		}
		seq, err := res.LastInsertId()
		if err != nil {
			return err
		}
		for _, sub := range s.subs {
			if _, err := del.ExecContext(ctx, sub, seq, s.msgID, s.topic, s.prio, s.size, s.exp); err != nil {
				return err
			}
		}
	}
	return nil
}

// Statements of insertArrays: a group's rows as arrays, one per column,
// in two statements of the same text whatever the group's size.
const (
	insertMessageArrays = insertMessages + `SELECT * FROM unnest(?::text[], ?::text[], ?::bytea[],
		?::bigint[], ?::bigint[], ?::text[], ?::text[], ?::text[], ?::text[], ?::text[], ?::bigint[], ?::bigint[]) RETURNING seq, msg_id`
	insertDeliveryArrays = `INSERT INTO pubsub_delivery (sub, seq, msg_id, topic, priority, size, expires_at)
		SELECT * FROM unnest(?::text[], ?::bigint[], ?::text[], ?::text[], ?::bigint[], ?::bigint[], ?::bigint[])`
)

// insertArrays inserts a group's messages and deliveries on PostgreSQL,
// in two round trips.
func (e *Engine) insertArrays(ctx context.Context, tx *sql.Tx, group []*stored) error {
	cols := make([]any, 12)
	for i := range cols {
		switch i {
		case 2:
			cols[i] = make([][]byte, 0, len(group))
		case 3, 4, 10, 11:
			cols[i] = make([]int64, 0, len(group))
		default:
			cols[i] = make([]string, 0, len(group))
		}
	}
	for _, s := range group {
		for i, v := range s.args {
			switch c := cols[i].(type) {
			case [][]byte:
				b, _ := v.([]byte)
				cols[i] = append(c, b)
			case []int64:
				cols[i] = append(c, toInt64(v))
			case []string:
				cols[i] = append(c, v.(string))
			}
		}
	}
	msg, err := e.txStmt(ctx, tx, insertMessageArrays)
	if err != nil {
		return err
	}
	rows, err := msg.QueryContext(ctx, cols...)
	if err != nil {
		return err
	}
	seqs, err := scanSeqs(rows, len(group))
	if err != nil {
		return err
	}
	var subs, ids, topics []string
	var seq, prio, size, exp []int64
	for _, s := range group {
		for _, sub := range s.subs {
			subs, ids, topics = append(subs, sub), append(ids, s.msgID), append(topics, s.topic)
			seq, prio, size, exp = append(seq, seqs[s.msgID]), append(prio, int64(s.prio)), append(size, int64(s.size)), append(exp, s.exp)
		}
	}
	if len(subs) == 0 {
		return nil
	}
	del, err := e.txStmt(ctx, tx, insertDeliveryArrays)
	if err != nil {
		return err
	}
	_, err = del.ExecContext(ctx, subs, seq, ids, topics, prio, size, exp)
	return err
}

func toInt64(v any) int64 {
	switch n := v.(type) {
	case int:
		return int64(n)
	case int64:
		return n
	}
	panic(fmt.Sprintf("pubsub: %T is not an integer column", v))
}

// scanSeqs reads the seq and msg_id of n inserted messages.
func scanSeqs(rows *sql.Rows, n int) (map[string]int64, error) {
	defer rows.Close()
	seqs := make(map[string]int64, n)
	for rows.Next() {
		var seq int64
		var id string
		if err := rows.Scan(&seq, &id); err != nil {
			return nil, err
		}
		seqs[id] = seq
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	if len(seqs) != n {
		return nil, fmt.Errorf("%d of %d messages were inserted", len(seqs), n)
	}
	return seqs, nil
}

// wakeOthers wakes, through the cluster bus, the other servers' workers
// of the topics a group published to: once a topic per group.
func (e *Engine) wakeOthers(group []*stored) {
	if e.opts.Bus == nil {
		return
	}
	woken := map[string]bool{}
	for _, s := range group {
		if len(s.subs) == 0 || woken[s.topic] {
			continue
		}
		woken[s.topic] = true
		if err := e.opts.Bus.Publish(busKind, []byte(s.topic)); err != nil {
			e.log.Debug("pub/sub: waking the other servers", "topic", s.topic, "error", err.Error())
		}
	}
}
