//! Every statement on referrals and their comments: the only place of the domain that
//! names diesel and `crate::schema`.

use chrono::NaiveDate;
use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use uuid::Uuid;

use super::model::{Box_, Comment, DeclineReason, ReferralFilters, ReferralRow, ReferralStatus};
use crate::db::{Keyset, Page};
use crate::error::ApiError;
use crate::identity::model::CommissionKind;
use crate::schema::{referral_comments, referrals};

/// The statuses of an open referral: awaiting the addressee's answer.
const OPEN: [ReferralStatus; 2] = [ReferralStatus::Submitted, ReferralStatus::Acknowledged];

/// A referral to insert: a new one, or the linked referral of a transfer.
#[derive(Debug, Insertable)]
#[diesel(table_name = referrals)]
pub struct NewReferralRow<'a> {
    pub id: Uuid,
    pub household_id: Uuid,
    pub referrer_organisation_id: Uuid,
    pub referrer_account_id: Uuid,
    pub addressee_organisation_id: Uuid,
    pub measure_kind: &'a str,
    pub reason: &'a str,
    pub priority_grounds: &'a serde_json::Value,
    pub special_grounds: &'a serde_json::Value,
    pub desired_start: Option<NaiveDate>,
    pub response_due_on: NaiveDate,
    pub status: ReferralStatus,
    pub transferred_from_id: Option<Uuid>,
    pub mandate_commission: Option<CommissionKind>,
    pub mandate_reference: Option<&'a str>,
    pub mandate_decided_on: Option<NaiveDate>,
}

pub async fn insert(
    conn: &mut AsyncPgConnection,
    new: NewReferralRow<'_>,
) -> Result<ReferralRow, ApiError> {
    Ok(diesel::insert_into(referrals::table)
        .values(new)
        .returning(ReferralRow::as_returning())
        .get_result(conn)
        .await?)
}

/// The referral by id, locked `FOR UPDATE` when `lock`.
pub async fn find(
    conn: &mut AsyncPgConnection,
    id: Uuid,
    lock: bool,
) -> Result<Option<ReferralRow>, ApiError> {
    crate::load_row!(conn, referrals::table, ReferralRow, id, lock)
}

pub type PartyQuery = diesel::dsl::Select<
    diesel::dsl::Filter<
        diesel::dsl::Find<referrals::table, Uuid>,
        diesel::dsl::Or<
            diesel::dsl::Eq<referrals::referrer_organisation_id, Uuid>,
            diesel::dsl::Eq<referrals::addressee_organisation_id, Uuid>,
        >,
    >,
    diesel::dsl::AsSelect<ReferralRow, diesel::pg::Pg>,
>;

/// The referral `id` if the organisation is party to it (a statement for
/// [`crate::households::journal::load`], which journals what it returns).
pub fn party_query(org: Uuid, id: Uuid) -> PartyQuery {
    referrals::table
        .find(id)
        .filter(
            referrals::referrer_organisation_id
                .eq(org)
                .or(referrals::addressee_organisation_id.eq(org)),
        )
        .select(ReferralRow::as_select())
}

pub type ListQuery = referrals::BoxedQuery<
    'static,
    diesel::pg::Pg,
    diesel::dsl::SqlTypeOf<diesel::dsl::AsSelect<ReferralRow, diesel::pg::Pg>>,
>;

/// A page of the referrals the organisation is party to, as filtered (`today`: the French
/// legal date that `overdue` compares with).
pub fn list(org: Uuid, filters: &ReferralFilters, page: Page, today: NaiveDate) -> ListQuery {
    let mut q = referrals::table
        .select(ReferralRow::as_select())
        .into_boxed();
    q = match filters.r#box {
        Some(Box_::Sent) => q.filter(referrals::referrer_organisation_id.eq(org)),
        Some(Box_::Received) => q.filter(referrals::addressee_organisation_id.eq(org)),
        None => q.filter(
            referrals::referrer_organisation_id
                .eq(org)
                .or(referrals::addressee_organisation_id.eq(org)),
        ),
    };
    if let Some(status) = filters.status {
        q = q.filter(referrals::status.eq(status));
    }
    if let Some(kind) = &filters.measure_kind {
        q = q.filter(referrals::measure_kind.eq(kind.clone()));
    }
    if let Some(h) = filters.household_id {
        q = q.filter(referrals::household_id.eq(h));
    }
    match filters.overdue {
        Some(true) => {
            q = q
                .filter(referrals::status.eq_any(OPEN))
                .filter(referrals::response_due_on.lt(today))
        }
        Some(false) => {
            q = q.filter(
                referrals::status
                    .ne_all(OPEN)
                    .or(referrals::response_due_on.ge(today)),
            )
        }
        None => {}
    }
    if let Some(since) = filters.updated_since {
        q = q.filter(referrals::updated_at.ge(since));
    }
    q.keyset(referrals::id, page)
}

