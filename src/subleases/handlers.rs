//! `/v1/subleases`: the main tenant plans a sub-lease of a unit to a household; the
//! household moves in, the lease glides to it or the sub-lease ends; arrears are recorded.

use actix_web::http::StatusCode;
use actix_web::{get, post, web, HttpRequest, HttpResponse};
use chrono::NaiveDate;
use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use serde::Deserialize;
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;
use validator::Validate;

use super::model::{
    EndReason, RentArrears, Sublease, SubleaseAction, SubleaseKind, SubleaseRow, SubleaseStatus,
    SubleaseTransition, SupportMeasure,
};
use super::rules::{self, SubleaseParty};
use crate::action_endpoint;
use crate::auth::caller::Caller;
use crate::auth::policy::{authorize, Action};
use crate::cases::{self, CaseType, Step};
use crate::db;
use crate::db::Keyset;
use crate::error::{ApiError, ApiResult, FieldError};
use crate::events::{self, NewEvent};
use crate::households::model as households_model;
use crate::http::body::{ParsedJson, ValidJson};
use crate::http::concurrency::IfMatch;
use crate::http::extractors::{ListQuery, Query};
use crate::http::idempotency::IdempotencyHeader;
use crate::http::idempotency::{self, ActionTarget, IdempotencyKey, StoredResponse};
use crate::http::pagination::{PageOf, PageParams};
use crate::identity::model::OrganisationKind;
use crate::identity::organisations::validate_not_blank;
use crate::measures::model::MeasureStatus;
use crate::schema::{agreements, measures, proposals, rent_arrears, subleases};
use crate::state::AppState;
use crate::units::handlers::{release_unit, set_unit_status};
use crate::units::model::{find_visible_unit, AgreementStatus, ProposalStatus, UnitStatus};
use crate::units::rules::energy_refusal;

/// A new sub-lease.
#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({
    "unit_id": "0193a5f0-0000-7000-8000-000000000001", "household_id": "0193a5d0-0000-7000-8000-000000000001",
    "kind": "sliding_lease", "starts_on": "2026-12-01", "planned_end_on": "2028-11-30",
    "rent_cents": 41000, "charges_cents": 6000, "housing_benefit_cents": 32000, "deposit_cents": 0
}))]
pub struct NewSublease {
    /// A unit your organisation sees through an active agreement, or holds (a private
    /// owner's unit under a mandate).
    pub unit_id: Uuid,
    /// A household your organisation sees, whose consent to sharing is in force.
    pub household_id: Uuid,
    pub kind: SubleaseKind,
    /// The first day: within the period of the agreement that makes the unit available, and
    /// a day on which the unit's energy class may still be let.
    pub starts_on: NaiveDate,
    /// The day it ends (the household no longer lives there): after `starts_on`, and at
    /// the latest on the agreement's `ends_on`. Two sub-leases of a unit never overlap (one
    /// may start the day another ends).
    pub planned_end_on: NaiveDate,
    /// Monthly rent the household owes, excluding charges, in cents.
    #[validate(range(min = 0, max = 100_000_000))]
    #[schema(minimum = 0, maximum = 100_000_000)]
    pub rent_cents: i64,
    /// Monthly charges the household owes, in cents.
    #[validate(range(min = 0, max = 100_000_000))]
    #[schema(minimum = 0, maximum = 100_000_000)]
    pub charges_cents: i64,
    /// Estimated monthly housing benefit, in cents: at most rent plus charges.
    #[validate(range(min = 0, max = 100_000_000))]
    #[schema(minimum = 0, maximum = 100_000_000)]
    pub housing_benefit_cents: i64,
    #[validate(range(min = 0, max = 100_000_000))]
    #[schema(minimum = 0, maximum = 100_000_000)]
    pub deposit_cents: i64,
    /// The support measure that goes with it: one your organisation operates for this
    /// household, not closed or cancelled. The landlord then sees that it runs and until when.
    pub measure_id: Option<Uuid>,
}

