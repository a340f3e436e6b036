//! What happens to measures inside a transaction: who is a party, what each party is shown,
//! opening a measure (directly, or when a referral is accepted), moving it, and telling the
//! parties.
//!
//! Who sees what (issue 11, DOMAIN.md "who sees what"):
//!
//! | part of a measure                         | operator | funder | referrer | landlord |
//! |-------------------------------------------|----------|--------|----------|----------|
//! | id, status, planned end                   | yes      | yes    | yes      | yes      |
//! | `details`: kind, parties, dates, outcomes | yes      | yes    | yes      |          |
//! | `funding`: household's name and make-up, rules, contact count, suspension dates, renewals | yes | yes | | |
//! | `follow_up`: worker, contact dates, rhythm, suspension reason, closing comment | yes | | | |
//! | contacts (with their notes), objectives   | yes      |        |          |          |
//!
//! The landlord is the landlord of a sub-lease that names the measure. Anyone else: 404. A
//! measure holds no special-category data (the household's grounds are read through
//! `/v1/households`, where each read is journalled), so reading one journals nothing.

use chrono::{Duration, NaiveDate};
use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;
use validator::Validate;

use super::model::*;
use super::rules::{self, MeasureParty};
use crate::auth::caller::Caller;
use crate::auth::policy::SharingBasis;
use crate::cases::{self, Case, CaseType, Step};
use crate::db::Keyset;
use crate::error::{ApiError, FieldError};
use crate::events::{self, NewEvent};
use crate::households::model::HouseholdType;
use crate::households::sharing;
use crate::identity::model::OrganisationRow;
use crate::measures::events::MeasureEventData;
use crate::schema::{households, measure_kinds, measures, objectives, organisations, subleases};

impl Case for MeasureRow {
    const TYPE: CaseType = CaseType::Measure;
    type Party = MeasureParty;

    fn id(&self) -> Uuid {
        self.id
    }

    fn household_id(&self) -> Option<Uuid> {
        Some(self.household_id)
    }

    fn status(&self) -> &'static str {
        self.status.as_str()
    }

    async fn party_of(
        &self,
        conn: &mut AsyncPgConnection,
        org: Uuid,
    ) -> Result<Option<MeasureParty>, ApiError> {
        if let Some(p) = party_in_row(org, self) {
            return Ok(Some(p));
        }
        let landlord: bool = diesel::select(diesel::dsl::exists(
            subleases::table
                .filter(subleases::measure_id.eq(self.id))
                .filter(subleases::landlord_organisation_id.eq(org)),
        ))
        .get_result(conn)
        .await?;
        Ok(landlord.then_some(MeasureParty::Landlord))
    }

    async fn load(
        conn: &mut AsyncPgConnection,
        id: Uuid,
        lock: bool,
    ) -> Result<Option<Self>, ApiError> {
        crate::load_row!(conn, measures::table, MeasureRow, id, lock)
    }

    /// `measure.<status>` to the operator, the funder and the referrer, with the outcomes;
    /// [`record`] sends the landlords of its sub-leases their copy, without them.
    fn status_event(&self) -> Result<NewEvent, ApiError> {
        let event_type = match self.status {
            MeasureStatus::Proposed => "measure.proposed",
            MeasureStatus::Active => "measure.started",
            MeasureStatus::Suspended => "measure.suspended",
            MeasureStatus::Closed => "measure.closed",
            MeasureStatus::Cancelled => "measure.cancelled",
        };
        measure_event(event_type, self)
    }
}

/// The operator's, funder's or referrer's side, from the row alone.
fn party_in_row(org: Uuid, row: &MeasureRow) -> Option<MeasureParty> {
    if org == row.operator_organisation_id {
        Some(MeasureParty::Operator)
    } else if Some(org) == row.funder_organisation_id {
        Some(MeasureParty::Funder)
    } else if Some(org) == row.referrer_organisation_id {
        Some(MeasureParty::Referrer)
    } else {
        None
    }
}

/// The parties told of every change: operator, funder, referrer.
fn audience(row: &MeasureRow) -> Vec<Uuid> {
    let mut to = vec![row.operator_organisation_id];
    to.extend(row.funder_organisation_id);
    to.extend(row.referrer_organisation_id);
    to.sort();
    to.dedup();
    to
}

/// A measure event of `event_type` to its audience.
pub fn measure_event(event_type: &'static str, row: &MeasureRow) -> Result<NewEvent, ApiError> {
    Ok(NewEvent {
        event_type,
        subject_type: "measure",
        subject_id: row.id,
        data: events::data(&MeasureEventData::of(row, true))?,
        recipients: audience(row),
        for_platform: false,
    })
}

/// Records a step of the measure with its event, and tells the landlords of the sub-leases
/// that name it (status and planned end only).
pub async fn record(
    conn: &mut AsyncPgConnection,
    actor: Option<&Caller>,
    row: &MeasureRow,
    step: Step<'_>,
) -> Result<(), ApiError> {
    cases::record(conn, actor, row, step).await?;
    tell_landlords(conn, actor, row.status_event()?.event_type, row).await
}

