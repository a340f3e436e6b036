//! The types of referrals: the stored row, what each party is shown, and what partners
//! send (a new referral, each action's body, a comment, the list's filters). No logic but
//! the row's own readings.

use chrono::{DateTime, NaiveDate, Utc};
use diesel::prelude::*;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;
use validator::Validate;

use crate::fields::validate_not_blank;
use crate::households::model::{PriorityGround, SpecialGround};
use crate::identity::model::{CommissionKind, Mandate};
use crate::schema::{referral_comments, referrals};
use crate::text_enum;

text_enum! {
    /// Where a referral stands.
    pub enum ReferralStatus {
        /// Sent, not yet seen by the addressee.
        Submitted = "submitted",
        /// The addressee has seen it and is looking into it.
        Acknowledged = "acknowledged",
        /// The addressee takes the household on: a measure opens (`proposed` or `active`).
        Accepted = "accepted",
        /// The addressee does not take it on (with a coded reason).
        Declined = "declined",
        /// The referrer took it back.
        Withdrawn = "withdrawn",
        /// The addressee forwarded it to another operator (a new, linked referral).
        Transferred = "transferred",
        /// Unanswered past its deadline and the grace period: closed by the service.
        Expired = "expired",
        /// Another referral of the household for the same measure kind was accepted.
        Obsolete = "obsolete",
    }
}

text_enum! {
    /// What a party can do to a referral.
    pub enum ReferralAction {
        Acknowledge = "acknowledge",
        Accept = "accept",
        Decline = "decline",
        Withdraw = "withdraw",
        Transfer = "transfer",
        /// By the service only.
        Expire = "expire",
        /// By the service only.
        MakeObsolete = "obsolete",
    }
}

text_enum! {
    /// Why an operator declines a referral.
    pub enum DeclineReason {
        OutOfArea = "out_of_area",
        NotEligible = "not_eligible",
        NoCapacity = "no_capacity",
        HouseholdRefused = "household_refused",
        HouseholdUnreachable = "household_unreachable",
        Duplicate = "duplicate",
        /// Needs a comment.
        Other = "other",
    }
}

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = referrals)]
pub struct ReferralRow {
    pub id: Uuid,
    pub household_id: Uuid,
    pub referrer_organisation_id: Uuid,
    pub referrer_account_id: Uuid,
    pub addressee_organisation_id: Uuid,
    pub measure_kind: String,
    pub reason: String,
    pub priority_grounds: serde_json::Value,
    pub special_grounds: serde_json::Value,
    pub desired_start: Option<NaiveDate>,
    pub response_due_on: NaiveDate,
    pub status: ReferralStatus,
    pub decline_reason: Option<DeclineReason>,
    pub closing_comment: Option<String>,
    pub transferred_from_id: Option<Uuid>,
    pub transferred_to_id: Option<Uuid>,
    pub version: i32,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub mandate_commission: Option<CommissionKind>,
    pub mandate_reference: Option<String>,
    pub mandate_decided_on: Option<NaiveDate>,
}

impl ReferralRow {
    /// The commission's mandate it was sent under, when it was sent without consent.
    pub fn mandate(&self) -> Option<Mandate> {
        Some(Mandate {
            commission: self.mandate_commission?,
            decision_reference: self.mandate_reference.clone()?,
            decided_on: self.mandate_decided_on?,
        })
    }

    pub fn special(&self) -> Vec<SpecialGround> {
        serde_json::from_value(self.special_grounds.clone()).unwrap_or_default()
    }

    pub fn is_open(&self) -> bool {
        matches!(
            self.status,
            ReferralStatus::Submitted | ReferralStatus::Acknowledged
        )
    }

    /// Open and past its deadline.
    pub fn is_overdue(&self, today: NaiveDate) -> bool {
        self.is_open() && today > self.response_due_on
    }
}

