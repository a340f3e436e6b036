//! `/v1/measures/{id}/renewals` and `/v1/renewals`: the operator asks for a measure's next
//! renewal, the decider (the measure's funder) grants or refuses it, the operator may
//! withdraw it while it waits.

use actix_web::http::StatusCode;
use actix_web::{get, post, web, HttpRequest, HttpResponse};
use chrono::NaiveDate;
use diesel_async::AsyncPgConnection;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;
use validator::Validate;

use super::catalogue;
use super::handlers::{not_now, operator_only};
use super::model::*;
use super::renewals::{self as renewal_service, Decision, RenewalList};
use super::rules::{self, MeasureParty, RenewalBlock};
use crate::action_endpoint;
use crate::auth::caller::Caller;
use crate::auth::policy::{authorize, may, Action};
use crate::cases;
use crate::db;
use crate::error::{ApiError, ApiResult};
use crate::fields::validate_not_blank;
use crate::http::concurrency::IfMatch;
use crate::http::extractors::ListQuery;
use crate::http::idempotency::{
    self, ActionTarget, IdempotencyHeader, IdempotencyKey, StoredResponse,
};
use crate::http::pagination::{PageOf, PageParams};
use crate::state::AppState;

/// A renewal request: the next renewal of the measure's policy.
#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"justification": "The rehousing is set for March; the visits must go on until then"}))]
pub struct NewRenewal {
    /// Required for an exceptional renewal.
    #[validate(length(min = 1, max = 4000), custom(function = "validate_not_blank"))]
    #[schema(min_length = 1, max_length = 4000, pattern = "\\S")]
    pub justification: Option<String>,
}

/// A grant: the decision as the decider's commission took it. Every field is optional.
#[derive(Debug, Default, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"months": 2, "decided_on": "2027-06-20", "decision_reference": "CUD-71-2027-118",
    "comment": "Two months to finish the rehousing file"}))]
pub struct RenewalGrant {
    /// The months granted: 1 to the months asked (`beyond_asked`); default: those asked.
    #[validate(range(min = 1, max = 120))]
    #[schema(minimum = 1, maximum = 120)]
    pub months: Option<i32>,
    /// The day the decision was taken: not in the future (`in_future`), not before the
    /// request (`before_request`); default: today.
    pub decided_on: Option<NaiveDate>,
    /// The decision's reference, as the commission records it.
    #[validate(length(min = 1, max = 200), custom(function = "validate_not_blank"))]
    #[schema(min_length = 1, max_length = 200, pattern = "\\S")]
    pub decision_reference: Option<String>,
    #[validate(length(min = 1, max = 4000), custom(function = "validate_not_blank"))]
    #[schema(min_length = 1, max_length = 4000, pattern = "\\S")]
    pub comment: Option<String>,
}

/// A refusal, with its coded reason and explanation.
#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"reason": "objectives_met", "explanation": "The household has kept its home and pays its rent",
    "decided_on": "2027-06-20", "decision_reference": "CUD-71-2027-119"}))]
pub struct RenewalRefusal {
    pub reason: RenewalRefusalReason,
    #[validate(length(min = 1, max = 4000), custom(function = "validate_not_blank"))]
    #[schema(min_length = 1, max_length = 4000, pattern = "\\S")]
    pub explanation: String,
    /// The day the decision was taken (see `RenewalGrant`); default: today.
    pub decided_on: Option<NaiveDate>,
    #[validate(length(min = 1, max = 200), custom(function = "validate_not_blank"))]
    #[schema(min_length = 1, max_length = 200, pattern = "\\S")]
    pub decision_reference: Option<String>,
}

/// A withdrawal of a waiting request by the operator.
#[derive(Debug, Default, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"comment": "The household has found a home: the measure closes at its end"}))]
pub struct RenewalWithdrawal {
    #[validate(length(min = 1, max = 4000), custom(function = "validate_not_blank"))]
    #[schema(min_length = 1, max_length = 4000, pattern = "\\S")]
    pub comment: Option<String>,
}

