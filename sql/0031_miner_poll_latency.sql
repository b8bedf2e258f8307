-- How fast each miner answers /summary, so the status poller can give a healthy miner a deadline
-- that follows its own answer times instead of the whole request timeout (docs/services/
-- status-poller.md § Timeouts). Written by the poller after every answer; NULL until the first.
ALTER TABLE miners
    ADD COLUMN poll_latency_ms integer CHECK (poll_latency_ms >= 0);
