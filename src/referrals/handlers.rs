//! `/v1/referrals` and `/v1/measure-kinds`.

use actix_web::http::StatusCode;
use actix_web::{get, post, web, HttpRequest, HttpResponse};
use chrono::{DateTime, NaiveDate, Utc};
use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;
use validator::Validate;

use super::model::{
    Comment, DeclineReason, Referral, ReferralAction, ReferralRow, ReferralStatus, Transition,
};
use super::rules;
use super::service::{self, ClosingDetails};
use crate::action_endpoint;
use crate::auth::caller::Caller;
use crate::auth::policy::{authorize, Action, SharingBasis};
use crate::cases::{self, Step};
use crate::db;
use crate::error::{ApiError, ApiResult, FieldError};
use crate::events::{self, NewEvent};
use crate::households::journal;
use crate::households::model::{self as households_model, PriorityGround, SpecialGround};
use crate::households::sharing;
use crate::http::body::{ParsedJson, ValidJson};
use crate::http::concurrency::IfMatch;
use crate::http::extractors::{ListQuery, Query};
use crate::http::idempotency::IdempotencyHeader;
use crate::http::idempotency::{self, ActionTarget, IdempotencyKey, StoredResponse};
use crate::http::pagination::{PageOf, PageParams};
use crate::identity::model::{Mandate, OrganisationKind, OrganisationRow};
use crate::identity::organisations::validate_not_blank;
use crate::measures::catalogue;
use crate::schema::{organisations, referral_comments, referrals};
use crate::state::AppState;

/// A new referral.
#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({
    "household_id": "0193a5d0-0000-7000-8000-000000000001",
    "addressee_organisation_id": "0193a5c2-7d1e-7b3a-9c4f-2f0e8d6b1a22",
    "measure_kind": "empex", "reason": "Three months of rent arrears; CCAPEX recommendation",
    "desired_start": "2026-12-01"
}))]
pub struct NewReferral {
    /// A household your organisation sees.
    pub household_id: Uuid,
    /// An organisation that operates measures (an association), not your own.
    pub addressee_organisation_id: Uuid,
    /// A code of `GET /v1/measure-kinds`.
    #[validate(length(min = 1, max = 40))]
    #[schema(min_length = 1, max_length = 40)]
    pub measure_kind: String,
    /// Why the household is referred.
    #[validate(length(min = 1, max = 4000), custom(function = "validate_not_blank"))]
    #[schema(min_length = 1, max_length = 4000, pattern = "\\S")]
    pub reason: String,
    /// Priority grounds at the time; default: the household's.
    #[validate(length(max = 6))]
    #[schema(max_items = 6)]
    pub priority_grounds: Option<Vec<PriorityGround>>,
    /// Special-category grounds at the time; default: the household's (if you may see them).
    #[validate(length(max = 3))]
    #[schema(max_items = 3)]
    pub special_category_grounds: Option<Vec<SpecialGround>>,
    /// The start the referrer wishes: the measure starts then (today if it is past).
    pub desired_start: Option<NaiveDate>,
    /// When the answer is due: not in the past (`in_past`); default: today plus the kind's
    /// `default_response_days` (30 when it has none).
    #[validate(custom(function = "crate::calendar::validate_not_past"))]
    pub response_due_on: Option<NaiveDate>,
    /// Without the household's consent to sharing: the decision of a commission your
    /// organisation is the secretariat of (`Organisation.commissions`), under whose mandate
    /// the household is referred. Recorded with the referral and in the household's record
    /// of sharings; its transfers carry it on.
    #[validate(nested)]
    pub mandate: Option<Mandate>,
}

/// A decline, with its coded reason.
#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"reason": "no_capacity", "comment": "No place before March"}))]
pub struct Decline {
    pub reason: DeclineReason,
    /// Required when `reason` is `other`.
    #[validate(length(min = 1, max = 4000))]
    #[schema(min_length = 1, max_length = 4000)]
    pub comment: Option<String>,
}

