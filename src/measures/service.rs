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
use serde::Serialize;
use utoipa::ToSchema;
use uuid::Uuid;

use super::model::*;
use super::rules::{self, MeasureParty};
use crate::auth::caller::Caller;
use crate::cases::{self, Case, CaseType, Step};
use crate::error::{ApiError, FieldError};
use crate::events::catalogue::{MeasureEventData, RenewalEventData};
use crate::events::{self, NewEvent};
use crate::households::model::HouseholdType;
use crate::measures::handlers::{ActionComment, MeasureClosing, MeasureStart, Suspension};
use crate::schema::{households, measure_contacts, measures, objectives, renewals, subleases};

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

impl Case for RenewalRow {
    const TYPE: CaseType = CaseType::Renewal;
    /// `true` for the decider, `false` for the operator.
    type Party = bool;

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
        _: &mut AsyncPgConnection,
        org: Uuid,
    ) -> Result<Option<bool>, ApiError> {
        Ok(if org == self.decider_organisation_id {
            Some(true)
        } else if org == self.operator_organisation_id {
            Some(false)
        } else {
            None
        })
    }

    async fn load(
        conn: &mut AsyncPgConnection,
        id: Uuid,
        lock: bool,
    ) -> Result<Option<Self>, ApiError> {
        crate::load_row!(conn, renewals::table, RenewalRow, id, lock)
    }

    /// `renewal.<status>` to the operator and the decider.
    fn status_event(&self) -> Result<NewEvent, ApiError> {
        let event_type = match self.status {
            RenewalStatus::Requested => "renewal.requested",
            RenewalStatus::Granted => "renewal.granted",
            RenewalStatus::Refused => "renewal.refused",
        };
        Ok(NewEvent {
            event_type,
            subject_type: "renewal",
            subject_id: self.id,
            data: events::data(&RenewalEventData::from(self))?,
            recipients: vec![self.operator_organisation_id, self.decider_organisation_id],
            for_platform: false,
        })
    }
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
            data: events::data(&crate::events::catalogue::ObjectiveEventData {
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
    pub adults: i32,
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
    pub suspended_on: Option<NaiveDate>,
    /// The latest day a suspension may last to.
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
    pub last_contact_on: Option<NaiveDate>,
    /// When the next contact that counts for the kind's rhythm is due; `null` without a
    /// rhythm.
    pub next_contact_due_on: Option<NaiveDate>,
    /// Active and its next contact was due before today (French legal date).
    pub contact_overdue: bool,
    pub suspension_reason: Option<SuspensionReason>,
    pub closing_comment: Option<String>,
}

/// A support measure, as one of its parties sees it: the sections a party may not see are
/// absent (see the table of `measures::service`).
#[derive(Debug, Clone, Serialize, ToSchema)]
#[schema(example = json!({
    "id": "0193a5ff-0000-7000-8000-000000000001", "status": "active", "planned_end_on": "2027-07-04",
    "details": {"kind": "asll", "household_id": "0193a5d0-0000-7000-8000-000000000001",
        "operator_organisation_id": "0193a5c2-0000-7000-8000-0000000000cc",
        "funder_organisation_id": "0193a5c2-0000-7000-8000-0000000000dd", "origin_referral_id": null, "programme_id": null,
        "referrer_organisation_id": null, "starts_on": "2027-01-04", "ended_on": null, "outcomes": [],
        "created_at": "2026-12-20T10:00:00Z"},
    "funding": {"household": {"id": "0193a5d0-0000-7000-8000-000000000001", "last_name": "Martin", "first_names": "Julie",
        "household_type": "single_parent_family", "adults": 1, "children": 2},
        "rules": {"kind_version": 1, "duration_months": 6, "needs_decision": true,
            "renewal_policy": [{"months": 3, "exceptional": false}, {"months": 3, "exceptional": true}],
            "contact_every_days": 14, "contact_kinds": ["home_visit"], "outcome_codes": [],
            "max_total_months": null, "max_suspension_days": 92},
        "contacts_count": 3, "suspended_on": null, "suspended_until": null, "suspended_days": 0, "renewals_granted": 0},
    "follow_up": {"worker_account_id": "0193a5c2-0000-7000-8000-0000000000ce", "last_contact_on": "2027-01-28",
        "next_contact_due_on": "2027-02-11", "contact_overdue": false, "suspension_reason": null, "closing_comment": null},
    "allowed_actions": ["suspend", "close"], "version": 4, "updated_at": "2027-01-28T17:00:00Z"
}))]
pub struct Measure {
    pub id: Uuid,
    pub status: MeasureStatus,
    /// The planned end: the start plus the kind's duration, moved by renewals and
    /// suspensions; `null`: no limit.
    pub planned_end_on: Option<NaiveDate>,
    /// Operator, funder, referrer.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    pub details: Option<MeasureDetails>,
    /// Operator and funder.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    pub funding: Option<MeasureFunding>,
    /// Operator only.
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

/// A measure as a party sees it (the table of this module), today being `today`.
pub fn view(
    row: MeasureRow,
    household: HouseholdComposition,
    party: MeasureParty,
    today: NaiveDate,
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
        allowed_actions: rules::allowed_actions(row.status, party, rules.needs_decision),
        version: row.version,
        updated_at: row.updated_at,
    })
}

