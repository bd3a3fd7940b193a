-- +goose Up
-- The nodes sharing the store: each registers itself at start, heart-beats
-- while it runs and removes itself when it stops.
CREATE TABLE cluster_nodes (
    id          TEXT     PRIMARY KEY,
    name        TEXT     NOT NULL,
    address     TEXT     NOT NULL,
    version     TEXT     NOT NULL,
    rev         BIGINT   NOT NULL,
    leader      INTEGER  NOT NULL,
    started_at  TEXT     NOT NULL,
    heartbeat   TEXT     NOT NULL
);

-- +goose Down
DROP TABLE cluster_nodes;
