//! The indicators' statement, run in its own transaction with JIT off and 64 MB of
//! `work_mem` (`SET LOCAL`).

use chrono::{DateTime, NaiveDate, Utc};
use diesel::sql_types::{Date, Jsonb, Nullable, Timestamptz, Uuid as SqlUuid};
use diesel_async::RunQueryDsl;
use uuid::Uuid;

use crate::db::Connection;
use crate::error::ApiError;

/// The indicators' statement: `$1` programme, `$2` operator (`NULL`: all), `$3`/`$4` the
/// period's first and last days, `$5` now. One row, one `jsonb` column: `super::Figures`.
pub const INDICATORS_SQL: &str = r#"
WITH b AS (
    SELECT ($3::date)::timestamp AT TIME ZONE 'Europe/Paris' AS lo,
           ($4::date + 1)::timestamp AT TIME ZONE 'Europe/Paris' AS hi,
           $5::timestamptz AS now,
           ($5::timestamptz AT TIME ZONE 'Europe/Paris')::date AS today,
           (p.starts_on)::timestamp AT TIME ZONE 'Europe/Paris' AS p_lo,
           (p.ends_on + 1)::timestamp AT TIME ZONE 'Europe/Paris' AS p_hi,
           p.targets
    FROM programmes p WHERE p.id = $1
),
s AS MATERIALIZED (
    SELECT m.id, m.kind, m.household_id, m.status, m.outcomes, m.started_at, m.closed_at,
           m.origin_referral_id, m.contact_rhythm_missed, m.next_contact_due_on,
           jsonb_typeof(m.rules -> 'contact_every_days') = 'number' AS has_rhythm
    FROM measures m
    WHERE m.programme_id = $1 AND ($2::uuid IS NULL OR m.operator_organisation_id = $2)
),
counts AS (
    SELECT pk.kind,
           count(s.id) FILTER (WHERE s.started_at >= b.lo AND s.started_at < b.hi) AS started,
           count(s.id) FILTER (WHERE s.started_at < b.hi AND (s.closed_at IS NULL OR s.closed_at >= b.hi)) AS active,
           count(s.id) FILTER (WHERE s.closed_at >= b.lo AND s.closed_at < b.hi) AS closed
    FROM programme_kinds pk CROSS JOIN b LEFT JOIN s ON s.kind = pk.kind
    WHERE pk.programme_id = $1
    GROUP BY pk.kind
),
r AS MATERIALIZED (
    SELECT r.status, r.decline_reason, r.submitted_at, r.acknowledged_at, r.decided_at,
           s.started_at AS measure_started_at
    FROM b
    JOIN referrals r ON r.submitted_at >= b.lo AND r.submitted_at < b.hi
    LEFT JOIN s ON s.origin_referral_id = r.id
    WHERE r.addressee_organisation_id IN (
              SELECT operator_organisation_id FROM programme_operators
              WHERE programme_id = $1 AND ($2::uuid IS NULL OR operator_organisation_id = $2))
      AND r.measure_kind IN (SELECT kind FROM programme_kinds WHERE programme_id = $1)
      AND (s.id IS NOT NULL
           OR (r.status <> 'accepted' AND r.submitted_at >= b.p_lo AND r.submitted_at < b.p_hi))
),
delays AS (
    SELECT percentile_cont(ARRAY[0.5, 0.9]) WITHIN GROUP (ORDER BY date_part('epoch', acknowledged_at - submitted_at) / 86400)
               FILTER (WHERE acknowledged_at IS NOT NULL) AS acknowledged,
           count(*) FILTER (WHERE acknowledged_at IS NOT NULL) AS acknowledged_count,
           percentile_cont(ARRAY[0.5, 0.9]) WITHIN GROUP (ORDER BY date_part('epoch', decided_at - submitted_at) / 86400)
               FILTER (WHERE decided_at IS NOT NULL) AS decided,
           count(*) FILTER (WHERE decided_at IS NOT NULL) AS decided_count,
           percentile_cont(ARRAY[0.5, 0.9]) WITHIN GROUP (ORDER BY date_part('epoch', measure_started_at - submitted_at) / 86400)
               FILTER (WHERE measure_started_at IS NOT NULL) AS started,
           count(*) FILTER (WHERE measure_started_at IS NOT NULL) AS started_count
    FROM r
),
closed AS (
    SELECT s.kind, s.outcomes, count(*) AS n
    FROM s CROSS JOIN b WHERE s.closed_at >= b.lo AND s.closed_at < b.hi
    GROUP BY s.kind, s.outcomes
),
housed AS (
    SELECT s.household_id, min(s.closed_at) AS closed_at
    FROM s CROSS JOIN b
    WHERE s.closed_at >= b.lo AND s.closed_at < b.hi
      AND s.outcomes ?| array['accessed_housing', 'kept_housing', 'rehoused']
    GROUP BY s.household_id
),
housing_closures AS (
    SELECT s.household_id, min(s.closed_at) AS closed
    FROM s WHERE s.closed_at IS NOT NULL AND s.outcomes ?| array['accessed_housing', 'rehoused']
    GROUP BY s.household_id
),
candidates AS (
    SELECT hc.household_id FROM housing_closures hc CROSS JOIN b
    WHERE hc.closed >= b.lo AND hc.closed < b.hi
    UNION
    SELECT sl.household_id FROM subleases sl CROSS JOIN b
    WHERE sl.household_id IN (SELECT household_id FROM s)
      AND ((sl.started_at >= b.lo AND sl.started_at < b.hi) OR (sl.glided_at >= b.lo AND sl.glided_at < b.hi))
),
homes AS (
    SELECT h.household_id, first_referral.at AS first_at,
           least(lease.started, lease.glided, hc.closed) AS home_at
    FROM candidates h
    LEFT JOIN housing_closures hc ON hc.household_id = h.household_id
    CROSS JOIN LATERAL (SELECT min(submitted_at) AS at FROM referrals WHERE household_id = h.household_id) first_referral
    CROSS JOIN LATERAL (SELECT min(started_at) AS started, min(glided_at) AS glided
                        FROM subleases WHERE household_id = h.household_id) lease
),
home_days AS (
    SELECT date_part('epoch', home_at - first_at) / 86400 AS days
    FROM homes CROSS JOIN b
    WHERE home_at >= b.lo AND home_at < b.hi AND home_at >= first_at
)
SELECT jsonb_build_object(
    'measures', (SELECT coalesce(jsonb_agg(jsonb_build_object('kind', kind, 'started', started, 'active', active, 'closed', closed) ORDER BY kind), '[]') FROM counts),
    'referrals', (SELECT jsonb_build_object('received', count(*),
                                            'accepted', count(*) FILTER (WHERE status = 'accepted'),
                                            'declined', count(*) FILTER (WHERE status = 'declined')) FROM r),
    'delays', (SELECT jsonb_build_object(
                    'submitted_to_acknowledged', jsonb_build_object('count', acknowledged_count,
                        'p50_days', round(acknowledged[1]::numeric, 2), 'p90_days', round(acknowledged[2]::numeric, 2)),
                    'submitted_to_decided', jsonb_build_object('count', decided_count,
                        'p50_days', round(decided[1]::numeric, 2), 'p90_days', round(decided[2]::numeric, 2)),
                    'submitted_to_started', jsonb_build_object('count', started_count,
                        'p50_days', round(started[1]::numeric, 2), 'p90_days', round(started[2]::numeric, 2)))
               FROM delays),
    'declines', (SELECT coalesce(jsonb_agg(jsonb_build_object('reason', reason, 'count', n) ORDER BY reason), '[]')
                 FROM (SELECT decline_reason AS reason, count(*) AS n FROM r WHERE status = 'declined' GROUP BY 1) x),
    'closed', (SELECT coalesce(sum(n), 0) FROM closed),
    'outcomes', (SELECT coalesce(jsonb_agg(jsonb_build_object('outcome', o, 'count', n) ORDER BY o), '[]')
                 FROM (SELECT o, sum(n) AS n FROM closed, jsonb_array_elements_text(outcomes) o GROUP BY o) x),
    'targets', (SELECT coalesce(jsonb_agg(jsonb_build_object(
                        'kind', t.target -> 'kind', 'outcomes', t.target -> 'outcomes',
                        'at_least_percent', t.target -> 'at_least_percent',
                        'closed', (SELECT coalesce(sum(n), 0) FROM closed c
                                   WHERE t.target ->> 'kind' IS NULL OR c.kind = t.target ->> 'kind'),
                        'meeting', (SELECT coalesce(sum(n), 0) FROM closed c
                                    WHERE (t.target ->> 'kind' IS NULL OR c.kind = t.target ->> 'kind')
                                      AND c.outcomes ?| array(SELECT jsonb_array_elements_text(t.target -> 'outcomes'))))
                    ORDER BY t.i), '[]')
                FROM b, jsonb_array_elements(b.targets) WITH ORDINALITY t(target, i)),
    'renewals', (SELECT jsonb_build_object(
                        'requested', count(*) FILTER (WHERE rn.requested_on BETWEEN $3 AND $4),
                        'granted', count(*) FILTER (WHERE rn.status = 'granted' AND rn.decided_on BETWEEN $3 AND $4),
                        'refused', count(*) FILTER (WHERE rn.status = 'refused' AND rn.decided_on BETWEEN $3 AND $4))
                 FROM renewals rn JOIN s ON s.id = rn.measure_id),
    'contact_rhythm', (SELECT jsonb_build_object(
                        'measures', count(*),
                        'kept', count(*) FILTER (WHERE s.contact_rhythm_missed = 0
                                                 AND NOT (s.status = 'active' AND s.next_contact_due_on < b.today)))
                       FROM s CROSS JOIN b
                       WHERE s.has_rhythm AND s.started_at < b.hi AND (s.closed_at IS NULL OR s.closed_at >= b.lo)),
    'arrears_after_housing', (SELECT jsonb_build_object(
                        'households', count(*),
                        'with_arrears', count(*) FILTER (WHERE EXISTS (
                            SELECT 1 FROM subleases sl JOIN rent_arrears ra ON ra.sublease_id = sl.id
                            WHERE sl.household_id = h.household_id AND ra.recorded_at > h.closed_at
                              AND ra.recorded_at <= h.closed_at + interval '12 months')),
                        'window_incomplete', count(*) FILTER (WHERE h.closed_at + interval '12 months' > b.now))
                       FROM housed h CROSS JOIN b),
    'days_to_home', (SELECT jsonb_build_object('count', n, 'p50_days', round(p[1]::numeric, 2),
                                               'p90_days', round(p[2]::numeric, 2))
                     FROM (SELECT count(days) AS n,
                                  percentile_cont(ARRAY[0.5, 0.9]) WITHIN GROUP (ORDER BY days) AS p
                           FROM home_days) x)
) AS figures
FROM b
"#;

