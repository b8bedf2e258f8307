-- hiveos-sync's store (issue 11, docs/services/hiveos-sync.md § What it writes).
--
-- When hiveos-sync last appended a rig's metrics to readings. Every cycle updates
-- metrics_latest; readings, the history rule windows read, get a rig's metrics at most once per
-- hiveos.readings_interval (as the status poller does for miners, sql/0032).
ALTER TABLE rigs
    ADD COLUMN readings_at timestamptz;

-- Whether something of a worker done at `last` is due again `at`, when it is done at most once
-- per `every_ms` window (always when every_ms <= 0 or never done): its metrics' readings, or
-- rewriting an unchanged value in metrics_latest. Each worker's windows are shifted by a phase
-- from its id, so a fleet read in step does a share of it every cycle instead of all of it every
-- few cycles.
--
-- STABLE, not IMMUTABLE: date_part() of a timestamptz is STABLE, and only a function no less
-- volatile than its body is inlined into the calling query (a call per row otherwise costs ten
-- times as much). float8 epochs (date_part) rather than numeric ones (extract) for the same reason.
CREATE FUNCTION fleet_once_per_window(worker_id bigint, last timestamptz, at timestamptz,
                                      every_ms bigint)
RETURNS boolean
LANGUAGE sql STABLE PARALLEL SAFE AS $$
    SELECT CASE
        WHEN last IS NULL OR every_ms <= 0 THEN true
        ELSE floor((date_part('epoch', at) * 1000 + (worker_id % every_ms) * 7919 % every_ms)
                   / every_ms)
           > floor((date_part('epoch', last) * 1000 + (worker_id % every_ms) * 7919 % every_ms)
                   / every_ms)
    END
$$;

-- The budget's reservation locks its account row FOR NO KEY UPDATE instead of FOR UPDATE (as in
-- 0046; the rest unchanged): it changes no key, and FOR UPDATE also waited for every transaction
-- holding the row's key share — each farm being stored that inserts rigs rows (their foreign key
-- to hiveos_accounts) — so the next farm's request waited for the previous farm's store.
-- Reservations still queue behind each other (FOR NO KEY UPDATE conflicts with itself).
CREATE OR REPLACE FUNCTION hiveos_reserve_request(p_account bigint) RETURNS interval
LANGUAGE plpgsql AS $$
DECLARE
    a         hiveos_accounts%ROWTYPE;
    emission  interval;
    start_at  timestamptz;
    tat       timestamptz;
BEGIN
    SELECT * INTO a FROM hiveos_accounts WHERE id = p_account FOR NO KEY UPDATE;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'hiveos account % does not exist', p_account USING ERRCODE = 'no_data_found';
    END IF;
    emission := (60.0 / a.requests_per_minute) * interval '1 second';
    -- GCRA: tat is when the bucket would be empty again; a request may go up to burst - 1
    -- emission intervals before it.
    tat := greatest(a.next_request_at, clock_timestamp());
    start_at := greatest(tat - emission * (a.burst - 1), clock_timestamp(),
                         coalesce(a.blocked_until, '-infinity'));
    UPDATE hiveos_accounts
       SET next_request_at = greatest(tat, start_at) + emission,
           requests_total = requests_total + 1,
           last_attempt_at = clock_timestamp()
     WHERE id = p_account;
    RETURN greatest(start_at - clock_timestamp(), interval '0');
END;
$$;