/// A renewal's side, as a list filter.
#[derive(Debug, Clone, Copy, Deserialize, Serialize, ToSchema, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum RenewalSide {
    /// Renewals waiting for (or given) your organisation's decision.
    Decider,
    /// Renewals your organisation asked for.
    Operator,
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct RenewalFilters {
    /// `decider` (your decisions) or `operator` (your requests); both when absent. A side
    /// your organisation's kind never takes, or not its side of `measure_id`, is a 422
    /// `not_your_side`.
    #[param(value_type = Option<String>, pattern = "^(decider|operator)$")]
    pub r#as: Option<RenewalSide>,
    /// Only renewals in this status.
    pub status: Option<RenewalStatus>,
    /// `true`: requests waiting more than 10 days; `false`: the others.
    pub overdue: Option<bool>,
    /// One measure's renewals: a measure your organisation operates or funds.
    pub measure_id: Option<Uuid>,
}

fn renewal_view(row: RenewalRow, allowed_actions: Vec<RenewalAction>, today: NaiveDate) -> Renewal {
    Renewal {
        overdue: row.is_overdue(today),
        allowed_actions,
        id: row.id,
        measure_id: row.measure_id,
        operator_organisation_id: row.operator_organisation_id,
        decider_organisation_id: row.decider_organisation_id,
        ordinal: row.ordinal,
        months: row.months,
        exceptional: row.exceptional,
        justification: row.justification,
        status: row.status,
        requested_on: row.requested_on,
        decided_on: row.decided_on,
        granted_months: row.granted_months,
        decision_reference: row.decision_reference,
        decision_comment: row.decision_comment,
        starts_on: row.starts_on,
        ends_on: row.ends_on,
        refusal_reason: row.refusal_reason,
        refusal_explanation: row.refusal_explanation,
        version: row.version,
        created_at: row.created_at,
        updated_at: row.updated_at,
    }
}

/// Renewals as the caller's organisation sees them, each with exactly the actions that
/// would succeed for the caller now.
async fn views(
    conn: &mut AsyncPgConnection,
    caller: &Caller,
    org: Uuid,
    rows: Vec<RenewalRow>,
) -> Result<Vec<Renewal>, ApiError> {
    let today = crate::calendar::today();
    let may_write = may(caller, Action::WriteMeasures);
    let waiting: Vec<Uuid> = rows
        .iter()
        .filter(|r| r.status == RenewalStatus::Requested)
        .map(|r| r.measure_id)
        .collect();
    let active = renewal_service::active_measures(conn, &waiting).await?;
    Ok(rows
        .into_iter()
        .filter_map(|r| {
            let party = renewal_service::party_in_row(org, &r)?;
            let actions =
                renewal_service::actions(&r, party, may_write, active.contains(&r.measure_id));
            Some(renewal_view(r, actions, today))
        })
        .collect())
}

async fn view_one(
    conn: &mut AsyncPgConnection,
    caller: &Caller,
    org: Uuid,
    row: RenewalRow,
) -> Result<Renewal, ApiError> {
    views(conn, caller, org, vec![row])
        .await?
        .pop()
        .ok_or(ApiError::NotFound)
}

fn renewal_response(status: StatusCode, r: &Renewal) -> StoredResponse {
    StoredResponse::versioned(status, r, r.version)
}