/// The landlords' copy of a measure event: id, status and planned end.
pub async fn tell_landlords(
    conn: &mut AsyncPgConnection,
    actor: Option<&Caller>,
    event_type: &'static str,
    row: &MeasureRow,
) -> Result<(), ApiError> {
    let main = audience(row);
    let mut landlords: Vec<Uuid> = subleases::table
        .filter(subleases::measure_id.eq(row.id))
        .select(subleases::landlord_organisation_id)
        .distinct()
        .load(conn)
        .await?;
    landlords.retain(|l| !main.contains(l));
    if landlords.is_empty() {
        return Ok(());
    }
    events::append(
        conn,
        actor,
        NewEvent {
            event_type,
            subject_type: "measure",
            subject_id: row.id,
            data: events::data(&MeasureEventData::of(row, false))?,
            recipients: landlords,
            for_platform: false,
        },
    )
    .await
}

/// An objective's side: its measure's operator alone.
pub struct ObjectiveCase {
    pub row: ObjectiveRow,
    pub operator: Uuid,
}

impl Case for ObjectiveCase {
    const TYPE: CaseType = CaseType::Objective;
    type Party = ();

    fn id(&self) -> Uuid {
        self.row.id
    }

    fn household_id(&self) -> Option<Uuid> {
        Some(self.row.household_id)
    }

    fn status(&self) -> &'static str {
        self.row.status.as_str()
    }

    async fn party_of(&self, _: &mut AsyncPgConnection, org: Uuid) -> Result<Option<()>, ApiError> {
        Ok((org == self.operator).then_some(()))
    }

    async fn load(
        conn: &mut AsyncPgConnection,
        id: Uuid,
        lock: bool,
    ) -> Result<Option<Self>, ApiError> {
        let q = objectives::table
            .inner_join(measures::table)
            .filter(objectives::id.eq(id))
            .select((
                ObjectiveRow::as_select(),
                measures::operator_organisation_id,
            ));
        let found: Option<(ObjectiveRow, Uuid)> = if lock {
            q.for_update().first(conn).await.optional()?
        } else {
            q.first(conn).await.optional()?
        };
        Ok(found.map(|(row, operator)| ObjectiveCase { row, operator }))
    }

    /// `objective.updated` (or `objective.created`) to the operator alone.
    fn status_event(&self) -> Result<NewEvent, ApiError> {
        Ok(NewEvent {
            event_type: if self.row.version == 1 {
                "objective.created"
            } else {
                "objective.updated"
            },
            subject_type: "objective",
            subject_id: self.row.id,
            data: events::data(&crate::measures::events::ObjectiveEventData {
                id: self.row.id,
                measure_id: self.row.measure_id,
                status: self.row.status,
            })?,
            recipients: vec![self.operator],
            for_platform: false,
        })
    }
}

/// The household as the funder and the operator see it on a measure: name and make-up.
#[derive(Debug, Clone, Serialize, ToSchema, Queryable, Selectable)]
#[diesel(table_name = households)]
pub struct HouseholdComposition {
    pub id: Uuid,
    #[diesel(column_name = head_last_name)]
    pub last_name: String,
    #[diesel(column_name = head_first_names)]
    pub first_names: String,
    pub household_type: HouseholdType,
    /// Adults, the head included.
    pub adults: i32,
    /// Children (minors).
    pub children: i32,
}

/// What the operator, the funder and the referrer see of a measure.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct MeasureDetails {
    /// A code of the catalogue (`GET /v1/measure-kinds`).
    pub kind: String,
    pub household_id: Uuid,
    pub operator_organisation_id: Uuid,
    /// The organisation that funds it and decides its start (when the kind needs a
    /// decision) and renewals; `null` until set.
    pub funder_organisation_id: Option<Uuid>,
    /// The referral it came from; `null` when the operator opened it directly.
    pub origin_referral_id: Option<Uuid>,
    /// The programme that funds it (`GET /v1/programmes/{id}`); `null`: none.
    pub programme_id: Option<Uuid>,
    pub referrer_organisation_id: Option<Uuid>,
    /// When it starts (or started); a proposed measure's planned start.
    pub starts_on: NaiveDate,
    /// When it was closed.
    pub ended_on: Option<NaiveDate>,
    /// How it ended (closed measures).
    pub outcomes: Vec<OutcomeCode>,
    /// Why it was given up (cancelled measures).
    pub cancellation_reason: Option<CancellationReason>,
    pub created_at: chrono::DateTime<chrono::Utc>,
}

/// What the operator and the funder see: the household, the rules, the follow-up counts.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct MeasureFunding {
    pub household: HouseholdComposition,
    /// The rules it keeps from its kind (a later catalogue change does not change them).
    pub rules: MeasureRules,
    /// Contacts logged so far (missed appointments included).
    pub contacts_count: i32,
    /// While suspended: the day it was.
    pub suspended_on: Option<NaiveDate>,
    /// While suspended: the latest day the current suspension may last to; `null`
    /// otherwise.
    pub suspended_until: Option<NaiveDate>,
    /// Days suspended in all (completed suspensions).
    pub suspended_days: i32,
    /// Renewals granted so far.
    pub renewals_granted: i32,
}

