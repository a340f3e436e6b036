//! The use cases of referrals, each inside the transaction its caller gives: send, read,
//! list, act (acknowledge, accept, decline, withdraw, transfer), comment; the service's own
//! expiry and obsolescence. Checks against stored data, state changes, the history step
//! and the events are here; statements are in [`super::queries`], the state table in
//! [`super::rules`]; what each party is shown, in [`present`].

mod present;

pub use present::{allowed_actions, party_of, present, shape};

use chrono::{Duration, NaiveDate};
use diesel_async::AsyncPgConnection;
use uuid::Uuid;

use super::model::{
    Comment, Decline, DeclineReason, NewComment, NewReferral, Referral, ReferralAction,
    ReferralFilters, ReferralRow, ReferralStatus, Transfer, Withdrawal,
};
use super::queries::{self, ClosingDetails, NewReferralRow};

use crate::auth::caller::Caller;
use crate::auth::policy::SharingBasis;
use crate::cases::{self, Step};
use crate::db::Page;
use crate::error::{ApiError, FieldError, OptionalFound};
use crate::events::{self, NewEvent};
use crate::households::{journal, sharing};
use crate::http::concurrency::IfMatch;
use crate::http::pagination::PageOf;
use crate::identity::model::OrganisationKind;
use crate::measures::service::kinds as catalogue;

/// Answers are due this many days after submission when the measure kind says nothing.
pub const DEFAULT_RESPONSE_DAYS: i64 = 30;

/// The deadline of a referral sent today (French legal date) for a kind that answers in
/// `response_days`.
pub fn default_due(response_days: Option<i32>) -> NaiveDate {
    crate::calendar::today()
        + Duration::days(
            response_days
                .map(i64::from)
                .unwrap_or(DEFAULT_RESPONSE_DAYS),
        )
}

/// Moves a locked referral to `to` by `action` (already allowed by the rules).
pub async fn apply(
    conn: &mut AsyncPgConnection,
    actor: Option<&Caller>,
    row: &ReferralRow,
    action: ReferralAction,
    to: ReferralStatus,
    comment: Option<&str>,
    changes: ClosingDetails,
) -> Result<ReferralRow, ApiError> {
    let updated = queries::update_status(conn, row, to, changes).await?;
    cases::record(
        conn,
        actor,
        &updated,
        Step::new(action.as_str(), Some(row.status.as_str()))
            .comment(comment)
            .reason(
                updated
                    .decline_reason
                    .filter(|_| action == ReferralAction::Decline)
                    .map(|r| r.as_str()),
            ),
    )
    .await?;
    Ok(updated)
}

/// On acceptance, the household's other open referrals for the same measure kind are
/// obsolete.
pub async fn make_others_obsolete(
    conn: &mut AsyncPgConnection,
    accepted: &ReferralRow,
) -> Result<(), ApiError> {
    let others = queries::open_siblings(conn, accepted).await?;
    for other in others {
        apply(
            conn,
            None,
            &other,
            ReferralAction::MakeObsolete,
            ReferralStatus::Obsolete,
            Some("another referral of the household for this measure was accepted"),
            ClosingDetails::default(),
        )
        .await?;
    }
    Ok(())
}

/// The scheduled expiry: open referrals past their deadline and the grace period. Runs
/// under the job's advisory lock; the status guard of the UPDATE makes a second run a no-op.
pub async fn expire_overdue(
    conn: &mut AsyncPgConnection,
    today: NaiveDate,
    grace_days: i64,
) -> Result<usize, ApiError> {
    let limit = today - Duration::days(grace_days);
    let due = queries::overdue(conn, limit).await?;
    let n = due.len();
    for row in due {
        apply(
            conn,
            None,
            &row,
            ReferralAction::Expire,
            ReferralStatus::Expired,
            Some("no answer before the deadline"),
            ClosingDetails::default(),
        )
        .await?;
    }
    Ok(n)
}

