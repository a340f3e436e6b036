//! `/v1/units`: the housing units landlords hold and make available.

use actix_web::http::StatusCode;
use actix_web::{get, patch, post, web, HttpRequest, HttpResponse};
use chrono::{DateTime, NaiveDate, Utc};
use diesel::prelude::*;
use diesel::query_dsl::positional_order_dsl::PositionalOrderDsl;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use serde::Deserialize;
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;
use validator::Validate;

use super::model::{
    find_visible_unit, lock_unit, sublet_pairs, EnergyClass, Financing, OwnerKind, ProposalRow,
    ProposalStatus, Sight, Unit, UnitRow, UnitStatus, UnitType,
};
use super::rules;
use crate::auth::caller::Caller;
use crate::auth::policy::{authorize, Action};
use crate::db;
use crate::db::Keyset;
use crate::error::{ApiError, ApiResult, FieldError};
use crate::events::{self, NewEvent};
use crate::http::body::{ParsedJson, ValidJson};
use crate::http::concurrency::IfMatch;
use crate::http::concurrency::IfMatchHeader;
use crate::http::extractors::ListQuery;
use crate::http::idempotency::IdempotencyHeader;
use crate::http::idempotency::{self, IdempotencyKey, StoredResponse};
use crate::http::pagination::{PageOf, PageParams};
use crate::http::patch;
use crate::identity::model::OrganisationKind;
use crate::schema::{agreements, proposals, subleases, units};
use crate::state::AppState;
use crate::subleases::model::SubleaseStatus;

/// A new unit.
#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({
    "owner_kind": "social_landlord", "holder_reference": "LOT-B12",
    "address_lines": ["12 rue des Tilleuls"], "postcode": "71100", "commune": "Chalon-sur-Saône",
    "insee_code": "71076", "unit_type": "t2", "area_m2": 48.5, "floor": 2, "lift": false,
    "accessible": false, "rent_cents": 41000, "charges_cents": 6000, "financing": "plai",
    "energy_class": "d", "energy_assessed_on": "2024-03-01", "status": "available"
}))]
pub struct NewUnit {
    /// A landlord holds social units; an association registers a private owner's unit it
    /// manages under a mandate.
    pub owner_kind: OwnerKind,
    #[validate(length(min = 1, max = 100))]
    #[schema(min_length = 1, max_length = 100)]
    pub holder_reference: Option<String>,
    /// One to three lines.
    #[validate(length(min = 1, max = 3), custom(function = "validate_address_lines"))]
    #[schema(min_items = 1, max_items = 3)]
    pub address_lines: Vec<String>,
    #[validate(custom(function = "validate_postcode"))]
    #[schema(pattern = "^[0-9]{5}$")]
    pub postcode: String,
    #[validate(length(min = 1, max = 100))]
    #[schema(min_length = 1, max_length = 100)]
    pub commune: String,
    /// The commune's INSEE code, in the postcode's département (`2A`/`2B` for Corsica).
    #[validate(custom(function = "validate_insee_code"))]
    #[schema(pattern = "^([0-9]{2}|2A|2B)[0-9]{3}$")]
    pub insee_code: String,
    pub unit_type: UnitType,
    /// Living area in m², more than 0 and under 1000.
    #[validate(range(exclusive_min = 0.0, exclusive_max = 1000.0))]
    #[schema(exclusive_minimum = 0.0, exclusive_maximum = 1000.0)]
    pub area_m2: f64,
    #[validate(range(min = -5, max = 100))]
    #[schema(minimum = -5, maximum = 100)]
    pub floor: i32,
    pub lift: bool,
    pub accessible: bool,
    /// Monthly rent excluding charges, in cents.
    #[validate(range(min = 0, max = 100_000_000))]
    #[schema(minimum = 0, maximum = 100_000_000)]
    pub rent_cents: i64,
    /// Monthly charges, in cents.
    #[validate(range(min = 0, max = 100_000_000))]
    #[schema(minimum = 0, maximum = 100_000_000)]
    pub charges_cents: i64,
    pub financing: Financing,
    pub energy_class: EnergyClass,
    /// When the energy performance diagnosis was made: not in the future (`in_future`).
    #[validate(custom(function = "crate::calendar::validate_not_future"))]
    pub energy_assessed_on: Option<NaiveDate>,
    /// `available` or `unavailable` (`reserved` and `occupied` come from proposals and
    /// sub-leases: `not_settable`). A unit whose energy class may not be let today cannot be
    /// `available`.
    #[validate(custom(function = "validate_settable_status"))]
    pub status: UnitStatus,
}