/// Each row as the organisation sees it (rows of a list the organisation operates, funds or
/// referred).
pub fn views(org: Uuid, rows: Vec<MeasureWithHousehold>) -> Result<Vec<Measure>, ApiError> {
    let today = crate::calendar::today();
    rows.into_iter()
        .filter_map(|(r, h)| party_in_row(org, &r).map(|p| view(r, h, p, today)))
        .collect()
}

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
        .filter(measures::status.eq_any([
            MeasureStatus::Proposed,
            MeasureStatus::Active,
            MeasureStatus::Suspended,
        ]))
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
            measures::planned_end_on.eq(rules::planned_end(&rules, o.starts_on)),
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

/// What an action carries.
pub enum Payload {
    Start(MeasureStart),
    Suspend(Suspension),
    Resume,
    Close(MeasureClosing),
    Cancel(ActionComment),
}

/// What an action writes besides the status.
#[derive(Clone)]
struct Changes {
    starts_on: NaiveDate,
    planned_end_on: Option<NaiveDate>,
    ended_on: Option<NaiveDate>,
    outcomes: Vec<OutcomeCode>,
    closing_comment: Option<String>,
    suspended_on: Option<NaiveDate>,
    suspended_until: Option<NaiveDate>,
    suspension_reason: Option<SuspensionReason>,
    suspended_days: i32,
    next_contact_due_on: Option<NaiveDate>,
}

