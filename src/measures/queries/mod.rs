//! Every diesel statement on measures: the measure read as a case, its list builder, its
//! writes (opening, a change of parties, an action, a grant, the follow-up); the catalogue,
//! renewals, contacts and objectives in their own files.

use chrono::{DateTime, NaiveDate, Utc};
use diesel::prelude::*;
use diesel_async::RunQueryDsl;
use uuid::Uuid;

use super::model::{HouseholdComposition, MeasureRow, MeasureStatus};
use super::rules::{Changes, MeasureParty};
use crate::db::{Connection, Keyset};
use crate::error::ApiError;
use crate::http::pagination::Page;
use crate::schema::{households, measures, subleases};

pub mod contacts;
pub mod kinds;
pub mod objectives;
pub mod renewals;

/// The states of a running measure.
pub const RUNNING: [MeasureStatus; 3] = [
    MeasureStatus::Proposed,
    MeasureStatus::Active,
    MeasureStatus::Suspended,
];

/// The measure `id`, locked `FOR UPDATE` when `lock`.
pub async fn find(
    conn: &mut Connection,
    id: Uuid,
    lock: bool,
) -> Result<Option<MeasureRow>, ApiError> {
    crate::load_row!(conn, measures::table, MeasureRow, id, lock)
}

/// Whether `org` lets the home of a sub-lease that names the measure.
pub async fn is_landlord_of(
    conn: &mut Connection,
    measure: Uuid,
    org: Uuid,
) -> Result<bool, ApiError> {
    Ok(diesel::select(diesel::dsl::exists(
        subleases::table
            .filter(subleases::measure_id.eq(measure))
            .filter(subleases::landlord_organisation_id.eq(org)),
    ))
    .get_result(conn)
    .await?)
}

/// The landlords of the sub-leases that name the measure.
pub async fn landlords_of(conn: &mut Connection, measure: Uuid) -> Result<Vec<Uuid>, ApiError> {
    Ok(subleases::table
        .filter(subleases::measure_id.eq(measure))
        .select(subleases::landlord_organisation_id)
        .distinct()
        .load(conn)
        .await?)
}

/// A measure with its household, as one statement reads them.
pub type MeasureWithHousehold = (MeasureRow, HouseholdComposition);

/// The query of measures with their households.
pub type WithHousehold = diesel::dsl::Select<
    diesel::dsl::InnerJoin<measures::table, households::table>,
    (
        diesel::dsl::AsSelect<MeasureRow, diesel::pg::Pg>,
        diesel::dsl::AsSelect<HouseholdComposition, diesel::pg::Pg>,
    ),
>;

/// The measures with their households: one statement, whatever filters the caller adds.
pub fn with_household() -> WithHousehold {
    measures::table
        .inner_join(households::table)
        .select((MeasureRow::as_select(), HouseholdComposition::as_select()))
}

/// The measure `id` with its household, if any.
pub async fn load_with_household(
    conn: &mut Connection,
    id: Uuid,
) -> Result<Option<MeasureWithHousehold>, ApiError> {
    Ok(with_household()
        .filter(measures::id.eq(id))
        .first(conn)
        .await
        .optional()?)
}

/// A measure's household, for a measure just written.
pub async fn household_of(
    conn: &mut Connection,
    row: &MeasureRow,
) -> Result<HouseholdComposition, ApiError> {
    Ok(households::table
        .find(row.household_id)
        .select(HouseholdComposition::as_select())
        .first(conn)
        .await?)
}

/// Which measures an organisation lists.
pub struct MeasureList {
    pub org: Uuid,
    /// Its side; `None`: every side.
    pub side: Option<MeasureParty>,
    pub status: Option<MeasureStatus>,
    pub kind: Option<String>,
    pub household_id: Option<Uuid>,
    pub referral_id: Option<Uuid>,
    pub programme_id: Option<Uuid>,
    pub worker_account_id: Option<Uuid>,
    pub contact_overdue: Option<bool>,
    pub ending_before: Option<NaiveDate>,
    pub updated_since: Option<DateTime<Utc>>,
    pub today: NaiveDate,
}

