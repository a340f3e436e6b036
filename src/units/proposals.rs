//! Proposals: an association proposes a household it follows for a unit it sees; the
//! landlord accepts (the unit is `reserved`) or declines with a coded reason; the
//! association may withdraw it.

use actix_web::http::StatusCode;
use actix_web::{get, post, web, HttpRequest, HttpResponse};
use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use serde::Deserialize;
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;
use validator::Validate;

use super::handlers::{release_unit, set_unit_status};
use super::model::{
    find_visible_unit, lock_unit, sublet_pairs, AgreementStatus, Proposal, ProposalAction,
    ProposalContext, ProposalDeclineReason, ProposalRow, ProposalStatus, UnitStatus,
};
use super::rules::{self, Party};
use crate::action_endpoint;
use crate::auth::caller::Caller;
use crate::auth::policy::{authorize, Action};
use crate::cases::{self, CaseType, Step};
use crate::db;
use crate::db::Keyset;
use crate::error::{ApiError, ApiResult};
use crate::events::{self, NewEvent};
use crate::households::model as households_model;
use crate::http::body::ParsedJson;
use crate::http::concurrency::IfMatch;
use crate::http::extractors::ListQuery;
use crate::http::idempotency::IdempotencyHeader;
use crate::http::idempotency::{self, ActionTarget, IdempotencyKey, StoredResponse};
use crate::http::pagination::{PageOf, PageParams};
use crate::identity::model::OrganisationKind;
use crate::identity::organisations::validate_not_blank;
use crate::referrals::model::Withdrawal;
use crate::schema::{agreements, proposals};
use crate::state::AppState;

/// A household proposed for a unit.
#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"household_id": "0193a5d0-0000-7000-8000-000000000001", "comment": "Mother and two children leaving a shelter"}))]
pub struct NewProposal {
    /// A household your organisation sees, whose consent to sharing is in force.
    pub household_id: Uuid,
    #[validate(length(min = 1, max = 4000))]
    #[schema(min_length = 1, max_length = 4000)]
    pub comment: Option<String>,
}

/// A landlord's refusal of a proposal.
#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"reason": "household_too_large", "comment": "A T2 for five people"}))]
pub struct ProposalDecline {
    pub reason: ProposalDeclineReason,
    /// Required when `reason` is `other`.
    #[validate(length(min = 1, max = 4000), custom(function = "validate_not_blank"))]
    #[schema(min_length = 1, max_length = 4000, pattern = "\\S")]
    pub comment: Option<String>,
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ProposalFilters {
    pub unit_id: Option<Uuid>,
    pub household_id: Option<Uuid>,
    pub status: Option<ProposalStatus>,
}

/// Views for the organisation, each with its household's summary.
async fn present(
    conn: &mut AsyncPgConnection,
    caller: &Caller,
    rows: Vec<ProposalRow>,
) -> Result<Vec<Proposal>, ApiError> {
    let org = caller.partner_organisation()?;
    let may_write = crate::auth::policy::may(caller, Action::WriteHousing);
    let ids: Vec<Uuid> = rows.iter().map(|r| r.household_id).collect();
    let summaries = households_model::Summaries::load(conn, &ids).await?;
    let sublet = sublet_pairs(conn, &rows).await?;
    let unit_ids: Vec<Uuid> = rows.iter().map(|r| r.unit_id).collect();
    let available: Vec<Uuid> = crate::schema::units::table
        .filter(crate::schema::units::id.eq_any(&unit_ids))
        .filter(crate::schema::units::status.eq(UnitStatus::Available))
        .select(crate::schema::units::id)
        .load(conn)
        .await?;
    rows.into_iter()
        .map(|r| {
            let household = summaries.get(r.household_id)?;
            let context = ProposalContext {
                sublet: sublet.contains(&(r.unit_id, r.household_id)),
                unit_available: available.contains(&r.unit_id),
                may_write,
            };
            Ok(Proposal::view(r, household, org, context))
        })
        .collect()
}

fn proposal_response(status: StatusCode, p: &Proposal) -> StoredResponse {
    StoredResponse::versioned(status, p, p.version)
}

impl crate::cases::Case for ProposalRow {
    const TYPE: CaseType = CaseType::Proposal;
    type Party = Party;

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
    ) -> Result<Option<Party>, ApiError> {
        Ok(Party::of(
            org,
            self.landlord_organisation_id,
            self.association_organisation_id,
        ))
    }

    async fn load(
        conn: &mut AsyncPgConnection,
        id: Uuid,
        lock: bool,
    ) -> Result<Option<Self>, ApiError> {
        crate::load_row!(conn, proposals::table, ProposalRow, id, lock)
    }

