-- +goose Up
-- The embedded key-value store (self.kvdb.conn): one row per key, its
-- value encoded by type; expires_at is Unix milliseconds, 0 = never.
CREATE TABLE IF NOT EXISTS kvdb (
    key        BYTEA   PRIMARY KEY,
    type       SMALLINT NOT NULL,
    value      BYTEA   NOT NULL,
    expires_at BIGINT  NOT NULL DEFAULT 0
);
CREATE INDEX IF NOT EXISTS kvdb_expires_at ON kvdb (expires_at) WHERE expires_at > 0;

-- +goose Down
DROP TABLE kvdb;
