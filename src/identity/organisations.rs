//! `/v1/organisations`: the directory of partners, created by a platform admin.

use actix_web::http::StatusCode;
use actix_web::{get, patch, post, web, HttpRequest, HttpResponse};
use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use serde::Deserialize;
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;
use validator::{Validate, ValidationError};

use crate::fields::validate_not_blank;

use super::model::{self, CommissionKind, Organisation, OrganisationKind};
use super::rules;
use crate::auth::caller::Caller;
use crate::auth::policy::{authorize, Action};
use crate::db;
use crate::error::{ApiError, ApiResult};
use crate::events::{self, NewEvent};
use crate::http::body::ValidJson;
use crate::http::concurrency::IfMatch;
use crate::http::concurrency::IfMatchHeader;
use crate::http::extractors::ListQuery;
use crate::http::idempotency::IdempotencyHeader;
use crate::http::idempotency::{self, IdempotencyKey, StoredResponse};
use crate::http::pagination::{PageOf, PageParams};
use crate::http::patch;
use crate::schema::organisations;
use crate::state::AppState;

pub(crate) fn validate_siret(value: &str) -> Result<(), ValidationError> {
    let mut errors = Vec::new();
    rules::check_siret("siret", value, &mut errors);
    match errors.pop() {
        None => Ok(()),
        Some(e) => Err(ValidationError::new(match e.code.as_str() {
            "format" => "format",
            "not_attributed" => "not_attributed",
            _ => "check_digit",
        })
        .with_message(e.message.into())),
    }
}

pub(crate) fn validate_department_code(value: &str) -> Result<(), ValidationError> {
    if rules::department_code_is_valid(value) {
        Ok(())
    } else {
        Err(ValidationError::new("department_code")
            .with_message("département code must be 01 to 95, 2A, 2B or 971 to 978".into()))
    }
}

/// A new partner organisation.
#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({
    "kind": "association", "name": "Association Habitat Solidaire de la Mayenne",
    "siret": "52601815908308", "department_code": "53",
    "contact_email": "contact@habitat-solidaire.example"
}))]
pub struct NewOrganisation {
    pub kind: OrganisationKind,
    #[validate(length(min = 1, max = 200), custom(function = "validate_not_blank"))]
    #[schema(min_length = 1, max_length = 200, pattern = "\\S")]
    pub name: String,
    /// 14 digits with a valid check digit: Luhn, or for La Poste's establishments (SIREN
    /// 356000000) a digit sum that is a multiple of 5.
    #[validate(custom(function = "validate_siret"))]
    #[schema(pattern = "^[0-9]{14}$")]
    pub siret: String,
    /// 01–19, 21–95, 2A, 2B, 971–978 (the overseas départements, Saint-Pierre-et-Miquelon, Saint-Barthélemy, Saint-Martin).
    #[validate(custom(function = "validate_department_code"))]
    #[schema(pattern = "^(0[1-9]|1[0-9]|2[1-9AB]|[3-8][0-9]|9[0-5]|97[1-8])$")]
    pub department_code: String,
    #[validate(email, length(max = 254))]
    #[schema(format = Email, max_length = 254)]
    pub contact_email: String,
    /// The commissions it is the secretariat of: only for a `department` or a
    /// `state_service` (`not_a_commission_kind`); default: none.
    #[validate(length(max = 4))]
    #[schema(max_items = 4)]
    #[serde(default)]
    pub commissions: Vec<CommissionKind>,
}

/// Changes to an organisation, as a JSON Merge Patch (RFC 7396): an absent field stays as
/// it is; none may be `null` (422 `not_nullable`). Sending what is stored changes nothing.
#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"contact_email": "accueil@habitat-solidaire.example"}))]
pub struct OrganisationPatch {
    #[validate(length(min = 1, max = 200), custom(function = "validate_not_blank"))]
    #[schema(nullable = false, min_length = 1, max_length = 200, pattern = "\\S")]
    #[serde(default, deserialize_with = "patch::not_null")]
    pub name: Option<String>,
    #[validate(custom(function = "validate_department_code"))]
    #[schema(
        nullable = false,
        pattern = "^(0[1-9]|1[0-9]|2[1-9AB]|[3-8][0-9]|9[0-5]|97[1-8])$"
    )]
    #[serde(default, deserialize_with = "patch::not_null")]
    pub department_code: Option<String>,
    #[validate(email, length(max = 254))]
    #[schema(nullable = false, format = Email, max_length = 254)]
    #[serde(default, deserialize_with = "patch::not_null")]
    pub contact_email: Option<String>,
    /// The commissions it is the secretariat of (the whole list; `[]`: none): a platform
    /// admin's decision (403 for the organisation's own admins), for a `department` or a
    /// `state_service` only.
    #[validate(length(max = 4))]
    #[schema(nullable = false, max_items = 4)]
    #[serde(default, deserialize_with = "patch::not_null")]
    pub commissions: Option<Vec<CommissionKind>>,
}

