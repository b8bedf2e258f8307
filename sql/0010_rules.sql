-- Rules (DESIGN §4): the metric catalogue rules are checked against, the rules themselves and the
-- silences (maintenance windows) that mute them. Written by fleetctl and the API, read by the
-- alert-evaluator every cycle.

-- Every metric a rule may name. A rule whose condition names a metric missing here is rejected when
-- it is saved (with a "did you mean" suggestion). Pollers that start writing a new metric add it here
-- in their own migration.
CREATE TABLE metric_catalogue (
    name        text        PRIMARY KEY CHECK (name ~ '^[a-z][a-z0-9_.]{0,63}$'),
    -- number: metrics_latest.value / readings.value. state: a word from `states`, stored as a JSON
    -- string in metrics_latest.json_value (e.g. miner_state "mining"); compared with == and != only.
    value_type  text        NOT NULL DEFAULT 'number' CHECK (value_type IN ('number', 'state')),
    unit        text        NOT NULL DEFAULT '' CHECK (length(unit) <= 32),
    description text        NOT NULL CHECK (length(description) BETWEEN 1 AND 500),
    -- Which kinds of worker report it; a rule scoped to another kind may not name it.
    kinds       text[]      NOT NULL CHECK (cardinality(kinds) > 0
                                            AND kinds <@ ARRAY['asic', 'rig', 'node', 'device']),
    states      text[]      CHECK ((value_type = 'state') = (states IS NOT NULL)),
    -- metrics: read from metrics_latest / readings. worker: computed from the workers row at
    -- evaluation time (never stale).
    source      text        NOT NULL DEFAULT 'metrics' CHECK (source IN ('metrics', 'worker')),
    created_at  timestamptz NOT NULL DEFAULT now()
);

INSERT INTO metric_catalogue (name, value_type, unit, description, kinds, states, source) VALUES
    -- Written by the ASIC status-poller from the firmware's /summary (one value per miner per poll).
    ('hashrate', 'number', 'TH/s', 'Current hashrate (firmware hr_realtime / instant_hashrate, in TH/s)',
        ARRAY['asic', 'rig'], NULL, 'metrics'),
    ('hashrate_nominal', 'number', 'TH/s', 'Nominal (stock) hashrate of the model or preset, in TH/s',
        ARRAY['asic'], NULL, 'metrics'),
    ('hashrate_ratio', 'number', 'ratio', 'Current hashrate divided by the nominal hashrate (1.0 = on spec)',
        ARRAY['asic'], NULL, 'metrics'),
    ('power', 'number', 'W', 'Power consumption in watts',
        ARRAY['asic', 'rig', 'node', 'device'], NULL, 'metrics'),
    ('efficiency', 'number', 'J/TH', 'Energy efficiency in joules per terahash (lower is better)',
        ARRAY['asic'], NULL, 'metrics'),
    ('chip_temp_max', 'number', '°C', 'Hottest chip temperature across all chains',
        ARRAY['asic'], NULL, 'metrics'),
    ('pcb_temp_max', 'number', '°C', 'Hottest board (PCB) temperature across all chains',
        ARRAY['asic'], NULL, 'metrics'),
    ('fan_rpm_min', 'number', 'rpm', 'Speed of the slowest fan (0 = a fan stopped or lost)',
        ARRAY['asic', 'rig'], NULL, 'metrics'),
    ('chips_red', 'number', 'chips', 'Chips graded red (failing) across all chains',
        ARRAY['asic'], NULL, 'metrics'),
    ('chips_orange', 'number', 'chips', 'Chips graded orange (degraded) across all chains',
        ARRAY['asic'], NULL, 'metrics'),
    ('chips_throttled', 'number', 'chips', 'Chips the firmware is throttling (chip telemetry)',
        ARRAY['asic'], NULL, 'metrics'),
    ('chains_failed', 'number', 'chains', 'Hash boards (chains) in state failure or disconnected',
        ARRAY['asic'], NULL, 'metrics'),
    ('hw_errors_percent', 'number', '%', 'Hardware error rate reported by the firmware',
        ARRAY['asic'], NULL, 'metrics'),
    ('miner_state', 'state', '', 'Firmware miner_state (Vnish /summary miner_status.miner_state)',
        ARRAY['asic'],
        ARRAY['mining', 'initializing', 'starting', 'auto-tuning', 'restarting', 'shutting-down',
              'stopped', 'failure'], 'metrics'),
    -- Rigs and container nodes.
    ('gpu_temp_max', 'number', '°C', 'Hottest GPU of a rig', ARRAY['rig'], NULL, 'metrics'),
    ('cpu_percent', 'number', '%', 'CPU load of a node', ARRAY['node', 'rig'], NULL, 'metrics'),
    ('memory_percent', 'number', '%', 'Memory in use on a node', ARRAY['node', 'rig'], NULL, 'metrics'),
    ('disk_percent', 'number', '%', 'Disk space in use on a node', ARRAY['node'], NULL, 'metrics'),
    ('containers', 'number', 'containers', 'Containers running on a node', ARRAY['node'], NULL, 'metrics'),
    -- Sensor devices that push readings (seed 001), and generic temperature (seed 000).
    ('temperature', 'number', '°C', 'Temperature reported by the worker or device',
        ARRAY['asic', 'rig', 'node', 'device'], NULL, 'metrics'),
    ('humidity', 'number', '%', 'Relative humidity', ARRAY['device'], NULL, 'metrics'),
    ('ph', 'number', 'pH', 'pH of a liquid (water quality sensors)', ARRAY['device'], NULL, 'metrics'),
    ('salinity', 'number', 'ppt', 'Salinity in parts per thousand', ARRAY['device'], NULL, 'metrics'),
    ('voltage', 'number', 'V', 'Voltage', ARRAY['device'], NULL, 'metrics'),
    ('current', 'number', 'A', 'Current', ARRAY['device'], NULL, 'metrics'),
    ('pressure', 'number', 'hPa', 'Pressure', ARRAY['device'], NULL, 'metrics'),
    ('level', 'number', '%', 'Fill level of a tank or reservoir', ARRAY['device'], NULL, 'metrics'),
    -- Computed from the workers row.
    ('worker_status', 'state', '', 'Status of the worker in the fleet (workers.status)',
        ARRAY['asic', 'rig', 'node', 'device'],
        ARRAY['pending', 'online', 'unhealthy', 'draining', 'offline', 'unreachable', 'removed'],
        'worker'),
    ('last_seen_age', 'number', 's', 'Seconds since the worker was last seen (workers.last_seen_at)',
        ARRAY['asic', 'rig', 'node', 'device'], NULL, 'worker');

