//! The case kernel: what every exchanged case shares (referrals, agreements, proposals,
//! sub-leases, support measures, their renewals, objectives and contacts).
//!
//! - **One history**: every step of every case is a row of `case_transitions` (actor,
//!   organisation, time, comment, coded reason), written by [`record`] in the transaction of
//!   the change, with the case's event to its parties. One table rather than one per case
//!   type because the readers that matter read across types: a household's journey (every
//!   step of every case, in time order) and funders' delays (referral submitted → measure
//!   started) are each one indexed range.
//! - **One party read**: [`find_as_party`] loads a case and the caller's side of it; an
//!   organisation that is not a party gets 404, so it does not learn the case exists.
//! - **One history endpoint**: [`history`] lists a case's steps, oldest first, with the
//!   case's redaction rule ([`Case::sees_words`]: who sees which comment and coded reason).
//! - **One refusal**: a state table answers [`Refusal`]; [`refusal_error`] makes it the
//!   API's 403 (never this party's action) or 409 (not now, with what is allowed).

use std::fmt::Display;
use std::future::Future;

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use serde::Serialize;
use utoipa::ToSchema;
use uuid::Uuid;

use crate::auth::caller::Caller;
use crate::error::ApiError;
use crate::events::{self, NewEvent};
use crate::http::concurrency::IfMatch;
use crate::schema::case_transitions;

/// A kind of case, as `case_transitions.case_type` stores it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CaseType {
    Referral,
    Agreement,
    Proposal,
    Sublease,
    Measure,
    Renewal,
    Objective,
    Contact,
}

impl CaseType {
    pub fn as_str(self) -> &'static str {
        match self {
            CaseType::Referral => "referral",
            CaseType::Agreement => "agreement",
            CaseType::Proposal => "proposal",
            CaseType::Sublease => "sublease",
            CaseType::Measure => "measure",
            CaseType::Renewal => "renewal",
            CaseType::Objective => "objective",
            CaseType::Contact => "contact",
        }
    }
}

/// An exchanged case: a row with parties, a status and a history.
pub trait Case: Sized + Send + Sync {
    const TYPE: CaseType;
    /// The sides of the case that act on it or read it.
    type Party: Copy + Send;

    fn id(&self) -> Uuid;
    /// The household concerned, if any (an agreement has none).
    fn household_id(&self) -> Option<Uuid>;
    /// The current status, as stored.
    fn status(&self) -> &'static str;
    /// The organisation's side of the case, if it is a party. May read more than the row
    /// (a measure's landlord is the landlord of a sub-lease that names it).
    fn party_of(
        &self,
        conn: &mut AsyncPgConnection,
        org: Uuid,
    ) -> impl Future<Output = Result<Option<Self::Party>, ApiError>> + Send;
    /// The case by id, locked `FOR UPDATE` when `lock`.
    fn load(
        conn: &mut AsyncPgConnection,
        id: Uuid,
        lock: bool,
    ) -> impl Future<Output = Result<Option<Self>, ApiError>> + Send;
    /// The event that tells the parties the case is now in its current status.
    fn status_event(&self) -> Result<NewEvent, ApiError>;
    /// Whether this party reads the case's history at all (by default every party does;
    /// a measure's landlord does not: 403).
    fn reads_history(_party: Self::Party) -> Result<(), ApiError> {
        Ok(())
    }
    /// The redaction rule of the history: whether `party` (organisation `org`) sees the
    /// words of `step`, its comment and coded reason (by default every party sees every
    /// step whole). The step itself (action, statuses, actor, time) is always shown.
    fn sees_words(&self, _party: Self::Party, _org: Uuid, _step: &TransitionRow) -> bool {
        true
    }
}