/// A withdrawal, with its reason.
#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"reason": "The household moved to another département"}))]
pub struct Withdrawal {
    #[validate(length(min = 1, max = 4000), custom(function = "validate_not_blank"))]
    #[schema(min_length = 1, max_length = 4000, pattern = "\\S")]
    pub reason: String,
}

/// A transfer to another operator.
#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"addressee_organisation_id": "0193a5c2-0000-7000-8000-0000000000cc", "comment": "Closer to the household's home"}))]
pub struct Transfer {
    /// The operator that receives the new, linked referral.
    pub addressee_organisation_id: Uuid,
    #[validate(length(min = 1, max = 4000))]
    #[schema(min_length = 1, max_length = 4000)]
    pub comment: Option<String>,
}

/// A comment on a referral.
#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"body": "Home visit planned on 2026-11-28"}))]
pub struct NewComment {
    #[validate(length(min = 1, max = 4000), custom(function = "validate_not_blank"))]
    #[schema(min_length = 1, max_length = 4000, pattern = "\\S")]
    pub body: String,
}

/// Which referrals: those the caller's organisation sent, or received.
#[derive(Debug, Clone, Copy, Deserialize, Serialize, ToSchema, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum Box_ {
    Sent,
    Received,
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ReferralFilters {
    /// `sent` or `received`; both when absent. `received` for an organisation that is not an
    /// association (only associations receive referrals) is a 422 `not_your_side`.
    #[param(value_type = Option<String>, pattern = "^(sent|received)$")]
    pub r#box: Option<Box_>,
    /// Only referrals in this status.
    pub status: Option<ReferralStatus>,
    /// A measure kind's code (`/v1/measure-kinds`): one the catalogue holds or held (422
    /// `unknown_measure_kind` otherwise).
    #[param(pattern = "^[a-z][a-z0-9_]{1,39}$")]
    pub measure_kind: Option<String>,
    /// Only this household's referrals.
    pub household_id: Option<Uuid>,
    /// `true`: only open referrals past their deadline; `false`: all others.
    pub overdue: Option<bool>,
    /// Only referrals changed at or after this instant.
    pub updated_since: Option<DateTime<Utc>>,
}

fn referral_response(status: StatusCode, r: &Referral) -> StoredResponse {
    StoredResponse::versioned(status, r, r.version).carrying(vec![(
        r.household_id,
        r.special_category_grounds.clone().unwrap_or_default(),
    )])
}

type PartyQuery = diesel::dsl::Select<
    diesel::dsl::Filter<
        diesel::dsl::Find<referrals::table, Uuid>,
        diesel::dsl::Or<
            diesel::dsl::Eq<referrals::referrer_organisation_id, Uuid>,
            diesel::dsl::Eq<referrals::addressee_organisation_id, Uuid>,
        >,
    >,
    diesel::dsl::AsSelect<ReferralRow, diesel::pg::Pg>,
>;

/// The referral `id` if the organisation is party to it.
fn party_query(org: Uuid, id: Uuid) -> PartyQuery {
    referrals::table
        .find(id)
        .filter(
            referrals::referrer_organisation_id
                .eq(org)
                .or(referrals::addressee_organisation_id.eq(org)),
        )
        .select(ReferralRow::as_select())
}

/// Checks an addressee: it exists, operates measures, is not the referrer.
async fn check_addressee(
    conn: &mut AsyncPgConnection,
    field: &str,
    addressee: Uuid,
    referrer: Uuid,
    errors: &mut Vec<FieldError>,
) -> Result<(), ApiError> {
    if addressee == referrer {
        errors.push(FieldError::new(
            field,
            "own_organisation",
            "a referral goes to another organisation",
        ));
        return Ok(());
    }
    let org: Option<OrganisationRow> = organisations::table
        .find(addressee)
        .select(OrganisationRow::as_select())
        .first(conn)
        .await
        .optional()?;
    match org {
        None => errors.push(FieldError::new(
            field,
            "unknown_organisation",
            "no such organisation",
        )),
        Some(o) if o.kind != OrganisationKind::Association => errors.push(FieldError::new(
            field,
            "not_an_operator",
            "this organisation operates no support measure (only associations do)",
        )),
        Some(_) => {}
    }
    Ok(())
}