/// A page of an organisation's measures with their households, by id (one more row than
/// the page, to tell whether another follows). A landlord's are those its sub-leases name.
pub async fn list(
    conn: &mut Connection,
    l: MeasureList,
    page: Page,
) -> Result<Vec<MeasureWithHousehold>, ApiError> {
    let org = l.org;
    let side = l.side;
    // A landlord's measures, read first: a list of ids keeps every branch of the scope
    // indexable (the operator's, funder's and referrer's indexes, the primary key).
    let let_by_org: Vec<Uuid> = if matches!(side, None | Some(MeasureParty::Landlord)) {
        subleases::table
            .filter(subleases::landlord_organisation_id.eq(org))
            .filter(subleases::measure_id.is_not_null())
            .select(subleases::measure_id.assume_not_null())
            .distinct()
            .load(conn)
            .await?
    } else {
        Vec::new()
    };
    let mut q = with_household().into_boxed();
    q = match side {
        Some(MeasureParty::Operator) => q.filter(measures::operator_organisation_id.eq(org)),
        Some(MeasureParty::Funder) => q.filter(measures::funder_organisation_id.eq(org)),
        Some(MeasureParty::Referrer) => q.filter(measures::referrer_organisation_id.eq(org)),
        Some(MeasureParty::Landlord) => q.filter(measures::id.eq_any(let_by_org)),
        None => q.filter(
            measures::operator_organisation_id
                .eq(org)
                .or(measures::funder_organisation_id.eq(org))
                .or(measures::referrer_organisation_id.eq(org))
                .or(measures::id.eq_any(let_by_org)),
        ),
    };
    if let Some(s) = l.status {
        q = q.filter(measures::status.eq(s));
    }
    if let Some(kind) = l.kind {
        q = q.filter(measures::kind.eq(kind));
    }
    if let Some(h) = l.household_id {
        q = q.filter(measures::household_id.eq(h));
    }
    if let Some(r) = l.referral_id {
        q = q.filter(measures::origin_referral_id.eq(r));
    }
    if let Some(p) = l.programme_id {
        q = q.filter(measures::programme_id.eq(p));
    }
    if let Some(w) = l.worker_account_id {
        q = q.filter(measures::worker_account_id.eq(w));
    }
    match l.contact_overdue {
        Some(true) => {
            q = q
                .filter(measures::status.eq(MeasureStatus::Active))
                .filter(measures::next_contact_due_on.lt(l.today))
        }
        Some(false) => {
            q = q.filter(
                measures::status
                    .ne(MeasureStatus::Active)
                    .or(measures::next_contact_due_on.is_null())
                    .or(measures::next_contact_due_on.ge(l.today)),
            )
        }
        None => {}
    }
    if let Some(d) = l.ending_before {
        q = q.filter(measures::planned_end_on.lt(d));
    }
    if let Some(since) = l.updated_since {
        q = q.filter(measures::updated_at.ge(since));
    }
    Ok(q.keyset(measures::id, page).load(conn).await?)
}

/// Of these households, the measure kinds each has running (proposed, active, suspended)
/// with this operator.
pub async fn running_kinds(
    conn: &mut Connection,
    operator: Uuid,
    households: &[Uuid],
) -> Result<std::collections::HashSet<(Uuid, String)>, ApiError> {
    let rows: Vec<(Uuid, String)> = measures::table
        .filter(measures::operator_organisation_id.eq(operator))
        .filter(measures::household_id.eq_any(households))
        .filter(measures::status.eq_any(RUNNING))
        .select((measures::household_id, measures::kind))
        .load(conn)
        .await?;
    Ok(rows.into_iter().collect())
}

/// The running measure of this kind the household has with this operator, if any.
pub async fn running_of(
    conn: &mut Connection,
    household: Uuid,
    kind: &str,
    operator: Uuid,
) -> Result<Option<Uuid>, ApiError> {
    Ok(measures::table
        .filter(measures::household_id.eq(household))
        .filter(measures::kind.eq(kind))
        .filter(measures::operator_organisation_id.eq(operator))
        .filter(measures::status.eq_any(RUNNING))
        .select(measures::id)
        .first(conn)
        .await
        .optional()?)
}

/// A measure as it opens.
#[derive(Insertable)]
#[diesel(table_name = measures)]
pub struct NewMeasureRow<'a> {
    pub id: Uuid,
    pub kind: &'a str,
    pub rules: serde_json::Value,
    pub household_id: Uuid,
    pub operator_organisation_id: Uuid,
    pub worker_account_id: Option<Uuid>,
    pub origin_referral_id: Option<Uuid>,
    pub referrer_organisation_id: Option<Uuid>,
    pub funder_organisation_id: Option<Uuid>,
    pub programme_id: Option<Uuid>,
    pub status: MeasureStatus,
    pub starts_on: NaiveDate,
    pub planned_end_on: Option<NaiveDate>,
    pub next_contact_due_on: Option<NaiveDate>,
}

pub async fn insert(conn: &mut Connection, new: NewMeasureRow<'_>) -> Result<MeasureRow, ApiError> {
    Ok(diesel::insert_into(measures::table)
        .values(new)
        .returning(MeasureRow::as_returning())
        .get_result(conn)
        .await?)
}