    /// `proposal.<status>` to both parties: ids and status only.
    fn status_event(&self) -> Result<NewEvent, ApiError> {
        let event_type = match self.status {
            ProposalStatus::Proposed => "proposal.submitted",
            ProposalStatus::Accepted => "proposal.accepted",
            ProposalStatus::Declined => "proposal.declined",
            ProposalStatus::Withdrawn => "proposal.withdrawn",
        };
        Ok(NewEvent {
            event_type,
            subject_type: "proposal",
            subject_id: self.id,
            data: events::data(&crate::events::catalogue::ProposalEventData::from(self))?,
            recipients: vec![
                self.association_organisation_id,
                self.landlord_organisation_id,
            ],
            for_platform: false,
        })
    }
}

/// Moves a proposal to `to` (accepted, declined with its reason, withdrawn), the comment
/// going with a decline or a withdrawal; tells both parties.
async fn close(
    conn: &mut AsyncPgConnection,
    caller: Option<&Caller>,
    row: &ProposalRow,
    to: ProposalStatus,
    reason: Option<ProposalDeclineReason>,
    comment: Option<&str>,
) -> Result<ProposalRow, ApiError> {
    let comment = comment.map(str::trim);
    let (decline_comment, withdrawal_reason) = match to {
        ProposalStatus::Withdrawn => (None, comment),
        _ => (comment, None),
    };
    let updated: ProposalRow = diesel::update(proposals::table.find(row.id))
        .set((
            proposals::status.eq(to),
            proposals::decline_reason.eq(reason),
            proposals::decline_comment.eq(decline_comment),
            proposals::withdrawal_reason.eq(withdrawal_reason),
            crate::db::bump(proposals::version, proposals::updated_at),
        ))
        .returning(ProposalRow::as_returning())
        .get_result(conn)
        .await?;
    let action = match to {
        ProposalStatus::Proposed => "propose",
        ProposalStatus::Accepted => "accept",
        ProposalStatus::Declined => "decline",
        ProposalStatus::Withdrawn => "withdraw",
    };
    cases::record(
        conn,
        caller,
        &updated,
        Step::new(action, Some(row.status.as_str()))
            .comment(comment)
            .reason(reason.map(|r| r.as_str())),
    )
    .await?;
    Ok(updated)
}

/// Declines an open proposal because its unit is no longer available (another was accepted,
/// the agreement ended). Does nothing to a proposal already answered.
pub async fn close_as_unavailable(
    conn: &mut AsyncPgConnection,
    caller: Option<&Caller>,
    id: Uuid,
    comment: &str,
) -> Result<(), ApiError> {
    let row: ProposalRow = proposals::table
        .find(id)
        .select(ProposalRow::as_select())
        .for_update()
        .first(conn)
        .await?;
    if row.status == ProposalStatus::Proposed {
        close(
            conn,
            caller,
            &row,
            ProposalStatus::Declined,
            Some(ProposalDeclineReason::UnitNoLongerAvailable),
            Some(comment),
        )
        .await?;
    }
    Ok(())
}

