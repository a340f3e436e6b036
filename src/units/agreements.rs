//! `/v1/agreements`: a landlord proposes, the association accepts or declines, either ends
//! it; the landlord attaches units up to the number it covers.

use actix_web::http::StatusCode;
use actix_web::{get, post, web, HttpRequest, HttpResponse};
use chrono::{DateTime, NaiveDate, Utc};
use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use serde::Deserialize;
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;
use validator::Validate;

use super::handlers::unit_event;
use super::model::{
    Agreement, AgreementAction, AgreementKind, AgreementRow, AgreementStatus, ProposalStatus,
    UnitRow,
};
use super::proposals;
use super::rules::{self, Party};
use crate::action_endpoint;
use crate::auth::caller::Caller;
use crate::auth::policy::{authorize, Action};
use crate::cases::{self, CaseType, Step};
use crate::db;
use crate::db::Keyset;
use crate::error::{ApiError, ApiResult, FieldError};
use crate::events::{self, NewEvent};
use crate::http::body::{ParsedJson, ValidJson};
use crate::http::concurrency::IfMatch;
use crate::http::extractors::ListQuery;
use crate::http::idempotency::IdempotencyHeader;
use crate::http::idempotency::{self, ActionTarget, IdempotencyKey, StoredResponse};
use crate::http::pagination::{PageOf, PageParams};
use crate::identity::model::{OrganisationKind, OrganisationRow};
use crate::schema::{agreements, organisations, proposals as proposals_table, units};
use crate::state::AppState;

/// A new agreement, proposed by a landlord to an association.
#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({
    "association_organisation_id": "0193a5c2-0000-7000-8000-0000000000cc", "kind": "sliding_lease",
    "units_covered": 5, "starts_on": "2026-12-01", "ends_on": "2029-11-30",
    "programme_label": "Logement d'abord Allier"
}))]
pub struct NewAgreement {
    /// The association that will see the units and propose households.
    pub association_organisation_id: Uuid,
    pub kind: AgreementKind,
    /// How many units it covers: 1 to 10 000, named now or later.
    #[validate(range(min = 1, max = 10_000))]
    #[schema(minimum = 1, maximum = 10_000)]
    pub units_covered: i32,
    pub starts_on: NaiveDate,
    /// The last day it is in force, after `starts_on`; open-ended when absent. The next
    /// day the service ends it (`expired`). Sub-leases under it are planned to end by that day at the latest.
    pub ends_on: Option<NaiveDate>,
    #[validate(length(min = 1, max = 200))]
    #[schema(min_length = 1, max_length = 200)]
    pub programme_label: Option<String>,
}

/// A decline or termination, with an optional comment.
#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"comment": "The programme's funding ended"}))]
pub struct Closing {
    #[validate(length(min = 1, max = 4000))]
    #[schema(min_length = 1, max_length = 4000)]
    pub comment: Option<String>,
}

/// Units to attach to an agreement.
#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"unit_ids": ["0193a5f0-0000-7000-8000-000000000001"]}))]
pub struct Attachment {
    /// 1 to 100 units your organisation holds, attached to no other agreement. Units already
    /// attached to this agreement are left as they are.
    #[validate(length(min = 1, max = 100))]
    #[schema(min_items = 1, max_items = 100)]
    pub unit_ids: Vec<Uuid>,
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct AgreementFilters {
    pub status: Option<AgreementStatus>,
    /// Only agreements changed at or after this instant.
    pub updated_since: Option<DateTime<Utc>>,
}

fn party_of(org: Uuid, row: &AgreementRow) -> Option<Party> {
    Party::of(
        org,
        row.landlord_organisation_id,
        row.association_organisation_id,
    )
}

impl crate::cases::Case for AgreementRow {
    const TYPE: CaseType = CaseType::Agreement;
    type Party = Party;

    fn id(&self) -> Uuid {
        self.id
    }

    fn household_id(&self) -> Option<Uuid> {
        None
    }

    fn status(&self) -> &'static str {
        self.status.as_str()
    }

    async fn party_of(
        &self,
        _: &mut AsyncPgConnection,
        org: Uuid,
    ) -> Result<Option<Party>, ApiError> {
        Ok(party_of(org, self))
    }

