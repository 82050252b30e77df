//! CronJob schedule syntax, checked by [`crate::cron`] (the parser the
//! CronJob controller uses too), with robfig/cron's error texts.

/// Checks a schedule; the error is the parser's message. A `TZ=` or
/// `CRON_TZ=` prefix is refused here (new objects use `spec.timeZone`),
/// though the controller still honours one on objects stored earlier.
pub(crate) fn check_schedule(spec: &str) -> Result<(), String> {
    let spec = spec.trim();
    if spec.starts_with("TZ=") || spec.starts_with("CRON_TZ=") {
        return Err("cannot use TZ or CRON_TZ in schedule, use timeZone field instead".into());
    }
    crate::cron::Schedule::parse(spec)
        .map(drop)
        .map_err(|e| e.to_string())
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
            ("@every 1h30m", None),
            (
                "@every soon",
                Some("failed to parse duration @every soon: time: invalid duration \"soon\""),
            ),
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
