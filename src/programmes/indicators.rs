//! `GET /v1/programmes/{id}/indicators`: what a funder (and each operator, for its own
//! measures) sees of a programme over a period. Counts, delays and shares; never a
//! household.
//!
//! One SQL statement computes every figure in one snapshot ([`INDICATORS_SQL`]), with JIT
//! off and 64 MB of `work_mem` to hash and sort in (`SET LOCAL`, this transaction only); it reads
//! the programme's measures through `measures_programme_idx` and the referrals addressed to
//! its operators through `referrals_addressee_submitted_idx`, so its cost grows with the
//! programme's measures and referrals, not with the platform's.
//!
//! Definitions (the period runs from `from` to `to`, French legal dates, both included):
//! - **Milestones**: the time of the step that reached them in the case's history
//!   (`case_transitions`, projected onto `submitted_at`, `acknowledged_at`, `decided_at`,
//!   `started_at`, `closed_at` by the database in the step's transaction). Editable dates (a
//!   referral's desired start, a measure's `starts_on`) never move a delay.
//! - **Measures** (per kind funded): `started` and `closed` in the period; `active`: started
//!   before the period's end and not closed by then (suspended ones included).
//! - **Referrals** of the programme: those addressed to its operators for a kind it funds,
//!   submitted in the period, whose measure (if accepted) is under the programme; those not
//!   accepted count when submitted within the programme's own period too.
//! - **Delays** in days (fractions of a day kept) from a referral's submission to its
//!   acknowledgement, to its decision (accepted or declined) and to its measure's start:
//!   count, median and 90th percentile, continuous (linear interpolation between the two
//!   nearest values, as PostgreSQL's `percentile_cont`), rounded to 0.01 day.
//! - **Outcomes**: of the measures closed in the period, each outcome's count; a **target**
//!   is met when at least `at_least_percent` % of them (of its kind, if it names one) closed
//!   with one of its outcomes.
//! - **Renewals**: asked in the period; granted and refused in the period.
//! - **Contact rhythm**: of the measures whose rules set a rhythm and that ran during the
//!   period, those where no counting contact ever came after its due date and that are not
//!   late today.
//! - **Arrears after housing**: of the households whose measure closed in the period with a
//!   housing outcome (`accessed_housing`, `kept_housing`, `rehoused`), those with rent
//!   arrears recorded on any of their sub-leases within the 12 months after the close;
//!   `window_incomplete` counts those whose 12 months are not over yet.
//! - **Days to a home**: for the programme's households whose first home came in the
//!   period, the days from their first referral on the platform (whoever sent it) to that
//!   home: a sub-lease of theirs that started, a lease that glided, or a measure of the
//!   programme closed with `accessed_housing` or `rehoused` (kept housing is no new home).
//!   Only the households with such an event in the period are looked at, so the cost
//!   follows the homes found, not the households.

use actix_web::{get, web, HttpResponse};
use chrono::{DateTime, NaiveDate, Utc};
use diesel::sql_types::{Date, Jsonb, Nullable, Timestamptz, Uuid as SqlUuid};
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use super::{find_as_party, ProgrammeParty};
use crate::auth::caller::Caller;
use crate::auth::policy::{authorize, Action};
use crate::db;
use crate::error::{ApiError, ApiResult};
use crate::http::extractors::Query;
use crate::measures::model::OutcomeCode;
use crate::referrals::model::DeclineReason;
use crate::state::AppState;

/// The indicators' statement: `$1` programme, `$2` operator (`NULL`: all), `$3`/`$4` the
/// period's first and last days, `$5` now. One row, one `jsonb` column: [`Figures`].
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

/// The period and whose measures.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct IndicatorQuery {
    /// The period's first day; default: the programme's start.
    pub from: Option<NaiveDate>,
    /// The period's last day (included); default: the programme's end.
    pub to: Option<NaiveDate>,
    /// The funder only: one operator's measures. An operator always sees its own.
    pub operator_organisation_id: Option<Uuid>,
}

