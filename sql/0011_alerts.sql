-- Alerts (DESIGN §4): one row per episode per rule × worker, and the triggered / resolved event log
-- (seed 001's alert_events, generalised from "metric operator threshold" to any condition).
-- Written by the alert-evaluator only, in the same transaction as the commands and notifications
-- an episode causes.

CREATE TABLE alerts (
    id              bigserial   PRIMARY KEY,
    rule_id         bigint      NOT NULL REFERENCES rules (id) ON DELETE CASCADE,
    worker_id       bigint      NOT NULL REFERENCES workers (id) ON DELETE CASCADE,
    -- condition: the rule's condition held. no_data: the rule asked to be told when its metrics
    -- went stale or missing on a worker that is up.
    kind            text        NOT NULL CHECK (kind IN ('condition', 'no_data')),
    state           text        NOT NULL CHECK (state IN ('pending', 'firing', 'resolved')),
    severity        text        NOT NULL CHECK (severity IN ('info', 'warning', 'critical')),
    started_at      timestamptz NOT NULL,  -- became pending (or firing, with no `for`)
    fired_at        timestamptz,           -- NULL: never fired (cancelled while pending)
    clearing_since  timestamptz,           -- the clear condition holds since (keep_firing_for)
    resolved_at     timestamptz,
    resolution      text        CHECK (resolution IN ('cleared', 'cancelled', 'no_data', 'data_returned',
                                                      'rule_disabled', 'out_of_scope')),
    value           double precision,      -- the metric's value when it fired (simple conditions)
    resolution_value double precision,     -- ... and when it resolved
    observed        jsonb,                 -- every term of the condition when it fired
    next_step       integer     NOT NULL DEFAULT 0 CHECK (next_step >= 0),  -- escalation ladder
    last_step_at    timestamptz,
    notified_at     timestamptz,           -- the firing notification was written
    suppressed_by   text,                  -- silence or dependency that mutes it now (NULL = none)
    acknowledged_at timestamptz,
    acknowledged_by text,
    -- Bumped by the evaluator on every change it makes; its updates name the revision they read,
    -- so a concurrent writer makes the later one fail instead of double-firing. Acknowledging does
    -- not bump it.
    revision        integer     NOT NULL DEFAULT 0,
    updated_at      timestamptz NOT NULL DEFAULT now(),
    CHECK ((state = 'resolved') = (resolved_at IS NOT NULL)),
    CHECK ((state = 'resolved') = (resolution IS NOT NULL)),
    CHECK (state <> 'firing' OR fired_at IS NOT NULL)
) WITH (fillfactor = 80);

-- At most one open episode per rule × worker: two evaluators racing cannot both open one.
CREATE UNIQUE INDEX alerts_one_open_per_pair ON alerts (rule_id, worker_id) WHERE state <> 'resolved';
CREATE INDEX alerts_worker_history_idx ON alerts (worker_id, started_at DESC);
CREATE INDEX alerts_rule_history_idx ON alerts (rule_id, started_at DESC);

CREATE TRIGGER alerts_touch BEFORE UPDATE ON alerts
    FOR EACH ROW EXECUTE FUNCTION fleet_touch_updated_at();

CREATE TABLE alert_events (
    id              bigserial   PRIMARY KEY,
    alert_id        bigint      NOT NULL REFERENCES alerts (id) ON DELETE CASCADE,
    -- Copies of the episode's rule and worker for queries; their integrity follows from alert_id
    -- (alerts references both, with cascades), so they carry no foreign keys of their own: each
    -- costs a lookup per row, and a storm writes thousands of events in one cycle.
    rule_id         bigint      NOT NULL,
    worker_id       bigint      NOT NULL,
    event           text        NOT NULL CHECK (event IN ('triggered', 'resolved')),
    at              timestamptz NOT NULL,
    kind            text        NOT NULL CHECK (kind IN ('condition', 'no_data')),
    severity        text        NOT NULL CHECK (severity IN ('info', 'warning', 'critical')),
    condition       text        NOT NULL,
    -- Seed 001's columns, set when the condition is the simple form `metric operator threshold`.
    metric          text,
    operator        text        CHECK (operator IN ('>', '<', '>=', '<=', '==', '!=')),
    threshold_value double precision,
    current_value   double precision,
    resolution      text,
    -- Every term of the condition with its value, the worker's name, the rule's name.
    metadata        jsonb       NOT NULL DEFAULT '{}'::jsonb
);

-- Each episode triggers once and resolves once.
CREATE UNIQUE INDEX alert_events_once ON alert_events (alert_id, event);
CREATE INDEX alert_events_worker_idx ON alert_events (worker_id, at DESC);
-- Newest first across the fleet: ORDER BY id DESC (ids grow with time).

-- Seed 001's alert_events shape: one row per triggered event, with its resolution.
CREATE VIEW alert_event_history AS
SELECT t.id,
       t.alert_id,
       t.rule_id,
       t.worker_id        AS device_id,
       t.at               AS triggered_at,
       t.current_value,
       t.threshold_value,
       t.operator,
       t.metric,
       t.condition,
       r.id IS NOT NULL   AS is_resolved,
       r.at               AS resolved_at,
       r.current_value    AS resolution_value,
       t.metadata
  FROM alert_events t
  LEFT JOIN alert_events r ON r.alert_id = t.alert_id AND r.event = 'resolved'
 WHERE t.event = 'triggered';
