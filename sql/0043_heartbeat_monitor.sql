-- heartbeat-monitor (issue 13): indexes that let one cycle find the workers whose status might
-- change without joining every worker to its detail table (docs/benchmarks.md: 100,000 workers
-- per cycle). Neither index covers a column the pollers or the heartbeat ingest write on every
-- sighting (workers.last_seen_at), so those updates stay HOT.

-- Workers not online: the monitor looks at each of them every cycle.
CREATE INDEX workers_not_online_idx ON workers (id) WHERE status NOT IN ('online', 'removed');

-- Nodes whose last heartbeats broke a limit (the ingest keeps over_limit_streak).
CREATE INDEX nodes_over_limit_idx ON nodes (worker_id) WHERE over_limit_streak > 0;
