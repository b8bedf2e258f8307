-- Users, API keys, session revocation, login throttling and the audit log of the api-gateway
-- (DESIGN §7). Passwords are Argon2id hashes; API keys are stored only as SHA-256 hashes.

CREATE TABLE users (
    id                  bigserial   PRIMARY KEY,
    username            text        NOT NULL UNIQUE CHECK (username ~ '^[A-Za-z0-9._@-]{1,64}$'),
    password_hash       text        NOT NULL,
    role                text        NOT NULL CHECK (role IN ('admin', 'operator', 'viewer')),
    disabled            boolean     NOT NULL DEFAULT false,
    created_at          timestamptz NOT NULL DEFAULT now(),
    updated_at          timestamptz NOT NULL DEFAULT now(),
    password_changed_at timestamptz NOT NULL DEFAULT now(),
    last_login_at       timestamptz
);
CREATE TRIGGER users_touch BEFORE UPDATE ON users
    FOR EACH ROW EXECUTE FUNCTION fleet_touch_updated_at();

-- A key acts with its own role, at most its owner's (checked on every use).
CREATE TABLE api_keys (
    id           bigserial   PRIMARY KEY,
    user_id      bigint      NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    name         text        NOT NULL CHECK (length(name) BETWEEN 1 AND 100),
    key_id       text        NOT NULL UNIQUE,  -- the public part of the key: lookup and display
    key_hash     text        NOT NULL,         -- SHA-256 of the whole key
    role         text        NOT NULL CHECK (role IN ('admin', 'operator', 'viewer')),
    created_at   timestamptz NOT NULL DEFAULT now(),
    expires_at   timestamptz,
    last_used_at timestamptz,
    revoked_at   timestamptz
);
CREATE INDEX api_keys_user_idx ON api_keys (user_id);

-- Session tokens revoked before their expiry (logout). Rows go once the token would have expired.
CREATE TABLE revoked_tokens (
    token_id   text        PRIMARY KEY,
    expires_at timestamptz NOT NULL
);

-- Failed logins, for throttling per client and per user name across gateway replicas.
CREATE TABLE auth_failures (
    id       bigserial   PRIMARY KEY,
    client   text        NOT NULL,
    username text,
    at       timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX auth_failures_client_idx ON auth_failures (client, at);
CREATE INDEX auth_failures_username_idx ON auth_failures (username, at);

-- Every mutating call through the API (and user administration through fleetctl).
CREATE TABLE audit_log (
    id            bigserial   PRIMARY KEY,
    at            timestamptz NOT NULL DEFAULT now(),
    actor         text        NOT NULL,  -- user name, "key:<key_id>" or "fleetctl"
    actor_user_id bigint,
    actor_key_id  bigint,
    action        text        NOT NULL,  -- "PATCH /api/miners/{id}"
    target        text,                  -- "miner:12"
    status        integer     NOT NULL,
    client        text,
    details       jsonb       NOT NULL DEFAULT '{}'::jsonb
);
CREATE INDEX audit_log_at_idx ON audit_log (at DESC);
CREATE INDEX audit_log_actor_idx ON audit_log (actor, at DESC);