/// The end of a sub-lease.
#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"reason": "rehoused", "ended_on": "2027-06-30", "comment": "Social housing in her own name"}))]
pub struct Ending {
    pub reason: EndReason,
    /// The last day is the day before; default today. Not before the start (a planned
    /// sub-lease that will not start ends on its start date).
    pub ended_on: Option<NaiveDate>,
    /// Required when `reason` is `other`.
    #[validate(length(min = 1, max = 4000), custom(function = "validate_not_blank"))]
    #[schema(min_length = 1, max_length = 4000, pattern = "\\S")]
    pub comment: Option<String>,
}

/// Rent arrears to record.
#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"amount_cents": 45000, "months": 3, "comment": "No payment since September"}))]
pub struct NewArrears {
    /// The amount owed, in cents: more than 0.
    #[validate(range(min = 1, max = 100_000_000))]
    #[schema(minimum = 1, maximum = 100_000_000)]
    pub amount_cents: i64,
    /// How many months of rent it covers: 1 to 120.
    #[validate(range(min = 1, max = 120))]
    #[schema(minimum = 1, maximum = 120)]
    pub months: i32,
    #[validate(length(min = 1, max = 4000), custom(function = "validate_not_blank"))]
    #[schema(min_length = 1, max_length = 4000, pattern = "\\S")]
    pub comment: Option<String>,
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct SubleaseFilters {
    pub unit_id: Option<Uuid>,
    pub household_id: Option<Uuid>,
    pub status: Option<SubleaseStatus>,
}

fn party_of(org: Uuid, row: &SubleaseRow) -> Option<SubleaseParty> {
    if org == row.main_tenant_organisation_id {
        Some(SubleaseParty::MainTenant)
    } else if org == row.landlord_organisation_id {
        Some(SubleaseParty::Landlord)
    } else {
        None
    }
}

/// Whether gliding the sub-lease today would overlap another sub-lease of its unit: a
/// glide ends it on `max(today, start)`, which, past its planned end, may reach into the
/// next sub-let period (`subleases_no_overlap`, 409 `overlapping_sublease`).
async fn glide_overlaps(conn: &mut AsyncPgConnection, row: &SubleaseRow) -> Result<bool, ApiError> {
    let until = crate::calendar::today().max(row.starts_on);
    if until <= row.planned_end_on {
        return Ok(false);
    }
    Ok(diesel::select(diesel::dsl::exists(
        subleases::table
            .filter(subleases::unit_id.eq(row.unit_id))
            .filter(subleases::id.ne(row.id))
            .filter(subleases::starts_on.lt(until))
            .filter(
                subleases::ended_on
                    .is_null()
                    .and(subleases::planned_end_on.gt(row.starts_on))
                    .or(subleases::ended_on.gt(row.starts_on)),
            ),
    ))
    .get_result(conn)
    .await?)
}

async fn present(
    conn: &mut AsyncPgConnection,
    caller: &Caller,
    rows: Vec<SubleaseRow>,
) -> Result<Vec<Sublease>, ApiError> {
    let org = caller.partner_organisation()?;
    let may_write = crate::auth::policy::may(caller, Action::WriteHousing);
    // What the caller may do to each: the state table for its side, if it may write, less
    // a glide that would overlap the unit's next sub-lease.
    let mut actions = std::collections::HashMap::new();
    for row in &rows {
        let mut allowed = party_of(org, row)
            .filter(|_| may_write)
            .map(|p| rules::allowed_actions(row.status, row.kind, p))
            .unwrap_or_default();
        if allowed.contains(&SubleaseAction::Glide) && glide_overlaps(conn, row).await? {
            allowed.retain(|a| *a != SubleaseAction::Glide);
        }
        actions.insert(row.id, allowed);
    }
    let ids: Vec<Uuid> = rows.iter().map(|r| r.household_id).collect();
    let summaries = households_model::Summaries::load(conn, &ids).await?;
    let measure_ids: Vec<Uuid> = rows.iter().filter_map(|r| r.measure_id).collect();
    let support: std::collections::HashMap<Uuid, SupportMeasure> = if measure_ids.is_empty() {
        Default::default()
    } else {
        measures::table
            .filter(measures::id.eq_any(&measure_ids))
            .select((measures::id, measures::status, measures::planned_end_on))
            .load::<(Uuid, MeasureStatus, Option<NaiveDate>)>(conn)
            .await?
            .into_iter()
            .map(|(id, status, planned_end_on)| {
                (
                    id,
                    SupportMeasure {
                        id,
                        status,
                        planned_end_on,
                    },
                )
            })
            .collect()
    };
    rows.into_iter()
        .map(|row| {
            let household = summaries.get(row.household_id)?;
            let support_measure = row.measure_id.and_then(|m| support.get(&m).cloned());
            let allowed_actions = actions.remove(&row.id).unwrap_or_default();
            Ok(Sublease {
                residual_charge_cents: row.residual_charge_cents(),
                id: row.id,
                unit_id: row.unit_id,
                main_tenant_organisation_id: row.main_tenant_organisation_id,
                landlord_organisation_id: row.landlord_organisation_id,
                household,
                kind: row.kind,
                starts_on: row.starts_on,
                planned_end_on: row.planned_end_on,
                ended_on: row.ended_on,
                rent_cents: row.rent_cents,
                charges_cents: row.charges_cents,
                housing_benefit_cents: row.housing_benefit_cents,
                deposit_cents: row.deposit_cents,
                status: row.status,
                end_reason: row.end_reason,
                closing_comment: row.closing_comment,
                support_measure,
                allowed_actions,
                version: row.version,
                created_at: row.created_at,
                updated_at: row.updated_at,
            })
        })
        .collect()
}

fn sublease_response(status: StatusCode, s: &Sublease) -> StoredResponse {
    StoredResponse::versioned(status, s, s.version)
}

impl crate::cases::Case for SubleaseRow {
    const TYPE: CaseType = CaseType::Sublease;
    type Party = SubleaseParty;

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
    ) -> Result<Option<SubleaseParty>, ApiError> {
        Ok(party_of(org, self))
    }

