-- Container platform (issue 14, seed 002's ContainerMigrationService): organisations with their
-- migration policy, deployments and where their replicas run, routes, and migrations.
--
-- * organizations: who owns deployments. migration_policy (DESIGN §3's migration_policies, kept
--   as a column: one policy per organisation): automatic -> moves are carried out; manual -> a plan
--   waits for approval; none -> the plan is only recorded.
-- * organization_members: users told about their organisation's deployments ("owners").
-- * deployments: what should run (image, command, env, ports, resource requests, replicas, pool,
--   anti-affinity). Written by the API (user intent); migration-planner places and moves them.
-- * placements: one row per container the planner decided to run: a replica of a deployment on a
--   node. A replica's placement is "current" while retired_at IS NULL; during a move the new
--   placement (migration_id set) runs beside the old one until the route switches, then the old
--   one is retired and its container stopped and removed (at once when its node answers, or when
--   it comes back). Only migration-planner writes placements.
-- * routes: where a deployment's service address (<deployment>.<organisation>, one per container
--   port) reaches the replica now: the node's address and the published host port. Switched by the
--   planner when the new container is running.
-- * migration_plans: the moves decided for one failed or draining node and one organisation, under
--   that organisation's policy. At most one open plan per (node, organisation).
-- * migrations: one replica's move, step by step (steps: [{at, step, detail}]), with the reason it
--   moves or failed ("no node has 4 GiB free in pool gpu").
--
-- The API and heartbeat-monitor wake the planner through NOTIFY fleet_planner (statement triggers
-- below, so no writer can forget it); the planner sends NOTIFY fleet_routes when a route changes.

CREATE TABLE organizations (
    id               bigserial   PRIMARY KEY,
    name             text        NOT NULL UNIQUE CHECK (name ~ '^[a-z0-9][a-z0-9-]{0,62}$'),
    display_name     text        NOT NULL DEFAULT '' CHECK (length(display_name) <= 200),
    migration_policy text        NOT NULL DEFAULT 'automatic'
                                 CHECK (migration_policy IN ('automatic', 'manual', 'none')),
    created_at       timestamptz NOT NULL DEFAULT now(),
    updated_at       timestamptz NOT NULL DEFAULT now()
);
CREATE TRIGGER organizations_touch BEFORE UPDATE ON organizations
    FOR EACH ROW EXECUTE FUNCTION fleet_touch_updated_at();

CREATE TABLE organization_members (
    organization_id bigint      NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    user_id         bigint      NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    role            text        NOT NULL DEFAULT 'owner' CHECK (role IN ('owner', 'member')),
    added_at        timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (organization_id, user_id)
);
CREATE INDEX organization_members_user_idx ON organization_members (user_id);

CREATE TABLE deployments (
    id                bigserial   PRIMARY KEY,
    organization_id   bigint      NOT NULL REFERENCES organizations (id) ON DELETE RESTRICT,
    name              text        NOT NULL CHECK (name ~ '^[a-z0-9][a-z0-9-]{0,62}$'),
    image             text        NOT NULL CHECK (length(image) BETWEEN 1 AND 500),
    command           text[]      NOT NULL DEFAULT '{}',
    env               jsonb       NOT NULL DEFAULT '{}'::jsonb CHECK (jsonb_typeof(env) = 'object'),
    -- [{container_port 1..65535, protocol "tcp"|"udp"}]; host ports are chosen per placement.
    ports             jsonb       NOT NULL DEFAULT '[]'::jsonb CHECK (jsonb_typeof(ports) = 'array'),
    -- Resource requests of one replica: what placement reserves on a node.
    cpu_cores         double precision NOT NULL DEFAULT 0.1 CHECK (cpu_cores > 0 AND cpu_cores <= 1024),
    memory_mb         bigint      NOT NULL DEFAULT 64 CHECK (memory_mb BETWEEN 1 AND 1000000000),
    disk_gb           double precision NOT NULL DEFAULT 0 CHECK (disk_gb >= 0 AND disk_gb <= 1000000),
    replicas          integer     NOT NULL DEFAULT 1 CHECK (replicas BETWEEN 0 AND 1000),
    labels            jsonb       NOT NULL DEFAULT '{}'::jsonb CHECK (jsonb_typeof(labels) = 'object'),
    pool              text        NOT NULL DEFAULT 'default' CHECK (pool ~ '^[a-z0-9][a-z0-9_.-]{0,62}$'),
    -- Replicas of one deployment never share a node. Deployments of one organisation with the same
    -- key do not share a node either.
    anti_affinity_key text        CHECK (anti_affinity_key ~ '^[a-z0-9][a-z0-9_.-]{0,62}$'),
    -- Disruption budget: at most this many replicas of the deployment moving at once.
    max_unavailable   integer     NOT NULL DEFAULT 1 CHECK (max_unavailable BETWEEN 1 AND 1000),
    -- active -> deleting (the planner stops and removes every container) -> deleted.
    state             text        NOT NULL DEFAULT 'active' CHECK (state IN ('active', 'deleting', 'deleted')),
    created_by        text        NOT NULL,
    created_at        timestamptz NOT NULL DEFAULT now(),
    updated_at        timestamptz NOT NULL DEFAULT now(),
    deleted_at        timestamptz
);
CREATE UNIQUE INDEX deployments_name_idx ON deployments (organization_id, name) WHERE state <> 'deleted';
CREATE INDEX deployments_state_idx ON deployments (state) WHERE state <> 'deleted';
CREATE TRIGGER deployments_touch BEFORE UPDATE ON deployments
    FOR EACH ROW EXECUTE FUNCTION fleet_touch_updated_at();

