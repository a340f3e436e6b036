//! The use cases of units, each inside the transaction its caller gives: register, read,
//! change, search.

use diesel_async::AsyncPgConnection;
use uuid::Uuid;

use super::super::model::{
    validate_insee_code, validate_postcode, EnergyClass, NewUnit, OwnerKind, Unit, UnitFilters,
    UnitPatch, UnitStatus,
};
use super::super::queries::{self, find_visible_unit, NewUnitRow, UnitChanges};
use super::super::rules;
use super::unit_event;
use crate::auth::caller::Caller;
use crate::db::Page;
use crate::error::{ApiError, FieldError};
use crate::http::concurrency::IfMatch;
use crate::http::pagination::PageOf;
use crate::http::patch;
use crate::identity::model::OrganisationKind;

/// The checks a unit needs across its fields: the INSEE code consistent with the postcode
/// (`reference::postcodes::mismatch`), and no `available` unit whose energy class may not be
/// let today (`rules::energy_refusal`). Checked once every field reads.
pub fn unit_rules(
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

/// What a new unit must be besides its fields' own rules: its owner kind the one the
/// caller's organisation registers (403 for an organisation that registers none), the
/// INSEE code in the postcode's département, its energy class lettable if `available`.
/// Reported with `errors` (the body's field rules), 422.
pub fn check_new(
    caller: &Caller,
    new: &NewUnit,
    mut errors: Vec<FieldError>,
) -> Result<(), ApiError> {
    let Some(expected_owner) = rules::registers_units_of(caller.organisation_kind) else {
        return Err(ApiError::Forbidden(
            "units are registered by landlords, and by associations for the private owners' \
             units they manage"
                .into(),
        ));
    };
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
    if errors.is_empty() {
        Ok(())
    } else {
        Err(ApiError::Validation(errors))
    }
}

/// Registers a unit checked by [`check_new`], held by the caller's organisation.
pub async fn create(
    conn: &mut AsyncPgConnection,
    caller: &Caller,
    new: &NewUnit,
) -> Result<Unit, ApiError> {
    let org = caller.partner_organisation()?;
    let lines: Vec<String> = new
        .address_lines
        .iter()
        .map(|l| l.trim().to_string())
        .collect();
    let row = queries::insert(
        conn,
        NewUnitRow {
            id: Uuid::now_v7(),
            holder_organisation_id: org,
            owner_kind: new.owner_kind,
            holder_reference: new.holder_reference.as_deref(),
            address_lines: serde_json::json!(lines),
            postcode: &new.postcode,
            commune: new.commune.trim(),
            insee_code: &new.insee_code,
            unit_type: new.unit_type,
            area_m2: new.area_m2,
            floor: new.floor,
            lift: new.lift,
            accessible: new.accessible,
            rent_cents: new.rent_cents,
            charges_cents: new.charges_cents,
            financing: new.financing,
            energy_class: new.energy_class,
            energy_assessed_on: new.energy_assessed_on,
            status: new.status,
        },
    )
    .await?;
    unit_event(conn, Some(caller), "unit.created", &row).await?;
    Ok(Unit::view(row, org))
}

/// A unit the caller's organisation holds, sees through an active agreement, or sub-lets
/// (404 otherwise).
pub async fn get(
    conn: &mut AsyncPgConnection,
    caller: &Caller,
    id: Uuid,
) -> Result<Unit, ApiError> {
    let org = caller.partner_organisation()?;
    let row = find_visible_unit(conn, org, id, false).await?;
    Ok(Unit::view(row, org))
}

/// Applies the holder's merge patch: 403 for another organisation, 412 on another version,
/// 409 when the status follows the unit's cases (occupied, or reserved for a planned
/// sub-lease). Sending what is stored changes nothing: same version, no event.
pub async fn update(
    conn: &mut AsyncPgConnection,
    caller: &Caller,
    id: Uuid,
    if_match: &IfMatch,
    patch: &UnitPatch,
) -> Result<Unit, ApiError> {
    let org = caller.partner_organisation()?;
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
        UnitStatus::Reserved => queries::has_planned_sublease(conn, current.id).await?,
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
    let energy_class: EnergyClass = patch.energy_class.unwrap_or(current.energy_class);
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
    let merged = UnitChanges {
        holder_reference: patch::merge(&patch.holder_reference, &current.holder_reference),
        area_m2: patch.area_m2.unwrap_or(current.area_m2),
        rent_cents: patch.rent_cents.unwrap_or(current.rent_cents),
        charges_cents: patch.charges_cents.unwrap_or(current.charges_cents),
        lift: patch.lift.unwrap_or(current.lift),
        accessible: patch.accessible.unwrap_or(current.accessible),
        energy_class,
        energy_assessed_on: patch::merge(&patch.energy_assessed_on, &current.energy_assessed_on),
        status,
    };
    let stored = UnitChanges {
        holder_reference: current.holder_reference.clone(),
        area_m2: current.area_m2,
        rent_cents: current.rent_cents,
        charges_cents: current.charges_cents,
        lift: current.lift,
        accessible: current.accessible,
        energy_class: current.energy_class,
        energy_assessed_on: current.energy_assessed_on,
        status: current.status,
    };
    if merged == stored {
        return Ok(Unit::view(current, org));
    }
    let row = queries::update(conn, current.id, &merged).await?;
    unit_event(conn, Some(caller), "unit.updated", &row).await?;
    Ok(Unit::view(row, org))
}

/// The filters' own forms, checked before any read (400 naming the parameter).
pub fn check_filters(filters: &UnitFilters) -> Result<(), ApiError> {
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
    Ok(())
}

/// A page of the units the caller's organisation sees, as filtered. Only an association
/// sees units through an agreement or a sub-lease; anyone else sees the units it holds.
pub async fn list(
    conn: &mut AsyncPgConnection,
    caller: &Caller,
    filters: &UnitFilters,
    page: Page,
) -> Result<PageOf<Unit>, ApiError> {
    let org = caller.partner_organisation()?;
    let every_way = caller.organisation_kind == Some(OrganisationKind::Association);
    let rows = queries::list(conn, org, filters, page, every_way).await?;
    let (rows, more) = page.split(rows);
    let views = rows.into_iter().map(|r| Unit::view(r, org)).collect();
    Ok(PageOf::new(views, more, |v: &Unit| v.id))
}