/// The body of [`Case::load`] for a case that is one row of a table: `load_row!(conn,
/// referrals::table, ReferralRow, id, lock)`.
#[macro_export]
macro_rules! load_row {
    ($conn:expr, $table:expr, $row:ty, $id:expr, $lock:expr) => {{
        use diesel::prelude::*;
        use diesel_async::RunQueryDsl;
        let q = $table.find($id).select(<$row>::as_select());
        Ok(if $lock {
            q.for_update().first($conn).await.optional()?
        } else {
            q.first($conn).await.optional()?
        })
    }};
}

/// The case `id` and the organisation's side of it; 404 when there is no such case or the
/// organisation is not a party (either way it learns nothing).
pub async fn find_as_party<C: Case>(
    conn: &mut AsyncPgConnection,
    org: Uuid,
    id: Uuid,
    lock: bool,
) -> Result<(C, C::Party), ApiError> {
    let case = C::load(conn, id, lock).await?.ok_or(ApiError::NotFound)?;
    let party = case.party_of(conn, org).await?.ok_or(ApiError::NotFound)?;
    Ok((case, party))
}

/// A step to record: the action, the status it left (none for a creation), an optional
/// comment and coded reason, and what it changed when that is worth keeping (a
/// correction's previous values). The status it reached is the case's current one.
#[derive(Debug, Clone, Default)]
pub struct Step<'a> {
    pub action: &'a str,
    pub from: Option<&'a str>,
    pub comment: Option<&'a str>,
    pub reason_code: Option<&'a str>,
    pub details: Option<serde_json::Value>,
}

impl<'a> Step<'a> {
    pub fn new(action: &'a str, from: Option<&'a str>) -> Self {
        Step {
            action,
            from,
            ..Default::default()
        }
    }

    pub fn comment(mut self, comment: Option<&'a str>) -> Self {
        self.comment = comment;
        self
    }

    pub fn reason(mut self, reason_code: Option<&'a str>) -> Self {
        self.reason_code = reason_code;
        self
    }

    pub fn details(mut self, details: Option<serde_json::Value>) -> Self {
        self.details = details;
        self
    }
}

/// Records a step of the case (already changed in this transaction), attributed to the
/// actor (none: the service), and appends the case's status event.
pub async fn record<C: Case>(
    conn: &mut AsyncPgConnection,
    actor: Option<&Caller>,
    case: &C,
    step: Step<'_>,
) -> Result<(), ApiError> {
    record_step(conn, actor, case, step).await?;
    events::append(conn, actor, case.status_event()?).await
}

/// Records a step without an event (for a change whose event the caller appends itself).
pub async fn record_step<C: Case>(
    conn: &mut AsyncPgConnection,
    actor: Option<&Caller>,
    case: &C,
    step: Step<'_>,
) -> Result<(), ApiError> {
    diesel::insert_into(case_transitions::table)
        .values((
            case_transitions::id.eq(Uuid::now_v7()),
            case_transitions::case_type.eq(C::TYPE.as_str()),
            case_transitions::case_id.eq(case.id()),
            case_transitions::household_id.eq(case.household_id()),
            case_transitions::action.eq(step.action),
            case_transitions::from_status.eq(step.from),
            case_transitions::to_status.eq(case.status()),
            case_transitions::actor_account_id.eq(actor.map(|a| a.account_id)),
            case_transitions::actor_organisation_id.eq(actor.and_then(|a| a.organisation_id)),
            case_transitions::comment.eq(step.comment.map(str::trim)),
            case_transitions::reason_code.eq(step.reason_code),
            case_transitions::occurred_at.eq(crate::calendar::now()),
            case_transitions::details.eq(step.details),
        ))
        .execute(conn)
        .await?;
    Ok(())
}

/// A step of a case's life, as stored.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = case_transitions)]
pub struct TransitionRow {
    pub id: Uuid,
    pub case_id: Uuid,
    pub action: String,
    pub from_status: Option<String>,
    pub to_status: String,
    pub actor_account_id: Option<Uuid>,
    pub actor_organisation_id: Option<Uuid>,
    pub comment: Option<String>,
    pub reason_code: Option<String>,
    pub occurred_at: DateTime<Utc>,
    pub details: Option<serde_json::Value>,
}