/// What a transition writes besides the status; `None` keeps what is stored.
#[derive(Debug, Default)]
pub struct ClosingDetails {
    pub decline_reason: Option<DeclineReason>,
    pub closing_comment: Option<String>,
    pub transferred_to_id: Option<Uuid>,
}

/// Moves the referral to `to` with its details, and bumps its version.
pub async fn update_status(
    conn: &mut AsyncPgConnection,
    row: &ReferralRow,
    to: ReferralStatus,
    changes: ClosingDetails,
) -> Result<ReferralRow, ApiError> {
    Ok(diesel::update(referrals::table.find(row.id))
        .set((
            referrals::status.eq(to),
            referrals::decline_reason.eq(changes.decline_reason.or(row.decline_reason)),
            referrals::closing_comment.eq(changes.closing_comment.or(row.closing_comment.clone())),
            referrals::transferred_to_id.eq(changes.transferred_to_id.or(row.transferred_to_id)),
            crate::db::bump(referrals::version, referrals::updated_at),
        ))
        .returning(ReferralRow::as_returning())
        .get_result(conn)
        .await?)
}

/// The household's other open referrals for the accepted one's measure kind, locked.
pub async fn open_siblings(
    conn: &mut AsyncPgConnection,
    accepted: &ReferralRow,
) -> Result<Vec<ReferralRow>, ApiError> {
    Ok(referrals::table
        .filter(referrals::household_id.eq(accepted.household_id))
        .filter(referrals::measure_kind.eq(&accepted.measure_kind))
        .filter(referrals::id.ne(accepted.id))
        .filter(referrals::status.eq_any(OPEN))
        .select(ReferralRow::as_select())
        .for_update()
        .load(conn)
        .await?)
}

/// Up to 1,000 open referrals due before `limit`, locked, skipping those another instance
/// holds.
pub async fn overdue(
    conn: &mut AsyncPgConnection,
    limit: NaiveDate,
) -> Result<Vec<ReferralRow>, ApiError> {
    Ok(referrals::table
        .filter(referrals::status.eq_any(OPEN))
        .filter(referrals::response_due_on.lt(limit))
        .select(ReferralRow::as_select())
        .order(referrals::id.asc())
        .limit(1000)
        .for_update()
        .skip_locked()
        .load(conn)
        .await?)
}

pub async fn insert_comment(
    conn: &mut AsyncPgConnection,
    referral_id: Uuid,
    author: (Uuid, Uuid),
    body: &str,
) -> Result<Comment, ApiError> {
    let (account, organisation) = author;
    Ok(diesel::insert_into(referral_comments::table)
        .values((
            referral_comments::id.eq(Uuid::now_v7()),
            referral_comments::referral_id.eq(referral_id),
            referral_comments::author_account_id.eq(account),
            referral_comments::author_organisation_id.eq(organisation),
            referral_comments::body.eq(body),
        ))
        .returning(Comment::as_returning())
        .get_result(conn)
        .await?)
}

/// A page of the referral's comments, oldest first (`limit + 1` rows).
pub async fn comments(
    conn: &mut AsyncPgConnection,
    referral_id: Uuid,
    page: Page,
) -> Result<Vec<Comment>, ApiError> {
    Ok(referral_comments::table
        .filter(referral_comments::referral_id.eq(referral_id))
        .select(Comment::as_select())
        .into_boxed()
        .keyset(referral_comments::id, page)
        .load(conn)
        .await?)
}
