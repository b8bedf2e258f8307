-- What GET /api/miners shows about each miner, kept in one narrow row (issue 15.9), so a page is
-- one index range scan of one table instead of a join of miners, workers, models and the
-- partitioned statuses (measured: twice the pages per second of PostgreSQL time).
--
-- The rows are derived, never written by hand: statement-level triggers on workers, miners and
-- models keep them in the same transaction as the change they follow, set-based over each
-- statement's transition table (the poller's batch of 10,000 miners is one upsert, not 10,000).
-- A change to a column the list does not show (leases, next poll times, telemetry) writes
-- nothing here.
--
-- Each row also carries its miner as the JSON object the API answers (`doc`, written once per
-- change rather than once per page read): a page is the docs of a range of rows, and the gateway
-- only adds last_poll_error, which it redacts (firmware text may echo secrets).
CREATE TABLE miner_list (
    worker_id           bigint PRIMARY KEY REFERENCES workers (id) ON DELETE CASCADE,
    -- from workers
    name                text NOT NULL,
    ip                  inet,
    status              text NOT NULL,
    managed             boolean NOT NULL,
    last_seen_at        timestamptz,
    -- from miners and models
    mac                 text NOT NULL,
    model_alias         text,
    model_name          text,
    fw_version          text,
    api_key_state       text NOT NULL,
    last_poll_error     text,
    unlock_password_set boolean NOT NULL,
    -- the latest status (miners.latest_status_id), null until the first poll
    status_id           bigint,
    observed_at         timestamptz,
    miner_state         text,
    hashrate_ths        double precision,
    hashrate_ratio      double precision,
    power_w             double precision,
    efficiency_jth      double precision,
    chip_temp_max       real,
    pcb_temp_max        real,
    fan_rpm_min         integer,
    chips_red           integer,
    chips_orange        integer,
    doc                 text NOT NULL
);

-- JSON text of one value, 'null' for NULL; numbers that JSON cannot carry (NaN, infinities)
-- become null, as the gateway writes them.
CREATE FUNCTION fleet_json(value text) RETURNS text
LANGUAGE sql IMMUTABLE AS $$ SELECT coalesce(to_json(value)::text, 'null') $$;
CREATE FUNCTION fleet_json(value double precision) RETURNS text
LANGUAGE sql IMMUTABLE AS $$
    SELECT CASE WHEN value IS NULL OR value IN ('NaN', 'Infinity', '-Infinity') THEN 'null'
                ELSE value::text END
