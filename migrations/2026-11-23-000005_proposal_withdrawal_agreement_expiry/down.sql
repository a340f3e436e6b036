DROP INDEX agreements_expiry_idx;
UPDATE agreements SET status = 'terminated' WHERE status = 'expired';
ALTER TABLE agreements DROP CONSTRAINT agreements_status_check;
ALTER TABLE agreements ADD CONSTRAINT agreements_status_check
    CHECK (status IN ('proposed', 'active', 'declined', 'terminated'));

ALTER TABLE proposals DROP CONSTRAINT proposals_withdrawal_reason_check;
UPDATE proposals SET status = 'declined', decline_reason = 'other', decline_comment = withdrawal_reason
    WHERE status = 'withdrawn';
ALTER TABLE proposals DROP COLUMN withdrawal_reason;
ALTER TABLE proposals DROP CONSTRAINT proposals_status_check;
ALTER TABLE proposals ADD CONSTRAINT proposals_status_check
    CHECK (status IN ('proposed', 'accepted', 'declined'));