/// The steps of a case, oldest first.
pub async fn steps(
    conn: &mut AsyncPgConnection,
    case_id: Uuid,
) -> Result<Vec<TransitionRow>, ApiError> {
    Ok(case_transitions::table
        .filter(case_transitions::case_id.eq(case_id))
        .select(TransitionRow::as_select())
        .order((
            case_transitions::occurred_at.asc(),
            case_transitions::id.asc(),
        ))
        .load(conn)
        .await?)
}

/// The action and time of each of a case's steps that is one of `actions` (a measure's
/// suspensions and resumptions, for its contact rhythm).
pub async fn step_times(
    conn: &mut AsyncPgConnection,
    case_id: Uuid,
    actions: &[&str],
) -> Result<Vec<(String, DateTime<Utc>)>, ApiError> {
    Ok(case_transitions::table
        .filter(case_transitions::case_id.eq(case_id))
        .filter(case_transitions::action.eq_any(actions))
        .select((case_transitions::action, case_transitions::occurred_at))
        .load(conn)
        .await?)
}

/// The history of a case the organisation is party to (404 otherwise), in the case's wire
/// shape, oldest first, as the case's redaction rule lets this party see it
/// ([`Case::reads_history`], [`Case::sees_words`]).
pub async fn history<C: Case, T: From<TransitionRow> + Serialize>(
    conn: &mut AsyncPgConnection,
    org: Uuid,
    id: Uuid,
) -> Result<crate::http::pagination::PageOf<T>, ApiError> {
    let (case, party) = find_as_party::<C>(conn, org, id, false).await?;
    C::reads_history(party)?;
    let items = steps(conn, case.id())
        .await?
        .into_iter()
        .map(|mut step| {
            if !case.sees_words(party, org, &step) {
                step.comment = None;
                step.reason_code = None;
            }
            T::from(step)
        })
        .collect();
    Ok(crate::http::pagination::PageOf {
        items,
        next_cursor: None,
    })
}

/// A step of a case's life: what was done, by whom, when, from which status to which.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct CaseTransition {
    pub id: Uuid,
    /// The action (`submit`, `accept`, `start`, `suspend`…; the case's own list).
    pub action: String,
    /// `null` for the step that created the case.
    pub from_status: Option<String>,
    pub to_status: String,
    /// `null` when the service acted (expiry, obsolescence).
    pub actor_account_id: Option<Uuid>,
    pub actor_organisation_id: Option<Uuid>,
    pub comment: Option<String>,
    /// The coded reason of a decline, an end, a suspension, a cancellation or a refusal
    /// (the case's own codes); `null` otherwise.
    pub reason_code: Option<String>,
    pub occurred_at: DateTime<Utc>,
    /// What the step changed, when it keeps it: a contact's correction gives the values it
    /// replaced (`occurred_on`, `kind`, `duration_minutes`, `worker_account_id`, `note`);
    /// `null` otherwise.
    #[schema(value_type = Option<Object>)]
    pub details: Option<serde_json::Value>,
}

impl From<TransitionRow> for CaseTransition {
    fn from(t: TransitionRow) -> Self {
        CaseTransition {
            id: t.id,
            action: t.action,
            from_status: t.from_status,
            to_status: t.to_status,
            actor_account_id: t.actor_account_id,
            actor_organisation_id: t.actor_organisation_id,
            comment: t.comment,
            reason_code: t.reason_code,
            occurred_at: t.occurred_at,
            details: t.details,
        }
    }
}

/// Why a state table refuses an action.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal<S, A> {
    /// This party never takes this action (403).
    NotYours,
    /// Not in the current state (409): what this party may do now instead.
    NotNow { current: S, allowed: Vec<A> },
}

