//! The use cases of agreements, each inside the transaction its caller gives: propose,
//! read, list, act (accept, decline, terminate), the service's expiry, and the landlord's
//! attachment of units; and the agreement as a case of the kernel.

use chrono::NaiveDate;
use diesel_async::AsyncPgConnection;
use uuid::Uuid;

use super::super::model::{
    Agreement, AgreementAction, AgreementFilters, AgreementRow, AgreementStatus, Attachment,
    NewAgreement,
};
use super::super::queries::agreements as queries;
use super::super::queries::agreements::NewAgreementRow;
use super::super::rules::{self, Party};
use super::unit_event;
use crate::auth::caller::Caller;
use crate::auth::policy::Action;
use crate::cases::{self, CaseType, Refusal, Step};
use crate::db::Page;
use crate::error::{ApiError, FieldError, OptionalFound};
use crate::events::{self, NewEvent};
use crate::http::concurrency::IfMatch;
use crate::http::pagination::PageOf;
use crate::identity::model::OrganisationKind;

fn party_of(org: Uuid, row: &AgreementRow) -> Option<Party> {
    Party::of(
        org,
        row.landlord_organisation_id,
        row.association_organisation_id,
    )
}

impl cases::Case for AgreementRow {
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
        queries::find(conn, id, lock).await
    }

    /// `agreement.<status>` to both parties: ids, status and counts only.
    fn status_event(&self) -> Result<NewEvent, ApiError> {
        agreement_event(status_event(self.status), self, None)
    }
}

impl cases::Actionable for AgreementRow {
    type Action = AgreementAction;
    type Status = AgreementStatus;

    fn version(&self) -> i32 {
        self.version
    }

    fn name(&self) -> String {
        "an agreement".into()
    }

    fn party_name(party: Party) -> &'static str {
        party.as_str()
    }

    /// The state table; an action the other party takes is never this party's.
    fn transition(
        &self,
        action: AgreementAction,
        party: Party,
    ) -> Result<AgreementStatus, Refusal<AgreementStatus, AgreementAction>> {
        rules::agreement_transition(self.status, action, party).map_err(|allowed| {
            let other = match party {
                Party::Landlord => Party::Association,
                Party::Association => Party::Landlord,
            };
            if rules::agreement_actions(self.status, other).contains(&action) {
                Refusal::NotYours
            } else {
                Refusal::NotNow {
                    current: self.status,
                    allowed,
                }
            }
        })
    }

    fn refused(
        &self,
        refusal: Refusal<AgreementStatus, AgreementAction>,
        action: AgreementAction,
        party: Party,
    ) -> ApiError {
        match refusal {
            Refusal::NotYours => ApiError::Forbidden(format!(
                "the other party of the agreement may {action} it, not yours"
            )),
            not_now => cases::refusal_error(not_now, &self.name(), action, party.as_str()),
        }
    }

    async fn allowed_actions(
        &self,
        _: &mut AsyncPgConnection,
        caller: &Caller,
        party: Party,
    ) -> Result<Vec<AgreementAction>, ApiError> {
        let may_write = crate::auth::policy::may(caller, Action::WriteHousing);
        Ok(if may_write {
            rules::agreement_actions(self.status, party)
        } else {
            Vec::new()
        })
    }
}

/// Views of agreements for the organisation, with the number of units each has attached.
pub async fn present(
    conn: &mut AsyncPgConnection,
    caller: &Caller,
    rows: Vec<AgreementRow>,
) -> Result<Vec<Agreement>, ApiError> {
    let org = caller.partner_organisation()?;
    let may_write = crate::auth::policy::may(caller, Action::WriteHousing);
    let ids: Vec<Uuid> = rows.iter().map(|r| r.id).collect();
    let counts = queries::attached_counts(conn, &ids).await?;
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
        data: events::data(&crate::units::events::AgreementEventData::of(row, unit_ids))?,
        recipients: vec![
            row.landlord_organisation_id,
            row.association_organisation_id,
        ],
        for_platform: false,
    })
}

/// Only a landlord proposes agreements: 403 otherwise.
pub fn check_landlord(caller: &Caller) -> Result<(), ApiError> {
    if caller.organisation_kind == Some(OrganisationKind::SocialLandlord) {
        Ok(())
    } else {
        Err(ApiError::Forbidden("a landlord proposes agreements".into()))
    }
}

