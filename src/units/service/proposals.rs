//! The use cases of proposals, each inside the transaction its caller gives: propose a
//! household for a unit, read, list, and the parties' answers (accept, decline, withdraw);
//! and the proposal as a case of the kernel.

use diesel_async::AsyncPgConnection;
use uuid::Uuid;

use super::super::model::{
    NewProposal, Proposal, ProposalAction, ProposalContext, ProposalDecline, ProposalDeclineReason,
    ProposalFilters, ProposalRow, ProposalStatus, UnitStatus,
};
use super::super::queries::proposals as queries;
use super::super::queries::proposals::NewProposalRow;
use super::super::queries::{find_visible_unit, lock_unit, sublet_pairs};
use super::super::rules::{self, Party};
use super::{release_unit, set_unit_status};
use crate::auth::caller::Caller;
use crate::auth::policy::Action;
use crate::cases::{self, CaseType, Step};
use crate::db;
use crate::db::Page;
use crate::error::{ApiError, FieldError};
use crate::events::{self, NewEvent};
use crate::households::queries::Summaries;
use crate::http::concurrency::IfMatch;
use crate::http::pagination::PageOf;
use crate::identity::model::OrganisationKind;
use crate::referrals::model::Withdrawal;

/// Views for the organisation, each with its household's summary.
pub async fn present(
    conn: &mut AsyncPgConnection,
    caller: &Caller,
    rows: Vec<ProposalRow>,
) -> Result<Vec<Proposal>, ApiError> {
    let org = caller.partner_organisation()?;
    let may_write = crate::auth::policy::may(caller, Action::WriteHousing);
    let ids: Vec<Uuid> = rows.iter().map(|r| r.household_id).collect();
    let summaries = Summaries::load(conn, &ids).await?;
    let sublet = sublet_pairs(conn, &rows).await?;
    let unit_ids: Vec<Uuid> = rows.iter().map(|r| r.unit_id).collect();
    let available = queries::available_units(conn, &unit_ids).await?;
    rows.into_iter()
        .map(|r| {
            let household = summaries.get(r.household_id)?;
            let context = ProposalContext {
                sublet: sublet.contains(&(r.unit_id, r.household_id)),
                unit_available: available.contains(&r.unit_id),
                may_write,
            };
            Ok(Proposal::view(r, household, org, context))
        })
        .collect()
}

impl cases::Case for ProposalRow {
    const TYPE: CaseType = CaseType::Proposal;
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
        Ok(Party::of(
            org,
            self.landlord_organisation_id,
            self.association_organisation_id,
        ))
    }

    async fn load(
        conn: &mut AsyncPgConnection,
        id: Uuid,
        lock: bool,
    ) -> Result<Option<Self>, ApiError> {
        queries::find(conn, id, lock).await
    }

    /// `proposal.<status>` to both parties: ids and status only.
    fn status_event(&self) -> Result<NewEvent, ApiError> {
        let event_type = match self.status {
            ProposalStatus::Proposed => "proposal.submitted",
            ProposalStatus::Accepted => "proposal.accepted",
            ProposalStatus::Declined => "proposal.declined",
            ProposalStatus::Withdrawn => "proposal.withdrawn",
        };
        Ok(NewEvent {
            event_type,
            subject_type: "proposal",
            subject_id: self.id,
            data: events::data(&crate::units::events::ProposalEventData::from(self))?,
            recipients: vec![
                self.association_organisation_id,
                self.landlord_organisation_id,
            ],
            for_platform: false,
        })
    }
}

/// Moves a proposal to `to` (accepted, declined with its reason, withdrawn), the comment
/// going with a decline or a withdrawal; tells both parties.
async fn close(
    conn: &mut AsyncPgConnection,
    caller: Option<&Caller>,
    row: &ProposalRow,
    to: ProposalStatus,
    reason: Option<ProposalDeclineReason>,
    comment: Option<&str>,
) -> Result<ProposalRow, ApiError> {
    let comment = comment.map(str::trim);
    let (decline_comment, withdrawal_reason) = match to {
        ProposalStatus::Withdrawn => (None, comment),
        _ => (comment, None),
    };
    let updated =
        queries::update_status(conn, row.id, to, reason, decline_comment, withdrawal_reason)
            .await?;
    let action = match to {
        ProposalStatus::Proposed => "propose",
        ProposalStatus::Accepted => "accept",
        ProposalStatus::Declined => "decline",
        ProposalStatus::Withdrawn => "withdraw",
    };
    cases::record(
        conn,
        caller,
        &updated,
        Step::new(action, Some(row.status.as_str()))
            .comment(comment)
            .reason(reason.map(|r| r.as_str())),
    )
    .await?;
    Ok(updated)
}