/// A kind's measures over the period.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct KindCounts {
    pub kind: String,
    /// Started in the period.
    pub started: i64,
    /// Running (active or suspended) at the period's end.
    pub active: i64,
    /// Closed in the period.
    pub closed: i64,
}

/// The programme's referrals submitted in the period: those addressed to its operators for
/// a kind it funds, whose measure (if accepted) is under the programme.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct ReferralCounts {
    /// Submitted in the period.
    pub received: i64,
    /// Of those, accepted (now).
    pub accepted: i64,
    /// Of those, declined (now).
    pub declined: i64,
}

/// A delay's distribution in days (fractions kept, rounded to 0.01); `null` percentiles
/// when `count` is 0.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct Delay {
    /// How many values the percentiles are computed over.
    pub count: i64,
    /// Median.
    pub p50_days: Option<f64>,
    /// 90th percentile.
    pub p90_days: Option<f64>,
}

/// Delays from a referral's submission, from the history.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct Delays {
    /// To its acknowledgement.
    pub submitted_to_acknowledged: Delay,
    /// To acceptance or decline.
    pub submitted_to_decided: Delay,
    /// To its measure's start.
    pub submitted_to_started: Delay,
}

/// Declined referrals of a reason.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct DeclineCount {
    pub reason: DeclineReason,
    pub count: i64,
}

/// Measures closed in the period with an outcome (a measure may count under several).
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct OutcomeCount {
    pub outcome: OutcomeCode,
    pub count: i64,
}

/// A target against the measures closed in the period.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct TargetResult {
    /// `null`: every kind.
    pub kind: Option<String>,
    pub outcomes: Vec<OutcomeCode>,
    pub at_least_percent: i32,
    /// Measures closed in the period (of the kind).
    pub closed: i64,
    /// Those closed with one of the outcomes.
    pub meeting: i64,
    /// `meeting / closed`, in %, rounded to 0.1 for display; `null` when none closed.
    #[serde(default)]
    pub percent: Option<f64>,
    /// Whether `meeting / closed` reaches `at_least_percent`, compared exactly
    /// (`meeting × 100 ≥ at_least_percent × closed`), never on the rounded `percent`: 17 of
    /// 21 shows 81.0 % and does not meet 81 %. `null` when none closed.
    #[serde(default)]
    pub met: Option<bool>,
}

/// The renewals of the programme's measures.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct RenewalCounts {
    /// Asked in the period.
    pub requested: i64,
    /// Granted in the period.
    pub granted: i64,
    /// Refused in the period.
    pub refused: i64,
}

/// Measures with a contact rhythm that ran in the period, and how many kept it (no counting
/// contact ever came after its due date, and none is late today).
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct ContactRhythm {
    /// Measures with a rhythm that ran during the period.
    pub measures: i64,
    /// Those whose rhythm was kept.
    pub kept: i64,
    /// `kept` of `measures`, in %, rounded to 0.1 for display; `null` when `measures` is 0.
    #[serde(default)]
    pub percent: Option<f64>,
}

/// Households housed (a measure of theirs closed in the period with a housing outcome:
/// accessed, kept or rehoused) and how many had rent arrears recorded on a sub-lease within
/// the 12 months after.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct ArrearsAfterHousing {
    /// Households whose measure closed in the period with a housing outcome.
    pub households: i64,
    /// Those with rent arrears recorded within the 12 months after.
    pub with_arrears: i64,
    /// `with_arrears` of `households`, in %, rounded to 0.1 for display; `null` when
    /// `households` is 0.
    #[serde(default)]
    pub percent: Option<f64>,
    /// Those whose 12 months are not over yet (the share may still rise).
    pub window_incomplete: i64,
}

