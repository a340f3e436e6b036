//! Every diesel statement on a measure's contacts.

use chrono::NaiveDate;
use diesel::prelude::*;
use diesel_async::RunQueryDsl;
use uuid::Uuid;

use super::super::model::{Contact, ContactKind};
use crate::db::{Connection, Keyset};
use crate::error::ApiError;
use crate::http::pagination::Page;
use crate::schema::{measure_contacts, measures};

/// A contact to log or the corrected values of one (already checked).
#[derive(Debug, Clone)]
pub struct ContactEntry {
    pub occurred_on: NaiveDate,
    pub kind: ContactKind,
    pub duration_minutes: Option<i32>,
    pub worker: Uuid,
    pub note: Option<String>,
}

/// The contact `id` and its measure's operator, locked `FOR UPDATE` when `lock`.
pub async fn find_with_operator(
    conn: &mut Connection,
    id: Uuid,
    lock: bool,
) -> Result<Option<(Contact, Uuid)>, ApiError> {
    let q = measure_contacts::table
        .inner_join(measures::table)
        .filter(measure_contacts::id.eq(id))
        .select((Contact::as_select(), measures::operator_organisation_id));
    Ok(if lock {
        q.for_update().first(conn).await.optional()?
    } else {
        q.first(conn).await.optional()?
    })
}

/// A page of a measure's contacts, by id (one more row than the page, to tell whether
/// another follows); the removed ones only when `with_removed`.
pub async fn of_measure(
    conn: &mut Connection,
    measure: Uuid,
    with_removed: bool,
    page: Page,
) -> Result<Vec<Contact>, ApiError> {
    let mut q = measure_contacts::table
        .filter(measure_contacts::measure_id.eq(measure))
        .select(Contact::as_select())
        .into_boxed();
    if !with_removed {
        q = q.filter(measure_contacts::removed_at.is_null());
    }
    Ok(q.keyset(measure_contacts::id, page).load(conn).await?)
}

/// The contact already logged for this measure, kind, day and worker (not removed), other
/// than `except`: the same home visit entered twice.
pub async fn same_contact(
    conn: &mut Connection,
    measure: Uuid,
    entry: &ContactEntry,
    except: Option<Uuid>,
) -> Result<Option<Uuid>, ApiError> {
    let mut q = measure_contacts::table
        .filter(measure_contacts::measure_id.eq(measure))
        .filter(measure_contacts::occurred_on.eq(entry.occurred_on))
        .filter(measure_contacts::kind.eq(entry.kind))
        .filter(measure_contacts::worker_account_id.eq(entry.worker))
        .filter(measure_contacts::removed_at.is_null())
        .select(measure_contacts::id)
        .into_boxed();
    if let Some(id) = except {
        q = q.filter(measure_contacts::id.ne(id));
    }
    Ok(q.first(conn).await.optional()?)
}

/// Logs a contact, recorded by `by`.
pub async fn insert(
    conn: &mut Connection,
    measure: Uuid,
    entry: &ContactEntry,
    by: Uuid,
) -> Result<Contact, ApiError> {
    Ok(diesel::insert_into(measure_contacts::table)
        .values((
            measure_contacts::id.eq(Uuid::now_v7()),
            measure_contacts::measure_id.eq(measure),
            measure_contacts::occurred_on.eq(entry.occurred_on),
            measure_contacts::kind.eq(entry.kind),
            measure_contacts::duration_minutes.eq(entry.duration_minutes),
            measure_contacts::worker_account_id.eq(entry.worker),
            measure_contacts::note.eq(entry.note.as_deref().map(str::trim)),
            measure_contacts::recorded_by_account_id.eq(by),
        ))
        .returning(Contact::as_returning())
        .get_result(conn)
        .await?)
}

/// A contact's corrected values (its note already trimmed), with a new version.
pub async fn correct(
    conn: &mut Connection,
    id: Uuid,
    e: &ContactEntry,
    note: Option<&str>,
) -> Result<Contact, ApiError> {
    Ok(diesel::update(measure_contacts::table.find(id))
        .set((
            measure_contacts::occurred_on.eq(e.occurred_on),
            measure_contacts::kind.eq(e.kind),
            measure_contacts::duration_minutes.eq(e.duration_minutes),
            measure_contacts::worker_account_id.eq(e.worker),
            measure_contacts::note.eq(note),
            crate::db::bump(measure_contacts::version, measure_contacts::updated_at),
        ))
        .returning(Contact::as_returning())
        .get_result(conn)
        .await?)
}

/// A contact removed now, with its reason, with a new version.
pub async fn remove(conn: &mut Connection, id: Uuid, reason: &str) -> Result<Contact, ApiError> {
    Ok(diesel::update(measure_contacts::table.find(id))
        .set((
            measure_contacts::removed_at.eq(Some(crate::calendar::now())),
            measure_contacts::removal_reason.eq(Some(reason.trim())),
            crate::db::bump(measure_contacts::version, measure_contacts::updated_at),
        ))
        .returning(Contact::as_returning())
        .get_result(conn)
        .await?)
}

/// The day and kind of each of a measure's contacts that count (not removed).
pub async fn counted(
    conn: &mut Connection,
    measure: Uuid,
) -> Result<Vec<(NaiveDate, ContactKind)>, ApiError> {
    Ok(measure_contacts::table
        .filter(measure_contacts::measure_id.eq(measure))
        .filter(measure_contacts::removed_at.is_null())
        .select((measure_contacts::occurred_on, measure_contacts::kind))
        .load(conn)
        .await?)
}
