//! `/v1/programmes`: funders create and change their programmes; funders and the operators
//! they fund read them.

use std::collections::{BTreeMap, BTreeSet};

use actix_web::http::StatusCode;
use actix_web::{get, patch, post, web, HttpRequest, HttpResponse};
use chrono::{Months, NaiveDate};
use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use serde::Deserialize;
use utoipa::IntoParams;
use uuid::Uuid;

use super::model::*;
use super::{find_as_party, view, ProgrammeParty};
use crate::auth::caller::Caller;
use crate::auth::policy::{authorize, Action};
use crate::db;
use crate::db::Keyset;
use crate::error::{ApiError, ApiResult, FieldError};
use crate::events::{self, NewEvent};
use crate::http::body::ParsedJson;
use crate::http::concurrency::{IfMatch, IfMatchHeader};
use crate::http::extractors::ListQuery;
use crate::http::idempotency::{self, IdempotencyHeader, IdempotencyKey, StoredResponse};
use crate::http::pagination::{PageOf, PageParams};
use crate::identity::model::{OrganisationKind, OrganisationRow};
use crate::measures::catalogue::MeasureKindRow;
use crate::schema::{
    measure_kinds, organisations, programme_kinds, programme_operators, programmes,
};
use crate::state::AppState;

/// The most measures of a kind a programme funds.
const MAX_FUNDED: i32 = 100_000;
/// The longest a programme runs.
const MAX_YEARS: u32 = 10;

fn programme_response(status: StatusCode, p: &Programme) -> StoredResponse {
    StoredResponse::versioned(status, p, p.version)
}

/// What a programme will be, to check as a whole (creation, or the result of a change).
struct Draft<'a> {
    starts_on: NaiveDate,
    ends_on: NaiveDate,
    department_codes: &'a [String],
    operators: &'a [Uuid],
    /// Kinds funded, with how many (`None`: taken away) and how many are used.
    funded: BTreeMap<String, (Option<i32>, i32)>,
    targets: &'a [OutcomeTarget],
}

