-- Synthetic programmes for `make bench`: the department's programme of :big measures and
-- one of :small measures over the past year, each measure with its accepted referral (and a
-- declined referral for one in ten), its milestones (as the history's trigger writes them),
-- outcomes, renewals and contact rhythm. The big programme funds 20 operators, the small
-- one 1; each operator receives only its programme's referrals. Generated after
-- scripts/bench-data.sql (its households) and scripts/bench-measures.sql (the platform's
-- other measures). Names and dates are generated: no real person's data.
\set ON_ERROR_STOP on
BEGIN;

CREATE TEMP TABLE bp_ctx AS
SELECT (SELECT id FROM organisations WHERE siret = '52601815908308') AS department,
       (SELECT id FROM accounts WHERE email = 'admin@departement.demo.passerelle.test') AS department_admin,
       (SELECT id FROM organisations WHERE siret = '16613186091395') AS ccapex,
       (SELECT id FROM accounts WHERE email = 'admin@ddets.demo.passerelle.test') AS ccapex_admin,
       (SELECT count(*) FROM households) AS households;

INSERT INTO organisations (id, kind, name, siret, department_code, contact_email)
SELECT gen_random_uuid(), 'association', 'Opérateur de programme ' || n,
       lpad((91000000000000 + n)::text, 14, '0'), '71', 'programme' || n || '@bench.passerelle.test'
FROM generate_series(1, 21) AS n
ON CONFLICT (siret) DO NOTHING;
CREATE TEMP TABLE bp_operators AS
SELECT row_number() OVER (ORDER BY siret) AS n, id FROM organisations
WHERE siret BETWEEN '91000000000001' AND '91000000000021';

CREATE TEMP TABLE bp_programmes AS
SELECT 'big' AS size, gen_random_uuid() AS id, :big AS measures
UNION ALL SELECT 'small', gen_random_uuid(), :small;

INSERT INTO programmes (id, name, funder_organisation_id, starts_on, ends_on, department_codes, budget_cents, targets)
SELECT p.id, 'Programme synthétique (' || p.measures || ' mesures)', c.department, current_date - 365, current_date,
       '["71"]', p.measures::bigint * 300000,
       '[{"kind": "asll", "outcomes": ["accessed_housing", "kept_housing", "rehoused"], "at_least_percent": 70},
         {"kind": null, "outcomes": ["employment_or_training"], "at_least_percent": 20}]'
FROM bp_programmes p, bp_ctx c;
INSERT INTO programme_kinds (programme_id, kind, funded, used)
SELECT id, 'asll', measures * 2, 0 FROM bp_programmes;
INSERT INTO programme_operators (programme_id, operator_organisation_id)
SELECT p.id, o.id FROM bp_programmes p JOIN bp_operators o
  ON (p.size = 'big' AND o.n <= 20) OR (p.size = 'small' AND o.n = 21);

CREATE TEMP TABLE bp_households AS
SELECT row_number() OVER (ORDER BY id) - 1 AS n, id FROM households;

-- One row per measure: its programme, operator, household, referral and times.
CREATE TEMP TABLE bp_plan AS
SELECT s.n, p.id AS programme_id, o.id AS operator_id, h.id AS household_id,
       gen_random_uuid() AS referral_id,
       now() - interval '365 days' + ((s.n * 37) % (24 * 330)) * interval '1 hour' AS submitted_at,
       (s.n % 5) * interval '6 hours' AS ack_after,
       (1 + s.n % 3) * interval '1 day' AS decide_after,
       (s.n % 20) * interval '1 day' + interval '2 hours' AS start_after,
       CASE WHEN s.n % 20 < 12 THEN 'active' WHEN s.n % 20 < 18 THEN 'closed'
            WHEN s.n % 20 = 18 THEN 'proposed' ELSE 'cancelled' END AS status
FROM bp_programmes p
CROSS JOIN bp_ctx c
CROSS JOIN LATERAL generate_series(1, p.measures) AS s(n)
JOIN bp_operators o ON (p.size = 'big' AND o.n = 1 + s.n % 20) OR (p.size = 'small' AND o.n = 21)
JOIN bp_households h ON h.n = (s.n::bigint * 7919) % c.households;

INSERT INTO referrals (id, household_id, referrer_organisation_id, referrer_account_id, addressee_organisation_id,
                       measure_kind, reason, priority_grounds, special_grounds, response_due_on, status,
                       created_at, updated_at, submitted_at, acknowledged_at, decided_at)
SELECT b.referral_id, b.household_id, c.ccapex, c.ccapex_admin, b.operator_id, 'asll',
       'Orientation synthétique ' || b.n, '["eviction_threat"]', '[]', (b.submitted_at + interval '15 days')::date,
       'accepted', b.submitted_at, b.submitted_at + b.ack_after + b.decide_after,
       b.submitted_at, b.submitted_at + b.ack_after, b.submitted_at + b.ack_after + b.decide_after
FROM bp_plan b, bp_ctx c;