/// Checks an addressee: it exists, operates measures, is not the referrer; what is wrong is
/// pushed to `errors` on `field`.
async fn check_addressee(
    conn: &mut AsyncPgConnection,
    field: &str,
    addressee: Uuid,
    referrer: Uuid,
    errors: &mut Vec<FieldError>,
) -> Result<(), ApiError> {
    if addressee == referrer {
        errors.push(FieldError::new(
            field,
            "own_organisation",
            "a referral goes to another organisation",
        ));
        return Ok(());
    }
    match crate::identity::queries::find_organisation(conn, addressee)
        .await
        .optional_found()?
    {
        None => errors.push(FieldError::new(
            field,
            "unknown_organisation",
            "no such organisation",
        )),
        Some(o) if o.kind != OrganisationKind::Association => errors.push(FieldError::new(
            field,
            "not_an_operator",
            "this organisation operates no support measure (only associations do)",
        )),
        Some(_) => {}
    }
    Ok(())
}

/// Sends a referral: the household shared by the one sharing rule, the addressee an
/// operator, the kind offered in the caller's département; field rules (`errors`, from the
/// body's validation) and database rules are reported together (422).
pub async fn create(
    conn: &mut AsyncPgConnection,
    caller: &Caller,
    new: NewReferral,
    mut errors: Vec<FieldError>,
) -> Result<Referral, ApiError> {
    let org = caller.partner_organisation()?;
    let household = sharing::find_to_share(
        conn,
        caller,
        new.household_id,
        new.mandate.as_ref(),
        ("household_id", "mandate.commission"),
        &mut errors,
    )
    .await?;
    check_addressee(
        conn,
        "addressee_organisation_id",
        new.addressee_organisation_id,
        org,
        &mut errors,
    )
    .await?;
    // A département's own kind is offered to the organisations of that département.
    let department = crate::identity::queries::department_of(conn, org).await?;
    let kind = catalogue::check_offered(
        conn,
        "measure_kind",
        &new.measure_kind,
        &department,
        &mut errors,
    )
    .await?;
    if !errors.is_empty() {
        return Err(ApiError::Validation(errors));
    }
    let (household, basis) = household.expect("checked above");
    let kind = kind.expect("checked above");
    let mandate = match &basis {
        SharingBasis::Mandate(m) => Some(m),
        SharingBasis::Consent => None,
    };
    let landlord = caller.organisation_kind == Some(OrganisationKind::SocialLandlord);
    if landlord
        && new
            .special_category_grounds
            .as_ref()
            .is_some_and(|g| !g.is_empty())
    {
        return Err(ApiError::Forbidden(
            "a landlord does not handle special-category grounds".into(),
        ));
    }
    let sees_special = !landlord;
    let priority = match &new.priority_grounds {
        Some(g) => serde_json::to_value(g).map_err(ApiError::internal)?,
        None => household.priority_grounds.clone(),
    };
    let special = match &new.special_category_grounds {
        Some(g) => serde_json::to_value(g).map_err(ApiError::internal)?,
        None if sees_special => household.special_grounds.clone(),
        None => serde_json::json!([]),
    };
    let row = queries::insert(
        conn,
        NewReferralRow {
            id: Uuid::now_v7(),
            household_id: household.id,
            referrer_organisation_id: org,
            referrer_account_id: caller.account_id,
            addressee_organisation_id: new.addressee_organisation_id,
            measure_kind: &kind.code,
            reason: new.reason.trim(),
            priority_grounds: &priority,
            special_grounds: &special,
            desired_start: new.desired_start,
            response_due_on: new
                .response_due_on
                .unwrap_or_else(|| default_due(kind.default_response_days)),
            status: ReferralStatus::Submitted,
            transferred_from_id: None,
            mandate_commission: mandate.map(|m| m.commission),
            mandate_reference: mandate.map(|m| m.decision_reference.trim()),
            mandate_decided_on: mandate.map(|m| m.decided_on),
        },
    )
    .await?;
    cases::record(conn, Some(caller), &row, Step::new("submit", None)).await?;
    sharing::record(
        conn,
        sharing::Sharing {
            household: household.id,
            to: row.addressee_organisation_id,
            by: org,
            actor: Some(caller.account_id),
            path: sharing::SharingPath::Referral,
            case_id: row.id,
            basis: &basis,
        },
    )
    .await?;
    Ok(present(conn, caller, vec![row]).await?.remove(0))
}