/// Propose a household for a unit
///
/// An association proposes a household it follows for an `available` unit that an active
/// agreement of its makes available. The household's consent to sharing must be in force:
/// the landlord will see its name, composition and resources. The landlord is told through
/// the feed (`proposal.submitted`).
#[utoipa::path(
    tag = "units",
    operation_id = "create_proposal",
    request_body = NewProposal,
    params(
        ("id" = Uuid, Path, description = "The unit's id"),
        IdempotencyHeader,
    ),
    security(("oauth2" = ["housing:write"])),
    responses(
        (status = 201, description = "Proposed", body = Proposal,
         headers(("ETag" = String, description = "The version, for If-Match"), ("Location" = String, description = "The new proposal"))),
        (status = 409, description = "The unit is not available, or the household is already proposed for it (`existing_id`)", body = crate::error::Problem, content_type = "application/problem+json"),
    )
)]
#[post("/units/{id}/proposals")]
pub async fn create_proposal(
    state: web::Data<AppState>,
    caller: Caller,
    req: HttpRequest,
    id: web::Path<Uuid>,
    key: IdempotencyKey,
    body: ParsedJson<NewProposal>,
) -> ApiResult<HttpResponse> {
    authorize(&caller, Action::WriteHousing)?;
    let org = caller.partner_organisation()?;
    if caller.organisation_kind != Some(OrganisationKind::Association) {
        return Err(ApiError::Forbidden(
            "associations propose households for units".into(),
        ));
    }
    let unit_id = id.into_inner();
    let field_errors = body.field_errors();
    let ParsedJson(new, raw) = body;
    let fingerprint = idempotency::fingerprint(&req, &raw);
    idempotency::run(
        &state,
        &caller.clone(),
        &key,
        fingerprint,
        async move |conn: &mut AsyncPgConnection| {
            let unit = find_visible_unit(conn, org, unit_id, false).await?;
            let covered: bool = diesel::select(diesel::dsl::exists(
                agreements::table
                    .filter(agreements::id.nullable().eq(unit.agreement_id))
                    .filter(agreements::association_organisation_id.eq(org))
                    .filter(agreements::status.eq(AgreementStatus::Active)),
            ))
            .get_result(conn)
            .await?;
            if !covered {
                return Err(ApiError::Forbidden(
                    "no active agreement of your organisation covers this unit".into(),
                ));
            }
            let mut errors = field_errors;
            let shared = crate::households::sharing::find_to_share(
                conn,
                &caller,
                new.household_id,
                None,
                ("household_id", "household_id"),
                &mut errors,
            )
            .await?;
            if !errors.is_empty() {
                return Err(ApiError::Validation(errors));
            }
            if unit.status != UnitStatus::Available {
                return Err(ApiError::not_now(
                    format!(
                        "households are proposed for available units; this one is {}",
                        unit.status
                    ),
                    unit.status.as_str(),
                    &[],
                ));
            }
            // One open proposal of a household for a unit: the partial unique index
            // `proposals_one_open` decides; the lock makes a racing request's answer this 409.
            db::lock_for_rule(
                conn,
                "open_proposal",
                &format!("{}|{}", unit.id, new.household_id),
            )
            .await?;
            let existing: Option<Uuid> = proposals::table
                .filter(proposals::unit_id.eq(unit.id))
                .filter(proposals::household_id.eq(new.household_id))
                .filter(proposals::status.eq(ProposalStatus::Proposed))
                .select(proposals::id)
                .first(conn)
                .await
                .optional()?;
            if let Some(existing) = existing {
                return Err(ApiError::duplicate(
                    "this household is already proposed for this unit",
                    existing,
                ));
            }
            let row: ProposalRow = diesel::insert_into(proposals::table)
                .values((
                    proposals::id.eq(Uuid::now_v7()),
                    proposals::unit_id.eq(unit.id),
                    proposals::household_id.eq(new.household_id),
                    proposals::association_organisation_id.eq(org),
                    proposals::landlord_organisation_id.eq(unit.holder_organisation_id),
                    proposals::proposed_by_account_id.eq(caller.account_id),
                    proposals::comment.eq(new.comment.as_deref().map(str::trim)),
                    proposals::status.eq(ProposalStatus::Proposed),
                ))
                .returning(ProposalRow::as_returning())
                .get_result(conn)
                .await?;
            cases::record(conn, Some(&caller), &row, Step::new("propose", None)).await?;
            if let Some((household, basis)) = &shared {
                crate::households::sharing::share_if_new(
                    conn,
                    crate::households::sharing::Sharing {
                        household: household.id,
                        to: row.landlord_organisation_id,
                        by: org,
                        actor: Some(caller.account_id),
                        path: crate::households::sharing::SharingPath::Proposal,
                        case_id: row.id,
                        basis,
                    },
                )
                .await?;
            }
            let id = row.id;
            let view = present(conn, &caller, vec![row]).await?.remove(0);
            Ok(proposal_response(StatusCode::CREATED, &view)
                .header("location", format!("/v1/proposals/{id}")))
        },
    )
    .await
}

/// Get a proposal
#[utoipa::path(
    tag = "units",
    operation_id = "get_proposal",
    params(("id" = Uuid, Path, description = "The proposal's id")),
    security(("oauth2" = ["housing:read"])),
    responses((status = 200, description = "The proposal", body = Proposal, headers(("ETag" = String, description = "The version, for If-Match"))))
)]
#[get("/proposals/{id}")]
pub async fn get_proposal(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<Uuid>,
) -> ApiResult<HttpResponse> {
    authorize(&caller, Action::ReadHousing)?;
    let org = caller.partner_organisation()?;
    let mut conn = db::conn(&state.pool).await?;
    let (row, _) =
        cases::find_as_party::<ProposalRow>(&mut conn, org, id.into_inner(), false).await?;
    let view = present(&mut conn, &caller, vec![row]).await?.remove(0);
    Ok(proposal_response(StatusCode::OK, &view).into_response(false))
}

