-- Support measures (issue 11): the catalogue's rules, measures, renewals, contacts,
-- objectives, and the sub-lease's link to the measure that supports its household.

-- Each kind carries its rules; the code reads them and knows no kind by name. NULL or an
-- empty list: the sources say nothing, so nothing is enforced (see measures::catalogue).
ALTER TABLE measure_kinds
    -- Months a measure lasts from its start; NULL: no limit (pension de famille).
    ADD COLUMN duration_months     integer CHECK (duration_months BETWEEN 1 AND 120),
    -- Whether the start needs the funder's (or its commission's) decision (ASLL: the CUD).
    ADD COLUMN needs_decision      boolean NOT NULL DEFAULT false,
    -- The renewals allowed, in order: [{"months": 3, "exceptional": false}, …].
    ADD COLUMN renewal_policy      jsonb NOT NULL DEFAULT '[]',
    -- One counting contact every so many days (ASLL: a home visit a fortnight).
    ADD COLUMN contact_every_days  integer CHECK (contact_every_days BETWEEN 1 AND 365),
    ADD COLUMN contact_kinds       jsonb NOT NULL DEFAULT '[]',
    -- The outcome codes a measure may close with; empty: any.
    ADD COLUMN outcome_codes       jsonb NOT NULL DEFAULT '[]',
    -- The longest a measure may last, renewals included (AGIR: 24 months).
    ADD COLUMN max_total_months    integer CHECK (max_total_months BETWEEN 1 AND 240),
    -- The longest a measure may be suspended in all; NULL: the platform default (92 days).
    ADD COLUMN max_suspension_days integer CHECK (max_suspension_days BETWEEN 1 AND 365),
    ADD COLUMN operator_kinds      jsonb NOT NULL DEFAULT '["association"]',
    ADD COLUMN funder_kinds        jsonb NOT NULL DEFAULT '[]',
    -- NULL: national (platform admins manage it); else a département's own kind (its
    -- department's admins manage it) offered only there.
    ADD COLUMN department_code     text CHECK (department_code ~ '^([0-9]{2}|2A|2B|97[1-8])$'),
    ADD COLUMN version             integer NOT NULL DEFAULT 1,
    ADD COLUMN updated_at          timestamptz NOT NULL DEFAULT now();

-- The rules the sources give (DOMAIN.md §4, reference/seeds); nothing else is invented.
UPDATE measure_kinds SET funder_kinds = '["state_service"]',
    outcome_codes = '["accessed_housing", "kept_housing", "rehoused", "left_without_solution", "moved_away", "ended_by_household", "deceased"]'
    WHERE code = 'avdl';
UPDATE measure_kinds SET funder_kinds = '["department"]', duration_months = 6, needs_decision = true,
    renewal_policy = '[{"months": 3, "exceptional": false}, {"months": 3, "exceptional": true}]',
    contact_every_days = 14, contact_kinds = '["home_visit"]'
    WHERE code = 'asll';
UPDATE measure_kinds SET funder_kinds = '["department"]', department_code = '62' WHERE code = 'asrl';
UPDATE measure_kinds SET funder_kinds = '["department"]', department_code = '62' WHERE code = 'aml_logement_dabord';
UPDATE measure_kinds SET funder_kinds = '["state_service"]' WHERE code IN ('iml', 'empex', 'pension_de_famille', 'residence_sociale');
UPDATE measure_kinds SET funder_kinds = '["association"]' WHERE code = 'sla';
UPDATE measure_kinds SET funder_kinds = '["state_service"]', max_total_months = 24 WHERE code = 'agir';

