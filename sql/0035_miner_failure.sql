-- A miner whose firmware failed to start mining answers /summary with "miner": null; the status
-- poller then reads GET /status, which names the failure (state failure, a description and a
-- failure code, e.g. 1002 "Failed to parse miner configuration"). The code is kept with the
-- status row and offered to rules as a metric.
ALTER TABLE statuses
    ADD COLUMN failure_code integer;

DO $$
BEGIN
    IF to_regclass('metric_catalogue') IS NOT NULL THEN
        INSERT INTO metric_catalogue (name, value_type, unit, description, kinds, states, source)
        VALUES ('miner_failure_code', 'number', '',
                'Failure code the firmware reports while the miner is in state failure '
                '(Vnish /status failure_code; 0 while it is not in failure)',
                ARRAY['asic'], NULL, 'metrics')
        ON CONFLICT (name) DO NOTHING;
    END IF;
END;
$$;