/// The field errors of a programme of the funder `funder`; every rule in one place for
/// the creation and the change.
async fn check_draft(
    conn: &mut AsyncPgConnection,
    funder: &OrganisationRow,
    d: &Draft<'_>,
    errors: &mut Vec<FieldError>,
) -> Result<(), ApiError> {
    if d.ends_on < d.starts_on {
        errors.push(FieldError::new(
            "ends_on",
            "before_start",
            format!("a programme ends on or after its start ({})", d.starts_on),
        ));
    } else if d
        .starts_on
        .checked_add_months(Months::new(12 * MAX_YEARS))
        .is_some_and(|limit| d.ends_on > limit)
    {
        errors.push(FieldError::new(
            "ends_on",
            "too_long",
            format!("a programme runs {MAX_YEARS} years at most"),
        ));
    }
    for (i, code) in d.department_codes.iter().enumerate() {
        let field = format!("department_codes[{i}]");
        if crate::identity::organisations::validate_department_code(code).is_err() {
            errors.push(FieldError::new(
                field,
                "department_code",
                "département code must be 01 to 95, 2A, 2B or 971 to 978",
            ));
        } else if d.department_codes[..i].contains(code) {
            errors.push(FieldError::new(field, "duplicate", "each département once"));
        } else if funder.kind == OrganisationKind::Department && *code != funder.department_code {
            errors.push(FieldError::new(
                field,
                "not_funders_department",
                format!(
                    "a department's programme covers its own département ({})",
                    funder.department_code
                ),
            ));
        }
    }
    let codes: Vec<&String> = d.funded.keys().collect();
    let kinds: Vec<MeasureKindRow> = measure_kinds::table
        .filter(measure_kinds::code.eq_any(&codes))
        .select(MeasureKindRow::as_select())
        .load(conn)
        .await?;
    let mut operator_kinds: Vec<OrganisationKind> = Vec::new();
    for (code, (funded, used)) in &d.funded {
        let field = format!("funded.{code}");
        let Some(funded) = funded else { continue };
        let kind = kinds.iter().find(|k| &k.code == code);
        match kind {
            None => errors.push(FieldError::new(
                field,
                "unknown_measure_kind",
                "no such measure kind (see GET /v1/measure-kinds)",
            )),
            Some(k) if !k.funder_kinds().contains(&funder.kind) => errors.push(FieldError::new(
                field,
                "not_a_funder",
                format!(
                    "measures of kind {} are funded by an organisation of kind {}",
                    k.code,
                    k.funder_kinds()
                        .iter()
                        .map(|k| k.as_str())
                        .collect::<Vec<_>>()
                        .join(" or ")
                ),
            )),
            Some(k) if !d.department_codes.iter().all(|c| k.offered_in(c)) => {
                errors.push(FieldError::new(
                    field,
                    "not_offered",
                    format!(
                        "kind {} is offered in département {} only",
                        k.code,
                        k.department_code.as_deref().unwrap_or_default()
                    ),
                ))
            }
            Some(k) => {
                operator_kinds.extend(k.operator_kinds());
                operator_kinds.dedup();
                if !(0..=MAX_FUNDED).contains(funded) {
                    errors.push(FieldError::new(
                        field,
                        "range",
                        format!("must be between 0 and {MAX_FUNDED}"),
                    ));
                } else if funded < used {
                    errors.push(FieldError::new(
                        field,
                        "below_used",
                        format!("{used} measures of kind {code} have started under the programme"),
                    ));
                }
            }
        }
    }
    for (code, (funded, used)) in &d.funded {
        if funded.is_none() && *used > 0 {
            errors.push(FieldError::new(
                format!("funded.{code}"),
                "in_use",
                format!("{used} measures of kind {code} have started under the programme"),
            ));
        }
    }
    // (An empty map is the field rules' `length`.)
    if !d.funded.is_empty() && !d.funded.values().any(|(f, _)| f.is_some()) {
        errors.push(FieldError::new(
            "funded",
            "required",
            "a programme funds at least one kind",
        ));
    }
    let orgs: Vec<(Uuid, OrganisationKind)> = organisations::table
        .filter(organisations::id.eq_any(d.operators))
        .select((organisations::id, organisations::kind))
        .load(conn)
        .await?;
    for (i, id) in d.operators.iter().enumerate() {
        let field = format!("operator_organisation_ids[{i}]");
        match orgs.iter().find(|(o, _)| o == id) {
            _ if d.operators[..i].contains(id) => {
                errors.push(FieldError::new(field, "duplicate", "each operator once"))
            }
            None => errors.push(FieldError::new(
                field,
                "unknown_organisation",
                "no such organisation",
            )),
            Some((_, kind)) if !operator_kinds.is_empty() && !operator_kinds.contains(kind) => {
                errors.push(FieldError::new(
                    field,
                    "not_an_operator",
                    format!("an organisation of kind {kind} operates none of the kinds funded"),
                ))
            }
            Some(_) => {}
        }
    }
    for (i, t) in d.targets.iter().enumerate() {
        if let Some(k) = &t.kind {
            if !matches!(d.funded.get(k), Some((Some(_), _))) {
                errors.push(FieldError::new(
                    format!("targets[{i}].kind"),
                    "kind_not_funded",
                    format!("the programme does not fund kind {k}"),
                ));
            }
        }
        for (j, o) in t.outcomes.iter().enumerate() {
            if t.outcomes[..j].contains(o) {
                errors.push(FieldError::new(
                    format!("targets[{i}].outcomes[{j}]"),
                    "duplicate",
                    "each outcome once",
                ));
            }
        }
    }
    Ok(())
}

async fn organisation(conn: &mut AsyncPgConnection, id: Uuid) -> Result<OrganisationRow, ApiError> {
    Ok(organisations::table
        .find(id)
        .select(OrganisationRow::as_select())
        .first(conn)
        .await?)
}

/// The event of a programme's creation or change, to its funder and its operators.
async fn programme_event(
    conn: &mut AsyncPgConnection,
    caller: &Caller,
    event_type: &'static str,
    p: &Programme,
) -> Result<(), ApiError> {
    let mut recipients = vec![p.funder_organisation_id];
    recipients.extend(&p.operator_organisation_ids);
    events::append(
        conn,
        Some(caller),
        NewEvent {
            event_type,
            subject_type: "programme",
            subject_id: p.id,
            data: events::data(&crate::programmes::events::ProgrammeEventData {
                id: p.id,
                name: p.name.clone(),
                capacity: p.capacity.clone(),
                version: p.version,
            })?,
            recipients,
            for_platform: false,
        },
    )
    .await
}

async fn write_operators(
    conn: &mut AsyncPgConnection,
    programme: Uuid,
    operators: &[Uuid],
) -> Result<(), ApiError> {
    diesel::delete(
        programme_operators::table.filter(programme_operators::programme_id.eq(programme)),
    )
    .execute(conn)
    .await?;
    let rows: Vec<_> = operators
        .iter()
        .map(|o| {
            (
                programme_operators::programme_id.eq(programme),
                programme_operators::operator_organisation_id.eq(*o),
            )
        })
        .collect();
    diesel::insert_into(programme_operators::table)
        .values(rows)
        .execute(conn)
        .await?;
    Ok(())
}

