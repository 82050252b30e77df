//! Parsing of `resource.Quantity` strings (`100m`, `1.5Gi`, `2e3`) into a
//! fixed-point integer of nano-units, enough to add and compare them.

const NANO: i128 = 1_000_000_000;

/// Parses a quantity into units of 10⁻⁹ (so `"1"` is 1 000 000 000 and
/// `"100m"` is 100 000 000). `None` for anything that is not a quantity.
pub fn parse_quantity(s: &str) -> Option<i128> {
    let s = s.trim();
    let (negative, body) = match s.as_bytes().first()? {
        b'-' => (true, &s[1..]),
        b'+' => (false, &s[1..]),
        _ => (false, s),
    };
    let num_end = body
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(body.len());
    let (number, suffix) = body.split_at(num_end);
    let (int_part, frac_part) = number.split_once('.').unwrap_or((number, ""));
    if int_part.is_empty() && frac_part.is_empty() {
        return None;
    }
    if frac_part.contains('.') {
        return None;
    }
    let digits: String = format!("{int_part}{frac_part}");
    let mantissa: i128 = if digits.is_empty() {
        0
    } else {
        digits.parse().ok()?
    };
    let frac_len = i32::try_from(frac_part.len()).ok()?;
    // value = mantissa * 10^-frac_len * multiplier, in nano units.
    let (binary_pow, dec_exp): (u32, i32) = match suffix {
        "" => (0, 0),
        "n" => (0, -9),
        "u" => (0, -6),
        "m" => (0, -3),
        "k" => (0, 3),
        "M" => (0, 6),
        "G" => (0, 9),
        "T" => (0, 12),
        "P" => (0, 15),
        "E" => (0, 18),
        "Ki" => (1, 0),
        "Mi" => (2, 0),
        "Gi" => (3, 0),
        "Ti" => (4, 0),
        "Pi" => (5, 0),
        "Ei" => (6, 0),
        exp if exp.starts_with(['e', 'E']) => (0, exp[1..].parse::<i32>().ok()?),
        _ => return None,
    };
    let mut value = mantissa.checked_mul(1024i128.checked_pow(binary_pow)?)?;
    let scale = 9 + dec_exp - frac_len;
    if scale >= 0 {
        value = value.checked_mul(10i128.checked_pow(u32::try_from(scale).ok()?)?)?;
    } else {
        let div = 10i128.checked_pow(u32::try_from(-scale).ok()?);
        // Anything finer than a nano-unit rounds up, as Kubernetes does.
        value = match div {
            Some(d) => (value + d - 1) / d,
            None => i128::from(value > 0),
        };
    }
    Some(if negative { -value } else { value })
}

/// One whole unit in nano-units.
pub const UNIT: i128 = NANO;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantities() {
        let cases: &[(&str, Option<i128>)] = &[
            ("1", Some(NANO)),
            ("100m", Some(NANO / 10)),
            ("0.5", Some(NANO / 2)),
            (".5", Some(NANO / 2)),
            ("1Ki", Some(1024 * NANO)),
            ("1.5Gi", Some(1536 * 1024 * 1024 * NANO)),
            ("128974848", Some(128_974_848 * NANO)),
            ("129e6", Some(129_000_000 * NANO)),
            ("129M", Some(129_000_000 * NANO)),
            ("1E-3", Some(NANO / 1000)),
            ("1n", Some(1)),
            ("0.1n", Some(1)),
            ("-2", Some(-2 * NANO)),
            ("", None),
            ("abc", None),
            ("1Xi", None),
            ("1.2.3", None),
            ("m", None),
        ];
        for (s, want) in cases {
            assert_eq!(parse_quantity(s), *want, "{s}");
        }
    }
}
