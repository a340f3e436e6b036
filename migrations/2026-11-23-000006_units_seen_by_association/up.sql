-- The association a unit is made available to, beside the agreement that does it: an
-- association's unit list then walks one index in id order (its units, by id) instead of
-- every unit filtered by "its agreement is one of mine". A composite foreign key keeps the
-- pair equal to the agreement's association.

ALTER TABLE agreements ADD CONSTRAINT agreements_id_association_key
    UNIQUE (id, association_organisation_id);

ALTER TABLE units ADD COLUMN agreement_association_id uuid;
UPDATE units u SET agreement_association_id = a.association_organisation_id
    FROM agreements a WHERE a.id = u.agreement_id;
ALTER TABLE units
    ADD CONSTRAINT units_agreement_association_fkey
        FOREIGN KEY (agreement_id, agreement_association_id)
        REFERENCES agreements (id, association_organisation_id),
    ADD CONSTRAINT units_agreement_association_check
        CHECK ((agreement_id IS NULL) = (agreement_association_id IS NULL));

CREATE INDEX units_association_idx ON units (agreement_association_id, id)
    WHERE agreement_association_id IS NOT NULL;