/// Creates the caller's organisation's programme, checked (with the request's own field
/// errors, `errors`), and tells its funder and operators (`programme.created`).
pub async fn create(
    conn: &mut AsyncPgConnection,
    caller: &Caller,
    new: &NewProgramme,
    mut errors: Vec<FieldError>,
) -> Result<Programme, ApiError> {
    let org = caller.partner_organisation()?;
    let funder = organisation(conn, org).await?;
    let draft = Draft {
        starts_on: new.starts_on,
        ends_on: new.ends_on,
        department_codes: &new.department_codes,
        operators: &new.operator_organisation_ids,
        funded: new
            .funded
            .iter()
            .map(|(k, v)| (k.clone(), (Some(*v), 0)))
            .collect(),
        targets: &new.targets,
    };
    check_draft(conn, &funder, &draft, &mut errors).await?;
    if !errors.is_empty() {
        return Err(ApiError::Validation(errors));
    }
    let row: ProgrammeRow = diesel::insert_into(programmes::table)
        .values((
            programmes::id.eq(Uuid::now_v7()),
            programmes::name.eq(new.name.trim()),
            programmes::funder_organisation_id.eq(org),
            programmes::starts_on.eq(new.starts_on),
            programmes::ends_on.eq(new.ends_on),
            programmes::department_codes.eq(events::data(&new.department_codes)?),
            programmes::budget_cents.eq(new.budget_cents),
            programmes::targets.eq(events::data(&new.targets)?),
        ))
        .returning(ProgrammeRow::as_returning())
        .get_result(conn)
        .await?;
    let kinds: Vec<_> = new
        .funded
        .iter()
        .map(|(k, n)| {
            (
                programme_kinds::programme_id.eq(row.id),
                programme_kinds::kind.eq(k),
                programme_kinds::funded.eq(*n),
            )
        })
        .collect();
    diesel::insert_into(programme_kinds::table)
        .values(kinds)
        .execute(conn)
        .await?;
    write_operators(conn, row.id, &new.operator_organisation_ids).await?;
    let p = view(conn, row).await?;
    programme_event(conn, caller, "programme.created", &p).await?;
    Ok(p)
}

/// Create a programme
///
/// A department or a State service funds, over a period and for a budget, a number of
/// measures per kind run by the operators it names, with outcome targets. Its operators
/// learn of it in their feed (`programme.created`) and put their measures under it
/// (`programme_id` of a measure). A department covers its own département.
#[utoipa::path(
    tag = "programmes",
    operation_id = "create_programme",
    request_body = NewProgramme,
    params(IdempotencyHeader),
    security(("oauth2" = ["programmes:write"])),
    responses((status = 201, description = "Created", body = Programme,
               headers(("ETag" = String, description = "The version, for If-Match"), ("Location" = String, description = "The new programme"))))
)]
#[post("/programmes")]
pub async fn create_programme(
    state: web::Data<AppState>,
    caller: Caller,
    req: HttpRequest,
    key: IdempotencyKey,
    body: ParsedJson<NewProgramme>,
) -> ApiResult<HttpResponse> {
    authorize(&caller, Action::ManageProgrammes)?;
    caller.partner_organisation()?;
    let field_errors = body.field_errors();
    let ParsedJson(new, raw) = body;
    let fingerprint = idempotency::fingerprint(&req, &raw);
    idempotency::run(
        &state,
        &caller.clone(),
        &key,
        fingerprint,
        async move |conn: &mut AsyncPgConnection| {
            let p = create(conn, &caller, &new, field_errors).await?;
            Ok(programme_response(StatusCode::CREATED, &p)
                .header("location", format!("/v1/programmes/{}", p.id)))
        },
    )
    .await
}

/// Which programmes to list.
#[derive(Debug, Clone, Copy, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ProgrammeSide {
    /// The programmes your organisation funds.
    Funder,
    /// The programmes that fund your organisation.
    Operator,
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ProgrammeFilters {
    /// `funder` (yours) or `operator` (those funding you); both when absent. A side your
    /// organisation's kind never takes (`funder` for an association) is a 422
    /// `not_your_side`.
    #[param(value_type = Option<String>, pattern = "^(funder|operator)$")]
    pub r#as: Option<ProgrammeSide>,
    /// Programmes running on that day (French legal date).
    pub running_on: Option<NaiveDate>,
}

