//! CronJob schedules: the syntax Kubernetes accepts (robfig/cron's standard
//! parser, with its error texts) and the times a schedule fires.
//!
//! One parser serves the API server's validation and the CronJob controller.
//!
//! Accepted: five fields `minute hour day-of-month month day-of-week`, each a
//! comma-separated list of `*`, `?` (same as `*`), `N`, `N-M`, with an
//! optional step `/S` (`N/S` means `N-max/S`); months `jan`-`dec` and
//! days `sun`-`sat` by name (any case); the descriptors `@yearly`
//! (`@annually`), `@monthly`, `@weekly`, `@daily` (`@midnight`), `@hourly`
//! and `@every <Go duration>`; and a leading `TZ=<zone> ` or
//! `CRON_TZ=<zone> ` naming an IANA zone. When both day-of-month and
//! day-of-week are restricted (neither starts with `*` or `?`), a day
//! matches if either does, as in Vixie cron.

use jiff::SignedDuration;
use jiff::tz::TimeZone;

/// Why a schedule was refused; the texts are those of robfig/cron.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CronError {
    /// The schedule is empty.
    #[error("empty spec string")]
    Empty,
    /// Not five fields.
    #[error("expected exactly 5 fields, found {found}: [{fields}]")]
    FieldCount {
        /// How many fields there were.
        found: usize,
        /// The fields, space-separated.
        fields: String,
    },
    /// A number (or name) that does not parse.
    #[error("failed to parse int from {0}: strconv.Atoi: parsing \"{0}\": invalid syntax")]
    NotANumber(String),
    /// `1-2-3`.
    #[error("too many hyphens: {0}")]
    TooManyHyphens(String),
    /// `1/2/3`.
    #[error("too many slashes: {0}")]
    TooManySlashes(String),
    /// A range starting below the field's minimum.
    #[error("beginning of range ({start}) below minimum ({min}): {expr}")]
    BelowMinimum {
        /// The range's start.
        start: u64,
        /// The field's minimum.
        min: u64,
        /// The range as written.
        expr: String,
    },
    /// A range ending above the field's maximum.
    #[error("end of range ({end}) above maximum ({max}): {expr}")]
    AboveMaximum {
        /// The range's end.
        end: u64,
        /// The field's maximum.
        max: u64,
        /// The range as written.
        expr: String,
    },
    /// A range whose start is after its end.
    #[error("beginning of range ({start}) beyond end of range ({end}): {expr}")]
    BeyondEnd {
        /// The range's start.
        start: u64,
        /// The range's end.
        end: u64,
        /// The range as written.
        expr: String,
    },
    /// A step of zero.
    #[error("step of range should be a positive number: {0}")]
    ZeroStep(String),
    /// `@something` that is not a descriptor.
    #[error("unrecognized descriptor: {0}")]
    UnknownDescriptor(String),
    /// `@every` with a duration Go does not parse.
    #[error("failed to parse duration {text}: time: invalid duration \"{duration}\"")]
    BadDuration {
        /// The whole descriptor.
        text: String,
        /// The duration part.
        duration: String,
    },
    /// `TZ=` / `CRON_TZ=` naming no known zone (or not followed by a schedule).
    #[error("provided bad location {0}: unknown time zone {0}")]
    BadLocation(String),
}

const MONTHS: &[&str] = &[
    "jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec",
];
const DAYS: &[&str] = &["sun", "mon", "tue", "wed", "thu", "fri", "sat"];

/// Set in a field's bits when it was written `*` or `?` (with no step > 1).
const STAR: u64 = 1 << 63;

struct Bounds {
    min: u64,
    max: u64,
    names: &'static [&'static str],
    /// Value of the first name (`jan` = 1, `sun` = 0).
    name_base: u64,
}

const fn bounds(min: u64, max: u64) -> Bounds {
    Bounds {
        min,
        max,
        names: &[],
        name_base: 0,
    }
}

const FIELDS: [Bounds; 5] = [
    bounds(0, 59),
    bounds(0, 23),
    bounds(1, 31),
    Bounds {
        min: 1,
        max: 12,
        names: MONTHS,
        name_base: 1,
    },
    Bounds {
        min: 0,
        max: 6,
        names: DAYS,
        name_base: 0,
    },
];