CREATE TABLE migration_plans (
    id              bigserial   PRIMARY KEY,
    node_id         bigint      NOT NULL REFERENCES workers (id) ON DELETE CASCADE,
    organization_id bigint      NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    trigger         text        NOT NULL CHECK (trigger IN ('offline', 'draining')),
    policy          text        NOT NULL CHECK (policy IN ('automatic', 'manual', 'none')),
    --   automatic: executing -> done | failed
    --   manual:    awaiting_approval -> executing (approved) | rejected | cancelled
    --   none:      recorded
    --   cancelled: the node came back (or was undrained) before the plan was carried out
    state           text        NOT NULL CHECK (state IN ('awaiting_approval', 'executing', 'done',
                                                          'failed', 'rejected', 'recorded', 'cancelled')),
    reason          text        NOT NULL CHECK (length(reason) <= 2000),
    created_by      text        NOT NULL,  -- planner instance
    created_at      timestamptz NOT NULL DEFAULT now(),
    decided_by      text,                  -- who approved or rejected
    decided_at      timestamptz,
    decision_note   text        CHECK (length(decision_note) <= 1000),
    finished_at     timestamptz,
    -- {moves, done, failed, pending} kept current by the planner for lists.
    summary         jsonb       NOT NULL DEFAULT '{}'::jsonb CHECK (jsonb_typeof(summary) = 'object')
);
CREATE UNIQUE INDEX migration_plans_open_idx ON migration_plans (node_id, organization_id)
    WHERE state IN ('awaiting_approval', 'executing');
CREATE INDEX migration_plans_state_idx ON migration_plans (state, created_at DESC);

CREATE TABLE placements (
    id              bigserial   PRIMARY KEY,
    deployment_id   bigint      NOT NULL REFERENCES deployments (id) ON DELETE CASCADE,
    replica         integer     NOT NULL CHECK (replica >= 0),
    -- NULL only while state = 'unplaced' (reason says why no node fits).
    node_id         bigint      REFERENCES workers (id) ON DELETE SET NULL,
    -- fw-<deployment id>-<replica>-<placement id>: unique on a node, never reused.
    container_name  text        CHECK (container_name ~ '^[a-zA-Z0-9][a-zA-Z0-9_.-]{0,127}$'),
    -- [{container_port, host_port, protocol}] published on host_ip.
    ports           jsonb       NOT NULL DEFAULT '[]'::jsonb CHECK (jsonb_typeof(ports) = 'array'),
    host_ip         text        NOT NULL DEFAULT '0.0.0.0',
    -- The requests reserved on the node (copied from the deployment when placed).
    cpu_cores       double precision NOT NULL,
    memory_mb       bigint      NOT NULL,
    disk_gb         double precision NOT NULL,
    --   unplaced -> starting -> running | failed
    --   starting | running | failed -> lost (its node is offline) -> stopping | removed
    --   starting | running | failed | lost -> stopping (container_remove queued) -> removed
    state           text        NOT NULL CHECK (state IN ('unplaced', 'starting', 'running', 'failed',
                                                          'lost', 'stopping', 'removed')),
    reason          text        NOT NULL DEFAULT '' CHECK (length(reason) <= 2000),
    migration_id    bigint,     -- the move that created it (FK below)
    start_command_id bigint     REFERENCES commands (id) ON DELETE SET NULL,
    stop_command_id  bigint     REFERENCES commands (id) ON DELETE SET NULL,
    container_id    text,       -- from the agent's container_start result
    created_at      timestamptz NOT NULL DEFAULT now(),
    updated_at      timestamptz NOT NULL DEFAULT now(),
    running_since   timestamptz,
    retired_at      timestamptz,  -- no longer the replica's home (moved, scaled down, deleted)
    CHECK (state <> 'unplaced' OR (node_id IS NULL AND container_name IS NULL)),
    CHECK (state = 'unplaced' OR container_name IS NOT NULL)
);
CREATE INDEX placements_deployment_idx ON placements (deployment_id, replica) WHERE state <> 'removed';
CREATE INDEX placements_node_idx ON placements (node_id) WHERE state <> 'removed';
CREATE TRIGGER placements_touch BEFORE UPDATE ON placements
    FOR EACH ROW EXECUTE FUNCTION fleet_touch_updated_at();

