-- An association withdraws a household it proposed (the household found another home,
-- changed its mind); an agreement whose period is over expires.

ALTER TABLE proposals DROP CONSTRAINT proposals_status_check;
ALTER TABLE proposals ADD CONSTRAINT proposals_status_check
    CHECK (status IN ('proposed', 'accepted', 'declined', 'withdrawn'));
ALTER TABLE proposals ADD COLUMN withdrawal_reason text;
ALTER TABLE proposals ADD CONSTRAINT proposals_withdrawal_reason_check
    CHECK ((status = 'withdrawn') = (withdrawal_reason IS NOT NULL));

ALTER TABLE agreements DROP CONSTRAINT agreements_status_check;
ALTER TABLE agreements ADD CONSTRAINT agreements_status_check
    CHECK (status IN ('proposed', 'active', 'declined', 'terminated', 'expired'));
-- The expiry job's search: active agreements by end date.
CREATE INDEX agreements_expiry_idx ON agreements (ends_on) WHERE status = 'active';