    async fn load(
        conn: &mut AsyncPgConnection,
        id: Uuid,
        lock: bool,
    ) -> Result<Option<Self>, ApiError> {
        crate::load_row!(conn, agreements::table, AgreementRow, id, lock)
    }

    /// `agreement.<status>` to both parties: ids, status and counts only.
    fn status_event(&self) -> Result<NewEvent, ApiError> {
        agreement_event(status_event(self.status), self, None)
    }
}

/// Views of agreements for the organisation, with the number of units each has attached.
async fn present(
    conn: &mut AsyncPgConnection,
    caller: &Caller,
    rows: Vec<AgreementRow>,
) -> Result<Vec<Agreement>, ApiError> {
    let org = caller.partner_organisation()?;
    let may_write = crate::auth::policy::may(caller, Action::WriteHousing);
    let ids: Vec<Uuid> = rows.iter().map(|r| r.id).collect();
    let counts: std::collections::HashMap<Option<Uuid>, i64> = units::table
        .filter(units::agreement_id.eq_any(&ids))
        .group_by(units::agreement_id)
        .select((units::agreement_id, diesel::dsl::count_star()))
        .load::<(Option<Uuid>, i64)>(conn)
        .await?
        .into_iter()
        .collect();
    Ok(rows
        .into_iter()
        .map(|r| {
            let n = counts.get(&Some(r.id)).copied().unwrap_or(0);
            Agreement::view(r, n, org, may_write)
        })
        .collect())
}

async fn present_one(
    conn: &mut AsyncPgConnection,
    caller: &Caller,
    row: AgreementRow,
) -> Result<Agreement, ApiError> {
    Ok(present(conn, caller, vec![row]).await?.remove(0))
}

fn agreement_response(status: StatusCode, a: &Agreement) -> StoredResponse {
    StoredResponse::versioned(status, a, a.version)
}

/// The event telling both parties (`agreement.<what>`): ids, status and counts only.
fn agreement_event(
    event_type: &'static str,
    row: &AgreementRow,
    unit_ids: Option<Vec<Uuid>>,
) -> Result<NewEvent, ApiError> {
    Ok(NewEvent {
        event_type,
        subject_type: "agreement",
        subject_id: row.id,
        data: events::data(&crate::events::catalogue::AgreementEventData::of(
            row, unit_ids,
        ))?,
        recipients: vec![
            row.landlord_organisation_id,
            row.association_organisation_id,
        ],
        for_platform: false,
    })
}

/// Propose an agreement
///
/// A landlord offers an association a number of units under an agreement (*convention*);
/// the units can be named now or attached later as they free up. The association is told
/// through the feed (`agreement.proposed`) and accepts or declines.
#[utoipa::path(
    tag = "agreements",
    operation_id = "create_agreement",
    request_body = NewAgreement,
    params(IdempotencyHeader),
    security(("oauth2" = ["housing:write"])),
    responses((status = 201, description = "Proposed", body = Agreement,
               headers(("ETag" = String, description = "The version, for If-Match"), ("Location" = String, description = "The new agreement"))))
)]
#[post("/agreements")]
pub async fn create_agreement(
    state: web::Data<AppState>,
    caller: Caller,
    req: HttpRequest,
    key: IdempotencyKey,
    body: ParsedJson<NewAgreement>,
) -> ApiResult<HttpResponse> {
    authorize(&caller, Action::WriteHousing)?;
    let org = caller.partner_organisation()?;
    if caller.organisation_kind != Some(OrganisationKind::SocialLandlord) {
        return Err(ApiError::Forbidden("a landlord proposes agreements".into()));
    }
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
            let association: Option<OrganisationRow> = organisations::table
                .find(new.association_organisation_id)
                .select(OrganisationRow::as_select())
                .first(conn)
                .await
                .optional()?;
            match association {
                None => errors.push(FieldError::new(
                    "association_organisation_id",
                    "unknown_organisation",
                    "no such organisation",
                )),
                Some(a) if a.kind != OrganisationKind::Association => errors.push(FieldError::new(
                    "association_organisation_id",
                    "not_an_association",
                    "agreements are made with associations",
                )),
                Some(_) => {}
            }
            if new.ends_on.is_some_and(|e| e <= new.starts_on) {
                errors.push(FieldError::new(
                    "ends_on",
                    "before_start",
                    "the agreement ends after it starts",
                ));
            }
            if !errors.is_empty() {
                return Err(ApiError::Validation(errors));
            }
            let row: AgreementRow = diesel::insert_into(agreements::table)
                .values((
                    agreements::id.eq(Uuid::now_v7()),
                    agreements::landlord_organisation_id.eq(org),
                    agreements::association_organisation_id.eq(new.association_organisation_id),
                    agreements::kind.eq(new.kind),
                    agreements::units_covered.eq(new.units_covered),
                    agreements::starts_on.eq(new.starts_on),
                    agreements::ends_on.eq(new.ends_on),
                    agreements::programme_label.eq(new.programme_label.as_deref().map(str::trim)),
                    agreements::status.eq(AgreementStatus::Proposed),
                ))
                .returning(AgreementRow::as_returning())
                .get_result(conn)
                .await?;
            cases::record(conn, Some(&caller), &row, Step::new("propose", None)).await?;
            let id = row.id;
            let view = present_one(conn, &caller, row).await?;
            Ok(agreement_response(StatusCode::CREATED, &view)
                .header("location", format!("/v1/agreements/{id}")))
        },
    )
    .await
}