/// The API's answer to a refusal: 403 naming who may act, or 409 with `current_status` and
/// `allowed_actions`. `case` names the case in prose ("a referral"), `party` the caller's
/// side ("referrer").
pub fn refusal_error<S: Display, A: Display>(
    refusal: Refusal<S, A>,
    case: &str,
    action: impl Display,
    party: &str,
) -> ApiError {
    match refusal {
        Refusal::NotYours => {
            ApiError::Forbidden(format!("the {party} of {case} may not {action} it"))
        }
        Refusal::NotNow { current, allowed } => {
            let current = current.to_string();
            let allowed: Vec<String> = allowed.iter().map(ToString::to_string).collect();
            ApiError::not_now(
                format!("`{action}` is not possible on {case} that is {current}"),
                &current,
                &allowed.iter().map(String::as_str).collect::<Vec<_>>(),
            )
        }
    }
}

/// A case with actions: its state table, and what a caller may do on it now.
pub trait Actionable: Case {
    /// What a party can do to it (`accept`, `suspend`…).
    type Action: Copy + Display + Send + Sync;
    /// Where it stands.
    type Status: Copy + Display + Send + Sync;
    /// Its version: the ETag that `If-Match` names.
    fn version(&self) -> i32;
    /// The case in prose, for refusals: "a referral", "a sub-lease of kind iml".
    fn name(&self) -> String;
    /// The party in prose, for refusals: "referrer".
    fn party_name(party: Self::Party) -> &'static str;
    /// The state table: the status `action` by `party` leads to, or why it is refused.
    fn transition(
        &self,
        action: Self::Action,
        party: Self::Party,
    ) -> Result<Self::Status, Refusal<Self::Status, Self::Action>>;
    /// The API's answer to a refusal of the state table: by default [`refusal_error`] (403
    /// naming who may act; 409 with `current_status` and `allowed_actions`).
    fn refused(
        &self,
        refusal: Refusal<Self::Status, Self::Action>,
        action: Self::Action,
        party: Self::Party,
    ) -> ApiError {
        refusal_error(refusal, &self.name(), action, Self::party_name(party))
    }
    /// Exactly the actions that would succeed for the caller now (a 409's
    /// `allowed_actions`, and the resource's).
    fn allowed_actions(
        &self,
        conn: &mut AsyncPgConnection,
        caller: &Caller,
        party: Self::Party,
    ) -> impl Future<Output = Result<Vec<Self::Action>, ApiError>> + Send;
}

/// The start of every action on a case, in the action's transaction: the party read (404
/// when the caller's organisation is not a party), the row lock, `If-Match` (412 on another
/// version), the state table (403 when this party never takes the action; 409 when not now,
/// with `current_status` and exactly the `allowed_actions` that would succeed). Returns the
/// locked case, the caller's side and the status the action leads to; the domain's service
/// then checks what the action carries, writes, and records the step ([`record`]).
pub async fn begin_action<C: Actionable>(
    conn: &mut AsyncPgConnection,
    caller: &Caller,
    id: Uuid,
    if_match: &IfMatch,
    action: C::Action,
) -> Result<(C, C::Party, C::Status), ApiError> {
    let org = caller.partner_organisation()?;
    let (case, party) = find_as_party::<C>(conn, org, id, true).await?;
    if_match.check(case.version())?;
    match case.transition(action, party) {
        Ok(to) => Ok((case, party, to)),
        Err(Refusal::NotNow { current, .. }) => {
            let allowed = case.allowed_actions(conn, caller, party).await?;
            Err(case.refused(Refusal::NotNow { current, allowed }, action, party))
        }
        Err(refusal) => Err(case.refused(refusal, action, party)),
    }
}

/// The API's answer to a list filter naming a side the caller's organisation does not take
/// (`as=funder` for an association, `box=received` for a landlord, `as=decider` on a measure
/// it operates): 422 `not_your_side` on `field`, never an empty page that reads as "none
/// yet". `message` says who takes the side.
pub fn not_your_side(field: &str, message: impl Into<String>) -> ApiError {
    ApiError::invalid(field, "not_your_side", message)
}
