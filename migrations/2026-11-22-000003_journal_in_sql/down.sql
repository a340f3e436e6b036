ALTER TABLE special_category_reads
    ADD CONSTRAINT special_category_reads_household_id_fkey FOREIGN KEY (household_id) REFERENCES households (id),
    ADD CONSTRAINT special_category_reads_account_id_fkey FOREIGN KEY (account_id) REFERENCES accounts (id),
    ADD CONSTRAINT special_category_reads_organisation_id_fkey FOREIGN KEY (organisation_id) REFERENCES organisations (id);
DROP FUNCTION passerelle_uuid_v7();