/// Get an agreement
#[utoipa::path(
    tag = "agreements",
    operation_id = "get_agreement",
    params(("id" = Uuid, Path, description = "The agreement's id")),
    security(("oauth2" = ["housing:read"])),
    responses((status = 200, description = "The agreement", body = Agreement, headers(("ETag" = String, description = "The version, for If-Match"))))
)]
#[get("/agreements/{id}")]
pub async fn get_agreement(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<Uuid>,
) -> ApiResult<HttpResponse> {
    authorize(&caller, Action::ReadHousing)?;
    let org = caller.partner_organisation()?;
    let mut conn = db::conn(&state.pool).await?;
    let (row, _) =
        cases::find_as_party::<AgreementRow>(&mut conn, org, id.into_inner(), false).await?;
    let view = present_one(&mut conn, &caller, row).await?;
    Ok(agreement_response(StatusCode::OK, &view).into_response(false))
}

/// List agreements
///
/// The agreements your organisation is party to, by id.
#[utoipa::path(
    tag = "agreements",
    operation_id = "list_agreements",
    params(AgreementFilters, PageParams),
    security(("oauth2" = ["housing:read"])),
    responses((status = 200, description = "A page of agreements", body = PageOf<Agreement>))
)]
#[get("/agreements")]
pub async fn list_agreements(
    state: web::Data<AppState>,
    caller: Caller,
    query: ListQuery<AgreementFilters>,
) -> ApiResult<HttpResponse> {
    let ListQuery { filters, page } = query;
    authorize(&caller, Action::ReadHousing)?;
    let org = caller.partner_organisation()?;
    let page = page.page()?;
    let mut q = agreements::table
        .filter(
            agreements::landlord_organisation_id
                .eq(org)
                .or(agreements::association_organisation_id.eq(org)),
        )
        .select(AgreementRow::as_select())
        .into_boxed();
    if let Some(s) = filters.status {
        q = q.filter(agreements::status.eq(s));
    }
    if let Some(since) = filters.updated_since {
        q = q.filter(agreements::updated_at.ge(since));
    }
    let mut conn = db::conn(&state.pool).await?;
    let rows: Vec<AgreementRow> = q.keyset(agreements::id, page).load(&mut conn).await?;
    let (rows, more) = page.split(rows);
    let views = present(&mut conn, &caller, rows).await?;
    Ok(HttpResponse::Ok().json(PageOf::new(views, more, |v: &Agreement| v.id)))
}

