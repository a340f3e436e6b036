-- The case kernel: one history for every exchanged case (referrals, agreements, proposals,
-- sub-leases; measures, renewals and objectives next). One table rather than one per case
-- type because the readers that matter read across types: a household's journey (every step
-- of every case, in time order) and the funders' delays (referral submitted → measure
-- started) are one indexed range each, and a step is the same record whatever the case.
CREATE TABLE case_transitions (
    id                    uuid PRIMARY KEY,
    case_type             text NOT NULL CHECK (case_type IN
                              ('referral', 'agreement', 'proposal', 'sublease', 'measure', 'renewal', 'objective')),
    case_id               uuid NOT NULL,
    -- The household concerned (none for an agreement): the journey's key.
    household_id          uuid REFERENCES households (id),
    action                text NOT NULL,
    from_status           text,
    to_status             text NOT NULL,
    -- NULL when the service acted (expiry, obsolescence).
    actor_account_id      uuid REFERENCES accounts (id),
    actor_organisation_id uuid REFERENCES organisations (id),
    comment               text,
    -- A coded reason where the action has one (a decline, an end, a suspension, a refusal).
    reason_code           text,
    occurred_at           timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX case_transitions_case_idx ON case_transitions (case_id, occurred_at, id);
CREATE INDEX case_transitions_household_idx ON case_transitions (household_id, occurred_at)
    WHERE household_id IS NOT NULL;

INSERT INTO case_transitions (id, case_type, case_id, household_id, action, from_status, to_status,
                              actor_account_id, actor_organisation_id, comment, reason_code, occurred_at)
SELECT t.id, 'referral', t.referral_id, r.household_id, t.action, t.from_status, t.to_status,
       t.actor_account_id, t.actor_organisation_id, t.comment,
       CASE WHEN t.action = 'decline' THEN r.decline_reason END, t.occurred_at
FROM referral_transitions t JOIN referrals r ON r.id = t.referral_id;

INSERT INTO case_transitions (id, case_type, case_id, household_id, action, from_status, to_status,
                              actor_account_id, actor_organisation_id, comment, reason_code, occurred_at)
SELECT t.id, 'sublease', t.sublease_id, s.household_id, t.action, t.from_status, t.to_status,
       t.actor_account_id, t.actor_organisation_id, t.comment,
       CASE WHEN t.action = 'end' THEN s.end_reason END, t.occurred_at
FROM sublease_transitions t JOIN subleases s ON s.id = t.sublease_id;

-- Agreements and proposals kept no history: their creation is all that is known for sure.
INSERT INTO case_transitions (id, case_type, case_id, household_id, action, from_status, to_status,
                              actor_organisation_id, occurred_at)
SELECT gen_random_uuid(), 'agreement', a.id, NULL, 'propose', NULL, 'proposed', a.landlord_organisation_id, a.created_at
FROM agreements a;
INSERT INTO case_transitions (id, case_type, case_id, household_id, action, from_status, to_status,
                              actor_account_id, actor_organisation_id, occurred_at)
SELECT gen_random_uuid(), 'proposal', p.id, p.household_id, 'propose', NULL, 'proposed',
       p.proposed_by_account_id, p.association_organisation_id, p.created_at
FROM proposals p;

DROP TABLE referral_transitions;
DROP TABLE sublease_transitions;