/// The referral `id` as the caller's side sees it (404 for a non-party), its
/// special-category grounds journalled.
pub async fn get(
    conn: &mut AsyncPgConnection,
    caller: &Caller,
    id: Uuid,
) -> Result<Referral, ApiError> {
    let org = caller.partner_organisation()?;
    let rows = journal::load(
        conn,
        caller,
        queries::party_query(org, id),
        "household_id",
        1,
    )
    .await?;
    let mut actions = allowed_actions(conn, caller, &rows).await?;
    shape(caller, rows, &mut actions)
        .pop()
        .ok_or(ApiError::NotFound)
}

/// A page of the referrals the caller's organisation is party to, as filtered (422
/// `not_your_side` for `box=received` outside associations, `unknown_measure_kind` for a
/// kind the catalogue never held).
pub async fn list(
    conn: &mut AsyncPgConnection,
    caller: &Caller,
    filters: &ReferralFilters,
    page: Page,
) -> Result<PageOf<Referral>, ApiError> {
    let org = caller.partner_organisation()?;
    if filters.r#box == Some(super::model::Box_::Received)
        && caller.organisation_kind != Some(OrganisationKind::Association)
    {
        return Err(cases::not_your_side(
            "box",
            "your organisation's kind never receives a referral: referrals go to the \
             associations that operate support measures",
        ));
    }
    if let Some(kind) = &filters.measure_kind {
        catalogue::check_kind_filter(conn, "measure_kind", kind).await?;
    }
    let q = queries::list(org, filters, page, crate::calendar::today());
    let rows = journal::load(conn, caller, q, "household_id", page.limit).await?;
    let (rows, more) = page.split(rows);
    let mut actions = allowed_actions(conn, caller, &rows).await?;
    let views = shape(caller, rows, &mut actions);
    Ok(PageOf::new(views, more, |v| v.id))
}

/// What an action carries.
pub enum Payload {
    None,
    Decline(Decline),
    Withdraw(Withdrawal),
    Transfer(Transfer),
}

/// Takes `action` on the referral `id` for the caller's side ([`cases::begin_action`]:
/// 404, 412, 403, 409), with what it carries checked against stored data; an acceptance
/// makes the household's other open referrals of the kind obsolete and opens the measure
/// in the same transaction.
pub async fn act(
    conn: &mut AsyncPgConnection,
    caller: &Caller,
    id: Uuid,
    if_match: &IfMatch,
    action: ReferralAction,
    payload: Payload,
) -> Result<Referral, ApiError> {
    let (row, _, to) =
        cases::begin_action::<ReferralRow>(conn, caller, id, if_match, action).await?;
    let (comment, details) = match payload {
        Payload::None => (None, ClosingDetails::default()),
        Payload::Decline(d) => {
            if d.reason == DeclineReason::Other
                && d.comment.as_deref().is_none_or(|c| c.trim().is_empty())
            {
                return Err(ApiError::invalid(
                    "comment",
                    "required",
                    "a decline for `other` reasons needs a comment",
                ));
            }
            (
                d.comment.clone(),
                ClosingDetails {
                    decline_reason: Some(d.reason),
                    closing_comment: d.comment,
                    ..Default::default()
                },
            )
        }
        Payload::Withdraw(w) => (
            Some(w.reason.clone()),
            ClosingDetails {
                closing_comment: Some(w.reason),
                ..Default::default()
            },
        ),
        Payload::Transfer(t) => {
            let linked = transfer(conn, caller, &row, &t).await?;
            (
                t.comment.clone(),
                ClosingDetails {
                    closing_comment: t.comment,
                    transferred_to_id: Some(linked),
                    ..Default::default()
                },
            )
        }
    };
    let updated = apply(
        conn,
        Some(caller),
        &row,
        action,
        to,
        comment.as_deref(),
        details,
    )
    .await?;
    if to == ReferralStatus::Accepted {
        make_others_obsolete(conn, &updated).await?;
        // The loop goes on: the measure starts in the same transaction.
        crate::measures::service::open_from_referral(conn, caller, &updated).await?;
    }
    Ok(present(conn, caller, vec![updated]).await?.remove(0))
}

