-- The watches of the workers that judge silence and staleness (heartbeat-monitor: workers not
-- heard from; alert-evaluator: metrics gone stale): when each last completed a cycle, and since
-- when it has been watching without a gap. After a gap longer than its setting (the worker, or the
-- whole system with its pollers and gateway, was down), the silence of the gap says nothing: nothing
-- was there to hear. Such a worker gives everything its full timeout from watching_since before
-- judging it, as Kubernetes' node lifecycle controller measures a node's grace period from when it
-- first observed the node.
CREATE TABLE watches (
    name           text        PRIMARY KEY,  -- the service: heartbeat-monitor, alert-evaluator
    -- NULL: since before anyone kept count (the service never ran before its first watch, or
    -- its instances' last cycle in service_instances was within the gap).
    watching_since timestamptz,
    last_cycle_at  timestamptz NOT NULL
);
