-- Landlords' housing units, the agreements that make them available to associations,
-- proposals of households for them, and sub-leases.

-- Two sub-leases of one unit may not overlap: an exclusion constraint on (unit, period),
-- which needs equality on uuid inside a GiST index.
CREATE EXTENSION IF NOT EXISTS btree_gist;

CREATE TABLE agreements (
    id                          uuid PRIMARY KEY,
    landlord_organisation_id    uuid NOT NULL REFERENCES organisations (id),
    association_organisation_id uuid NOT NULL REFERENCES organisations (id),
    kind                        text NOT NULL CHECK (kind IN ('intermediated_rental', 'sliding_lease',
                                    'management_mandate', 'reservation')),
    units_covered               integer NOT NULL CHECK (units_covered BETWEEN 1 AND 10000),
    starts_on                   date NOT NULL,
    ends_on                     date,
    programme_label             text,
    status                      text NOT NULL CHECK (status IN ('proposed', 'active', 'declined', 'terminated')),
    closing_comment             text,
    version                     integer NOT NULL DEFAULT 1,
    created_at                  timestamptz NOT NULL DEFAULT now(),
    updated_at                  timestamptz NOT NULL DEFAULT now(),
    CHECK (ends_on IS NULL OR ends_on > starts_on),
    CHECK (landlord_organisation_id <> association_organisation_id)
);
CREATE INDEX agreements_landlord_idx ON agreements (landlord_organisation_id, id);
CREATE INDEX agreements_association_idx ON agreements (association_organisation_id, id);

