-- The notifier (issue 12, DESIGN §1): delivers `notifications` rows over webhooks (HMAC-signed
-- JSON), MQTT (QoS 1) and e-mail (SMTP), grouped, retried, dead-lettered, never lost and never
-- delivered twice to one channel.
--
--   notifications (outbox, routed_at NULL)
--     -> routing (notifier, FOR UPDATE SKIP LOCKED): one notification_deliveries row per matching
--        (channel, recipient), UNIQUE, so however many replicas route it a fact is queued once
--     -> grouping: pending deliveries of one (channel, recipient, group_key) wait group_wait after
--        the first, then at most every group_interval; they become one notification_messages row
--        (the rendered body is stored, so a retry sends the same bytes and idempotency key)
--     -> sending (lease like commands): pending -> sending -> delivered | retrying -> ... | dead
--        every attempt recorded in notification_attempts
--
-- Channels and routes are admin configuration (API, fleetctl, dashboard); a channel's secret (the
-- webhook signing secret, the SMTP or MQTT password) is sealed at rest with secrets.key under the
-- context "notification_channel:<id>:secret" and never returned.

ALTER TABLE notifications ADD COLUMN routed_at timestamptz;
-- Notifications written before a notifier existed are history, not a backlog to send.
UPDATE notifications SET routed_at = created_at;
CREATE INDEX notifications_unrouted_idx ON notifications (id) WHERE routed_at IS NULL;

-- Every writer gets the wake-up, whether or not it remembers to send it (polling stays the
-- fallback).
CREATE FUNCTION fleet_notifications_wake() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('fleet_notifications', '');
    RETURN NULL;
END;
$$;
CREATE TRIGGER notifications_wake AFTER INSERT ON notifications
    FOR EACH STATEMENT EXECUTE FUNCTION fleet_notifications_wake();