$$;
CREATE FUNCTION fleet_json(value bigint) RETURNS text
LANGUAGE sql IMMUTABLE AS $$ SELECT coalesce(value::text, 'null') $$;
CREATE FUNCTION fleet_json(value boolean) RETURNS text
LANGUAGE sql IMMUTABLE AS $$ SELECT coalesce(value::text, 'null') $$;
-- A timestamp as the API writes it (UTC, second resolution, rows.h kIsoFormat).
CREATE FUNCTION fleet_json(value timestamptz) RETURNS text
LANGUAGE sql STABLE AS $$
    SELECT coalesce('"' || to_char(value AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"') || '"',
                    'null')
$$;

-- The whole row of each given miner, recomputed from its sources; rows that did not change are
-- not rewritten.
CREATE FUNCTION fleet_miner_list_refresh(ids bigint[]) RETURNS void
LANGUAGE sql AS $$
INSERT INTO miner_list AS l
SELECT w.id, w.name, w.ip, w.status, w.managed, w.last_seen_at,
       m.mac::text, m.model_alias, mo.full_name, m.fw_version, m.api_key_state, m.last_poll_error,
       m.unlock_pass_enc IS NOT NULL,
       s.id, s.observed_at, s.miner_state, s.hashrate_ths, s.hashrate_ratio, s.power_w,
       s.efficiency_jth, s.chip_temp_max, s.pcb_temp_max, s.fan_rpm_min, s.chips_red, s.chips_orange,
       -- the object of GET /api/miners without last_poll_error (the gateway appends it)
       '{"id":' || w.id || ',"name":' || fleet_json(w.name) || ',"mac":' || fleet_json(m.mac::text)
       || ',"ip":' || fleet_json(host(w.ip)) || ',"online":' || fleet_json(w.ip IS NOT NULL)
       || ',"status":' || fleet_json(w.status) || ',"managed":' || fleet_json(w.managed)
       || ',"model_alias":' || fleet_json(m.model_alias) || ',"model_name":' || fleet_json(mo.full_name)
       || ',"fw_version":' || fleet_json(m.fw_version)
       || ',"last_seen_at":' || fleet_json(w.last_seen_at)
       || ',"api_key_state":' || fleet_json(m.api_key_state)
       || ',"unlock_password_set":' || fleet_json(m.unlock_pass_enc IS NOT NULL)
       || ',"latest":' || CASE WHEN s.id IS NULL THEN 'null' ELSE
              '{"status_id":' || s.id || ',"observed_at":' || fleet_json(s.observed_at)
              || ',"miner_state":' || fleet_json(s.miner_state)
              || ',"hashrate_ths":' || fleet_json(s.hashrate_ths)
              || ',"hashrate_ratio":' || fleet_json(s.hashrate_ratio)
              || ',"power_w":' || fleet_json(s.power_w)
              || ',"efficiency_jth":' || fleet_json(s.efficiency_jth)
              || ',"chip_temp_max":' || fleet_json(s.chip_temp_max::double precision)
              || ',"pcb_temp_max":' || fleet_json(s.pcb_temp_max::double precision)
              || ',"fan_rpm_min":' || fleet_json(s.fan_rpm_min::bigint)
              || ',"chips_red":' || fleet_json(s.chips_red::bigint)
              || ',"chips_orange":' || fleet_json(s.chips_orange::bigint) || '}' END
       || '}'
  FROM miners m
  JOIN workers w ON w.id = m.worker_id
  LEFT JOIN models mo ON mo.alias = m.model_alias
  LEFT JOIN statuses s ON s.id = m.latest_status_id AND s.observed_at = m.last_status_at
 WHERE m.worker_id = ANY (ids)
 ORDER BY m.worker_id
ON CONFLICT (worker_id) DO UPDATE
   SET name = EXCLUDED.name, ip = EXCLUDED.ip, status = EXCLUDED.status,
       managed = EXCLUDED.managed, last_seen_at = EXCLUDED.last_seen_at, mac = EXCLUDED.mac,
       model_alias = EXCLUDED.model_alias, model_name = EXCLUDED.model_name,
       fw_version = EXCLUDED.fw_version, api_key_state = EXCLUDED.api_key_state,
       last_poll_error = EXCLUDED.last_poll_error,
       unlock_password_set = EXCLUDED.unlock_password_set, status_id = EXCLUDED.status_id,
       observed_at = EXCLUDED.observed_at, miner_state = EXCLUDED.miner_state,
       hashrate_ths = EXCLUDED.hashrate_ths, hashrate_ratio = EXCLUDED.hashrate_ratio,
       power_w = EXCLUDED.power_w, efficiency_jth = EXCLUDED.efficiency_jth,
       chip_temp_max = EXCLUDED.chip_temp_max, pcb_temp_max = EXCLUDED.pcb_temp_max,
       fan_rpm_min = EXCLUDED.fan_rpm_min, chips_red = EXCLUDED.chips_red,
       chips_orange = EXCLUDED.chips_orange, doc = EXCLUDED.doc
 WHERE ROW(l.*) IS DISTINCT FROM ROW(EXCLUDED.*)
$$;

-- miners: a new miner, or a change to what the list shows of it (its latest status included).
CREATE FUNCTION fleet_miner_list_from_miners() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        PERFORM fleet_miner_list_refresh(ARRAY(SELECT worker_id FROM changed));
    ELSE
        PERFORM fleet_miner_list_refresh(ARRAY(
            SELECT n.worker_id
              FROM changed n JOIN before o ON o.worker_id = n.worker_id
             WHERE (n.mac, n.model_alias, n.fw_version, n.api_key_state, n.last_poll_error,
                    n.unlock_pass_enc IS NULL, n.latest_status_id, n.last_status_at)
                   IS DISTINCT FROM
                   (o.mac, o.model_alias, o.fw_version, o.api_key_state, o.last_poll_error,
                    o.unlock_pass_enc IS NULL, o.latest_status_id, o.last_status_at)));
    END IF;
    RETURN NULL;
END;
$$;

CREATE TRIGGER miners_list_insert AFTER INSERT ON miners
    REFERENCING NEW TABLE AS changed
    FOR EACH STATEMENT EXECUTE FUNCTION fleet_miner_list_from_miners();
CREATE TRIGGER miners_list_update AFTER UPDATE ON miners
    REFERENCING OLD TABLE AS before NEW TABLE AS changed
    FOR EACH STATEMENT EXECUTE FUNCTION fleet_miner_list_from_miners();

-- A miner row removed while its worker stays (the worker's removal cascades by the foreign key).
CREATE FUNCTION fleet_miner_list_forget() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM miner_list l USING gone g WHERE l.worker_id = g.worker_id;
    RETURN NULL;
END;
$$;

CREATE TRIGGER miners_list_delete AFTER DELETE ON miners
    REFERENCING OLD TABLE AS gone
    FOR EACH STATEMENT EXECUTE FUNCTION fleet_miner_list_forget();

-- workers: a change to a column the list shows (nodes' and rigs' updates refresh nothing).
CREATE FUNCTION fleet_miner_list_from_workers() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM fleet_miner_list_refresh(ARRAY(
        SELECT n.id
          FROM changed n JOIN before o ON o.id = n.id
         WHERE n.kind = 'asic'
           AND (n.name, n.ip, n.status, n.managed, n.last_seen_at)
               IS DISTINCT FROM (o.name, o.ip, o.status, o.managed, o.last_seen_at)));
    RETURN NULL;
END;
$$;

CREATE TRIGGER workers_miner_list AFTER UPDATE ON workers
    REFERENCING OLD TABLE AS before NEW TABLE AS changed
    FOR EACH STATEMENT EXECUTE FUNCTION fleet_miner_list_from_workers();

-- models: a renamed model (full_name); alias changes cascade into miners and arrive from there.
CREATE FUNCTION fleet_miner_list_from_models() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM fleet_miner_list_refresh(ARRAY(
        SELECT l.worker_id FROM miner_list l JOIN changed n ON n.alias = l.model_alias
         WHERE l.model_name IS DISTINCT FROM n.full_name));
    RETURN NULL;
END;
$$;

CREATE TRIGGER models_miner_list AFTER UPDATE ON models
    REFERENCING NEW TABLE AS changed
    FOR EACH STATEMENT EXECUTE FUNCTION fleet_miner_list_from_models();

-- When the daily statuses partition holding a miner's latest status expires, the list forgets
-- that status as the join into statuses did (the rest as in 0003).
CREATE OR REPLACE FUNCTION fleet_drop_expired_partitions(parent text, retention_days integer)
RETURNS SETOF text
LANGUAGE plpgsql AS $$
DECLARE
    cutoff date := (now() AT TIME ZONE 'UTC')::date - retention_days;
    part   text;
    dropped boolean := false;
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
        dropped := true;
        RETURN NEXT part;
    END LOOP;
    IF dropped AND parent = 'statuses' THEN
        PERFORM fleet_miner_list_refresh(ARRAY(
            SELECT worker_id FROM miner_list
             WHERE observed_at < (cutoff::timestamp AT TIME ZONE 'UTC')));
    END IF;
END;
$$;

SELECT fleet_miner_list_refresh(ARRAY(SELECT worker_id FROM miners));
