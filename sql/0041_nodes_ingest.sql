-- Node ingest (issue 13, gateway side): a node's queued agent commands are counted in every
-- heartbeat reply and claimed by its agent's poll, thousands of times a second across the fleet;
-- this partial index answers both without scanning the whole queue.
CREATE INDEX commands_agent_queue_idx ON commands (worker_id, not_before)
    WHERE state = 'queued' AND channel = 'agent';