/// The field errors of a list of commissions for an organisation of `kind`: each once, and
/// only a department or a State service holds any.
fn commission_errors(
    kind: OrganisationKind,
    commissions: &[CommissionKind],
) -> Vec<crate::error::FieldError> {
    use crate::error::FieldError;
    let mut errors = Vec::new();
    for (i, c) in commissions.iter().enumerate() {
        let field = format!("commissions[{i}]");
        if commissions[..i].contains(c) {
            errors.push(FieldError::new(field, "duplicate", "each commission once"));
        } else if !matches!(
            kind,
            OrganisationKind::Department | OrganisationKind::StateService
        ) {
            errors.push(FieldError::new(
                field,
                "not_a_commission_kind",
                format!("a commission is held by a department or a State service, not by an organisation of kind {kind}"),
            ));
        }
    }
    errors
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct OrganisationFilters {
    /// Only organisations of this kind.
    pub kind: Option<OrganisationKind>,
    /// Only organisations of this département.
    #[param(pattern = "^(0[1-9]|1[0-9]|2[1-9AB]|[3-8][0-9]|9[0-5]|97[1-8])$")]
    pub department_code: Option<String>,
}

pub(crate) fn organisation_response(status: StatusCode, org: &Organisation) -> StoredResponse {
    StoredResponse::versioned(status, org, org.version)
}

async fn organisation_event(
    conn: &mut AsyncPgConnection,
    caller: &Caller,
    event_type: &'static str,
    org: &Organisation,
) -> Result<(), ApiError> {
    events::append(
        conn,
        Some(caller),
        NewEvent {
            event_type,
            subject_type: "organisation",
            subject_id: org.id,
            data: serde_json::to_value(org).map_err(ApiError::internal)?,
            recipients: vec![org.id],
            for_platform: true,
        },
    )
    .await
}

/// Create an organisation
///
/// Registers a partner organisation (platform admins only). Its first admin account is
/// then created with `POST /v1/organisations/{id}/accounts`. A SIRET can be registered once.
#[utoipa::path(
    tag = "organisations",
    operation_id = "create_organisation",
    request_body = NewOrganisation,
    params(IdempotencyHeader),
    security(("oauth2" = ["accounts:write"])),
    responses(
        (status = 201, description = "Created", body = Organisation,
         headers(("ETag" = String, description = "The version, for If-Match"), ("Location" = String, description = "The new organisation"))),
        (status = 409, description = "An organisation with this SIRET exists, or the key is in use", body = crate::error::Problem, content_type = "application/problem+json"),
    )
)]
#[post("/organisations")]
pub async fn create_organisation(
    state: web::Data<AppState>,
    caller: Caller,
    req: HttpRequest,
    key: IdempotencyKey,
    body: ValidJson<NewOrganisation>,
) -> ApiResult<HttpResponse> {
    authorize(&caller, Action::CreateOrganisation)?;
    let ValidJson(new, raw) = body;
    let errors = commission_errors(new.kind, &new.commissions);
    if !errors.is_empty() {
        return Err(ApiError::Validation(errors));
    }
    let fingerprint = idempotency::fingerprint(&req, &raw);
    idempotency::run(
        &state,
        &caller.clone(),
        &key,
        fingerprint,
        async move |conn: &mut AsyncPgConnection| {
            // The unique index decides; the lock makes a racing request's answer the same
            // 409 naming the organisation, not a bare constraint violation.
            db::lock_for_rule(conn, "organisation_siret", &new.siret).await?;
            let existing: Option<Uuid> = organisations::table
                .filter(organisations::siret.eq(&new.siret))
                .select(organisations::id)
                .first(conn)
                .await
                .optional()?;
            if let Some(existing_id) = existing {
                return Err(ApiError::duplicate(
                    "an organisation with this SIRET is already registered",
                    existing_id,
                ));
            }
            let row: model::OrganisationRow = diesel::insert_into(organisations::table)
                .values((
                    organisations::id.eq(Uuid::now_v7()),
                    organisations::kind.eq(new.kind),
                    organisations::name.eq(new.name.trim()),
                    organisations::siret.eq(&new.siret),
                    organisations::department_code.eq(&new.department_code),
                    organisations::contact_email.eq(rules::normalise_email(&new.contact_email)),
                    organisations::commissions
                        .eq(serde_json::to_value(&new.commissions).map_err(ApiError::internal)?),
                ))
                .returning(model::OrganisationRow::as_returning())
                .get_result(conn)
                .await?;
            let org = Organisation::from(row);
            organisation_event(conn, &caller, "organisation.created", &org).await?;
            Ok(organisation_response(StatusCode::CREATED, &org)
                .header("location", format!("/v1/organisations/{}", org.id)))
        },
    )
    .await
}