/// List proposals
///
/// The proposals your organisation made (an association) or received (a landlord), by id.
#[utoipa::path(
    tag = "units",
    operation_id = "list_proposals",
    params(ProposalFilters, PageParams),
    security(("oauth2" = ["housing:read"])),
    responses((status = 200, description = "A page of proposals", body = PageOf<Proposal>))
)]
#[get("/proposals")]
pub async fn list_proposals(
    state: web::Data<AppState>,
    caller: Caller,
    query: ListQuery<ProposalFilters>,
) -> ApiResult<HttpResponse> {
    let ListQuery { filters, page } = query;
    authorize(&caller, Action::ReadHousing)?;
    let org = caller.partner_organisation()?;
    let page = page.page()?;
    let mut q = proposals::table
        .filter(
            proposals::association_organisation_id
                .eq(org)
                .or(proposals::landlord_organisation_id.eq(org)),
        )
        .select(ProposalRow::as_select())
        .into_boxed();
    if let Some(u) = filters.unit_id {
        q = q.filter(proposals::unit_id.eq(u));
    }
    if let Some(h) = filters.household_id {
        q = q.filter(proposals::household_id.eq(h));
    }
    if let Some(s) = filters.status {
        q = q.filter(proposals::status.eq(s));
    }
    let mut conn = db::conn(&state.pool).await?;
    let rows: Vec<ProposalRow> = q.keyset(proposals::id, page).load(&mut conn).await?;
    let (rows, more) = page.split(rows);
    let views = present(&mut conn, &caller, rows).await?;
    Ok(HttpResponse::Ok().json(PageOf::new(views, more, |v: &Proposal| v.id)))
}

/// What a party does to a proposal, with what the action carries.
enum Answer {
    Accept,
    Decline(ProposalDecline),
    Withdraw(Withdrawal),
}

impl Answer {
    fn action(&self) -> ProposalAction {
        match self {
            Answer::Accept => ProposalAction::Accept,
            Answer::Decline(_) => ProposalAction::Decline,
            Answer::Withdraw(_) => ProposalAction::Withdraw,
        }
    }
}

/// Runs an action on a proposal: party, If-Match, the state table, then its effects.
async fn act(
    state: &AppState,
    caller: Caller,
    target: ActionTarget,
    answer: Answer,
) -> ApiResult<HttpResponse> {
    authorize(&caller, Action::WriteHousing)?;
    let org = caller.partner_organisation()?;
    let action = answer.action();
    target
        .run(
            state,
            &caller.clone(),
            async move |conn: &mut AsyncPgConnection, id: Uuid, if_match: IfMatch| {
                let (row, party) = cases::find_as_party::<ProposalRow>(conn, org, id, true).await?;
                if_match.check(row.version)?;
                if rules::proposal_actor(action) != party {
                    return Err(ApiError::Forbidden(match party {
                        Party::Association => format!(
                            "the landlord answers a proposal; the association may not {action} it"
                        ),
                        Party::Landlord => {
                            "the association that made a proposal withdraws it".to_owned()
                        }
                    }));
                }
                let sublet = sublet_pairs(conn, std::slice::from_ref(&row))
                    .await?
                    .contains(&(row.unit_id, row.household_id));
                let to =
                    rules::proposal_transition(row.status, action, sublet).ok_or_else(|| {
                        ApiError::not_now(
                            if sublet && action == ProposalAction::Withdraw {
                                "the unit has been sub-let to this household: the sub-lease, not \
                                 the proposal, is what ends"
                                    .to_owned()
                            } else {
                                format!(
                                    "`{action}` is not possible on a proposal that is {}",
                                    row.status
                                )
                            },
                            row.status.as_str(),
                            &rules::proposal_actions(row.status, party, sublet)
                                .iter()
                                .map(|a| a.as_str())
                                .collect::<Vec<_>>(),
                        )
                    })?;
                let updated = match &answer {
                    Answer::Decline(d) => {
                        if d.reason == ProposalDeclineReason::Other && d.comment.is_none() {
                            return Err(ApiError::invalid(
                                "comment",
                                "required",
                                "a decline for `other` reasons needs a comment",
                            ));
                        }
                        close(
                            conn,
                            Some(&caller),
                            &row,
                            to,
                            Some(d.reason),
                            d.comment.as_deref(),
                        )
                        .await?
                    }
                    Answer::Accept => {
                        let unit = lock_unit(conn, row.unit_id).await?;
                        if unit.status != UnitStatus::Available {
                            // The proposal stays open: the landlord may still decline it.
                            let allowed: Vec<&str> =
                                rules::proposal_actions(row.status, party, false)
                                    .into_iter()
                                    .filter(|a| *a != ProposalAction::Accept)
                                    .map(|a| a.as_str())
                                    .collect();
                            return Err(ApiError::not_now(
                                format!(
                                    "the unit is {}: it can no longer be kept for this household",
                                    unit.status
                                ),
                                row.status.as_str(),
                                &allowed,
                            ));
                        }
                        let accepted = close(conn, Some(&caller), &row, to, None, None).await?;
                        set_unit_status(conn, Some(&caller), unit.id, UnitStatus::Reserved).await?;
                        let others: Vec<Uuid> = proposals::table
                            .filter(proposals::unit_id.eq(unit.id))
                            .filter(proposals::id.ne(row.id))
                            .filter(proposals::status.eq(ProposalStatus::Proposed))
                            .select(proposals::id)
                            .load(conn)
                            .await?;
                        for other in others {
                            close_as_unavailable(
                                conn,
                                Some(&caller),
                                other,
                                "another household's proposal for this unit was accepted",
                            )
                            .await?;
                        }
                        accepted
                    }
                    Answer::Withdraw(w) => {
                        let was_accepted = row.status == ProposalStatus::Accepted;
                        let withdrawn =
                            close(conn, Some(&caller), &row, to, None, Some(&w.reason)).await?;
                        if was_accepted {
                            release_unit(conn, &caller, row.unit_id, crate::calendar::today())
                                .await?;
                        }
                        withdrawn
                    }
                };
                let view = present(conn, &caller, vec![updated]).await?.remove(0);
                Ok(proposal_response(StatusCode::OK, &view))
            },
        )
        .await
}