/// A referral, as one of its two parties sees it.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[schema(example = json!({
    "id": "0193a5e0-0000-7000-8000-000000000001", "household_id": "0193a5d0-0000-7000-8000-000000000001",
    "referrer_organisation_id": "0193a5c2-0000-7000-8000-0000000000aa", "referrer_account_id": "0193a5c2-0000-7000-8000-0000000000ab",
    "addressee_organisation_id": "0193a5c2-7d1e-7b3a-9c4f-2f0e8d6b1a22", "measure_kind": "empex",
    "reason": "Three months of rent arrears; CCAPEX recommendation of 2026-11-20",
    "priority_grounds": ["eviction_threat"], "special_category_grounds": [],
    "desired_start": "2026-12-01", "response_due_on": "2026-12-07", "overdue": false,
    "status": "submitted", "decline_reason": null, "closing_comment": null,
    "transferred_from_id": null, "transferred_to_id": null,
    "mandate": {"commission": "ccapex", "decision_reference": "CCAPEX-53-2026-0412", "decided_on": "2026-11-20"},
    "allowed_actions": ["acknowledge", "transfer"],
    "version": 1, "created_at": "2026-11-22T18:51:05Z", "updated_at": "2026-11-22T18:51:05Z"
}))]
pub struct Referral {
    pub id: Uuid,
    pub household_id: Uuid,
    pub referrer_organisation_id: Uuid,
    pub referrer_account_id: Uuid,
    pub addressee_organisation_id: Uuid,
    /// A code of the measure catalogue (`GET /v1/measure-kinds`).
    pub measure_kind: String,
    /// Why the household is referred (*motif*).
    pub reason: String,
    /// The priority grounds at the time of the referral.
    pub priority_grounds: Vec<PriorityGround>,
    /// GDPR special categories at the time of the referral; absent for a landlord party.
    /// When present, the response was recorded in the household's read journal.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub special_category_grounds: Option<Vec<SpecialGround>>,
    /// The start the referrer wishes: the measure starts then (today if it is past).
    pub desired_start: Option<NaiveDate>,
    /// When the addressee's answer is due.
    pub response_due_on: NaiveDate,
    /// Open and past `response_due_on`.
    pub overdue: bool,
    pub status: ReferralStatus,
    /// Set when declined; the referrer always sees it.
    pub decline_reason: Option<DeclineReason>,
    /// The comment of the action that closed it (decline, withdrawal, transfer).
    pub closing_comment: Option<String>,
    pub transferred_from_id: Option<Uuid>,
    pub transferred_to_id: Option<Uuid>,
    /// The commission's mandate the referral was sent under, when the household had not
    /// consented to the sharing (its transfers carry it on); `null`: sent with the
    /// household's consent.
    pub mandate: Option<Mandate>,
    /// What the caller may do now (`POST /v1/referrals/{id}/{action}`): exactly the actions
    /// that would succeed (state, role and scope, and the state they depend on).
    pub allowed_actions: Vec<ReferralAction>,
    pub version: i32,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// A step of a referral's life.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Transition {
    pub id: Uuid,
    /// `submit`, `acknowledge`, `accept`, `decline`, `withdraw`, `transfer`, `expire`, `obsolete`.
    pub action: String,
    #[schema(value_type = Option<ReferralStatus>)]
    pub from_status: Option<String>,
    #[schema(value_type = ReferralStatus)]
    pub to_status: String,
    /// `null` when the service acted (expiry, obsolescence).
    pub actor_account_id: Option<Uuid>,
    pub actor_organisation_id: Option<Uuid>,
    pub comment: Option<String>,
    pub occurred_at: DateTime<Utc>,
}

impl From<crate::cases::TransitionRow> for Transition {
    fn from(t: crate::cases::TransitionRow) -> Self {
        Transition {
            id: t.id,
            action: t.action,
            from_status: t.from_status,
            to_status: t.to_status,
            actor_account_id: t.actor_account_id,
            actor_organisation_id: t.actor_organisation_id,
            comment: t.comment,
            occurred_at: t.occurred_at,
        }
    }
}

/// A comment on a referral, seen by both parties.
#[derive(Debug, Clone, Serialize, ToSchema, Queryable, Selectable)]
#[diesel(table_name = referral_comments)]
pub struct Comment {
    pub id: Uuid,
    pub author_account_id: Uuid,
    pub author_organisation_id: Uuid,
    pub body: String,
    pub created_at: DateTime<Utc>,
}