/// Send a referral
///
/// Asks an operator to take a household on for a measure. Sharing the household with
/// another organisation needs its consent in force (422 `consent_required` on
/// `household_id`), or the `mandate` of a commission your organisation is the secretariat
/// of (`Organisation.commissions`; 422 `not_your_commission` on `mandate.commission`
/// otherwise): being a department or a State service is no mandate. The sharing is
/// recorded for the DPO (`GET /v1/households/{id}/sharings`). Both parties are told
/// through the feed (`referral.submitted`).
#[utoipa::path(
    tag = "referrals",
    operation_id = "create_referral",
    request_body = NewReferral,
    params(IdempotencyHeader),
    security(("oauth2" = ["referrals:write"])),
    responses((status = 201, description = "Sent", body = Referral,
               headers(("ETag" = String, description = "The version, for If-Match"), ("Location" = String, description = "The new referral"))))
)]
#[post("/referrals")]
pub async fn create_referral(
    state: web::Data<AppState>,
    caller: Caller,
    req: HttpRequest,
    key: IdempotencyKey,
    body: ParsedJson<NewReferral>,
) -> ApiResult<HttpResponse> {
    authorize(&caller, Action::WriteReferrals)?;
    let org = caller.partner_organisation()?;
    // Field rules and database rules are reported together.
    let field_errors = body.field_errors();
    let ParsedJson(new, raw) = body;
    let fingerprint = idempotency::fingerprint(&req, &raw);
    idempotency::run(
        &state,
        &caller.clone(),
        &key,
        fingerprint,
        async move |conn: &mut AsyncPgConnection| {
            let mut errors = field_errors;
            let household = crate::households::sharing::find_to_share(
                conn,
                &caller,
                new.household_id,
                new.mandate.as_ref(),
                ("household_id", "mandate.commission"),
                &mut errors,
            )
            .await?;
            check_addressee(
                conn,
                "addressee_organisation_id",
                new.addressee_organisation_id,
                org,
                &mut errors,
            )
            .await?;
            // A département's own kind is offered to the organisations of that département.
            let department = catalogue::department_of(conn, org).await?;
            let kind = catalogue::check_offered(
                conn,
                "measure_kind",
                &new.measure_kind,
                &department,
                &mut errors,
            )
            .await?;
            if !errors.is_empty() {
                return Err(ApiError::Validation(errors));
            }
            let (household, basis) = household.expect("checked above");
            let kind = kind.expect("checked above");
            let mandate = match &basis {
                SharingBasis::Mandate(m) => Some(m),
                SharingBasis::Consent => None,
            };
            let landlord = caller.organisation_kind == Some(OrganisationKind::SocialLandlord);
            if landlord
                && new
                    .special_category_grounds
                    .as_ref()
                    .is_some_and(|g| !g.is_empty())
            {
                return Err(ApiError::Forbidden(
                    "a landlord does not handle special-category grounds".into(),
                ));
            }
            let sees_special = !landlord;
            let priority = match &new.priority_grounds {
                Some(g) => serde_json::to_value(g).map_err(ApiError::internal)?,
                None => household.priority_grounds.clone(),
            };
            let special = match &new.special_category_grounds {
                Some(g) => serde_json::to_value(g).map_err(ApiError::internal)?,
                None if sees_special => household.special_grounds.clone(),
                None => serde_json::json!([]),
            };
            let row: ReferralRow = diesel::insert_into(referrals::table)
                .values((
                    referrals::id.eq(Uuid::now_v7()),
                    referrals::household_id.eq(household.id),
                    referrals::referrer_organisation_id.eq(org),
                    referrals::referrer_account_id.eq(caller.account_id),
                    referrals::addressee_organisation_id.eq(new.addressee_organisation_id),
                    referrals::measure_kind.eq(&kind.code),
                    referrals::reason.eq(new.reason.trim()),
                    referrals::priority_grounds.eq(priority),
                    referrals::special_grounds.eq(special),
                    referrals::desired_start.eq(new.desired_start),
                    referrals::response_due_on.eq(new
                        .response_due_on
                        .unwrap_or_else(|| service::default_due(kind.default_response_days))),
                    referrals::status.eq(ReferralStatus::Submitted),
                    referrals::mandate_commission.eq(mandate.map(|m| m.commission)),
                    referrals::mandate_reference.eq(mandate.map(|m| m.decision_reference.trim())),
                    referrals::mandate_decided_on.eq(mandate.map(|m| m.decided_on)),
                ))
                .returning(ReferralRow::as_returning())
                .get_result(conn)
                .await?;
            cases::record(conn, Some(&caller), &row, Step::new("submit", None)).await?;
            sharing::record(
                conn,
                sharing::Sharing {
                    household: household.id,
                    to: row.addressee_organisation_id,
                    by: org,
                    actor: Some(caller.account_id),
                    path: sharing::SharingPath::Referral,
                    case_id: row.id,
                    basis: &basis,
                },
            )
            .await?;
            let id = row.id;
            let view = service::present(conn, &caller, vec![row]).await?.remove(0);
            Ok(referral_response(StatusCode::CREATED, &view)
                .header("location", format!("/v1/referrals/{id}")))
        },
    )
    .await
}

