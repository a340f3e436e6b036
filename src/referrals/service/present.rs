//! A referral as each party sees it: its side, the actions that would succeed, the
//! special-category grounds only for who handles them (journalled); and the referral as a
//! case of the kernel ([`crate::cases::Case`], [`crate::cases::Actionable`]).

use std::collections::HashMap;

use diesel_async::AsyncPgConnection;
use uuid::Uuid;

use super::super::model::{Referral, ReferralAction, ReferralRow, ReferralStatus};
use super::super::queries;
use super::super::rules::{self, Party};
use crate::auth::caller::Caller;
use crate::auth::policy::handles_special_categories;
use crate::cases::{self, CaseType, Refusal};
use crate::error::ApiError;
use crate::events::{self, NewEvent};
use crate::households::journal;

/// The caller's side of a referral, if any.
pub fn party_of(caller: &Caller, row: &ReferralRow) -> Option<Party> {
    party_of_organisation(caller.organisation_id?, row)
}

fn party_of_organisation(org: Uuid, row: &ReferralRow) -> Option<Party> {
    if org == row.referrer_organisation_id {
        Some(Party::Referrer)
    } else if org == row.addressee_organisation_id {
        Some(Party::Addressee)
    } else {
        None
    }
}

/// The actions the caller may take on each referral now: exactly those that would succeed
/// (a well-formed payload aside). The state table for its side ([`rules::allowed_actions`]),
/// if its role and token may write referrals, less an `accept` that the household's running
/// measure of the kind with this operator would refuse (409 `duplicate`), less a `transfer`
/// that the sharing rule would refuse (no consent in force, and no mandate of a commission
/// the referrer holds). Three statements for a whole page.
pub async fn allowed_actions(
    conn: &mut AsyncPgConnection,
    caller: &Caller,
    rows: &[ReferralRow],
) -> Result<HashMap<Uuid, Vec<ReferralAction>>, ApiError> {
    let may_write = crate::auth::policy::may(caller, crate::auth::policy::Action::WriteReferrals);
    let mut out: HashMap<Uuid, Vec<ReferralAction>> = rows
        .iter()
        .map(|r| {
            let actions = party_of(caller, r)
                .filter(|_| may_write)
                .map(|p| rules::allowed_actions(r.status, p))
                .unwrap_or_default();
            (r.id, actions)
        })
        .collect();
    let offered =
        |out: &HashMap<Uuid, Vec<ReferralAction>>, a: ReferralAction| -> Vec<&ReferralRow> {
            rows.iter()
                .filter(|r| out.get(&r.id).is_some_and(|v| v.contains(&a)))
                .collect()
        };
    let accepting = offered(&out, ReferralAction::Accept);
    if let Some(org) = caller.organisation_id.filter(|_| !accepting.is_empty()) {
        let households: Vec<Uuid> = accepting.iter().map(|r| r.household_id).collect();
        let running = crate::measures::service::running_kinds(conn, org, &households).await?;
        for r in accepting {
            if running.contains(&(r.household_id, r.measure_kind.clone())) {
                out.entry(r.id)
                    .or_default()
                    .retain(|a| *a != ReferralAction::Accept);
            }
        }
    }
    let transferring = offered(&out, ReferralAction::Transfer);
    if !transferring.is_empty() {
        let households: Vec<Uuid> = transferring.iter().map(|r| r.household_id).collect();
        let consenting = crate::households::sharing::consenting(conn, &households).await?;
        let referrers: Vec<Uuid> = transferring
            .iter()
            .map(|r| r.referrer_organisation_id)
            .collect();
        let held = crate::households::sharing::commissions_of_all(conn, &referrers).await?;
        for r in transferring {
            let commissions = held
                .get(&r.referrer_organisation_id)
                .cloned()
                .unwrap_or_default();
            let shareable = crate::auth::policy::sharing_basis(
                consenting.contains(&r.household_id),
                r.mandate().as_ref(),
                &commissions,
            )
            .is_ok();
            if !shareable {
                out.entry(r.id)
                    .or_default()
                    .retain(|a| *a != ReferralAction::Transfer);
            }
        }
    }
    Ok(out)
}