action_endpoint! {
    /// Accept a proposal
    ///
    /// The landlord keeps the unit for the household: the unit becomes `reserved` and the
    /// unit's other open proposals are declined (`unit_no_longer_available`). 409 when the
    /// proposal was answered or withdrawn, or the unit is no longer available.
    accept_proposal: "/proposals/{id}/accept", tag "units", scope "housing:write",
    id "The proposal's id", returns Proposal,
    |state, caller, target| act(&state, caller, target, Answer::Accept)
}

action_endpoint! {
    /// Decline a proposal
    ///
    /// The landlord says no, with a coded reason (`other` needs a comment).
    decline_proposal: "/proposals/{id}/decline", tag "units", scope "housing:write",
    id "The proposal's id", returns Proposal, body ProposalDecline,
    |state, caller, target, decline| act(&state, caller, target, Answer::Decline(decline))
}

action_endpoint! {
    /// Withdraw a proposal
    ///
    /// The association takes the household back, with its reason: before the landlord answers,
    /// or after an acceptance as long as the unit has not been sub-let to the household (once
    /// it is, the proposal cannot be withdrawn, 409: end the sub-lease instead). A unit kept for the household is free again
    /// (`available`, or `unavailable` when its energy class may no longer be let). The landlord
    /// is told through the feed (`proposal.withdrawn`).
    withdraw_proposal: "/proposals/{id}/withdraw", tag "units", scope "housing:write",
    id "The proposal's id", returns Proposal, body Withdrawal,
    |state, caller, target, withdrawal| act(&state, caller, target, Answer::Withdraw(withdrawal))
}

impl Proposal {
    pub fn view(
        row: ProposalRow,
        household: crate::households::model::HouseholdSummary,
        viewer: Uuid,
        context: ProposalContext,
    ) -> Proposal {
        let party = super::rules::Party::of(
            viewer,
            row.landlord_organisation_id,
            row.association_organisation_id,
        );
        Proposal {
            id: row.id,
            unit_id: row.unit_id,
            household,
            association_organisation_id: row.association_organisation_id,
            landlord_organisation_id: row.landlord_organisation_id,
            proposed_by_account_id: row.proposed_by_account_id,
            comment: row.comment,
            status: row.status,
            decline_reason: row.decline_reason,
            decline_comment: row.decline_comment,
            withdrawal_reason: row.withdrawal_reason,
            allowed_actions: party
                .filter(|_| context.may_write)
                .map(|p| {
                    let mut actions = super::rules::proposal_actions(row.status, p, context.sublet);
                    actions.retain(|a| *a != ProposalAction::Accept || context.unit_available);
                    actions
                })
                .unwrap_or_default(),
            version: row.version,
            created_at: row.created_at,
            updated_at: row.updated_at,
        }
    }
}