INSERT INTO measures (id, kind, rules, household_id, operator_organisation_id, origin_referral_id,
                      referrer_organisation_id, funder_organisation_id, programme_id, status, starts_on,
                      planned_end_on, ended_on, outcomes, last_contact_on, next_contact_due_on, contacts_count,
                      contact_rhythm_missed, started_at, closed_at, created_at, updated_at)
SELECT gen_random_uuid(), 'asll',
       jsonb_build_object('kind_version', 1, 'duration_months', 6, 'needs_decision', true,
                          'renewal_policy', '[{"months": 3, "exceptional": false}]'::jsonb,
                          'contact_every_days', 14, 'contact_kinds', '["home_visit"]'::jsonb,
                          'outcome_codes', '[]'::jsonb, 'max_total_months', null, 'max_suspension_days', 92),
       b.household_id, b.operator_id, b.referral_id, c.ccapex, c.department, b.programme_id, b.status,
       d.started::date, d.started::date + 182,
       CASE WHEN b.status = 'closed' THEN least(current_date, d.started::date + 60 + b.n % 200) END,
       CASE WHEN b.status <> 'closed' THEN '[]'
            WHEN b.n % 4 = 0 THEN '["accessed_housing"]' WHEN b.n % 4 = 1 THEN '["kept_housing"]'
            WHEN b.n % 4 = 2 THEN '["rehoused", "employment_or_training"]' ELSE '["left_without_solution"]' END::jsonb,
       CASE WHEN b.status IN ('active', 'closed') THEN current_date - 20 END,
       CASE WHEN b.status = 'active' THEN current_date - 20 + (b.n % 40)::int END,
       CASE WHEN b.status IN ('active', 'closed') THEN 8 ELSE 0 END,
       CASE WHEN b.n % 7 = 0 THEN 1 ELSE 0 END,
       CASE WHEN b.status IN ('active', 'closed') THEN least(now(), d.started) END,
       CASE WHEN b.status = 'closed' THEN least(now(), d.started + (60 + b.n % 200) * interval '1 day') END,
       b.submitted_at, now()
FROM bp_plan b
CROSS JOIN bp_ctx c
CROSS JOIN LATERAL (SELECT b.submitted_at + b.ack_after + b.decide_after + b.start_after AS started) d;

UPDATE programme_kinds pk SET used = m.n
FROM (SELECT programme_id, count(*) AS n FROM measures WHERE programme_id IN (SELECT id FROM bp_programmes)
      AND started_at IS NOT NULL GROUP BY programme_id) m
WHERE pk.programme_id = m.programme_id;

-- One referral in ten declined, with its reason.
INSERT INTO referrals (id, household_id, referrer_organisation_id, referrer_account_id, addressee_organisation_id,
                       measure_kind, reason, priority_grounds, special_grounds, response_due_on, status,
                       decline_reason, created_at, updated_at, submitted_at, acknowledged_at, decided_at)
SELECT gen_random_uuid(), b.household_id, c.ccapex, c.ccapex_admin, b.operator_id, 'asll',
       'Orientation synthétique déclinée ' || b.n, '["eviction_threat"]', '[]',
       (b.submitted_at + interval '15 days')::date, 'declined',
       (ARRAY['no_capacity', 'out_of_area', 'not_eligible', 'household_unreachable'])[1 + b.n % 4],
       b.submitted_at, b.submitted_at + interval '3 days',
       b.submitted_at, b.submitted_at + b.ack_after, b.submitted_at + interval '3 days'
FROM bp_plan b, bp_ctx c WHERE b.n % 10 = 0;

-- Renewals: one measure in ten asked once; two in three granted, the others refused.
INSERT INTO renewals (id, measure_id, household_id, operator_organisation_id, decider_organisation_id, ordinal,
                      months, exceptional, status, granted_months, requested_by_account_id, requested_on,
                      decided_on, starts_on, ends_on, refusal_reason, refusal_explanation)
SELECT gen_random_uuid(), m.id, m.household_id, m.operator_organisation_id, c.department, 1, 3, false,
       CASE WHEN row_number() OVER (ORDER BY m.id) % 3 = 0 THEN 'refused' ELSE 'granted' END,
       CASE WHEN row_number() OVER (ORDER BY m.id) % 3 = 0 THEN NULL ELSE 3 END,
       c.department_admin, m.started_at::date + 150, m.started_at::date + 155,
       m.planned_end_on, m.planned_end_on + 91,
       CASE WHEN row_number() OVER (ORDER BY m.id) % 3 = 0 THEN 'objectives_met' END,
       CASE WHEN row_number() OVER (ORDER BY m.id) % 3 = 0 THEN 'Objectifs atteints' END
FROM measures m, bp_ctx c
WHERE m.programme_id IN (SELECT id FROM bp_programmes) AND m.started_at IS NOT NULL
  AND m.started_at < now() - interval '160 days' AND hashtext(m.id::text) % 10 = 0;

-- A granted renewal lengthens its measure: its planned end is the renewal's.
UPDATE measures m SET renewed_months = m.renewed_months + r.granted_months, planned_end_on = r.ends_on
FROM renewals r WHERE r.measure_id = m.id AND r.status = 'granted';

COMMIT;