CREATE TABLE notification_channels (
    id                 bigserial   PRIMARY KEY,
    name               text        NOT NULL UNIQUE CHECK (name ~ '^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$'),
    kind               text        NOT NULL CHECK (kind IN ('webhook', 'mqtt', 'email')),
    enabled            boolean     NOT NULL DEFAULT true,
    -- Non-secret settings, validated by the API (docs/notifications.md):
    --   webhook {url, timeout_ms}
    --   mqtt    {host, port, topic, username?, tls?, retain?}
    --   email   {smtp_url (smtp:// | smtps://), starttls, username?, from, to: [...]}
    config             jsonb       NOT NULL CHECK (jsonb_typeof(config) = 'object'),
    secret_enc         text,
    -- Optional templates (title / text); {{placeholders}} documented. Capped.
    template           jsonb       NOT NULL DEFAULT '{}'::jsonb CHECK (jsonb_typeof(template) = 'object'
                                                                     AND length(template::text) <= 16384),
    -- Grouping (Alertmanager's group_by / group_wait / group_interval / repeat_interval).
    group_by           text[]      NOT NULL DEFAULT ARRAY['event', 'site']
                       CHECK (group_by <@ ARRAY['event', 'severity', 'site', 'farm', 'worker', 'rule', 'source']),
    group_wait_ms      integer     NOT NULL DEFAULT 30000 CHECK (group_wait_ms BETWEEN 0 AND 3600000),
    group_interval_ms  integer     NOT NULL DEFAULT 300000 CHECK (group_interval_ms BETWEEN 0 AND 86400000),
    repeat_interval_ms bigint      NOT NULL DEFAULT 14400000 CHECK (repeat_interval_ms BETWEEN 60000 AND 604800000),
    max_items          integer     NOT NULL DEFAULT 20 CHECK (max_items BETWEEN 1 AND 1000),  -- listed per message
    -- Retries: exponential backoff with jitter; dead after max_attempts or max_age.
    max_attempts       integer     NOT NULL DEFAULT 8 CHECK (max_attempts BETWEEN 1 AND 100),
    max_age_ms         bigint      NOT NULL DEFAULT 86400000 CHECK (max_age_ms BETWEEN 1000 AND 2592000000),
    -- Health, written by the notifier. A channel failing for failing_after consecutive messages
    -- raises one notification (event notifier.channel_failing) until it recovers.
    consecutive_failures integer   NOT NULL DEFAULT 0 CHECK (consecutive_failures >= 0),
    failing_since      timestamptz,
    failure_notified_at timestamptz,
    last_delivery_at   timestamptz,
    last_error         text        NOT NULL DEFAULT '' CHECK (length(last_error) <= 1000),
    created_by         text        NOT NULL,
    created_at         timestamptz NOT NULL DEFAULT now(),
    updated_at         timestamptz NOT NULL DEFAULT now()
);

CREATE TRIGGER notification_channels_touch BEFORE UPDATE ON notification_channels
    FOR EACH ROW EXECUTE FUNCTION fleet_touch_updated_at();

-- Which notifications go to which channel. Every enabled route that matches sends to its channel
-- (a notification reaches a channel once however many of its routes match). An empty array or
-- NULL matches anything; events are exact names or prefixes ending in '*' ("alert.*").
CREATE TABLE notification_routes (
    id            bigserial   PRIMARY KEY,
    name          text        NOT NULL UNIQUE CHECK (name ~ '^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$'),
    channel_id    bigint      NOT NULL REFERENCES notification_channels (id) ON DELETE CASCADE,
    enabled       boolean     NOT NULL DEFAULT true,
    severities    text[]      NOT NULL DEFAULT '{}' CHECK (severities <@ ARRAY['info', 'warning', 'critical']),
    events        text[]      NOT NULL DEFAULT '{}' CHECK (cardinality(events) <= 50),
    sites         text[]      NOT NULL DEFAULT '{}' CHECK (cardinality(sites) <= 200),
    farm_ids      bigint[]    NOT NULL DEFAULT '{}' CHECK (cardinality(farm_ids) <= 200),
    -- The worker's labels must contain these (jsonb @>).
    worker_labels jsonb       NOT NULL DEFAULT '{}'::jsonb CHECK (jsonb_typeof(worker_labels) = 'object'),
    created_by    text        NOT NULL,
    created_at    timestamptz NOT NULL DEFAULT now(),
    updated_at    timestamptz NOT NULL DEFAULT now()
);

CREATE INDEX notification_routes_channel_idx ON notification_routes (channel_id);
CREATE TRIGGER notification_routes_touch BEFORE UPDATE ON notification_routes
    FOR EACH ROW EXECUTE FUNCTION fleet_touch_updated_at();

-- Seed 002's owner notifications: a user hears about their own nodes and deployments. A
-- notification's owners are payload.owners (user ids, written by the producers), the members of
-- the organisations with a deployment placed on the worker, and the user named by the worker's
-- labels.owner. Each subscription of an owner gets a delivery on its channel, addressed to
-- `address` when set (an e-mail channel's recipient for this user; ignored by other kinds).
CREATE TABLE notification_subscriptions (
    id            bigserial   PRIMARY KEY,
    user_id       bigint      NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    channel_id    bigint      NOT NULL REFERENCES notification_channels (id) ON DELETE CASCADE,
    events        text[]      NOT NULL DEFAULT '{}' CHECK (cardinality(events) <= 50),
    min_severity  text        NOT NULL DEFAULT 'info' CHECK (min_severity IN ('info', 'warning', 'critical')),
    address       text        NOT NULL DEFAULT '' CHECK (length(address) <= 320),
    enabled       boolean     NOT NULL DEFAULT true,
    created_at    timestamptz NOT NULL DEFAULT now(),
    UNIQUE (user_id, channel_id, address)
);

CREATE INDEX notification_subscriptions_channel_idx ON notification_subscriptions (channel_id);

-- One outgoing message: a group of deliveries for one (channel, recipient, group key), rendered
-- once. idempotency_key is sent with every attempt (webhook header X-Fleetward-Delivery, MQTT
-- payload field, e-mail Message-ID) so a receiver can drop the duplicate an at-least-once retry
-- may produce after a crash.
CREATE TABLE notification_messages (
    id                bigserial   PRIMARY KEY,
    channel_id        bigint      NOT NULL REFERENCES notification_channels (id) ON DELETE CASCADE,
    recipient         text        NOT NULL DEFAULT '',
    group_key         text        NOT NULL,
    kind              text        NOT NULL DEFAULT 'group' CHECK (kind IN ('group', 'repeat', 'channel_alert')),
    idempotency_key   text        NOT NULL UNIQUE,
    body              jsonb       NOT NULL,   -- what is sent: the webhook document / MQTT payload / mail parts
    notifications     integer     NOT NULL CHECK (notifications >= 0),
    state             text        NOT NULL DEFAULT 'pending'
                      CHECK (state IN ('pending', 'sending', 'retrying', 'delivered', 'dead')),
    attempts          integer     NOT NULL DEFAULT 0 CHECK (attempts >= 0),
    -- "Retry now" on a dead message sets retry_base = attempts: it gets max_attempts again.
    retry_base        integer     NOT NULL DEFAULT 0 CHECK (retry_base >= 0 AND retry_base <= attempts),
    next_attempt_at   timestamptz NOT NULL DEFAULT now(),
    lease_owner       text,
    lease_expires_at  timestamptz,
    last_status       integer,    -- HTTP status, SMTP reply code
    last_reply        text        NOT NULL DEFAULT '' CHECK (length(last_reply) <= 1000),
    last_latency_ms   double precision,
    created_at        timestamptz NOT NULL DEFAULT now(),
    delivered_at      timestamptz,
    dead_at           timestamptz,
    dead_reason       text,
    CHECK (state <> 'sending' OR (lease_owner IS NOT NULL AND lease_expires_at IS NOT NULL))
);

CREATE INDEX notification_messages_due_idx ON notification_messages (next_attempt_at)
    WHERE state IN ('pending', 'retrying', 'sending');
CREATE INDEX notification_messages_channel_idx ON notification_messages (channel_id, id DESC);
CREATE INDEX notification_messages_dead_idx ON notification_messages (dead_at DESC) WHERE state = 'dead';

-- One row per (notification, channel, recipient): the dedupe of DESIGN §3.
CREATE TABLE notification_deliveries (
    id              bigserial   PRIMARY KEY,
    notification_id bigint      NOT NULL REFERENCES notifications (id) ON DELETE CASCADE,
    channel_id      bigint      NOT NULL REFERENCES notification_channels (id) ON DELETE CASCADE,
    recipient       text        NOT NULL DEFAULT '',
    group_key       text        NOT NULL,
    -- pending: waiting for its group to be flushed; queued: in a message not yet delivered;
    -- delivered / dead: as its message; suppressed: decided not to send (channel disabled after
    -- routing, a resolved notification whose firing was never sent), with the reason.
    state           text        NOT NULL DEFAULT 'pending'
                    CHECK (state IN ('pending', 'queued', 'delivered', 'dead', 'suppressed')),
    message_id      bigint      REFERENCES notification_messages (id) ON DELETE SET NULL,
    reason          text,
    created_at      timestamptz NOT NULL DEFAULT now(),
    updated_at      timestamptz NOT NULL DEFAULT now(),
    UNIQUE (notification_id, channel_id, recipient)
);

CREATE INDEX notification_deliveries_pending_idx ON notification_deliveries (channel_id, recipient, group_key, id)
    WHERE state = 'pending';
CREATE INDEX notification_deliveries_message_idx ON notification_deliveries (message_id)
    WHERE message_id IS NOT NULL;
CREATE INDEX notification_deliveries_channel_idx ON notification_deliveries (channel_id, id DESC);

CREATE TRIGGER notification_deliveries_touch BEFORE UPDATE ON notification_deliveries
    FOR EACH ROW EXECUTE FUNCTION fleet_touch_updated_at();

-- Every attempt to send a message, with what the receiver said.
CREATE TABLE notification_attempts (
    id              bigserial   PRIMARY KEY,
    message_id      bigint      NOT NULL REFERENCES notification_messages (id) ON DELETE CASCADE,
    attempt         integer     NOT NULL CHECK (attempt >= 1),
    started_at      timestamptz NOT NULL,
    latency_ms      double precision NOT NULL CHECK (latency_ms >= 0),
    outcome         text        NOT NULL CHECK (outcome IN ('delivered', 'failed', 'uncertain')),
    status          integer,    -- HTTP status / SMTP reply code
    reply           text        NOT NULL DEFAULT '' CHECK (length(reply) <= 1000),
    error           text        NOT NULL DEFAULT '' CHECK (length(error) <= 1000),
    next_attempt_at timestamptz,
    notifier        text        NOT NULL,
    UNIQUE (message_id, attempt)
);

-- Group bookkeeping: when the group last sent (group_interval) and what (repeat_interval: an
-- unchanged firing state is sent again after it).
CREATE TABLE notification_groups (
    channel_id      bigint      NOT NULL REFERENCES notification_channels (id) ON DELETE CASCADE,
    recipient       text        NOT NULL DEFAULT '',
    group_key       text        NOT NULL,
    first_pending_at timestamptz,
    last_sent_at    timestamptz,
    last_message_id bigint,
    PRIMARY KEY (channel_id, recipient, group_key)
);
