-- Partner identity, tokens, and the cross-cutting contract pieces (idempotency, the events
-- outbox, sign-in throttling). Enumerations are text with CHECK constraints: readable in
-- psql, and a new value is a one-line migration.

CREATE TABLE organisations (
    id              uuid PRIMARY KEY,
    kind            text NOT NULL CHECK (kind IN ('department', 'state_service', 'association', 'social_landlord')),
    name            text NOT NULL,
    siret           text NOT NULL CHECK (siret ~ '^[0-9]{14}$'),
    department_code text NOT NULL,
    contact_email   text NOT NULL,
    version         integer NOT NULL DEFAULT 1,
    created_at      timestamptz NOT NULL DEFAULT now(),
    updated_at      timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT organisations_siret_key UNIQUE (siret)
);

CREATE TABLE accounts (
    id                 uuid PRIMARY KEY,
    -- NULL only for platform admins, who belong to no partner organisation.
    organisation_id    uuid REFERENCES organisations (id),
    kind               text NOT NULL CHECK (kind IN ('person', 'system')),
    role               text NOT NULL CHECK (role IN ('platform_admin', 'admin', 'coordinator', 'worker', 'viewer')),
    name               text NOT NULL,
    email              text,
    password_hash      text,
    client_id          text,
    client_secret_hash text,
    -- Space-separated OAuth scopes granted to a partner system (persons get their role's).
    scopes             text NOT NULL DEFAULT '',
    active             boolean NOT NULL DEFAULT true,
    deactivated_at     timestamptz,
    version            integer NOT NULL DEFAULT 1,
    created_at         timestamptz NOT NULL DEFAULT now(),
    updated_at         timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT accounts_person_or_system CHECK (
        (kind = 'person' AND email IS NOT NULL AND client_id IS NULL)
        OR (kind = 'system' AND client_id IS NOT NULL AND email IS NULL)),
    CONSTRAINT accounts_platform_admin_has_no_organisation CHECK (
        (role = 'platform_admin') = (organisation_id IS NULL)),
    CONSTRAINT accounts_client_id_key UNIQUE (client_id)
);
CREATE UNIQUE INDEX accounts_email_key ON accounts (lower(email));
CREATE INDEX accounts_organisation_idx ON accounts (organisation_id, id);

-- A sign-in session: the family of refresh tokens born from one password sign-in. Access
-- tokens name their session (claim `sid`); revoking it stops them at once.
CREATE TABLE sessions (
    id          uuid PRIMARY KEY,
    account_id  uuid NOT NULL REFERENCES accounts (id),
    created_at  timestamptz NOT NULL DEFAULT now(),
    revoked_at  timestamptz
);
CREATE INDEX sessions_account_idx ON sessions (account_id);

-- Refresh tokens are stored as SHA-256 digests of 256-bit random values: a fast hash is
-- enough for secrets with that much entropy. Each use rotates the token inside its family;
-- presenting a used token again revokes the whole family.
CREATE TABLE refresh_tokens (
    id          uuid PRIMARY KEY,
    account_id  uuid NOT NULL REFERENCES accounts (id),
    family_id   uuid NOT NULL REFERENCES sessions (id),
    token_hash  bytea NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now(),
    expires_at  timestamptz NOT NULL,
    used_at     timestamptz,
    revoked_at  timestamptz,
    CONSTRAINT refresh_tokens_token_hash_key UNIQUE (token_hash)
);
CREATE INDEX refresh_tokens_family_idx ON refresh_tokens (family_id);
CREATE INDEX refresh_tokens_account_idx ON refresh_tokens (account_id);

-- Failed sign-ins, per key ("account:<username>" or "address:<ip>"), for throttling shared
-- by every instance.
CREATE TABLE sign_in_failures (
    id           bigserial PRIMARY KEY,
    throttle_key text NOT NULL,
    failed_at    timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX sign_in_failures_key_idx ON sign_in_failures (throttle_key, failed_at);

CREATE TABLE idempotency_keys (
    account_id       uuid NOT NULL REFERENCES accounts (id),
    idempotency_key  text NOT NULL,
    request_hash     bytea NOT NULL,
    -- 'running' while the first request is being processed, 'completed' once its response
    -- is stored. A running key whose lease has passed belongs to a crashed request.
    state            text NOT NULL CHECK (state IN ('running', 'completed')),
    lease_until      timestamptz NOT NULL,
    response_status  smallint,
    response_headers jsonb,
    response_body    bytea,
    created_at       timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (account_id, idempotency_key)
);
CREATE INDEX idempotency_keys_created_idx ON idempotency_keys (created_at);

-- The outbox. Events are read in (tx_id, seq) order, and only those whose transaction is
-- older than every transaction still running (pg_snapshot_xmin): a reader never moves past
-- an event that commits later with a smaller position, so none is missed.
CREATE TABLE events (
    seq                   bigserial PRIMARY KEY,
    id                    uuid NOT NULL,
    tx_id                 bigint NOT NULL DEFAULT (pg_current_xact_id()::text::bigint),
    event_type            text NOT NULL,
    subject_type          text NOT NULL,
    subject_id            uuid NOT NULL,
    actor_account_id      uuid,
    actor_organisation_id uuid,
    occurred_at           timestamptz NOT NULL DEFAULT now(),
    data                  jsonb NOT NULL,
    for_platform          boolean NOT NULL DEFAULT false,
    CONSTRAINT events_id_key UNIQUE (id)
);
CREATE INDEX events_platform_feed_idx ON events (tx_id, seq) WHERE for_platform;

CREATE TABLE event_recipients (
    organisation_id uuid NOT NULL REFERENCES organisations (id),
    tx_id           bigint NOT NULL DEFAULT (pg_current_xact_id()::text::bigint),
    seq             bigint NOT NULL REFERENCES events (seq),
    PRIMARY KEY (organisation_id, tx_id, seq)
);

-- Which instance last ran each background job; the jobs themselves are serialised with
-- advisory locks, so several instances can run the scheduler safely.
CREATE TABLE job_runs (
    job_name    text PRIMARY KEY,
    last_run_at timestamptz NOT NULL
);
