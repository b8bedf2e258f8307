-- Container host nodes (issue 13, seed 002): registration tokens, the nodes detail table with each
-- node's credential and last heartbeat, the status history of every worker, and partition holds.
--
-- * registration_tokens: made by an admin, handed to the install script. Random, stored as a
--   SHA-256 hash, expiring, usable max_uses times, revocable. A registration spends one use in the
--   same transaction that creates the node.
-- * nodes: one row per container host (workers.kind = 'node'). The node credential
--   ("fwn_<worker id>_<secret>") is stored as a SHA-256 hash; rotation keeps the previous hash
--   valid for a short grace so an agent that crashed before saving the new one is not locked out.
--   Revocation is immediate (credential_revoked_at) and sends NOTIFY fleet_node_credentials so
--   every gateway replica drops its cached verification.
-- * Heartbeat bookkeeping is written by the gateway's ingest (group-committed): the last load,
--   a run of consecutive heartbeats over a resource limit (over_limit_streak), since when the node
--   has heartbeated without a gap (streak_since: recovery holds) and since when it has been under
--   every limit again (healthy_since).
-- * worker_status_history: every change of workers.status, whoever makes it, written by a trigger
--   from workers.status_reason (so no writer can forget it).
-- * site_holds: heartbeat-monitor's partition protection (DESIGN §6). While a row has
--   cleared_at NULL, hardware actions and migrations for that site are held.

CREATE TABLE registration_tokens (
    id           bigserial   PRIMARY KEY,
    token_id     text        NOT NULL UNIQUE CHECK (token_id ~ '^[A-Za-z0-9]{12}$'),  -- shown in lists
    token_hash   text        NOT NULL UNIQUE CHECK (token_hash ~ '^[0-9a-f]{64}$'),
    description  text        NOT NULL DEFAULT '' CHECK (length(description) <= 500),
    -- Applied to the nodes registered with it.
    site         text        CHECK (site IS NULL OR length(site) BETWEEN 1 AND 200),
    pool         text        NOT NULL DEFAULT 'default' CHECK (pool ~ '^[a-z0-9][a-z0-9_.-]{0,62}$'),
    labels       jsonb       NOT NULL DEFAULT '{}'::jsonb CHECK (jsonb_typeof(labels) = 'object'),
    max_uses     integer     NOT NULL DEFAULT 1 CHECK (max_uses BETWEEN 1 AND 100000),
    uses         integer     NOT NULL DEFAULT 0 CHECK (uses >= 0 AND uses <= max_uses),
    expires_at   timestamptz NOT NULL,
    revoked_at   timestamptz,
    created_by   text        NOT NULL,
    created_at   timestamptz NOT NULL DEFAULT now(),
    last_used_at timestamptz
);

