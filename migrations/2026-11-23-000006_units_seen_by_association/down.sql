DROP INDEX units_association_idx;
ALTER TABLE units DROP CONSTRAINT units_agreement_association_check;
ALTER TABLE units DROP CONSTRAINT units_agreement_association_fkey;
ALTER TABLE units DROP COLUMN agreement_association_id;
ALTER TABLE agreements DROP CONSTRAINT agreements_id_association_key;