/// The indicators' figures over the period.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct Figures {
    pub measures: Vec<KindCounts>,
    pub referrals: ReferralCounts,
    pub delays: Delays,
    pub declines: Vec<DeclineCount>,
    /// Measures closed in the period.
    pub closed: i64,
    pub outcomes: Vec<OutcomeCount>,
    pub targets: Vec<TargetResult>,
    pub renewals: RenewalCounts,
    pub contact_rhythm: ContactRhythm,
    pub arrears_after_housing: ArrearsAfterHousing,
    /// Days from a household's first referral to a home of its own.
    pub days_to_home: Delay,
}

/// A programme's indicators over a period: counts, delays, shares; no household.
#[derive(Debug, Serialize, ToSchema)]
pub struct Indicators {
    pub programme_id: Uuid,
    pub from: NaiveDate,
    pub to: NaiveDate,
    /// Whose measures: one operator's, or `null` for all of the programme's.
    pub operator_organisation_id: Option<Uuid>,
    #[serde(flatten)]
    pub figures: Figures,
}

/// `count` of `of` in %, rounded to 0.1 for display only (`null` when `of` is 0): no rule
/// compares it (see [`target_met`]).
fn percent(count: i64, of: i64) -> Option<f64> {
    (of > 0).then(|| (count as f64 * 1000.0 / of as f64).round() / 10.0)
}

/// Whether `meeting` of `closed` reaches `at_least_percent` %, compared on exact integers
/// (`meeting × 100 ≥ at_least_percent × closed`): 17 of 21 (80.95 %, shown as 81.0) does
/// not meet 81 %. `None` when none closed.
pub fn target_met(meeting: i64, closed: i64, at_least_percent: i32) -> Option<bool> {
    (closed > 0)
        .then(|| i128::from(meeting) * 100 >= i128::from(at_least_percent) * i128::from(closed))
}

#[derive(diesel::QueryableByName)]
struct FiguresRow {
    #[diesel(sql_type = Jsonb)]
    figures: serde_json::Value,
}

/// Computes the figures (the shares from the counts).
pub async fn compute(
    conn: &mut AsyncPgConnection,
    programme: Uuid,
    operator: Option<Uuid>,
    from: NaiveDate,
    to: NaiveDate,
    now: DateTime<Utc>,
) -> Result<Figures, ApiError> {
    let row: FiguresRow = diesel::sql_query(INDICATORS_SQL)
        .bind::<SqlUuid, _>(programme)
        .bind::<Nullable<SqlUuid>, _>(operator)
        .bind::<Date, _>(from)
        .bind::<Date, _>(to)
        .bind::<Timestamptz, _>(now)
        .get_result(conn)
        .await?;
    let mut f: Figures = serde_json::from_value(row.figures).map_err(ApiError::internal)?;
    for t in &mut f.targets {
        t.percent = percent(t.meeting, t.closed);
        t.met = target_met(t.meeting, t.closed, t.at_least_percent);
    }
    f.contact_rhythm.percent = percent(f.contact_rhythm.kept, f.contact_rhythm.measures);
    f.arrears_after_housing.percent = percent(
        f.arrears_after_housing.with_arrears,
        f.arrears_after_housing.households,
    );
    Ok(f)
}

