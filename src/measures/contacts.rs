//! A measure's contacts with the household, inside a transaction: logging one (a repeated
//! one is refused unless it says it is another), correcting or removing one with a reason
//! kept in its history, and the contact rhythm computed again from the whole life of the
//! measure each time ([`rules::Rhythm::replay`]).
//!
//! A contact is the operator's alone (its note never leaves the operator); the funder is
//! told that one was logged, corrected or removed, with the count, never the note.

use chrono::NaiveDate;
use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use uuid::Uuid;

use super::model::{Contact, ContactKind, MeasureRow, MeasureStatus};
use super::rules::{self, Turn};
use crate::auth::caller::Caller;
use crate::cases::{self, Case, CaseType, Step};
use crate::db::Keyset;
use crate::error::ApiError;
use crate::events::{self, NewEvent};
use crate::measures::events::MeasureContactEventData;
use crate::schema::{case_transitions, measure_contacts, measures};

/// A contact as a case of the kernel: its history is its record, corrections and removal.
/// Its only party is its measure's operator. It is no step of a household's journey (its
/// `household_id` is none): contacts are the operator's follow-up.
pub struct ContactCase {
    pub row: Contact,
    pub operator: Uuid,
}

impl ContactCase {
    fn status_str(&self) -> &'static str {
        if self.row.removed_at.is_some() {
            "removed"
        } else {
            "recorded"
        }
    }
}

impl Case for ContactCase {
    const TYPE: CaseType = CaseType::Contact;
    type Party = ();

    fn id(&self) -> Uuid {
        self.row.id
    }

    fn household_id(&self) -> Option<Uuid> {
        None
    }

    fn status(&self) -> &'static str {
        self.status_str()
    }

    async fn party_of(&self, _: &mut AsyncPgConnection, org: Uuid) -> Result<Option<()>, ApiError> {
        Ok((org == self.operator).then_some(()))
    }

    async fn load(
        conn: &mut AsyncPgConnection,
        id: Uuid,
        lock: bool,
    ) -> Result<Option<Self>, ApiError> {
        let q = measure_contacts::table
            .inner_join(measures::table)
            .filter(measure_contacts::id.eq(id))
            .select((Contact::as_select(), measures::operator_organisation_id));
        let found: Option<(Contact, Uuid)> = if lock {
            q.for_update().first(conn).await.optional()?
        } else {
            q.first(conn).await.optional()?
        };
        Ok(found.map(|(row, operator)| ContactCase { row, operator }))
    }

    /// Not used: each change appends its own `measure.contact_*` event (`tell`).
    fn status_event(&self) -> Result<NewEvent, ApiError> {
        Err(ApiError::internal(
            "a contact's events are the measure's (measure.contact_*)",
        ))
    }
}

