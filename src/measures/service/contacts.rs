//! A measure's contacts with the household, inside a transaction: logging one (a repeated
//! one is refused unless it says it is another), correcting or removing one with a reason
//! kept in its history, and the contact rhythm computed again from the whole life of the
//! measure each time ([`rules::Rhythm::replay`]).
//!
//! A contact is the operator's alone (its note never leaves the operator); the funder is
//! told that one was logged, corrected or removed, with the count, never the note.

use chrono::NaiveDate;
use uuid::Uuid;

use super::super::model::*;
use super::super::queries::{self, contacts::ContactEntry};
use super::super::rules::{self, Turn};
use super::{check_worker, not_now, operator_only};
use crate::auth::caller::Caller;
use crate::cases::{self, Case, CaseTransition, CaseType, Step};
use crate::db::Connection;
use crate::error::{ApiError, FieldError};
use crate::events::{self, NewEvent};
use crate::http::concurrency::IfMatch;
use crate::http::pagination::{Page, PageOf};
use crate::http::patch;
use crate::measures::events::MeasureContactEventData;

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

    async fn party_of(&self, _: &mut Connection, org: Uuid) -> Result<Option<()>, ApiError> {
        Ok((org == self.operator).then_some(()))
    }

    async fn load(conn: &mut Connection, id: Uuid, lock: bool) -> Result<Option<Self>, ApiError> {
        let found = queries::contacts::find_with_operator(conn, id, lock).await?;
        Ok(found.map(|(row, operator)| ContactCase { row, operator }))
    }

    /// Not used: each change appends its own `measure.contact_*` event (`tell`).
    fn status_event(&self) -> Result<NewEvent, ApiError> {
        Err(ApiError::internal(
            "a contact's events are the measure's (measure.contact_*)",
        ))
    }
}