#[derive(diesel::QueryableByName)]
struct FiguresRow {
    #[diesel(sql_type = Jsonb)]
    figures: serde_json::Value,
}

/// The figures of the programme (of one operator's measures when `operator`) over the
/// period `from`..=`to`, as the statement gives them (`super::Figures`, without the
/// shares).
pub async fn figures(
    conn: &mut Connection,
    programme: Uuid,
    operator: Option<Uuid>,
    from: NaiveDate,
    to: NaiveDate,
    now: DateTime<Utc>,
) -> Result<serde_json::Value, ApiError> {
    crate::db::transaction(conn, async move |conn: &mut Connection| {
        // An analytical statement: no JIT (its compilation costs more than it saves at
        // these sizes), and the memory to hash and sort a programme's rows without disk.
        diesel::sql_query("SET LOCAL jit = off")
            .execute(conn)
            .await?;
        diesel::sql_query("SET LOCAL work_mem = '64MB'")
            .execute(conn)
            .await?;
        let row: FiguresRow = diesel::sql_query(INDICATORS_SQL)
            .bind::<SqlUuid, _>(programme)
            .bind::<Nullable<SqlUuid>, _>(operator)
            .bind::<Date, _>(from)
            .bind::<Date, _>(to)
            .bind::<Timestamptz, _>(now)
            .get_result(conn)
            .await?;
        Ok::<_, ApiError>(row.figures)
    })
    .await
}