CREATE TABLE rules (
    id               bigserial   PRIMARY KEY,
    name             text        NOT NULL UNIQUE CHECK (length(name) BETWEEN 1 AND 200),
    description      text        NOT NULL DEFAULT '' CHECK (length(description) <= 2000),
    enabled          boolean     NOT NULL DEFAULT true,
    -- The condition language (docs/rules.md). Parsed into an AST by the evaluator; never spliced
    -- into SQL or evaluated as code.
    condition        text        NOT NULL CHECK (length(condition) BETWEEN 1 AND 4096),
    -- Hysteresis: a firing episode resolves when this holds (default: when `condition` is false).
    clear_condition  text        CHECK (length(clear_condition) BETWEEN 1 AND 4096),
    -- Scope: every filter that is set must match (all NULL = every worker).
    scope_kind       text        CHECK (scope_kind IN ('asic', 'rig', 'node', 'device')),
    scope_farm_id    bigint      REFERENCES farms (id) ON DELETE CASCADE,
    scope_labels     jsonb       CHECK (jsonb_typeof(scope_labels) = 'object'),
    scope_worker_id  bigint      REFERENCES workers (id) ON DELETE CASCADE,
    for_duration     interval    NOT NULL DEFAULT '0'
                                 CHECK (for_duration BETWEEN interval '0' AND interval '7 days'),
    keep_firing_for  interval    NOT NULL DEFAULT '0'
                                 CHECK (keep_firing_for BETWEEN interval '0' AND interval '7 days'),
    -- A metric older than this is no data: never a breach (seed 001: "within 5 minutes").
    stale_after      interval    NOT NULL DEFAULT '5 minutes'
                                 CHECK (stale_after BETWEEN interval '1 second' AND interval '7 days'),
    severity         text        NOT NULL DEFAULT 'warning'
                                 CHECK (severity IN ('info', 'warning', 'critical')),
    -- ignore: no data opens nothing. alert: no data for a worker that is up opens a no-data episode.
    no_data          text        NOT NULL DEFAULT 'ignore' CHECK (no_data IN ('ignore', 'alert')),
    notify           boolean     NOT NULL DEFAULT true,
    -- Escalation ladder: [{"action": "restart_mining", "after": "0s"}, {"action": "reboot",
    -- "after": "10m"}, ...]; `after` counts from the moment the episode fired. Validated on save.
    actions          jsonb       NOT NULL DEFAULT '[]'::jsonb CHECK (jsonb_typeof(actions) = 'array'),
    created_by       text        NOT NULL DEFAULT 'unknown',
    created_at       timestamptz NOT NULL DEFAULT now(),
    updated_at       timestamptz NOT NULL DEFAULT now()
);

CREATE INDEX rules_enabled_idx ON rules (id) WHERE enabled;

CREATE TRIGGER rules_touch BEFORE UPDATE ON rules
    FOR EACH ROW EXECUTE FUNCTION fleet_touch_updated_at();

-- Maintenance windows. A silence matches a (rule, worker) pair when every matcher that is set
-- matches; while it is active, episodes are still recorded but nothing is notified or acted on.
CREATE TABLE silences (
    id          bigserial   PRIMARY KEY,
    worker_id   bigint      REFERENCES workers (id) ON DELETE CASCADE,
    farm_id     bigint      REFERENCES farms (id) ON DELETE CASCADE,
    labels      jsonb       CHECK (jsonb_typeof(labels) = 'object' AND labels <> '{}'::jsonb),
    rule_id     bigint      REFERENCES rules (id) ON DELETE CASCADE,
    starts_at   timestamptz NOT NULL DEFAULT now(),
    ends_at     timestamptz NOT NULL,
    reason      text        NOT NULL CHECK (length(reason) BETWEEN 1 AND 1000),
    created_by  text        NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now(),
    ended_by    text,
    CHECK (ends_at >= starts_at),
    CHECK (worker_id IS NOT NULL OR farm_id IS NOT NULL OR labels IS NOT NULL OR rule_id IS NOT NULL)
);

CREATE INDEX silences_ends_idx ON silences (ends_at);
