package pubsub

import (
	"context"
	"database/sql"
	"strings"
	"time"
)

// row is one delivery with its message, as the queries read it.
type row struct {
	Message
	seq        int64
	state      int
	firstTry   int64
	nextAt     int64
	leaseUntil int64
	expiresAt  int64
}

// State numbers in pubsub_delivery.state.
const (
	stQueued   = 0
	stInFlight = 1
	stDead     = 2
)

var stateNames = [...]string{StateQueued, StateInFlight, StateDead}

// rowColumns are what scanRows reads; withData adds the message's data.
func rowColumns(withData bool) string {
	if withData {
		return rowColumnsData
	}
	return rowColumnsNoData
}

const (
	rowColumnsHead = `d.sub, d.seq, d.msg_id, d.topic, d.priority, d.size, d.expires_at, d.state, d.attempts, d.first_attempt, d.next_at,
		d.lease_until, d.last_error, `
	rowColumnsTail = `, m.correl_id, m.in_reply_to, m.ext_client_id, m.cid, m.publisher, m.pub_time
		FROM pubsub_delivery d JOIN pubsub_message m ON m.seq = d.seq`
	rowColumnsData   = rowColumnsHead + "m.data" + rowColumnsTail
	rowColumnsNoData = rowColumnsHead + "NULL" + rowColumnsTail
)

func scanRows(rows *sql.Rows) ([]*row, error) {
	defer rows.Close()
	var out []*row
	for rows.Next() {
		r := &row{}
		var data []byte
		var pub int64
		if err := rows.Scan(&r.Subscription, &r.seq, &r.ID, &r.Topic, &r.Priority, &r.Size, &r.expiresAt, &r.state, &r.DeliveryCount,
			&r.firstTry, &r.nextAt, &r.leaseUntil, &r.LastError, &data, &r.CorrelID, &r.InReplyTo, &r.ExtClientID, &r.CID, &r.Publisher, &pub); err != nil {
			return nil, storeError(err)
		}
		if data != nil {
			r.Data = data
		}
		r.PubTime = time.UnixMilli(pub).UTC()
		r.Expiration = time.UnixMilli(r.expiresAt).UTC()
		if r.state >= 0 && r.state < len(stateNames) {
			r.State = stateNames[r.state]
		}
		if r.state == stQueued && r.nextAt > 0 {
			r.NextAttempt = time.UnixMilli(r.nextAt).UTC()
		}
		out = append(out, r)
	}
	return out, storeError(rows.Err())
}

// inList returns "(?, ?, …)" for n values.
func inList(n int) string {
	return "(" + strings.TrimSuffix(strings.Repeat("?, ", n), ", ") + ")"
}

// Get returns a pull subscription's next messages, in order of priority
// then publication. With ack auto they are acknowledged (removed from the
// queue); with ack explicit they stay in flight until Ack or until the
// subscription's visibility timeout returns them.
func (e *Engine) Get(ctx context.Context, req GetRequest) ([]Message, error) {
	if e.db == nil {
		return nil, errNotStarted
	}
	cfg, err := subscriptionOf(e.state(), req.Subscription)
	if err != nil {
		return nil, err
	}
	if cfg.DeliveryType != DeliveryPull {
		return nil, badRequest("Subscription %s is delivered by push; only pull subscriptions are read with get", cfg.Name)
	}
	maxN, maxLen := req.MaxMessages, req.MaxLen
	if maxN <= 0 {
		maxN = DefaultGetMessages
	}
	if maxLen <= 0 {
		maxLen = DefaultGetLen
	}
	maxN, maxLen = min(maxN, MaxGetMessages), min(maxLen, MaxGetLen)
	if paused, err := e.paused(ctx, cfg.Name); err != nil || paused || !cfg.IsDeliveryActive {
		return []Message{}, err
	}
	if b, q, err := e.subQueue(e.state(), cfg); b != nil || err != nil {
		if err != nil {
			return nil, badRequest("%s", err)
		}
		return e.getExt(ctx, b, q, cfg, maxN, maxLen)
	}
	now := e.nowMS()
	tx, err := e.db.BeginTx(ctx, nil)
	if err != nil {
		return nil, storeError(err)
	}
	defer tx.Rollback()
	lock := ""
	if e.postgres {
		lock = " FOR UPDATE OF d SKIP LOCKED"
	}
	rows, err := tx.QueryContext(ctx, e.rebind("SELECT "+rowColumns(true)+
		` WHERE d.sub = ? AND d.state < 2 AND (d.state = 0 OR d.lease_until <= ?) AND d.expires_at > ?
		ORDER BY d.priority DESC, d.seq LIMIT ?`+lock), cfg.Name, now, now, maxN)
	if err != nil {
		return nil, storeError(err)
	}
	got, err := scanRows(rows)
	if err != nil {
		return nil, err
	}
	size := 0
	for i, r := range got {
		size += len(r.Data)
		if i > 0 && size > maxLen {
			got = got[:i]
			break
		}
	}
	out := make([]Message, 0, len(got))
	if len(got) == 0 {
		return out, nil
	}
	args := []any{cfg.Name}
	for _, r := range got {
		args = append(args, r.seq)
	}
	if cfg.Ack == AckExplicit {
		lease := now + cfg.VisibilityTimeout.D().Milliseconds()
		_, err = tx.ExecContext(ctx, e.rebind("UPDATE pubsub_delivery SET state = 1, attempts = attempts + 1, lease_until = ?"+
			" WHERE sub = ? AND seq IN "+inList(len(got))), append([]any{lease}, args...)...)
	} else {
		_, err = tx.ExecContext(ctx, e.rebind("DELETE FROM pubsub_delivery WHERE sub = ? AND seq IN "+inList(len(got))), args...)
	}
	if err != nil {
		return nil, storeError(err)
	}
	if err := tx.Commit(); err != nil {
		return nil, storeError(err)
	}
	for _, r := range got {
		r.DeliveryCount++
		if cfg.Ack == AckExplicit {
			r.State = StateInFlight
		} else {
			r.State = ""
			e.count(r.Topic, cfg.Name, "delivered")
		}
		out = append(out, r.Message)
	}
	return out, nil
}

