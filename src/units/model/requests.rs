//! What partners send about units, agreements and proposals: the request bodies, the list
//! filters, and the rules of their fields.

use chrono::{DateTime, NaiveDate, Utc};
use serde::Deserialize;
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;
use validator::Validate;

use super::{
    AgreementKind, AgreementStatus, EnergyClass, Financing, OwnerKind, ProposalDeclineReason,
    ProposalStatus, UnitStatus, UnitType,
};
use crate::fields::validate_not_blank;
use crate::http::patch;

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
pub fn validate_settable_status(status: &UnitStatus) -> Result<(), validator::ValidationError> {
    match status {
        UnitStatus::Available | UnitStatus::Unavailable => Ok(()),
        _ => Err(validator::ValidationError::new("not_settable")
            .with_message("`reserved` and `occupied` follow from proposals and sub-leases".into())),
    }
}

pub fn validate_address_lines(lines: &[String]) -> Result<(), validator::ValidationError> {
    if lines
        .iter()
        .any(|l| l.trim().is_empty() || l.chars().count() > 200)
    {
        return Err(validator::ValidationError::new("address_line")
            .with_message("each address line has 1 to 200 characters".into()));
    }
    Ok(())
}

pub fn validate_postcode(postcode: &str) -> Result<(), validator::ValidationError> {
    if postcode.len() == 5 && postcode.bytes().all(|b| b.is_ascii_digit()) {
        Ok(())
    } else {
        Err(validator::ValidationError::new("postcode")
            .with_message("a postcode has 5 digits".into()))
    }
}

pub fn validate_insee_code(code: &str) -> Result<(), validator::ValidationError> {
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