/// Get a referral
#[utoipa::path(
    tag = "referrals",
    operation_id = "get_referral",
    params(("id" = Uuid, Path, description = "The referral's id")),
    security(("oauth2" = ["referrals:read"])),
    responses((status = 200, description = "The referral", body = Referral, headers(("ETag" = String, description = "The version, for If-Match"))))
)]
#[get("/referrals/{id}")]
pub async fn get_referral(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<Uuid>,
) -> ApiResult<HttpResponse> {
    authorize(&caller, Action::ReadReferrals)?;
    let org = caller.partner_organisation()?;
    let id = id.into_inner();
    let mut conn = db::conn(&state.pool).await?;
    let rows = journal::load(&mut conn, &caller, party_query(org, id), "household_id", 1).await?;
    let mut actions = service::allowed_actions(&mut conn, &caller, &rows).await?;
    let view = service::shape(&caller, rows, &mut actions)
        .pop()
        .ok_or(ApiError::NotFound)?;
    Ok(referral_response(StatusCode::OK, &view).into_response(false))
}

/// List referrals
///
/// The referrals your organisation sent (`box=sent`) or received (`box=received`), by id;
/// each says when its answer is due and whether it is overdue.
#[utoipa::path(
    tag = "referrals",
    operation_id = "list_referrals",
    params(ReferralFilters, PageParams),
    security(("oauth2" = ["referrals:read"])),
    responses(
        (status = 200, description = "A page of referrals", body = PageOf<Referral>),
        (status = 422, description = "`box=received` for an organisation that is not an association (`not_your_side`), or a measure kind the catalogue never held",
         body = crate::error::Problem, content_type = "application/problem+json"),
    )
)]
#[get("/referrals")]
pub async fn list_referrals(
    state: web::Data<AppState>,
    caller: Caller,
    query: ListQuery<ReferralFilters>,
) -> ApiResult<HttpResponse> {
    let ListQuery { filters, page } = query;
    authorize(&caller, Action::ReadReferrals)?;
    let org = caller.partner_organisation()?;
    let page = page.page()?;
    if filters.r#box == Some(Box_::Received)
        && caller.organisation_kind != Some(OrganisationKind::Association)
    {
        return Err(crate::cases::not_your_side(
            "box",
            "your organisation's kind never receives a referral: referrals go to the \
             associations that operate support measures",
        ));
    }
    let mut conn = db::conn(&state.pool).await?;
    if let Some(kind) = &filters.measure_kind {
        catalogue::check_kind_filter(&mut conn, "measure_kind", kind).await?;
    }
    let mut q = referrals::table
        .select(ReferralRow::as_select())
        .into_boxed();
    q = match filters.r#box {
        Some(Box_::Sent) => q.filter(referrals::referrer_organisation_id.eq(org)),
        Some(Box_::Received) => q.filter(referrals::addressee_organisation_id.eq(org)),
        None => q.filter(
            referrals::referrer_organisation_id
                .eq(org)
                .or(referrals::addressee_organisation_id.eq(org)),
        ),
    };
    if let Some(after) = page.after {
        q = q.filter(referrals::id.gt(after));
    }
    if let Some(status) = filters.status {
        q = q.filter(referrals::status.eq(status));
    }
    if let Some(kind) = &filters.measure_kind {
        q = q.filter(referrals::measure_kind.eq(kind.clone()));
    }
    if let Some(h) = filters.household_id {
        q = q.filter(referrals::household_id.eq(h));
    }
    let open = [ReferralStatus::Submitted, ReferralStatus::Acknowledged];
    match filters.overdue {
        Some(true) => {
            q = q
                .filter(referrals::status.eq_any(open))
                .filter(referrals::response_due_on.lt(crate::calendar::today()))
        }
        Some(false) => {
            q = q.filter(
                referrals::status
                    .ne_all(open)
                    .or(referrals::response_due_on.ge(crate::calendar::today())),
            )
        }
        None => {}
    }
    if let Some(since) = filters.updated_since {
        q = q.filter(referrals::updated_at.ge(since));
    }
    let q = q.order(referrals::id.asc()).limit(page.limit + 1);
    let rows = journal::load(&mut conn, &caller, q, "household_id", page.limit).await?;
    let (rows, more) = page.split(rows);
    let mut actions = service::allowed_actions(&mut conn, &caller, &rows).await?;
    let views = service::shape(&caller, rows, &mut actions);
    Ok(HttpResponse::Ok().json(PageOf::new(views, more, |v| v.id)))
}

