//! Every time a household becomes visible to an organisation that did not see it: the one
//! sharing rule applied ([`crate::auth::policy::sharing_basis`]) and its record, kept for
//! the data protection officer (who shared it with whom, through which case, on which
//! basis: consent, or a commission's mandate with its decision).
//!
//! The paths that share a household: a referral (to its addressee), a transfer (to the new
//! operator, on behalf of the referrer), a proposal and a sub-lease (to the unit's
//! landlord), a measure's funder (named by the operator, or by the programme it is put
//! under). An organisation that already sees the household (it created it, or is a party of
//! one of its referrals) is not shared it again.

use chrono::{DateTime, NaiveDate, Utc};
use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use serde::Serialize;
use utoipa::ToSchema;
use uuid::Uuid;

use super::model::HouseholdRow;
use super::queries::visible_to;
use crate::auth::policy::{sharing_basis, SharingBasis};
use crate::error::{ApiError, FieldError};
use crate::identity::model::{CommissionKind, Mandate, OrganisationRow};
use crate::schema::{household_sharings, households, organisations};
use crate::text_enum;

text_enum! {
    /// The path by which a household was shared.
    pub enum SharingPath {
        /// A referral, to its addressee.
        Referral = "referral",
        /// A referral transferred to another operator, on behalf of its referrer.
        Transfer = "transfer",
        /// A unit proposed to the household, to the unit's landlord.
        Proposal = "proposal",
        /// A sub-lease, to the unit's landlord.
        Sublease = "sublease",
        /// A measure's funder, named by its operator or by the programme it is put under.
        MeasureFunder = "measure_funder",
    }
}

text_enum! {
    /// What a sharing relied on.
    pub enum SharingBasisKind {
        /// The household's consent to sharing, in force.
        Consent = "consent",
        /// A commission's mandate: its decision is recorded with it.
        Mandate = "mandate",
    }
}

/// A sharing to record.
pub struct Sharing<'a> {
    pub household: Uuid,
    /// The organisation that now sees it.
    pub to: Uuid,
    /// The organisation on whose behalf it is shared.
    pub by: Uuid,
    pub actor: Option<Uuid>,
    pub path: SharingPath,
    pub case_id: Uuid,
    pub basis: &'a SharingBasis,
}

/// Records a sharing, in the transaction of the change that shares.
pub async fn record(conn: &mut AsyncPgConnection, s: Sharing<'_>) -> Result<(), ApiError> {
    let (kind, mandate) = match s.basis {
        SharingBasis::Consent => (SharingBasisKind::Consent, None),
        SharingBasis::Mandate(m) => (SharingBasisKind::Mandate, Some(m)),
    };
    diesel::insert_into(household_sharings::table)
        .values((
            household_sharings::id.eq(Uuid::now_v7()),
            household_sharings::household_id.eq(s.household),
            household_sharings::organisation_id.eq(s.to),
            household_sharings::shared_by_organisation_id.eq(s.by),
            household_sharings::actor_account_id.eq(s.actor),
            household_sharings::path.eq(s.path),
            household_sharings::case_id.eq(s.case_id),
            household_sharings::basis.eq(kind),
            household_sharings::commission.eq(mandate.map(|m| m.commission)),
            household_sharings::decision_reference.eq(mandate.map(|m| m.decision_reference.trim())),
            household_sharings::decided_on.eq(mandate.map(|m| m.decided_on)),
            household_sharings::shared_at.eq(crate::calendar::now()),
        ))
        .execute(conn)
        .await?;
    Ok(())
}

/// Records a sharing unless its receiver already sees the household (it created it, or is
/// a party of one of its referrals): a landlord proposed its own tenant is shared nothing.
pub async fn share_if_new(conn: &mut AsyncPgConnection, s: Sharing<'_>) -> Result<(), ApiError> {
    if already_sees(conn, s.to, s.household).await? {
        return Ok(());
    }
    record(conn, s).await
}