CREATE TABLE nodes (
    worker_id              bigint      PRIMARY KEY REFERENCES workers (id) ON DELETE CASCADE,
    hostname               text        NOT NULL CHECK (length(hostname) BETWEEN 1 AND 253),
    -- /etc/machine-id when the agent has one: a host that registers again (reinstall) is the same
    -- node, not a second one.
    machine_id             text        UNIQUE CHECK (machine_id IS NULL OR machine_id ~ '^[0-9a-f]{32}$'),
    addresses              inet[]      NOT NULL DEFAULT '{}',
    pool                   text        NOT NULL DEFAULT 'default' CHECK (pool ~ '^[a-z0-9][a-z0-9_.-]{0,62}$'),
    -- Capacity.
    cpu_cores              integer     NOT NULL CHECK (cpu_cores BETWEEN 1 AND 100000),
    memory_mb              bigint      NOT NULL CHECK (memory_mb BETWEEN 1 AND 1000000000),
    disk_gb                double precision NOT NULL CHECK (disk_gb >= 0 AND disk_gb <= 1e9),
    -- Host facts.
    os                     text        NOT NULL DEFAULT '' CHECK (length(os) <= 200),
    kernel                 text        NOT NULL DEFAULT '' CHECK (length(kernel) <= 200),
    engine                 text        NOT NULL DEFAULT '' CHECK (length(engine) <= 100),   -- Docker | Podman
    engine_version         text        NOT NULL DEFAULT '' CHECK (length(engine_version) <= 100),
    agent_version          text        NOT NULL DEFAULT '' CHECK (length(agent_version) <= 100),
    -- Credential.
    credential_hash        text        NOT NULL CHECK (credential_hash ~ '^[0-9a-f]{64}$'),
    previous_credential_hash text      CHECK (previous_credential_hash ~ '^[0-9a-f]{64}$'),
    previous_valid_until   timestamptz,
    credential_rotated_at  timestamptz NOT NULL DEFAULT now(),
    credential_revoked_at  timestamptz,
    registration_token_id  bigint      REFERENCES registration_tokens (id) ON DELETE SET NULL,
    registered_at          timestamptz NOT NULL DEFAULT now(),
    -- Last heartbeat (server time of receipt; the agent's own clock is kept for skew diagnosis).
    last_heartbeat_at      timestamptz,
    agent_sent_at          timestamptz,
    heartbeat_seq          bigint,
    heartbeats             bigint      NOT NULL DEFAULT 0,
    cpu_percent            real        CHECK (cpu_percent BETWEEN 0 AND 100),
    memory_percent         real        CHECK (memory_percent BETWEEN 0 AND 100),
    disk_percent           real        CHECK (disk_percent BETWEEN 0 AND 100),
    containers             integer     CHECK (containers >= 0),
    containers_running     integer     CHECK (containers_running >= 0),
    -- The agent's container list from its last heartbeat (capped by the gateway).
    container_list         jsonb       NOT NULL DEFAULT '[]'::jsonb CHECK (jsonb_typeof(container_list) = 'array'),
    over_limit_streak      integer     NOT NULL DEFAULT 0 CHECK (over_limit_streak >= 0),
    over_limit             text[]      NOT NULL DEFAULT '{}',  -- which limits the last heartbeat broke
    healthy_since          timestamptz,
    streak_since           timestamptz,
    drain_requested_at     timestamptz,
    drain_requested_by     text
);

CREATE INDEX nodes_heartbeat_idx ON nodes (last_heartbeat_at);
CREATE INDEX nodes_pool_idx ON nodes (pool);

-- Why the worker has its current status; the history trigger copies it.
ALTER TABLE workers ADD COLUMN status_reason text CHECK (length(status_reason) <= 1000);

CREATE TABLE worker_status_history (
    id          bigserial   PRIMARY KEY,
    worker_id   bigint      NOT NULL REFERENCES workers (id) ON DELETE CASCADE,
    from_status text        NOT NULL,
    to_status   text        NOT NULL,
    reason      text        NOT NULL,
    at          timestamptz NOT NULL DEFAULT now(),
    -- Who changed it: the session's application_name (each binary sets its service name).
    changed_by  text        NOT NULL DEFAULT ''
);

CREATE INDEX worker_status_history_worker_idx ON worker_status_history (worker_id, at DESC);
CREATE INDEX worker_status_history_at_idx ON worker_status_history (at);

CREATE FUNCTION fleet_workers_status_history() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.status IS DISTINCT FROM OLD.status THEN
        INSERT INTO worker_status_history (worker_id, from_status, to_status, reason, changed_by)
        VALUES (NEW.id, OLD.status, NEW.status,
                coalesce(NULLIF(NEW.status_reason, ''), 'no reason given'),
                coalesce(current_setting('application_name', true), ''));
    END IF;
    RETURN NEW;
END;
$$;

CREATE TRIGGER workers_status_history AFTER UPDATE OF status ON workers
    FOR EACH ROW EXECUTE FUNCTION fleet_workers_status_history();

-- A status change that does not say why must not carry the previous change's reason into the
-- history: a writer that sets status without status_reason gets "no reason given".
CREATE FUNCTION fleet_workers_status_reason() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.status IS DISTINCT FROM OLD.status
       AND NEW.status_reason IS NOT DISTINCT FROM OLD.status_reason THEN
        NEW.status_reason := NULL;
    END IF;
    RETURN NEW;
END;
$$;

CREATE TRIGGER workers_status_reason BEFORE UPDATE OF status ON workers
    FOR EACH ROW EXECUTE FUNCTION fleet_workers_status_reason();

-- Partition protection (DESIGN §6): one open row per site held by heartbeat-monitor.
CREATE TABLE site_holds (
    id         bigserial   PRIMARY KEY,
    site       text        NOT NULL,  -- '' for workers without a site
    reason     text        NOT NULL,
    silent     integer     NOT NULL CHECK (silent >= 0),
    total      integer     NOT NULL CHECK (total >= 0),
    held_at    timestamptz NOT NULL DEFAULT now(),
    cleared_at timestamptz,
    held_by    text        NOT NULL
);

CREATE UNIQUE INDEX site_holds_open_idx ON site_holds (site) WHERE cleared_at IS NULL;

-- Revoking a credential wakes every gateway replica (their cache of verified credentials).
CREATE FUNCTION fleet_nodes_credential_notify() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.credential_revoked_at IS DISTINCT FROM OLD.credential_revoked_at
       OR NEW.credential_hash IS DISTINCT FROM OLD.credential_hash THEN
        PERFORM pg_notify('fleet_node_credentials', NEW.worker_id::text);
    END IF;
    RETURN NEW;
END;
$$;

CREATE TRIGGER nodes_credential_notify AFTER UPDATE OF credential_revoked_at, credential_hash ON nodes
    FOR EACH ROW EXECUTE FUNCTION fleet_nodes_credential_notify();

INSERT INTO metric_catalogue (name, value_type, unit, description, kinds, states, source) VALUES
    ('containers_running', 'number', 'containers', 'Containers in the running state on a node',
        ARRAY['node'], NULL, 'metrics');
