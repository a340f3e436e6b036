//! The French legal date. Timestamps are UTC; calendar dates (today, due dates, overdue
//! flags, expiries, the dates in rules of law) are those of metropolitan France
//! (`Europe/Paris`, from the IANA database through `chrono-tz`), for every object, overseas
//! ones included: one calendar for every partner, whose deadlines are set by metropolitan
//! bodies (CCAPEX, FSL) and read across time zones. A referral due on 31 December is
//! overdue from 00:00 on 1 January in Paris (23:00 UTC in winter, 22:00 in summer).
//!
//! The clock can be set per server for tests (`Config::clock`: the system clock otherwise):
//! requests read it from their context, jobs are handed the date they run for, the webhook
//! worker reads the server's [`Clock`].

use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;

use chrono::{DateTime, NaiveDate, TimeDelta, Utc};
use chrono_tz::Tz;

/// A server's clock: the system clock, moved by an offset that tests set (and may move
/// while the server runs, to reach a retry's time without sleeping through it). Clones
/// share the offset.
#[derive(Clone, Default)]
pub struct Clock(Arc<AtomicI64>);

impl Clock {
    /// A clock reading `instant` now (and running on from there).
    pub fn at(instant: DateTime<Utc>) -> Clock {
        let clock = Clock::default();
        clock.set_to(instant);
        clock
    }

    /// How far it runs from the system clock.
    pub fn offset(&self) -> TimeDelta {
        TimeDelta::microseconds(self.0.load(Ordering::Relaxed))
    }

    /// Moves it so that it reads `instant` now.
    pub fn set_to(&self, instant: DateTime<Utc>) {
        let offset = offset_to(instant).num_microseconds().unwrap_or(i64::MAX);
        self.0.store(offset, Ordering::Relaxed);
    }

    /// Moves it on by `by`.
    pub fn advance(&self, by: TimeDelta) {
        let by = by.num_microseconds().unwrap_or(0);
        self.0.fetch_add(by, Ordering::Relaxed);
    }

    pub fn now(&self) -> DateTime<Utc> {
        Utc::now() + self.offset()
    }
}

impl std::fmt::Debug for Clock {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Clock(offset {})", self.offset())
    }
}

/// Where French legal dates are taken.
pub const LEGAL_TIME_ZONE: Tz = chrono_tz::Europe::Paris;

/// The current instant, as this server's clock reads it (the request's when in one).
pub fn now() -> DateTime<Utc> {
    Utc::now() + crate::context::clock_offset()
}

/// The French legal date at `instant`.
pub fn date_at(instant: DateTime<Utc>) -> NaiveDate {
    instant.with_timezone(&LEGAL_TIME_ZONE).date_naive()
}

/// Today's French legal date.
pub fn today() -> NaiveDate {
    date_at(now())
}

/// The offset from the system clock of a clock meant to read `instant` now.
pub fn offset_to(instant: DateTime<Utc>) -> TimeDelta {
    instant - Utc::now()
}

/// Field rule: a date not after today's French legal date (422 `in_future`).
pub fn validate_not_future(date: &NaiveDate) -> Result<(), validator::ValidationError> {
    if *date > today() {
        Err(validator::ValidationError::new("in_future")
            .with_message("the date is in the future".into()))
    } else {
        Ok(())
    }
}

/// Field rule: a date within a year (366 days) of today's French legal date, either way
/// (422 `out_of_range`): the start of a measure, which may be recorded late or planned
/// ahead, but not in another decade.
pub fn validate_within_a_year(date: &NaiveDate) -> Result<(), validator::ValidationError> {
    let today = today();
    if (*date - today).num_days().abs() > 366 {
        Err(validator::ValidationError::new("out_of_range")
            .with_message(format!("within a year of today ({today})").into()))
    } else {
        Ok(())
    }
}

/// Field rule: a date not before today's French legal date (422 `in_past`).
pub fn validate_not_past(date: &NaiveDate) -> Result<(), validator::ValidationError> {
    if *date < today() {
        Err(validator::ValidationError::new("in_past")
            .with_message("the date is in the past".into()))
    } else {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: &str) -> DateTime<Utc> {
        s.parse().unwrap()
    }

    #[test]
    fn the_day_changes_at_midnight_in_paris() {
        let d = |y, m, d| NaiveDate::from_ymd_opt(y, m, d).unwrap();
        // Winter (UTC+1): 23:30 UTC on 31 December is 00:30 on 1 January.
        assert_eq!(date_at(at("2027-12-31T22:59:59Z")), d(2027, 12, 31));
        assert_eq!(date_at(at("2027-12-31T23:00:00Z")), d(2028, 1, 1));
        assert_eq!(date_at(at("2027-12-31T23:30:00Z")), d(2028, 1, 1));
        // Summer (UTC+2).
        assert_eq!(date_at(at("2026-07-14T21:59:59Z")), d(2026, 7, 14));
        assert_eq!(date_at(at("2026-07-14T22:00:00Z")), d(2026, 7, 15));
        // The days the clocks change.
        assert_eq!(date_at(at("2026-03-28T23:30:00Z")), d(2026, 3, 29));
        assert_eq!(date_at(at("2026-10-24T22:30:00Z")), d(2026, 10, 25));
    }
}