    async fn load(
        conn: &mut AsyncPgConnection,
        id: Uuid,
        lock: bool,
    ) -> Result<Option<Self>, ApiError> {
        crate::load_row!(conn, subleases::table, SubleaseRow, id, lock)
    }

    /// `sublease.<status>` to both parties: ids and status only.
    fn status_event(&self) -> Result<NewEvent, ApiError> {
        let event_type = match self.status {
            SubleaseStatus::Planned => "sublease.planned",
            SubleaseStatus::Active => "sublease.activated",
            SubleaseStatus::Glided => "sublease.glided",
            SubleaseStatus::Ended => "sublease.ended",
        };
        Ok(NewEvent {
            event_type,
            subject_type: "sublease",
            subject_id: self.id,
            data: events::data(&crate::events::catalogue::SubleaseEventData::from(self))?,
            recipients: vec![
                self.main_tenant_organisation_id,
                self.landlord_organisation_id,
            ],
            for_platform: false,
        })
    }
}

/// The name PostgreSQL gives the exclusion constraint that keeps a unit's sub-leases apart.
const NO_OVERLAP: &str = "subleases_no_overlap";

/// A write that would make two sub-leases of a unit overlap (a new one, or an end moved past
/// the next one's start) is 409 `overlapping_sublease`; other errors pass.
fn overlap_is_a_conflict(e: diesel::result::Error) -> ApiError {
    match e {
        diesel::result::Error::DatabaseError(_, info)
            if info.constraint_name() == Some(NO_OVERLAP) =>
        {
            let mut ext = serde_json::Map::new();
            ext.insert("code".into(), "overlapping_sublease".into());
            ApiError::Conflict {
                detail: "the unit is already sub-let over part of this period".into(),
                extensions: ext,
            }
        }
        other => other.into(),
    }
}

