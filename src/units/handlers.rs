//! `/v1/units`: the housing units landlords hold and make available.

use actix_web::http::StatusCode;
use actix_web::{get, patch, post, web, HttpRequest, HttpResponse};
use chrono::{DateTime, NaiveDate, Utc};
use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use serde::Deserialize;
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;
use validator::Validate;

use super::model::{EnergyClass, Financing, OwnerKind, Unit, UnitRow, UnitStatus, UnitType};
use super::rules;
use crate::auth::caller::Caller;
use crate::auth::policy::{authorize, Action};
use crate::db;
use crate::error::{ApiError, ApiResult, FieldError};
use crate::http::body::{ParsedJson, ValidJson};
use crate::http::concurrency::{etag, IfMatch};
use crate::http::idempotency::{self, IdempotencyKey, StoredResponse};
use crate::http::pagination::{PageOf, PageParams};
use crate::identity::model::OrganisationKind;
use crate::schema::{agreements, units};
use crate::state::AppState;

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
    /// When the energy performance diagnosis was made: not in the future.
    pub energy_assessed_on: Option<NaiveDate>,
    /// `available` or `unavailable` (`reserved` and `occupied` come from proposals and
    /// sub-leases). A unit whose energy class may not be let today cannot be `available`.
    pub status: UnitStatus,
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

/// Changes to a unit: what is sent changes, the rest stays.
#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"rent_cents": 42000, "status": "unavailable"}))]
pub struct UnitPatch {
    #[validate(length(min = 1, max = 100))]
    #[schema(min_length = 1, max_length = 100)]
    pub holder_reference: Option<String>,
    #[validate(range(exclusive_min = 0.0, exclusive_max = 1000.0))]
    #[schema(exclusive_minimum = 0.0, exclusive_maximum = 1000.0)]
    pub area_m2: Option<f64>,
    #[validate(range(min = 0, max = 100_000_000))]
    #[schema(minimum = 0, maximum = 100_000_000)]
    pub rent_cents: Option<i64>,
    #[validate(range(min = 0, max = 100_000_000))]
    #[schema(minimum = 0, maximum = 100_000_000)]
    pub charges_cents: Option<i64>,
    pub lift: Option<bool>,
    pub accessible: Option<bool>,
    pub energy_class: Option<EnergyClass>,
    pub energy_assessed_on: Option<NaiveDate>,
    /// `available` or `unavailable`; refused for `available` when the energy class may
    /// not be let today.
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

/// The checks a unit's fields need beyond their own format: the INSEE code in the
/// postcode's département, the DPE date not in the future, the status a holder may set.
fn unit_rules(
    insee_code: &str,
    postcode: &str,
    energy_class: EnergyClass,
    energy_assessed_on: Option<NaiveDate>,
    status: UnitStatus,
    errors: &mut Vec<FieldError>,
) {
    let today = Utc::now().date_naive();
    if !rules::insee_matches_postcode(insee_code, postcode) {
        errors.push(FieldError::new(
            "insee_code",
            "not_in_postcode_department",
            "the commune's INSEE code is not in the postcode's département",
        ));
    }
    if energy_assessed_on.is_some_and(|d| d > today) {
        errors.push(FieldError::new(
            "energy_assessed_on",
            "in_future",
            "the energy diagnosis date is in the future",
        ));
    }
    match status {
        UnitStatus::Available => {
            if let Some(why) = rules::energy_refusal(energy_class, today) {
                errors.push(FieldError::new("status", "energy_class_banned", &why));
            }
        }
        UnitStatus::Unavailable => {}
        _ => errors.push(FieldError::new(
            "status",
            "not_settable",
            "`reserved` and `occupied` follow from proposals and sub-leases",
        )),
    }
}
