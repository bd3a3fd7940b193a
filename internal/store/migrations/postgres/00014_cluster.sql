-- +goose Up
-- What each revision removed, so that nodes sharing the store apply only
-- what changed since the revision they run: objects (kind, name) and
-- deployed files (kind '', name the file). A later put of the same key
-- deletes its row.
CREATE TABLE removals (
    kind TEXT    NOT NULL,
    name TEXT    NOT NULL,
    rev  BIGINT  NOT NULL,
    PRIMARY KEY (kind, name)
);
CREATE INDEX removals_rev ON removals (rev);
CREATE INDEX objects_rev ON objects (rev);
CREATE INDEX code_rev ON code (rev);

-- +goose Down
DROP INDEX code_rev;
DROP INDEX objects_rev;
DROP TABLE removals;