/// A holder sets `available` or `unavailable`; `reserved` and `occupied` follow from
/// proposals and sub-leases (422 `not_settable`).
fn validate_settable_status(status: &UnitStatus) -> Result<(), validator::ValidationError> {
    match status {
        UnitStatus::Available | UnitStatus::Unavailable => Ok(()),
        _ => Err(validator::ValidationError::new("not_settable")
            .with_message("`reserved` and `occupied` follow from proposals and sub-leases".into())),
    }
}

fn validate_address_lines(lines: &[String]) -> Result<(), validator::ValidationError> {
    if lines
        .iter()
        .any(|l| l.trim().is_empty() || l.chars().count() > 200)
    {
        return Err(validator::ValidationError::new("address_line")
            .with_message("each address line has 1 to 200 characters".into()));
    }
    Ok(())
}

fn validate_postcode(postcode: &str) -> Result<(), validator::ValidationError> {
    if postcode.len() == 5 && postcode.bytes().all(|b| b.is_ascii_digit()) {
        Ok(())
    } else {
        Err(validator::ValidationError::new("postcode")
            .with_message("a postcode has 5 digits".into()))
    }
}

fn validate_insee_code(code: &str) -> Result<(), validator::ValidationError> {
    let b = code.as_bytes();
    let head_ok = b.len() == 5
        && ((b[0].is_ascii_digit() && b[1].is_ascii_digit())
            || (b[0] == b'2' && (b[1] == b'A' || b[1] == b'B')));
    if head_ok && b[2..].iter().all(|c| c.is_ascii_digit()) {
        Ok(())
    } else {
        Err(validator::ValidationError::new("insee_code").with_message(
            "an INSEE commune code has 5 characters: 2 digits (or 2A/2B) and 3 digits".into(),
        ))
    }
}

/// Changes to a unit, as a JSON Merge Patch (RFC 7396): an absent field stays as it is;
/// `null` clears `holder_reference` and `energy_assessed_on` and is refused (422
/// `not_nullable`) elsewhere. Sending what is stored changes nothing: same version, no event.
#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"rent_cents": 42000, "status": "unavailable"}))]
pub struct UnitPatch {
    /// Your own reference; `null` removes it.
    #[validate(length(min = 1, max = 100))]
    #[schema(value_type = Option<String>, min_length = 1, max_length = 100)]
    #[serde(default, deserialize_with = "patch::nullable")]
    pub holder_reference: Option<Option<String>>,
    #[validate(range(exclusive_min = 0.0, exclusive_max = 1000.0))]
    #[schema(nullable = false, exclusive_minimum = 0.0, exclusive_maximum = 1000.0)]
    #[serde(default, deserialize_with = "patch::not_null")]
    pub area_m2: Option<f64>,
    #[validate(range(min = 0, max = 100_000_000))]
    #[schema(nullable = false, minimum = 0, maximum = 100_000_000)]
    #[serde(default, deserialize_with = "patch::not_null")]
    pub rent_cents: Option<i64>,
    #[validate(range(min = 0, max = 100_000_000))]
    #[schema(nullable = false, minimum = 0, maximum = 100_000_000)]
    #[serde(default, deserialize_with = "patch::not_null")]
    pub charges_cents: Option<i64>,
    #[schema(nullable = false)]
    #[serde(default, deserialize_with = "patch::not_null")]
    pub lift: Option<bool>,
    #[schema(nullable = false)]
    #[serde(default, deserialize_with = "patch::not_null")]
    pub accessible: Option<bool>,
    #[schema(nullable = false)]
    #[serde(default, deserialize_with = "patch::not_null")]
    pub energy_class: Option<EnergyClass>,
    /// When the energy class was assessed: not in the future (`in_future`); `null` removes
    /// it.
    #[validate(custom(function = "crate::calendar::validate_not_future"))]
    #[schema(value_type = Option<NaiveDate>)]
    #[serde(default, deserialize_with = "patch::nullable")]
    pub energy_assessed_on: Option<Option<NaiveDate>>,
    /// `available` or `unavailable` (`not_settable` otherwise); refused for `available`
    /// when the energy class may not be let today.
    #[validate(custom(function = "validate_settable_status"))]
    #[schema(nullable = false)]
    #[serde(default, deserialize_with = "patch::not_null")]
    pub status: Option<UnitStatus>,
}

