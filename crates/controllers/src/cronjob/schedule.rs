//! A CronJob's schedule as the controller reads it: the expression (parsed by
//! [`api::cron`], the parser the API server validates with), its zone, and
//! the times that are due.

use std::time::Duration;

use k8s_openapi::api::batch::v1::CronJob;
use k8s_openapi::jiff::tz::TimeZone;
use k8s_openapi::jiff::{SignedDuration, Timestamp};

pub use api::cron::{CronError, Schedule, load_zone};

/// More missed times than this and the controller warns (`TooManyMissedTimes`).
pub const MAX_MISSED: i64 = 100;
/// Added to requeue delays so the controller wakes just after a schedule time.
pub const REQUEUE_MARGIN: Duration = Duration::from_millis(100);

/// Why a CronJob's schedule cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ScheduleError {
    /// `spec.timeZone` names no known zone.
    #[error("invalid timeZone: \"{0}\": unknown time zone {0}")]
    UnknownTimeZone(String),
    /// `spec.schedule` does not parse.
    #[error("unparseable schedule: \"{schedule}\" : {error}")]
    Unparseable {
        /// The schedule as written.
        schedule: String,
        /// The parser's complaint.
        error: CronError,
    },
    /// Two consecutive times are less than a second apart.
    #[error("invalid schedule: {0} : time difference between two schedules is less than 1 second")]
    Invalid(String),
}

/// The schedule and the zone its times are read in: `spec.timeZone`, else a
/// `TZ=`/`CRON_TZ=` prefix of the schedule, else UTC (as Kubernetes, which
/// prefixes `TZ=<timeZone>` unless the schedule names a zone itself).
pub fn schedule_of(cron_job: &CronJob) -> Result<(Schedule, TimeZone), ScheduleError> {
    let spec = cron_job.spec.as_ref();
    let zone_name = spec.and_then(|s| s.time_zone.as_deref());
    let zone = match zone_name {
        Some(name) => load_zone(name).map_err(|_| ScheduleError::UnknownTimeZone(name.into()))?,
        None => TimeZone::UTC,
    };
    let text = spec.map_or("", |s| s.schedule.as_str());
    let schedule = Schedule::parse(text).map_err(|error| ScheduleError::Unparseable {
        schedule: text.to_string(),
        error,
    })?;
    Ok((schedule, zone))
}

/// The most recent schedule time not yet acted on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Due {
    /// The most recent time in `(earliest, now]`, if any.
    pub time: Option<Timestamp>,
    /// Roughly how many times were missed (Kubernetes' estimate).
    pub missed: i64,
}

/// The most recent schedule time after `earliest` and not after `now`,
/// estimated as Kubernetes does (from the gap between the first two times)
/// so that a long outage costs no more than ~100 steps.
pub fn most_recent(
    schedule: &Schedule,
    tz: &TimeZone,
    earliest: Timestamp,
    now: Timestamp,
    text: &str,
) -> Result<Due, ScheduleError> {
    let none = Due {
        time: None,
        missed: 0,
    };
    let Some(t1) = schedule.next_after(earliest, tz) else {
        return Ok(none);
    };
    if now < t1 {
        return Ok(none);
    }
    let Some(t2) = schedule.next_after(t1, tz) else {
        return Ok(Due {
            time: Some(t1),
            missed: 1,
        });
    };
    if now < t2 {
        return Ok(Due {
            time: Some(t1),
            missed: 1,
        });
    }
    let gap = t2.duration_since(t1).as_secs();
    if gap < 1 {
        return Err(ScheduleError::Invalid(text.to_string()));
    }
    let missed = now.duration_since(t1).as_secs() / gap + 1;
    // step back one gap further, then walk forwards exactly
    let from = t1
        .checked_add(SignedDuration::from_secs((missed - 2) * gap))
        .unwrap_or(t1);
    let mut time = None;
    let mut t = schedule.next_after(from.max(earliest), tz);
    while let Some(at) = t.filter(|at| *at <= now) {
        time = Some(at);
        t = schedule.next_after(at, tz);
    }
    Ok(Due { time, missed })
}

/// How long until the schedule time after `last` (or after `earliest` when
/// nothing is due), plus [`REQUEUE_MARGIN`].
pub fn until_next(
    schedule: &Schedule,
    tz: &TimeZone,
    last: Timestamp,
    now: Timestamp,
) -> Option<Duration> {
    let next = schedule.next_after(last, tz)?;
    let left = Duration::try_from(next.duration_since(now)).unwrap_or(Duration::ZERO);
    Some(left + REQUEUE_MARGIN)
}