/// Plan a sub-lease
///
/// The main tenant (an association) sub-lets a unit it sees through an active agreement
/// (or a private owner's unit it manages) to a household it follows. The residual charge
/// (rent + charges − housing benefit) is computed and returned. The unit is `reserved`
/// until the household moves in. Two sub-leases of a unit never overlap: the database
/// refuses the second, also when two requests race (409 `overlapping_sublease`).
#[utoipa::path(
    tag = "subleases",
    operation_id = "create_sublease",
    request_body = NewSublease,
    params(IdempotencyHeader),
    security(("oauth2" = ["housing:write"])),
    responses(
        (status = 201, description = "Planned", body = Sublease,
         headers(("ETag" = String, description = "The version, for If-Match"), ("Location" = String, description = "The new sub-lease"))),
        (status = 409, description = "The unit is unavailable, kept for another household, or already sub-let over part of the period", body = crate::error::Problem, content_type = "application/problem+json"),
    )
)]
#[post("/subleases")]
pub async fn create_sublease(
    state: web::Data<AppState>,
    caller: Caller,
    req: HttpRequest,
    key: IdempotencyKey,
    body: ParsedJson<NewSublease>,
) -> ApiResult<HttpResponse> {
    authorize(&caller, Action::WriteHousing)?;
    let org = caller.partner_organisation()?;
    if caller.organisation_kind != Some(OrganisationKind::Association) {
        return Err(ApiError::Forbidden(
            "an association sub-lets (it is the main tenant)".into(),
        ));
    }
    let field_errors = body.field_errors();
    let ParsedJson(new, raw) = body;
    let fingerprint = idempotency::fingerprint(&req, &raw);
    idempotency::run(&state, &caller.clone(), &key, fingerprint, async move |conn: &mut AsyncPgConnection| {
        let mut errors = field_errors;
        let unit = find_visible_unit(conn, org, new.unit_id, false).await.optional_not_found()?;
        // The period of the agreement that makes the unit available to the association (none
        // for a unit it holds): a sub-lease falls within it.
        let agreement: Option<(NaiveDate, Option<NaiveDate>)> = match &unit {
            Some(u) if u.holder_organisation_id != org => agreements::table
                .filter(agreements::id.nullable().eq(u.agreement_id))
                .filter(agreements::association_organisation_id.eq(org))
                .filter(agreements::status.eq(AgreementStatus::Active))
                .select((agreements::starts_on, agreements::ends_on))
                .first(conn)
                .await
                .optional()?,
            _ => None,
        };
        let covered = unit.as_ref().is_some_and(|u| u.holder_organisation_id == org) || agreement.is_some();
        if let Some((from, until)) = agreement {
            if new.starts_on < from || until.is_some_and(|u| new.starts_on >= u) {
                errors.push(FieldError::new("starts_on", "outside_agreement", match until {
                    Some(u) => format!("the agreement that makes the unit available runs from {from} to {u}"),
                    None => format!("the agreement that makes the unit available starts on {from}"),
                }));
            } else if let Some(u) = until.filter(|u| new.planned_end_on > *u) {
                errors.push(FieldError::new("planned_end_on", "after_agreement_end", format!(
                    "the agreement that makes the unit available ends on {u}: a sub-lease ends at the latest that day"
                )));
            }
        }
        if !covered {
            errors.push(FieldError::new("unit_id", "unknown_unit", "no unit your organisation holds or sees through an active agreement has this id"));
        }
        let shared = crate::households::sharing::find_to_share(
            conn,
            &caller,
            new.household_id,
            None,
            ("household_id", "household_id"),
            &mut errors,
        )
        .await?;
        if new.planned_end_on <= new.starts_on {
            errors.push(FieldError::new("planned_end_on", "before_start", "the planned end is after the start"));
        }
        if new.housing_benefit_cents > new.rent_cents.saturating_add(new.charges_cents) {
            errors.push(FieldError::new("housing_benefit_cents", "above_rent", "the housing benefit is at most the rent plus the charges"));
        }
        if let Some(u) = unit.as_ref().filter(|_| covered) {
            if let Some(why) = energy_refusal(u.energy_class, new.starts_on) {
                errors.push(FieldError::new("starts_on", "energy_class_banned", &why));
            }
        }
        if let Some(m) = new.measure_id {
            let ok: bool = diesel::select(diesel::dsl::exists(
                measures::table
                    .filter(measures::id.eq(m))
                    .filter(measures::operator_organisation_id.eq(org))
                    .filter(measures::household_id.eq(new.household_id))
                    .filter(measures::status.eq_any([
                        MeasureStatus::Proposed,
                        MeasureStatus::Active,
                        MeasureStatus::Suspended,
                    ])),
            ))
            .get_result(conn)
            .await?;
            if !ok {
                errors.push(FieldError::new(
                    "measure_id",
                    "unknown_measure",
                    "no open measure your organisation operates for this household has this id",
                ));
            }
        }
        if !errors.is_empty() {
            return Err(ApiError::Validation(errors));
        }
        let unit = unit.expect("checked above");
        if unit.status == UnitStatus::Unavailable {
            return Err(ApiError::not_now("the unit is unavailable", unit.status.as_str(), &[]));
        }
        // A unit kept for a household (an accepted proposal) is sub-let to that household.
        if unit.status == UnitStatus::Reserved {
            let kept_for: Vec<Uuid> = proposals::table
                .filter(proposals::unit_id.eq(unit.id))
                .filter(proposals::status.eq(ProposalStatus::Accepted))
                .select(proposals::household_id)
                .load(conn)
                .await?;
            if !kept_for.is_empty() && !kept_for.contains(&new.household_id) {
                return Err(ApiError::not_now("the unit is kept for another household", unit.status.as_str(), &[]));
            }
        }
        let inserted = diesel::insert_into(subleases::table)
            .values((
                subleases::id.eq(Uuid::now_v7()),
                subleases::unit_id.eq(unit.id),
                subleases::main_tenant_organisation_id.eq(org),
                subleases::landlord_organisation_id.eq(unit.holder_organisation_id),
                subleases::household_id.eq(new.household_id),
                subleases::kind.eq(new.kind),
                subleases::starts_on.eq(new.starts_on),
                subleases::planned_end_on.eq(new.planned_end_on),
                subleases::rent_cents.eq(new.rent_cents),
                subleases::charges_cents.eq(new.charges_cents),
                subleases::housing_benefit_cents.eq(new.housing_benefit_cents),
                subleases::deposit_cents.eq(new.deposit_cents),
                subleases::status.eq(SubleaseStatus::Planned),
                subleases::measure_id.eq(new.measure_id),
            ))
            .returning(SubleaseRow::as_returning())
            .get_result(conn)
            .await;
        let row = inserted.map_err(overlap_is_a_conflict)?;
        if unit.status == UnitStatus::Available {
            set_unit_status(conn, Some(&caller), unit.id, UnitStatus::Reserved).await?;
        }
        cases::record(conn, Some(&caller), &row, Step::new("plan", None)).await?;
        if let Some((household, basis)) = &shared {
            crate::households::sharing::share_if_new(
                conn,
                crate::households::sharing::Sharing {
                    household: household.id,
                    to: row.landlord_organisation_id,
                    by: org,
                    actor: Some(caller.account_id),
                    path: crate::households::sharing::SharingPath::Sublease,
                    case_id: row.id,
                    basis,
                },
            )
            .await?;
        }
        let id = row.id;
        let view = present(conn, &caller, vec![row]).await?.remove(0);
        Ok(sublease_response(StatusCode::CREATED, &view).header("location", format!("/v1/subleases/{id}")))
    })
    .await
}