/// The operator's change of a measure's worker, funder and programme.
pub async fn update_parties(
    conn: &mut Connection,
    id: Uuid,
    worker: Option<Uuid>,
    funder: Option<Uuid>,
    programme: Option<Uuid>,
) -> Result<MeasureRow, ApiError> {
    Ok(diesel::update(measures::table.find(id))
        .set((
            measures::worker_account_id.eq(worker),
            measures::funder_organisation_id.eq(funder),
            measures::programme_id.eq(programme),
            crate::db::bump(measures::version, measures::updated_at),
        ))
        .returning(MeasureRow::as_returning())
        .get_result(conn)
        .await?)
}

/// What an action writes: the status, the action's changes, the planned end and the
/// contact rhythm (times broken, next due date).
#[allow(clippy::too_many_arguments)]
pub async fn update_state(
    conn: &mut Connection,
    id: Uuid,
    to: MeasureStatus,
    c: &Changes,
    planned_end: Option<NaiveDate>,
    rhythm_missed: i32,
    next_due: Option<NaiveDate>,
    outcomes: serde_json::Value,
) -> Result<MeasureRow, ApiError> {
    Ok(diesel::update(measures::table.find(id))
        .set((
            measures::status.eq(to),
            measures::contact_rhythm_missed.eq(rhythm_missed),
            measures::starts_on.eq(c.starts_on),
            measures::planned_end_on.eq(planned_end),
            measures::ended_on.eq(c.ended_on),
            measures::outcomes.eq(outcomes),
            measures::closing_comment.eq(&c.closing_comment),
            measures::cancellation_reason.eq(c.cancellation_reason),
            measures::suspended_on.eq(c.suspended_on),
            measures::suspended_until.eq(c.suspended_until),
            measures::suspension_reason.eq(c.suspension_reason),
            measures::suspended_days.eq(c.suspended_days),
            measures::next_contact_due_on.eq(next_due),
            crate::db::bump(measures::version, measures::updated_at),
        ))
        .returning(MeasureRow::as_returning())
        .get_result(conn)
        .await?)
}

/// A granted renewal: the new planned end, the months renewed and the renewals granted.
pub async fn extend(
    conn: &mut Connection,
    id: Uuid,
    end: NaiveDate,
    renewed_months: i32,
    renewals_granted: i32,
) -> Result<MeasureRow, ApiError> {
    Ok(diesel::update(measures::table.find(id))
        .set((
            measures::planned_end_on.eq(Some(end)),
            measures::renewed_months.eq(renewed_months),
            measures::renewals_granted.eq(renewals_granted),
            crate::db::bump(measures::version, measures::updated_at),
        ))
        .returning(MeasureRow::as_returning())
        .get_result(conn)
        .await?)
}

/// The follow-up computed again from the contacts: count, times the rhythm was broken,
/// last contact, next due date.
pub async fn update_follow_up(
    conn: &mut Connection,
    id: Uuid,
    contacts_count: i32,
    rhythm_missed: i32,
    last_contact_on: Option<NaiveDate>,
    next_due: Option<NaiveDate>,
) -> Result<MeasureRow, ApiError> {
    Ok(diesel::update(measures::table.find(id))
        .set((
            measures::contacts_count.eq(contacts_count),
            measures::contact_rhythm_missed.eq(rhythm_missed),
            measures::last_contact_on.eq(last_contact_on),
            measures::next_contact_due_on.eq(next_due),
            crate::db::bump(measures::version, measures::updated_at),
        ))
        .returning(MeasureRow::as_returning())
        .get_result(conn)
        .await?)
}

/// Of these measures, those that are active.
pub async fn active_among(conn: &mut Connection, ids: &[Uuid]) -> Result<Vec<Uuid>, ApiError> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    Ok(measures::table
        .filter(measures::id.eq_any(ids))
        .filter(measures::status.eq(MeasureStatus::Active))
        .select(measures::id)
        .load(conn)
        .await?)
}

/// Whether `measure` is an open measure (proposed, active or suspended) that `operator`
/// operates for `household`.
pub async fn is_open_measure_of(
    conn: &mut Connection,
    measure: Uuid,
    operator: Uuid,
    household: Uuid,
) -> Result<bool, ApiError> {
    Ok(diesel::select(diesel::dsl::exists(
        measures::table
            .filter(measures::id.eq(measure))
            .filter(measures::operator_organisation_id.eq(operator))
            .filter(measures::household_id.eq(household))
            .filter(measures::status.eq_any([
                MeasureStatus::Proposed,
                MeasureStatus::Active,
                MeasureStatus::Suspended,
            ])),
    ))
    .get_result(conn)
    .await?)
}

/// The status and planned end of each of `ids`.
pub async fn statuses_and_ends(
    conn: &mut Connection,
    ids: &[Uuid],
) -> Result<Vec<(Uuid, MeasureStatus, Option<NaiveDate>)>, ApiError> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    Ok(measures::table
        .filter(measures::id.eq_any(ids))
        .select((measures::id, measures::status, measures::planned_end_on))
        .load(conn)
        .await?)
}