/// Search filters of `GET /v1/units`.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct UnitFilters {
    /// The commune's INSEE code.
    #[param(pattern = "^([0-9]{2}|2A|2B)[0-9]{3}$")]
    pub insee_code: Option<String>,
    #[param(pattern = "^[0-9]{5}$")]
    pub postcode: Option<String>,
    pub unit_type: Option<UnitType>,
    /// At least this many m².
    pub min_area_m2: Option<f64>,
    /// Rent plus charges at most this many cents.
    pub max_total_rent_cents: Option<i64>,
    pub accessible: Option<bool>,
    pub lift: Option<bool>,
    pub status: Option<UnitStatus>,
    pub agreement_id: Option<Uuid>,
    /// Only units changed at or after this instant.
    pub updated_since: Option<DateTime<Utc>>,
}

/// The checks a unit needs across its fields: the INSEE code consistent with the postcode
/// (`reference::postcodes::mismatch`), and no `available` unit whose energy class may not be
/// let today (`rules::energy_refusal`). Checked once every field reads.
fn unit_rules(
    insee_code: &str,
    postcode: &str,
    energy_class: EnergyClass,
    status: UnitStatus,
    errors: &mut Vec<FieldError>,
) {
    // A malformed code or postcode is reported by its own format rule.
    let well_formed =
        validate_insee_code(insee_code).is_ok() && validate_postcode(postcode).is_ok();
    if let Some((code, message)) = well_formed
        .then(|| crate::reference::postcodes::mismatch(insee_code, postcode))
        .flatten()
    {
        errors.push(FieldError::new("insee_code", code, message));
    }
    if status == UnitStatus::Available {
        if let Some(why) = rules::energy_refusal(energy_class, crate::calendar::today()) {
            errors.push(FieldError::new("status", "energy_class_banned", &why));
        }
    }
}

fn unit_response(status: StatusCode, unit: &Unit) -> StoredResponse {
    StoredResponse::versioned(status, unit, unit.version)
}

/// The organisations told about a change of a unit: its holder and the association of its
/// agreement.
async fn unit_audience(conn: &mut AsyncPgConnection, row: &UnitRow) -> Result<Vec<Uuid>, ApiError> {
    let mut to = vec![row.holder_organisation_id];
    if let Some(agreement) = row.agreement_id {
        to.push(
            agreements::table
                .find(agreement)
                .select(agreements::association_organisation_id)
                .first(conn)
                .await?,
        );
    }
    Ok(to)
}