/// What the operator alone sees: the worker, the rhythm, the reasons.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct MeasureFollowUp {
    /// The worker in charge (*référent*): an account of the operator.
    pub worker_account_id: Option<Uuid>,
    /// The latest contact held (a missed appointment is none).
    pub last_contact_on: Option<NaiveDate>,
    /// When the next contact that counts for the kind's rhythm is due; `null` without a
    /// rhythm.
    pub next_contact_due_on: Option<NaiveDate>,
    /// Active and its next contact was due before today (French legal date).
    pub contact_overdue: bool,
    /// While suspended: why.
    pub suspension_reason: Option<SuspensionReason>,
    /// The comment of the close or the cancellation.
    pub closing_comment: Option<String>,
}

/// A support measure, as one of its parties sees it: `details` for its operator, funder and
/// referrer; `funding` for its operator and funder; `follow_up` for its operator alone; the
/// landlord of a sub-lease that names it sees its `status` and `planned_end_on` only. A
/// section a party may not see is absent.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[schema(example = json!({
    "id": "0193a5ff-0000-7000-8000-000000000001", "status": "active", "planned_end_on": "2027-07-04",
    "details": {"kind": "asll", "household_id": "0193a5d0-0000-7000-8000-000000000001",
        "operator_organisation_id": "0193a5c2-0000-7000-8000-0000000000cc",
        "funder_organisation_id": "0193a5c2-0000-7000-8000-0000000000dd", "origin_referral_id": null, "programme_id": null,
        "referrer_organisation_id": null, "starts_on": "2027-01-04", "ended_on": null, "outcomes": [],
        "cancellation_reason": null,
        "created_at": "2026-12-20T10:00:00Z"},
    "funding": {"household": {"id": "0193a5d0-0000-7000-8000-000000000001", "last_name": "Martin", "first_names": "Julie",
        "household_type": "single_parent_family", "adults": 1, "children": 2},
        "rules": {"kind_version": 1, "duration_months": 6, "needs_decision": true,
            "renewal_policy": [{"months": 3, "exceptional": false}, {"months": 3, "exceptional": true}],
            "contact_every_days": 14, "contact_kinds": ["home_visit"],
            "outcome_codes": ["accessed_housing", "kept_housing", "rehoused", "left_without_solution", "moved_away", "ended_by_household", "deceased"],
            "exclusive_outcomes": [["accessed_housing", "kept_housing", "rehoused", "left_without_solution", "moved_away", "deceased"],
                ["ended_by_household", "deceased"]],
            "max_total_months": null, "max_suspension_days": 92, "renewal_window_months": 3},
        "contacts_count": 3, "suspended_on": null, "suspended_until": null, "suspended_days": 0, "renewals_granted": 0},
    "follow_up": {"worker_account_id": "0193a5c2-0000-7000-8000-0000000000ce", "last_contact_on": "2027-01-28",
        "next_contact_due_on": "2027-02-11", "contact_overdue": false, "suspension_reason": null, "closing_comment": null},
    "allowed_actions": ["suspend", "close"], "version": 4, "updated_at": "2027-01-28T17:00:00Z"
}))]
pub struct Measure {
    pub id: Uuid,
    pub status: MeasureStatus,
    /// The planned end, always counted from the start: `starts_on` + (the rules'
    /// `duration_months` + the months renewals granted) + the days suspended (a running
    /// suspension counts until its `suspended_until`). Month arithmetic keeps the day of the
    /// month, or the month's last day when it has none: a measure started on 31 August for
    /// 6 months ends on 28 February, and on 31 May after a 3-month renewal. `null`: no
    /// limit.
    pub planned_end_on: Option<NaiveDate>,
    /// Shown to the operator, the funder and the referrer; absent otherwise.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    pub details: Option<MeasureDetails>,
    /// Shown to the operator and the funder; absent otherwise.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    pub funding: Option<MeasureFunding>,
    /// Shown to the operator alone; absent otherwise.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    pub follow_up: Option<MeasureFollowUp>,
    /// What the caller's organisation may do now (`POST /v1/measures/{id}/{action}`).
    pub allowed_actions: Vec<MeasureAction>,
    pub version: i32,
    pub updated_at: chrono::DateTime<chrono::Utc>,
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
    conn: &mut AsyncPgConnection,
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
    conn: &mut AsyncPgConnection,
    row: &MeasureRow,
) -> Result<HouseholdComposition, ApiError> {
    Ok(households::table
        .find(row.household_id)
        .select(HouseholdComposition::as_select())
        .first(conn)
        .await?)
}

/// The actions the caller may take on the measure now: exactly those that would succeed
/// (a well-formed payload aside). The state table for its side ([`rules::allowed_actions`]),
/// if its role and token may write measures, less what the measure's state forbids: a
/// suspension when no suspension day is left, a close before the measure's start (it
/// closes on a day from its start to today), a start when its programme has no place left.
pub async fn allowed_actions(
    conn: &mut AsyncPgConnection,
    caller: &Caller,
    row: &MeasureRow,
    party: MeasureParty,
) -> Result<Vec<MeasureAction>, ApiError> {
    if !crate::auth::policy::may(caller, crate::auth::policy::Action::WriteMeasures) {
        return Ok(Vec::new());
    }
    let rules_ = row.rules()?;
    let today = crate::calendar::today();
    let mut actions = rules::allowed_actions(row.status, party, rules_.needs_decision);
    let place = match (row.programme_id, actions.contains(&MeasureAction::Start)) {
        (Some(p), true) => crate::programmes::has_place(conn, p, &row.kind).await?,
        _ => true,
    };
    actions.retain(|a| match a {
        MeasureAction::Suspend => rules::suspension_days_left(&rules_, row.suspended_days) >= 1,
        MeasureAction::Close => row.starts_on <= today,
        MeasureAction::Start => place,
        MeasureAction::Resume | MeasureAction::Cancel => true,
    });
    Ok(actions)
}

