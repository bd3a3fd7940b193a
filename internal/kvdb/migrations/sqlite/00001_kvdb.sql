-- +goose Up
-- The embedded key-value store (self.kvdb.conn): one row per key, its
-- value encoded by type; expires_at is Unix milliseconds, 0 = never.
CREATE TABLE IF NOT EXISTS kvdb (
    key        BLOB    PRIMARY KEY,
    type       INTEGER NOT NULL,
    value      BLOB    NOT NULL,
    expires_at BIGINT  NOT NULL DEFAULT 0
);
CREATE INDEX IF NOT EXISTS kvdb_expires_at ON kvdb (expires_at) WHERE expires_at > 0;

-- +goose Down
DROP TABLE kvdb;