// Ack acknowledges messages pulled with explicit acknowledgement and
// returns how many were in flight; the others are ignored.
func (e *Engine) Ack(ctx context.Context, sub string, msgIDs []string) (int, error) {
	if e.db == nil {
		return 0, errNotStarted
	}
	cfg, err := subscriptionOf(e.state(), sub)
	if err != nil {
		return 0, err
	}
	if len(msgIDs) == 0 {
		return 0, nil
	}
	if len(msgIDs) > MaxGetMessages {
		return 0, badRequest("Acknowledge at most %d messages at once, not %d", MaxGetMessages, len(msgIDs))
	}
	if b, _, _ := e.subQueue(e.state(), cfg); b != nil {
		return e.ackExt(ctx, sub, msgIDs)
	}
	args := []any{sub}
	for _, id := range msgIDs {
		args = append(args, id)
	}
	res, err := e.db.QueryContext(ctx, e.rebind("DELETE FROM pubsub_delivery WHERE sub = ? AND state = 1 AND msg_id IN "+inList(len(msgIDs))+" RETURNING topic"), args...)
	if err != nil {
		return 0, storeError(err)
	}
	defer res.Close()
	n := 0
	for res.Next() {
		var topic string
		if err := res.Scan(&topic); err != nil {
			return n, storeError(err)
		}
		e.count(topic, sub, "delivered")
		n++
	}
	return n, storeError(res.Err())
}

// Browse returns a page of a subscription's queue (waiting and in flight
// messages), in delivery order.
func (e *Engine) Browse(ctx context.Context, sub string, p PageRequest) (*Page, error) {
	return e.page(ctx, sub, p, "d.state <> 2", "d.priority DESC, d.seq", "browsing the queue")
}

// DeadLetters returns a page of a subscription's dead letters, oldest
// first.
func (e *Engine) DeadLetters(ctx context.Context, sub string, p PageRequest) (*Page, error) {
	return e.page(ctx, sub, p, "d.state = 2", "d.seq", "listing the dead letters")
}

func (e *Engine) page(ctx context.Context, sub string, p PageRequest, where, order, what string) (*Page, error) {
	if e.db == nil {
		return nil, errNotStarted
	}
	st := e.state()
	c, err := subscriptionOf(st, sub)
	if err != nil {
		return nil, err
	}
	if err := e.storeOnly(st, c, what); err != nil {
		return nil, err
	}
	limit := p.Limit
	if limit <= 0 {
		limit = 50
	}
	limit, offset := min(limit, MaxPage), max(p.Offset, 0)
	page := &Page{Messages: []Message{}}
	if err := e.db.QueryRowContext(ctx, e.rebind("SELECT COUNT(*) FROM pubsub_delivery d WHERE d.sub = ? AND "+where), sub).Scan(&page.Total); err != nil {
		return nil, storeError(err)
	}
	rows, err := e.db.QueryContext(ctx, e.rebind("SELECT "+rowColumns(false)+" WHERE d.sub = ? AND "+where+" ORDER BY "+order+" LIMIT ? OFFSET ?"), sub, limit, offset)
	if err != nil {
		return nil, storeError(err)
	}
	got, err := scanRows(rows)
	if err != nil {
		return nil, err
	}
	for _, r := range got {
		page.Messages = append(page.Messages, r.Message)
	}
	return page, nil
}

