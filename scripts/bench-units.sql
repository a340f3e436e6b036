-- Synthetic housing for `make bench`: units (psql -v units=N) over 500 communes of
-- Saône-et-Loire, held by the demo landlord (one in five) and 20 synthetic landlords; the
-- demo landlord's active agreement with the demo association has 10 000 of them attached.
-- Addresses are generated: no real person's data.
\set ON_ERROR_STOP on
BEGIN;

CREATE TEMP TABLE bench_housing AS
SELECT (SELECT id FROM organisations WHERE siret = '90937865797546') AS landlord,
       (SELECT id FROM organisations WHERE siret = '19482199351817') AS association;

INSERT INTO organisations (id, kind, name, siret, department_code, contact_email)
SELECT gen_random_uuid(), 'social_landlord', 'Bailleur synthétique ' || n,
       lpad((80000000000000 + n)::text, 14, '0'), '71', 'bailleur' || n || '@bench.passerelle.test'
FROM generate_series(1, 20) AS n
ON CONFLICT (siret) DO NOTHING;

CREATE TEMP TABLE bench_landlords AS
SELECT row_number() OVER (ORDER BY id) - 1 AS n, id FROM organisations
WHERE kind = 'social_landlord' AND siret LIKE '8000000000%';

INSERT INTO agreements (id, landlord_organisation_id, association_organisation_id, kind, units_covered,
                        starts_on, status, programme_label)
SELECT gen_random_uuid(), landlord, association, 'intermediated_rental', 10000, date '2026-01-01',
       'active', 'Banc d''essai'
FROM bench_housing;

INSERT INTO units (id, holder_organisation_id, owner_kind, address_lines, postcode, commune, insee_code,
                   unit_type, area_m2, floor, lift, accessible, rent_cents, charges_cents, financing,
                   energy_class, status, agreement_id, agreement_association_id, created_at, updated_at)
SELECT gen_random_uuid(),
       CASE WHEN n % 5 = 0 THEN c.landlord ELSE (SELECT id FROM bench_landlords WHERE bench_landlords.n = u.n % 20) END,
       'social_landlord', jsonb_build_array(n || ' rue Synthétique'), '71' || lpad((n % 9)::text, 1, '0') || '00',
       'Commune ' || (n % 500), '71' || lpad((1 + n % 500)::text, 3, '0'),
       (ARRAY['room', 't1', 't2', 't3', 't4', 't5', 't6'])[1 + (n / 500) % 7],
       15 + (n * 13) % 120, (n % 12) - 1, n % 3 = 0, n % 4 = 0,
       20000 + (n * 7919) % 80000, 3000 + (n * 31) % 9000,
       (ARRAY['plai', 'plus', 'pls', 'anah_private', 'free_private'])[1 + n % 5],
       (ARRAY['a', 'b', 'c', 'd', 'd', 'e', 'c'])[1 + (n / 7) % 7],
       (ARRAY['available', 'available', 'available', 'reserved', 'occupied', 'occupied', 'unavailable'])[1 + (n / 3) % 7],
       CASE WHEN n % 5 = 0 AND n / 5 < 10000 THEN (SELECT id FROM agreements WHERE programme_label = 'Banc d''essai' LIMIT 1) END,
       CASE WHEN n % 5 = 0 AND n / 5 < 10000 THEN c.association END,
       now() - (n % 1000) * interval '1 hour', now() - (n % 1000) * interval '1 hour'
FROM bench_housing c, generate_series(1, :units) AS u(n);

COMMIT;
