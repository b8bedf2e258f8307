-- Heartbeat ingest and heartbeat-monitor performance (issue 13, docs/benchmarks.md § node
-- heartbeats): every heartbeat rewrites its nodes row, and a row whose indexed columns change is
-- a new entry in every index of the table. 0040 indexed last_heartbeat_at, which every heartbeat
-- changes, so no heartbeat update could be HOT (heap-only: no index entries, pruned in place).
--
-- * No index on nodes.last_heartbeat_at: heartbeat-monitor finds silent nodes by reading the
--   nodes table itself (one pass; nodes are at most a few tens of thousands of rows), which costs
--   the monitor a few milliseconds a cycle and saves the ingest an index insert in four indexes
--   per heartbeat. The remaining indexes on nodes cover columns a heartbeat does not change
--   (worker_id, machine_id, pool; over_limit_streak only in nodes_over_limit_idx's predicate,
--   which changes only when a node crosses a limit).
-- * fillfactor 70: room on each page for the new version of its rows, which HOT needs.
DROP INDEX nodes_heartbeat_idx;
ALTER TABLE nodes SET (fillfactor = 70);