/// Whether the organisation already sees the household (no sharing needed).
pub async fn already_sees(
    conn: &mut AsyncPgConnection,
    org: Uuid,
    household: Uuid,
) -> Result<bool, ApiError> {
    Ok(diesel::select(diesel::dsl::exists(
        households::table
            .filter(households::id.eq(household))
            .filter(visible_to(org)),
    ))
    .get_result(conn)
    .await?)
}

/// The commissions an organisation is the secretariat of.
pub async fn commissions_of(
    conn: &mut AsyncPgConnection,
    org: Uuid,
) -> Result<Vec<CommissionKind>, ApiError> {
    let row: OrganisationRow = organisations::table
        .find(org)
        .select(OrganisationRow::as_select())
        .first(conn)
        .await?;
    Ok(row.commission_list())
}

/// Of these households, those whose consent to sharing is in force.
pub async fn consenting(conn: &mut AsyncPgConnection, ids: &[Uuid]) -> Result<Vec<Uuid>, ApiError> {
    Ok(households::table
        .filter(households::id.eq_any(ids))
        .filter(households::consent_given_on.is_not_null())
        .filter(households::consent_withdrawn_at.is_null())
        .select(households::id)
        .load(conn)
        .await?)
}

/// The commissions each of these organisations is the secretariat of.
pub async fn commissions_of_all(
    conn: &mut AsyncPgConnection,
    orgs: &[Uuid],
) -> Result<std::collections::HashMap<Uuid, Vec<CommissionKind>>, ApiError> {
    let rows: Vec<OrganisationRow> = organisations::table
        .filter(organisations::id.eq_any(orgs))
        .select(OrganisationRow::as_select())
        .load(conn)
        .await?;
    Ok(rows
        .into_iter()
        .map(|o| (o.id, o.commission_list()))
        .collect())
}

/// The basis on which `by` may share the household, or the refusal as a field error on
/// `field` (`consent_required`, `not_your_commission`).
pub async fn basis(
    conn: &mut AsyncPgConnection,
    by: Uuid,
    household: &HouseholdRow,
    mandate: Option<&Mandate>,
    field: &str,
    errors: &mut Vec<FieldError>,
) -> Result<Option<SharingBasis>, ApiError> {
    let held = commissions_of(conn, by).await?;
    match sharing_basis(household.consent_in_force(), mandate, &held) {
        Ok(b) => Ok(Some(b)),
        Err(refusal) => {
            errors.push(FieldError::new(field, refusal.code(), refusal.message()));
            Ok(None)
        }
    }
}

/// What naming `funder` as a measure's funder shares, checked on behalf of the operator
/// `by`: the funder must cover the household's territory (`outside_territory` on `field`:
/// its département is the household's); if it does not see the household yet, the sharing
/// rule applies (consent in force; an operator holds no mandate for a funder). `None`: no
/// sharing (it already sees the household), or an error was pushed.
pub async fn to_funder(
    conn: &mut AsyncPgConnection,
    by: Uuid,
    household: &HouseholdRow,
    funder: &OrganisationRow,
    field: &str,
    errors: &mut Vec<FieldError>,
) -> Result<Option<SharingBasis>, ApiError> {
    if funder.department_code != household.department_code {
        errors.push(FieldError::new(
            field,
            "outside_territory",
            format!(
                "the funder's département is {}, the household's {}: a funder covers the \
                 households of its territory",
                funder.department_code, household.department_code
            ),
        ));
        return Ok(None);
    }
    if already_sees(conn, funder.id, household.id).await? {
        return Ok(None);
    }
    basis(conn, by, household, None, field, errors).await
}