/// 404 as `None`, for a lookup whose absence is a field error.
trait OptionalNotFound<T> {
    fn optional_not_found(self) -> Result<Option<T>, ApiError>;
}

impl<T> OptionalNotFound<T> for Result<T, ApiError> {
    fn optional_not_found(self) -> Result<Option<T>, ApiError> {
        match self {
            Ok(v) => Ok(Some(v)),
            Err(ApiError::NotFound) => Ok(None),
            Err(e) => Err(e),
        }
    }
}

/// Get a sub-lease
#[utoipa::path(
    tag = "subleases",
    operation_id = "get_sublease",
    params(("id" = Uuid, Path, description = "The sub-lease's id")),
    security(("oauth2" = ["housing:read"])),
    responses((status = 200, description = "The sub-lease", body = Sublease, headers(("ETag" = String, description = "The version, for If-Match"))))
)]
#[get("/subleases/{id}")]
pub async fn get_sublease(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<Uuid>,
) -> ApiResult<HttpResponse> {
    authorize(&caller, Action::ReadHousing)?;
    let org = caller.partner_organisation()?;
    let mut conn = db::conn(&state.pool).await?;
    let (row, _) =
        cases::find_as_party::<SubleaseRow>(&mut conn, org, id.into_inner(), false).await?;
    let view = present(&mut conn, &caller, vec![row]).await?.remove(0);
    Ok(sublease_response(StatusCode::OK, &view).into_response(false))
}