/// Ask for a renewal
///
/// The operator asks the funder for the next renewal the measure's rules allow (its length
/// comes from the policy), in the renewal window: the last `renewal_window_months` months
/// (3 by default) before the planned end, that day included. One request at a time (409
/// with `existing_id`); outside the window, beyond the policy, or past the kind's maximum
/// length, 422 naming the rule (`measure.rules.renewal_window_months`,
/// `measure.rules.renewal_policy`, `measure.rules.max_total_months`); an exceptional
/// renewal needs a `justification`.
#[utoipa::path(
    tag = "measures",
    operation_id = "create_renewal",
    request_body = Option<NewRenewal>,
    params(("id" = Uuid, Path, description = "The measure's id"), IdempotencyHeader),
    security(("oauth2" = ["measures:write"])),
    responses((status = 201, description = "Asked", body = Renewal,
               headers(("ETag" = String, description = "The version, for If-Match"), ("Location" = String, description = "The new request"))))
)]
#[post("/measures/{id}/renewals")]
pub async fn create_renewal(
    state: web::Data<AppState>,
    caller: Caller,
    req: HttpRequest,
    id: web::Path<Uuid>,
    key: IdempotencyKey,
    body: crate::http::body::ActionBody<NewRenewal>,
) -> ApiResult<HttpResponse> {
    authorize(&caller, Action::WriteMeasures)?;
    let org = caller.partner_organisation()?;
    let id = id.into_inner();
    let crate::http::body::ActionBody(new, raw) = body;
    let fingerprint = idempotency::fingerprint(&req, &raw);
    idempotency::run(
        &state,
        &caller.clone(),
        &key,
        fingerprint,
        async move |conn: &mut AsyncPgConnection| {
            let (measure, party) = cases::find_as_party::<MeasureRow>(conn, org, id, true).await?;
            operator_only(party, "asks for its renewals")?;
            // A suspended measure's end is not settled until it resumes.
            if measure.status != MeasureStatus::Active {
                return Err(not_now(
                    conn,
                    &measure,
                    &caller,
                    party,
                    format!("renewals are asked for an active measure; this one is {}", measure.status),
                )
                .await?);
            }
            let Some(decider) = measure.funder_organisation_id else {
                return Err(ApiError::conflict(
                    "the measure has no funder to decide: set its funder_organisation_id first",
                ));
            };
            if let Some(existing) = renewal_service::pending(conn, id).await? {
                return Err(ApiError::duplicate(
                    "a renewal of this measure is already waiting for its decision",
                    existing,
                ));
            }
            let granted = measure.renewals_granted;
            let rules_ = measure.rules()?;
            let step = rules::next_renewal(
                &rules_,
                rules::Running {
                    start: measure.starts_on,
                    granted: granted as usize,
                    renewed_months: measure.renewed_months,
                    suspended_days: measure.suspended_days,
                    planned_end: measure.planned_end_on,
                },
                crate::calendar::today(),
            )
            .map_err(|b| renewal_refused(&measure.kind, b, granted))?;
            if step.exceptional && new.justification.is_none() {
                return Err(ApiError::invalid(
                    "justification",
                    "required",
                    format!(
                        "renewal {} of a measure of kind {} is exceptional: it needs a written justification",
                        granted + 1,
                        measure.kind
                    ),
                ));
            }
            let row = renewal_service::request(
                conn,
                &caller,
                &measure,
                decider,
                granted + 1,
                step,
                new.justification.as_deref(),
            )
            .await?;
            let rid = row.id;
            let view = view_one(conn, &caller, org, row).await?;
            Ok(renewal_response(StatusCode::CREATED, &view)
                .header("location", format!("/v1/renewals/{rid}")))
        },
    )
    .await
}

/// A renewal the rules refuse: 422 naming the rule.
fn renewal_refused(kind: &str, block: RenewalBlock, granted: i32) -> ApiError {
    match block {
        RenewalBlock::NoDuration => ApiError::invalid(
            "measure.rules.duration_months",
            "no_duration",
            format!("a measure of kind {kind} has no time limit: there is nothing to renew"),
        ),
        RenewalBlock::PolicyExhausted { policy } => ApiError::invalid(
            "measure.rules.renewal_policy",
            "beyond_renewal_policy",
            format!(
                "the {kind} renewal policy allows {} renewal(s) ({}); {granted} granted already",
                policy.len(),
                policy
                    .iter()
                    .map(|s| format!(
                        "{} months{}",
                        s.months,
                        if s.exceptional { " exceptionally" } else { "" }
                    ))
                    .collect::<Vec<_>>()
                    .join(", then ")
            ),
        ),
        RenewalBlock::BeyondMaximum {
            max_total_months,
            latest_end,
        } => ApiError::invalid(
            "measure.rules.max_total_months",
            "beyond_max_total_length",
            format!(
                "a measure of kind {kind} lasts {max_total_months} months at most (until {latest_end} for this one)"
            ),
        ),
        RenewalBlock::OutsideWindow {
            window_months,
            opens_on,
            planned_end,
        } => ApiError::invalid(
            "measure.rules.renewal_window_months",
            "outside_renewal_window",
            format!(
                "a renewal of a measure of kind {kind} is asked in the last {window_months} months \
                 before its planned end: from {opens_on} to {planned_end} for this one"
            ),
        ),
    }
}