/// Runs an action on an agreement: party, If-Match, the state table, then its effects.
async fn act(
    state: &AppState,
    caller: Caller,
    target: ActionTarget,
    action: AgreementAction,
    comment: Option<String>,
) -> ApiResult<HttpResponse> {
    authorize(&caller, Action::WriteHousing)?;
    let org = caller.partner_organisation()?;
    target
        .run(
            state,
            &caller.clone(),
            async move |conn: &mut AsyncPgConnection, id: Uuid, if_match: IfMatch| {
                let (row, party) =
                    cases::find_as_party::<AgreementRow>(conn, org, id, true).await?;
                if_match.check(row.version)?;
                let to =
                    rules::agreement_transition(row.status, action, party).map_err(|allowed| {
                        if rules::agreement_actions(
                            row.status,
                            match party {
                                Party::Landlord => Party::Association,
                                Party::Association => Party::Landlord,
                            },
                        )
                        .contains(&action)
                        {
                            ApiError::Forbidden(format!(
                                "the other party of the agreement may {action} it, not yours"
                            ))
                        } else {
                            ApiError::not_now(
                                format!(
                                    "`{action}` is not possible on an agreement that is {}",
                                    row.status
                                ),
                                row.status.as_str(),
                                &allowed.iter().map(|a| a.as_str()).collect::<Vec<_>>(),
                            )
                        }
                    })?;
                let updated = move_to(conn, Some(&caller), &row, to, comment.as_deref()).await?;
                let view = present_one(conn, &caller, updated).await?;
                Ok(agreement_response(StatusCode::OK, &view))
            },
        )
        .await
}

/// Moves an agreement to `to` (a comment replaces the closing comment when given), with
/// its event to both parties; an agreement that ends (terminated, expired) releases its
/// units.
async fn move_to(
    conn: &mut AsyncPgConnection,
    caller: Option<&Caller>,
    row: &AgreementRow,
    to: AgreementStatus,
    comment: Option<&str>,
) -> Result<AgreementRow, ApiError> {
    let updated: AgreementRow = diesel::update(agreements::table.find(row.id))
        .set((
            agreements::status.eq(to),
            agreements::closing_comment
                .eq(comment.map(str::trim).or(row.closing_comment.as_deref())),
            crate::db::bump(agreements::version, agreements::updated_at),
        ))
        .returning(AgreementRow::as_returning())
        .get_result(conn)
        .await?;
    if matches!(to, AgreementStatus::Terminated | AgreementStatus::Expired) {
        release_units(conn, caller, &updated).await?;
    }
    let action = match to {
        AgreementStatus::Proposed => "propose",
        AgreementStatus::Active => "accept",
        AgreementStatus::Declined => "decline",
        AgreementStatus::Terminated => "terminate",
        AgreementStatus::Expired => "expire",
    };
    cases::record(
        conn,
        caller,
        &updated,
        Step::new(action, Some(row.status.as_str())).comment(comment),
    )
    .await?;
    Ok(updated)
}

/// The event of an agreement's move to a status.
fn status_event(status: AgreementStatus) -> &'static str {
    match status {
        AgreementStatus::Proposed => "agreement.proposed",
        AgreementStatus::Active => "agreement.accepted",
        AgreementStatus::Declined => "agreement.declined",
        AgreementStatus::Terminated => "agreement.terminated",
        AgreementStatus::Expired => "agreement.expired",
    }
}

/// Expires the active agreements whose period ended before `today` (at most 1 000 a run;
/// rows another run holds are skipped): each ends as a termination would, with
/// `agreement.expired` to both parties. Returns how many expired.
pub async fn expire_ended(
    conn: &mut AsyncPgConnection,
    today: NaiveDate,
) -> Result<usize, ApiError> {
    let due: Vec<AgreementRow> = agreements::table
        .filter(agreements::status.eq(AgreementStatus::Active))
        .filter(agreements::ends_on.lt(today))
        .select(AgreementRow::as_select())
        .order(agreements::id.asc())
        .limit(1000)
        .for_update()
        .skip_locked()
        .load(conn)
        .await?;
    for row in &due {
        move_to(conn, None, row, AgreementStatus::Expired, None).await?;
    }
    Ok(due.len())
}

