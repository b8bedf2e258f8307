-- Chip telemetry from /chains (telemetry-worker, every 60 s). DESIGN §5: 10,000 miners x 3 chains x
-- 126 chips is 3.8 million chip samples a minute, so there is one row per chain snapshot and the
-- per-chip values of a chain are packed vectors (position i = the i-th chip the firmware listed):
--   hr       chip hashrate in the miner's hr_measure (GH/s on SHA-256), rounded
--   temp_dc  chip temperature in tenths of a degree Celsius
--   freq_mhz, volt_mv, errs   per-chip frequency, voltage and error counter
-- A packed vector is  width:uint8 | base:int32 little-endian | n x width-byte little-endian
-- unsigned offsets from base, width in {0,1,2,4}: the smallest that holds the spread of the
-- chain's values (width 0: every chip has the value `base`, so a uniform frequency costs 5 bytes);
-- the all-ones offset is NULL (a value the firmware did not send). Plain smallint arrays were
-- measured at 8.4 bytes per chip sample against 84 for a row per chip (10x); packed vectors at
-- ~4-5 (docs/benchmarks.md). Rare things are sparse 1-based positions: red_pos, orange_pos,
-- throttled_pos (grey, unthrottled chips are not listed). fleet_unpack() reads one value and the
-- view chip_samples unnests a row per chip for ad-hoc queries.
CREATE TABLE chip_telemetry (
    worker_id       bigint      NOT NULL,
    observed_at     timestamptz NOT NULL,
    chain_id        smallint    NOT NULL,
    state           text,       -- initializing|mining|stopped|failure|disconnected|disabled|unknown
    failure_message text,
    hr_realtime     real,       -- chain totals, in hr_measure units
    hr_nominal      real,
    chain_freq_mhz  real,
    chip_count      smallint    NOT NULL CHECK (chip_count >= 0),
    chip_id_first   smallint,   -- chips are chip_id_first .. chip_id_first + chip_count - 1 ...
    chip_ids        smallint[], -- ... unless their ids are not consecutive: then listed here
    hr              bytea,
    temp_dc         bytea,
    freq_mhz        bytea,
    volt_mv         bytea,
    errs            bytea,
    red_pos         smallint[],
    orange_pos      smallint[],
    throttled_pos   smallint[]
) PARTITION BY RANGE (observed_at);

CREATE INDEX chip_telemetry_worker_idx ON chip_telemetry (worker_id, observed_at DESC);

INSERT INTO partition_policies (parent_table, premake_days, retention_days)
    VALUES ('chip_telemetry', 7, 7);
SELECT fleet_create_daily_partitions('chip_telemetry', 1, 7);

-- Value `pos` (1-based) of a packed vector; NULL for a missing value or a position out of range
-- (width 0 stores no length: every position reads its one value).
CREATE FUNCTION fleet_unpack(packed bytea, pos integer) RETURNS bigint
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS $$
    -- (PostgreSQL gives | << # one precedence, left to right: every shift is parenthesised.)
    SELECT CASE
             WHEN length(packed) < 5 OR pos < 1 THEN NULL
             WHEN w = 0 THEN base
             WHEN length(packed) < 5 + pos * w THEN NULL
             ELSE (SELECT CASE WHEN off = (1::bigint << (8 * w)) - 1 THEN NULL ELSE base + off END
                     FROM (SELECT sum((get_byte(packed, 5 + (pos - 1) * w + k)::bigint) << (8 * k))
                                  AS off
                             FROM generate_series(0, w - 1) AS k) o)
           END
      FROM (SELECT get_byte(packed, 0) AS w,
                   get_byte(packed, 1)::bigint + (get_byte(packed, 2)::bigint << 8)
                   + (get_byte(packed, 3)::bigint << 16)
                   + (CASE WHEN get_byte(packed, 4) >= 128 THEN get_byte(packed, 4)::bigint - 256
                           ELSE get_byte(packed, 4)::bigint END << 24) AS base) h
$$;

-- One row per chip sample, computed from chip_telemetry (for ad-hoc queries and the dashboard's
-- chip views; scans whole chain rows).
CREATE VIEW chip_samples AS
SELECT t.worker_id,
       t.observed_at,
       t.chain_id,
       i AS position,
       COALESCE(t.chip_ids[i], t.chip_id_first + i - 1) AS chip_id,
       fleet_unpack(t.hr, i) AS hr,
       fleet_unpack(t.temp_dc, i) / 10.0 AS temp_c,
       fleet_unpack(t.freq_mhz, i) AS freq_mhz,
       fleet_unpack(t.volt_mv, i) AS volt_mv,
       fleet_unpack(t.errs, i) AS errs,
       CASE WHEN i = ANY (t.red_pos) THEN 'red'
            WHEN i = ANY (t.orange_pos) THEN 'orange'
            ELSE 'grey' END AS grade,
       COALESCE(i = ANY (t.throttled_pos), false) AS throttled
  FROM chip_telemetry t
 CROSS JOIN LATERAL generate_series(1, t.chip_count) AS i;

-- Anomalies telemetry-worker surfaces in metrics_latest for rules (docs/services/telemetry-worker.md).
DO $$
BEGIN
    IF to_regclass('metric_catalogue') IS NOT NULL THEN
        INSERT INTO metric_catalogue (name, value_type, unit, description, kinds, states, source)
        VALUES
            ('chains_dead', 'number', 'chains',
             'Chains in failure or disconnected, mining with no hashrate, or missing from /chains '
             'compared with the model (chip telemetry)', ARRAY['asic'], NULL, 'metrics'),
            ('chips_red_telemetry', 'number', 'chips',
             'Chips graded red in the last chip telemetry (/chains)', ARRAY['asic'], NULL, 'metrics'),
            ('chips_orange_telemetry', 'number', 'chips',
             'Chips graded orange in the last chip telemetry (/chains)', ARRAY['asic'], NULL,
             'metrics'),
            ('chip_temp_max_telemetry', 'number', '°C',
             'Hottest chip in the last chip telemetry (/chains)', ARRAY['asic'], NULL, 'metrics')
        ON CONFLICT (name) DO NOTHING;
    END IF;
END;
$$;