/// A measure as a party sees it (the table of this module), today being `today`, with the
/// caller's `allowed_actions` ([`allowed_actions`]).
pub fn view(
    row: MeasureRow,
    household: HouseholdComposition,
    party: MeasureParty,
    today: NaiveDate,
    allowed_actions: Vec<MeasureAction>,
) -> Result<Measure, ApiError> {
    let rules = row.rules()?;
    let sees_details = party != MeasureParty::Landlord;
    let sees_funding = matches!(party, MeasureParty::Operator | MeasureParty::Funder);
    let operator = party == MeasureParty::Operator;
    Ok(Measure {
        id: row.id,
        status: row.status,
        planned_end_on: row.planned_end_on,
        details: sees_details.then(|| MeasureDetails {
            kind: row.kind.clone(),
            household_id: row.household_id,
            operator_organisation_id: row.operator_organisation_id,
            funder_organisation_id: row.funder_organisation_id,
            origin_referral_id: row.origin_referral_id,
            programme_id: row.programme_id,
            referrer_organisation_id: row.referrer_organisation_id,
            starts_on: row.starts_on,
            ended_on: row.ended_on,
            outcomes: row.outcome_codes(),
            cancellation_reason: row.cancellation_reason,
            created_at: row.created_at,
        }),
        funding: sees_funding.then(|| MeasureFunding {
            household,
            rules: rules.clone(),
            contacts_count: row.contacts_count,
            suspended_on: row.suspended_on,
            suspended_until: row.suspended_until,
            suspended_days: row.suspended_days,
            renewals_granted: row.renewals_granted,
        }),
        follow_up: operator.then(|| MeasureFollowUp {
            worker_account_id: row.worker_account_id,
            last_contact_on: row.last_contact_on,
            next_contact_due_on: row.next_contact_due_on,
            contact_overdue: row.contact_overdue(today),
            suspension_reason: row.suspension_reason,
            closing_comment: row.closing_comment.clone(),
        }),
        allowed_actions,
        version: row.version,
        updated_at: row.updated_at,
    })
}

/// Which measures an organisation lists.
pub struct MeasureList {
    pub org: Uuid,
    /// Its side; `None`: every side.
    pub side: Option<MeasureParty>,
    /// Only the measures it operates (the follow-up filters are the operator's).
    pub operated_only: bool,
    pub status: Option<MeasureStatus>,
    pub kind: Option<String>,
    pub household_id: Option<Uuid>,
    pub referral_id: Option<Uuid>,
    pub programme_id: Option<Uuid>,
    pub worker_account_id: Option<Uuid>,
    pub contact_overdue: Option<bool>,
    pub ending_before: Option<NaiveDate>,
    pub updated_since: Option<chrono::DateTime<chrono::Utc>>,
    pub today: NaiveDate,
}

