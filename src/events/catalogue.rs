//! Every kind of event, with the shape of its `data`: one place that the code appends from
//! and the spec describes (`Event` is a union discriminated by `type`, one schema a kind).
//!
//! Case and housing events carry ids, statuses and coded reasons only: each party fetches
//! the subject to see what its part allows (and a read of special categories is journalled).

/// A kind of event: its `type`, the component that describes its `data`, what it means.
pub struct EventKind {
    pub name: &'static str,
    pub data: &'static str,
    pub meaning: &'static str,
}

const fn kind(name: &'static str, data: &'static str, meaning: &'static str) -> EventKind {
    EventKind {
        name,
        data,
        meaning,
    }
}

/// Every event the service emits. `events::append` refuses any other type.
pub const EVENT_KINDS: &[EventKind] = &[
    kind(
        "organisation.created",
        "Organisation",
        "An organisation joined the platform",
    ),
    kind(
        "organisation.updated",
        "Organisation",
        "An organisation's details changed",
    ),
    kind(
        "account.created",
        "Account",
        "An account was created in your organisation",
    ),
    kind(
        "account.updated",
        "Account",
        "An account's name, role or scopes changed",
    ),
    kind(
        "account.deactivated",
        "Account",
        "An account was deactivated: its tokens stopped working",
    ),
    kind(
        "account.reactivated",
        "Account",
        "An account was reactivated",
    ),
    kind(
        "account.credentials_reset",
        "Account",
        "A password was reset or a client secret rotated",
    ),
    kind(
        "household.created",
        "HouseholdEventData",
        "A household was registered",
    ),
    kind(
        "household.updated",
        "HouseholdEventData",
        "A household's details changed",
    ),
    kind(
        "household.consent_recorded",
        "HouseholdEventData",
        "The household's consent to sharing was recorded",
    ),
    kind(
        "household.consent_withdrawn",
        "HouseholdEventData",
        "The household withdrew its consent to sharing",
    ),
    kind(
        "referral.submitted",
        "ReferralEventData",
        "A referral was sent",
    ),
    kind(
        "referral.acknowledged",
        "ReferralEventData",
        "The addressee is looking into the referral",
    ),
    kind(
        "referral.accepted",
        "ReferralEventData",
        "The addressee takes the household on",
    ),
    kind(
        "referral.declined",
        "ReferralEventData",
        "The addressee declined, with a coded reason",
    ),
    kind(
        "referral.withdrawn",
        "ReferralEventData",
        "The referrer took the referral back",
    ),
    kind(
        "referral.transferred",
        "ReferralEventData",
        "The addressee passed the referral on (a new one follows)",
    ),
    kind(
        "referral.expired",
        "ReferralEventData",
        "Unanswered past its deadline and grace, the referral expired",
    ),
    kind(
        "referral.obsolete",
        "ReferralEventData",
        "Another referral of the household for the same measure kind was accepted",
    ),
    kind(
        "referral.commented",
        "ReferralCommentEventData",
        "A comment was added to the referral",
    ),
    kind("unit.created", "UnitEventData", "A unit was registered"),
    kind(
        "unit.updated",
        "UnitEventData",
        "A unit's details or agreement changed",
    ),
    kind(
        "unit.status_changed",
        "UnitEventData",
        "A unit became available, reserved, occupied or unavailable",
    ),
    kind(
        "agreement.proposed",
        "AgreementEventData",
        "A landlord proposed an agreement",
    ),
    kind(
        "agreement.accepted",
        "AgreementEventData",
        "The association accepted the agreement",
    ),
    kind(
        "agreement.declined",
        "AgreementEventData",
        "The association declined the agreement",
    ),
    kind(
        "agreement.terminated",
        "AgreementEventData",
        "A party ended the agreement",
    ),
    kind(
        "agreement.expired",
        "AgreementEventData",
        "The agreement's period ended",
    ),
    kind(
        "agreement.units_attached",
        "AgreementEventData",
        "Units were attached to the agreement (`unit_ids`)",
    ),
    kind(
        "proposal.submitted",
        "ProposalEventData",
        "An association proposed a household for a unit",
    ),
    kind(
        "proposal.accepted",
        "ProposalEventData",
        "The landlord accepted the proposal: the unit is reserved",
    ),
    kind(
        "proposal.declined",
        "ProposalEventData",
        "The landlord declined the proposal",
    ),
    kind(
        "proposal.withdrawn",
        "ProposalEventData",
        "The association withdrew the proposal",
    ),
    kind(
        "sublease.planned",
        "SubleaseEventData",
        "A sub-lease was signed, to start on its date",
    ),
    kind(
        "sublease.activated",
        "SubleaseEventData",
        "The household moved in",
    ),
    kind(
        "sublease.glided",
        "SubleaseEventData",
        "The lease glided to the household's own name",
    ),
    kind(
        "sublease.ended",
        "SubleaseEventData",
        "The sub-lease ended, with a coded reason",
    ),
    kind(
        "sublease.arrears_recorded",
        "ArrearsEventData",
        "Rent arrears were recorded on the sub-lease",
    ),
    kind(
        "measure.proposed",
        "MeasureEventData",
        "A measure was opened and waits for the funder's decision",
    ),
    kind(
        "measure.started",
        "MeasureEventData",
        "A measure started (opened active, decided, or resumed)",
    ),
    kind(
        "measure.suspended",
        "MeasureEventData",
        "A measure was suspended: its planned end moved",
    ),
    kind(
        "measure.closed",
        "MeasureEventData",
        "A measure ended, with its outcomes",
    ),
    kind(
        "measure.cancelled",
        "MeasureEventData",
        "A proposed measure was given up",
    ),
    kind(
        "measure.extended",
        "MeasureEventData",
        "A renewal was granted: the planned end moved",
    ),
    kind(
        "measure.updated",
        "MeasureEventData",
        "A measure's worker, funder or programme changed",
    ),
    kind(
        "measure.contact_recorded",
        "MeasureContactEventData",
        "A contact with the household was logged (its note never leaves the operator)",
    ),
    kind(
        "measure.contact_corrected",
        "MeasureContactEventData",
        "The operator corrected a contact logged with a mistake: the rhythm was computed again",
    ),
    kind(
        "measure.contact_removed",
        "MeasureContactEventData",
        "The operator removed a contact logged by mistake: the rhythm and the count were computed again",
    ),
    kind(
        "renewal.requested",
        "RenewalEventData",
        "The operator asked the funder to renew a measure",
    ),
    kind(
        "renewal.granted",
        "RenewalEventData",
        "The funder granted a renewal",
    ),
    kind(
        "renewal.refused",
        "RenewalEventData",
        "The funder refused a renewal, with a coded reason",
    ),
    kind(
        "renewal.withdrawn",
        "RenewalEventData",
        "The operator withdrew a renewal request before its decision",
    ),
    kind(
        "objective.created",
        "ObjectiveEventData",
        "An objective was set (the operator's feed only)",
    ),
    kind(
        "objective.updated",
        "ObjectiveEventData",
        "An objective changed (the operator's feed only)",
    ),
    kind(
        "programme.created",
        "ProgrammeEventData",
        "A programme was created (its funder's and its operators' feeds)",
    ),
    kind(
        "programme.updated",
        "ProgrammeEventData",
        "A programme changed: places, period, operators (an operator taken away is told too)",
    ),
    kind(
        "webhook_endpoint.created",
        "WebhookEndpointEventData",
        "A webhook endpoint was registered for your organisation (the actor says by whom)",
    ),
    kind(
        "webhook_endpoint.updated",
        "WebhookEndpointEventData",
        "A webhook endpoint of your organisation changed: URL, types, enabled or disabled by request, secret rotated",
    ),
    kind(
        "webhook_endpoint.deleted",
        "WebhookEndpointEventData",
        "A webhook endpoint of your organisation was deleted",
    ),
    kind(
        "webhook_endpoint.disabled",
        "WebhookEndpointEventData",
        "A webhook endpoint of your organisation was disabled: it answered 410 Gone, or failed for 5 days without a success (`disabled_reason`)",
    ),
];

/// The kind of a type, if the service emits it.
pub fn kind_of(name: &str) -> Option<&'static EventKind> {
    EVENT_KINDS.iter().find(|k| k.name == name)
}
