-- Platform tables: the processes of the fleet and leader leases.
-- (schema_migrations itself is created by the migrator before the first migration runs.)

-- One row per running worker process, refreshed every cycle (DESIGN §2). `fleetctl status` and the
-- dashboard read it; rows whose heartbeat is older than a few intervals are shown as stale.
CREATE TABLE service_instances (
    instance_id          text        PRIMARY KEY,
    service              text        NOT NULL,
    host                 text        NOT NULL,
    pid                  integer     NOT NULL,
    version              text        NOT NULL,
    mode                 text        NOT NULL CHECK (mode IN ('loop', 'once', 'dry-run')),
    state                text        NOT NULL CHECK (state IN ('starting', 'running', 'stopping',
                                                               'stopped', 'failed')),
    started_at           timestamptz NOT NULL DEFAULT now(),
    heartbeat_at         timestamptz NOT NULL DEFAULT now(),
    interval_ms          integer     NOT NULL CHECK (interval_ms > 0),
    health_port          integer,
    leader               boolean,
    cycles               bigint      NOT NULL DEFAULT 0,
    cycle_errors         bigint      NOT NULL DEFAULT 0,
    consecutive_failures integer     NOT NULL DEFAULT 0,
    items_processed      bigint      NOT NULL DEFAULT 0,
    last_cycle_at        timestamptz,
    last_cycle_ms        double precision,
    last_success_at      timestamptz,
    last_error           text,
    last_error_at        timestamptz,
    stats                jsonb       NOT NULL DEFAULT '{}'::jsonb,
    stopped_at           timestamptz
) WITH (fillfactor = 70);  -- updated every cycle: leave room for HOT updates

CREATE INDEX service_instances_service_idx ON service_instances (service, heartbeat_at DESC);

-- Leader leases: work that must happen once in the cluster is done by the holder of a lease row
-- (renewed each cycle, taken over after expires_at). epoch grows each time the holder changes.
CREATE TABLE leases (
    name        text        PRIMARY KEY,
    holder      text        NOT NULL,
    epoch       bigint      NOT NULL DEFAULT 1,
    acquired_at timestamptz NOT NULL DEFAULT now(),
    renewed_at  timestamptz NOT NULL DEFAULT now(),
    expires_at  timestamptz NOT NULL
);