fn days(n: i64) -> Duration {
    Duration::days(n)
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
        planned_end_on: row.planned_end_on,
        ended_on: row.ended_on,
        outcomes: row.outcome_codes(),
        closing_comment: row.closing_comment.clone(),
        suspended_on: row.suspended_on,
        suspended_until: row.suspended_until,
        suspension_reason: row.suspension_reason,
        suspended_days: row.suspended_days,
        next_contact_due_on: row.next_contact_due_on,
    };
    // A suspension folded in: the days actually suspended, up to `on`.
    let fold_suspension = |c: &mut Changes, on: NaiveDate| {
        if let (Some(from), Some(until)) = (c.suspended_on, c.suspended_until) {
            let reserved = (until - from).num_days();
            let actual = (on - from).num_days().clamp(0, reserved);
            c.planned_end_on = c.planned_end_on.map(|e| e - days(reserved) + days(actual));
            c.suspended_days += actual as i32;
        }
        c.suspended_on = None;
        c.suspended_until = None;
        c.suspension_reason = None;
    };
    Ok(match payload {
        Payload::Start(s) => {
            let start = s.starts_on.unwrap_or(row.starts_on.max(today));
            c.starts_on = start;
            c.planned_end_on = rules::planned_end(rules_, start);
            c.next_contact_due_on = rules::next_contact_due(rules_, start, None);
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
            let allowed = i64::from(rules_.max_suspension_days - row.suspended_days);
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
            if s.reason == SuspensionReason::Other && s.comment.is_none() {
                errors.push(FieldError::new(
                    "comment",
                    "required",
                    "a suspension for `other` reasons needs a comment",
                ));
            }
            if !errors.is_empty() {
                return Err(ApiError::Validation(errors));
            }
            c.suspended_on = Some(today);
            c.suspended_until = Some(s.until);
            c.suspension_reason = Some(s.reason);
            c.planned_end_on = c.planned_end_on.map(|e| e + days(length));
            (c, s.comment.clone(), Some(s.reason.as_str()))
        }
        Payload::Resume => {
            fold_suspension(&mut c, today);
            c.next_contact_due_on = rules::next_contact_due(rules_, today, None);
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
            for (i, o) in cl.outcomes.iter().enumerate() {
                if cl.outcomes[..i].contains(o) {
                    errors.push(FieldError::new(
                        format!("outcomes[{i}]"),
                        "duplicate",
                        "each outcome once",
                    ));
                } else if !rules_.outcome_codes.is_empty() && !rules_.outcome_codes.contains(o) {
                    errors.push(FieldError::new(
                        format!("outcomes[{i}]"),
                        "not_for_kind",
                        format!(
                            "a measure of kind {} closes with {}",
                            row.kind,
                            rules_
                                .outcome_codes
                                .iter()
                                .map(|o| o.as_str())
                                .collect::<Vec<_>>()
                                .join(", ")
                        ),
                    ));
                }
            }
            if !errors.is_empty() {
                return Err(ApiError::Validation(errors));
            }
            fold_suspension(&mut c, ended.max(row.suspended_on.unwrap_or(ended)));
            c.ended_on = Some(ended);
            c.outcomes = cl.outcomes.clone();
            c.closing_comment = cl.comment.as_deref().map(str::trim).map(str::to_owned);
            c.next_contact_due_on = None;
            (c, cl.comment.clone(), None)
        }
        Payload::Cancel(cm) => {
            c.next_contact_due_on = None;
            c.closing_comment = cm.comment.as_deref().map(str::trim).map(str::to_owned);
            (c, cm.comment.clone(), None)
        }
    })
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
    let (c, comment, reason) = changes(row, &row.rules()?, payload, today)?;
    // A measure under a programme takes its place when it starts (409 `programme_full`).
    if let (Some(p), MeasureStatus::Proposed, MeasureStatus::Active) =
        (row.programme_id, row.status, to)
    {
        crate::programmes::take_place(conn, p, &row.kind).await?;
    }
    // Leaving `active` (a suspension, a close) with a contact overdue breaks the rhythm.
    let broke = row.status == MeasureStatus::Active
        && to != MeasureStatus::Active
        && row
            .next_contact_due_on
            .is_some_and(|d| d < c.ended_on.unwrap_or(today));
    let updated: MeasureRow = diesel::update(measures::table.find(row.id))
        .set((
            measures::status.eq(to),
            measures::contact_rhythm_missed.eq(row.contact_rhythm_missed + i32::from(broke)),
            measures::starts_on.eq(c.starts_on),
            measures::planned_end_on.eq(c.planned_end_on),
            measures::ended_on.eq(c.ended_on),
            measures::outcomes.eq(events::data(&c.outcomes)?),
            measures::closing_comment.eq(c.closing_comment),
            measures::suspended_on.eq(c.suspended_on),
            measures::suspended_until.eq(c.suspended_until),
            measures::suspension_reason.eq(c.suspension_reason),
            measures::suspended_days.eq(c.suspended_days),
            measures::next_contact_due_on.eq(c.next_contact_due_on),
            measures::version.eq(row.version + 1),
            measures::updated_at.eq(diesel::dsl::now),
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

/// A contact to log (already checked).
pub struct ContactEntry<'a> {
    pub occurred_on: NaiveDate,
    pub kind: ContactKind,
    pub duration_minutes: Option<i32>,
    pub worker: Uuid,
    pub note: Option<&'a str>,
}

/// Logs a contact on a locked, running measure: the count, the last contact (a missed
/// appointment is no contact held) and, for a kind the rules count, the next due date move;
/// the operator and the funder are told (`measure.contact_recorded`, never the note).
pub async fn log_contact(
    conn: &mut AsyncPgConnection,
    caller: &Caller,
    measure: &MeasureRow,
    entry: ContactEntry<'_>,
) -> Result<Contact, ApiError> {
    let contact: Contact = diesel::insert_into(measure_contacts::table)
        .values((
            measure_contacts::id.eq(Uuid::now_v7()),
            measure_contacts::measure_id.eq(measure.id),
            measure_contacts::occurred_on.eq(entry.occurred_on),
            measure_contacts::kind.eq(entry.kind),
            measure_contacts::duration_minutes.eq(entry.duration_minutes),
            measure_contacts::worker_account_id.eq(entry.worker),
            measure_contacts::note.eq(entry.note),
            measure_contacts::recorded_by_account_id.eq(caller.account_id),
        ))
        .returning(Contact::as_returning())
        .get_result(conn)
        .await?;
    let rules_ = measure.rules()?;
    let last = if entry.kind == ContactKind::MissedAppointment {
        measure.last_contact_on
    } else {
        measure.last_contact_on.max(Some(entry.occurred_on))
    };
    let due = if measure.status == MeasureStatus::Closed {
        None
    } else if rules_.counts(entry.kind) {
        measure.next_contact_due_on.max(rules::next_contact_due(
            &rules_,
            measure.starts_on,
            Some(entry.occurred_on),
        ))
    } else {
        measure.next_contact_due_on
    };
    // A counting contact after its due date breaks the rhythm (the programme's indicator).
    let late = rules_.counts(entry.kind)
        && measure
            .next_contact_due_on
            .is_some_and(|d| entry.occurred_on > d);
    let updated: MeasureRow = diesel::update(measures::table.find(measure.id))
        .set((
            measures::contacts_count.eq(measure.contacts_count + 1),
            measures::contact_rhythm_missed.eq(measure.contact_rhythm_missed + i32::from(late)),
            measures::last_contact_on.eq(last),
            measures::next_contact_due_on.eq(due),
            measures::version.eq(measure.version + 1),
            measures::updated_at.eq(diesel::dsl::now),
        ))
        .returning(MeasureRow::as_returning())
        .get_result(conn)
        .await?;
    let mut recipients = vec![updated.operator_organisation_id];
    recipients.extend(updated.funder_organisation_id);
    events::append(
        conn,
        Some(caller),
        NewEvent {
            event_type: "measure.contact_recorded",
            subject_type: "measure",
            subject_id: measure.id,
            data: events::data(&crate::events::catalogue::MeasureContactEventData {
                id: measure.id,
                contact_id: contact.id,
                kind: contact.kind,
                occurred_on: contact.occurred_on,
                contacts_count: updated.contacts_count,
            })?,
            recipients,
            for_platform: false,
        },
    )
    .await?;
    Ok(contact)
}

/// Asks the decider for a measure's renewal number `ordinal` (the policy's `step`, already
/// checked), dated today; the operator and the decider are told (`renewal.requested`).
#[allow(clippy::too_many_arguments)]
pub async fn request_renewal(
    conn: &mut AsyncPgConnection,
    caller: &Caller,
    measure: &MeasureRow,
    decider: Uuid,
    ordinal: i32,
    step: RenewalStep,
    justification: Option<&str>,
) -> Result<RenewalRow, ApiError> {
    let row: RenewalRow = diesel::insert_into(renewals::table)
        .values((
            renewals::id.eq(Uuid::now_v7()),
            renewals::measure_id.eq(measure.id),
            renewals::household_id.eq(measure.household_id),
            renewals::operator_organisation_id.eq(measure.operator_organisation_id),
            renewals::decider_organisation_id.eq(decider),
            renewals::ordinal.eq(ordinal),
            renewals::months.eq(step.months),
            renewals::exceptional.eq(step.exceptional),
            renewals::justification.eq(justification.map(str::trim)),
            renewals::status.eq(RenewalStatus::Requested),
            renewals::requested_by_account_id.eq(caller.account_id),
            renewals::requested_on.eq(crate::calendar::today()),
        ))
        .returning(RenewalRow::as_returning())
        .get_result(conn)
        .await?;
    cases::record(
        conn,
        Some(caller),
        &row,
        Step::new("request", None).comment(justification),
    )
    .await?;
    Ok(row)
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
