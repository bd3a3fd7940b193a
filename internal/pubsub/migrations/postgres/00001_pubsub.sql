-- +goose Up
-- Pub/sub messages: one row per message published; seq orders them.
-- Times are Unix milliseconds. data is NULL once no queue holds the
-- message (the row stays as a trace until it expires).
CREATE TABLE IF NOT EXISTS pubsub_message (
    seq           BIGSERIAL PRIMARY KEY,
    msg_id        TEXT    NOT NULL UNIQUE,
    topic         TEXT    NOT NULL,
    data          BYTEA,
    size          INTEGER NOT NULL,
    priority      INTEGER NOT NULL,
    correl_id     TEXT    NOT NULL,
    in_reply_to   TEXT    NOT NULL,
    ext_client_id TEXT    NOT NULL,
    cid           TEXT    NOT NULL,
    publisher     TEXT    NOT NULL,
    pub_time      BIGINT  NOT NULL,
    expires_at    BIGINT  NOT NULL
);
CREATE INDEX IF NOT EXISTS pubsub_message_expires ON pubsub_message (expires_at);

-- The subscriptions' queues: one row per message and subscription that
-- existed at the publish. state: 0 queued, 1 in flight (leased until
-- lease_until), 2 dead letter. next_at: not delivered before.
CREATE TABLE IF NOT EXISTS pubsub_delivery (
    sub           TEXT    NOT NULL,
    seq           BIGINT  NOT NULL,
    msg_id        TEXT    NOT NULL,
    topic         TEXT    NOT NULL,
    priority      INTEGER NOT NULL,
    size          INTEGER NOT NULL,
    expires_at    BIGINT  NOT NULL,
    state         INTEGER NOT NULL DEFAULT 0,
    attempts      INTEGER NOT NULL DEFAULT 0,
    first_attempt BIGINT  NOT NULL DEFAULT 0,
    next_at       BIGINT  NOT NULL DEFAULT 0,
    lease_until   BIGINT  NOT NULL DEFAULT 0,
    last_error    TEXT    NOT NULL DEFAULT '',
    PRIMARY KEY (sub, seq)
);
CREATE INDEX IF NOT EXISTS pubsub_delivery_order ON pubsub_delivery (sub, state, priority DESC, seq);
CREATE INDEX IF NOT EXISTS pubsub_delivery_topic ON pubsub_delivery (topic, seq);
CREATE INDEX IF NOT EXISTS pubsub_delivery_msg ON pubsub_delivery (msg_id);
CREATE INDEX IF NOT EXISTS pubsub_delivery_expires ON pubsub_delivery (expires_at);

-- Each subscription's delivery: paused or not, and which server's worker
-- holds it until lease_until.
CREATE TABLE IF NOT EXISTS pubsub_sub (
    sub         TEXT    PRIMARY KEY,
    paused      INTEGER NOT NULL DEFAULT 0,
    holder      TEXT    NOT NULL DEFAULT '',
    lease_until BIGINT  NOT NULL DEFAULT 0
);

-- +goose Down
DROP TABLE pubsub_sub;
DROP TABLE pubsub_delivery;
DROP TABLE pubsub_message;
