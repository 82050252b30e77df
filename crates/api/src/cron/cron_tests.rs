use super::*;
use jiff::Timestamp;

fn ts(s: &str) -> Timestamp {
    s.parse().unwrap()
}

fn zone(name: &str) -> TimeZone {
    load_zone(name).unwrap()
}

/// (schedule, zone, after, next)
const NEXT: &[(&str, &str, &str, Option<&str>)] = &[
    (
        "*/5 * * * *",
        "UTC",
        "2026-01-01T10:02:30Z",
        Some("2026-01-01T10:05:00Z"),
    ),
    (
        "*/5 * * * *",
        "UTC",
        "2026-01-01T10:05:00Z",
        Some("2026-01-01T10:10:00Z"),
    ),
    (
        "* * * * *",
        "UTC",
        "2026-01-01T10:05:59.9Z",
        Some("2026-01-01T10:06:00Z"),
    ),
    (
        "1-10/3 * * * *",
        "UTC",
        "2026-01-01T10:04:00Z",
        Some("2026-01-01T10:07:00Z"),
    ),
    (
        "1-10/3 * * * *",
        "UTC",
        "2026-01-01T10:10:00Z",
        Some("2026-01-01T11:01:00Z"),
    ),
    (
        "5/20 * * * *",
        "UTC",
        "2026-01-01T10:30:00Z",
        Some("2026-01-01T10:45:00Z"),
    ),
    (
        "0,30 9-17 * * mon-fri",
        "UTC",
        "2026-01-02T17:30:00Z",
        Some("2026-01-05T09:00:00Z"),
    ),
    (
        "0 12 * JAN,jul ?",
        "UTC",
        "2026-01-31T12:00:00Z",
        Some("2026-07-01T12:00:00Z"),
    ),
    (
        "59 23 31 12 *",
        "UTC",
        "2026-01-01T00:00:00Z",
        Some("2026-12-31T23:59:00Z"),
    ),
    // @hourly and friends
    (
        "@hourly",
        "UTC",
        "2026-01-01T10:00:00Z",
        Some("2026-01-01T11:00:00Z"),
    ),
    (
        "@hourly",
        "UTC",
        "2026-01-01T23:59:00Z",
        Some("2026-01-02T00:00:00Z"),
    ),
    (
        "@daily",
        "UTC",
        "2026-01-01T10:00:00Z",
        Some("2026-01-02T00:00:00Z"),
    ),
    (
        "@midnight",
        "UTC",
        "2026-01-01T10:00:00Z",
        Some("2026-01-02T00:00:00Z"),
    ),
    // 2026-01-01 is a Thursday
    (
        "@weekly",
        "UTC",
        "2026-01-01T10:00:00Z",
        Some("2026-01-04T00:00:00Z"),
    ),
    (
        "@monthly",
        "UTC",
        "2026-01-01T00:00:00Z",
        Some("2026-02-01T00:00:00Z"),
    ),
    (
        "@yearly",
        "UTC",
        "2026-06-01T00:00:00Z",
        Some("2027-01-01T00:00:00Z"),
    ),
    (
        "@annually",
        "UTC",
        "2026-06-01T00:00:00Z",
        Some("2027-01-01T00:00:00Z"),
    ),
    (
        "@every 90m",
        "UTC",
        "2026-01-01T10:00:30.5Z",
        Some("2026-01-01T11:30:30Z"),
    ),
    (
        "@every 10ms",
        "UTC",
        "2026-01-01T10:00:30Z",
        Some("2026-01-01T10:00:31Z"),
    ),
    // day of month OR day of week when both are restricted
    (
        "0 0 13 * 5",
        "UTC",
        "2026-01-01T00:00:00Z",
        Some("2026-01-02T00:00:00Z"),
    ),
    (
        "0 0 13 * 5",
        "UTC",
        "2026-01-10T00:00:00Z",
        Some("2026-01-13T00:00:00Z"),
    ),
    (
        "0 0 13 * *",
        "UTC",
        "2026-01-01T00:00:00Z",
        Some("2026-01-13T00:00:00Z"),
    ),
    (
        "0 0 * * 5",
        "UTC",
        "2026-01-10T00:00:00Z",
        Some("2026-01-16T00:00:00Z"),
    ),
    (
        "0 0 13 * ?",
        "UTC",
        "2026-01-01T00:00:00Z",
        Some("2026-01-13T00:00:00Z"),
    ),
    // `*/2` (a step) counts as restricted: OR with Monday
    (
        "0 0 */2 * 1",
        "UTC",
        "2026-01-03T00:00:00Z",
        Some("2026-01-05T00:00:00Z"),
    ),
    (
        "0 0 */1 * 1",
        "UTC",
        "2026-01-03T00:00:00Z",
        Some("2026-01-05T00:00:00Z"),
    ),
    (
        "0 0 */1 * 1",
        "UTC",
        "2026-01-05T00:00:00Z",
        Some("2026-01-12T00:00:00Z"),
    ),
    // never
    ("0 0 30 2 *", "UTC", "2026-01-01T00:00:00Z", None),
    // Europe/Berlin: 2026-03-29 02:00 CET -> 03:00 CEST
    (
        "0 9 * * *",
        "Europe/Berlin",
        "2026-01-01T00:00:00Z",
        Some("2026-01-01T08:00:00Z"),
    ),
    (
        "0 9 * * *",
        "Europe/Berlin",
        "2026-07-01T00:00:00Z",
        Some("2026-07-01T07:00:00Z"),
    ),
    (
        "0 * * * *",
        "Europe/Berlin",
        "2026-03-29T00:30:00Z",
        Some("2026-03-29T01:00:00Z"),
    ),
    // 02:30 does not exist on the 29th: the next one is on the 30th
    (
        "30 2 * * *",
        "Europe/Berlin",
        "2026-03-28T12:00:00Z",
        Some("2026-03-30T00:30:00Z"),
    ),
    // 2026-10-25 03:00 CEST -> 02:00 CET: 02:30 happens twice, fires twice
    (
        "30 2 * * *",
        "Europe/Berlin",
        "2026-10-24T12:00:00Z",
        Some("2026-10-25T00:30:00Z"),
    ),
    (
        "30 2 * * *",
        "Europe/Berlin",
        "2026-10-25T00:30:00Z",
        Some("2026-10-25T01:30:00Z"),
    ),
    (
        "30 2 * * *",
        "Europe/Berlin",
        "2026-10-25T01:30:00Z",
        Some("2026-10-26T01:30:00Z"),
    ),
    // the schedule's own zone wins over the one passed
    (
        "TZ=Europe/Berlin 0 9 * * *",
        "UTC",
        "2026-01-01T00:00:00Z",
        Some("2026-01-01T08:00:00Z"),
    ),
    (
        "CRON_TZ=America/New_York 0 9 * * *",
        "Europe/Berlin",
        "2026-01-01T00:00:00Z",
        Some("2026-01-01T14:00:00Z"),
    ),
    (
        "0 9 * * *",
        "America/New_York",
        "2026-01-01T00:00:00Z",
        Some("2026-01-01T14:00:00Z"),
    ),
];