/// Every value of the field, marked as `*`.
fn all(b: &Bounds) -> u64 {
    bits(b.min, b.max, 1) | STAR
}

fn bits(min: u64, max: u64, step: u64) -> u64 {
    (min..=max)
        .step_by(step.max(1) as usize)
        .fold(0, |acc, v| acc | 1 << v)
}

/// The instants of a five-field schedule (or a descriptor), as bit sets.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Fields {
    minute: u64,
    hour: u64,
    dom: u64,
    month: u64,
    dow: u64,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Kind {
    Fields(Fields),
    /// `@every`: a constant delay, whole seconds, at least one.
    Every(SignedDuration),
}

/// A parsed CronJob schedule.
#[derive(Debug, Clone, PartialEq)]
pub struct Schedule {
    kind: Kind,
    /// The zone of a `TZ=` / `CRON_TZ=` prefix, with its name.
    zone: Option<(String, TimeZone)>,
}

impl Schedule {
    /// Parses a schedule as Kubernetes' controller does
    /// (`cron.ParseStandard`), `TZ=`/`CRON_TZ=` prefix included.
    pub fn parse(spec: &str) -> Result<Schedule, CronError> {
        if spec.is_empty() {
            return Err(CronError::Empty);
        }
        let mut spec = spec;
        let mut zone = None;
        if spec.starts_with("TZ=") || spec.starts_with("CRON_TZ=") {
            let eq = spec.find('=').unwrap_or(0);
            let Some(space) = spec.find(' ') else {
                return Err(CronError::BadLocation(spec[eq + 1..].to_string()));
            };
            let name = &spec[eq + 1..space];
            zone = Some((name.to_string(), load_zone(name)?));
            spec = spec[space..].trim();
        }
        let kind = if let Some(desc) = spec.strip_prefix('@') {
            descriptor(spec, desc)?
        } else {
            let fields: Vec<&str> = spec.split_whitespace().collect();
            if fields.len() != 5 {
                return Err(CronError::FieldCount {
                    found: fields.len(),
                    fields: fields.join(" "),
                });
            }
            let mut sets = [0u64; 5];
            for ((set, field), b) in sets.iter_mut().zip(&fields).zip(&FIELDS) {
                for part in field.split(',') {
                    *set |= range(part, b)?;
                }
            }
            let [minute, hour, dom, month, dow] = sets;
            Kind::Fields(Fields {
                minute,
                hour,
                dom,
                month,
                dow,
            })
        };
        Ok(Schedule { kind, zone })
    }

    /// The zone named by a `TZ=` / `CRON_TZ=` prefix, if the schedule has one.
    pub fn zone_name(&self) -> Option<&str> {
        self.zone.as_ref().map(|(n, _)| n.as_str())
    }
}

/// Loads an IANA zone as Go's `time.LoadLocation` does (`""` and `UTC` are
/// UTC; `Local` is taken as UTC, the zone brink's controllers run in).
pub fn load_zone(name: &str) -> Result<TimeZone, CronError> {
    match name {
        "" | "UTC" | "Local" => Ok(TimeZone::UTC),
        _ => jiff::tz::db()
            .get(name)
            .map_err(|_| CronError::BadLocation(name.to_string())),
    }
}

fn descriptor(spec: &str, desc: &str) -> Result<Kind, CronError> {
    let [_, hour, dom, month, dow] = FIELDS.each_ref().map(all);
    let first = |b: &Bounds| 1u64 << b.min;
    let fields = match desc {
        "yearly" | "annually" => Fields {
            minute: 1,
            hour: 1,
            dom: first(&FIELDS[2]),
            month: first(&FIELDS[3]),
            dow,
        },
        "monthly" => Fields {
            minute: 1,
            hour: 1,
            dom: first(&FIELDS[2]),
            month,
            dow,
        },
        "weekly" => Fields {
            minute: 1,
            hour: 1,
            dom,
            month,
            dow: 1,
        },
        "daily" | "midnight" => Fields {
            minute: 1,
            hour: 1,
            dom,
            month,
            dow,
        },
        "hourly" => Fields {
            minute: 1,
            hour,
            dom,
            month,
            dow,
        },
        d => {
            let Some(text) = d.strip_prefix("every ") else {
                return Err(CronError::UnknownDescriptor(spec.to_string()));
            };
            let bad = || CronError::BadDuration {
                text: spec.to_string(),
                duration: text.to_string(),
            };
            let d = go_duration(text).ok_or_else(bad)?;
            // robfig: at least a second, whole seconds
            let secs = d.as_secs().max(1);
            return Ok(Kind::Every(SignedDuration::from_secs(secs)));
        }
    };
    Ok(Kind::Fields(fields))
}

