//! A sub-lease as each party sees it (the household's summary, the support measure that
//! goes with it, the actions that would succeed), and the sub-lease as a case of the
//! kernel ([`crate::cases::Case`], [`crate::cases::Actionable`]).

use std::collections::HashMap;

use diesel_async::AsyncPgConnection;
use uuid::Uuid;

use super::super::model::{Sublease, SubleaseAction, SubleaseRow, SubleaseStatus, SupportMeasure};
use super::super::queries;
use super::super::rules::{self, SubleaseParty};
use crate::auth::caller::Caller;
use crate::auth::policy::Action;
use crate::cases::{self, CaseType, Refusal};
use crate::error::ApiError;
use crate::events::{self, NewEvent};
use crate::households::queries::Summaries;

pub fn party_of(org: Uuid, row: &SubleaseRow) -> Option<SubleaseParty> {
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
    queries::overlaps_until(conn, row, until).await
}

/// What the caller may do to the sub-lease now: the state table for its side, if it may
/// write, less a glide that would overlap the unit's next sub-lease.
async fn allowed_actions(
    conn: &mut AsyncPgConnection,
    caller: &Caller,
    row: &SubleaseRow,
) -> Result<Vec<SubleaseAction>, ApiError> {
    let org = caller.partner_organisation()?;
    let may_write = crate::auth::policy::may(caller, Action::WriteHousing);
    let mut allowed = party_of(org, row)
        .filter(|_| may_write)
        .map(|p| rules::allowed_actions(row.status, row.kind, p))
        .unwrap_or_default();
    if allowed.contains(&SubleaseAction::Glide) && glide_overlaps(conn, row).await? {
        allowed.retain(|a| *a != SubleaseAction::Glide);
    }
    Ok(allowed)
}

/// The sub-leases as the caller's side sees them.
pub async fn present(
    conn: &mut AsyncPgConnection,
    caller: &Caller,
    rows: Vec<SubleaseRow>,
) -> Result<Vec<Sublease>, ApiError> {
    let mut actions = HashMap::new();
    for row in &rows {
        actions.insert(row.id, allowed_actions(conn, caller, row).await?);
    }
    let ids: Vec<Uuid> = rows.iter().map(|r| r.household_id).collect();
    let summaries = Summaries::load(conn, &ids).await?;
    let measure_ids: Vec<Uuid> = rows.iter().filter_map(|r| r.measure_id).collect();
    let support: HashMap<Uuid, SupportMeasure> =
        crate::measures::queries::statuses_and_ends(conn, &measure_ids)
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
            .collect();
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

impl cases::Case for SubleaseRow {
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
        queries::find(conn, id, lock).await
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
            data: events::data(&crate::subleases::events::SubleaseEventData::from(self))?,
            recipients: vec![
                self.main_tenant_organisation_id,
                self.landlord_organisation_id,
            ],
            for_platform: false,
        })
    }
}

impl cases::Actionable for SubleaseRow {
    type Action = SubleaseAction;
    type Status = SubleaseStatus;

    fn version(&self) -> i32 {
        self.version
    }

    fn name(&self) -> String {
        format!("a sub-lease of kind {}", self.kind)
    }

    fn party_name(party: SubleaseParty) -> &'static str {
        party.as_str()
    }

    fn transition(
        &self,
        action: SubleaseAction,
        party: SubleaseParty,
    ) -> Result<SubleaseStatus, Refusal<SubleaseStatus, SubleaseAction>> {
        rules::transition(self.status, action, self.kind, party)
    }

    async fn allowed_actions(
        &self,
        conn: &mut AsyncPgConnection,
        caller: &Caller,
        _: SubleaseParty,
    ) -> Result<Vec<SubleaseAction>, ApiError> {
        allowed_actions(conn, caller, self).await
    }
}
