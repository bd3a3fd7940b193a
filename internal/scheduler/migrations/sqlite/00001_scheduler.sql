-- +goose Up
-- IF NOT EXISTS: a store made before each package kept its own migrations
-- has these tables already, from the store's own migrations.
-- Run state of scheduler jobs, kept apart from their configuration (the
-- objects table): one row per job. Times are Unix microseconds, 0 = never.
CREATE TABLE IF NOT EXISTS scheduler_job_state (
    job              TEXT    PRIMARY KEY,
    plan             TEXT    NOT NULL,            -- fingerprint of the plan the counters belong to
    run_count        BIGINT  NOT NULL DEFAULT 0,  -- scheduled runs started under this plan
    failure_count    BIGINT  NOT NULL DEFAULT 0,
    skipped_count    BIGINT  NOT NULL DEFAULT 0,  -- scheduled runs skipped: the previous run was still going
    done             INTEGER NOT NULL DEFAULT 0,  -- 1: the plan is complete (one-time job ran, repeats reached)
    deactivated      INTEGER NOT NULL DEFAULT 0,  -- 1: the change making the job inactive was committed
    last_run_us      BIGINT  NOT NULL DEFAULT 0,
    last_outcome     TEXT    NOT NULL DEFAULT '',
    last_duration_us BIGINT  NOT NULL DEFAULT 0,
    last_cid         TEXT    NOT NULL DEFAULT '',
    history_seq      BIGINT  NOT NULL DEFAULT 0   -- number of runs ever recorded in the history
);

-- A bounded run history per job: a ring of slots (seq modulo its size),
-- so a run replaces the oldest one and the table never grows.
CREATE TABLE IF NOT EXISTS scheduler_job_history (
    job         TEXT    NOT NULL,
    slot        INTEGER NOT NULL,
    seq         BIGINT  NOT NULL,
    cid         TEXT    NOT NULL,
    via         TEXT    NOT NULL,  -- schedule or manual
    planned_us  BIGINT  NOT NULL,
    started_us  BIGINT  NOT NULL,
    duration_us BIGINT  NOT NULL,
    outcome     TEXT    NOT NULL,  -- ok or error
    details     TEXT    NOT NULL,
    PRIMARY KEY (job, slot)
);

-- +goose Down
DROP TABLE scheduler_job_history;
DROP TABLE scheduler_job_state;