CREATE TABLE migrations (
    id               bigserial   PRIMARY KEY,
    plan_id          bigint      NOT NULL REFERENCES migration_plans (id) ON DELETE CASCADE,
    deployment_id    bigint      NOT NULL REFERENCES deployments (id) ON DELETE CASCADE,
    replica          integer     NOT NULL CHECK (replica >= 0),
    from_node_id     bigint      REFERENCES workers (id) ON DELETE SET NULL,
    from_placement_id bigint     REFERENCES placements (id) ON DELETE SET NULL,
    to_node_id       bigint      REFERENCES workers (id) ON DELETE SET NULL,
    to_placement_id  bigint      REFERENCES placements (id) ON DELETE SET NULL,
    --   awaiting_approval (manual) | recorded (none) | pending (automatic or approved)
    --   pending -> starting (container_start queued on the target) -> switching (running; the
    --   route is switched in the same transaction) -> cleanup (old container being removed, or its
    --   node is unreachable: removed when it comes back) -> done
    --   pending | starting -> failed (no node fits, start failed or timed out; reason says which)
    --   awaiting_approval -> rejected | cancelled
    state            text        NOT NULL CHECK (state IN ('awaiting_approval', 'recorded', 'pending',
                                                           'starting', 'switching', 'cleanup', 'done',
                                                           'failed', 'rejected', 'cancelled')),
    reason           text        NOT NULL CHECK (length(reason) <= 2000),
    steps            jsonb       NOT NULL DEFAULT '[]'::jsonb CHECK (jsonb_typeof(steps) = 'array'),
    attempts         integer     NOT NULL DEFAULT 0 CHECK (attempts >= 0),
    created_at       timestamptz NOT NULL DEFAULT now(),
    updated_at       timestamptz NOT NULL DEFAULT now(),
    finished_at      timestamptz
);
CREATE INDEX migrations_plan_idx ON migrations (plan_id);
CREATE INDEX migrations_deployment_idx ON migrations (deployment_id, created_at DESC);
CREATE INDEX migrations_open_idx ON migrations (state)
    WHERE state IN ('pending', 'starting', 'switching', 'cleanup');
CREATE TRIGGER migrations_touch BEFORE UPDATE ON migrations
    FOR EACH ROW EXECUTE FUNCTION fleet_touch_updated_at();

ALTER TABLE placements ADD CONSTRAINT placements_migration_fk
    FOREIGN KEY (migration_id) REFERENCES migrations (id) ON DELETE SET NULL;

CREATE TABLE routes (
    deployment_id  bigint      NOT NULL REFERENCES deployments (id) ON DELETE CASCADE,
    replica        integer     NOT NULL CHECK (replica >= 0),
    container_port integer     NOT NULL CHECK (container_port BETWEEN 1 AND 65535),
    protocol       text        NOT NULL DEFAULT 'tcp' CHECK (protocol IN ('tcp', 'udp')),
    placement_id   bigint      REFERENCES placements (id) ON DELETE SET NULL,
    node_id        bigint      REFERENCES workers (id) ON DELETE SET NULL,
    address        text        NOT NULL,  -- the node's address (its first registered address)
    host_port      integer     NOT NULL CHECK (host_port BETWEEN 1 AND 65535),
    version        bigint      NOT NULL DEFAULT 1,  -- +1 on every switch
    updated_at     timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (deployment_id, replica, container_port, protocol)
);

-- Wake the planner when user intent or a node's status changes.
CREATE FUNCTION fleet_planner_notify() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('fleet_planner', TG_TABLE_NAME);
    RETURN NULL;  -- AFTER trigger: the result is ignored
END;
$$;

CREATE TRIGGER deployments_planner_notify AFTER INSERT OR UPDATE ON deployments
    FOR EACH STATEMENT EXECUTE FUNCTION fleet_planner_notify();
-- An approval or rejection (the planner's own plan updates do not wake it).
CREATE TRIGGER migration_plans_planner_notify AFTER UPDATE OF state ON migration_plans
    FOR EACH ROW WHEN (OLD.state = 'awaiting_approval' AND NEW.state <> OLD.state)
    EXECUTE FUNCTION fleet_planner_notify();
CREATE TRIGGER organizations_planner_notify AFTER UPDATE OF migration_policy ON organizations
    FOR EACH STATEMENT EXECUTE FUNCTION fleet_planner_notify();

CREATE FUNCTION fleet_node_status_planner_notify() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.kind = 'node' AND NEW.status IS DISTINCT FROM OLD.status THEN
        PERFORM pg_notify('fleet_planner', 'workers');
    END IF;
    RETURN NEW;
END;
$$;

CREATE TRIGGER workers_planner_notify AFTER UPDATE OF status ON workers
    FOR EACH ROW EXECUTE FUNCTION fleet_node_status_planner_notify();
