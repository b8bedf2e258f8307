-- Identity: one table for everything the fleet manages, with kind-specific detail tables added by
-- later migrations (miners, rigs, nodes). Devices (seed 001's sensor devices) are defined here.

CREATE TABLE farms (
    id             bigserial   PRIMARY KEY,
    name           text        NOT NULL UNIQUE CHECK (length(name) BETWEEN 1 AND 200),
    site           text,
    hiveos_farm_id bigint      UNIQUE,
    created_at     timestamptz NOT NULL DEFAULT now(),
    updated_at     timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE workers (
    id           bigserial   PRIMARY KEY,
    kind         text        NOT NULL CHECK (kind IN ('asic', 'rig', 'node', 'device')),
    name         text        NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
    farm_id      bigint      REFERENCES farms (id) ON DELETE SET NULL,
    site         text,
    -- NULL while the worker cannot be reached (seed 003: a miner missing from discovery is offline).
    ip           inet,
    status       text        NOT NULL DEFAULT 'pending'
                 CHECK (status IN ('pending', 'online', 'unhealthy', 'draining', 'offline',
                                   'unreachable', 'removed')),
    status_since timestamptz NOT NULL DEFAULT now(),
    last_seen_at timestamptz,
    managed      boolean     NOT NULL DEFAULT false,
    labels       jsonb       NOT NULL DEFAULT '{}'::jsonb CHECK (jsonb_typeof(labels) = 'object'),
    created_at   timestamptz NOT NULL DEFAULT now(),
    updated_at   timestamptz NOT NULL DEFAULT now()
);

CREATE INDEX workers_kind_status_idx ON workers (kind, status);
CREATE INDEX workers_farm_idx ON workers (farm_id) WHERE farm_id IS NOT NULL;
CREATE INDEX workers_site_idx ON workers (site) WHERE site IS NOT NULL;
CREATE INDEX workers_labels_idx ON workers USING gin (labels jsonb_path_ops);

-- Sensor devices that push readings (seed 001). A reading older than expected_interval * 2 (or the
-- rule's stale_after) is no data.
CREATE TABLE devices (
    worker_id         bigint      PRIMARY KEY REFERENCES workers (id) ON DELETE CASCADE,
    device_type       text        NOT NULL CHECK (length(device_type) BETWEEN 1 AND 100),
    is_active         boolean     NOT NULL DEFAULT true,
    poll_enabled      boolean     NOT NULL DEFAULT false,
    expected_interval interval    NOT NULL DEFAULT interval '60 seconds'
                                  CHECK (expected_interval > interval '0'),
    unit              text,
    config            jsonb       NOT NULL DEFAULT '{}'::jsonb
);

-- Keeps updated_at honest for every table that has one.
CREATE FUNCTION fleet_touch_updated_at() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    NEW.updated_at := now();
    RETURN NEW;
END;
$$;

CREATE TRIGGER farms_touch BEFORE UPDATE ON farms
    FOR EACH ROW EXECUTE FUNCTION fleet_touch_updated_at();
CREATE TRIGGER workers_touch BEFORE UPDATE ON workers
    FOR EACH ROW EXECUTE FUNCTION fleet_touch_updated_at();

-- status_since follows status.
CREATE FUNCTION fleet_workers_status_since() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.status IS DISTINCT FROM OLD.status THEN
        NEW.status_since := now();
    END IF;
    RETURN NEW;
END;
$$;

CREATE TRIGGER workers_status_since BEFORE UPDATE OF status ON workers
    FOR EACH ROW EXECUTE FUNCTION fleet_workers_status_since();
