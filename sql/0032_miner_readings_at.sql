-- When the status poller last appended a miner's metrics to readings. Every poll updates
-- metrics_latest and statuses; readings, the history rule windows read, get a miner's metrics at
-- most once per poll.readings_interval (docs/services/status-poller.md § What it writes).
ALTER TABLE miners
    ADD COLUMN readings_at timestamptz;