/// A programme's indicators
///
/// Over a period (default: the programme's): measures started, active and closed per kind;
/// the programme's referrals and their declines by reason; the delays from a referral's
/// submission to its acknowledgement, decision and measure start (median and 90th
/// percentile, from the history, never from editable dates); outcomes against the
/// programme's targets; renewals; the share of measures whose contact rhythm was kept; the
/// share of households housed with rent arrears within 12 months; the days from a
/// household's first referral to a home of its own. Each figure's schema says how it is
/// counted; milestones are the times of the history's steps, and the period's days are
/// French legal dates, both included.
///
/// For the funder (all measures, or one operator's with `operator_organisation_id`) and for
/// each operator it funds (its own measures only; another operator's id is 403). No
/// household appears. 422 when `to` is before `from` or the period spans more than 10
/// years.
#[utoipa::path(
    tag = "programmes",
    operation_id = "programme_indicators",
    params(("id" = Uuid, Path, description = "The programme's id"), IndicatorQuery),
    security(("oauth2" = ["measures:read"])),
    responses(
        (status = 200, description = "The indicators", body = Indicators),
        (status = 422, description = "`to` before `from`, or a period of more than 10 years",
         body = crate::error::Problem, content_type = "application/problem+json"),
    )
)]
#[get("/programmes/{id}/indicators")]
pub async fn programme_indicators(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<Uuid>,
    query: Query<IndicatorQuery>,
) -> ApiResult<HttpResponse> {
    authorize(&caller, Action::ReadProgrammes)?;
    let org = caller.partner_organisation()?;
    let q = query.0;
    let mut conn = db::conn(&state.pool).await?;
    let (row, party) = find_as_party(&mut conn, org, id.into_inner(), false).await?;
    let operator = match (party, q.operator_organisation_id) {
        (ProgrammeParty::Funder, Some(o))
            if !super::queries::is_operator(&mut conn, row.id, o).await? =>
        {
            return Err(ApiError::invalid(
                "operator_organisation_id",
                "not_an_operator",
                "not an operator the programme funds",
            ))
        }
        (ProgrammeParty::Funder, o) => o,
        (ProgrammeParty::Operator, None) => Some(org),
        (ProgrammeParty::Operator, Some(o)) if o == org => Some(org),
        (ProgrammeParty::Operator, Some(_)) => {
            return Err(ApiError::Forbidden(
                "an operator sees the indicators of its own measures only".into(),
            ))
        }
    };
    let from = q.from.unwrap_or(row.starts_on);
    let to = q.to.unwrap_or(row.ends_on);
    if to < from {
        return Err(ApiError::invalid(
            "to",
            "before_from",
            format!("the period ends on or after its first day ({from})"),
        ));
    }
    if (to - from).num_days() > 3660 {
        return Err(ApiError::invalid(
            "to",
            "too_long",
            "a period spans 10 years at most",
        ));
    }
    let now = crate::calendar::now();
    let figures = db::transaction(&mut conn, async move |conn: &mut AsyncPgConnection| {
        // An analytical statement: no JIT (its compilation costs more than it saves at
        // these sizes), and the memory to hash and sort a programme's rows without disk.
        diesel::sql_query("SET LOCAL jit = off")
            .execute(conn)
            .await?;
        diesel::sql_query("SET LOCAL work_mem = '64MB'")
            .execute(conn)
            .await?;
        compute(conn, row.id, operator, from, to, now).await
    })
    .await?;
    Ok(HttpResponse::Ok().json(Indicators {
        programme_id: row.id,
        from,
        to,
        operator_organisation_id: operator,
        figures,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn targets_are_compared_on_exact_counts_not_on_the_rounded_percent() {
        // 17 of 21 is 80.952… %: shown as 81.0, it does not meet 81 %.
        assert_eq!(percent(17, 21), Some(81.0));
        assert_eq!(target_met(17, 21, 81), Some(false));
        assert_eq!(target_met(17, 21, 80), Some(true));
        // Exactly on the target meets it.
        assert_eq!(target_met(4, 5, 80), Some(true));
        assert_eq!(target_met(3, 5, 60), Some(true));
        assert_eq!(target_met(3, 5, 61), Some(false));
        // 2 of 3 is 66.67 %: shown as 66.7, it does not meet 67 %.
        assert_eq!(percent(2, 3), Some(66.7));
        assert_eq!(target_met(2, 3, 67), Some(false));
        assert_eq!(target_met(0, 0, 50), None);
        assert_eq!(target_met(0, 7, 0), Some(true));
        assert_eq!(target_met(7, 7, 100), Some(true));
    }
}