/// A page of an organisation's measures with their households, by id (one more row than
/// the page, to tell whether another follows). A landlord's are those its sub-leases name.
pub async fn list(
    conn: &mut AsyncPgConnection,
    l: MeasureList,
    page: crate::http::pagination::Page,
) -> Result<Vec<MeasureWithHousehold>, ApiError> {
    let org = l.org;
    // The follow-up filters keep to the measures it operates.
    let side = if l.operated_only {
        Some(MeasureParty::Operator)
    } else {
        l.side
    };
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

/// Each row as the caller's organisation sees it (rows of a list the organisation
/// operates, funds, referred or lets the home of: a row where it is no party of the row
/// came through its sub-lease, as the landlord).
pub async fn views(
    conn: &mut AsyncPgConnection,
    caller: &Caller,
    org: Uuid,
    rows: Vec<MeasureWithHousehold>,
) -> Result<Vec<Measure>, ApiError> {
    let today = crate::calendar::today();
    let mut out = Vec::with_capacity(rows.len());
    for (r, h) in rows {
        let p = party_in_row(org, &r).unwrap_or(MeasureParty::Landlord);
        let actions = allowed_actions(conn, caller, &r, p).await?;
        out.push(view(r, h, p, today, actions)?);
    }
    Ok(out)
}

/// Checks a funder named for a measure of `kind` (when known) of `household` (when known),
/// on behalf of its operator `by`: an organisation (`unknown_organisation`) of one of the
/// kind's funder kinds (`not_a_funder`) that covers the household's territory
/// (`outside_territory`: its département is the household's, or under a programme the
/// household's département is one the programme covers, `covering`), and to which the
/// household may be shown (the one sharing rule: its consent in force, `consent_required`)
/// unless it sees it already. Field errors on `field`. Gives what naming it shares, to
/// record once the measure is written ([`record_funder_sharing`]).
#[allow(clippy::too_many_arguments)]
pub async fn check_funder(
    conn: &mut AsyncPgConnection,
    field: &str,
    kind: Option<&crate::measures::catalogue::MeasureKindRow>,
    funder: Uuid,
    household: Option<&crate::households::model::HouseholdRow>,
    by: Uuid,
    covering: Option<&[String]>,
    errors: &mut Vec<FieldError>,
) -> Result<Option<SharingBasis>, ApiError> {
    let org: Option<OrganisationRow> = organisations::table
        .find(funder)
        .select(OrganisationRow::as_select())
        .first(conn)
        .await
        .optional()?;
    let Some(org) = org else {
        errors.push(FieldError::new(
            field,
            "unknown_organisation",
            "no such organisation",
        ));
        return Ok(None);
    };
    if let Some(kind) = kind.filter(|k| !k.funder_kinds().contains(&org.kind)) {
        errors.push(FieldError::new(
            field,
            "not_a_funder",
            format!(
                "a measure of kind {} is funded by an organisation of kind {}",
                kind.code,
                kind.funder_kinds()
                    .iter()
                    .map(|k| k.as_str())
                    .collect::<Vec<_>>()
                    .join(" or ")
            ),
        ));
        return Ok(None);
    }
    let Some(household) = household else {
        return Ok(None);
    };
    let covers = match covering {
        Some(codes) => codes.contains(&household.department_code),
        None => org.department_code == household.department_code,
    };
    if !covers {
        errors.push(FieldError::new(
            field,
            "outside_territory",
            match covering {
                Some(codes) => format!(
                    "the programme covers the départements {}; the household's is {}",
                    codes.join(", "),
                    household.department_code
                ),
                None => format!(
                    "the funder's département is {}, the household's {}: a funder covers the \
                     households of its territory",
                    org.department_code, household.department_code
                ),
            },
        ));
    }
    // Both rules are reported together: a funder of another territory and a household
    // whose consent is not in force are two things to fix.
    if sharing::already_sees(conn, org.id, household.id).await? {
        return Ok(None);
    }
    let basis = sharing::basis(conn, by, household, None, field, errors).await?;
    Ok(basis.filter(|_| covers))
}

/// Records what naming the measure's funder shared ([`check_funder`]), if anything.
pub async fn record_funder_sharing(
    conn: &mut AsyncPgConnection,
    caller: &Caller,
    row: &MeasureRow,
    basis: Option<&SharingBasis>,
) -> Result<(), ApiError> {
    let (Some(basis), Some(funder)) = (basis, row.funder_organisation_id) else {
        return Ok(());
    };
    sharing::record(
        conn,
        sharing::Sharing {
            household: row.household_id,
            to: funder,
            by: row.operator_organisation_id,
            actor: Some(caller.account_id),
            path: sharing::SharingPath::MeasureFunder,
            case_id: row.id,
            basis,
        },
    )
    .await
}

/// The measure a referral's acceptance opens, in the acceptance's transaction: `proposed`
/// when its kind needs a decision, else `active` from the desired start (today if that is
/// past). The referrer funds it when its organisation kind is one of the measure kind's
/// `funder_kinds` and it covers the household's territory (a CCAPEX for EMPEX, a
/// department's CUD for ASLL); otherwise the operator names the funder. The referrer saw
/// the household already: nothing new is shared. The accepting person is its worker.
pub async fn open_from_referral(
    conn: &mut AsyncPgConnection,
    caller: &Caller,
    referral: &crate::referrals::model::ReferralRow,
) -> Result<MeasureRow, ApiError> {
    let kind: crate::measures::catalogue::MeasureKindRow = measure_kinds::table
        .find(&referral.measure_kind)
        .select(crate::measures::catalogue::MeasureKindRow::as_select())
        .first(conn)
        .await?;
    let referrer: OrganisationRow = organisations::table
        .find(referral.referrer_organisation_id)
        .select(OrganisationRow::as_select())
        .first(conn)
        .await?;
    let territory: String = households::table
        .find(referral.household_id)
        .select(households::department_code)
        .first(conn)
        .await?;
    let funder = (kind.funder_kinds().contains(&referrer.kind)
        && referrer.department_code == territory)
        .then_some(referrer.id);
    let today = crate::calendar::today();
    open(
        conn,
        Some(caller),
        Opening {
            kind,
            household_id: referral.household_id,
            operator: referral.addressee_organisation_id,
            worker: (caller.kind == crate::identity::model::AccountKind::Person)
                .then_some(caller.account_id),
            funder,
            origin_referral: Some((referral.id, referral.referrer_organisation_id)),
            starts_on: referral.desired_start.unwrap_or(today).max(today),
            programme: None,
        },
    )
    .await
}

/// Of these households, the measure kinds each has running (proposed, active, suspended)
/// with this operator: a referral for one of those is not accepted (it would be the
/// second, see [`open`]).
pub async fn running_kinds(
    conn: &mut AsyncPgConnection,
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

/// The states of a running measure.
const RUNNING: [MeasureStatus; 3] = [
    MeasureStatus::Proposed,
    MeasureStatus::Active,
    MeasureStatus::Suspended,
];

/// What opens a measure.
pub struct Opening {
    pub kind: crate::measures::catalogue::MeasureKindRow,
    pub household_id: Uuid,
    pub operator: Uuid,
    pub worker: Option<Uuid>,
    pub funder: Option<Uuid>,
    pub origin_referral: Option<(Uuid, Uuid)>,
    pub starts_on: NaiveDate,
    /// The programme it is put under (already checked: `programmes::check_eligible`).
    pub programme: Option<Uuid>,
}

/// Opens a measure: `proposed` when its kind needs a decision, else `active` from its start;
/// records its first step and tells its parties. A household has one running (proposed,
/// active, suspended) measure of a kind with an operator: a second is 409 with the first's
/// `existing_id` (an operator that receives such a referral declines it as `duplicate`).
pub async fn open(
    conn: &mut AsyncPgConnection,
    actor: Option<&Caller>,
    o: Opening,
) -> Result<MeasureRow, ApiError> {
    // One running measure of a kind per household and operator: a second is the first.
    crate::db::lock_for_rule(
        conn,
        "one running measure",
        &format!("{}|{}|{}", o.household_id, o.kind.code, o.operator),
    )
    .await?;
    let running: Option<Uuid> = measures::table
        .filter(measures::household_id.eq(o.household_id))
        .filter(measures::kind.eq(&o.kind.code))
        .filter(measures::operator_organisation_id.eq(o.operator))
        .filter(measures::status.eq_any(RUNNING))
        .select(measures::id)
        .first(conn)
        .await
        .optional()?;
    if let Some(existing) = running {
        return Err(ApiError::duplicate(
            format!(
                "the household already has a running measure of kind {} with this operator",
                o.kind.code
            ),
            existing,
        ));
    }
    let rules = o.kind.rules();
    let status = if rules.needs_decision {
        MeasureStatus::Proposed
    } else {
        MeasureStatus::Active
    };
    let row: MeasureRow = diesel::insert_into(measures::table)
        .values((
            measures::id.eq(Uuid::now_v7()),
            measures::kind.eq(&o.kind.code),
            measures::rules.eq(events::data(&rules)?),
            measures::household_id.eq(o.household_id),
            measures::operator_organisation_id.eq(o.operator),
            measures::worker_account_id.eq(o.worker),
            measures::origin_referral_id.eq(o.origin_referral.map(|r| r.0)),
            measures::referrer_organisation_id.eq(o.origin_referral.map(|r| r.1)),
            measures::funder_organisation_id.eq(o.funder),
            measures::programme_id.eq(o.programme),
            measures::status.eq(status),
            measures::starts_on.eq(o.starts_on),
            measures::planned_end_on.eq(rules::planned_end(&rules, o.starts_on, 0, 0)),
            measures::next_contact_due_on.eq(if status == MeasureStatus::Active {
                rules::next_contact_due(&rules, o.starts_on, None)
            } else {
                None
            }),
        ))
        .returning(MeasureRow::as_returning())
        .get_result(conn)
        .await?;
    if let (Some(p), MeasureStatus::Active) = (row.programme_id, status) {
        crate::programmes::take_place(conn, p, &row.kind).await?;
    }
    record(conn, actor, &row, Step::new("open", None)).await?;
    Ok(row)
}

/// The decision to start a proposed measure.
#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"starts_on": "2027-01-04", "comment": "Validated by the CUD of 2026-12-18"}))]
pub struct MeasureStart {
    /// Within a year of today either way (`out_of_range`); default: the planned start, or
    /// today if it is past.
    #[validate(custom(function = "crate::calendar::validate_within_a_year"))]
    pub starts_on: Option<NaiveDate>,
    /// The decision's comment (its commission, its date), kept in the history.
    #[validate(length(min = 1, max = 4000))]
    #[schema(min_length = 1, max_length = 4000)]
    pub comment: Option<String>,
}

/// A suspension: its reason and the latest day it may last to.
#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"reason": "household_absent", "until": "2027-03-01", "comment": "Stay with family abroad"}))]
pub struct Suspension {
    pub reason: SuspensionReason,
    /// After today; the measure's suspensions may not add up to more than its rules'
    /// `max_suspension_days`. The planned end moves by the suspension's length (adjusted at
    /// resumption to the days actually suspended).
    pub until: NaiveDate,
    /// Required when `reason` is `other`.
    #[validate(length(min = 1, max = 4000))]
    #[schema(min_length = 1, max_length = 4000)]
    pub comment: Option<String>,
}

/// A closing, with its outcomes.
#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"outcomes": ["kept_housing"], "ended_on": "2027-06-30", "comment": "Arrears cleared, lease kept"}))]
pub struct MeasureClosing {
    /// 1 to 4 distinct codes among the rules' `outcome_codes`, at most one of each group
    /// of the rules' `exclusive_outcomes` (`exclusive`: kept housing and left without
    /// solution cannot both be true).
    #[validate(length(min = 1, max = 4))]
    #[schema(min_items = 1, max_items = 4)]
    pub outcomes: Vec<OutcomeCode>,
    /// Default: today; not before the start, not in the future (`in_future`).
    pub ended_on: Option<NaiveDate>,
    /// How it ended, in words; the funder and the referrer do not see it.
    #[validate(length(min = 1, max = 4000))]
    #[schema(min_length = 1, max_length = 4000)]
    pub comment: Option<String>,
}

/// A cancellation, with its coded reason.
#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"reason": "household_declined", "comment": "The household prefers to go on with its own social worker"}))]
pub struct MeasureCancellation {
    pub reason: CancellationReason,
    /// Required when `reason` is `other`.
    #[validate(length(min = 1, max = 4000))]
    #[schema(min_length = 1, max_length = 4000)]
    pub comment: Option<String>,
}

/// What an action carries.
pub enum Payload {
    Start(MeasureStart),
    Suspend(Suspension),
    Resume,
    Close(MeasureClosing),
    Cancel(MeasureCancellation),
}

/// What an action writes besides the status.
#[derive(Clone)]
struct Changes {
    starts_on: NaiveDate,
    ended_on: Option<NaiveDate>,
    outcomes: Vec<OutcomeCode>,
    closing_comment: Option<String>,
    cancellation_reason: Option<CancellationReason>,
    suspended_on: Option<NaiveDate>,
    suspended_until: Option<NaiveDate>,
    suspension_reason: Option<SuspensionReason>,
    suspended_days: i32,
}

impl Changes {
    /// The planned end, from the start: see [`rules::planned_end`]. A running suspension
    /// counts its reserved days.
    fn planned_end(&self, rules_: &MeasureRules, renewed_months: i32) -> Option<NaiveDate> {
        let reserved = match (self.suspended_on, self.suspended_until) {
            (Some(from), Some(until)) => (until - from).num_days() as i32,
            _ => 0,
        };
        rules::planned_end(
            rules_,
            self.starts_on,
            renewed_months,
            self.suspended_days + reserved,
        )
    }
}

fn days(n: i64) -> Duration {
    Duration::days(n)
}

/// A field error unless a comment comes with an `other` reason.
fn comment_for_other(other: bool, comment: &Option<String>, what: &str) -> Option<FieldError> {
    (other && comment.as_deref().is_none_or(|c| c.trim().is_empty())).then(|| {
        FieldError::new(
            "comment",
            "required",
            format!("{what} for `other` reasons needs a comment"),
        )
    })
}

/// The changes of an action on `row` today, or the field errors of its payload.
fn changes(
    row: &MeasureRow,
    rules_: &MeasureRules,
    payload: &Payload,
    today: NaiveDate,
) -> Result<(Changes, Option<String>, Option<&'static str>), ApiError> {
    let mut c = Changes {
        starts_on: row.starts_on,
        ended_on: row.ended_on,
        outcomes: row.outcome_codes(),
        closing_comment: row.closing_comment.clone(),
        cancellation_reason: row.cancellation_reason,
        suspended_on: row.suspended_on,
        suspended_until: row.suspended_until,
        suspension_reason: row.suspension_reason,
        suspended_days: row.suspended_days,
    };
    // A suspension folded in: the days actually suspended, up to `on`.
    let fold_suspension = |c: &mut Changes, on: NaiveDate| {
        if let (Some(from), Some(until)) = (c.suspended_on, c.suspended_until) {
            c.suspended_days += (on - from).num_days().clamp(0, (until - from).num_days()) as i32;
        }
        c.suspended_on = None;
        c.suspended_until = None;
        c.suspension_reason = None;
    };
    Ok(match payload {
        Payload::Start(s) => {
            c.starts_on = s.starts_on.unwrap_or(row.starts_on.max(today));
            (c, s.comment.clone(), None)
        }
        Payload::Suspend(s) => {
            let mut errors = Vec::new();
            if s.until <= today {
                errors.push(FieldError::new(
                    "until",
                    "not_after_today",
                    "a suspension lasts until a day after today",
                ));
            }
            let length = (s.until - today).num_days();
            let allowed = i64::from(rules::suspension_days_left(rules_, row.suspended_days));
            if s.until > today && length > allowed {
                errors.push(FieldError::new(
                    "until",
                    "beyond_max_suspension",
                    format!(
                        "the measure's rules allow {} days of suspension in all; {} are used, {} \
                         remain (until {} at the latest)",
                        rules_.max_suspension_days,
                        row.suspended_days,
                        allowed,
                        today + days(allowed)
                    ),
                ));
            }
            errors.extend(comment_for_other(
                s.reason == SuspensionReason::Other,
                &s.comment,
                "a suspension",
            ));
            if !errors.is_empty() {
                return Err(ApiError::Validation(errors));
            }
            c.suspended_on = Some(today);
            c.suspended_until = Some(s.until);
            c.suspension_reason = Some(s.reason);
            (c, s.comment.clone(), Some(s.reason.as_str()))
        }
        Payload::Resume => {
            fold_suspension(&mut c, today);
            (c, None, None)
        }
        Payload::Close(cl) => {
            let mut errors = Vec::new();
            let ended = cl.ended_on.unwrap_or(today);
            // Checked here rather than as a field rule, to come with the outcomes' errors.
            if ended > today {
                errors.push(FieldError::new(
                    "ended_on",
                    "in_future",
                    "a measure closes on a past day or today",
                ));
            }
            if ended < row.starts_on {
                errors.push(FieldError::new(
                    "ended_on",
                    "before_start",
                    format!("a measure closes on or after its start ({})", row.starts_on),
                ));
            }
            errors.extend(rules::outcome_errors(rules_, &row.kind, &cl.outcomes));
            if !errors.is_empty() {
                return Err(ApiError::Validation(errors));
            }
            fold_suspension(&mut c, ended.max(row.suspended_on.unwrap_or(ended)));
            c.ended_on = Some(ended);
            c.outcomes = cl.outcomes.clone();
            c.closing_comment = cl.comment.as_deref().map(str::trim).map(str::to_owned);
            (c, cl.comment.clone(), None)
        }
        Payload::Cancel(cm) => {
            if let Some(e) = comment_for_other(
                cm.reason == CancellationReason::Other,
                &cm.comment,
                "a cancellation",
            ) {
                return Err(ApiError::Validation(vec![e]));
            }
            c.cancellation_reason = Some(cm.reason);
            c.closing_comment = cm.comment.as_deref().map(str::trim).map(str::to_owned);
            (c, cm.comment.clone(), Some(cm.reason.as_str()))
        }
    })
}

/// The turn of the contact rhythm an action makes, on `today` (`ended_on` for a close).
fn rhythm_turn(to: MeasureStatus, c: &Changes, today: NaiveDate) -> Option<rules::Turn> {
    match to {
        MeasureStatus::Suspended => Some(rules::Turn::Suspend(today)),
        MeasureStatus::Active => Some(rules::Turn::Resume(today)),
        MeasureStatus::Closed => Some(rules::Turn::Close(c.ended_on.unwrap_or(today))),
        MeasureStatus::Proposed | MeasureStatus::Cancelled => None,
    }
}

/// Moves a locked measure by `action` to `to` (already allowed by the state table) with
/// what its payload writes, records the step and tells the parties.
#[allow(clippy::too_many_arguments)]
pub async fn perform(
    conn: &mut AsyncPgConnection,
    actor: Option<&Caller>,
    row: &MeasureRow,
    action: MeasureAction,
    to: MeasureStatus,
    payload: &Payload,
    today: NaiveDate,
) -> Result<MeasureRow, ApiError> {
    let rules_ = row.rules()?;
    let (c, comment, reason) = changes(row, &rules_, payload, today)?;
    // A measure under a programme takes its place when it starts (409 `programme_full`).
    if let (Some(p), MeasureStatus::Proposed, MeasureStatus::Active) =
        (row.programme_id, row.status, to)
    {
        crate::programmes::take_place(conn, p, &row.kind).await?;
    }
    // The contact rhythm: started (the decision), paused, restarted or ended.
    let rhythm = if row.status == MeasureStatus::Proposed {
        match to {
            MeasureStatus::Active => rules::Rhythm::start(&rules_, c.starts_on),
            _ => row.rhythm(),
        }
    } else {
        match rhythm_turn(to, &c, today) {
            Some(turn) => row.rhythm().after(&rules_, c.starts_on, turn),
            None => row.rhythm(),
        }
    };
    let updated: MeasureRow = diesel::update(measures::table.find(row.id))
        .set((
            measures::status.eq(to),
            measures::contact_rhythm_missed.eq(rhythm.missed),
            measures::starts_on.eq(c.starts_on),
            measures::planned_end_on.eq(c.planned_end(&rules_, row.renewed_months)),
            measures::ended_on.eq(c.ended_on),
            measures::outcomes.eq(events::data(&c.outcomes)?),
            measures::closing_comment.eq(&c.closing_comment),
            measures::cancellation_reason.eq(c.cancellation_reason),
            measures::suspended_on.eq(c.suspended_on),
            measures::suspended_until.eq(c.suspended_until),
            measures::suspension_reason.eq(c.suspension_reason),
            measures::suspended_days.eq(c.suspended_days),
            measures::next_contact_due_on.eq(rhythm.due),
            crate::db::bump(measures::version, measures::updated_at),
        ))
        .returning(MeasureRow::as_returning())
        .get_result(conn)
        .await?;
    record(
        conn,
        actor,
        &updated,
        Step::new(action.as_str(), Some(row.status.as_str()))
            .comment(comment.as_deref())
            .reason(reason),
    )
    .await?;
    Ok(updated)
}

/// Sets an objective of the measure with the household (`in_progress`), the first step of
/// its history (`objective.created`, the operator's feed only).
pub async fn set_objective(
    conn: &mut AsyncPgConnection,
    caller: &Caller,
    measure: &MeasureRow,
    theme: ObjectiveTheme,
    description: &str,
) -> Result<ObjectiveCase, ApiError> {
    let row: ObjectiveRow = diesel::insert_into(objectives::table)
        .values((
            objectives::id.eq(Uuid::now_v7()),
            objectives::measure_id.eq(measure.id),
            objectives::household_id.eq(measure.household_id),
            objectives::theme.eq(theme),
            objectives::description.eq(description),
            objectives::status.eq(ObjectiveStatus::InProgress),
        ))
        .returning(ObjectiveRow::as_returning())
        .get_result(conn)
        .await?;
    let case = ObjectiveCase {
        row,
        operator: measure.operator_organisation_id,
    };
    cases::record(conn, Some(caller), &case, Step::new("set", None)).await?;
    Ok(case)
}
