-- +goose Up
-- A queue's messages waiting or in flight, in delivery order: a claim
-- reads its batch from the head of this index instead of sorting the
-- whole queue, so its cost does not grow with the queue's depth.
CREATE INDEX IF NOT EXISTS pubsub_delivery_pending ON pubsub_delivery (sub, priority DESC, seq) WHERE state < 2;
DROP INDEX IF EXISTS pubsub_delivery_order;
-- A push subscription's messages in flight are the batch its worker
-- claimed, counted here rather than marked row by row: a claim writes
-- one row instead of updating every message of its batch.
ALTER TABLE pubsub_sub ADD COLUMN in_flight INTEGER NOT NULL DEFAULT 0;

-- +goose Down
ALTER TABLE pubsub_sub DROP COLUMN in_flight;
CREATE INDEX IF NOT EXISTS pubsub_delivery_order ON pubsub_delivery (sub, state, priority DESC, seq);
DROP INDEX IF EXISTS pubsub_delivery_pending;