/// A measure's renewals
///
/// For its operator and its funder, oldest first.
#[utoipa::path(
    tag = "measures",
    operation_id = "list_measure_renewals",
    params(("id" = Uuid, Path, description = "The measure's id")),
    security(("oauth2" = ["measures:read"])),
    responses((status = 200, description = "The renewals", body = PageOf<Renewal>))
)]
#[get("/measures/{id}/renewals")]
pub async fn list_measure_renewals(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<Uuid>,
) -> ApiResult<HttpResponse> {
    authorize(&caller, Action::ReadMeasures)?;
    let org = caller.partner_organisation()?;
    let mut conn = db::conn(&state.pool).await?;
    let (measure, party) =
        cases::find_as_party::<MeasureRow>(&mut conn, org, id.into_inner(), false).await?;
    if !matches!(party, MeasureParty::Operator | MeasureParty::Funder) {
        return Err(ApiError::Forbidden(
            "a measure's renewals are its operator's and its funder's".into(),
        ));
    }
    let rows = renewal_service::of_measure(&mut conn, measure.id).await?;
    let items = views(&mut conn, &caller, org, rows).await?;
    Ok(HttpResponse::Ok().json(PageOf {
        items,
        next_cursor: None,
    }))
}

/// List renewals
///
/// The requests waiting for your organisation's decision (`as=decider&status=requested`;
/// `overdue=true`: waiting more than 10 days) and those it asked for (`as=operator`), by id.
/// A `measure_id` must be a measure your organisation operates or funds (422
/// `unknown_measure` for one it is no party to, 403 for one it refers or lets the home
/// of), and agree with `as` (422 `not_your_side`).
#[utoipa::path(
    tag = "measures",
    operation_id = "list_renewals",
    params(RenewalFilters, PageParams),
    security(("oauth2" = ["measures:read"])),
    responses(
        (status = 200, description = "A page of renewals", body = PageOf<Renewal>),
        (status = 403, description = "`measure_id` names a measure your organisation refers or lets the home of",
         body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 422, description = "A side your organisation's kind never takes, `measure_id` naming no measure of yours, or disagreeing with `as` (`not_your_side`)",
         body = crate::error::Problem, content_type = "application/problem+json"),
    )
)]
#[get("/renewals")]
pub async fn list_renewals(
    state: web::Data<AppState>,
    caller: Caller,
    query: ListQuery<RenewalFilters>,
) -> ApiResult<HttpResponse> {
    let ListQuery { filters, page } = query;
    authorize(&caller, Action::ReadMeasures)?;
    let org = caller.partner_organisation()?;
    let page = page.page()?;
    let mut conn = db::conn(&state.pool).await?;
    // A measure's renewals are its operator's and its funder's: a `measure_id` the caller
    // may not list renewals of is refused, naming it (never a silently empty page).
    if let Some(m) = filters.measure_id {
        let (_, party) = cases::find_as_party::<MeasureRow>(&mut conn, org, m, false)
            .await
            .map_err(|e| match e {
                ApiError::NotFound => ApiError::invalid(
                    "measure_id",
                    "unknown_measure",
                    "no measure your organisation is a party to has this id",
                ),
                other => other,
            })?;
        let side = match party {
            MeasureParty::Operator => RenewalSide::Operator,
            MeasureParty::Funder => RenewalSide::Decider,
            other => {
                return Err(ApiError::Forbidden(format!(
                    "`measure_id`: a measure's renewals are its operator's and its funder's; \
                     your organisation is its {}",
                    other.as_str()
                )))
            }
        };
        if filters.r#as.is_some_and(|a| a != side) {
            return Err(cases::not_your_side(
                "as",
                format!(
                    "your organisation is this measure's {}: its renewals are listed with `as={}`",
                    party.as_str(),
                    match side {
                        RenewalSide::Operator => "operator",
                        RenewalSide::Decider => "decider",
                    }
                ),
            ));
        }
    }
    if let Some(side) = filters.r#as {
        let sides = catalogue::sides_of(&mut conn, caller.organisation_kind).await?;
        let refusal = match side {
            RenewalSide::Decider if !sides.funds => Some((
                "decider",
                "a renewal is decided by the measure's funder, of a kind the catalogue names to \
                 fund it",
            )),
            RenewalSide::Operator if !sides.operates => Some((
                "operator",
                "a renewal is asked for by the measure's operator, of a kind the catalogue \
                 names to operate it",
            )),
            _ => None,
        };
        if let Some((name, why)) = refusal {
            return Err(cases::not_your_side(
                "as",
                format!("your organisation's kind never takes the `{name}` side: {why}"),
            ));
        }
    }
    let rows = renewal_service::list(
        &mut conn,
        RenewalList {
            org,
            decider: filters.r#as.map(|a| a == RenewalSide::Decider),
            status: filters.status,
            overdue: filters.overdue,
            measure_id: filters.measure_id,
            today: crate::calendar::today(),
        },
        page,
    )
    .await?;
    let (rows, more) = page.split(rows);
    let items = views(&mut conn, &caller, org, rows).await?;
    Ok(HttpResponse::Ok().json(PageOf::new(items, more, |v| v.id)))
}

