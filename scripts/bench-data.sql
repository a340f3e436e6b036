-- Synthetic data set for `make bench`: households and referrals, generated in the database.
-- Variables (psql -v): households, referrals. The demo organisations must be loaded: the
-- demo CCAPEX (ddets) refers, the demo association and 20 synthetic associations receive.
-- Names and dates are generated: no real person's data.
\set ON_ERROR_STOP on
BEGIN;

CREATE TEMP TABLE bench_ctx AS
SELECT (SELECT id FROM organisations WHERE siret = '16613186091395') AS ccapex,
       (SELECT id FROM accounts WHERE email = 'admin@ddets.demo.passerelle.test') AS ccapex_admin,
       (SELECT id FROM organisations WHERE siret = '19482199351817') AS association;

-- 20 more operators, so that the demo association receives its share of the referrals.
INSERT INTO organisations (id, kind, name, siret, department_code, contact_email)
SELECT gen_random_uuid(), 'association', 'Association synthétique ' || n,
       lpad((90000000000000 + n)::text, 14, '0'), '53', 'bench' || n || '@bench.passerelle.test'
FROM generate_series(1, 20) AS n
ON CONFLICT (siret) DO NOTHING;

CREATE TEMP TABLE bench_operators AS
SELECT row_number() OVER (ORDER BY id) - 1 AS n, id FROM organisations WHERE kind = 'association';

CREATE TEMP TABLE bench_kinds AS
SELECT row_number() OVER (ORDER BY code) - 1 AS n, code FROM measure_kinds;

INSERT INTO households (id, created_by_organisation_id, created_by_account_id, head_last_name, head_first_names,
                        head_birth_date, identity_key, household_type, adults, children,
                        monthly_resources_cents, housing_situation, priority_grounds, special_grounds,
                        consent_given_on, department_code)
SELECT gen_random_uuid(), c.ccapex, c.ccapex_admin, 'Synthetique' || n, 'Menage', date '1950-01-01' + (n % 20000),
       'synthetique' || n || '|menage|' || (date '1950-01-01' + (n % 20000)),
       (ARRAY['single_person', 'couple', 'single_parent_family', 'family'])[1 + n % 4], 1 + n % 2, n % 4,
       50000 + (n * 37) % 200000,
       (ARRAY['street', 'emergency_shelter', 'hotel', 'hosted_by_relatives', 'temporary_housing',
              'ordinary_housing_under_threat', 'ordinary_housing'])[1 + n % 7],
       '["eviction_threat"]',
       CASE WHEN n % 10 = 0 THEN '["domestic_violence_victim"]' ELSE '[]' END::jsonb,
       date '2026-01-01', '53'
FROM bench_ctx c, generate_series(1, :households) AS n;

CREATE TEMP TABLE bench_households AS
SELECT row_number() OVER (ORDER BY id) - 1 AS n, id, special_grounds FROM households
WHERE created_by_organisation_id = (SELECT ccapex FROM bench_ctx);

INSERT INTO referrals (id, household_id, referrer_organisation_id, referrer_account_id, addressee_organisation_id,
                       measure_kind, reason, priority_grounds, special_grounds, response_due_on, status,
                       decline_reason, created_at, updated_at, submitted_at)
SELECT gen_random_uuid(), h.id, c.ccapex, c.ccapex_admin, o.id, k.code, 'Orientation synthétique ' || s.n,
       '["eviction_threat"]', h.special_grounds, current_date + (s.n % 60) - 20,
       (ARRAY['submitted', 'acknowledged', 'acknowledged', 'accepted', 'accepted', 'accepted', 'declined',
              'withdrawn', 'expired', 'obsolete'])[1 + s.n % 10],
       CASE WHEN s.n % 10 = 6 THEN 'no_capacity' END,
       now() - (s.n % 1000) * interval '1 hour', now() - (s.n % 1000) * interval '1 hour',
       now() - (s.n % 1000) * interval '1 hour'
FROM bench_ctx c,
     generate_series(1, :referrals) AS s(n)
JOIN bench_households h ON h.n = (s.n::bigint * 7919) % (SELECT count(*) FROM bench_households)
JOIN bench_operators o ON o.n = s.n % (SELECT count(*) FROM bench_operators)
JOIN bench_kinds k ON k.n = (s.n / 21) % (SELECT count(*) FROM bench_kinds);

COMMIT;
ANALYZE households;
ANALYZE referrals;
