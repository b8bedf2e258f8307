-- What changed in miner_list, and when, for the gateway's copy of it in memory (issue 15.9;
-- docs/services/api-gateway.md § The miners list in memory). A gateway loads the table once, then
-- after every NOTIFY fleet_miner_list fetches only the rows written by transactions its last
-- snapshot did not see:
--
--   changed_xid >= xmax of that snapshot  OR  changed_xid = ANY (its in-progress transactions)
--
-- That is exact whatever order transactions commit in (a sequence number would not be: a writer
-- that took a lower number can commit after a reader has moved past it).

-- The top-level transaction that last wrote the row (never a subtransaction's id: a snapshot lists
-- top-level transactions only).
ALTER TABLE miner_list ADD COLUMN changed_xid xid8 NOT NULL DEFAULT pg_current_xact_id();
CREATE INDEX miner_list_changed ON miner_list (changed_xid);

-- Rows removed, by the transaction that removed them. Kept an hour: a gateway that has not caught
-- up for that long has lost its listener or its session, and reloads everything.
CREATE TABLE miner_list_gone (
    worker_id   bigint NOT NULL,
    changed_xid xid8 NOT NULL DEFAULT pg_current_xact_id(),
    gone_at     timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX miner_list_gone_changed ON miner_list_gone (changed_xid);

-- As in 0048, and stamping each row it rewrites with its transaction (new rows get it by default).
CREATE OR REPLACE FUNCTION fleet_miner_list_refresh(ids bigint[], inserting boolean DEFAULT false)
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
            pcb_temp_max, fan_rpm_min, chips_red, chips_orange, doc, changed_xid)
         = (f.name, f.ip, f.status, f.managed, f.last_seen_at, f.mac, f.model_alias, f.model_name,
            f.fw_version, f.api_key_state, f.last_poll_error, f.unlock_password_set, f.status_id,
            f.observed_at, f.miner_state, f.hashrate_ths, f.hashrate_ratio, f.power_w,
            f.efficiency_jth, f.chip_temp_max, f.pcb_temp_max, f.fan_rpm_min, f.chips_red,
            f.chips_orange, f.doc, pg_current_xact_id())
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

-- One notification per transaction that changed rows (PostgreSQL folds identical ones), sent at
-- its commit. A statement that changed nothing (most of the poller's refreshes) sends none.
CREATE FUNCTION fleet_miner_list_changed() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF EXISTS (SELECT FROM touched) THEN
        PERFORM pg_notify('fleet_miner_list', '');
    END IF;
    RETURN NULL;
END;
$$;

CREATE TRIGGER miner_list_inserted AFTER INSERT ON miner_list
    REFERENCING NEW TABLE AS touched
    FOR EACH STATEMENT EXECUTE FUNCTION fleet_miner_list_changed();
CREATE TRIGGER miner_list_updated AFTER UPDATE ON miner_list
    REFERENCING NEW TABLE AS touched
    FOR EACH STATEMENT EXECUTE FUNCTION fleet_miner_list_changed();

CREATE FUNCTION fleet_miner_list_removed() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF EXISTS (SELECT FROM touched) THEN
        INSERT INTO miner_list_gone (worker_id) SELECT worker_id FROM touched;
        DELETE FROM miner_list_gone WHERE gone_at < now() - interval '1 hour';
        PERFORM pg_notify('fleet_miner_list', '');
    END IF;
    RETURN NULL;
END;
$$;

CREATE TRIGGER miner_list_deleted AFTER DELETE ON miner_list
    REFERENCING OLD TABLE AS touched
    FOR EACH STATEMENT EXECUTE FUNCTION fleet_miner_list_removed();

-- TRUNCATE (of miner_list, or cascading from workers) leaves no rows to compare: every gateway
-- reloads.
CREATE FUNCTION fleet_miner_list_truncated() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('fleet_miner_list', 'reload');
    RETURN NULL;
END;
$$;

CREATE TRIGGER miner_list_truncated AFTER TRUNCATE ON miner_list
    FOR EACH STATEMENT EXECUTE FUNCTION fleet_miner_list_truncated();
