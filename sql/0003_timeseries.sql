-- Time series: the latest value of every metric (what rules read) and the history of readings,
-- partitioned by day and expired by dropping whole partitions (DESIGN §5).

-- The newest value of each metric of each worker. Written by pollers and the readings API, read by
-- the alert evaluator and the dashboard.
CREATE TABLE metrics_latest (
    worker_id   bigint           NOT NULL REFERENCES workers (id) ON DELETE CASCADE,
    metric      text             NOT NULL,
    value       double precision,
    json_value  jsonb,
    observed_at timestamptz      NOT NULL,
    PRIMARY KEY (worker_id, metric)
) WITH (fillfactor = 70);  -- updated in place every poll: leave room for HOT updates

CREATE INDEX metrics_latest_metric_idx ON metrics_latest (metric);

-- History (seed 001's device readings, generalised): a numeric value, a JSON value, or both, plus
-- free-form metadata. No foreign key to workers: ingest is the hot path and rows expire with their
-- partition. The primary key makes re-sent readings idempotent (ON CONFLICT DO NOTHING).
CREATE TABLE readings (
    worker_id  bigint           NOT NULL,
    metric     text             NOT NULL CHECK (metric ~ '^[a-z][a-z0-9_.]{0,63}$'),
    ts         timestamptz      NOT NULL,
    value      double precision,
    json_value jsonb,
    metadata   jsonb,
    PRIMARY KEY (worker_id, metric, ts),
    CHECK (value IS NOT NULL OR json_value IS NOT NULL)
) PARTITION BY RANGE (ts);

-- Which tables are partitioned by day, how far ahead partitions are made and how long they are
-- kept (NULL = forever). The maintenance worker applies these every cycle; later migrations add
-- their own tables (chip telemetry, statuses).
CREATE TABLE partition_policies (
    parent_table   text        PRIMARY KEY,
    premake_days   integer     NOT NULL DEFAULT 7 CHECK (premake_days BETWEEN 1 AND 90),
    retention_days integer     CHECK (retention_days IS NULL OR retention_days >= 1),
    updated_at     timestamptz NOT NULL DEFAULT now()
);

-- Creates the missing daily partitions <parent>_pYYYYMMDD covering UTC days from today-back_days
-- to today+ahead_days. Returns how many it created. Safe to run concurrently.
CREATE FUNCTION fleet_create_daily_partitions(parent text, back_days integer, ahead_days integer)
RETURNS integer
LANGUAGE plpgsql AS $$
DECLARE
    today   date := (now() AT TIME ZONE 'UTC')::date;
    day     date;
    part    text;
    created integer := 0;
BEGIN
    IF to_regclass(parent) IS NULL THEN
        RAISE EXCEPTION 'table % does not exist', parent USING ERRCODE = 'undefined_table';
    END IF;
    PERFORM pg_advisory_xact_lock(hashtext('fleet_partitions:' || parent));
    FOR day IN SELECT generate_series(today - back_days, today + ahead_days, interval '1 day')::date
    LOOP
        part := parent || '_p' || to_char(day, 'YYYYMMDD');
        IF to_regclass(part) IS NULL THEN
            EXECUTE format('CREATE TABLE %I PARTITION OF %I FOR VALUES FROM (%L) TO (%L)',
                           part, parent,
                           (day::timestamp AT TIME ZONE 'UTC'),
                           ((day + 1)::timestamp AT TIME ZONE 'UTC'));
            created := created + 1;
        END IF;
    END LOOP;
    RETURN created;
END;
$$;

-- Detaches and drops the daily partitions of parent whose whole day is older than retention_days.
-- Returns the names of the dropped partitions.
CREATE FUNCTION fleet_drop_expired_partitions(parent text, retention_days integer)
RETURNS SETOF text
LANGUAGE plpgsql AS $$
DECLARE
    cutoff date := (now() AT TIME ZONE 'UTC')::date - retention_days;
    part   text;
BEGIN
    PERFORM pg_advisory_xact_lock(hashtext('fleet_partitions:' || parent));
    FOR part IN
        SELECT c.relname
          FROM pg_inherits i
          JOIN pg_class c ON c.oid = i.inhrelid
         WHERE i.inhparent = to_regclass(parent)
           AND c.relname ~ ('^' || parent || '_p[0-9]{8}$')
           AND to_date(right(c.relname, 8), 'YYYYMMDD') < cutoff
         ORDER BY c.relname
    LOOP
        EXECUTE format('ALTER TABLE %I DETACH PARTITION %I', parent, part);
        EXECUTE format('DROP TABLE %I', part);
        RETURN NEXT part;
    END LOOP;
END;
$$;

INSERT INTO partition_policies (parent_table, premake_days, retention_days) VALUES ('readings', 7, 30);
SELECT fleet_create_daily_partitions('readings', 1, 7);