/// When an agreement ends, its units leave it (the association no longer sees them, except
/// those it sub-lets) and the association's open proposals for them are declined.
async fn release_units(
    conn: &mut AsyncPgConnection,
    caller: Option<&Caller>,
    agreement: &AgreementRow,
) -> Result<(), ApiError> {
    let released: Vec<UnitRow> =
        diesel::update(units::table.filter(units::agreement_id.eq(agreement.id)))
            .set((
                units::agreement_id.eq(None::<Uuid>),
                units::agreement_association_id.eq(None::<Uuid>),
                crate::db::bump(units::version, units::updated_at),
            ))
            .returning(UnitRow::as_returning())
            .get_results(conn)
            .await?;
    let ids: Vec<Uuid> = released.iter().map(|u| u.id).collect();
    let open: Vec<Uuid> = proposals_table::table
        .filter(proposals_table::unit_id.eq_any(&ids))
        .filter(
            proposals_table::association_organisation_id.eq(agreement.association_organisation_id),
        )
        .filter(proposals_table::status.eq(ProposalStatus::Proposed))
        .select(proposals_table::id)
        .load(conn)
        .await?;
    for p in open {
        proposals::close_as_unavailable(
            conn,
            caller,
            p,
            "the agreement that made the unit available ended",
        )
        .await?;
    }
    for unit in &released {
        unit_event(conn, caller, "unit.updated", unit).await?;
    }
    Ok(())
}

action_endpoint! {
    /// Accept an agreement
    ///
    /// The association accepts a proposed agreement: it becomes `active`, and the association
    /// sees the units attached to it.
    accept_agreement: "/agreements/{id}/accept", tag "agreements", scope "housing:write",
    id "The agreement's id", returns Agreement,
    |state, caller, target| act(&state, caller, target, AgreementAction::Accept, None)
}

action_endpoint! {
    /// Decline an agreement
    ///
    /// The association declines a proposed agreement.
    decline_agreement: "/agreements/{id}/decline", tag "agreements", scope "housing:write",
    id "The agreement's id", returns Agreement, optional body Closing,
    |state, caller, target, closing| {
        act(&state, caller, target, AgreementAction::Decline, closing.comment)
    }
}

action_endpoint! {
    /// Terminate an agreement
    ///
    /// Either party ends an active agreement (the landlord may also withdraw one not yet
    /// answered). Its units leave it: the association no longer sees them, except those it
    /// sub-lets, and its open proposals for them are declined (`unit_no_longer_available`).
    /// Sub-leases in progress go on.
    terminate_agreement: "/agreements/{id}/terminate", tag "agreements", scope "housing:write",
    id "The agreement's id", returns Agreement, optional body Closing,
    |state, caller, target, closing| {
        act(&state, caller, target, AgreementAction::Terminate, closing.comment)
    }
}