/// Declines an open proposal because its unit is no longer available (another was accepted,
/// the agreement ended). Does nothing to a proposal already answered.
pub async fn close_as_unavailable(
    conn: &mut AsyncPgConnection,
    caller: Option<&Caller>,
    id: Uuid,
    comment: &str,
) -> Result<(), ApiError> {
    let row = queries::find(conn, id, true)
        .await?
        .ok_or(ApiError::NotFound)?;
    if row.status == ProposalStatus::Proposed {
        close(
            conn,
            caller,
            &row,
            ProposalStatus::Declined,
            Some(ProposalDeclineReason::UnitNoLongerAvailable),
            Some(comment),
        )
        .await?;
    }
    Ok(())
}

/// Only an association proposes households for units: 403 otherwise.
pub fn check_association(caller: &Caller) -> Result<(), ApiError> {
    if caller.organisation_kind == Some(OrganisationKind::Association) {
        Ok(())
    } else {
        Err(ApiError::Forbidden(
            "associations propose households for units".into(),
        ))
    }
}

/// Proposes a household for an available unit that an active agreement of the caller's
/// association makes available (403 otherwise); the household shared with the landlord by
/// the one sharing rule. 409 when the unit is not available, or the household is already
/// proposed for it (`existing_id`).
pub async fn create(
    conn: &mut AsyncPgConnection,
    caller: &Caller,
    unit_id: Uuid,
    new: NewProposal,
    mut errors: Vec<FieldError>,
) -> Result<Proposal, ApiError> {
    let org = caller.partner_organisation()?;
    let unit = find_visible_unit(conn, org, unit_id, false).await?;
    let covered = queries::is_active_agreement_of(conn, unit.agreement_id, org).await?;
    if !covered {
        return Err(ApiError::Forbidden(
            "no active agreement of your organisation covers this unit".into(),
        ));
    }
    let shared = crate::households::sharing::find_to_share(
        conn,
        caller,
        new.household_id,
        None,
        ("household_id", "household_id"),
        &mut errors,
    )
    .await?;
    if !errors.is_empty() {
        return Err(ApiError::Validation(errors));
    }
    if unit.status != UnitStatus::Available {
        return Err(ApiError::not_now(
            format!(
                "households are proposed for available units; this one is {}",
                unit.status
            ),
            unit.status.as_str(),
            &[],
        ));
    }
    // One open proposal of a household for a unit: the partial unique index
    // `proposals_one_open` decides; the lock makes a racing request's answer this 409.
    db::lock_for_rule(
        conn,
        "open_proposal",
        &format!("{}|{}", unit.id, new.household_id),
    )
    .await?;
    let existing = queries::open_for(conn, unit.id, new.household_id).await?;
    if let Some(existing) = existing {
        return Err(ApiError::duplicate(
            "this household is already proposed for this unit",
            existing,
        ));
    }
    let row = queries::insert(
        conn,
        NewProposalRow {
            id: Uuid::now_v7(),
            unit_id: unit.id,
            household_id: new.household_id,
            association_organisation_id: org,
            landlord_organisation_id: unit.holder_organisation_id,
            proposed_by_account_id: caller.account_id,
            comment: new.comment.as_deref().map(str::trim),
            status: ProposalStatus::Proposed,
        },
    )
    .await?;
    cases::record(conn, Some(caller), &row, Step::new("propose", None)).await?;
    if let Some((household, basis)) = &shared {
        crate::households::sharing::share_if_new(
            conn,
            crate::households::sharing::Sharing {
                household: household.id,
                to: row.landlord_organisation_id,
                by: org,
                actor: Some(caller.account_id),
                path: crate::households::sharing::SharingPath::Proposal,
                case_id: row.id,
                basis,
            },
        )
        .await?;
    }
    Ok(present(conn, caller, vec![row]).await?.remove(0))
}

/// The proposal `id` as the caller's side sees it (404 for a non-party).
pub async fn get(
    conn: &mut AsyncPgConnection,
    caller: &Caller,
    id: Uuid,
) -> Result<Proposal, ApiError> {
    let org = caller.partner_organisation()?;
    let (row, _) = cases::find_as_party::<ProposalRow>(conn, org, id, false).await?;
    Ok(present(conn, caller, vec![row]).await?.remove(0))
}

/// A page of the proposals the caller's organisation made or received, as filtered.
pub async fn list(
    conn: &mut AsyncPgConnection,
    caller: &Caller,
    filters: &ProposalFilters,
    page: Page,
) -> Result<PageOf<Proposal>, ApiError> {
    let org = caller.partner_organisation()?;
    let rows = queries::list(conn, org, filters, page).await?;
    let (rows, more) = page.split(rows);
    let views = present(conn, caller, rows).await?;
    Ok(PageOf::new(views, more, |v: &Proposal| v.id))
}

/// What a party does to a proposal, with what the action carries.
pub enum Answer {
    Accept,
    Decline(ProposalDecline),
    Withdraw(Withdrawal),
}

