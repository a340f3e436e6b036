CREATE TABLE referral_transitions (
    id                    uuid PRIMARY KEY,
    referral_id           uuid NOT NULL REFERENCES referrals (id),
    action                text NOT NULL,
    from_status           text,
    to_status             text NOT NULL,
    actor_account_id      uuid REFERENCES accounts (id),
    actor_organisation_id uuid REFERENCES organisations (id),
    comment               text,
    occurred_at           timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX referral_transitions_referral_idx ON referral_transitions (referral_id, occurred_at);
INSERT INTO referral_transitions
SELECT id, case_id, action, from_status, to_status, actor_account_id, actor_organisation_id, comment, occurred_at
FROM case_transitions WHERE case_type = 'referral';

CREATE TABLE sublease_transitions (
    id                    uuid PRIMARY KEY,
    sublease_id           uuid NOT NULL REFERENCES subleases (id),
    action                text NOT NULL,
    from_status           text,
    to_status             text NOT NULL,
    actor_account_id      uuid REFERENCES accounts (id),
    actor_organisation_id uuid REFERENCES organisations (id),
    comment               text,
    occurred_at           timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX sublease_transitions_sublease_idx ON sublease_transitions (sublease_id, occurred_at);
INSERT INTO sublease_transitions
SELECT id, case_id, action, from_status, to_status, actor_account_id, actor_organisation_id, comment, occurred_at
FROM case_transitions WHERE case_type = 'sublease';

DROP TABLE case_transitions;