/// A new referral.
#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({
    "household_id": "0193a5d0-0000-7000-8000-000000000001",
    "addressee_organisation_id": "0193a5c2-7d1e-7b3a-9c4f-2f0e8d6b1a22",
    "measure_kind": "empex", "reason": "Three months of rent arrears; CCAPEX recommendation",
    "desired_start": "2026-12-01"
}))]
pub struct NewReferral {
    /// A household your organisation sees.
    pub household_id: Uuid,
    /// An organisation that operates measures (an association), not your own.
    pub addressee_organisation_id: Uuid,
    /// A code of `GET /v1/measure-kinds`.
    #[validate(length(min = 1, max = 40))]
    #[schema(min_length = 1, max_length = 40)]
    pub measure_kind: String,
    /// Why the household is referred.
    #[validate(length(min = 1, max = 4000), custom(function = "validate_not_blank"))]
    #[schema(min_length = 1, max_length = 4000, pattern = "\\S")]
    pub reason: String,
    /// Priority grounds at the time; default: the household's.
    #[validate(length(max = 6))]
    #[schema(max_items = 6)]
    pub priority_grounds: Option<Vec<PriorityGround>>,
    /// Special-category grounds at the time; default: the household's (if you may see them).
    #[validate(length(max = 3))]
    #[schema(max_items = 3)]
    pub special_category_grounds: Option<Vec<SpecialGround>>,
    /// The start the referrer wishes: the measure starts then (today if it is past).
    pub desired_start: Option<NaiveDate>,
    /// When the answer is due: not in the past (`in_past`); default: today plus the kind's
    /// `default_response_days` (30 when it has none).
    #[validate(custom(function = "crate::calendar::validate_not_past"))]
    pub response_due_on: Option<NaiveDate>,
    /// Without the household's consent to sharing: the decision of a commission your
    /// organisation is the secretariat of (`Organisation.commissions`), under whose mandate
    /// the household is referred. Recorded with the referral and in the household's record
    /// of sharings; its transfers carry it on.
    #[validate(nested)]
    pub mandate: Option<Mandate>,
}

/// A decline, with its coded reason.
#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"reason": "no_capacity", "comment": "No place before March"}))]
pub struct Decline {
    pub reason: DeclineReason,
    /// Required when `reason` is `other`.
    #[validate(length(min = 1, max = 4000))]
    #[schema(min_length = 1, max_length = 4000)]
    pub comment: Option<String>,
}

/// A withdrawal, with its reason.
#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"reason": "The household moved to another département"}))]
pub struct Withdrawal {
    #[validate(length(min = 1, max = 4000), custom(function = "validate_not_blank"))]
    #[schema(min_length = 1, max_length = 4000, pattern = "\\S")]
    pub reason: String,
}

/// A transfer to another operator.
#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"addressee_organisation_id": "0193a5c2-0000-7000-8000-0000000000cc", "comment": "Closer to the household's home"}))]
pub struct Transfer {
    /// The operator that receives the new, linked referral.
    pub addressee_organisation_id: Uuid,
    #[validate(length(min = 1, max = 4000))]
    #[schema(min_length = 1, max_length = 4000)]
    pub comment: Option<String>,
}

/// A comment on a referral.
#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"body": "Home visit planned on 2026-11-28"}))]
pub struct NewComment {
    #[validate(length(min = 1, max = 4000), custom(function = "validate_not_blank"))]
    #[schema(min_length = 1, max_length = 4000, pattern = "\\S")]
    pub body: String,
}

/// Which referrals: those the caller's organisation sent, or received.
#[derive(Debug, Clone, Copy, Deserialize, Serialize, ToSchema, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum Box_ {
    Sent,
    Received,
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ReferralFilters {
    /// `sent` or `received`; both when absent. `received` for an organisation that is not an
    /// association (only associations receive referrals) is a 422 `not_your_side`.
    #[param(value_type = Option<String>, pattern = "^(sent|received)$")]
    pub r#box: Option<Box_>,
    /// Only referrals in this status.
    pub status: Option<ReferralStatus>,
    /// A measure kind's code (`/v1/measure-kinds`): one the catalogue holds or held (422
    /// `unknown_measure_kind` otherwise).
    #[param(pattern = "^[a-z][a-z0-9_]{1,39}$")]
    pub measure_kind: Option<String>,
    /// Only this household's referrals.
    pub household_id: Option<Uuid>,
    /// `true`: only open referrals past their deadline; `false`: all others.
    pub overdue: Option<bool>,
    /// Only referrals changed at or after this instant.
    pub updated_since: Option<DateTime<Utc>>,
}
