package pubsub

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
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
	(msg_id, topic, data, size, priority, correl_id, in_reply_to, ext_client_id, cid, publisher, pub_time, expires_at) VALUES `

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
	seqs, err := insertGroup(ctx, tx, e.rebind, group)
	if err != nil {
		return storeError(err)
	}
	var q strings.Builder
	var args []any
	flush := func() error {
		if len(args) == 0 {
			return nil
		}
		_, err := tx.ExecContext(ctx, e.rebind("INSERT INTO pubsub_delivery (sub, seq, msg_id, topic, priority, size, expires_at) VALUES "+q.String()), args...)
		q.Reset()
		args = args[:0]
		return err
	}
	for _, s := range group {
		seq := seqs[s.msgID]
		for _, sub := range s.subs {
			if len(args) > 0 {
				q.WriteString(", ")
			}
			q.WriteString("(?, ?, ?, ?, ?, ?, ?)")
			args = append(args, sub, seq, s.msgID, s.topic, s.prio, s.size, s.exp)
			if len(args) >= 7*1000 {
				if err := flush(); err != nil {
					return storeError(err)
				}
			}
		}
	}
	if err := flush(); err != nil {
		return storeError(err)
	}
	return storeError(tx.Commit())
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

// insertGroup inserts a group's messages in one statement and returns
// their seq by msg_id.
func insertGroup(ctx context.Context, tx *sql.Tx, rebind func(string) string, group []*stored) (map[string]int64, error) {
	var q strings.Builder
	q.WriteString(insertMessages)
	args := make([]any, 0, 12*len(group))
	for i, s := range group {
		if i > 0 {
			q.WriteString(", ")
		}
		q.WriteString("(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)")
		args = append(args, s.args...)
	}
	q.WriteString(" RETURNING seq, msg_id")
	rows, err := tx.QueryContext(ctx, rebind(q.String()), args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	seqs := make(map[string]int64, len(group))
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
	if len(seqs) != len(group) {
		return nil, fmt.Errorf("%d of %d messages were inserted", len(seqs), len(group))
	}
	return seqs, nil
}
