//! `GET /v1/programmes/{id}/indicators`: what a funder (and each operator, for its own
//! measures) sees of a programme over a period. Counts, delays and shares; never a
//! household.
//!
//! One SQL statement computes every figure in one snapshot ([`queries::INDICATORS_SQL`]), with JIT
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

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use super::{find_as_party, ProgrammeParty};
use crate::auth::caller::Caller;
use crate::db::Connection;
use crate::error::ApiError;
use crate::measures::model::OutcomeCode;
use crate::referrals::model::DeclineReason;

pub mod queries;

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

/// Computes the figures (the shares from the counts).
pub async fn compute(
    conn: &mut Connection,
    programme: Uuid,
    operator: Option<Uuid>,
    from: NaiveDate,
    to: NaiveDate,
    now: DateTime<Utc>,
) -> Result<Figures, ApiError> {
    let figures = queries::figures(conn, programme, operator, from, to, now).await?;
    let mut f: Figures = serde_json::from_value(figures).map_err(ApiError::internal)?;
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

/// A programme's indicators for the caller's organisation (see the endpoint): the funder
/// sees all measures or one operator's (422 `not_an_operator` for another organisation), an
/// operator its own only (403 for another's); 422 on the period.
pub async fn indicators(
    conn: &mut Connection,
    caller: &Caller,
    id: Uuid,
    q: IndicatorQuery,
) -> Result<Indicators, ApiError> {
    let org = caller.partner_organisation()?;
    let (row, party) = find_as_party(conn, org, id, false).await?;
    let operator = match (party, q.operator_organisation_id) {
        (ProgrammeParty::Funder, Some(o))
            if !super::queries::is_operator(conn, row.id, o).await? =>
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
    let figures = compute(conn, row.id, operator, from, to, now).await?;
    Ok(Indicators {
        programme_id: row.id,
        from,
        to,
        operator_organisation_id: operator,
        figures,
    })
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
