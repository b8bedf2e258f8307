-- HiveOS (issue 11, seed 000): GPU rigs and HiveOS-managed ASICs watched and commanded through
-- the HiveOS API v2 (external-apis.md §3). One `hiveos-sync` process per deployment reads every
-- account (one GET /farms and one GET /farms/{id}/workers per farm per cycle: the workers list
-- carries identity and stats together), and the action-dispatcher's `hiveos` channel sends commands.
--
-- * hiveos_accounts: an API base URL and a personal token, sealed at rest (secrets.key, context
--   hiveos_token_context(id)); never returned or logged. The request budget is per account across
--   every process that uses it: a request first reserves a slot by moving next_request_at
--   forward (see hiveos_reserve_request below), and a 429 / 403 "Too many requests" with
--   Retry-After moves blocked_until for everyone. state says how the last sync went; a failing
--   account keeps its data (marked stale), it does not mark its rigs offline.
-- * farms.hiveos_account_id: which account a HiveOS farm was read through.
-- * rigs: the HiveOS detail of a worker (kind 'rig' for GPU rigs and other platforms, 'asic' for
--   HiveOS ASICs), keyed by (account, HiveOS worker id). A worker gone from HiveOS becomes
--   workers.status 'removed' and rigs.removed_at is set; it is not deleted.

CREATE TABLE hiveos_accounts (
    id                 bigserial   PRIMARY KEY,
    name               text        NOT NULL UNIQUE CHECK (name ~ '^[A-Za-z0-9][A-Za-z0-9 _.-]{0,63}$'),
    -- http(s)://host[:port]/path, no credentials, no query (checked by the API as well).
    base_url           text        NOT NULL CHECK (base_url ~ '^https?://[^/@?#[:space:]]+(/[^?#[:space:]]*)?$'
                                                   AND length(base_url) <= 500),
    token_enc          text        NOT NULL,
    -- Last 4 characters of the token, to tell accounts apart in lists (the only part ever shown).
    token_hint         text        NOT NULL DEFAULT '' CHECK (length(token_hint) <= 8),
    enabled            boolean     NOT NULL DEFAULT true,
    -- exec is a remote shell on the rig: off unless an admin turns it on for the account.
    exec_enabled       boolean     NOT NULL DEFAULT false,
    -- Request budget: at most requests_per_minute on average, bursts up to burst.
    requests_per_minute double precision NOT NULL DEFAULT 20
                       CHECK (requests_per_minute > 0 AND requests_per_minute <= 6000),
    burst              integer     NOT NULL DEFAULT 5 CHECK (burst BETWEEN 1 AND 1000),
    next_request_at    timestamptz NOT NULL DEFAULT '-infinity',
    blocked_until      timestamptz,           -- Retry-After (or backoff) in force for every process
    consecutive_errors integer     NOT NULL DEFAULT 0 CHECK (consecutive_errors >= 0),
    -- ok: last sync read every farm; failing: it could not (state_reason says why: "token
    -- rejected (401)", "rate limited until ...", "HTTP 503 from ..."); pending: never synced.
    state              text        NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'ok', 'failing')),
    state_reason       text        NOT NULL DEFAULT '' CHECK (length(state_reason) <= 1000),
    state_since        timestamptz NOT NULL DEFAULT now(),
    last_sync_at       timestamptz,           -- last sync that read every farm
    last_attempt_at    timestamptz,
    farms              integer     NOT NULL DEFAULT 0,
    workers            integer     NOT NULL DEFAULT 0,
    requests_total     bigint      NOT NULL DEFAULT 0,
    created_by         text        NOT NULL,
    created_at         timestamptz NOT NULL DEFAULT now(),
    updated_at         timestamptz NOT NULL DEFAULT now()
);

CREATE TRIGGER hiveos_accounts_touch BEFORE UPDATE ON hiveos_accounts
    FOR EACH ROW EXECUTE FUNCTION fleet_touch_updated_at();

-- Reserves the next request slot of an account's budget (token bucket kept as one timestamp,
-- "GCRA"): returns how long the caller must wait before sending (0 = now). Each call moves
-- next_request_at forward by one emission interval, so concurrent processes queue behind each
-- other instead of all sending at once. A blocked account (Retry-After) waits until blocked_until.
CREATE FUNCTION hiveos_reserve_request(p_account bigint) RETURNS interval
LANGUAGE plpgsql AS $$
DECLARE
    a         hiveos_accounts%ROWTYPE;
    emission  interval;
    start_at  timestamptz;
    tat       timestamptz;
BEGIN
    SELECT * INTO a FROM hiveos_accounts WHERE id = p_account FOR UPDATE;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'hiveos account % does not exist', p_account USING ERRCODE = 'no_data_found';
    END IF;
    emission := (60.0 / a.requests_per_minute) * interval '1 second';
    -- GCRA: tat is when the bucket would be empty again; a request may go up to burst - 1
    -- emission intervals before it.
    tat := greatest(a.next_request_at, clock_timestamp());
    start_at := greatest(tat - emission * (a.burst - 1), clock_timestamp(),
                         coalesce(a.blocked_until, '-infinity'));
    UPDATE hiveos_accounts
       SET next_request_at = greatest(tat, start_at) + emission,
           requests_total = requests_total + 1,
           last_attempt_at = clock_timestamp()
     WHERE id = p_account;
    RETURN greatest(start_at - clock_timestamp(), interval '0');