/// List programmes
///
/// The programmes your organisation funds or is funded by, oldest first.
#[utoipa::path(
    tag = "programmes",
    operation_id = "list_programmes",
    params(ProgrammeFilters, PageParams),
    security(("oauth2" = ["measures:read"])),
    responses(
        (status = 200, description = "A page of programmes", body = PageOf<Programme>),
        (status = 422, description = "A side your organisation's kind never takes (`not_your_side`)",
         body = crate::error::Problem, content_type = "application/problem+json"),
    )
)]
#[get("/programmes")]
pub async fn list_programmes(
    state: web::Data<AppState>,
    caller: Caller,
    query: ListQuery<ProgrammeFilters>,
) -> ApiResult<HttpResponse> {
    let ListQuery { filters, page } = query;
    authorize(&caller, Action::ReadProgrammes)?;
    let org = caller.partner_organisation()?;
    let page = page.page()?;
    let mut conn = db::conn(&state.pool).await?;
    let refusal = match filters.r#as {
        Some(ProgrammeSide::Funder)
            if !crate::auth::policy::funds_programmes(caller.organisation_kind) =>
        {
            Some((
                "funder",
                "a programme is funded by a department or a State service",
            ))
        }
        Some(ProgrammeSide::Operator)
            if !crate::measures::catalogue::sides_of(&mut conn, caller.organisation_kind)
                .await?
                .operates =>
        {
            Some((
                "operator",
                "a programme funds operators, of a kind the catalogue names to operate some \
                 measure kind",
            ))
        }
        _ => None,
    };
    if let Some((name, why)) = refusal {
        return Err(crate::cases::not_your_side(
            "as",
            format!("your organisation's kind never takes the `{name}` side: {why}"),
        ));
    }
    let funded_by = programme_operators::table
        .filter(programme_operators::operator_organisation_id.eq(org))
        .select(programme_operators::programme_id);
    let mut q = programmes::table
        .select(ProgrammeRow::as_select())
        .into_boxed();
    q = match filters.r#as {
        Some(ProgrammeSide::Funder) => q.filter(programmes::funder_organisation_id.eq(org)),
        Some(ProgrammeSide::Operator) => q.filter(programmes::id.eq_any(funded_by)),
        None => q.filter(
            programmes::funder_organisation_id
                .eq(org)
                .or(programmes::id.eq_any(funded_by)),
        ),
    };
    if let Some(day) = filters.running_on {
        q = q
            .filter(programmes::starts_on.le(day))
            .filter(programmes::ends_on.ge(day));
    }
    let rows: Vec<ProgrammeRow> = q.keyset(programmes::id, page).load(&mut conn).await?;
    let (rows, more) = page.split(rows);
    let mut items = Vec::with_capacity(rows.len());
    for r in rows {
        items.push(view(&mut conn, r).await?);
    }
    Ok(HttpResponse::Ok().json(PageOf::new(items, more, |p| p.id)))
}

/// Get a programme
///
/// Its places per kind ("31 of 45 ASRL measures in use": `used` 31, `funded` 45), its
/// operators, budget and targets. For its funder and the operators it funds; 404 for
/// anyone else.
#[utoipa::path(
    tag = "programmes",
    operation_id = "get_programme",
    params(("id" = Uuid, Path, description = "The programme's id")),
    security(("oauth2" = ["measures:read"])),
    responses((status = 200, description = "The programme", body = Programme,
               headers(("ETag" = String, description = "The version, for If-Match"))))
)]
#[get("/programmes/{id}")]
pub async fn get_programme(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<Uuid>,
) -> ApiResult<HttpResponse> {
    authorize(&caller, Action::ReadProgrammes)?;
    let org = caller.partner_organisation()?;
    let mut conn = db::conn(&state.pool).await?;
    let (row, _) = find_as_party(&mut conn, org, id.into_inner(), false).await?;
    let p = view(&mut conn, row).await?;
    Ok(programme_response(StatusCode::OK, &p).into_response(false))
}