/// List sub-leases
///
/// The sub-leases your organisation is party to (as main tenant or landlord), by id.
#[utoipa::path(
    tag = "subleases",
    operation_id = "list_subleases",
    params(SubleaseFilters, PageParams),
    security(("oauth2" = ["housing:read"])),
    responses((status = 200, description = "A page of sub-leases", body = PageOf<Sublease>))
)]
#[get("/subleases")]
pub async fn list_subleases(
    state: web::Data<AppState>,
    caller: Caller,
    query: ListQuery<SubleaseFilters>,
) -> ApiResult<HttpResponse> {
    let ListQuery { filters, page } = query;
    authorize(&caller, Action::ReadHousing)?;
    let org = caller.partner_organisation()?;
    let page = page.page()?;
    let mut q = subleases::table
        .filter(
            subleases::main_tenant_organisation_id
                .eq(org)
                .or(subleases::landlord_organisation_id.eq(org)),
        )
        .select(SubleaseRow::as_select())
        .into_boxed();
    if let Some(u) = filters.unit_id {
        q = q.filter(subleases::unit_id.eq(u));
    }
    if let Some(h) = filters.household_id {
        q = q.filter(subleases::household_id.eq(h));
    }
    if let Some(s) = filters.status {
        q = q.filter(subleases::status.eq(s));
    }
    let mut conn = db::conn(&state.pool).await?;
    let rows: Vec<SubleaseRow> = q.keyset(subleases::id, page).load(&mut conn).await?;
    let (rows, more) = page.split(rows);
    let views = present(&mut conn, &caller, rows).await?;
    Ok(HttpResponse::Ok().json(PageOf::new(views, more, |v: &Sublease| v.id)))
}

async fn act(
    state: &AppState,
    caller: Caller,
    target: ActionTarget,
    action: SubleaseAction,
    ending: Option<Ending>,
) -> ApiResult<HttpResponse> {
    authorize(&caller, Action::WriteHousing)?;
    let org = caller.partner_organisation()?;
    target
        .run(
            state,
            &caller.clone(),
            async move |conn: &mut AsyncPgConnection, id: Uuid, if_match: IfMatch| {
                let (row, party) = cases::find_as_party::<SubleaseRow>(conn, org, id, true).await?;
                if_match.check(row.version)?;
                let to = rules::transition(row.status, action, row.kind, party).map_err(|r| {
                    cases::refusal_error(
                        r,
                        &format!("a sub-lease of kind {}", row.kind),
                        action,
                        party.as_str(),
                    )
                })?;
                let today = crate::calendar::today();
                let (ended_on, reason, comment) = match &ending {
                    Some(e) => {
                        if e.reason == EndReason::Other && e.comment.is_none() {
                            return Err(ApiError::invalid(
                                "comment",
                                "required",
                                "an end for `other` reasons needs a comment",
                            ));
                        }
                        let on = e.ended_on.unwrap_or(today).max(
                            if row.status == SubleaseStatus::Planned {
                                row.starts_on
                            } else {
                                NaiveDate::MIN
                            },
                        );
                        if on < row.starts_on {
                            return Err(ApiError::invalid(
                                "ended_on",
                                "before_start",
                                "a sub-lease ends on or after its start",
                            ));
                        }
                        (
                            Some(on),
                            Some(e.reason),
                            e.comment.as_deref().map(str::trim),
                        )
                    }
                    // A glide ends the sub-lease: from then the household rents in its own name.
                    None if to == SubleaseStatus::Glided => {
                        (Some(today.max(row.starts_on)), None, None)
                    }
                    None => (None, None, None),
                };
                let updated: SubleaseRow = diesel::update(subleases::table.find(row.id))
                    .set((
                        subleases::status.eq(to),
                        subleases::ended_on.eq(ended_on.or(row.ended_on)),
                        subleases::end_reason.eq(reason.or(row.end_reason)),
                        subleases::closing_comment.eq(comment.or(row.closing_comment.as_deref())),
                        crate::db::bump(subleases::version, subleases::updated_at),
                    ))
                    .returning(SubleaseRow::as_returning())
                    .get_result(conn)
                    .await
                    .map_err(overlap_is_a_conflict)?;
                match to {
                    SubleaseStatus::Active => {
                        set_unit_status(conn, Some(&caller), row.unit_id, UnitStatus::Occupied)
                            .await?;
                    }
                    SubleaseStatus::Ended => {
                        release_unit(conn, &caller, row.unit_id, today).await?
                    }
                    _ => {}
                }
                cases::record(
                    conn,
                    Some(&caller),
                    &updated,
                    Step::new(action.as_str(), Some(row.status.as_str()))
                        .comment(comment)
                        .reason(reason.map(|r| r.as_str())),
                )
                .await?;
                let view = present(conn, &caller, vec![updated]).await?.remove(0);
                Ok(sublease_response(StatusCode::OK, &view))
            },
        )
        .await
}

