-- Relay controllers (issue 10, seed 000): Raspberry Pi relay boards and Tasmota devices on MQTT
-- that press a worker's power button or switch its mains. A controller is reached on the broker
-- the action-dispatcher is configured with; `topic` is its name on that broker:
--   driver 'fleetward': fleetward/relay/<topic>/<channel>/cmd, .../<channel>/state, .../status
--   driver 'tasmota':   cmnd/<topic>/POWER<n>, stat/<topic>/POWER<n>, tele/<topic>/LWT
-- (docs/actions.md). online/availability_at are written by the dispatcher from the controller's
-- retained status / last will; NULL until it has heard one.
CREATE TABLE relay_controllers (
    id              bigserial   PRIMARY KEY,
    name            text        NOT NULL UNIQUE CHECK (name ~ '^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$'),
    driver          text        NOT NULL CHECK (driver IN ('fleetward', 'tasmota')),
    -- No MQTT wildcards or levels: one topic segment.
    topic           text        NOT NULL CHECK (topic ~ '^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$'),
    channels        integer     NOT NULL DEFAULT 8 CHECK (channels BETWEEN 1 AND 64),
    site            text        CHECK (site IS NULL OR length(site) BETWEEN 1 AND 200),
    description     text        NOT NULL DEFAULT '' CHECK (length(description) <= 500),
    online          boolean,
    availability_at timestamptz,
    created_at      timestamptz NOT NULL DEFAULT now(),
    updated_at      timestamptz NOT NULL DEFAULT now(),
    UNIQUE (driver, topic)
);

CREATE TRIGGER relay_controllers_touch BEFORE UPDATE ON relay_controllers
    FOR EACH ROW EXECUTE FUNCTION fleet_touch_updated_at();

-- Which worker hangs on which relay channel, and how it is wired: 'power_button' (the relay is
-- wired across the front-panel power switch: a short pulse powers on, a long hold forces off) or
-- 'mains' (the relay switches the supply: off, wait, on). One worker per channel.
CREATE TABLE relay_mappings (
    worker_id     bigint      PRIMARY KEY REFERENCES workers (id) ON DELETE CASCADE,
    controller_id bigint      NOT NULL REFERENCES relay_controllers (id) ON DELETE RESTRICT,
    channel       integer     NOT NULL CHECK (channel BETWEEN 1 AND 64),
    wiring        text        NOT NULL CHECK (wiring IN ('power_button', 'mains')),
    pulse_ms      integer     NOT NULL DEFAULT 500 CHECK (pulse_ms BETWEEN 50 AND 10000),
    hold_ms       integer     NOT NULL DEFAULT 6000 CHECK (hold_ms BETWEEN 1000 AND 60000),
    off_ms        integer     NOT NULL DEFAULT 10000 CHECK (off_ms BETWEEN 1000 AND 300000),
    created_at    timestamptz NOT NULL DEFAULT now(),
    updated_at    timestamptz NOT NULL DEFAULT now(),
    UNIQUE (controller_id, channel)
);

CREATE INDEX relay_mappings_controller_idx ON relay_mappings (controller_id);

CREATE TRIGGER relay_mappings_touch BEFORE UPDATE ON relay_mappings
    FOR EACH ROW EXECUTE FUNCTION fleet_touch_updated_at();

-- A channel number must exist on its controller.
CREATE FUNCTION fleet_relay_channel_check() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    n integer;
BEGIN
    SELECT channels INTO n FROM relay_controllers WHERE id = NEW.controller_id;
    IF n IS NOT NULL AND NEW.channel > n THEN
        RAISE EXCEPTION 'relay channel % is beyond the % channels of controller %',
            NEW.channel, n, NEW.controller_id USING ERRCODE = 'check_violation';
    END IF;
    RETURN NEW;
END;
$$;

CREATE TRIGGER relay_mappings_channel BEFORE INSERT OR UPDATE ON relay_mappings
    FOR EACH ROW EXECUTE FUNCTION fleet_relay_channel_check();