/// A sharing of a household, as the data protection officer sees it.
#[derive(Debug, Clone, Serialize, ToSchema, Queryable, Selectable)]
#[diesel(table_name = household_sharings)]
#[schema(example = json!({
    "id": "0193a5e0-0000-7000-8000-000000000001", "household_id": "0193a5d0-0000-7000-8000-000000000001",
    "organisation_id": "0193a5c2-0000-7000-8000-0000000000cc", "shared_by_organisation_id": "0193a5c2-0000-7000-8000-0000000000dd",
    "actor_account_id": "0193a5c2-0000-7000-8000-0000000000de", "path": "referral",
    "case_id": "0193a5e1-0000-7000-8000-000000000001", "basis": "mandate", "commission": "ccapex",
    "decision_reference": "CCAPEX-53-2026-0412", "decided_on": "2026-11-18", "shared_at": "2026-11-20T10:12:00Z"
}))]
pub struct HouseholdSharing {
    pub id: Uuid,
    pub household_id: Uuid,
    /// The organisation that now sees the household.
    pub organisation_id: Uuid,
    /// The organisation on whose behalf it was shared.
    pub shared_by_organisation_id: Uuid,
    /// Who acted (none: the service).
    pub actor_account_id: Option<Uuid>,
    pub path: SharingPath,
    /// The referral, proposal, sub-lease or measure that shared it.
    pub case_id: Uuid,
    pub basis: SharingBasisKind,
    /// `mandate`: the commission that decided.
    pub commission: Option<CommissionKind>,
    /// `mandate`: the commission's decision reference.
    pub decision_reference: Option<String>,
    /// `mandate`: the day the commission decided.
    pub decided_on: Option<NaiveDate>,
    pub shared_at: DateTime<Utc>,
}

/// A household's sharings, oldest first; those that involve `org` (shared by or with it)
/// when given, all of them otherwise.
pub async fn of_household(
    conn: &mut AsyncPgConnection,
    household: Uuid,
    involving: Option<Uuid>,
) -> Result<Vec<HouseholdSharing>, ApiError> {
    let mut q = household_sharings::table
        .filter(household_sharings::household_id.eq(household))
        .select(HouseholdSharing::as_select())
        .into_boxed();
    if let Some(org) = involving {
        q = q.filter(
            household_sharings::organisation_id
                .eq(org)
                .or(household_sharings::shared_by_organisation_id.eq(org)),
        );
    }
    Ok(q.order((
        household_sharings::shared_at.asc(),
        household_sharings::id.asc(),
    ))
    .load(conn)
    .await?)
}

/// The household `id` that the caller's organisation would show to another one (a
/// referral's addressee, a unit's landlord), if it sees it and may share it: the one
/// sharing rule on the caller's behalf ([`crate::auth::policy::sharing_basis`]: its
/// consent in force, or the `mandate` of a commission the caller's organisation holds).
/// Otherwise `None`, with the reason pushed to `errors` on `field` (`unknown_household`)
/// or on `mandate_field` (`consent_required`, `not_your_commission`).
pub async fn find_to_share(
    conn: &mut AsyncPgConnection,
    caller: &crate::auth::caller::Caller,
    id: Uuid,
    mandate: Option<&crate::identity::model::Mandate>,
    (field, mandate_field): (&str, &str),
    errors: &mut Vec<crate::error::FieldError>,
) -> Result<Option<(HouseholdRow, crate::auth::policy::SharingBasis)>, ApiError> {
    use crate::error::FieldError;
    let org = caller.partner_organisation()?;
    let household: Option<HouseholdRow> = households::table
        .filter(households::id.eq(id))
        .filter(visible_to(org))
        .select(HouseholdRow::as_select())
        .first(conn)
        .await
        .optional()?;
    let Some(household) = household else {
        errors.push(FieldError::new(
            field,
            "unknown_household",
            "no household your organisation sees has this id",
        ));
        return Ok(None);
    };
    let field = if mandate.is_some() {
        mandate_field
    } else {
        field
    };
    Ok(basis(conn, org, &household, mandate, field, errors)
        .await?
        .map(|b| (household, b)))
}
