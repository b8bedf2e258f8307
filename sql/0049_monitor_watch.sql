-- heartbeat-monitor's own watch (issue 13): when it last completed a cycle, and since when it has
-- been watching without a gap. After a gap longer than monitor.watch_gap (the monitor, or the
-- whole system with its pollers and gateway, was down), workers' silence during the gap says
-- nothing about them: nothing was there to hear them. The monitor then gives every worker its full
-- timeout from watching_since before calling it silent, as Kubernetes' node lifecycle controller
-- measures a node's grace period from when it first observed the node.
CREATE TABLE monitor_watch (
    id             boolean     PRIMARY KEY DEFAULT true CHECK (id),  -- one row
    -- NULL: since before anyone kept count (the first cycle ever, or the first after this
    -- migration, has no gap to make up for).
    watching_since timestamptz,
    last_cycle_at  timestamptz NOT NULL
);