/// Attach units to an agreement
///
/// The agreement's landlord names units it holds, as they free up; the association sees
/// them from then on and is told through the feed (`agreement.units_attached`). The
/// agreement must be `active`, and never covers more units than `units_covered`: a request
/// that would go beyond is refused whole (409, with `units_covered` and `units_attached`).
#[utoipa::path(
    tag = "agreements",
    operation_id = "attach_agreement_units",
    request_body = Attachment,
    params(
        ("id" = Uuid, Path, description = "The agreement's id"),
        IdempotencyHeader,
    ),
    security(("oauth2" = ["housing:write"])),
    responses(
        (status = 200, description = "Attached: the agreement with its new count", body = Agreement),
        (status = 409, description = "The agreement is not active, or the units would exceed what it covers", body = crate::error::Problem, content_type = "application/problem+json"),
    )
)]
#[post("/agreements/{id}/units")]
pub async fn attach_units(
    state: web::Data<AppState>,
    caller: Caller,
    req: HttpRequest,
    id: web::Path<Uuid>,
    key: IdempotencyKey,
    body: ValidJson<Attachment>,
) -> ApiResult<HttpResponse> {
    authorize(&caller, Action::WriteHousing)?;
    let org = caller.partner_organisation()?;
    let id = id.into_inner();
    let ValidJson(attachment, raw) = body;
    let fingerprint = idempotency::fingerprint(&req, &raw);
    idempotency::run(
        &state,
        &caller.clone(),
        &key,
        fingerprint,
        async move |conn: &mut AsyncPgConnection| {
            // The agreement's row lock serialises attachments: two requests racing cannot both
            // fit under the quota.
            let (agreement, _) = cases::find_as_party::<AgreementRow>(conn, org, id, true).await?;
            if agreement.landlord_organisation_id != org {
                return Err(ApiError::Forbidden(
                    "the agreement's landlord attaches its units".into(),
                ));
            }
            if agreement.status != AgreementStatus::Active {
                return Err(ApiError::not_now(
                    format!(
                        "units are attached to an active agreement; this one is {}",
                        agreement.status
                    ),
                    agreement.status.as_str(),
                    &rules::agreement_actions(agreement.status, Party::Landlord)
                        .iter()
                        .map(|a| a.as_str())
                        .collect::<Vec<_>>(),
                ));
            }
            let mut wanted = attachment.unit_ids.clone();
            wanted.sort();
            wanted.dedup();
            let found: Vec<UnitRow> = units::table
                .filter(units::id.eq_any(&wanted))
                .filter(units::holder_organisation_id.eq(org))
                .select(UnitRow::as_select())
                .for_update()
                .load(conn)
                .await?;
            let mut errors = Vec::new();
            for (i, unit) in attachment.unit_ids.iter().enumerate() {
                let field = format!("unit_ids[{i}]");
                match found.iter().find(|u| u.id == *unit) {
                    None => errors.push(FieldError::new(
                        &field,
                        "unknown_unit",
                        "no unit your organisation holds has this id",
                    )),
                    Some(u) if u.agreement_id.is_some_and(|a| a != agreement.id) => {
                        errors.push(FieldError::new(
                            &field,
                            "in_another_agreement",
                            "this unit is attached to another agreement",
                        ))
                    }
                    Some(_) => {}
                }
            }
            if !errors.is_empty() {
                return Err(ApiError::Validation(errors));
            }
            let new: Vec<Uuid> = found
                .iter()
                .filter(|u| u.agreement_id.is_none())
                .map(|u| u.id)
                .collect();
            let attached: i64 = units::table
                .filter(units::agreement_id.eq(agreement.id))
                .count()
                .get_result(conn)
                .await?;
            if attached + new.len() as i64 > i64::from(agreement.units_covered) {
                let mut ext = serde_json::Map::new();
                ext.insert("units_covered".into(), agreement.units_covered.into());
                ext.insert("units_attached".into(), attached.into());
                return Err(ApiError::Conflict {
                    detail: format!(
                        "the agreement covers {} units and has {attached}: {} more do not fit",
                        agreement.units_covered,
                        new.len()
                    ),
                    extensions: ext,
                });
            }
            if !new.is_empty() {
                let rows: Vec<UnitRow> =
                    diesel::update(units::table.filter(units::id.eq_any(&new)))
                        .set((
                            units::agreement_id.eq(Some(agreement.id)),
                            units::agreement_association_id
                                .eq(Some(agreement.association_organisation_id)),
                            crate::db::bump(units::version, units::updated_at),
                        ))
                        .returning(UnitRow::as_returning())
                        .get_results(conn)
                        .await?;
                for unit in &rows {
                    unit_event(conn, Some(&caller), "unit.updated", unit).await?;
                }
                events::append(
                    conn,
                    Some(&caller),
                    agreement_event("agreement.units_attached", &agreement, Some(new.clone()))?,
                )
                .await?;
            }
            let view = present_one(conn, &caller, agreement).await?;
            Ok(StoredResponse::json(StatusCode::OK, &view))
        },
    )
    .await
}

impl Agreement {
    /// The agreement as `viewer` sees it; `may_write`: the caller's role and token may act on
    /// housing (else it is offered no action).
    pub fn view(
        row: AgreementRow,
        units_attached: i64,
        viewer: Uuid,
        may_write: bool,
    ) -> Agreement {
        let party = super::rules::Party::of(
            viewer,
            row.landlord_organisation_id,
            row.association_organisation_id,
        );
        Agreement {
            id: row.id,
            landlord_organisation_id: row.landlord_organisation_id,
            association_organisation_id: row.association_organisation_id,
            kind: row.kind,
            units_covered: row.units_covered,
            units_attached,
            starts_on: row.starts_on,
            ends_on: row.ends_on,
            programme_label: row.programme_label,
            status: row.status,
            closing_comment: row.closing_comment,
            allowed_actions: party
                .filter(|_| may_write)
                .map(|p| super::rules::agreement_actions(row.status, p))
                .unwrap_or_default(),
            version: row.version,
            created_at: row.created_at,
            updated_at: row.updated_at,
        }
    }
}
