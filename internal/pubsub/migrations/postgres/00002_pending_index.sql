-- +goose Up
-- A queue's messages waiting or in flight, in delivery order: a claim
-- reads its batch from the head of this index instead of sorting the
-- whole queue, so its cost does not grow with the queue's depth.
CREATE INDEX IF NOT EXISTS pubsub_delivery_pending ON pubsub_delivery (sub, priority DESC, seq) WHERE state < 2;
DROP INDEX IF EXISTS pubsub_delivery_order;

-- +goose Down
CREATE INDEX IF NOT EXISTS pubsub_delivery_order ON pubsub_delivery (sub, state, priority DESC, seq);
DROP INDEX IF EXISTS pubsub_delivery_pending;
