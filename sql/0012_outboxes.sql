-- Outboxes (DESIGN §3): side effects are rows written in the same transaction as the state change
-- that causes them; other processes carry them out (action-dispatcher, notifier). Writers send
-- NOTIFY fleet_commands / fleet_notifications last in the transaction as a wake-up hint; consumers
-- poll as well.

-- Things to tell people about. Delivery per channel (webhook, MQTT, e-mail) is the notifier's and
-- gets its own table; this is the durable record that something must be said.
CREATE TABLE notifications (
    id          bigserial   PRIMARY KEY,
    created_at  timestamptz NOT NULL DEFAULT now(),
    source      text        NOT NULL CHECK (length(source) BETWEEN 1 AND 100),  -- writing service
    event       text        NOT NULL CHECK (event ~ '^[a-z][a-z0-9_.]{0,63}$'),  -- alert.firing, ...
    severity    text        NOT NULL CHECK (severity IN ('info', 'warning', 'critical')),
    title       text        NOT NULL CHECK (length(title) BETWEEN 1 AND 500),
    body        text        NOT NULL DEFAULT '',
    -- What it is about. A notification is a record of something said: it keeps the ids of a
    -- worker or rule deleted since (no foreign keys, which would also cost a lookup per row in an
    -- alert storm); the alert it belongs to is referenced so deleting history unlinks it.
    worker_id   bigint,
    rule_id     bigint,
    alert_id    bigint      REFERENCES alerts (id) ON DELETE SET NULL,
    payload     jsonb       NOT NULL DEFAULT '{}'::jsonb,
    -- The same fact is written once however often and by however many replicas it is decided
    -- (e.g. alert:17:firing).
    dedupe_key  text        NOT NULL UNIQUE
);

-- Also serves the ON DELETE SET NULL of alert_id. Oldest first for consumers: ORDER BY id.
CREATE INDEX notifications_alert_idx ON notifications (alert_id) WHERE alert_id IS NOT NULL;

-- Hardware and firmware actions to carry out. Written by the alert-evaluator (origin rule), the API
-- (origin user) and the migration planner; carried out by the action-dispatcher, which claims a
-- batch (FOR UPDATE SKIP LOCKED, lease_expires_at), sends it and records the result.
--
--   queued -> claimed -> sent -> succeeded | failed
--   claimed -> queued (lease expired or transient failure, attempts < max_attempts)
--   queued | claimed | sent -> expired (expires_at passed before it was done)
--   skipped: decided but not carried out (cooldown, daily cap, fleet rate limit, unsupported);
--            written for the record with skip_reason and never dispatched.
CREATE TABLE commands (
    id               bigserial   PRIMARY KEY,
    worker_id        bigint      NOT NULL REFERENCES workers (id) ON DELETE CASCADE,
    action           text        NOT NULL CHECK (action ~ '^[a-z][a-z0-9_]{0,63}$'),
    params           jsonb       NOT NULL DEFAULT '{}'::jsonb CHECK (jsonb_typeof(params) = 'object'),
    -- How it is carried out: firmware HTTP API, HiveOS API, the relay controller over MQTT, the
    -- node agent. NULL only for a skipped command that no channel supports.
    channel          text        CHECK (channel IN ('firmware', 'hiveos', 'relay', 'agent')),
    origin           text        NOT NULL CHECK (origin IN ('rule', 'user', 'planner', 'system')),
    rule_id          bigint      REFERENCES rules (id) ON DELETE SET NULL,
    alert_id         bigint      REFERENCES alerts (id) ON DELETE SET NULL,
    step             integer     CHECK (step >= 0),  -- escalation step of the rule
    requested_by     text        NOT NULL,           -- user, API key or process instance
    -- Written once per intent: alert:<alert id>:step:<n> for rules; the API's Idempotency-Key for
    -- users. A second insert with the same key fails instead of acting twice.
    idempotency_key  text        NOT NULL UNIQUE CHECK (length(idempotency_key) BETWEEN 1 AND 200),
    state            text        NOT NULL DEFAULT 'queued'
                     CHECK (state IN ('queued', 'claimed', 'sent', 'succeeded', 'failed', 'expired',
                                      'skipped')),
    skip_reason      text,
    attempts         integer     NOT NULL DEFAULT 0 CHECK (attempts >= 0),
    max_attempts     integer     NOT NULL DEFAULT 3 CHECK (max_attempts BETWEEN 1 AND 100),
    created_at       timestamptz NOT NULL DEFAULT now(),
    not_before       timestamptz NOT NULL DEFAULT now(),
    expires_at       timestamptz NOT NULL DEFAULT now() + interval '30 minutes',
    claimed_by       text,
    claimed_at       timestamptz,
    lease_expires_at timestamptz,
    sent_at          timestamptz,
    finished_at      timestamptz,
    result           jsonb,
    last_error       text,
    updated_at       timestamptz NOT NULL DEFAULT now(),
    CHECK ((state = 'skipped') = (skip_reason IS NOT NULL)),
    CHECK (channel IS NOT NULL OR state = 'skipped'),
    CHECK (state <> 'claimed' OR (claimed_by IS NOT NULL AND lease_expires_at IS NOT NULL))
);

-- The dispatcher's queue: what is ready to claim or whose lease ran out.
CREATE INDEX commands_ready_idx ON commands (not_before) WHERE state IN ('queued', 'claimed');
-- Rate limits: a worker's recent actions, and the fleet's.
CREATE INDEX commands_worker_recent_idx ON commands (worker_id, created_at DESC);
CREATE INDEX commands_created_idx ON commands (created_at);
-- Serves the ON DELETE SET NULL of alert_id (deleting a rule deletes its episodes).
CREATE INDEX commands_alert_idx ON commands (alert_id) WHERE alert_id IS NOT NULL;

CREATE TRIGGER commands_touch BEFORE UPDATE ON commands
    FOR EACH ROW EXECUTE FUNCTION fleet_touch_updated_at();

-- Only the transitions drawn above are allowed, so a bug in one consumer cannot resurrect a
-- finished command or skip the claim.
CREATE FUNCTION fleet_commands_transition() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.state = OLD.state THEN
        RETURN NEW;
    END IF;
    IF (OLD.state, NEW.state) IN (('queued', 'claimed'), ('claimed', 'sent'), ('claimed', 'queued'),
                                  ('sent', 'succeeded'), ('sent', 'failed'), ('claimed', 'failed'),
                                  ('queued', 'expired'), ('claimed', 'expired'), ('sent', 'expired'))
    THEN
        RETURN NEW;
    END IF;
    RAISE EXCEPTION 'command %: state % cannot change to %', OLD.id, OLD.state, NEW.state
        USING ERRCODE = 'check_violation';
END;
$$;

CREATE TRIGGER commands_transition BEFORE UPDATE OF state ON commands
    FOR EACH ROW EXECUTE FUNCTION fleet_commands_transition();