END;
$$;

ALTER TABLE farms
    ADD COLUMN hiveos_account_id bigint REFERENCES hiveos_accounts (id) ON DELETE SET NULL,
    ADD COLUMN hiveos_synced_at  timestamptz;
CREATE INDEX farms_hiveos_account_idx ON farms (hiveos_account_id) WHERE hiveos_account_id IS NOT NULL;

CREATE TABLE rigs (
    worker_id        bigint      PRIMARY KEY REFERENCES workers (id) ON DELETE CASCADE,
    account_id       bigint      NOT NULL REFERENCES hiveos_accounts (id) ON DELETE CASCADE,
    hiveos_worker_id bigint      NOT NULL,
    hiveos_farm_id   bigint      NOT NULL,
    platform         integer     NOT NULL DEFAULT 1,   -- 1 GPU rig, 2 ASIC, 3 device
    units_count      integer,
    description      text        NOT NULL DEFAULT '',
    ip_addresses     text[]      NOT NULL DEFAULT '{}',
    remote_ip        text,
    versions         jsonb       NOT NULL DEFAULT '{}'::jsonb,   -- hive, kernel, nvidia_driver, amd_driver, ...
    -- Inventory and last stats, as mapped (libs/hiveos model.h): gpu_info + gpu_stats merged per
    -- bus number, or asic_info + boards; the dashboard's worker page shows them.
    gpus             jsonb       NOT NULL DEFAULT '[]'::jsonb CHECK (jsonb_typeof(gpus) = 'array'),
    boards           jsonb       NOT NULL DEFAULT '[]'::jsonb CHECK (jsonb_typeof(boards) = 'array'),
    hardware         jsonb       NOT NULL DEFAULT '{}'::jsonb,   -- asic_info, hardware_stats, gpu_summary
    watchdog         jsonb       NOT NULL DEFAULT '{}'::jsonb,
    hashrates        jsonb       NOT NULL DEFAULT '[]'::jsonb,   -- per algorithm, TH/s, with shares
    problems         text[]      NOT NULL DEFAULT '{}',
    online           boolean,                                    -- HiveOS stats.online as reported
    stats_time       timestamptz,                                -- HiveOS stats.stats_time
    boot_time        timestamptz,
    miner_start_time timestamptz,
    -- true when the last sync could not read this rig's farm (account failing): the values above
    -- are the last known ones.
    stale            boolean     NOT NULL DEFAULT false,
    synced_at        timestamptz NOT NULL DEFAULT now(),
    removed_at       timestamptz,
    UNIQUE (account_id, hiveos_worker_id)
);

CREATE INDEX rigs_farm_idx ON rigs (account_id, hiveos_farm_id);

-- Metrics a rig reports that no ASIC does (the shared ones - temperature, hashrate, power,
-- gpu_temp_max, fan_rpm_min - are already in the catalogue).
INSERT INTO metric_catalogue (name, value_type, unit, description, kinds, states, source) VALUES
    ('gpus_online', 'number', 'GPUs', 'GPUs working on a HiveOS rig (stats.gpus_online)',
        ARRAY['rig'], NULL, 'metrics'),
    ('gpus_offline', 'number', 'GPUs', 'GPUs lost on a HiveOS rig (stats.gpus_offline)',
        ARRAY['rig'], NULL, 'metrics'),
    ('gpus_overheated', 'number', 'GPUs', 'GPUs HiveOS reports overheated (stats.gpus_overheated)',
        ARRAY['rig'], NULL, 'metrics'),
    ('boards_offline', 'number', 'boards', 'Hash boards lost on a HiveOS ASIC (stats.boards_offline)',
        ARRAY['rig', 'asic'], NULL, 'metrics'),
    ('problems', 'number', 'problems', 'Number of problems HiveOS reports (stats.problems: overheat, '
        'overload, low_asr, no_hashrate, ...); the list is in the reading''s json_value',
        ARRAY['rig', 'asic'], NULL, 'metrics'),
    ('fan_percent_max', 'number', '%', 'Fastest fan of a rig, in percent of full speed',
        ARRAY['rig'], NULL, 'metrics'),
    ('shares_accepted', 'number', 'shares', 'Accepted shares (sum over the rig''s miners)',
        ARRAY['rig'], NULL, 'metrics'),
    ('shares_rejected', 'number', 'shares', 'Rejected shares (sum over the rig''s miners)',
        ARRAY['rig'], NULL, 'metrics'),
    ('stats_age', 'number', 's', 'Seconds between HiveOS stats_time and the sync that read it',
        ARRAY['rig'], NULL, 'metrics')
ON CONFLICT (name) DO NOTHING;