/// What an action carries.
enum Payload {
    None,
    Decline(Decline),
    Withdraw(Withdrawal),
    Transfer(Transfer),
}

async fn act(
    state: &AppState,
    caller: Caller,
    target: ActionTarget,
    action: ReferralAction,
    payload: Payload,
) -> ApiResult<HttpResponse> {
    authorize(&caller, Action::WriteReferrals)?;
    let org = caller.partner_organisation()?;
    target
        .run(
            state,
            &caller.clone(),
            async move |conn: &mut AsyncPgConnection, id: Uuid, if_match: IfMatch| {
                let (row, party) = cases::find_as_party::<ReferralRow>(conn, org, id, true).await?;
                if_match.check(row.version)?;
                let to = match rules::transition(row.status, action, party) {
                    Ok(to) => to,
                    // 409 with what the caller may do instead: exactly what would succeed.
                    Err(cases::Refusal::NotNow { current, .. }) => {
                        let allowed =
                            service::allowed_actions(conn, &caller, std::slice::from_ref(&row))
                                .await?
                                .remove(&row.id)
                                .unwrap_or_default();
                        return Err(cases::refusal_error(
                            cases::Refusal::NotNow { current, allowed },
                            "a referral",
                            action,
                            party.as_str(),
                        ));
                    }
                    Err(r) => {
                        return Err(cases::refusal_error(
                            r,
                            "a referral",
                            action,
                            party.as_str(),
                        ))
                    }
                };
                let (comment, details) = match &payload {
                    Payload::None => (None, ClosingDetails::default()),
                    Payload::Decline(d) => {
                        if d.reason == DeclineReason::Other
                            && d.comment.as_deref().is_none_or(|c| c.trim().is_empty())
                        {
                            return Err(ApiError::invalid(
                                "comment",
                                "required",
                                "a decline for `other` reasons needs a comment",
                            ));
                        }
                        (
                            d.comment.clone(),
                            ClosingDetails {
                                decline_reason: Some(d.reason),
                                closing_comment: d.comment.clone(),
                                ..Default::default()
                            },
                        )
                    }
                    Payload::Withdraw(w) => (
                        Some(w.reason.clone()),
                        ClosingDetails {
                            closing_comment: Some(w.reason.clone()),
                            ..Default::default()
                        },
                    ),
                    Payload::Transfer(t) => {
                        let mut errors = Vec::new();
                        check_addressee(
                            conn,
                            "addressee_organisation_id",
                            t.addressee_organisation_id,
                            row.referrer_organisation_id,
                            &mut errors,
                        )
                        .await?;
                        if t.addressee_organisation_id == row.addressee_organisation_id {
                            errors.push(FieldError::new(
                                "addressee_organisation_id",
                                "same_addressee",
                                "the referral is already with this operator",
                            ));
                        }
                        // The new operator would see the household, on behalf of the
                        // referrer (who stays the new referral's referrer): its consent in
                        // force, or the mandate the referral was sent under.
                        let household = households_model::find_visible(
                            conn,
                            caller.partner_organisation()?,
                            row.household_id,
                            false,
                        )
                        .await?;
                        let basis = sharing::basis(
                            conn,
                            row.referrer_organisation_id,
                            &household,
                            row.mandate().as_ref(),
                            "addressee_organisation_id",
                            &mut errors,
                        )
                        .await?;
                        if !errors.is_empty() {
                            return Err(ApiError::Validation(errors));
                        }
                        let basis = basis.expect("checked above");
                        let mandate = match &basis {
                            SharingBasis::Mandate(m) => Some(m),
                            SharingBasis::Consent => None,
                        };
                        // The new referral keeps the referrer, so the loop stays closed for it.
                        let linked: ReferralRow = diesel::insert_into(referrals::table)
                            .values((
                                referrals::id.eq(Uuid::now_v7()),
                                referrals::household_id.eq(row.household_id),
                                referrals::referrer_organisation_id
                                    .eq(row.referrer_organisation_id),
                                referrals::referrer_account_id.eq(row.referrer_account_id),
                                referrals::addressee_organisation_id
                                    .eq(t.addressee_organisation_id),
                                referrals::measure_kind.eq(&row.measure_kind),
                                referrals::reason.eq(&row.reason),
                                referrals::priority_grounds.eq(&row.priority_grounds),
                                referrals::special_grounds.eq(&row.special_grounds),
                                referrals::desired_start.eq(row.desired_start),
                                referrals::response_due_on
                                    .eq(row.response_due_on.max(service::default_due(None))),
                                referrals::status.eq(ReferralStatus::Submitted),
                                referrals::transferred_from_id.eq(Some(row.id)),
                                referrals::mandate_commission.eq(mandate.map(|m| m.commission)),
                                referrals::mandate_reference
                                    .eq(mandate.map(|m| m.decision_reference.as_str())),
                                referrals::mandate_decided_on.eq(mandate.map(|m| m.decided_on)),
                            ))
                            .returning(ReferralRow::as_returning())
                            .get_result(conn)
                            .await?;
                        sharing::record(
                            conn,
                            sharing::Sharing {
                                household: row.household_id,
                                to: t.addressee_organisation_id,
                                by: row.referrer_organisation_id,
                                actor: Some(caller.account_id),
                                path: sharing::SharingPath::Transfer,
                                case_id: linked.id,
                                basis: &basis,
                            },
                        )
                        .await?;
                        cases::record(
                            conn,
                            Some(&caller),
                            &linked,
                            Step::new("submit", None).comment(t.comment.as_deref()),
                        )
                        .await?;
                        (
                            t.comment.clone(),
                            ClosingDetails {
                                closing_comment: t.comment.clone(),
                                transferred_to_id: Some(linked.id),
                                ..Default::default()
                            },
                        )
                    }
                };
                let updated = service::apply(
                    conn,
                    Some(&caller),
                    &row,
                    action,
                    to,
                    comment.as_deref(),
                    details,
                )
                .await?;
                if to == ReferralStatus::Accepted {
                    service::make_others_obsolete(conn, &updated).await?;
                    // The loop goes on: the measure starts in the same transaction.
                    crate::measures::service::open_from_referral(conn, &caller, &updated).await?;
                }
                let view = service::present(conn, &caller, vec![updated])
                    .await?
                    .remove(0);
                Ok(referral_response(StatusCode::OK, &view))
            },
        )
        .await
}

