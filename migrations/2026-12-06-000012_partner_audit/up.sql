-- What partners and auditors found (issue 20): tokens, sharing, renewals, contacts, outcomes.

-- A person's sign-in session keeps the scopes first granted: a refresh gets those or fewer
-- (RFC 6749 §6). NULL for a session opened before this release: it gets the account's
-- scopes, as it did then (such sessions end within the refresh token's lifetime).
ALTER TABLE sessions ADD COLUMN scopes text;

-- Moves with every change of an account's credentials (a rotated secret, a reset
-- password): access tokens carry the value they were issued under, and one that no longer
-- matches is refused at its next request, on every instance.
ALTER TABLE accounts ADD COLUMN credentials_version integer NOT NULL DEFAULT 1;

-- A measure's planned end is computed from its start, never by adding to a previous end:
-- start + (the kind's duration + the months renewals granted) + the days suspended. Month
-- arithmetic clamps to the month's last day once (31 August + 6 months = 28 February;
-- + 9 months = 31 May), so the end no longer drifts at each renewal.
ALTER TABLE measures
    ADD COLUMN renewed_months integer NOT NULL DEFAULT 0 CHECK (renewed_months >= 0),
    -- Why a proposed measure was given up (a coded reason; the comment is in its history).
    ADD COLUMN cancellation_reason text CHECK (cancellation_reason IN
        ('funder_refused', 'household_declined', 'household_unreachable', 'household_moved_away',
         'other_support', 'duplicate', 'other'));
UPDATE measures m SET renewed_months = g.months
    FROM (SELECT measure_id, sum(months)::integer AS months FROM renewals WHERE status = 'granted'
          GROUP BY measure_id) g
    WHERE g.measure_id = m.id;
UPDATE measures SET planned_end_on =
        (starts_on + make_interval(months => (rules ->> 'duration_months')::integer + renewed_months))::date
        + suspended_days + coalesce(suspended_until - suspended_on, 0)
    WHERE rules ->> 'duration_months' IS NOT NULL;

-- The catalogue's renewal window and outcome rules.
ALTER TABLE measure_kinds
    -- A renewal may be asked in the last so many months before the planned end; NULL: 3
    -- (as les-emplois opens PASS IAE prolongations).
    ADD COLUMN renewal_window_months integer CHECK (renewal_window_months BETWEEN 1 AND 24),
    -- Groups of outcome codes that exclude each other: a measure closes with at most one
    -- code of each group.
    ADD COLUMN exclusive_outcomes jsonb NOT NULL DEFAULT '[]';
-- Every kind lists its outcome codes (none listed no longer means "any"): the housing
-- outcomes for every kind, employment or training for AGIR (DOMAIN.md §4). The housing
-- outcomes exclude each other; a death excludes every other outcome.
UPDATE measure_kinds SET outcome_codes =
    CASE WHEN code = 'agir'
         THEN '["accessed_housing", "kept_housing", "rehoused", "left_without_solution", "moved_away", "ended_by_household", "employment_or_training", "deceased"]'::jsonb
         ELSE '["accessed_housing", "kept_housing", "rehoused", "left_without_solution", "moved_away", "ended_by_household", "deceased"]'::jsonb
    END
    WHERE outcome_codes = '[]'::jsonb OR code IN ('agir', 'avdl');
-- Each group keeps the codes the kind offers, when two or more (as the service does for a
-- new kind that names no groups: measures::rules::default_exclusive_outcomes).
UPDATE measure_kinds k SET exclusive_outcomes = coalesce((
        SELECT jsonb_agg(kept ORDER BY g.n)
        FROM jsonb_array_elements(
                 '[["accessed_housing", "kept_housing", "rehoused", "left_without_solution", "moved_away", "deceased"],
                   ["ended_by_household", "deceased"], ["employment_or_training", "deceased"]]'::jsonb)
             WITH ORDINALITY AS g(codes, n)
        CROSS JOIN LATERAL (
            SELECT jsonb_agg(c.code ORDER BY c.i) AS kept
            FROM jsonb_array_elements(g.codes) WITH ORDINALITY AS c(code, i)
            WHERE k.outcome_codes @> jsonb_build_array(c.code)) x
        WHERE jsonb_array_length(kept) >= 2), '[]'::jsonb),
    version = version + 1, updated_at = now();
-- The measures already opened keep their rules, completed with what the catalogue did not
-- say: the outcome codes and the groups that exclude each other.
UPDATE measures m SET rules = m.rules
        || jsonb_build_object('outcome_codes', CASE WHEN m.rules -> 'outcome_codes' = '[]'::jsonb
                                                    THEN k.outcome_codes ELSE m.rules -> 'outcome_codes' END,
                              'exclusive_outcomes', k.exclusive_outcomes)
    FROM measure_kinds k WHERE k.code = m.kind;

