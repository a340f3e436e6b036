-- Synthetic support measures for `make bench`: :measures measures and :contacts contacts
-- (psql -v), generated in the database after scripts/bench-data.sql (its households and
-- its 21 associations). 10 000 workers share the measures (100 each at 1 000 000); the demo
-- association's worker is one of them. Identifiers are time-ordered like the service's
-- UUID v7 (a counter in the low bits), so that the indexes load in order. Names and dates
-- are generated: no real person's data.
\set ON_ERROR_STOP on
BEGIN;

CREATE TEMP TABLE bench_operators AS
SELECT row_number() OVER (ORDER BY id) - 1 AS n, id FROM organisations WHERE kind = 'association';

-- The workers: the demo association's worker first, then synthetic ones spread over the
-- associations.
INSERT INTO accounts (id, organisation_id, kind, role, name, email, active)
SELECT ('01900000-0000-7000-8000-' || lpad(to_hex(w), 12, '0'))::uuid, o.id, 'person', 'worker',
       'Travailleur synthétique ' || w, 'worker' || w || '@bench.passerelle.test', true
FROM generate_series(1, 9999) AS w
JOIN bench_operators o ON o.n = w % (SELECT count(*) FROM bench_operators)
ON CONFLICT DO NOTHING;

CREATE TEMP TABLE bench_workers AS
SELECT 0 AS n, a.id, a.organisation_id FROM accounts a WHERE a.email = 'worker@association.demo.passerelle.test'
UNION ALL
SELECT w, ('01900000-0000-7000-8000-' || lpad(to_hex(w), 12, '0'))::uuid, a.organisation_id
FROM generate_series(1, 9999) AS w
JOIN accounts a ON a.id = ('01900000-0000-7000-8000-' || lpad(to_hex(w), 12, '0'))::uuid;

CREATE TEMP TABLE bench_households AS
SELECT row_number() OVER (ORDER BY id) - 1 AS n, id FROM households;

-- The kinds a measure takes (national ones), with the rules it copies.
CREATE TEMP TABLE bench_kinds AS
SELECT row_number() OVER (ORDER BY code) - 1 AS n, code, duration_months, contact_every_days,
       jsonb_build_object('kind_version', version, 'duration_months', duration_months,
                          'needs_decision', needs_decision, 'renewal_policy', renewal_policy,
                          'contact_every_days', contact_every_days, 'contact_kinds', contact_kinds,
                          'outcome_codes', outcome_codes, 'max_total_months', max_total_months,
                          'max_suspension_days', coalesce(max_suspension_days, 92)) AS rules
FROM measure_kinds WHERE department_code IS NULL AND code IN ('asll', 'avdl', 'empex', 'iml', 'sla');

CREATE TEMP TABLE bench_ctx AS
SELECT (SELECT id FROM organisations WHERE siret = '52601815908308') AS department,
       (SELECT id FROM organisations WHERE siret = '16613186091395') AS state,
       (SELECT count(*) FROM bench_workers) AS workers,
       (SELECT count(*) FROM bench_households) AS households,
       (SELECT count(*) FROM bench_kinds) AS kinds;

-- 65 % active (half of those late for their next contact when the kind has a rhythm), 25 %
-- closed, 5 % proposed, 5 % cancelled.
INSERT INTO measures (id, kind, rules, household_id, operator_organisation_id, worker_account_id,
                      funder_organisation_id, status, starts_on, planned_end_on, ended_on, outcomes,
                      last_contact_on, next_contact_due_on, contacts_count, created_at, updated_at)
SELECT ('01910000-0000-7000-8000-' || lpad(to_hex(s.n), 12, '0'))::uuid, k.code, k.rules, h.id,
       w.organisation_id, w.id,
       CASE WHEN k.code = 'asll' THEN c.department ELSE c.state END,
       st.status,
       current_date - (s.n % 700)::int,
       CASE WHEN k.duration_months IS NOT NULL
            THEN current_date - (s.n % 700)::int + make_interval(months => k.duration_months) END,
       CASE WHEN st.status = 'closed' THEN current_date - (s.n % 30)::int END,
       CASE WHEN st.status = 'closed' THEN '["kept_housing"]' ELSE '[]' END::jsonb,
       CASE WHEN st.status IN ('active', 'closed') THEN current_date - 20 + (s.n % 40)::int - 14 END,
       CASE WHEN st.status = 'active' AND k.contact_every_days IS NOT NULL
            THEN current_date - 20 + (s.n % 40)::int END,
       CASE WHEN st.status IN ('active', 'closed') THEN 10 ELSE 0 END,
       now() - (s.n % 1000) * interval '1 hour', now() - (s.n % 1000) * interval '1 hour'
FROM generate_series(1, :measures) AS s(n)
CROSS JOIN bench_ctx c
JOIN bench_workers w ON w.n = s.n % c.workers
JOIN bench_households h ON h.n = (s.n::bigint * 7919) % c.households
JOIN bench_kinds k ON k.n = (s.n / 10007) % c.kinds
CROSS JOIN LATERAL (SELECT CASE WHEN s.n % 20 < 13 THEN 'active' WHEN s.n % 20 < 18 THEN 'closed'
                                WHEN s.n % 20 = 18 THEN 'proposed' ELSE 'cancelled' END AS status) st;

-- Contacts: about ten a measure on the active and closed ones, a fortnight apart.
CREATE TEMP TABLE bench_contact_measures AS
SELECT row_number() OVER (ORDER BY id) - 1 AS n, id, worker_account_id, starts_on
FROM measures WHERE status IN ('active', 'closed') AND id >= '01910000-0000-7000-8000-000000000000';

INSERT INTO measure_contacts (id, measure_id, occurred_on, kind, duration_minutes, worker_account_id,
                              note, recorded_by_account_id, created_at)
SELECT ('01920000-0000-7000-8000-' || lpad(to_hex(s.n), 12, '0'))::uuid, m.id,
       m.starts_on + 14 * (s.n % 10)::int,
       (ARRAY['home_visit', 'home_visit', 'office_meeting', 'phone', 'missed_appointment'])[1 + s.n % 5],
       CASE WHEN s.n % 5 = 4 THEN NULL ELSE 30 + (s.n % 4) * 15 END,
       m.worker_account_id, 'Note synthétique ' || s.n, m.worker_account_id,
       now() - (s.n % 1000) * interval '1 minute'
FROM generate_series(0, :contacts - 1) AS s(n)
JOIN bench_contact_measures m ON m.n = (s.n / 10) % (SELECT count(*) FROM bench_contact_measures);

COMMIT;