CREATE TABLE measures (
    id                       uuid PRIMARY KEY,
    kind                     text NOT NULL REFERENCES measure_kinds (code),
    -- The kind's rules when the measure was opened: a catalogue change never changes them.
    rules                    jsonb NOT NULL,
    household_id             uuid NOT NULL REFERENCES households (id),
    operator_organisation_id uuid NOT NULL REFERENCES organisations (id),
    worker_account_id        uuid REFERENCES accounts (id),
    origin_referral_id       uuid UNIQUE REFERENCES referrals (id),
    referrer_organisation_id uuid REFERENCES organisations (id),
    funder_organisation_id   uuid REFERENCES organisations (id),
    status                   text NOT NULL CHECK (status IN ('proposed', 'active', 'suspended', 'closed', 'cancelled')),
    starts_on                date NOT NULL,
    planned_end_on           date,
    ended_on                 date,
    outcomes                 jsonb NOT NULL DEFAULT '[]',
    closing_comment          text,
    suspended_on             date,
    suspended_until          date,
    suspension_reason        text,
    suspended_days           integer NOT NULL DEFAULT 0 CHECK (suspended_days >= 0),
    last_contact_on          date,
    next_contact_due_on      date,
    contacts_count           integer NOT NULL DEFAULT 0,
    -- Renewals granted so far (kept with the measure: a read needs no count).
    renewals_granted         integer NOT NULL DEFAULT 0,
    version                  integer NOT NULL DEFAULT 1,
    created_at               timestamptz NOT NULL DEFAULT now(),
    updated_at               timestamptz NOT NULL DEFAULT now(),
    CHECK (planned_end_on IS NULL OR planned_end_on >= starts_on),
    CHECK ((status = 'suspended') = (suspended_on IS NOT NULL))
);
CREATE INDEX measures_operator_idx ON measures (operator_organisation_id, id);
CREATE INDEX measures_funder_idx ON measures (funder_organisation_id, id) WHERE funder_organisation_id IS NOT NULL;
CREATE INDEX measures_referrer_idx ON measures (referrer_organisation_id, id) WHERE referrer_organisation_id IS NOT NULL;
CREATE INDEX measures_household_idx ON measures (household_id);
-- A worker's caseload, and its overdue contacts first.
CREATE INDEX measures_worker_idx ON measures (worker_account_id, next_contact_due_on, id) WHERE worker_account_id IS NOT NULL;

CREATE TABLE renewals (
    id                       uuid PRIMARY KEY,
    measure_id               uuid NOT NULL REFERENCES measures (id),
    household_id             uuid NOT NULL REFERENCES households (id),
    operator_organisation_id uuid NOT NULL REFERENCES organisations (id),
    decider_organisation_id  uuid NOT NULL REFERENCES organisations (id),
    -- Its place in the kind's renewal policy (1: the first renewal).
    ordinal                  integer NOT NULL CHECK (ordinal >= 1),
    months                   integer NOT NULL CHECK (months BETWEEN 1 AND 120),
    exceptional              boolean NOT NULL,
    justification            text,
    status                   text NOT NULL CHECK (status IN ('requested', 'granted', 'refused')),
    requested_by_account_id  uuid NOT NULL REFERENCES accounts (id),
    requested_on             date NOT NULL,
    decided_on               date,
    starts_on                date,
    ends_on                  date,
    refusal_reason           text,
    refusal_explanation      text,
    version                  integer NOT NULL DEFAULT 1,
    created_at               timestamptz NOT NULL DEFAULT now(),
    updated_at               timestamptz NOT NULL DEFAULT now(),
    CHECK (exceptional = false OR justification IS NOT NULL)
);
-- One pending request per measure.
CREATE UNIQUE INDEX renewals_one_pending ON renewals (measure_id) WHERE status = 'requested';
CREATE INDEX renewals_measure_idx ON renewals (measure_id, id);
CREATE INDEX renewals_decider_idx ON renewals (decider_organisation_id, id);
CREATE INDEX renewals_operator_idx ON renewals (operator_organisation_id, id);

CREATE TABLE measure_contacts (
    id                     uuid PRIMARY KEY,
    measure_id             uuid NOT NULL REFERENCES measures (id),
    occurred_on            date NOT NULL,
    kind                   text NOT NULL CHECK (kind IN ('home_visit', 'office_meeting', 'phone', 'video', 'missed_appointment')),
    duration_minutes       integer CHECK (duration_minutes BETWEEN 1 AND 720),
    worker_account_id      uuid NOT NULL REFERENCES accounts (id),
    -- The operator's alone: never shown to another organisation, never in an event.
    note                   text,
    recorded_by_account_id uuid NOT NULL REFERENCES accounts (id),
    created_at             timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX measure_contacts_measure_idx ON measure_contacts (measure_id, id);

CREATE TABLE objectives (
    id           uuid PRIMARY KEY,
    measure_id   uuid NOT NULL REFERENCES measures (id),
    household_id uuid NOT NULL REFERENCES households (id),
    theme        text NOT NULL CHECK (theme IN ('housing_access', 'keeping_the_home', 'budget', 'rights', 'health', 'employment_or_training', 'social_ties')),
    description  text NOT NULL,
    status       text NOT NULL CHECK (status IN ('in_progress', 'achieved', 'abandoned')),
    version      integer NOT NULL DEFAULT 1,
    created_at   timestamptz NOT NULL DEFAULT now(),
    updated_at   timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX objectives_measure_idx ON objectives (measure_id, id);

ALTER TABLE subleases ADD COLUMN measure_id uuid REFERENCES measures (id);
CREATE INDEX subleases_measure_idx ON subleases (measure_id) WHERE measure_id IS NOT NULL;