/// List organisations
///
/// The directory of partner organisations, visible to every partner (a referral needs an
/// addressee). Ordered by id; filter by kind and département.
#[utoipa::path(
    tag = "organisations",
    operation_id = "list_organisations",
    params(OrganisationFilters, PageParams),
    security(("oauth2" = ["organisations:read"])),
    responses((status = 200, description = "A page of organisations", body = PageOf<Organisation>))
)]
#[get("/organisations")]
pub async fn list_organisations(
    state: web::Data<AppState>,
    caller: Caller,
    query: ListQuery<OrganisationFilters>,
) -> ApiResult<HttpResponse> {
    let ListQuery { filters, page } = query;
    authorize(&caller, Action::ReadOrganisations)?;
    let page = page.page()?;
    if let Some(code) = &filters.department_code {
        if !rules::department_code_is_valid(code) {
            return Err(ApiError::bad_request(
                "department_code",
                "department_code",
                "département code must be 01 to 95, 2A, 2B or 971 to 978",
            ));
        }
    }
    let mut conn = db::conn(&state.pool).await?;
    let rows = model::list_organisations(
        &mut conn,
        page,
        filters.kind,
        filters.department_code.as_deref(),
    )
    .await?;
    let rows: Vec<Organisation> = rows.into_iter().map(Organisation::from).collect();
    Ok(HttpResponse::Ok().json(PageOf::from_rows(rows, page, |o| o.id)))
}

/// Get an organisation
#[utoipa::path(
    tag = "organisations",
    operation_id = "get_organisation",
    params(("id" = Uuid, Path, description = "The organisation's id")),
    security(("oauth2" = ["organisations:read"])),
    responses((status = 200, description = "The organisation", body = Organisation,
               headers(("ETag" = String, description = "The version, for If-Match"))))
)]
#[get("/organisations/{id}")]
pub async fn get_organisation(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<Uuid>,
) -> ApiResult<HttpResponse> {
    authorize(&caller, Action::ReadOrganisations)?;
    let mut conn = db::conn(&state.pool).await?;
    let org = Organisation::from(model::find_organisation(&mut conn, *id).await?);
    Ok(organisation_response(StatusCode::OK, &org).into_response(false))
}

/// Update an organisation
///
/// Changes an organisation's name, département or contact email (its admins or a platform
/// admin), or the commissions it is the secretariat of (a platform admin only). Kind and
/// SIRET are fixed. Requires `If-Match` with the current `ETag`.
#[utoipa::path(
    tag = "organisations",
    operation_id = "update_organisation",
    request_body = OrganisationPatch,
    params(
        ("id" = Uuid, Path, description = "The organisation's id"),
        IfMatchHeader,
    ),
    security(("oauth2" = ["accounts:write"])),
    responses(
        (status = 200, description = "Updated", body = Organisation, headers(("ETag" = String, description = "The new version"))),
    )
)]
#[patch("/organisations/{id}")]
pub async fn update_organisation(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<Uuid>,
    if_match: IfMatch,
    body: ValidJson<OrganisationPatch>,
) -> ApiResult<HttpResponse> {
    let id = id.into_inner();
    let mut conn = db::conn(&state.pool).await?;
    // Existence first (404 for nobody's organisation), then the right to change it.
    model::find_organisation(&mut conn, id).await?;
    authorize(&caller, Action::UpdateOrganisation { organisation: id })?;
    let patch = body.0;
    if patch.commissions.is_some() {
        authorize(&caller, Action::DesignateCommissions)?;
    }
    let response = db::transaction(&mut conn, async move |conn: &mut AsyncPgConnection| {
        let current = model::lock_organisation(conn, id).await?;
        if_match.check(current.version)?;
        let name = patch
            .name
            .as_deref()
            .map(str::trim)
            .unwrap_or(&current.name)
            .to_owned();
        let department_code = patch
            .department_code
            .clone()
            .unwrap_or(current.department_code.clone());
        let contact_email = patch
            .contact_email
            .as_deref()
            .map(rules::normalise_email)
            .unwrap_or(current.contact_email.clone());
        let commissions = patch
            .commissions
            .clone()
            .unwrap_or_else(|| current.commission_list());
        let errors = commission_errors(current.kind, &commissions);
        if !errors.is_empty() {
            return Err(ApiError::Validation(errors));
        }
        let same_commissions = {
            let (mut a, mut b) = (commissions.clone(), current.commission_list());
            a.sort_by_key(|c| c.as_str());
            b.sort_by_key(|c| c.as_str());
            a == b
        };
        if (&name, &department_code, &contact_email)
            == (
                &current.name,
                &current.department_code,
                &current.contact_email,
            )
            && same_commissions
        {
            return Ok(organisation_response(
                StatusCode::OK,
                &Organisation::from(current),
            ));
        }
        let row: model::OrganisationRow = diesel::update(organisations::table.find(id))
            .set((
                organisations::name.eq(name),
                organisations::department_code.eq(department_code),
                organisations::contact_email.eq(contact_email),
                organisations::commissions
                    .eq(serde_json::to_value(&commissions).map_err(ApiError::internal)?),
                crate::db::bump(organisations::version, organisations::updated_at),
            ))
            .returning(model::OrganisationRow::as_returning())
            .get_result(conn)
            .await?;
        let org = Organisation::from(row);
        organisation_event(conn, &caller, "organisation.updated", &org).await?;
        Ok::<_, ApiError>(organisation_response(StatusCode::OK, &org))
    })
    .await?;
    Ok(response.into_response(false))
}

use diesel::OptionalExtension;