/// Get a renewal
#[utoipa::path(
    tag = "measures",
    operation_id = "get_renewal",
    params(("id" = Uuid, Path, description = "The renewal's id")),
    security(("oauth2" = ["measures:read"])),
    responses((status = 200, description = "The renewal", body = Renewal,
               headers(("ETag" = String, description = "The version, for If-Match"))))
)]
#[get("/renewals/{id}")]
pub async fn get_renewal(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<Uuid>,
) -> ApiResult<HttpResponse> {
    authorize(&caller, Action::ReadMeasures)?;
    let org = caller.partner_organisation()?;
    let mut conn = db::conn(&state.pool).await?;
    let (row, _) =
        cases::find_as_party::<RenewalRow>(&mut conn, org, id.into_inner(), false).await?;
    let view = view_one(&mut conn, &caller, org, row).await?;
    Ok(renewal_response(StatusCode::OK, &view).into_response(false))
}

async fn decide(
    state: &AppState,
    caller: Caller,
    target: ActionTarget,
    action: RenewalAction,
    decision: Decision,
) -> ApiResult<HttpResponse> {
    authorize(&caller, Action::WriteMeasures)?;
    let org = caller.partner_organisation()?;
    target
        .run(
            state,
            &caller.clone(),
            async move |conn: &mut AsyncPgConnection, id: Uuid, if_match: IfMatch| {
                let (row, party) = cases::find_as_party::<RenewalRow>(conn, org, id, true).await?;
                if_match.check(row.version)?;
                let to = rules::renewal_transition(row.status, action, party)
                    .map_err(|r| cases::refusal_error(r, "a renewal", action, party.as_str()))?;
                let updated =
                    renewal_service::decide(conn, &caller, &row, action, to, decision).await?;
                let view = view_one(conn, &caller, org, updated).await?;
                Ok(renewal_response(StatusCode::OK, &view))
            },
        )
        .await
}

action_endpoint! {
    /// Grant a renewal
    ///
    /// The decider (the measure's funder) grants a waiting request, recording its
    /// commission's decision (`decided_on`, `decision_reference`, `comment`), and may grant
    /// fewer months than asked (`months`). The measure's planned end is counted again from
    /// its start, with the months granted (`measure.extended`): the renewal runs from the
    /// previous planned end (`starts_on`) to the new one (`ends_on`). 409 while the measure
    /// is not active (a suspended measure's end is not settled until it resumes).
    grant_renewal: "/renewals/{id}/grant", tag "measures", scope "measures:write",
    id "The renewal's id", returns Renewal, optional body RenewalGrant,
    |state, caller, target, grant| decide(&state, caller, target, RenewalAction::Grant, Decision {
        decided_on: grant.decided_on,
        reference: grant.decision_reference,
        comment: grant.comment,
        months: grant.months,
        refusal_reason: None,
    })
}

action_endpoint! {
    /// Refuse a renewal
    ///
    /// The decider refuses a waiting request, with a coded reason and an explanation the
    /// operator sees, and its commission's decision (`decided_on`, `decision_reference`).
    refuse_renewal: "/renewals/{id}/refuse", tag "measures", scope "measures:write",
    id "The renewal's id", returns Renewal, body RenewalRefusal,
    |state, caller, target, refusal| decide(&state, caller, target, RenewalAction::Refuse, Decision {
        decided_on: refusal.decided_on,
        reference: refusal.decision_reference,
        comment: Some(refusal.explanation),
        months: None,
        refusal_reason: Some(refusal.reason),
    })
}

action_endpoint! {
    /// Withdraw a renewal
    ///
    /// The operator takes back a request that waits for its decision (`renewal.withdrawn`);
    /// the measure may then ask again, in its renewal window.
    withdraw_renewal: "/renewals/{id}/withdraw", tag "measures", scope "measures:write",
    id "The renewal's id", returns Renewal, optional body RenewalWithdrawal,
    |state, caller, target, withdrawal| decide(&state, caller, target, RenewalAction::Withdraw, Decision {
        comment: withdrawal.comment,
        ..Decision::default()
    })
}