/// Change a programme
///
/// By its funder, with `If-Match`: raise (or lower, never below the measures started) the
/// number funded per kind, add a kind, take away one no measure has used, extend the period,
/// change the operators, the budget, the targets. The operators are told
/// (`programme.updated`).
#[utoipa::path(
    tag = "programmes",
    operation_id = "update_programme",
    request_body = ProgrammePatch,
    params(("id" = Uuid, Path, description = "The programme's id"), IfMatchHeader),
    security(("oauth2" = ["programmes:write"])),
    responses((status = 200, description = "Changed", body = Programme,
               headers(("ETag" = String, description = "The new version"))))
)]
#[patch("/programmes/{id}")]
pub async fn update_programme(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<Uuid>,
    if_match: IfMatch,
    body: ParsedJson<ProgrammePatch>,
) -> ApiResult<HttpResponse> {
    authorize(&caller, Action::ManageProgrammes)?;
    let org = caller.partner_organisation()?;
    let id = id.into_inner();
    // The field rules are reported with the programme's own rules, all at once.
    let field_errors = body.field_errors();
    let p = body.0;
    let mut conn = db::conn(&state.pool).await?;
    let response = db::transaction(&mut conn, async move |conn: &mut AsyncPgConnection| {
        let (row, party) = find_as_party(conn, org, id, true).await?;
        if party != ProgrammeParty::Funder {
            return Err(ApiError::Forbidden(
                "only the programme's funder changes it".into(),
            ));
        }
        if_match.check(row.version)?;
        let current = view(conn, row.clone()).await?;
        let funder = organisation(conn, org).await?;
        let mut funded: BTreeMap<String, (Option<i32>, i32)> = current
            .capacity
            .iter()
            .map(|c| (c.kind.clone(), (Some(c.funded), c.used)))
            .collect();
        for (k, n) in p.funded.iter().flatten() {
            funded.entry(k.clone()).or_insert((None, 0)).0 = *n;
        }
        let department_codes = p
            .department_codes
            .clone()
            .unwrap_or_else(|| current.department_codes.clone());
        let operators = p
            .operator_organisation_ids
            .clone()
            .unwrap_or_else(|| current.operator_organisation_ids.clone());
        let targets = p.targets.clone().unwrap_or_else(|| current.targets.clone());
        let ends_on = p.ends_on.unwrap_or(current.ends_on);
        let draft = Draft {
            starts_on: current.starts_on,
            ends_on,
            department_codes: &department_codes,
            operators: &operators,
            funded: funded.clone(),
            targets: &targets,
        };
        let mut errors = field_errors;
        check_draft(conn, &funder, &draft, &mut errors).await?;
        if !errors.is_empty() {
            return Err(ApiError::Validation(errors));
        }
        let name = p
            .name
            .as_deref()
            .map_or(current.name.clone(), |n| n.trim().to_owned());
        let budget = p.budget_cents.unwrap_or(current.budget_cents);
        let same_funded = funded.iter().all(|(k, (n, _))| {
            current
                .capacity
                .iter()
                .any(|c| &c.kind == k && Some(c.funded) == *n)
        });
        let same_operators = operators.iter().collect::<BTreeSet<_>>()
            == current
                .operator_organisation_ids
                .iter()
                .collect::<BTreeSet<_>>();
        let same_departments = department_codes.iter().collect::<BTreeSet<_>>()
            == current.department_codes.iter().collect::<BTreeSet<_>>();
        if name == current.name
            && ends_on == current.ends_on
            && budget == current.budget_cents
            && targets == current.targets
            && same_funded
            && same_operators
            && same_departments
        {
            return Ok(programme_response(StatusCode::OK, &current));
        }
        let row: ProgrammeRow = diesel::update(programmes::table.find(id))
            .set((
                programmes::name.eq(&name),
                programmes::ends_on.eq(ends_on),
                programmes::department_codes.eq(events::data(&department_codes)?),
                programmes::budget_cents.eq(budget),
                programmes::targets.eq(events::data(&targets)?),
                crate::db::bump(programmes::version, programmes::updated_at),
            ))
            .returning(ProgrammeRow::as_returning())
            .get_result(conn)
            .await?;
        for (k, (n, _)) in &funded {
            match n {
                None => {
                    diesel::delete(programme_kinds::table.find((id, k)))
                        .execute(conn)
                        .await?;
                }
                Some(n) => {
                    diesel::insert_into(programme_kinds::table)
                        .values((
                            programme_kinds::programme_id.eq(id),
                            programme_kinds::kind.eq(k),
                            programme_kinds::funded.eq(*n),
                        ))
                        .on_conflict((programme_kinds::programme_id, programme_kinds::kind))
                        .do_update()
                        .set(programme_kinds::funded.eq(*n))
                        .execute(conn)
                        .await?;
                }
            }
        }
        if !same_operators {
            write_operators(conn, id, &operators).await?;
        }
        let updated = view(conn, row).await?;
        // Operators taken away learn it too.
        let mut told = updated.clone();
        told.operator_organisation_ids.extend(
            current
                .operator_organisation_ids
                .iter()
                .filter(|o| !updated.operator_organisation_ids.contains(o)),
        );
        programme_event(conn, &caller, "programme.updated", &told).await?;
        Ok::<_, ApiError>(programme_response(StatusCode::OK, &updated))
    })
    .await?;
    Ok(response.into_response(false))
}