/// Tells the unit's audience that it changed (`unit.<what>`); ids and status only.
pub async fn unit_event(
    conn: &mut AsyncPgConnection,
    caller: Option<&Caller>,
    event_type: &'static str,
    row: &UnitRow,
) -> Result<(), ApiError> {
    let recipients = unit_audience(conn, row).await?;
    events::append(
        conn,
        caller,
        NewEvent {
            event_type,
            subject_type: "unit",
            subject_id: row.id,
            data: events::data(&crate::events::catalogue::UnitEventData::from(row))?,
            recipients,
            for_platform: false,
        },
    )
    .await
}

/// Sets a unit's status as its proposals and sub-leases require (`reserved`, `occupied`,
/// back to `available`), with its event.
pub async fn set_unit_status(
    conn: &mut AsyncPgConnection,
    caller: Option<&Caller>,
    unit: Uuid,
    status: UnitStatus,
) -> Result<UnitRow, ApiError> {
    let row: UnitRow = diesel::update(units::table.find(unit))
        .set((
            units::status.eq(status),
            crate::db::bump(units::version, units::updated_at),
        ))
        .returning(UnitRow::as_returning())
        .get_result(conn)
        .await?;
    unit_event(conn, caller, "unit.status_changed", &row).await?;
    Ok(row)
}

/// A unit's status once what kept it has let it go (a sub-lease ended, a proposal accepted
/// for it withdrawn): `reserved` while a sub-lease is planned on it or a household's accepted
/// proposal has no sub-lease yet, `available` otherwise (`unavailable` when its energy class
/// may no longer be let from `today`). A unit occupied or put `unavailable` by its holder is
/// left as it is.
pub async fn release_unit(
    conn: &mut AsyncPgConnection,
    caller: &Caller,
    unit_id: Uuid,
    today: NaiveDate,
) -> Result<(), ApiError> {
    let unit = lock_unit(conn, unit_id).await?;
    let others: Vec<SubleaseStatus> = subleases::table
        .filter(subleases::unit_id.eq(unit_id))
        .filter(subleases::status.eq_any([SubleaseStatus::Planned, SubleaseStatus::Active]))
        .select(subleases::status)
        .load(conn)
        .await?;
    if others.contains(&SubleaseStatus::Active) || unit.status == UnitStatus::Unavailable {
        return Ok(());
    }
    let accepted: Vec<ProposalRow> = proposals::table
        .filter(proposals::unit_id.eq(unit_id))
        .filter(proposals::status.eq(ProposalStatus::Accepted))
        .select(ProposalRow::as_select())
        .load(conn)
        .await?;
    let sublet = sublet_pairs(conn, &accepted).await?;
    let kept_for_a_household = accepted
        .iter()
        .any(|p| !sublet.contains(&(p.unit_id, p.household_id)));
    let status = if !others.is_empty() || kept_for_a_household {
        UnitStatus::Reserved
    } else if rules::energy_refusal(unit.energy_class, today).is_some() {
        UnitStatus::Unavailable
    } else {
        UnitStatus::Available
    };
    if status != unit.status {
        set_unit_status(conn, Some(caller), unit_id, status).await?;
    }
    Ok(())
}

