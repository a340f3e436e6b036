-- Programmes and what funders see (issue 12): calls for projects funding a number of
-- measures per kind, the measures under them, and the milestones the indicators read.

-- A funder's programme (*appel à projets*): "45 ASRL and 58 AML measures, 515 000 €,
-- 2019–2020". Its kinds, operators and targets are lists edited together with it.
CREATE TABLE programmes (
    id                     uuid PRIMARY KEY,
    name                   text NOT NULL,
    -- A department or a State service; it manages the programme.
    funder_organisation_id uuid NOT NULL REFERENCES organisations (id),
    starts_on              date NOT NULL,
    ends_on                date NOT NULL CHECK (ends_on >= starts_on),
    -- The départements it covers: ["62"].
    department_codes       jsonb NOT NULL,
    budget_cents           bigint NOT NULL CHECK (budget_cents >= 0),
    -- Outcome targets: [{"kind": "agir", "outcomes": ["employment_or_training"], "at_least_percent": 60}].
    targets                jsonb NOT NULL DEFAULT '[]',
    version                integer NOT NULL DEFAULT 1,
    created_at             timestamptz NOT NULL DEFAULT now(),
    updated_at             timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX programmes_funder_idx ON programmes (funder_organisation_id, id);

-- The operators it funds.
CREATE TABLE programme_operators (
    programme_id             uuid NOT NULL REFERENCES programmes (id),
    operator_organisation_id uuid NOT NULL REFERENCES organisations (id),
    PRIMARY KEY (programme_id, operator_organisation_id)
);
CREATE INDEX programme_operators_operator_idx ON programme_operators (operator_organisation_id, programme_id);

-- Per kind, the measures funded and the places used: a place is taken when a measure of
-- the programme starts (and kept when it closes: a programme funds measures, not
-- simultaneous places). `used` moves in the transaction of the start, by one conditional
-- UPDATE, so two operators racing for the last place cannot both take it.
CREATE TABLE programme_kinds (
    programme_id uuid NOT NULL REFERENCES programmes (id),
    kind         text NOT NULL REFERENCES measure_kinds (code),
    funded       integer NOT NULL CHECK (funded >= 0),
    used         integer NOT NULL DEFAULT 0 CHECK (used >= 0),
    PRIMARY KEY (programme_id, kind),
    CHECK (used <= funded)
);

ALTER TABLE measures
    ADD COLUMN programme_id uuid REFERENCES programmes (id),
    -- Milestones: the time of the step that started (first became active) and closed the
    -- measure, copied from its history by the trigger below; never written otherwise.
    ADD COLUMN started_at timestamptz,
    ADD COLUMN closed_at timestamptz,
    -- How many times a contact that counts came after its due date (the rhythm was broken).
    ADD COLUMN contact_rhythm_missed integer NOT NULL DEFAULT 0 CHECK (contact_rhythm_missed >= 0);
CREATE INDEX measures_programme_idx ON measures (programme_id, operator_organisation_id)
    WHERE programme_id IS NOT NULL;

ALTER TABLE referrals
    -- Milestones from the history, like the measures' ones.
    ADD COLUMN submitted_at timestamptz,
    ADD COLUMN acknowledged_at timestamptz,
    -- Accepted or declined.
    ADD COLUMN decided_at timestamptz;
-- A household's first referral (the days to a home), and an operator's referrals in time.
CREATE INDEX referrals_household_submitted_idx ON referrals (household_id, submitted_at);
CREATE INDEX referrals_addressee_submitted_idx ON referrals (addressee_organisation_id, submitted_at);

ALTER TABLE subleases
    -- When the household moved in (became active) and when the lease glided to it.
    ADD COLUMN started_at timestamptz,
    ADD COLUMN glided_at timestamptz;

-- The milestones are a projection of the history: each is the `occurred_at` of the first
-- step that reached it, written in the step's transaction. Editable fields (a desired
-- start, a measure's `starts_on`) never move them, so delays cannot be rewritten.
CREATE FUNCTION case_milestones() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.case_type = 'referral' THEN
        IF NEW.from_status IS NULL AND NEW.to_status = 'submitted' THEN
            UPDATE referrals SET submitted_at = NEW.occurred_at WHERE id = NEW.case_id AND submitted_at IS NULL;
        ELSIF NEW.to_status = 'acknowledged' THEN
            UPDATE referrals SET acknowledged_at = NEW.occurred_at WHERE id = NEW.case_id AND acknowledged_at IS NULL;
        ELSIF NEW.to_status IN ('accepted', 'declined') THEN
            UPDATE referrals SET decided_at = NEW.occurred_at WHERE id = NEW.case_id AND decided_at IS NULL;
        END IF;
    ELSIF NEW.case_type = 'measure' THEN
        IF NEW.to_status = 'active' THEN
            UPDATE measures SET started_at = NEW.occurred_at WHERE id = NEW.case_id AND started_at IS NULL;
        ELSIF NEW.to_status = 'closed' THEN
            UPDATE measures SET closed_at = NEW.occurred_at WHERE id = NEW.case_id AND closed_at IS NULL;
        END IF;
    ELSIF NEW.case_type = 'sublease' THEN
        IF NEW.to_status = 'active' THEN
            UPDATE subleases SET started_at = NEW.occurred_at WHERE id = NEW.case_id AND started_at IS NULL;
        ELSIF NEW.to_status = 'glided' THEN
            UPDATE subleases SET glided_at = NEW.occurred_at WHERE id = NEW.case_id AND glided_at IS NULL;
        END IF;
    END IF;
    RETURN NULL;
END $$;
CREATE TRIGGER case_milestones AFTER INSERT ON case_transitions
    FOR EACH ROW EXECUTE FUNCTION case_milestones();

-- The milestones of the cases recorded so far.
UPDATE referrals r SET submitted_at = t.at FROM (
    SELECT case_id, min(occurred_at) AS at FROM case_transitions
    WHERE case_type = 'referral' AND from_status IS NULL GROUP BY case_id) t WHERE t.case_id = r.id;
UPDATE referrals r SET acknowledged_at = t.at FROM (
    SELECT case_id, min(occurred_at) AS at FROM case_transitions
    WHERE case_type = 'referral' AND to_status = 'acknowledged' GROUP BY case_id) t WHERE t.case_id = r.id;
UPDATE referrals r SET decided_at = t.at FROM (
    SELECT case_id, min(occurred_at) AS at FROM case_transitions
    WHERE case_type = 'referral' AND to_status IN ('accepted', 'declined') GROUP BY case_id) t WHERE t.case_id = r.id;
UPDATE measures m SET started_at = t.at FROM (
    SELECT case_id, min(occurred_at) AS at FROM case_transitions
    WHERE case_type = 'measure' AND to_status = 'active' GROUP BY case_id) t WHERE t.case_id = m.id;
UPDATE measures m SET closed_at = t.at FROM (
    SELECT case_id, min(occurred_at) AS at FROM case_transitions
    WHERE case_type = 'measure' AND to_status = 'closed' GROUP BY case_id) t WHERE t.case_id = m.id;
UPDATE subleases s SET started_at = t.at FROM (
    SELECT case_id, min(occurred_at) AS at FROM case_transitions
    WHERE case_type = 'sublease' AND to_status = 'active' GROUP BY case_id) t WHERE t.case_id = s.id;
UPDATE subleases s SET glided_at = t.at FROM (
    SELECT case_id, min(occurred_at) AS at FROM case_transitions
    WHERE case_type = 'sublease' AND to_status = 'glided' GROUP BY case_id) t WHERE t.case_id = s.id;