/// Proposes an agreement to an association; field rules (`errors`, from the body's
/// validation) and database rules are reported together (422).
pub async fn create(
    conn: &mut AsyncPgConnection,
    caller: &Caller,
    new: NewAgreement,
    mut errors: Vec<FieldError>,
) -> Result<Agreement, ApiError> {
    let org = caller.partner_organisation()?;
    match crate::identity::queries::find_organisation(conn, new.association_organisation_id)
        .await
        .optional_found()?
    {
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
    let row = queries::insert(
        conn,
        NewAgreementRow {
            id: Uuid::now_v7(),
            landlord_organisation_id: org,
            association_organisation_id: new.association_organisation_id,
            kind: new.kind,
            units_covered: new.units_covered,
            starts_on: new.starts_on,
            ends_on: new.ends_on,
            programme_label: new.programme_label.as_deref().map(str::trim),
            status: AgreementStatus::Proposed,
        },
    )
    .await?;
    cases::record(conn, Some(caller), &row, Step::new("propose", None)).await?;
    present_one(conn, caller, row).await
}

/// The agreement `id` as the caller's side sees it (404 for a non-party).
pub async fn get(
    conn: &mut AsyncPgConnection,
    caller: &Caller,
    id: Uuid,
) -> Result<Agreement, ApiError> {
    let org = caller.partner_organisation()?;
    let (row, _) = cases::find_as_party::<AgreementRow>(conn, org, id, false).await?;
    present_one(conn, caller, row).await
}

/// A page of the agreements the caller's organisation is party to, as filtered.
pub async fn list(
    conn: &mut AsyncPgConnection,
    caller: &Caller,
    filters: &AgreementFilters,
    page: Page,
) -> Result<PageOf<Agreement>, ApiError> {
    let org = caller.partner_organisation()?;
    let rows = queries::list(conn, org, filters, page).await?;
    let (rows, more) = page.split(rows);
    let views = present(conn, caller, rows).await?;
    Ok(PageOf::new(views, more, |v: &Agreement| v.id))
}

/// Takes `action` on the agreement `id` for the caller's side ([`cases::begin_action`]),
/// with its comment.
pub async fn act(
    conn: &mut AsyncPgConnection,
    caller: &Caller,
    id: Uuid,
    if_match: &IfMatch,
    action: AgreementAction,
    comment: Option<String>,
) -> Result<Agreement, ApiError> {
    let (row, _, to) =
        cases::begin_action::<AgreementRow>(conn, caller, id, if_match, action).await?;
    let updated = move_to(conn, Some(caller), &row, to, comment.as_deref()).await?;
    present_one(conn, caller, updated).await
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
    let updated = queries::update_status(conn, row, to, comment).await?;
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
    let due = queries::ended(conn, today).await?;
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
    let released = queries::detach_all(conn, agreement.id).await?;
    let ids: Vec<Uuid> = released.iter().map(|u| u.id).collect();
    let open =
        queries::open_proposals_for(conn, &ids, agreement.association_organisation_id).await?;
    for p in open {
        super::proposals::close_as_unavailable(
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

/// Attaches units the landlord holds to its active agreement, up to `units_covered` (409
/// beyond, with `units_covered` and `units_attached`); the agreement's row lock serialises
/// attachments, so two requests racing cannot both fit under the quota.
pub async fn attach(
    conn: &mut AsyncPgConnection,
    caller: &Caller,
    id: Uuid,
    attachment: &Attachment,
) -> Result<Agreement, ApiError> {
    let org = caller.partner_organisation()?;
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
    let found = queries::held_units(conn, &wanted, org).await?;
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
    let attached = queries::attached_count(conn, agreement.id).await?;
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
        let rows = queries::attach(conn, &new, &agreement).await?;
        for unit in &rows {
            unit_event(conn, Some(caller), "unit.updated", unit).await?;
        }
        events::append(
            conn,
            Some(caller),
            agreement_event("agreement.units_attached", &agreement, Some(new.clone()))?,
        )
        .await?;
    }
    present_one(conn, caller, agreement).await
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
