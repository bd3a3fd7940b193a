-- +goose Up
CREATE TABLE revisions (
    rev        BIGINT  PRIMARY KEY,
    created_at TEXT    NOT NULL,
    source     TEXT    NOT NULL,
    summary    TEXT    NOT NULL
);

CREATE TABLE objects (
    kind TEXT    NOT NULL,
    name TEXT    NOT NULL,
    body TEXT    NOT NULL,
    rev  BIGINT  NOT NULL,
    PRIMARY KEY (kind, name)
);

CREATE TABLE code (
    file   TEXT    PRIMARY KEY,
    source TEXT    NOT NULL,
    rev    BIGINT  NOT NULL
);

CREATE TABLE settings (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
);

-- +goose Down
DROP TABLE settings;
DROP TABLE code;
DROP TABLE objects;
DROP TABLE revisions;