#[test]
fn next_times() {
    for (spec, tz, after, want) in NEXT {
        let schedule = Schedule::parse(spec).unwrap_or_else(|e| panic!("{spec}: {e}"));
        let got = schedule.next_after(ts(after), &zone(tz));
        assert_eq!(got, want.map(ts), "{spec} in {tz} after {after}");
    }
}

#[test]
fn hourly_across_spring_forward_is_one_real_hour_apart() {
    let s = Schedule::parse("@hourly").unwrap();
    let berlin = zone("Europe/Berlin");
    let mut t = ts("2026-03-28T23:30:00Z");
    let mut fired = vec![];
    for _ in 0..4 {
        t = s.next_after(t, &berlin).unwrap();
        fired.push(t.to_zoned(berlin.clone()).to_string());
    }
    assert_eq!(
        fired,
        [
            "2026-03-29T01:00:00+01:00[Europe/Berlin]",
            "2026-03-29T03:00:00+02:00[Europe/Berlin]",
            "2026-03-29T04:00:00+02:00[Europe/Berlin]",
            "2026-03-29T05:00:00+02:00[Europe/Berlin]",
        ]
    );
}

#[test]
fn errors() {
    let cases: &[(&str, &str)] = &[
        ("", "empty spec string"),
        ("* * * *", "expected exactly 5 fields, found 4: [* * * *]"),
        (
            "* * * * * *",
            "expected exactly 5 fields, found 6: [* * * * * *]",
        ),
        ("60 * * * *", "end of range (60) above maximum (59): 60"),
        ("* 24 * * *", "end of range (24) above maximum (23): 24"),
        ("* * 32 * *", "end of range (32) above maximum (31): 32"),
        ("* * * 13 *", "end of range (13) above maximum (12): 13"),
        ("* * * * 7", "end of range (7) above maximum (6): 7"),
        ("* * 0 * *", "beginning of range (0) below minimum (1): 0"),
        (
            "5-1 * * * *",
            "beginning of range (5) beyond end of range (1): 5-1",
        ),
        (
            "*/0 * * * *",
            "step of range should be a positive number: */0",
        ),
        ("1-2-3 * * * *", "too many hyphens: 1-2-3"),
        ("*/2/3 * * * *", "too many slashes: */2/3"),
        (
            "* * * foo *",
            "failed to parse int from foo: strconv.Atoi: parsing \"foo\": invalid syntax",
        ),
        (
            "1,,2 * * * *",
            "failed to parse int from : strconv.Atoi: parsing \"\": invalid syntax",
        ),
        ("@sometimes", "unrecognized descriptor: @sometimes"),
        (
            "@every soon",
            "failed to parse duration @every soon: time: invalid duration \"soon\"",
        ),
        (
            "@every 5",
            "failed to parse duration @every 5: time: invalid duration \"5\"",
        ),
        (
            "TZ=Mars/Base * * * * *",
            "provided bad location Mars/Base: unknown time zone Mars/Base",
        ),
    ];
    for (spec, want) in cases {
        let got = Schedule::parse(spec).err().map(|e| e.to_string());
        assert_eq!(got.as_deref(), Some(*want), "{spec}");
    }
}

#[test]
fn zone_prefix_is_kept() {
    let s = Schedule::parse("CRON_TZ=Asia/Tokyo 0 0 * * *").unwrap();
    assert_eq!(s.zone_name(), Some("Asia/Tokyo"));
    assert_eq!(Schedule::parse("0 0 * * *").unwrap().zone_name(), None);
}
