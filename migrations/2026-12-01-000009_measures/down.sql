ALTER TABLE subleases DROP COLUMN measure_id;
DELETE FROM case_transitions WHERE case_type IN ('measure', 'renewal', 'objective');
DROP TABLE objectives;
DROP TABLE measure_contacts;
DROP TABLE renewals;
DROP TABLE measures;
ALTER TABLE measure_kinds
    DROP COLUMN duration_months, DROP COLUMN needs_decision, DROP COLUMN renewal_policy,
    DROP COLUMN contact_every_days, DROP COLUMN contact_kinds, DROP COLUMN outcome_codes,
    DROP COLUMN max_total_months, DROP COLUMN max_suspension_days, DROP COLUMN operator_kinds,
    DROP COLUMN funder_kinds, DROP COLUMN department_code, DROP COLUMN version, DROP COLUMN updated_at;