// Message returns one message, its data included, with its deliveries;
// a 404 *service.Error when no queue holds it.
func (e *Engine) Message(ctx context.Context, msgID string) (*MessageDetail, error) {
	if e.db == nil {
		return nil, errNotStarted
	}
	rows, err := e.db.QueryContext(ctx, e.rebind("SELECT "+rowColumns(true)+" WHERE d.msg_id = ? ORDER BY d.sub"), msgID)
	if err != nil {
		return nil, storeError(err)
	}
	got, err := scanRows(rows)
	if err != nil {
		return nil, err
	}
	if len(got) == 0 {
		return nil, notFound("No queue holds message " + truncate(msgID, 40))
	}
	d := &MessageDetail{Message: got[0].Message}
	d.Subscription, d.State, d.DeliveryCount, d.LastError, d.NextAttempt = "", "", 0, "", time.Time{}
	for _, r := range got {
		m := r.Message
		m.Data = nil
		d.Deliveries = append(d.Deliveries, m)
	}
	return d, nil
}

// Clear removes every message of a subscription's queue, dead letters
// included, and returns how many it removed.
func (e *Engine) Clear(ctx context.Context, sub string) (int, error) {
	if e.db == nil {
		return 0, errNotStarted
	}
	st := e.state()
	c, err := subscriptionOf(st, sub)
	if err != nil {
		return 0, err
	}
	if err := e.storeOnly(st, c, "clearing the queue"); err != nil {
		return 0, err
	}
	res, err := e.db.ExecContext(ctx, e.rebind("DELETE FROM pubsub_delivery WHERE sub = ?"), sub)
	if err != nil {
		return 0, storeError(err)
	}
	n, _ := res.RowsAffected()
	return int(n), nil
}

// Redeliver returns dead letters (or in-flight messages) of a
// subscription to its queue for delivery now, with a fresh retry time;
// no ids means every dead letter. A message whose expiration has passed
// gets a new one, its topic's default_expiration from now. It returns how
// many it returned.
func (e *Engine) Redeliver(ctx context.Context, sub string, msgIDs []string) (int, error) {
	if e.db == nil {
		return 0, errNotStarted
	}
	st := e.state()
	cfg, err := subscriptionOf(st, sub)
	if err != nil {
		return 0, err
	}
	if err := e.storeOnly(st, cfg, "redelivering"); err != nil {
		return 0, err
	}
	if len(msgIDs) > MaxPage {
		return 0, badRequest("Redeliver at most %d messages at once, not %d", MaxPage, len(msgIDs))
	}
	exp := DefaultExpiration
	for _, t := range cfg.Topics {
		if tc, ok := topicOf(st, t); ok {
			exp = tc.DefaultExpiration.D()
			break
		}
	}
	now := e.nowMS()
	newExp := now + exp.Milliseconds()
	q := `UPDATE pubsub_delivery SET state = 0, next_at = 0, first_attempt = 0, lease_until = 0,
		expires_at = CASE WHEN expires_at <= ? THEN ? ELSE expires_at END WHERE sub = ? AND `
	args := []any{now, newExp, sub}
	if len(msgIDs) == 0 {
		q += "state = 2"
	} else {
		q += "state IN (1, 2) AND msg_id IN " + inList(len(msgIDs))
		for _, id := range msgIDs {
			args = append(args, id)
		}
	}
	res, err := e.db.ExecContext(ctx, e.rebind(q), args...)
	if err != nil {
		return 0, storeError(err)
	}
	n, _ := res.RowsAffected()
	if n > 0 {
		e.wakeEverywhere(sub)
	}
	return int(n), nil
}

// wakeEverywhere wakes a subscription's workers on every server.
func (e *Engine) wakeEverywhere(sub string) {
	e.wakeSub(sub)
	if e.opts.Bus != nil {
		cfg, err := subscriptionOf(e.state(), sub)
		if err == nil && len(cfg.Topics) > 0 {
			e.opts.Bus.Publish(busKind, []byte(cfg.Topics[0]))
		}
	}
}

// Pause stops the delivery of a subscription's messages, on every
// server, until Resume; publishing goes on filling its queue. Paused
// pull subscriptions answer Get with no messages.
func (e *Engine) Pause(ctx context.Context, sub string) error { return e.setPaused(ctx, sub, true) }

// Resume restarts the delivery of a paused subscription.
func (e *Engine) Resume(ctx context.Context, sub string) error { return e.setPaused(ctx, sub, false) }

func (e *Engine) setPaused(ctx context.Context, sub string, paused bool) error {
	if e.db == nil {
		return errNotStarted
	}
	if _, err := subscriptionOf(e.state(), sub); err != nil {
		return err
	}
	v := 0
	if paused {
		v = 1
	}
	if _, err := e.db.ExecContext(ctx, e.rebind(`INSERT INTO pubsub_sub (sub, paused) VALUES (?, ?)
		ON CONFLICT (sub) DO UPDATE SET paused = excluded.paused`), sub, v); err != nil {
		return storeError(err)
	}
	if !paused {
		e.wakeEverywhere(sub)
	}
	return nil
}

