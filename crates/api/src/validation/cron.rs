//! CronJob schedule syntax, checked the way Kubernetes' cron parser
//! (`robfig/cron` standard parser) checks it, with its error texts.

const MONTHS: &[&str] = &[
    "jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec",
];
const DAYS: &[&str] = &["sun", "mon", "tue", "wed", "thu", "fri", "sat"];

struct Bounds {
    min: u32,
    max: u32,
    names: &'static [&'static str],
    /// Value of the first name (`jan` = 1, `sun` = 0).
    name_base: u32,
}

const FIELDS: [Bounds; 5] = [
    Bounds {
        min: 0,
        max: 59,
        names: &[],
        name_base: 0,
    },
    Bounds {
        min: 0,
        max: 23,
        names: &[],
        name_base: 0,
    },
    Bounds {
        min: 1,
        max: 31,
        names: &[],
        name_base: 0,
    },
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

/// Checks a schedule; the error is the parser's message.
pub(crate) fn check_schedule(spec: &str) -> Result<(), String> {
    let spec = spec.trim();
    if spec.starts_with("TZ=") || spec.starts_with("CRON_TZ=") {
        return Err("cannot use TZ or CRON_TZ in schedule, use timeZone field instead".into());
    }
    if let Some(desc) = spec.strip_prefix('@') {
        return match desc {
            "yearly" | "annually" | "monthly" | "weekly" | "daily" | "midnight" | "hourly" => {
                Ok(())
            }
            d if d.starts_with("every ") => Ok(()),
            _ => Err(format!("unrecognized descriptor: {spec}")),
        };
    }
    let fields: Vec<&str> = spec.split_whitespace().collect();
    if fields.len() != 5 {
        return Err(format!(
            "expected exactly 5 fields, found {}: [{}]",
            fields.len(),
            fields.join(" ")
        ));
    }
    for (field, bounds) in fields.iter().zip(FIELDS.iter()) {
        for part in field.split(',') {
            check_range(part, bounds)?;
        }
    }
    Ok(())
}

fn parse_int(expr: &str) -> Result<u32, String> {
    expr.parse::<u32>().map_err(|_| {
        format!("failed to parse int from {expr}: strconv.Atoi: parsing \"{expr}\": invalid syntax")
    })
}

fn parse_int_or_name(expr: &str, b: &Bounds) -> Result<u32, String> {
    let lower = expr.to_ascii_lowercase();
    match b.names.iter().position(|n| *n == lower) {
        Some(i) => Ok(b.name_base + i as u32),
        None => parse_int(expr),
    }
}

fn check_range(expr: &str, b: &Bounds) -> Result<(), String> {
    let range_and_step: Vec<&str> = expr.split('/').collect();
    let low_and_high: Vec<&str> = range_and_step[0].split('-').collect();
    let single = low_and_high.len() == 1;
    let (start, end) = if low_and_high[0] == "*" || low_and_high[0] == "?" {
        (b.min, b.max)
    } else {
        let start = parse_int_or_name(low_and_high[0], b)?;
        let end = match low_and_high.len() {
            1 => start,
            2 => parse_int_or_name(low_and_high[1], b)?,
            _ => return Err(format!("too many hyphens: {expr}")),
        };
        (start, end)
    };
    let (end, step) = match range_and_step.len() {
        1 => (end, 1),
        2 => {
            let step = parse_int(range_and_step[1])?;
            // `N/step` means `N-max/step`.
            (if single { b.max } else { end }, step)
        }
        _ => return Err(format!("too many slashes: {expr}")),
    };
    if start < b.min {
        return Err(format!(
            "beginning of range ({start}) below minimum ({}): {expr}",
            b.min
        ));
    }
    if end > b.max {
        return Err(format!(
            "end of range ({end}) above maximum ({}): {expr}",
            b.max
        ));
    }
    if start > end {
        return Err(format!(
            "beginning of range ({start}) beyond end of range ({end}): {expr}"
        ));
    }
    if step == 0 {
        return Err(format!("step of range should be a positive number: {expr}"));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn schedules() {
        let cases: &[(&str, Option<&str>)] = &[
            ("*/5 * * * *", None),
            ("0 0 * * 0", None),
            ("0 9-17 * * mon-fri", None),
            ("30 2 1,15 JAN,jul ?", None),
            ("@hourly", None),
            ("@every 1h", None),
            ("@sometimes", Some("unrecognized descriptor: @sometimes")),
            (
                "* * * *",
                Some("expected exactly 5 fields, found 4: [* * * *]"),
            ),
            (
                "60 * * * *",
                Some("end of range (60) above maximum (59): 60"),
            ),
            (
                "* * 0 * *",
                Some("beginning of range (0) below minimum (1): 0"),
            ),
            (
                "5-1 * * * *",
                Some("beginning of range (5) beyond end of range (1): 5-1"),
            ),
            (
                "*/0 * * * *",
                Some("step of range should be a positive number: */0"),
            ),
            (
                "x * * * *",
                Some("failed to parse int from x: strconv.Atoi: parsing \"x\": invalid syntax"),
            ),
            ("1-2-3 * * * *", Some("too many hyphens: 1-2-3")),
            (
                "TZ=UTC * * * * *",
                Some("cannot use TZ or CRON_TZ in schedule, use timeZone field instead"),
            ),
        ];
        for (spec, want) in cases {
            assert_eq!(check_schedule(spec).err().as_deref(), *want, "{spec}");
        }
    }
}
