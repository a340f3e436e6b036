-- Outgoing webhooks (Standard Webhooks): endpoints an organisation registers, and the
-- delivery queue the outbox feeds.

-- The dispatcher reads the outbox in feed order (tx_id, seq), and each event's recipients.
CREATE INDEX events_feed_order_idx ON events (tx_id, seq);
CREATE INDEX event_recipients_seq_idx ON event_recipients (seq);

CREATE TABLE webhook_endpoints (
    id                          uuid PRIMARY KEY,
    organisation_id             uuid NOT NULL REFERENCES organisations (id),
    -- Who registered it (an audit fact: the endpoint is the organisation's).
    created_by_account_id       uuid NOT NULL REFERENCES accounts (id),
    url                         text NOT NULL,
    description                 text NOT NULL DEFAULT '',
    -- Exact types or prefixes (`referral.*`); empty: every event the organisation sees.
    event_types                 jsonb NOT NULL DEFAULT '[]',
    status                      text NOT NULL DEFAULT 'enabled'
                                CHECK (status IN ('enabled', 'disabled')),
    disabled_reason             text CHECK (disabled_reason IN ('by_request', 'gone', 'failing')),
    disabled_at                 timestamptz,
    -- The signing secrets, sealed (XChaCha20-Poly1305, the endpoint's id as associated
    -- data) with a key the database does not hold: a dump alone does not reveal them.
    secret_sealed               bytea NOT NULL,
    previous_secret_sealed      bytea,
    previous_secret_expires_at  timestamptz,
    -- Failing without a single success since then (reset by a success).
    failing_since               timestamptz,
    last_success_at             timestamptz,
    version                     integer NOT NULL DEFAULT 1,
    created_at                  timestamptz NOT NULL DEFAULT now(),
    updated_at                  timestamptz NOT NULL DEFAULT now(),
    CHECK ((status = 'disabled') = (disabled_reason IS NOT NULL))
);
CREATE INDEX webhook_endpoints_organisation_idx ON webhook_endpoints (organisation_id, id);

-- Where the dispatcher stands in the outbox: one row, moved in the transaction that queues
-- the deliveries of the events it passes (so each event is queued once).
CREATE TABLE webhook_dispatch_position (
    singleton boolean PRIMARY KEY DEFAULT true CHECK (singleton),
    tx_id     bigint NOT NULL,
    seq       bigint NOT NULL
);
INSERT INTO webhook_dispatch_position (tx_id, seq)
SELECT coalesce(max(tx_id), 0), coalesce(max(seq), 0) FROM events;

CREATE TABLE webhook_deliveries (
    id               uuid PRIMARY KEY,
    endpoint_id      uuid NOT NULL REFERENCES webhook_endpoints (id) ON DELETE CASCADE,
    -- The message's `webhook-id`: the event's id, the same on every attempt.
    event_id         uuid NOT NULL,
    event_type       text NOT NULL,
    -- The outbox event (its position in the feed); null for a `webhook.test` message,
    -- whose body is `payload`.
    event_seq        bigint,
    event_tx_id      bigint,
    payload          jsonb,
    status           text NOT NULL DEFAULT 'pending'
                     CHECK (status IN ('pending', 'succeeded', 'failed')),
    attempt_count    integer NOT NULL DEFAULT 0,
    next_attempt_at  timestamptz,
    -- A worker's lease: taken with FOR UPDATE SKIP LOCKED, given back with the attempt's
    -- outcome; a crashed instance's lease runs out and another worker takes the delivery.
    claimed_until    timestamptz,
    claim_token      uuid,
    created_at       timestamptz NOT NULL,
    updated_at       timestamptz NOT NULL,
    CHECK ((event_seq IS NULL) = (payload IS NOT NULL)),
    CHECK ((status = 'pending') = (next_attempt_at IS NOT NULL))
);
CREATE UNIQUE INDEX webhook_deliveries_event_idx ON webhook_deliveries (endpoint_id, event_seq);
CREATE INDEX webhook_deliveries_due_idx ON webhook_deliveries (endpoint_id, next_attempt_at)
    WHERE status = 'pending';
CREATE INDEX webhook_deliveries_list_idx ON webhook_deliveries (endpoint_id, id);
CREATE INDEX webhook_deliveries_created_idx ON webhook_deliveries (created_at);

CREATE TABLE webhook_attempts (
    id               uuid PRIMARY KEY,
    delivery_id      uuid NOT NULL REFERENCES webhook_deliveries (id) ON DELETE CASCADE,
    attempted_at     timestamptz NOT NULL,
    duration_ms      integer NOT NULL,
    response_status  integer,
    -- The first KiB of the response body, as text.
    response_body    text,
    error            text CHECK (error IN ('timeout', 'connection_refused', 'connection', 'tls',
                                           'dns', 'forbidden_address', 'redirect', 'http_status')),
    error_detail     text,
    next_attempt_at  timestamptz
);
CREATE INDEX webhook_attempts_delivery_idx ON webhook_attempts (delivery_id, attempted_at);