/// A Go duration (`1h30m`, `90s`, `1.5h`, `0`): `None` when Go refuses it.
fn go_duration(text: &str) -> Option<SignedDuration> {
    let (neg, mut rest) = match text.as_bytes().first() {
        Some(b'-') => (true, &text[1..]),
        Some(b'+') => (false, &text[1..]),
        _ => (false, text),
    };
    if rest == "0" {
        return Some(SignedDuration::ZERO);
    }
    if rest.is_empty() {
        return None;
    }
    let mut nanos: f64 = 0.0;
    while !rest.is_empty() {
        let num_len = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .unwrap_or(rest.len());
        let num: f64 = rest[..num_len].parse().ok()?;
        rest = &rest[num_len..];
        let unit_len = rest
            .find(|c: char| c.is_ascii_digit() || c == '.')
            .unwrap_or(rest.len());
        let scale = match &rest[..unit_len] {
            "ns" => 1.0,
            "us" | "µs" | "μs" => 1e3,
            "ms" => 1e6,
            "s" => 1e9,
            "m" => 60e9,
            "h" => 3600e9,
            _ => return None,
        };
        rest = &rest[unit_len..];
        nanos += num * scale;
    }
    let nanos = if neg { -nanos } else { nanos };
    Some(SignedDuration::from_nanos(nanos as i64))
}

fn parse_int(expr: &str) -> Result<u64, CronError> {
    expr.parse::<u64>()
        .map_err(|_| CronError::NotANumber(expr.to_string()))
}

fn parse_int_or_name(expr: &str, b: &Bounds) -> Result<u64, CronError> {
    let lower = expr.to_ascii_lowercase();
    match b.names.iter().position(|n| *n == lower) {
        Some(i) => Ok(b.name_base + i as u64),
        None => parse_int(expr),
    }
}

/// One element of a field's list, as a bit set.
fn range(expr: &str, b: &Bounds) -> Result<u64, CronError> {
    let range_and_step: Vec<&str> = expr.split('/').collect();
    let low_and_high: Vec<&str> = range_and_step[0].split('-').collect();
    let single = low_and_high.len() == 1;
    let mut extra = 0;
    let (start, end) = if low_and_high[0] == "*" || low_and_high[0] == "?" {
        extra = STAR;
        (b.min, b.max)
    } else {
        let start = parse_int_or_name(low_and_high[0], b)?;
        let end = match low_and_high.len() {
            1 => start,
            2 => parse_int_or_name(low_and_high[1], b)?,
            _ => return Err(CronError::TooManyHyphens(expr.to_string())),
        };
        (start, end)
    };
    let (end, step) = match range_and_step.len() {
        1 => (end, 1),
        2 => {
            let step = parse_int(range_and_step[1])?;
            if step > 1 {
                extra = 0;
            }
            // `N/step` means `N-max/step`.
            (if single { b.max } else { end }, step)
        }
        _ => return Err(CronError::TooManySlashes(expr.to_string())),
    };
    if start < b.min {
        return Err(CronError::BelowMinimum {
            start,
            min: b.min,
            expr: expr.to_string(),
        });
    }
    if end > b.max {
        return Err(CronError::AboveMaximum {
            end,
            max: b.max,
            expr: expr.to_string(),
        });
    }
    if start > end {
        return Err(CronError::BeyondEnd {
            start,
            end,
            expr: expr.to_string(),
        });
    }
    if step == 0 {
        return Err(CronError::ZeroStep(expr.to_string()));
    }
    Ok(bits(start, end, step) | extra)
}

mod next;

#[cfg(test)]
mod cron_tests;
