-- +goose Up
-- Sessions of jwt security definitions (internal/security.Sessions). id is
-- the SHA-256 of the session id a token carries, so the table alone gives
-- no usable token; times are Unix milliseconds.
CREATE TABLE jwt_sessions (
    id         TEXT    PRIMARY KEY,
    definition TEXT    NOT NULL,
    username   TEXT    NOT NULL,
    created_at BIGINT  NOT NULL,
    expires_at BIGINT  NOT NULL
);
CREATE INDEX jwt_sessions_expires_at ON jwt_sessions (expires_at);

-- +goose Down
DROP TABLE jwt_sessions;