action_endpoint! {
    /// Activate a sub-lease
    ///
    /// The main tenant: the household has moved in. The unit becomes `occupied`.
    activate_sublease: "/subleases/{id}/activate", tag "subleases", scope "housing:write",
    id "The sub-lease's id", returns Sublease,
    |state, caller, target| act(&state, caller, target, SubleaseAction::Activate, None)
}

action_endpoint! {
    /// Glide a sliding lease
    ///
    /// The landlord: the lease passes to the household, which becomes its direct tenant. The
    /// sub-lease ends today (`glided`); the unit stays `occupied`, in the household's name.
    /// Only a `sliding_lease` glides (409 for another kind).
    glide_sublease: "/subleases/{id}/glide", tag "subleases", scope "housing:write",
    id "The sub-lease's id", returns Sublease,
    |state, caller, target| act(&state, caller, target, SubleaseAction::Glide, None)
}

action_endpoint! {
    /// End a sub-lease
    ///
    /// Either party ends a planned or active sub-lease, with a coded reason (`other` needs a
    /// comment). The unit is free again (`available`, or `unavailable` when its energy class
    /// may no longer be let) unless another sub-lease of it is planned.
    end_sublease: "/subleases/{id}/end", tag "subleases", scope "housing:write",
    id "The sub-lease's id", returns Sublease, body Ending,
    |state, caller, target, ending| act(&state, caller, target, SubleaseAction::End, Some(ending))
}

/// A sub-lease's history
///
/// Every transition, oldest first, with its actor, organisation, time and comment.
#[utoipa::path(
    tag = "subleases",
    operation_id = "list_sublease_history",
    params(("id" = Uuid, Path, description = "The sub-lease's id")),
    security(("oauth2" = ["housing:read"])),
    responses((status = 200, description = "The transitions", body = PageOf<SubleaseTransition>))
)]
#[get("/subleases/{id}/history")]
pub async fn sublease_history(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<Uuid>,
) -> ApiResult<HttpResponse> {
    authorize(&caller, Action::ReadHousing)?;
    let org = caller.partner_organisation()?;
    let mut conn = db::conn(&state.pool).await?;
    let page =
        cases::history::<SubleaseRow, SubleaseTransition>(&mut conn, org, id.into_inner()).await?;
    Ok(HttpResponse::Ok().json(page))
}