/// A page of a measure's contacts, by id (one more row than the page, to tell whether
/// another follows); the removed ones only when `with_removed`.
pub async fn of_measure(
    conn: &mut AsyncPgConnection,
    measure: Uuid,
    with_removed: bool,
    page: crate::http::pagination::Page,
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

/// A contact to log or the corrected values of one (already checked).
#[derive(Debug, Clone)]
pub struct ContactEntry {
    pub occurred_on: NaiveDate,
    pub kind: ContactKind,
    pub duration_minutes: Option<i32>,
    pub worker: Uuid,
    pub note: Option<String>,
}

/// The contact already logged for this measure, kind, day and worker (not removed), other
/// than `except`: the same home visit entered twice.
pub async fn same_contact(
    conn: &mut AsyncPgConnection,
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

/// 409 `duplicate` naming the contact already logged for this measure, kind, day and
/// worker, unless the caller says this one is another (`distinct`).
pub async fn refuse_repeat(
    conn: &mut AsyncPgConnection,
    measure: Uuid,
    entry: &ContactEntry,
    except: Option<Uuid>,
    distinct: bool,
) -> Result<(), ApiError> {
    if distinct {
        return Ok(());
    }
    match same_contact(conn, measure, entry, except).await? {
        Some(existing) => Err(ApiError::duplicate(
            format!(
                "a contact of kind {} of this worker on {} is already logged for this measure: send \
                 `\"distinct\": true` if this is another one",
                entry.kind, entry.occurred_on
            ),
            existing,
        )),
        None => Ok(()),
    }
}

/// Logs a contact on a locked measure (running, or closed for a contact of its last days),
/// then computes its follow-up again; the operator and the funder are told
/// (`measure.contact_recorded`, never the note).
pub async fn log(
    conn: &mut AsyncPgConnection,
    caller: &Caller,
    measure: &MeasureRow,
    entry: ContactEntry,
) -> Result<Contact, ApiError> {
    let contact: Contact = diesel::insert_into(measure_contacts::table)
        .values((
            measure_contacts::id.eq(Uuid::now_v7()),
            measure_contacts::measure_id.eq(measure.id),
            measure_contacts::occurred_on.eq(entry.occurred_on),
            measure_contacts::kind.eq(entry.kind),
            measure_contacts::duration_minutes.eq(entry.duration_minutes),
            measure_contacts::worker_account_id.eq(entry.worker),
            measure_contacts::note.eq(entry.note.as_deref().map(str::trim)),
            measure_contacts::recorded_by_account_id.eq(caller.account_id),
        ))
        .returning(Contact::as_returning())
        .get_result(conn)
        .await?;
    let case = ContactCase {
        row: contact,
        operator: measure.operator_organisation_id,
    };
    cases::record_step(conn, Some(caller), &case, Step::new("record", None)).await?;
    let updated = refresh_follow_up(conn, measure).await?;
    tell(
        conn,
        caller,
        "measure.contact_recorded",
        &updated,
        &case.row,
    )
    .await?;
    Ok(case.row)
}

/// What a correction changes, and why.
pub struct Correction {
    pub entry: ContactEntry,
    pub reason: String,
}

/// Corrects a locked contact of a locked measure: its values change, the previous ones
/// are kept in its history with the reason, and the follow-up is computed again
/// (`measure.contact_corrected`). Nothing changes when the values are those stored.
pub async fn correct(
    conn: &mut AsyncPgConnection,
    caller: &Caller,
    measure: &MeasureRow,
    current: Contact,
    correction: Correction,
) -> Result<Contact, ApiError> {
    let e = &correction.entry;
    let note = e.note.as_deref().map(str::trim).map(str::to_owned);
    let before = serde_json::json!({
        "occurred_on": current.occurred_on, "kind": current.kind,
        "duration_minutes": current.duration_minutes, "worker_account_id": current.worker_account_id,
        "note": current.note,
    });
    if (e.occurred_on, e.kind, e.duration_minutes, e.worker, &note)
        == (
            current.occurred_on,
            current.kind,
            current.duration_minutes,
            current.worker_account_id,
            &current.note,
        )
    {
        return Ok(current);
    }
    let row: Contact = diesel::update(measure_contacts::table.find(current.id))
        .set((
            measure_contacts::occurred_on.eq(e.occurred_on),
            measure_contacts::kind.eq(e.kind),
            measure_contacts::duration_minutes.eq(e.duration_minutes),
            measure_contacts::worker_account_id.eq(e.worker),
            measure_contacts::note.eq(&note),
            crate::db::bump(measure_contacts::version, measure_contacts::updated_at),
        ))
        .returning(Contact::as_returning())
        .get_result(conn)
        .await?;
    let case = ContactCase {
        row,
        operator: measure.operator_organisation_id,
    };
    cases::record_step(
        conn,
        Some(caller),
        &case,
        Step::new("correct", Some("recorded"))
            .comment(Some(&correction.reason))
            .details(Some(before)),
    )
    .await?;
    let updated = refresh_follow_up(conn, measure).await?;
    tell(
        conn,
        caller,
        "measure.contact_corrected",
        &updated,
        &case.row,
    )
    .await?;
    Ok(case.row)
}

/// Removes a locked contact logged by mistake, with its reason: it stays in the log as
/// removed, no longer counts, and the follow-up is computed again
/// (`measure.contact_removed`).
pub async fn remove(
    conn: &mut AsyncPgConnection,
    caller: &Caller,
    measure: &MeasureRow,
    current: Contact,
    reason: &str,
) -> Result<Contact, ApiError> {
    let row: Contact = diesel::update(measure_contacts::table.find(current.id))
        .set((
            measure_contacts::removed_at.eq(Some(crate::calendar::now())),
            measure_contacts::removal_reason.eq(Some(reason.trim())),
            crate::db::bump(measure_contacts::version, measure_contacts::updated_at),
        ))
        .returning(Contact::as_returning())
        .get_result(conn)
        .await?;
    let case = ContactCase {
        row,
        operator: measure.operator_organisation_id,
    };
    cases::record_step(
        conn,
        Some(caller),
        &case,
        Step::new("remove", Some("recorded")).comment(Some(reason)),
    )
    .await?;
    let updated = refresh_follow_up(conn, measure).await?;
    tell(conn, caller, "measure.contact_removed", &updated, &case.row).await?;
    Ok(case.row)
}

/// The measure's follow-up computed again from its contacts (those not removed) and its
/// history (suspensions, resumptions, close): count, last contact, next due date and the
/// times the rhythm was broken. One rule whatever changed (see [`rules::Rhythm`]).
async fn refresh_follow_up(
    conn: &mut AsyncPgConnection,
    measure: &MeasureRow,
) -> Result<MeasureRow, ApiError> {
    let rules_ = measure.rules()?;
    let contacts: Vec<(NaiveDate, ContactKind)> = measure_contacts::table
        .filter(measure_contacts::measure_id.eq(measure.id))
        .filter(measure_contacts::removed_at.is_null())
        .select((measure_contacts::occurred_on, measure_contacts::kind))
        .load(conn)
        .await?;
    let steps: Vec<(String, chrono::DateTime<chrono::Utc>)> = case_transitions::table
        .filter(case_transitions::case_id.eq(measure.id))
        .filter(case_transitions::action.eq_any(["suspend", "resume"]))
        .select((case_transitions::action, case_transitions::occurred_at))
        .load(conn)
        .await?;
    let mut turns: Vec<Turn> = contacts
        .iter()
        .map(|(on, kind)| Turn::Contact(*on, *kind))
        .collect();
    turns.extend(steps.iter().map(|(action, at)| {
        let day = crate::calendar::date_at(*at);
        if action == "suspend" {
            Turn::Suspend(day)
        } else {
            Turn::Resume(day)
        }
    }));
    if let (MeasureStatus::Closed, Some(ended)) = (measure.status, measure.ended_on) {
        turns.push(Turn::Close(ended));
    }
    let rhythm = if measure.status == MeasureStatus::Proposed {
        rules::Rhythm::stored(None, 0, None, false)
    } else {
        rules::Rhythm::replay(&rules_, measure.starts_on, &turns)
    };
    let last_contact_on = contacts
        .iter()
        .filter(|(_, k)| *k != ContactKind::MissedAppointment)
        .map(|(on, _)| *on)
        .max();
    Ok(diesel::update(measures::table.find(measure.id))
        .set((
            measures::contacts_count.eq(contacts.len() as i32),
            measures::contact_rhythm_missed.eq(rhythm.missed),
            measures::last_contact_on.eq(last_contact_on),
            measures::next_contact_due_on.eq(rhythm.due),
            crate::db::bump(measures::version, measures::updated_at),
        ))
        .returning(MeasureRow::as_returning())
        .get_result(conn)
        .await?)
}

/// `measure.contact_*` to the operator and the funder: the contact's kind and day and the
/// count, never the note.
async fn tell(
    conn: &mut AsyncPgConnection,
    caller: &Caller,
    event_type: &'static str,
    measure: &MeasureRow,
    contact: &Contact,
) -> Result<(), ApiError> {
    let mut recipients = vec![measure.operator_organisation_id];
    recipients.extend(measure.funder_organisation_id);
    events::append(
        conn,
        Some(caller),
        NewEvent {
            event_type,
            subject_type: "measure",
            subject_id: measure.id,
            data: events::data(&MeasureContactEventData {
                id: measure.id,
                contact_id: contact.id,
                kind: contact.kind,
                occurred_on: contact.occurred_on,
                contacts_count: measure.contacts_count,
            })?,
            recipients,
            for_platform: false,
        },
    )
    .await
}
