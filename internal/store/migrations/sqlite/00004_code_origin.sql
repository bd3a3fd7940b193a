-- +goose Up
-- Where each deployed file comes from (the pickup directory, a path on the
-- machine that ran plexus deploy, the admin API), so that a deploy from one
-- source does not silently replace what another deployed. Empty for files
-- deployed before origins were kept: they match any source.
ALTER TABLE code ADD COLUMN origin TEXT NOT NULL DEFAULT '';

-- +goose Down
ALTER TABLE code DROP COLUMN origin;
