-- Status history of ASIC miners (seed 003's statuses, status_fans, chain_snapshots), written by
-- status-poller from /summary every poll. At 10,000 miners every 15 s this is ~58 million status
-- rows a day, so every table is partitioned by day and expires by dropping partitions
-- (partition_policies; status-poller sets the retention from its configuration). No foreign keys:
-- ingest is the hot path and rows expire with their partition. Units are in the column names.

CREATE SEQUENCE statuses_id_seq;

CREATE TABLE statuses (
    id                   bigint           NOT NULL DEFAULT nextval('statuses_id_seq'),
    worker_id            bigint           NOT NULL,
    observed_at          timestamptz      NOT NULL,
    miner_state          text,            -- mining|initializing|starting|auto-tuning|restarting|...
    miner_state_time_s   bigint,
    state_description    text,
    miner_type           text,            -- "Antminer S19 (Vnish 1.2.6)"
    hashrate_ths         double precision,
    hashrate_avg_ths     double precision,
    hashrate_nominal_ths double precision,
    hashrate_ratio       double precision,
    power_w              double precision,
    efficiency_jth       double precision,
    chip_temp_min        real,
    chip_temp_max        real,
    pcb_temp_min         real,
    pcb_temp_max         real,
    fan_rpm_min          integer,
    fan_duty             smallint,
    hw_errors            bigint,
    hw_errors_percent    real,
    chips_red            integer,
    chips_orange         integer,
    chips_grey           integer,
    chains_failed        smallint,
    pool_url             text,
    pool_user            text,
    pool_status          text,
    pool_accepted        bigint,
    pool_rejected        bigint,
    uptime               text,
    PRIMARY KEY (id, observed_at)
) PARTITION BY RANGE (observed_at);

ALTER SEQUENCE statuses_id_seq OWNED BY statuses.id;
CREATE INDEX statuses_worker_idx ON statuses (worker_id, observed_at DESC);

CREATE TABLE status_fans (
    status_id   bigint      NOT NULL,
    worker_id   bigint      NOT NULL,
    observed_at timestamptz NOT NULL,
    fan_id      smallint    NOT NULL,
    rpm         integer,
    max_rpm     integer,
    status      text         -- ok | lost (newer firmware)
) PARTITION BY RANGE (observed_at);

CREATE INDEX status_fans_status_idx ON status_fans (status_id);

-- One row per chain per status (from /summary). status_id is NULL for snapshots taken outside a
-- status poll (seed 003's telemetry note); chip-level telemetry lives in chip_telemetry.
CREATE TABLE chain_snapshots (
    status_id           bigint,
    worker_id           bigint      NOT NULL,
    observed_at         timestamptz NOT NULL,
    chain_id            smallint    NOT NULL,
    state               text,
    description         text,
    frequency_mhz       real,
    voltage_mv          integer,
    power_w             real,
    hashrate_ths        real,
    hashrate_ideal_ths  real,
    hashrate_percentage real,
    hw_errors           bigint,
    pcb_temp_min        real,
    pcb_temp_max        real,
    chip_temp_min       real,
    chip_temp_max       real,
    chips_red           integer,
    chips_orange        integer,
    chips_grey          integer
) PARTITION BY RANGE (observed_at);

CREATE INDEX chain_snapshots_status_idx ON chain_snapshots (status_id);
CREATE INDEX chain_snapshots_worker_idx ON chain_snapshots (worker_id, observed_at DESC);

INSERT INTO partition_policies (parent_table, premake_days, retention_days) VALUES
    ('statuses', 7, 7),
    ('status_fans', 7, 7),
    ('chain_snapshots', 7, 7);
SELECT fleet_create_daily_partitions('statuses', 1, 7);
SELECT fleet_create_daily_partitions('status_fans', 1, 7);
SELECT fleet_create_daily_partitions('chain_snapshots', 1, 7);

-- Metrics the status-poller writes beyond those the rules migration already lists.
DO $$
BEGIN
    IF to_regclass('metric_catalogue') IS NOT NULL THEN
        INSERT INTO metric_catalogue (name, value_type, unit, description, kinds, states, source)
        VALUES ('pool_rejected_percent', 'number', '%',
                'Share of the active pool''s shares that were rejected (ASIC /summary)',
                ARRAY['asic'], NULL, 'metrics')
        ON CONFLICT (name) DO NOTHING;
    END IF;
END;
$$;