/// Record rent arrears
///
/// The landlord or the main tenant records arrears on an active sub-lease; the other party
/// is told through the feed (`sublease.arrears_recorded`). This is where eviction
/// prevention starts: a referral to a prevention measure can follow.
#[utoipa::path(
    tag = "subleases",
    operation_id = "create_rent_arrears",
    request_body = NewArrears,
    params(
        ("id" = Uuid, Path, description = "The sub-lease's id"),
        IdempotencyHeader,
    ),
    security(("oauth2" = ["housing:write"])),
    responses(
        (status = 201, description = "Recorded", body = RentArrears),
        (status = 409, description = "The sub-lease is not active", body = crate::error::Problem, content_type = "application/problem+json"),
    )
)]
#[post("/subleases/{id}/arrears")]
pub async fn create_arrears(
    state: web::Data<AppState>,
    caller: Caller,
    req: HttpRequest,
    id: web::Path<Uuid>,
    key: IdempotencyKey,
    body: ValidJson<NewArrears>,
) -> ApiResult<HttpResponse> {
    authorize(&caller, Action::WriteHousing)?;
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
            let (row, party) = cases::find_as_party::<SubleaseRow>(conn, org, id, false).await?;
            if row.status != SubleaseStatus::Active {
                return Err(ApiError::not_now(
                    format!(
                        "arrears are recorded on an active sub-lease; this one is {}",
                        row.status
                    ),
                    row.status.as_str(),
                    &rules::allowed_actions(row.status, row.kind, party)
                        .iter()
                        .map(|a| a.as_str())
                        .collect::<Vec<_>>(),
                ));
            }
            let arrears: RentArrears = diesel::insert_into(rent_arrears::table)
                .values((
                    rent_arrears::id.eq(Uuid::now_v7()),
                    rent_arrears::sublease_id.eq(row.id),
                    rent_arrears::amount_cents.eq(new.amount_cents),
                    rent_arrears::months.eq(new.months),
                    rent_arrears::comment.eq(new.comment.as_deref().map(str::trim)),
                    rent_arrears::recorded_by_account_id.eq(caller.account_id),
                    rent_arrears::recorded_by_organisation_id.eq(org),
                    rent_arrears::recorded_at.eq(crate::calendar::now()),
                ))
                .returning(RentArrears::as_returning())
                .get_result(conn)
                .await?;
            events::append(
                conn,
                Some(&caller),
                NewEvent {
                    event_type: "sublease.arrears_recorded",
                    subject_type: "sublease",
                    subject_id: row.id,
                    data: events::data(&crate::events::catalogue::ArrearsEventData {
                        id: row.id,
                        arrears_id: arrears.id,
                        household_id: row.household_id,
                        amount_cents: arrears.amount_cents,
                        months: arrears.months,
                    })?,
                    recipients: vec![
                        row.main_tenant_organisation_id,
                        row.landlord_organisation_id,
                    ],
                    for_platform: false,
                },
            )
            .await?;
            Ok(StoredResponse::json(StatusCode::CREATED, &arrears))
        },
    )
    .await
}

/// A sub-lease's rent arrears
#[utoipa::path(
    tag = "subleases",
    operation_id = "list_rent_arrears",
    params(("id" = Uuid, Path, description = "The sub-lease's id"), PageParams),
    security(("oauth2" = ["housing:read"])),
    responses((status = 200, description = "A page of arrears, oldest first", body = PageOf<RentArrears>))
)]
#[get("/subleases/{id}/arrears")]
pub async fn list_arrears(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<Uuid>,
    page: Query<PageParams>,
) -> ApiResult<HttpResponse> {
    authorize(&caller, Action::ReadHousing)?;
    let org = caller.partner_organisation()?;
    let page = page.page()?;
    let mut conn = db::conn(&state.pool).await?;
    let (row, _) =
        cases::find_as_party::<SubleaseRow>(&mut conn, org, id.into_inner(), false).await?;
    let q = rent_arrears::table
        .filter(rent_arrears::sublease_id.eq(row.id))
        .select(RentArrears::as_select())
        .into_boxed();
    let rows: Vec<RentArrears> = q.keyset(rent_arrears::id, page).load(&mut conn).await?;
    Ok(HttpResponse::Ok().json(PageOf::from_rows(rows, page, |a| a.id)))
}