-- Renewals: the decision as the commission took it (its date, reference and comment, and
-- the months granted, at most those asked), and the operator's withdrawal of a request.
ALTER TABLE renewals DROP CONSTRAINT renewals_status_check;
ALTER TABLE renewals ADD CONSTRAINT renewals_status_check
    CHECK (status IN ('requested', 'granted', 'refused', 'withdrawn'));
ALTER TABLE renewals
    ADD COLUMN granted_months integer CHECK (granted_months BETWEEN 1 AND 120),
    ADD COLUMN decision_reference text,
    ADD COLUMN decision_comment text;
UPDATE renewals SET granted_months = months WHERE status = 'granted';
ALTER TABLE renewals ADD CONSTRAINT renewals_grant_check
    CHECK ((status = 'granted') = (granted_months IS NOT NULL) AND (granted_months IS NULL OR granted_months <= months));

-- Contacts can be corrected and removed by the operator, with a reason kept in their
-- history; a removed contact no longer counts.
ALTER TABLE measure_contacts
    ADD COLUMN version integer NOT NULL DEFAULT 1,
    ADD COLUMN updated_at timestamptz NOT NULL DEFAULT now(),
    ADD COLUMN removed_at timestamptz,
    ADD COLUMN removal_reason text;
-- The same contact (measure, kind, day, worker) twice: the rule looks it up by this index.
CREATE INDEX measure_contacts_same_idx ON measure_contacts (measure_id, occurred_on, kind, worker_account_id)
    WHERE removed_at IS NULL;

-- A contact's history is a case's (its record, corrections and removal); a step may keep
-- what it changed (a correction's previous values).
ALTER TABLE case_transitions DROP CONSTRAINT case_transitions_case_type_check;
ALTER TABLE case_transitions ADD CONSTRAINT case_transitions_case_type_check
    CHECK (case_type IN ('referral', 'agreement', 'proposal', 'sublease', 'measure', 'renewal', 'objective', 'contact'));
ALTER TABLE case_transitions ADD COLUMN details jsonb;

-- Sharing: consent in force, or a commission's mandate (DOMAIN.md "Commissions and
-- mandates"). A commission is not any department or State service: the platform admins say
-- which organisation is the secretariat of which commission.
ALTER TABLE organisations ADD COLUMN commissions jsonb NOT NULL DEFAULT '[]';

-- A household's territory: the département where it lives or is to be housed (by default
-- its creator's). A funder covers it, or does not fund the household's measures.
ALTER TABLE households ADD COLUMN department_code text
    CHECK (department_code ~ '^(0[1-9]|1[0-9]|2[1-9AB]|[3-8][0-9]|9[0-5]|97[1-8])$');
UPDATE households h SET department_code = o.department_code
    FROM organisations o WHERE o.id = h.created_by_organisation_id;
ALTER TABLE households ALTER COLUMN department_code SET NOT NULL;

-- The mandate a referral sent without the household's consent relies on.
ALTER TABLE referrals
    ADD COLUMN mandate_commission text CHECK (mandate_commission IN ('ccapex', 'dalo_mediation', 'cud', 'pdalpd')),
    ADD COLUMN mandate_reference text,
    ADD COLUMN mandate_decided_on date,
    ADD CONSTRAINT referrals_mandate_whole CHECK (
        (mandate_commission IS NULL) = (mandate_reference IS NULL)
        AND (mandate_commission IS NULL) = (mandate_decided_on IS NULL));

-- Every time a household became visible to another organisation: who to whom, through
-- which case, on which basis (consent, or a commission's mandate with its decision). The
-- DPO's record of sharings.
CREATE TABLE household_sharings (
    id                        uuid PRIMARY KEY,
    household_id              uuid NOT NULL REFERENCES households (id),
    -- The organisation that now sees it.
    organisation_id           uuid NOT NULL REFERENCES organisations (id),
    -- The organisation on whose behalf it was shared.
    shared_by_organisation_id uuid NOT NULL REFERENCES organisations (id),
    actor_account_id          uuid REFERENCES accounts (id),
    path                      text NOT NULL CHECK (path IN ('referral', 'transfer', 'proposal', 'sublease', 'measure_funder')),
    case_id                   uuid NOT NULL,
    basis                     text NOT NULL CHECK (basis IN ('consent', 'mandate')),
    commission                text CHECK (commission IN ('ccapex', 'dalo_mediation', 'cud', 'pdalpd')),
    decision_reference        text,
    decided_on                date,
    shared_at                 timestamptz NOT NULL DEFAULT now(),
    CHECK ((basis = 'mandate') = (commission IS NOT NULL)
           AND (commission IS NULL) = (decision_reference IS NULL)
           AND (commission IS NULL) = (decided_on IS NULL))
);
CREATE INDEX household_sharings_household_idx ON household_sharings (household_id, shared_at);
