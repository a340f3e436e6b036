-- One open proposal of a household for a unit, enforced by the database (requests racing
-- to propose the same household get one 201 and 409s).
CREATE UNIQUE INDEX proposals_one_open ON proposals (unit_id, household_id)
    WHERE status = 'proposed';

-- Changes to stored data that SQL cannot compute (a household's identity key is folded by
-- the service's transliteration): each runs once, after the schema migrations, and is
-- recorded here.
CREATE TABLE data_migrations (
    name text PRIMARY KEY,
    applied_at timestamptz NOT NULL DEFAULT now()
);