/// Register a unit
///
/// A landlord registers its social units (`owner_kind` `social_landlord`); an association
/// registers a private owner's unit it manages under a mandate (`private_owner`). A unit
/// whose energy class may not be let on a lease starting today cannot be `available`
/// (G from 2025-01-01, F from 2028-01-01, E from 2034-01-01).
#[utoipa::path(
    tag = "units",
    operation_id = "create_unit",
    request_body = NewUnit,
    params(IdempotencyHeader),
    security(("oauth2" = ["housing:write"])),
    responses((status = 201, description = "Registered", body = Unit,
               headers(("ETag" = String, description = "The version, for If-Match"), ("Location" = String, description = "The new unit"))))
)]
#[post("/units")]
pub async fn create_unit(
    state: web::Data<AppState>,
    caller: Caller,
    req: HttpRequest,
    key: IdempotencyKey,
    body: ParsedJson<NewUnit>,
) -> ApiResult<HttpResponse> {
    authorize(&caller, Action::WriteHousing)?;
    let org = caller.partner_organisation()?;
    let Some(expected_owner) = rules::registers_units_of(caller.organisation_kind) else {
        return Err(ApiError::Forbidden(
            "units are registered by landlords, and by associations for the private owners' units they manage".into(),
        ));
    };
    let mut errors = body.field_errors();
    let ParsedJson(new, raw) = body;
    if new.owner_kind != expected_owner {
        errors.push(FieldError::new(
            "owner_kind",
            "not_for_your_organisation",
            match expected_owner {
                OwnerKind::SocialLandlord => {
                    "a landlord registers its own units: `social_landlord`"
                }
                OwnerKind::PrivateOwner => {
                    "an association registers a private owner's unit it manages: `private_owner`"
                }
            },
        ));
    }
    unit_rules(
        &new.insee_code,
        &new.postcode,
        new.energy_class,
        new.status,
        &mut errors,
    );
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
            let lines: Vec<String> = new
                .address_lines
                .iter()
                .map(|l| l.trim().to_string())
                .collect();
            let row: UnitRow = diesel::insert_into(units::table)
                .values((
                    units::id.eq(Uuid::now_v7()),
                    units::holder_organisation_id.eq(org),
                    units::owner_kind.eq(new.owner_kind),
                    units::holder_reference.eq(&new.holder_reference),
                    units::address_lines.eq(serde_json::json!(lines)),
                    units::postcode.eq(&new.postcode),
                    units::commune.eq(new.commune.trim()),
                    units::insee_code.eq(&new.insee_code),
                    units::unit_type.eq(new.unit_type),
                    units::area_m2.eq(new.area_m2),
                    units::floor.eq(new.floor),
                    units::lift.eq(new.lift),
                    units::accessible.eq(new.accessible),
                    units::rent_cents.eq(new.rent_cents),
                    units::charges_cents.eq(new.charges_cents),
                    units::financing.eq(new.financing),
                    units::energy_class.eq(new.energy_class),
                    units::energy_assessed_on.eq(new.energy_assessed_on),
                    units::status.eq(new.status),
                ))
                .returning(UnitRow::as_returning())
                .get_result(conn)
                .await?;
            unit_event(conn, Some(&caller), "unit.created", &row).await?;
            let id = row.id;
            Ok(unit_response(StatusCode::CREATED, &Unit::view(row, org))
                .header("location", format!("/v1/units/{id}")))
        },
    )
    .await
}

/// Get a unit
///
/// A unit your organisation holds, sees through an active agreement, or sub-lets.
#[utoipa::path(
    tag = "units",
    operation_id = "get_unit",
    params(("id" = Uuid, Path, description = "The unit's id")),
    security(("oauth2" = ["housing:read"])),
    responses((status = 200, description = "The unit", body = Unit, headers(("ETag" = String, description = "The version, for If-Match"))))
)]
#[get("/units/{id}")]
pub async fn get_unit(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<Uuid>,
) -> ApiResult<HttpResponse> {
    authorize(&caller, Action::ReadHousing)?;
    let org = caller.partner_organisation()?;
    let mut conn = db::conn(&state.pool).await?;
    let row = find_visible_unit(&mut conn, org, id.into_inner(), false).await?;
    Ok(unit_response(StatusCode::OK, &Unit::view(row, org)).into_response(false))
}

