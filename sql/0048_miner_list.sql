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

-- A number JSON can carry: NaN and infinities become null, as the gateway writes them (row_to_json
-- would write them as strings).
CREATE FUNCTION fleet_finite(value double precision) RETURNS double precision
LANGUAGE sql IMMUTABLE AS $$
    SELECT CASE WHEN value IN ('NaN', 'Infinity', '-Infinity') THEN NULL ELSE value END
$$;
CREATE FUNCTION fleet_finite(value real) RETURNS real
LANGUAGE sql IMMUTABLE AS $$
    SELECT CASE WHEN value IN ('NaN', 'Infinity', '-Infinity') THEN NULL ELSE value END
$$;

-- What a miner_list row must hold, computed from its sources.
CREATE VIEW miner_list_source AS
SELECT w.id AS worker_id, w.name, w.ip, w.status, w.managed, w.last_seen_at,
       m.mac::text AS mac, m.model_alias, mo.full_name AS model_name, m.fw_version, m.api_key_state,
       m.last_poll_error, m.unlock_pass_enc IS NOT NULL AS unlock_password_set,
       s.id AS status_id, s.observed_at, s.miner_state, s.hashrate_ths, s.hashrate_ratio, s.power_w,
       s.efficiency_jth, s.chip_temp_max, s.pcb_temp_max, s.fan_rpm_min, s.chips_red, s.chips_orange,
       -- the object of GET /api/miners without last_poll_error (the gateway appends it);
       -- row_to_json writes compact JSON in column order, five times faster than concatenation
       (SELECT row_to_json(o) FROM (
            SELECT w.id, w.name, m.mac::text AS mac, host(w.ip) AS ip, w.ip IS NOT NULL AS online,
                   w.status, w.managed, m.model_alias, mo.full_name AS model_name, m.fw_version,
                   to_char(w.last_seen_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"')
                       AS last_seen_at,
                   m.api_key_state, m.unlock_pass_enc IS NOT NULL AS unlock_password_set,
                   (SELECT row_to_json(l) FROM (
                        SELECT s.id AS status_id,
                               to_char(s.observed_at AT TIME ZONE 'UTC',
                                       'YYYY-MM-DD"T"HH24:MI:SS"Z"') AS observed_at,
                               s.miner_state, fleet_finite(s.hashrate_ths) AS hashrate_ths,
                               fleet_finite(s.hashrate_ratio) AS hashrate_ratio,
                               fleet_finite(s.power_w) AS power_w,
                               fleet_finite(s.efficiency_jth) AS efficiency_jth,
                               fleet_finite(s.chip_temp_max) AS chip_temp_max,
                               fleet_finite(s.pcb_temp_max) AS pcb_temp_max, s.fan_rpm_min,
                               s.chips_red, s.chips_orange) l
                     WHERE s.id IS NOT NULL) AS latest) o)::text AS doc
  FROM miners m
  JOIN workers w ON w.id = m.worker_id
  LEFT JOIN models mo ON mo.alias = m.model_alias
  LEFT JOIN statuses s ON s.id = m.latest_status_id AND s.observed_at = m.last_status_at;

-- Recomputes the rows of the given miners; rows that did not change are not written (an upsert
-- would lock, and so write, every one of them). inserting: the
-- miners are new and have no row yet. PL/pgSQL, so the session keeps the plans (an SQL function
-- plans its join into every statuses partition again on each call).
CREATE FUNCTION fleet_miner_list_refresh(ids bigint[], inserting boolean DEFAULT false)
RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
    IF cardinality(ids) = 0 THEN
        RETURN;
    END IF;
    IF inserting THEN
        INSERT INTO miner_list
        SELECT * FROM miner_list_source WHERE worker_id = ANY (ids) ORDER BY worker_id
        ON CONFLICT (worker_id) DO NOTHING;
    END IF;
    UPDATE miner_list l
       SET (name, ip, status, managed, last_seen_at, mac, model_alias, model_name, fw_version,
            api_key_state, last_poll_error, unlock_password_set, status_id, observed_at,
            miner_state, hashrate_ths, hashrate_ratio, power_w, efficiency_jth, chip_temp_max,
            pcb_temp_max, fan_rpm_min, chips_red, chips_orange, doc)
         = (f.name, f.ip, f.status, f.managed, f.last_seen_at, f.mac, f.model_alias, f.model_name,
            f.fw_version, f.api_key_state, f.last_poll_error, f.unlock_password_set, f.status_id,
            f.observed_at, f.miner_state, f.hashrate_ths, f.hashrate_ratio, f.power_w,
            f.efficiency_jth, f.chip_temp_max, f.pcb_temp_max, f.fan_rpm_min, f.chips_red,
            f.chips_orange, f.doc)
      FROM miner_list_source f
     WHERE f.worker_id = ANY (ids) AND l.worker_id = f.worker_id
       -- doc is a function of the other columns: comparing them is enough, and computes doc
       -- only for the rows that changed
       AND (l.name, l.ip, l.status, l.managed, l.last_seen_at, l.mac, l.model_alias, l.model_name,
            l.fw_version, l.api_key_state, l.last_poll_error, l.unlock_password_set, l.status_id,
            l.observed_at, l.miner_state, l.hashrate_ths, l.hashrate_ratio, l.power_w,
            l.efficiency_jth, l.chip_temp_max, l.pcb_temp_max, l.fan_rpm_min, l.chips_red,
            l.chips_orange)
           IS DISTINCT FROM
           (f.name, f.ip, f.status, f.managed, f.last_seen_at, f.mac, f.model_alias, f.model_name,
            f.fw_version, f.api_key_state, f.last_poll_error, f.unlock_password_set, f.status_id,
            f.observed_at, f.miner_state, f.hashrate_ths, f.hashrate_ratio, f.power_w,
            f.efficiency_jth, f.chip_temp_max, f.pcb_temp_max, f.fan_rpm_min, f.chips_red,
            f.chips_orange);
END;
$$;

-- miners: a new miner, or a change to what the list shows of it (its latest status included).
-- Changes are found by comparing the new rows with the list itself, not with the old rows: when
-- one statement writes both workers and miners (the poller's), the trigger that fires second finds
-- the list already current and does nothing.
CREATE FUNCTION fleet_miner_list_from_miners() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        PERFORM fleet_miner_list_refresh(ARRAY(SELECT worker_id FROM changed), true);
    ELSE
        PERFORM fleet_miner_list_refresh(ARRAY(
            SELECT n.worker_id
              FROM changed n JOIN miner_list l ON l.worker_id = n.worker_id
             WHERE (n.mac::text, n.model_alias, n.fw_version, n.api_key_state, n.last_poll_error,
                    n.unlock_pass_enc IS NOT NULL, n.latest_status_id)
                   IS DISTINCT FROM
                   (l.mac, l.model_alias, l.fw_version, l.api_key_state, l.last_poll_error,
                    l.unlock_password_set, l.status_id)));
    END IF;
    RETURN NULL;
END;
$$;

CREATE TRIGGER miners_list_insert AFTER INSERT ON miners
    REFERENCING NEW TABLE AS changed
    FOR EACH STATEMENT EXECUTE FUNCTION fleet_miner_list_from_miners();
CREATE TRIGGER miners_list_update AFTER UPDATE ON miners
    REFERENCING NEW TABLE AS changed
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

-- workers: a change to a column the list shows (nodes' and rigs' updates find no list row).
CREATE FUNCTION fleet_miner_list_from_workers() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM fleet_miner_list_refresh(ARRAY(
        SELECT n.id
          FROM changed n JOIN miner_list l ON l.worker_id = n.id
         WHERE n.kind = 'asic'
           AND (n.name, n.ip, n.status, n.managed, n.last_seen_at)
               IS DISTINCT FROM (l.name, l.ip, l.status, l.managed, l.last_seen_at)));
    RETURN NULL;
END;
$$;

CREATE TRIGGER workers_miner_list AFTER UPDATE ON workers
    REFERENCING NEW TABLE AS changed
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

SELECT fleet_miner_list_refresh(ARRAY(SELECT worker_id FROM miners), true);