action_endpoint! {
    /// Acknowledge a referral
    ///
    /// The addressee has seen the referral and is looking into it.
    acknowledge_referral: "/referrals/{id}/acknowledge", tag "referrals", scope "referrals:write",
    id "The referral's id", returns Referral,
    |state, caller, target| act(&state, caller, target, ReferralAction::Acknowledge, Payload::None)
}

action_endpoint! {
    /// Accept a referral
    ///
    /// The addressee takes the household on. The household's other open referrals for the same
    /// measure kind become `obsolete`. A measure opens in the same transaction (`GET
    /// /v1/measures?referral_id=`): `proposed` when its kind needs the funder's decision, else
    /// `active` from the desired start (today if that is past). The referrer becomes its
    /// funder when the referrer's organisation kind is one of the measure kind's
    /// `funder_kinds` and it covers the household's territory (else the operator names the
    /// funder: `PATCH /v1/measures/{id}`), and is told through the feed (`measure.proposed` or
    /// `measure.started`), up to its outcome (`measure.closed`). 409 (`existing_id`) when the
    /// household already has a measure of the kind running with this operator (decline it as
    /// `duplicate`).
    accept_referral: "/referrals/{id}/accept", tag "referrals", scope "referrals:write",
    id "The referral's id", returns Referral,
    |state, caller, target| act(&state, caller, target, ReferralAction::Accept, Payload::None)
}