/// Shapes referrals for a party: special-category grounds only for those who handle them
/// ([`handles_special_categories`]), and the caller's `allowed_actions` (see
/// [`allowed_actions`]). Whoever returns the result journals those reads: by [`present`] in a
/// write's transaction, or by a [`journal::JournalledRead`] statement.
pub fn shape(
    caller: &Caller,
    rows: Vec<ReferralRow>,
    actions: &mut HashMap<Uuid, Vec<ReferralAction>>,
) -> Vec<Referral> {
    let sees_special = handles_special_categories(caller);
    let today = crate::calendar::today();
    rows.into_iter()
        .map(|row| {
            let mandate = row.mandate();
            let allowed_actions = actions.remove(&row.id).unwrap_or_default();
            Referral {
                id: row.id,
                household_id: row.household_id,
                referrer_organisation_id: row.referrer_organisation_id,
                referrer_account_id: row.referrer_account_id,
                addressee_organisation_id: row.addressee_organisation_id,
                overdue: row.is_overdue(today),
                special_category_grounds: sees_special.then(|| row.special()),
                measure_kind: row.measure_kind,
                reason: row.reason,
                priority_grounds: serde_json::from_value(row.priority_grounds).unwrap_or_default(),
                desired_start: row.desired_start,
                response_due_on: row.response_due_on,
                status: row.status,
                decline_reason: row.decline_reason,
                closing_comment: row.closing_comment,
                transferred_from_id: row.transferred_from_id,
                transferred_to_id: row.transferred_to_id,
                mandate,
                allowed_actions,
                version: row.version,
                created_at: row.created_at,
                updated_at: row.updated_at,
            }
        })
        .collect()
}

/// Shapes referrals for a party inside a transaction and journals the special-category
/// grounds it receives.
pub async fn present(
    conn: &mut AsyncPgConnection,
    caller: &Caller,
    rows: Vec<ReferralRow>,
) -> Result<Vec<Referral>, ApiError> {
    let mut actions = allowed_actions(conn, caller, &rows).await?;
    let views = shape(caller, rows, &mut actions);
    let reads: Vec<_> = views
        .iter()
        .filter_map(|v| Some((v.household_id, v.special_category_grounds.clone()?)))
        .collect();
    journal::record(conn, caller, &reads).await?;
    Ok(views)
}

impl crate::cases::Case for ReferralRow {
    const TYPE: CaseType = CaseType::Referral;
    type Party = Party;

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
    ) -> Result<Option<Party>, ApiError> {
        Ok(party_of_organisation(org, self))
    }

    async fn load(
        conn: &mut AsyncPgConnection,
        id: Uuid,
        lock: bool,
    ) -> Result<Option<Self>, ApiError> {
        queries::find(conn, id, lock).await
    }

    /// `referral.<status>` to both parties: ids and status only, each party fetches what
    /// its part allows.
    fn status_event(&self) -> Result<NewEvent, ApiError> {
        let event_type = match self.status {
            ReferralStatus::Submitted => "referral.submitted",
            ReferralStatus::Acknowledged => "referral.acknowledged",
            ReferralStatus::Accepted => "referral.accepted",
            ReferralStatus::Declined => "referral.declined",
            ReferralStatus::Withdrawn => "referral.withdrawn",
            ReferralStatus::Transferred => "referral.transferred",
            ReferralStatus::Expired => "referral.expired",
            ReferralStatus::Obsolete => "referral.obsolete",
        };
        Ok(NewEvent {
            event_type,
            subject_type: "referral",
            subject_id: self.id,
            data: events::data(&crate::referrals::events::ReferralEventData::from(self))?,
            recipients: vec![
                self.referrer_organisation_id,
                self.addressee_organisation_id,
            ],
            for_platform: false,
        })
    }
}

impl cases::Actionable for ReferralRow {
    type Action = ReferralAction;
    type Status = ReferralStatus;
    fn version(&self) -> i32 {
        self.version
    }

    fn name(&self) -> String {
        "a referral".into()
    }

    fn party_name(party: Party) -> &'static str {
        party.as_str()
    }

    fn transition(
        &self,
        action: ReferralAction,
        party: Party,
    ) -> Result<ReferralStatus, Refusal<ReferralStatus, ReferralAction>> {
        rules::transition(self.status, action, party)
    }

    async fn allowed_actions(
        &self,
        conn: &mut AsyncPgConnection,
        caller: &Caller,
        _: Party,
    ) -> Result<Vec<ReferralAction>, ApiError> {
        Ok(allowed_actions(conn, caller, std::slice::from_ref(self))
            .await?
            .remove(&self.id)
            .unwrap_or_default())
    }
}
