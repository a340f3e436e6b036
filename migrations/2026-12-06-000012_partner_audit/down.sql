DROP TABLE household_sharings;
ALTER TABLE referrals DROP CONSTRAINT referrals_mandate_whole;
ALTER TABLE referrals DROP COLUMN mandate_commission, DROP COLUMN mandate_reference, DROP COLUMN mandate_decided_on;
ALTER TABLE households DROP COLUMN department_code;
ALTER TABLE organisations DROP COLUMN commissions;
ALTER TABLE case_transitions DROP COLUMN details;
DELETE FROM case_transitions WHERE case_type = 'contact';
ALTER TABLE case_transitions DROP CONSTRAINT case_transitions_case_type_check;
ALTER TABLE case_transitions ADD CONSTRAINT case_transitions_case_type_check
    CHECK (case_type IN ('referral', 'agreement', 'proposal', 'sublease', 'measure', 'renewal', 'objective'));
DROP INDEX measure_contacts_same_idx;
ALTER TABLE measure_contacts DROP COLUMN version, DROP COLUMN updated_at, DROP COLUMN removed_at,
    DROP COLUMN removal_reason;
ALTER TABLE renewals DROP CONSTRAINT renewals_grant_check;
ALTER TABLE renewals DROP COLUMN granted_months, DROP COLUMN decision_reference, DROP COLUMN decision_comment;
UPDATE renewals SET status = 'refused' WHERE status = 'withdrawn';
ALTER TABLE renewals DROP CONSTRAINT renewals_status_check;
ALTER TABLE renewals ADD CONSTRAINT renewals_status_check CHECK (status IN ('requested', 'granted', 'refused'));
ALTER TABLE measure_kinds DROP COLUMN renewal_window_months, DROP COLUMN exclusive_outcomes;
ALTER TABLE measures DROP COLUMN renewed_months, DROP COLUMN cancellation_reason;
ALTER TABLE accounts DROP COLUMN credentials_version;
ALTER TABLE sessions DROP COLUMN scopes;
