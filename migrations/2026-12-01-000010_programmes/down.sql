DROP TRIGGER case_milestones ON case_transitions;
DROP FUNCTION case_milestones();
DROP INDEX referrals_household_submitted_idx;
DROP INDEX referrals_addressee_submitted_idx;
ALTER TABLE referrals DROP COLUMN submitted_at, DROP COLUMN acknowledged_at, DROP COLUMN decided_at;
ALTER TABLE subleases DROP COLUMN started_at, DROP COLUMN glided_at;
ALTER TABLE measures DROP COLUMN programme_id, DROP COLUMN started_at, DROP COLUMN closed_at,
    DROP COLUMN contact_rhythm_missed;
DROP TABLE programme_kinds;
DROP TABLE programme_operators;
DROP TABLE programmes;