/// A transfer's new, linked referral to the new operator (same referrer, so the loop stays
/// closed for it), shared on the referrer's behalf: the household's consent in force, or
/// the mandate the referral was sent under. Returns its id.
async fn transfer(
    conn: &mut AsyncPgConnection,
    caller: &Caller,
    row: &ReferralRow,
    t: &Transfer,
) -> Result<Uuid, ApiError> {
    let mut errors = Vec::new();
    check_addressee(
        conn,
        "addressee_organisation_id",
        t.addressee_organisation_id,
        row.referrer_organisation_id,
        &mut errors,
    )
    .await?;
    if t.addressee_organisation_id == row.addressee_organisation_id {
        errors.push(FieldError::new(
            "addressee_organisation_id",
            "same_addressee",
            "the referral is already with this operator",
        ));
    }
    let household = crate::households::queries::find_visible(
        conn,
        caller.partner_organisation()?,
        row.household_id,
        false,
    )
    .await?;
    let basis = sharing::basis(
        conn,
        row.referrer_organisation_id,
        &household,
        row.mandate().as_ref(),
        "addressee_organisation_id",
        &mut errors,
    )
    .await?;
    if !errors.is_empty() {
        return Err(ApiError::Validation(errors));
    }
    let basis = basis.expect("checked above");
    let mandate = match &basis {
        SharingBasis::Mandate(m) => Some(m),
        SharingBasis::Consent => None,
    };
    let linked = queries::insert(
        conn,
        NewReferralRow {
            id: Uuid::now_v7(),
            household_id: row.household_id,
            referrer_organisation_id: row.referrer_organisation_id,
            referrer_account_id: row.referrer_account_id,
            addressee_organisation_id: t.addressee_organisation_id,
            measure_kind: &row.measure_kind,
            reason: &row.reason,
            priority_grounds: &row.priority_grounds,
            special_grounds: &row.special_grounds,
            desired_start: row.desired_start,
            response_due_on: row.response_due_on.max(default_due(None)),
            status: ReferralStatus::Submitted,
            transferred_from_id: Some(row.id),
            mandate_commission: mandate.map(|m| m.commission),
            mandate_reference: mandate.map(|m| m.decision_reference.as_str()),
            mandate_decided_on: mandate.map(|m| m.decided_on),
        },
    )
    .await?;
    sharing::record(
        conn,
        sharing::Sharing {
            household: row.household_id,
            to: t.addressee_organisation_id,
            by: row.referrer_organisation_id,
            actor: Some(caller.account_id),
            path: sharing::SharingPath::Transfer,
            case_id: linked.id,
            basis: &basis,
        },
    )
    .await?;
    cases::record(
        conn,
        Some(caller),
        &linked,
        Step::new("submit", None).comment(t.comment.as_deref()),
    )
    .await?;
    Ok(linked.id)
}

/// Adds a comment to a referral the caller's organisation is party to; both parties are
/// told (`referral.commented`).
pub async fn comment(
    conn: &mut AsyncPgConnection,
    caller: &Caller,
    id: Uuid,
    new: &NewComment,
) -> Result<Comment, ApiError> {
    let org = caller.partner_organisation()?;
    let (row, _) = cases::find_as_party::<ReferralRow>(conn, org, id, false).await?;
    let comment =
        queries::insert_comment(conn, row.id, (caller.account_id, org), new.body.trim()).await?;
    events::append(
        conn,
        Some(caller),
        NewEvent {
            event_type: "referral.commented",
            subject_type: "referral",
            subject_id: row.id,
            data: events::data(&crate::referrals::events::ReferralCommentEventData {
                id: row.id,
                comment_id: comment.id,
            })?,
            recipients: vec![row.referrer_organisation_id, row.addressee_organisation_id],
            for_platform: false,
        },
    )
    .await?;
    Ok(comment)
}

/// A page of the comments of a referral the caller's organisation is party to, oldest
/// first.
pub async fn comments(
    conn: &mut AsyncPgConnection,
    caller: &Caller,
    id: Uuid,
    page: Page,
) -> Result<PageOf<Comment>, ApiError> {
    let org = caller.partner_organisation()?;
    let (row, _) = cases::find_as_party::<ReferralRow>(conn, org, id, false).await?;
    let rows = queries::comments(conn, row.id, page).await?;
    Ok(PageOf::from_rows(rows, page, |c| c.id))
}