/// Update a unit
///
/// Its holder changes what it sends. `status` may be set to `available` or `unavailable`,
/// except on a unit `occupied` or `reserved` for a planned sub-lease: those follow the
/// sub-leases (409). A reservation from an accepted proposal alone may be lifted.
/// Requires `If-Match`.
#[utoipa::path(
    tag = "units",
    operation_id = "update_unit",
    request_body = UnitPatch,
    params(
        ("id" = Uuid, Path, description = "The unit's id"),
        IfMatchHeader,
    ),
    security(("oauth2" = ["housing:write"])),
    responses(
        (status = 200, description = "Updated", body = Unit, headers(("ETag" = String, description = "The new version"))),
        (status = 409, description = "The unit is occupied or reserved for a planned sub-lease: its status follows its sub-leases", body = crate::error::Problem, content_type = "application/problem+json"),
    )
)]
#[patch("/units/{id}")]
pub async fn update_unit(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<Uuid>,
    if_match: IfMatch,
    body: ValidJson<UnitPatch>,
) -> ApiResult<HttpResponse> {
    authorize(&caller, Action::WriteHousing)?;
    let org = caller.partner_organisation()?;
    let patch = body.0;
    let id = id.into_inner();
    let mut conn = db::conn(&state.pool).await?;
    let view = db::transaction(&mut conn, async |conn: &mut AsyncPgConnection| {
        let current = find_visible_unit(conn, org, id, true).await?;
        if current.holder_organisation_id != org {
            return Err(ApiError::Forbidden(
                "only the unit's holder changes it".into(),
            ));
        }
        if_match.check(current.version)?;
        let status = patch.status.unwrap_or(current.status);
        // An occupied unit, or one reserved for a planned sub-lease, follows its sub-leases;
        // a reservation from an accepted proposal alone is the landlord's to lift.
        let follows_cases = match current.status {
            UnitStatus::Occupied => true,
            UnitStatus::Reserved => {
                diesel::select(diesel::dsl::exists(
                    subleases::table
                        .filter(subleases::unit_id.eq(current.id))
                        .filter(subleases::status.eq(SubleaseStatus::Planned)),
                ))
                .get_result(conn)
                .await?
            }
            _ => false,
        };
        if follows_cases && status != current.status {
            let mut ext = serde_json::Map::new();
            ext.insert("current_status".into(), current.status.as_str().into());
            return Err(ApiError::Conflict {
                detail: format!(
                    "the unit is {}: its status follows its proposals and sub-leases",
                    current.status
                ),
                extensions: ext,
            });
        }
        let energy_class = patch.energy_class.unwrap_or(current.energy_class);
        let assessed = patch::merge(&patch.energy_assessed_on, &current.energy_assessed_on);
        let mut errors = Vec::new();
        if !follows_cases {
            unit_rules(
                &current.insee_code,
                &current.postcode,
                energy_class,
                status,
                &mut errors,
            );
        }
        if !errors.is_empty() {
            return Err(ApiError::Validation(errors));
        }
        let merged = (
            patch::merge(&patch.holder_reference, &current.holder_reference),
            patch.area_m2.unwrap_or(current.area_m2),
            patch.rent_cents.unwrap_or(current.rent_cents),
            patch.charges_cents.unwrap_or(current.charges_cents),
            patch.lift.unwrap_or(current.lift),
            patch.accessible.unwrap_or(current.accessible),
            energy_class,
            assessed,
            status,
        );
        let stored = (
            current.holder_reference.clone(),
            current.area_m2,
            current.rent_cents,
            current.charges_cents,
            current.lift,
            current.accessible,
            current.energy_class,
            current.energy_assessed_on,
            current.status,
        );
        if merged == stored {
            return Ok(Unit::view(current, org));
        }
        let (holder_reference, area_m2, rent_cents, charges_cents, lift, accessible, ..) = merged;
        let row: UnitRow = diesel::update(units::table.find(current.id))
            .set((
                units::holder_reference.eq(holder_reference),
                units::area_m2.eq(area_m2),
                units::rent_cents.eq(rent_cents),
                units::charges_cents.eq(charges_cents),
                units::lift.eq(lift),
                units::accessible.eq(accessible),
                units::energy_class.eq(energy_class),
                units::energy_assessed_on.eq(assessed),
                units::status.eq(status),
                crate::db::bump(units::version, units::updated_at),
            ))
            .returning(UnitRow::as_returning())
            .get_result(conn)
            .await?;
        unit_event(conn, Some(&caller), "unit.updated", &row).await?;
        Ok(Unit::view(row, org))
    })
    .await?;
    Ok(unit_response(StatusCode::OK, &view).into_response(false))
}