/// 409 `duplicate` naming the contact already logged for this measure, kind, day and
/// worker, unless the caller says this one is another (`distinct`).
pub async fn refuse_repeat(
    conn: &mut Connection,
    measure: Uuid,
    entry: &ContactEntry,
    except: Option<Uuid>,
    distinct: bool,
) -> Result<(), ApiError> {
    if distinct {
        return Ok(());
    }
    match queries::contacts::same_contact(conn, measure, entry, except).await? {
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
    conn: &mut Connection,
    caller: &Caller,
    measure: &MeasureRow,
    entry: ContactEntry,
) -> Result<Contact, ApiError> {
    let contact = queries::contacts::insert(conn, measure.id, &entry, caller.account_id).await?;
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
    conn: &mut Connection,
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
    let row = queries::contacts::correct(conn, current.id, e, note.as_deref()).await?;
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
    conn: &mut Connection,
    caller: &Caller,
    measure: &MeasureRow,
    current: Contact,
    reason: &str,
) -> Result<Contact, ApiError> {
    let row = queries::contacts::remove(conn, current.id, reason).await?;
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
    conn: &mut Connection,
    measure: &MeasureRow,
) -> Result<MeasureRow, ApiError> {
    let rules_ = measure.rules()?;
    let contacts = queries::contacts::counted(conn, measure.id).await?;
    let steps = cases::step_times(conn, measure.id, &["suspend", "resume"]).await?;
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
    queries::update_follow_up(
        conn,
        measure.id,
        contacts.len() as i32,
        rhythm.missed,
        last_contact_on,
        rhythm.due,
    )
    .await
}

/// `measure.contact_*` to the operator and the funder: the contact's kind and day and the
/// count, never the note.
async fn tell(
    conn: &mut Connection,
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

/// Checks a contact's day (within the measure's start and, once closed, its end) and worker
/// against its measure; the worker as given or defaulted.
async fn check_entry(
    conn: &mut Connection,
    measure: &MeasureRow,
    occurred_on: NaiveDate,
    worker: Uuid,
    worker_given: bool,
    errors: &mut Vec<FieldError>,
) -> Result<(), ApiError> {
    if occurred_on < measure.starts_on {
        errors.push(FieldError::new(
            "occurred_on",
            "before_start",
            format!("the measure started on {}", measure.starts_on),
        ));
    }
    if let Some(end) = measure.ended_on.filter(|end| occurred_on > *end) {
        errors.push(FieldError::new(
            "occurred_on",
            "after_end",
            format!("the measure ended on {end}"),
        ));
    }
    if worker_given {
        check_worker(
            conn,
            "worker_account_id",
            measure.operator_organisation_id,
            worker,
            errors,
        )
        .await?;
    }
    Ok(())
}

/// The operator logs a contact on its measure (see the endpoint: 403 for another party,
/// 409 unless running or closed, 422 on its day and worker with the body's field errors,
/// 409 `duplicate` for the same contact twice unless `distinct`).
pub async fn create(
    conn: &mut Connection,
    caller: &Caller,
    id: Uuid,
    new: NewContact,
    field_errors: Vec<FieldError>,
) -> Result<Contact, ApiError> {
    let org = caller.partner_organisation()?;
    let (measure, party) = cases::find_as_party::<MeasureRow>(conn, org, id, true).await?;
    operator_only(party, "logs its contacts")?;
    // A closed measure takes the contacts of its last days, logged late (a day
    // after its end is a 422 `after_end` on `occurred_on`).
    if !matches!(
        measure.status,
        MeasureStatus::Active | MeasureStatus::Suspended | MeasureStatus::Closed
    ) {
        return Err(not_now(
            conn,
            &measure,
            caller,
            party,
            format!(
                "contacts are logged on a running measure, or on a closed one up to its \
                 end; this one is {}",
                measure.status
            ),
        )
        .await?);
    }
    let mut errors = field_errors;
    let worker = new
        .worker_account_id
        .or(measure.worker_account_id)
        .unwrap_or(caller.account_id);
    check_entry(
        conn,
        &measure,
        new.occurred_on,
        worker,
        new.worker_account_id.is_some(),
        &mut errors,
    )
    .await?;
    if !errors.is_empty() {
        return Err(ApiError::Validation(errors));
    }
    let entry = ContactEntry {
        occurred_on: new.occurred_on,
        kind: new.kind,
        duration_minutes: new.duration_minutes,
        worker,
        note: new.note,
    };
    refuse_repeat(conn, measure.id, &entry, None, new.distinct).await?;
    log(conn, caller, &measure, entry).await
}

/// A page of a measure's contacts for its operator (403 for another party).
pub async fn list(
    conn: &mut Connection,
    caller: &Caller,
    measure_id: Uuid,
    with_removed: bool,
    page: Page,
) -> Result<PageOf<Contact>, ApiError> {
    let org = caller.partner_organisation()?;
    let (measure, party) = cases::find_as_party::<MeasureRow>(conn, org, measure_id, false).await?;
    operator_only(party, "reads its contacts")?;
    let rows = queries::contacts::of_measure(conn, measure.id, with_removed, page).await?;
    Ok(PageOf::from_rows(rows, page, |c| c.id))
}

/// A contact, for its measure's operator (404 for anyone else).
pub async fn get(conn: &mut Connection, caller: &Caller, id: Uuid) -> Result<Contact, ApiError> {
    let org = caller.partner_organisation()?;
    let (case, ()) = cases::find_as_party::<ContactCase>(conn, org, id, false).await?;
    Ok(case.row)
}

/// A contact's history, for its measure's operator.
pub async fn history(
    conn: &mut Connection,
    caller: &Caller,
    id: Uuid,
) -> Result<PageOf<CaseTransition>, ApiError> {
    let org = caller.partner_organisation()?;
    cases::history::<ContactCase, CaseTransition>(conn, org, id).await
}

/// What a contact action carries.
pub enum ContactChange {
    Correct(ContactCorrection),
    Remove(ContactRemoval),
}

/// A correction or removal of a contact, in the caller's transaction: the measure locked
/// first, then the contact (the order every change of a measure's follow-up locks in),
/// `If-Match`; a removed contact is kept as it was (409).
pub async fn change(
    conn: &mut Connection,
    caller: &Caller,
    id: Uuid,
    if_match: &IfMatch,
    what: ContactChange,
) -> Result<Contact, ApiError> {
    let org = caller.partner_organisation()?;
    let (case, ()) = cases::find_as_party::<ContactCase>(conn, org, id, false).await?;
    // The measure first, then the contact: the order every change of a
    // measure's follow-up locks in.
    let (measure, _) =
        cases::find_as_party::<MeasureRow>(conn, org, case.row.measure_id, true).await?;
    let (case, ()) = cases::find_as_party::<ContactCase>(conn, org, id, true).await?;
    if_match.check(case.row.version)?;
    if case.row.removed_at.is_some() {
        return Err(ApiError::not_now(
            "the contact was removed: it is kept as it was",
            "removed",
            &[],
        ));
    }
    Ok(match what {
        ContactChange::Remove(r) => remove(conn, caller, &measure, case.row, &r.reason).await?,
        ContactChange::Correct(c) => {
            let current = &case.row;
            let entry = ContactEntry {
                occurred_on: c.occurred_on.unwrap_or(current.occurred_on),
                kind: c.kind.unwrap_or(current.kind),
                duration_minutes: patch::merge(&c.duration_minutes, &current.duration_minutes),
                worker: c.worker_account_id.unwrap_or(current.worker_account_id),
                note: patch::merge(&c.note, &current.note),
            };
            let mut errors = Vec::new();
            check_entry(
                conn,
                &measure,
                entry.occurred_on,
                entry.worker,
                c.worker_account_id.is_some(),
                &mut errors,
            )
            .await?;
            if !errors.is_empty() {
                return Err(ApiError::Validation(errors));
            }
            refuse_repeat(conn, measure.id, &entry, Some(current.id), c.distinct).await?;
            correct(
                conn,
                caller,
                &measure,
                case.row,
                Correction {
                    entry,
                    reason: c.reason,
                },
            )
            .await?
        }
    })
}
