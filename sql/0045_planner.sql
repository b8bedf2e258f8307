-- migration-planner's own bookkeeping (issue 14, helper M), beside 0044's tables:
-- * migrations.avoid_node_ids: nodes a move tried and whose start failed (or timed out); the next
--   attempt never picks them again (planner.max_start_attempts bounds the attempts).
-- * migrations.started_at: when the move left 'pending' (its container_start was queued); the
--   fleet-wide rate limit planner.max_moves_per_minute counts these within the last minute.
ALTER TABLE migrations ADD COLUMN avoid_node_ids bigint[] NOT NULL DEFAULT '{}';
ALTER TABLE migrations ADD COLUMN started_at timestamptz;
CREATE INDEX migrations_started_idx ON migrations (started_at) WHERE started_at IS NOT NULL;
-- The planner writes a move's new placement (placements.migration_id) and the move pointing at it
-- (migrations.to_placement_id) in one transaction; deferring this check to the commit lets it
-- insert both in one statement each instead of updating the rows again afterwards.
ALTER TABLE placements ALTER CONSTRAINT placements_migration_fk DEFERRABLE INITIALLY IMMEDIATE;