impl Answer {
    pub fn action(&self) -> ProposalAction {
        match self {
            Answer::Accept => ProposalAction::Accept,
            Answer::Decline(_) => ProposalAction::Decline,
            Answer::Withdraw(_) => ProposalAction::Withdraw,
        }
    }
}

/// Answers the proposal `id` for the caller's side: party (404), If-Match (412), who takes
/// the action (403), the state table (409, a sub-let proposal is no longer withdrawn), then
/// its effects on the unit and on the unit's other proposals.
pub async fn act(
    conn: &mut AsyncPgConnection,
    caller: &Caller,
    id: Uuid,
    if_match: &IfMatch,
    answer: Answer,
) -> Result<Proposal, ApiError> {
    let org = caller.partner_organisation()?;
    let action = answer.action();
    let (row, party) = cases::find_as_party::<ProposalRow>(conn, org, id, true).await?;
    if_match.check(row.version)?;
    if rules::proposal_actor(action) != party {
        return Err(ApiError::Forbidden(match party {
            Party::Association => {
                format!("the landlord answers a proposal; the association may not {action} it")
            }
            Party::Landlord => "the association that made a proposal withdraws it".to_owned(),
        }));
    }
    let sublet = sublet_pairs(conn, std::slice::from_ref(&row))
        .await?
        .contains(&(row.unit_id, row.household_id));
    let to = rules::proposal_transition(row.status, action, sublet).ok_or_else(|| {
        ApiError::not_now(
            if sublet && action == ProposalAction::Withdraw {
                "the unit has been sub-let to this household: the sub-lease, not \
                     the proposal, is what ends"
                    .to_owned()
            } else {
                format!(
                    "`{action}` is not possible on a proposal that is {}",
                    row.status
                )
            },
            row.status.as_str(),
            &rules::proposal_actions(row.status, party, sublet)
                .iter()
                .map(|a| a.as_str())
                .collect::<Vec<_>>(),
        )
    })?;
    let updated = match &answer {
        Answer::Decline(d) => {
            if d.reason == ProposalDeclineReason::Other && d.comment.is_none() {
                return Err(ApiError::invalid(
                    "comment",
                    "required",
                    "a decline for `other` reasons needs a comment",
                ));
            }
            close(
                conn,
                Some(caller),
                &row,
                to,
                Some(d.reason),
                d.comment.as_deref(),
            )
            .await?
        }
        Answer::Accept => {
            let unit = lock_unit(conn, row.unit_id).await?;
            if unit.status != UnitStatus::Available {
                // The proposal stays open: the landlord may still decline it.
                let allowed: Vec<&str> = rules::proposal_actions(row.status, party, false)
                    .into_iter()
                    .filter(|a| *a != ProposalAction::Accept)
                    .map(|a| a.as_str())
                    .collect();
                return Err(ApiError::not_now(
                    format!(
                        "the unit is {}: it can no longer be kept for this household",
                        unit.status
                    ),
                    row.status.as_str(),
                    &allowed,
                ));
            }
            let accepted = close(conn, Some(caller), &row, to, None, None).await?;
            set_unit_status(conn, Some(caller), unit.id, UnitStatus::Reserved).await?;
            let others = queries::other_open(conn, unit.id, row.id).await?;
            for other in others {
                close_as_unavailable(
                    conn,
                    Some(caller),
                    other,
                    "another household's proposal for this unit was accepted",
                )
                .await?;
            }
            accepted
        }
        Answer::Withdraw(w) => {
            let was_accepted = row.status == ProposalStatus::Accepted;
            let withdrawn = close(conn, Some(caller), &row, to, None, Some(&w.reason)).await?;
            if was_accepted {
                release_unit(conn, caller, row.unit_id, crate::calendar::today()).await?;
            }
            withdrawn
        }
    };
    Ok(present(conn, caller, vec![updated]).await?.remove(0))
}

impl Proposal {
    pub fn view(
        row: ProposalRow,
        household: crate::households::model::HouseholdSummary,
        viewer: Uuid,
        context: ProposalContext,
    ) -> Proposal {
        let party = super::rules::Party::of(
            viewer,
            row.landlord_organisation_id,
            row.association_organisation_id,
        );
        Proposal {
            id: row.id,
            unit_id: row.unit_id,
            household,
            association_organisation_id: row.association_organisation_id,
            landlord_organisation_id: row.landlord_organisation_id,
            proposed_by_account_id: row.proposed_by_account_id,
            comment: row.comment,
            status: row.status,
            decline_reason: row.decline_reason,
            decline_comment: row.decline_comment,
            withdrawal_reason: row.withdrawal_reason,
            allowed_actions: party
                .filter(|_| context.may_write)
                .map(|p| {
                    let mut actions = super::rules::proposal_actions(row.status, p, context.sublet);
                    actions.retain(|a| *a != ProposalAction::Accept || context.unit_available);
                    actions
                })
                .unwrap_or_default(),
            version: row.version,
            created_at: row.created_at,
            updated_at: row.updated_at,
        }
    }
}