action_endpoint! {
    /// Decline a referral
    ///
    /// The addressee does not take the household on, with a coded reason (`other` needs a
    /// comment); the referrer always sees it.
    decline_referral: "/referrals/{id}/decline", tag "referrals", scope "referrals:write",
    id "The referral's id", returns Referral, body Decline,
    |state, caller, target, payload| act(&state, caller, target, ReferralAction::Decline, Payload::Decline(payload))
}

action_endpoint! {
    /// Withdraw a referral
    ///
    /// The referrer takes back an open referral, saying why.
    withdraw_referral: "/referrals/{id}/withdraw", tag "referrals", scope "referrals:write",
    id "The referral's id", returns Referral, body Withdrawal,
    |state, caller, target, payload| act(&state, caller, target, ReferralAction::Withdraw, Payload::Withdraw(payload))
}

action_endpoint! {
    /// Transfer a referral
    ///
    /// The addressee forwards an open referral to another operator: this one becomes
    /// `transferred` and a new, linked referral (same referrer) is submitted to that operator.
    transfer_referral: "/referrals/{id}/transfer", tag "referrals", scope "referrals:write",
    id "The referral's id", returns Referral, body Transfer,
    |state, caller, target, payload| act(&state, caller, target, ReferralAction::Transfer, Payload::Transfer(payload))
}

/// A referral's history
///
/// Every transition, oldest first, with its actor, organisation, time and comment.
#[utoipa::path(
    tag = "referrals",
    operation_id = "list_referral_history",
    params(("id" = Uuid, Path, description = "The referral's id")),
    security(("oauth2" = ["referrals:read"])),
    responses((status = 200, description = "The transitions", body = PageOf<Transition>))
)]
#[get("/referrals/{id}/history")]
pub async fn referral_history(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<Uuid>,
) -> ApiResult<HttpResponse> {
    authorize(&caller, Action::ReadReferrals)?;
    let org = caller.partner_organisation()?;
    let mut conn = db::conn(&state.pool).await?;
    let page = cases::history::<ReferralRow, Transition>(&mut conn, org, id.into_inner()).await?;
    Ok(HttpResponse::Ok().json(page))
}