CREATE TABLE units (
    id                        uuid PRIMARY KEY,
    -- The organisation that holds the unit: a landlord, or an association for a private
    -- owner's unit it manages under a mandate.
    holder_organisation_id    uuid NOT NULL REFERENCES organisations (id),
    owner_kind                text NOT NULL CHECK (owner_kind IN ('social_landlord', 'private_owner')),
    holder_reference          text,
    address_lines             jsonb NOT NULL,
    postcode                  text NOT NULL CHECK (postcode ~ '^[0-9]{5}$'),
    commune                   text NOT NULL,
    insee_code                text NOT NULL CHECK (insee_code ~ '^([0-9]{2}|2A|2B)[0-9]{3}$'),
    unit_type                 text NOT NULL CHECK (unit_type IN ('room', 't1', 't2', 't3', 't4', 't5', 't6')),
    area_m2                   double precision NOT NULL CHECK (area_m2 > 0 AND area_m2 < 1000),
    floor                     integer NOT NULL CHECK (floor BETWEEN -5 AND 100),
    lift                      boolean NOT NULL,
    accessible                boolean NOT NULL,
    rent_cents                bigint NOT NULL CHECK (rent_cents >= 0),
    charges_cents             bigint NOT NULL CHECK (charges_cents >= 0),
    financing                 text NOT NULL CHECK (financing IN ('plai', 'plus', 'pls', 'anah_private', 'free_private')),
    energy_class              text NOT NULL CHECK (energy_class IN ('a', 'b', 'c', 'd', 'e', 'f', 'g')),
    energy_assessed_on        date,
    status                    text NOT NULL CHECK (status IN ('available', 'reserved', 'occupied', 'unavailable')),
    agreement_id              uuid REFERENCES agreements (id),
    version                   integer NOT NULL DEFAULT 1,
    created_at                timestamptz NOT NULL DEFAULT now(),
    updated_at                timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX units_holder_idx ON units (holder_organisation_id, id);
CREATE INDEX units_agreement_idx ON units (agreement_id, id) WHERE agreement_id IS NOT NULL;
-- The search partners run: a commune, a type, a status (then rent and the rest).
CREATE INDEX units_search_idx ON units (insee_code, unit_type, status, id);
CREATE INDEX units_postcode_idx ON units (postcode, id);
CREATE INDEX units_updated_idx ON units (updated_at);

CREATE TABLE proposals (
    id                          uuid PRIMARY KEY,
    unit_id                     uuid NOT NULL REFERENCES units (id),
    household_id                uuid NOT NULL REFERENCES households (id),
    association_organisation_id uuid NOT NULL REFERENCES organisations (id),
    landlord_organisation_id    uuid NOT NULL REFERENCES organisations (id),
    proposed_by_account_id      uuid NOT NULL REFERENCES accounts (id),
    comment                     text,
    status                      text NOT NULL CHECK (status IN ('proposed', 'accepted', 'declined')),
    decline_reason              text CHECK (decline_reason IN ('household_too_large', 'resources_too_low',
                                    'unit_no_longer_available', 'other')),
    decline_comment             text,
    version                     integer NOT NULL DEFAULT 1,
    created_at                  timestamptz NOT NULL DEFAULT now(),
    updated_at                  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX proposals_unit_idx ON proposals (unit_id, id);
CREATE INDEX proposals_household_idx ON proposals (household_id);
CREATE INDEX proposals_association_idx ON proposals (association_organisation_id, id);
CREATE INDEX proposals_landlord_idx ON proposals (landlord_organisation_id, id);

CREATE TABLE subleases (
    id                          uuid PRIMARY KEY,
    unit_id                     uuid NOT NULL REFERENCES units (id),
    -- The main tenant: the association that sub-lets.
    main_tenant_organisation_id uuid NOT NULL REFERENCES organisations (id),
    landlord_organisation_id    uuid NOT NULL REFERENCES organisations (id),
    household_id                uuid NOT NULL REFERENCES households (id),
    kind                        text NOT NULL CHECK (kind IN ('iml', 'sliding_lease', 'management_mandate')),
    starts_on                   date NOT NULL,
    planned_end_on              date NOT NULL,
    ended_on                    date,
    rent_cents                  bigint NOT NULL CHECK (rent_cents >= 0),
    charges_cents               bigint NOT NULL CHECK (charges_cents >= 0),
    housing_benefit_cents       bigint NOT NULL CHECK (housing_benefit_cents >= 0),
    deposit_cents               bigint NOT NULL CHECK (deposit_cents >= 0),
    status                      text NOT NULL CHECK (status IN ('planned', 'active', 'glided', 'ended')),
    end_reason                  text CHECK (end_reason IN ('rehoused', 'left', 'evicted', 'deceased', 'other')),
    closing_comment             text,
    -- The days the unit is sub-let: from the start to the end (or the planned end).
    period                      daterange NOT NULL GENERATED ALWAYS AS
                                    (daterange(starts_on, COALESCE(ended_on, planned_end_on), '[)')) STORED,
    version                     integer NOT NULL DEFAULT 1,
    created_at                  timestamptz NOT NULL DEFAULT now(),
    updated_at                  timestamptz NOT NULL DEFAULT now(),
    CHECK (planned_end_on > starts_on),
    CHECK (ended_on IS NULL OR ended_on >= starts_on),
    CHECK (housing_benefit_cents <= rent_cents + charges_cents),
    CONSTRAINT subleases_no_overlap EXCLUDE USING gist (unit_id WITH =, period WITH &&)
        WHERE (NOT isempty(period))
);
-- A unit's sub-leases (`?unit_id=`, and whether a unit is sub-let to an organisation, which
-- decides what it sees) without going through the exclusion constraint's GiST index.
CREATE INDEX subleases_unit_idx ON subleases (unit_id, id);
CREATE INDEX subleases_tenant_idx ON subleases (main_tenant_organisation_id, id);
CREATE INDEX subleases_landlord_idx ON subleases (landlord_organisation_id, id);
CREATE INDEX subleases_household_idx ON subleases (household_id);

CREATE TABLE sublease_transitions (
    id                    uuid PRIMARY KEY,
    sublease_id           uuid NOT NULL REFERENCES subleases (id),
    action                text NOT NULL,
    from_status           text,
    to_status             text NOT NULL,
    actor_account_id      uuid REFERENCES accounts (id),
    actor_organisation_id uuid REFERENCES organisations (id),
    comment               text,
    occurred_at           timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX sublease_transitions_sublease_idx ON sublease_transitions (sublease_id, occurred_at);

CREATE TABLE rent_arrears (
    id                     uuid PRIMARY KEY,
    sublease_id            uuid NOT NULL REFERENCES subleases (id),
    amount_cents           bigint NOT NULL CHECK (amount_cents > 0),
    months                 integer NOT NULL CHECK (months BETWEEN 1 AND 120),
    comment                text,
    recorded_by_account_id uuid NOT NULL REFERENCES accounts (id),
    recorded_by_organisation_id uuid NOT NULL REFERENCES organisations (id),
    recorded_at            timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX rent_arrears_sublease_idx ON rent_arrears (sublease_id, id);
