-- The action-dispatcher (issue 10) carries out `commands`. What it needs beyond 0012:
--
-- * held_reason: why a due command waits instead of being sent (partition hold, a worker's
--   minimum interval, a rate limit); cleared when it is sent. A held command stays 'queued' with
--   not_before moved to when it may be tried again.
-- * 'skipped' decided at execution time (daily cap, reboot loop, no relay mapping): from queued or
--   claimed, with skip_reason.
-- * queued -> sent: the dispatcher claims and marks a command sent in one statement (one row
--   version instead of two: every version of a commands row costs an entry in each index).
-- * sent -> queued: a command whose dispatcher died after marking it sent is sent again only
--   when its action is idempotent (set_preset, start/stop, relay on/off); any other one fails
--   with the uncertainty recorded (result.uncertain = true).
-- * A statement-level trigger wakes dispatchers on every insert (LISTEN fleet_commands), so no
--   writer can forget to.
ALTER TABLE commands ADD COLUMN held_reason text;

CREATE OR REPLACE FUNCTION fleet_commands_transition() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.state = OLD.state THEN
        RETURN NEW;
    END IF;
    IF (OLD.state, NEW.state) IN (('queued', 'claimed'), ('claimed', 'sent'), ('claimed', 'queued'),
                                  ('sent', 'succeeded'), ('sent', 'failed'), ('claimed', 'failed'),
                                  ('queued', 'expired'), ('claimed', 'expired'), ('sent', 'expired'),
                                  ('queued', 'skipped'), ('claimed', 'skipped'), ('sent', 'queued'),
                                  ('queued', 'sent'))
    THEN
        RETURN NEW;
    END IF;
    RAISE EXCEPTION 'command %: state % cannot change to %', OLD.id, OLD.state, NEW.state
        USING ERRCODE = 'check_violation';
END;
$$;

-- Commands in flight whose lease may run out (a dispatcher died).
CREATE INDEX commands_inflight_idx ON commands (lease_expires_at) WHERE state IN ('claimed', 'sent');
-- Execution-time rate limits count what was actually sent, per worker and fleet-wide.
CREATE INDEX commands_sent_idx ON commands (sent_at) WHERE sent_at IS NOT NULL;
CREATE INDEX commands_worker_sent_idx ON commands (worker_id, sent_at DESC) WHERE sent_at IS NOT NULL;

CREATE FUNCTION fleet_commands_notify() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('fleet_commands', '');
    RETURN NULL;
END;
$$;

CREATE TRIGGER commands_notify AFTER INSERT ON commands
    FOR EACH STATEMENT EXECUTE FUNCTION fleet_commands_notify();
