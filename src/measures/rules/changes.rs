//! What an action on a measure writes besides its status (a start's date, a suspension,
//! a closing's outcomes, a cancellation's reason), checked against the measure's rules:
//! pure functions of the row, its rules, the payload and today.

use chrono::{Duration, NaiveDate};

use super as rules;
use super::super::model::*;
use crate::error::{ApiError, FieldError};

/// What an action writes besides the status.
#[derive(Clone)]
pub struct Changes {
    pub starts_on: NaiveDate,
    pub ended_on: Option<NaiveDate>,
    pub outcomes: Vec<OutcomeCode>,
    pub closing_comment: Option<String>,
    pub cancellation_reason: Option<CancellationReason>,
    pub suspended_on: Option<NaiveDate>,
    pub suspended_until: Option<NaiveDate>,
    pub suspension_reason: Option<SuspensionReason>,
    pub suspended_days: i32,
}

impl Changes {
    /// The planned end, from the start: see [`rules::planned_end`]. A running suspension
    /// counts its reserved days.
    pub fn planned_end(&self, rules_: &MeasureRules, renewed_months: i32) -> Option<NaiveDate> {
        let reserved = match (self.suspended_on, self.suspended_until) {
            (Some(from), Some(until)) => (until - from).num_days() as i32,
            _ => 0,
        };
        rules::planned_end(
            rules_,
            self.starts_on,
            renewed_months,
            self.suspended_days + reserved,
        )
    }
}

fn days(n: i64) -> Duration {
    Duration::days(n)
}

/// A field error unless a comment comes with an `other` reason.
fn comment_for_other(other: bool, comment: &Option<String>, what: &str) -> Option<FieldError> {
    (other && comment.as_deref().is_none_or(|c| c.trim().is_empty())).then(|| {
        FieldError::new(
            "comment",
            "required",
            format!("{what} for `other` reasons needs a comment"),
        )
    })
}

/// The changes of an action on `row` today, or the field errors of its payload.
pub fn changes(
    row: &MeasureRow,
    rules_: &MeasureRules,
    payload: &Payload,
    today: NaiveDate,
) -> Result<(Changes, Option<String>, Option<&'static str>), ApiError> {
    let mut c = Changes {
        starts_on: row.starts_on,
        ended_on: row.ended_on,
        outcomes: row.outcome_codes(),
        closing_comment: row.closing_comment.clone(),
        cancellation_reason: row.cancellation_reason,
        suspended_on: row.suspended_on,
        suspended_until: row.suspended_until,
        suspension_reason: row.suspension_reason,
        suspended_days: row.suspended_days,
    };
    // A suspension folded in: the days actually suspended, up to `on`.
    let fold_suspension = |c: &mut Changes, on: NaiveDate| {
        if let (Some(from), Some(until)) = (c.suspended_on, c.suspended_until) {
            c.suspended_days += (on - from).num_days().clamp(0, (until - from).num_days()) as i32;
        }
        c.suspended_on = None;
        c.suspended_until = None;
        c.suspension_reason = None;
    };
    Ok(match payload {
        Payload::Start(s) => {
            c.starts_on = s.starts_on.unwrap_or(row.starts_on.max(today));
            (c, s.comment.clone(), None)
        }
        Payload::Suspend(s) => {
            let mut errors = Vec::new();
            if s.until <= today {
                errors.push(FieldError::new(
                    "until",
                    "not_after_today",
                    "a suspension lasts until a day after today",
                ));
            }
            let length = (s.until - today).num_days();
            let allowed = i64::from(rules::suspension_days_left(rules_, row.suspended_days));
            if s.until > today && length > allowed {
                errors.push(FieldError::new(
                    "until",
                    "beyond_max_suspension",
                    format!(
                        "the measure's rules allow {} days of suspension in all; {} are used, {} \
                         remain (until {} at the latest)",
                        rules_.max_suspension_days,
                        row.suspended_days,
                        allowed,
                        today + days(allowed)
                    ),
                ));
            }
            errors.extend(comment_for_other(
                s.reason == SuspensionReason::Other,
                &s.comment,
                "a suspension",
            ));
            if !errors.is_empty() {
                return Err(ApiError::Validation(errors));
            }
            c.suspended_on = Some(today);
            c.suspended_until = Some(s.until);
            c.suspension_reason = Some(s.reason);
            (c, s.comment.clone(), Some(s.reason.as_str()))
        }
        Payload::Resume => {
            fold_suspension(&mut c, today);
            (c, None, None)
        }
        Payload::Close(cl) => {
            let mut errors = Vec::new();
            let ended = cl.ended_on.unwrap_or(today);
            // Checked here rather than as a field rule, to come with the outcomes' errors.
            if ended > today {
                errors.push(FieldError::new(
                    "ended_on",
                    "in_future",
                    "a measure closes on a past day or today",
                ));
            }
            if ended < row.starts_on {
                errors.push(FieldError::new(
                    "ended_on",
                    "before_start",
                    format!("a measure closes on or after its start ({})", row.starts_on),
                ));
            }
            errors.extend(rules::outcome_errors(rules_, &row.kind, &cl.outcomes));
            if !errors.is_empty() {
                return Err(ApiError::Validation(errors));
            }
            fold_suspension(&mut c, ended.max(row.suspended_on.unwrap_or(ended)));
            c.ended_on = Some(ended);
            c.outcomes = cl.outcomes.clone();
            c.closing_comment = cl.comment.as_deref().map(str::trim).map(str::to_owned);
            (c, cl.comment.clone(), None)
        }
        Payload::Cancel(cm) => {
            if let Some(e) = comment_for_other(
                cm.reason == CancellationReason::Other,
                &cm.comment,
                "a cancellation",
            ) {
                return Err(ApiError::Validation(vec![e]));
            }
            c.cancellation_reason = Some(cm.reason);
            c.closing_comment = cm.comment.as_deref().map(str::trim).map(str::to_owned);
            (c, cm.comment.clone(), Some(cm.reason.as_str()))
        }
    })
}

/// The turn of the contact rhythm an action makes, on `today` (`ended_on` for a close).
pub fn rhythm_turn(to: MeasureStatus, c: &Changes, today: NaiveDate) -> Option<rules::Turn> {
    match to {
        MeasureStatus::Suspended => Some(rules::Turn::Suspend(today)),
        MeasureStatus::Active => Some(rules::Turn::Resume(today)),
        MeasureStatus::Closed => Some(rules::Turn::Close(c.ended_on.unwrap_or(today))),
        MeasureStatus::Proposed | MeasureStatus::Cancelled => None,
    }
}
