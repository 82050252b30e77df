//! When a schedule fires: robfig/cron's field-by-field search, on jiff's
//! zoned times.

use jiff::civil::Date;
use jiff::tz::TimeZone;
use jiff::{SignedDuration, Timestamp, ToSpan, Zoned};

use super::{Fields, Kind, STAR, Schedule};

impl Schedule {
    /// The first time the schedule fires strictly after `after`, read in
    /// `tz` (or in the schedule's own `TZ=` zone, which wins). Minute
    /// resolution (`@every` keeps whole seconds). `None` when there is no
    /// such time within five years (`0 0 30 2 *`).
    ///
    /// Like robfig/cron, hours and minutes advance in absolute time: a
    /// local time skipped by a DST jump does not fire that day, and one
    /// repeated when clocks go back fires in both offsets.
    pub fn next_after(&self, after: Timestamp, tz: &TimeZone) -> Option<Timestamp> {
        let tz = self.zone.as_ref().map_or(tz, |(_, z)| z);
        match &self.kind {
            Kind::Every(d) => Timestamp::from_second(after.as_second())
                .ok()?
                .checked_add(*d)
                .ok(),
            Kind::Fields(f) => f.next_after(after, tz),
        }
    }
}

fn has(set: u64, v: impl Into<i64>) -> bool {
    let v: i64 = v.into();
    (0..63).contains(&v) && set & (1 << v) != 0
}

impl Fields {
    fn day_matches(&self, t: &Zoned) -> bool {
        let dom = has(self.dom, t.day());
        let dow = has(self.dow, t.weekday().to_sunday_zero_offset());
        if self.dom & STAR != 0 || self.dow & STAR != 0 {
            dom && dow
        } else {
            dom || dow
        }
    }

    /// robfig/cron's search: months, then days, then hours, then minutes;
    /// a field that rolls over to its zero restarts the search.
    fn next_after(&self, after: Timestamp, tz: &TimeZone) -> Option<Timestamp> {
        // the next whole minute strictly after `after`
        let minute = after.as_second().div_euclid(60) + 1;
        let mut t = Timestamp::from_second(minute * 60)
            .ok()?
            .to_zoned(tz.clone());
        let year_limit = t.year() + 5;
        let mut added = false;
        'wrap: loop {
            if t.year() > year_limit {
                return None;
            }
            while !has(self.month, t.month()) {
                let date = if added {
                    t.date()
                } else {
                    added = true;
                    t.date().first_of_month()
                };
                let next: Date = date.checked_add(1.month()).ok()?;
                t = next.to_zoned(tz.clone()).ok()?;
                if t.month() == 1 {
                    continue 'wrap;
                }
            }
            while !self.day_matches(&t) {
                added = true;
                t = t.date().tomorrow().ok()?.to_zoned(tz.clone()).ok()?;
                if t.day() == 1 {
                    continue 'wrap;
                }
            }
            while !has(self.hour, t.hour()) {
                if !added {
                    added = true;
                    t = t
                        .with()
                        .minute(0)
                        .second(0)
                        .subsec_nanosecond(0)
                        .build()
                        .ok()?;
                }
                t = t.checked_add(SignedDuration::from_hours(1)).ok()?;
                if t.hour() == 0 {
                    continue 'wrap;
                }
            }
            while !has(self.minute, t.minute()) {
                added = true;
                t = t.checked_add(SignedDuration::from_mins(1)).ok()?;
                if t.minute() == 0 {
                    continue 'wrap;
                }
            }
            return Some(t.timestamp());
        }
    }
}
