-- Households and the closed-loop referral.

-- The catalogue of support measures: data, not code (departments define their own).
CREATE TABLE measure_kinds (
    code                  text PRIMARY KEY CHECK (code ~ '^[a-z][a-z0-9_]{1,39}$'),
    name                  text NOT NULL,
    funder                text NOT NULL,
    description           text NOT NULL DEFAULT '',
    -- Days the addressee has to answer a referral; NULL means the platform default (30).
    default_response_days integer CHECK (default_response_days BETWEEN 1 AND 365),
    active                boolean NOT NULL DEFAULT true,
    created_at            timestamptz NOT NULL DEFAULT now()
);

INSERT INTO measure_kinds (code, name, funder, description, default_response_days) VALUES
    ('avdl', 'Accompagnement vers et dans le logement', 'State (FNAVDL)', 'Access to and keeping the home; also eviction prevention', NULL),
    ('asll', 'Accompagnement social lié au logement', 'Department (FSL)', 'Validated by a commission; 6 months, renewable', NULL),
    ('asrl', 'Accompagnement social renforcé lié au logement', 'Department + DIHAL', 'Reinforced support under a call for projects', NULL),
    ('aml_logement_dabord', 'AML Logement d''abord', 'Department (FSL) + DIHAL', 'Rental mediation', NULL),
    ('iml', 'Intermédiation locative', 'State', 'Sub-lease with support until the household rents on its own', NULL),
    ('empex', 'Équipe mobile de prévention des expulsions', 'State (DDETS-PP)', 'Referred by the CCAPEX for tenants in rent arrears', 15),
    ('sla', 'Service logement accompagnement', 'Association', 'Access and keeping the home', NULL),
    ('agir', 'AGIR: emploi et logement des réfugiés', 'State', 'One-stop employment and housing for refugees', NULL),
    ('pension_de_famille', 'Pension de famille', 'State', 'Housing with on-site support, no time limit', NULL),
    ('residence_sociale', 'Résidence sociale', 'State', 'Temporary furnished housing with support', NULL);

CREATE TABLE households (
    id                         uuid PRIMARY KEY,
    created_by_organisation_id uuid NOT NULL REFERENCES organisations (id),
    created_by_account_id      uuid NOT NULL REFERENCES accounts (id),
    partner_reference          text,
    head_last_name             text NOT NULL,
    head_first_names           text NOT NULL,
    head_birth_date            date NOT NULL,
    -- Last name, first name and birth date without accents, case or spaces: duplicates.
    identity_key               text NOT NULL,
    members                    jsonb NOT NULL DEFAULT '[]',
    household_type             text NOT NULL CHECK (household_type IN ('single_person', 'couple', 'single_parent_family', 'family')),
    adults                     integer NOT NULL CHECK (adults >= 1),
    children                   integer NOT NULL CHECK (children >= 0),
    monthly_resources_cents    bigint NOT NULL CHECK (monthly_resources_cents >= 0),
    resource_kinds             jsonb NOT NULL DEFAULT '[]',
    housing_situation          text NOT NULL CHECK (housing_situation IN ('street', 'emergency_shelter', 'hotel',
                                   'hosted_by_relatives', 'temporary_housing', 'ordinary_housing_under_threat', 'ordinary_housing')),
    -- Priority grounds that are not special categories of personal data.
    priority_grounds           jsonb NOT NULL DEFAULT '[]',
    -- GDPR special categories (health, offences, violence): kept apart, shown only to the
    -- parties that need them, every read journalled.
    special_grounds            jsonb NOT NULL DEFAULT '[]',
    consent_given_on           date,
    consent_scope              text,
    consent_recorded_by        uuid REFERENCES accounts (id),
    consent_withdrawn_at       timestamptz,
    version                    integer NOT NULL DEFAULT 1,
    created_at                 timestamptz NOT NULL DEFAULT now(),
    updated_at                 timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX households_creator_idx ON households (created_by_organisation_id, id);
CREATE INDEX households_identity_idx ON households (identity_key);
CREATE INDEX households_updated_idx ON households (updated_at);

CREATE TABLE referrals (
    id                         uuid PRIMARY KEY,
    household_id               uuid NOT NULL REFERENCES households (id),
    referrer_organisation_id   uuid NOT NULL REFERENCES organisations (id),
    referrer_account_id        uuid NOT NULL REFERENCES accounts (id),
    addressee_organisation_id  uuid NOT NULL REFERENCES organisations (id),
    measure_kind               text NOT NULL REFERENCES measure_kinds (code),
    reason                     text NOT NULL,
    priority_grounds           jsonb NOT NULL DEFAULT '[]',
    special_grounds            jsonb NOT NULL DEFAULT '[]',
    desired_start              date,
    response_due_on            date NOT NULL,
    status                     text NOT NULL CHECK (status IN ('submitted', 'acknowledged', 'accepted', 'declined',
                                   'withdrawn', 'transferred', 'expired', 'obsolete')),
    decline_reason             text CHECK (decline_reason IN ('out_of_area', 'not_eligible', 'no_capacity',
                                   'household_refused', 'household_unreachable', 'duplicate', 'other')),
    closing_comment            text,
    transferred_from_id        uuid REFERENCES referrals (id),
    transferred_to_id          uuid REFERENCES referrals (id),
    version                    integer NOT NULL DEFAULT 1,
    created_at                 timestamptz NOT NULL DEFAULT now(),
    updated_at                 timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT referrals_not_to_self CHECK (referrer_organisation_id <> addressee_organisation_id)
);
CREATE INDEX referrals_received_idx ON referrals (addressee_organisation_id, id);
CREATE INDEX referrals_sent_idx ON referrals (referrer_organisation_id, id);
CREATE INDEX referrals_household_idx ON referrals (household_id);
CREATE INDEX referrals_open_due_idx ON referrals (response_due_on) WHERE status IN ('submitted', 'acknowledged');

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

CREATE TABLE referral_comments (
    id                     uuid PRIMARY KEY,
    referral_id            uuid NOT NULL REFERENCES referrals (id),
    author_account_id      uuid NOT NULL REFERENCES accounts (id),
    author_organisation_id uuid NOT NULL REFERENCES organisations (id),
    body                   text NOT NULL,
    created_at             timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX referral_comments_referral_idx ON referral_comments (referral_id, id);

-- The read journal: every response that carried special-category data.
CREATE TABLE special_category_reads (
    id              uuid PRIMARY KEY,
    household_id    uuid NOT NULL REFERENCES households (id),
    account_id      uuid NOT NULL REFERENCES accounts (id),
    organisation_id uuid REFERENCES organisations (id),
    categories      jsonb NOT NULL,
    request_id      text NOT NULL,
    read_at         timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX special_category_reads_household_idx ON special_category_reads (household_id, id);
