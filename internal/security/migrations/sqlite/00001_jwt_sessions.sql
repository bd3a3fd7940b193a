-- +goose Up
-- IF NOT EXISTS: a store made before each package kept its own migrations
-- has this table already, from the store's own migrations.
-- Sessions of jwt security definitions (internal/security.Sessions). id is
-- the SHA-256 of the session id a token carries, so the table alone gives
-- no usable token; times are Unix milliseconds.
CREATE TABLE IF NOT EXISTS jwt_sessions (
    id         TEXT    PRIMARY KEY,
    definition TEXT    NOT NULL,
    username   TEXT    NOT NULL,
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS jwt_sessions_expires_at ON jwt_sessions (expires_at);

-- +goose Down
DROP TABLE jwt_sessions;