/// Search units
///
/// The units your organisation sees (held, made available through an active agreement, or
/// sub-let), by id, with the filters given.
#[utoipa::path(
    tag = "units",
    operation_id = "list_units",
    params(UnitFilters, PageParams),
    security(("oauth2" = ["housing:read"])),
    responses((status = 200, description = "A page of units", body = PageOf<Unit>))
)]
#[get("/units")]
pub async fn list_units(
    state: web::Data<AppState>,
    caller: Caller,
    query: ListQuery<UnitFilters>,
) -> ApiResult<HttpResponse> {
    let ListQuery { filters, page } = query;
    authorize(&caller, Action::ReadHousing)?;
    let org = caller.partner_organisation()?;
    let page = page.page()?;
    if let Some(code) = &filters.insee_code {
        validate_insee_code(code).map_err(|_| {
            ApiError::bad_request(
                "insee_code",
                "pattern",
                "an INSEE commune code has 5 characters: 2 digits (or 2A/2B) and 3 digits",
            )
        })?;
    }
    if let Some(postcode) = &filters.postcode {
        validate_postcode(postcode)
            .map_err(|_| ApiError::bad_request("postcode", "pattern", "a postcode has 5 digits"))?;
    }
    // One page of the units seen one way, in id order: each way has its own index, so the
    // union of the three reads a page's worth of rows whatever the table holds.
    let seen = |sight: Sight| {
        let mut q = units::table
            .filter(sight.of(org))
            .select(UnitRow::as_select())
            .into_boxed();
        if let Some(code) = &filters.insee_code {
            q = q.filter(units::insee_code.eq(code.clone()));
        }
        if let Some(postcode) = &filters.postcode {
            q = q.filter(units::postcode.eq(postcode.clone()));
        }
        if let Some(t) = filters.unit_type {
            q = q.filter(units::unit_type.eq(t));
        }
        if let Some(area) = filters.min_area_m2 {
            q = q.filter(units::area_m2.ge(area));
        }
        if let Some(max) = filters.max_total_rent_cents {
            q = q.filter((units::rent_cents + units::charges_cents).le(max));
        }
        if let Some(a) = filters.accessible {
            q = q.filter(units::accessible.eq(a));
        }
        if let Some(l) = filters.lift {
            q = q.filter(units::lift.eq(l));
        }
        if let Some(s) = filters.status {
            q = q.filter(units::status.eq(s));
        }
        if let Some(a) = filters.agreement_id {
            q = q.filter(units::agreement_id.eq(a));
        }
        if let Some(since) = filters.updated_since {
            q = q.filter(units::updated_at.ge(since));
        }
        q.keyset(units::id, page)
    };
    let mut conn = db::conn(&state.pool).await?;
    let rows: Vec<UnitRow> = if caller.organisation_kind == Some(OrganisationKind::Association) {
        let [held, by_agreement, sublet] = Sight::ALL.map(seen);
        // UNION, not UNION ALL: a unit seen two ways comes once. Column 1 is the id.
        held.union(by_agreement)
            .union(sublet)
            .positional_order_by(1)
            .limit(page.fetch_limit())
            .load(&mut conn)
            .await?
    } else {
        // Only an association is the association of an agreement (422 otherwise) or the
        // main tenant of a sub-lease (403 otherwise): anyone else sees the units it holds.
        seen(Sight::Holder).load(&mut conn).await?
    };
    let (rows, more) = page.split(rows);
    let views = rows.into_iter().map(|r| Unit::view(r, org)).collect();
    Ok(HttpResponse::Ok().json(PageOf::new(views, more, |v: &Unit| v.id)))
}