/// Comment on a referral
///
/// Both parties see the comment; it reaches them through the feed (`referral.commented`).
#[utoipa::path(
    tag = "referrals",
    operation_id = "create_referral_comment",
    request_body = NewComment,
    params(
        ("id" = Uuid, Path, description = "The referral's id"),
        IdempotencyHeader,
    ),
    security(("oauth2" = ["referrals:write"])),
    responses((status = 201, description = "Added", body = Comment))
)]
#[post("/referrals/{id}/comments")]
pub async fn create_comment(
    state: web::Data<AppState>,
    caller: Caller,
    req: HttpRequest,
    id: web::Path<Uuid>,
    key: IdempotencyKey,
    body: ValidJson<NewComment>,
) -> ApiResult<HttpResponse> {
    authorize(&caller, Action::WriteReferrals)?;
    let org = caller.partner_organisation()?;
    let id = id.into_inner();
    let ValidJson(new, raw) = body;
    let fingerprint = idempotency::fingerprint(&req, &raw);
    idempotency::run(
        &state,
        &caller.clone(),
        &key,
        fingerprint,
        async move |conn: &mut AsyncPgConnection| {
            let (row, _) = cases::find_as_party::<ReferralRow>(conn, org, id, false).await?;
            let comment: Comment = diesel::insert_into(referral_comments::table)
                .values((
                    referral_comments::id.eq(Uuid::now_v7()),
                    referral_comments::referral_id.eq(row.id),
                    referral_comments::author_account_id.eq(caller.account_id),
                    referral_comments::author_organisation_id.eq(org),
                    referral_comments::body.eq(new.body.trim()),
                ))
                .returning(Comment::as_returning())
                .get_result(conn)
                .await?;
            events::append(
                conn,
                Some(&caller),
                NewEvent {
                    event_type: "referral.commented",
                    subject_type: "referral",
                    subject_id: row.id,
                    data: events::data(&crate::events::catalogue::ReferralCommentEventData {
                        id: row.id,
                        comment_id: comment.id,
                    })?,
                    recipients: vec![row.referrer_organisation_id, row.addressee_organisation_id],
                    for_platform: false,
                },
            )
            .await?;
            Ok(StoredResponse::json(StatusCode::CREATED, &comment))
        },
    )
    .await
}

/// A referral's comments
#[utoipa::path(
    tag = "referrals",
    operation_id = "list_referral_comments",
    params(("id" = Uuid, Path, description = "The referral's id"), PageParams),
    security(("oauth2" = ["referrals:read"])),
    responses((status = 200, description = "A page of comments, oldest first", body = PageOf<Comment>))
)]
#[get("/referrals/{id}/comments")]
pub async fn list_comments(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<Uuid>,
    page: Query<PageParams>,
) -> ApiResult<HttpResponse> {
    authorize(&caller, Action::ReadReferrals)?;
    let org = caller.partner_organisation()?;
    let page = page.page()?;
    let mut conn = db::conn(&state.pool).await?;
    let (row, _) =
        cases::find_as_party::<ReferralRow>(&mut conn, org, id.into_inner(), false).await?;
    let mut q = referral_comments::table
        .filter(referral_comments::referral_id.eq(row.id))
        .select(Comment::as_select())
        .into_boxed();
    if let Some(after) = page.after {
        q = q.filter(referral_comments::id.gt(after));
    }
    let rows: Vec<Comment> = q
        .order(referral_comments::id.asc())
        .limit(page.limit + 1)
        .load(&mut conn)
        .await?;
    Ok(HttpResponse::Ok().json(PageOf::from_rows(rows, page, |c| c.id)))
}