// paused says whether a subscription is paused.
func (e *Engine) paused(ctx context.Context, sub string) (bool, error) {
	var p int
	err := e.db.QueryRowContext(ctx, e.rebind("SELECT paused FROM pubsub_sub WHERE sub = ?"), sub).Scan(&p)
	if err == sql.ErrNoRows {
		return false, nil
	}
	if err != nil {
		return false, storeError(err)
	}
	return p == 1, nil
}

// Stats returns every topic with its depth and every subscription with
// its backlog, messages in flight, oldest message's age and dead letters.
func (e *Engine) Stats(ctx context.Context) (*Stats, error) {
	if e.db == nil {
		return nil, errNotStarted
	}
	st := e.state()
	out := &Stats{Topics: []TopicStats{}, Subscriptions: []SubscriptionStats{}}
	depth := map[string]int64{}
	rows, err := e.db.QueryContext(ctx, "SELECT topic, COUNT(DISTINCT seq) FROM pubsub_delivery GROUP BY topic")
	if err != nil {
		return nil, storeError(err)
	}
	for rows.Next() {
		var t string
		var n int64
		if err := rows.Scan(&t, &n); err != nil {
			rows.Close()
			return nil, storeError(err)
		}
		depth[t] = n
	}
	rows.Close()
	for _, n := range st.Names(KindTopic) {
		o, _ := st.Object(KindTopic, n)
		c := o.(*TopicConfig)
		ts := TopicStats{Name: c.Name, Depth: depth[c.Name], MaxDepth: c.MaxDepth, IsActive: c.IsActive}
		if onBackend(c) {
			ts.Backend = c.Backend
		}
		out.Topics = append(out.Topics, ts)
	}
	type agg struct{ backlog, inFlight, dead, oldest int64 }
	by := map[string]*agg{}
	rows, err = e.db.QueryContext(ctx, `SELECT d.sub, d.state, COUNT(*), MIN(m.pub_time) FROM pubsub_delivery d
		JOIN pubsub_message m ON m.seq = d.seq GROUP BY d.sub, d.state`)
	if err != nil {
		return nil, storeError(err)
	}
	for rows.Next() {
		var sub string
		var state int
		var n, oldest int64
		if err := rows.Scan(&sub, &state, &n, &oldest); err != nil {
			rows.Close()
			return nil, storeError(err)
		}
		a := by[sub]
		if a == nil {
			a = &agg{}
			by[sub] = a
		}
		switch state {
		case stQueued:
			a.backlog = n
		case stInFlight:
			a.inFlight = n
		case stDead:
			a.dead = n
		}
		if state != stDead && (a.oldest == 0 || oldest < a.oldest) {
			a.oldest = oldest
		}
	}
	rows.Close()
	now := e.nowMS()
	pausedSubs := map[string]bool{}
	claimed := map[string]int64{} // a push worker's batch, while it holds the lease
	rows, err = e.db.QueryContext(ctx, "SELECT sub, paused, in_flight, lease_until FROM pubsub_sub")
	if err != nil {
		return nil, storeError(err)
	}
	for rows.Next() {
		var s string
		var paused int
		var inFlight, until int64
		if err := rows.Scan(&s, &paused, &inFlight, &until); err != nil {
			rows.Close()
			return nil, storeError(err)
		}
		pausedSubs[s] = paused == 1
		if paused == 0 && until > now {
			claimed[s] = inFlight
		}
	}
	rows.Close()
	add := func(name string, topics []string, delivery string) {
		s := SubscriptionStats{Name: name, Topics: topics, DeliveryType: delivery, Paused: pausedSubs[name]}
		if a := by[name]; a != nil {
			s.Backlog, s.InFlight, s.DeadLetters = a.backlog, a.inFlight, a.dead
			n := min(claimed[name], s.Backlog)
			s.Backlog, s.InFlight = s.Backlog-n, s.InFlight+n
			if a.oldest > 0 {
				s.OldestAge = float64(max(now-a.oldest, 0)) / 1000
			}
		}
		out.Subscriptions = append(out.Subscriptions, s)
	}
	for _, n := range st.Names(KindSubscription) {
		o, _ := st.Object(KindSubscription, n)
		c := o.(*SubscriptionConfig)
		add(c.Name, c.Topics, c.DeliveryType)
		for _, tn := range c.Topics {
			if t, ok := topicOf(st, tn); ok && onBackend(t) {
				out.Subscriptions[len(out.Subscriptions)-1].Backend = t.Backend
				break
			}
		}
	}
	for name := range by {
		if strings.HasPrefix(name, serviceTopicPrefix) {
			add(name, []string{name}, DeliveryPush)
		}
	}
	return out, nil
}
