-- ASIC miners (seed 003): the model catalogue, the asic detail of workers, and manual rescan
-- requests. Written by discovery-worker (identity, models, presets, API keys), status-poller and
-- telemetry-worker (poll bookkeeping), and the API (managed flag, unlock password, max_preset,
-- rescan requests).

-- One row per firmware model alias (/model: "s19jpro" -> "Antminer S19j Pro").
CREATE TABLE models (
    alias              text        PRIMARY KEY CHECK (alias ~ '^[a-z0-9][a-z0-9 ._+-]{0,63}$'),
    full_name          text        NOT NULL CHECK (length(full_name) BETWEEN 1 AND 200),
    algorithm          text,
    series             text,
    hr_measure         text        CHECK (hr_measure IN ('GH/s', 'MH/s')),
    chips_per_chain    integer     CHECK (chips_per_chain > 0),
    num_chains         integer     CHECK (num_chains > 0),
    -- /autotune/presets, as [{name, pretty, tuned, modded_psu_required, power_w, hashrate_ths}].
    presets            jsonb       NOT NULL DEFAULT '[]'::jsonb CHECK (jsonb_typeof(presets) = 'array'),
    presets_updated_at timestamptz,
    -- User-set upper preset. Seed 003: only miners whose model has one are polled.
    max_preset         text        CHECK (max_preset IS NULL OR length(max_preset) BETWEEN 1 AND 64),
    created_at         timestamptz NOT NULL DEFAULT now(),
    updated_at         timestamptz NOT NULL DEFAULT now()
);

CREATE TRIGGER models_touch BEFORE UPDATE ON models
    FOR EACH ROW EXECUTE FUNCTION fleet_touch_updated_at();

-- The asic detail of a worker. The MAC is the stable identity (an IP changes with DHCP); the
-- worker's ip is NULL while discovery does not see the miner.
CREATE TABLE miners (
    worker_id             bigint      PRIMARY KEY REFERENCES workers (id) ON DELETE CASCADE,
    mac                   macaddr     NOT NULL UNIQUE,  -- prints lower-case: fe:07:26:3c:be:1b
    model_alias           text        REFERENCES models (alias) ON UPDATE CASCADE ON DELETE SET NULL,
    miner_name            text,       -- /info "miner": "Antminer S19j Pro"
    hostname              text,
    serial                text,
    fw_name               text,
    fw_version            text,
    hr_measure            text        NOT NULL DEFAULT 'GH/s' CHECK (hr_measure IN ('GH/s', 'MH/s')),
    platform              text,       -- aml|bb|cv|stm|xil
    port                  integer     NOT NULL DEFAULT 80 CHECK (port BETWEEN 1 AND 65535),

    -- Secrets, sealed with FLEET_SECRET_KEY (libsodium secretbox, "v1:" + base64). Never logged.
    api_key_enc           text,
    -- missing: none yet; active: accepted at the last use; rejected: a 401 (re-provision).
    api_key_state         text        NOT NULL DEFAULT 'missing'
                                      CHECK (api_key_state IN ('missing', 'active', 'rejected')),
    api_key_updated_at    timestamptz,
    unlock_pass_enc       text,       -- NULL: the configured default (Vnish "admin")
    provision_failures    integer     NOT NULL DEFAULT 0,
    provision_after       timestamptz,  -- no provisioning attempt before this (backoff)
    provision_error       text,

    -- status-poller bookkeeping (seed 003 §3; per-miner backoff; replicas claim with a lease).
    latest_status_id      bigint,     -- statuses.id; no foreign key: statuses is partitioned and expires
    last_status_at        timestamptz,
    consecutive_failures  integer     NOT NULL DEFAULT 0,
    next_poll_at          timestamptz NOT NULL DEFAULT now(),
    poll_lease_owner      text,
    poll_lease_until      timestamptz,
    last_poll_error       text,
    last_poll_error_at    timestamptz,

    -- telemetry-worker bookkeeping (the same scheme, its own columns).
    telemetry_failures    integer     NOT NULL DEFAULT 0,
    next_telemetry_at     timestamptz NOT NULL DEFAULT now(),
    telemetry_lease_owner text,
    telemetry_lease_until timestamptz,
    last_telemetry_at     timestamptz,
    last_telemetry_error  text,

    first_seen_at         timestamptz NOT NULL DEFAULT now(),
    last_discovered_at    timestamptz
) WITH (fillfactor = 70);  -- bookkeeping is updated every poll: leave room for HOT updates

CREATE INDEX miners_model_idx ON miners (model_alias);
CREATE INDEX miners_next_poll_idx ON miners (next_poll_at);
CREATE INDEX miners_next_telemetry_idx ON miners (next_telemetry_at);
CREATE INDEX miners_key_state_idx ON miners (api_key_state) WHERE api_key_state <> 'active';

-- Manual rescans (seed 003 §4: POST /api/miners/{id}/rescan). The API inserts a row;
-- discovery-worker handles every open one at its next cycle and records the outcome.
--   worker_id set: probe that miner now (its last IP), refresh its model and presets, verify its
--                  API key (re-provision when rejected) and clear its poll backoff.
--   target set:    probe these addresses too, even outside the configured networks (at most a /20).
--   neither:       refresh models, presets and keys of every miner seen this cycle.
CREATE TABLE miner_rescan_requests (
    id           bigserial   PRIMARY KEY,
    worker_id    bigint      REFERENCES workers (id) ON DELETE CASCADE,
    target       cidr        CHECK (target IS NULL OR (family(target) = 4 AND masklen(target) >= 20)),
    requested_by text        NOT NULL DEFAULT 'api' CHECK (length(requested_by) BETWEEN 1 AND 200),
    requested_at timestamptz NOT NULL DEFAULT now(),
    handled_at   timestamptz,
    handled_by   text,
    outcome      text
);

CREATE INDEX miner_rescan_requests_open_idx ON miner_rescan_requests (requested_at)
    WHERE handled_at IS NULL;
