//! Temporal literals as MariaDB reads them: any punctuation between the parts, one- or
//! two-digit months, days and times, two-digit years, compact digit strings
//! (`20260301`, `20260301123456`), numbers, fractions of up to six digits.

use crate::rules::datetime::{civil_from_days, days_from_civil};

pub const MICROS_PER_DAY: i64 = 86_400_000_000;

/// A point in time from a literal, with the fraction digits as written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Stamp {
    /// Microseconds since 1970-01-01 00:00:00 (civil, no time zone).
    pub micros: i64,
    /// The seventh fraction digit, if written (MariaDB reads six and rounds by the next).
    pub extra_digit: u8,
}

fn days_in_month(y: i64, m: u32) -> u32 {
    match m {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        _ if (y % 4 == 0 && y % 100 != 0) || y % 400 == 0 => 29,
        _ => 28,
    }
}

fn two_digit_year(y: u32) -> u32 {
    if y < 70 {
        2000 + y
    } else {
        1900 + y
    }
}

fn num(s: &[u8]) -> Option<u32> {
    if s.is_empty() || s.len() > 9 || !s.iter().all(u8::is_ascii_digit) {
        return None;
    }
    std::str::from_utf8(s).ok()?.parse().ok()
}

/// A valid date and time (zero dates and out-of-range parts give `None`).
fn stamp(y: u32, mo: u32, d: u32, h: u32, mi: u32, s: u32, frac: &[u8]) -> Option<Stamp> {
    if y == 0 || y > 9999 || !(1..=12).contains(&mo) || h > 23 || mi > 59 || s > 59 {
        return None;
    }
    let y = i64::from(y);
    if d == 0 || d > days_in_month(y, mo) {
        return None;
    }
    let mut us: i64 = 0;
    for k in 0..6 {
        us = us * 10 + i64::from(frac.get(k).copied().unwrap_or(0));
    }
    let micros = days_from_civil(y, mo, d) * MICROS_PER_DAY
        + (i64::from(h) * 3600 + i64::from(mi) * 60 + i64::from(s)) * 1_000_000
        + us;
    Some(Stamp {
        micros,
        extra_digit: frac.get(6).copied().unwrap_or(0),
    })
}

/// A compact digit string: YYYYMMDD[HHMMSS] or YYMMDD[HHMMSS], optional `.fraction`.
fn compact(digits: &[u8], frac: &[u8]) -> Option<Stamp> {
    let n = |a: usize, b: usize| num(&digits[a..b]);
    match digits.len() {
        14 => stamp(
            n(0, 4)?,
            n(4, 6)?,
            n(6, 8)?,
            n(8, 10)?,
            n(10, 12)?,
            n(12, 14)?,
            frac,
        ),
        12 => stamp(
            two_digit_year(n(0, 2)?),
            n(2, 4)?,
            n(4, 6)?,
            n(6, 8)?,
            n(8, 10)?,
            n(10, 12)?,
            frac,
        ),
        8 => stamp(n(0, 4)?, n(4, 6)?, n(6, 8)?, 0, 0, 0, &[]),
        6 => stamp(two_digit_year(n(0, 2)?), n(2, 4)?, n(4, 6)?, 0, 0, 0, &[]),
        _ => None,
    }
}

/// A temporal string literal. `None`: MariaDB would not read it as a valid date or time
/// (it then stores a zero date, or refuses the value in strict mode).
pub fn parse_str(text: &[u8]) -> Option<Stamp> {
    let s: Vec<u8> = text.to_vec();
    let s = s.trim_ascii();
    if s.is_empty() {
        return None;
    }
    // A compact form: digits only (with an optional fraction).
    let lead = s.iter().take_while(|c| c.is_ascii_digit()).count();
    if lead == s.len() || (lead > 4 && s.get(lead) == Some(&b'.')) {
        let frac: Vec<u8> = s
            .get(lead + 1..)
            .unwrap_or_default()
            .iter()
            .map(|c| c.wrapping_sub(b'0'))
            .collect();
        if !s
            .get(lead + 1..)
            .unwrap_or_default()
            .iter()
            .all(u8::is_ascii_digit)
        {
            return None;
        }
        return compact(&s[..lead], &frac);
    }
    // Delimited: groups of digits separated by punctuation (and `T` or spaces between the
    // date and the time).
    let mut groups: Vec<&[u8]> = Vec::new();
    let mut i = 0;
    let mut frac: Option<&[u8]> = None;
    while i < s.len() {
        let start = i;
        while i < s.len() && s[i].is_ascii_digit() {
            i += 1;
        }
        if start == i {
            return None;
        }
        let g = &s[start..i];
        if groups.len() == 5 && i < s.len() && s[i] == b'.' {
            // Seconds, then the fraction.
            groups.push(g);
            let fs = i + 1;
            let mut j = fs;
            while j < s.len() && s[j].is_ascii_digit() {
                j += 1;
            }
            frac = Some(&s[fs..j]);
            i = j;
            if s[i..].iter().any(|c| !c.is_ascii_whitespace()) {
                return None;
            }
            break;
        }
        groups.push(g);
        if i == s.len() {
            break;
        }
        // One separator (a run of spaces, or `T`, counts as one between date and time).
        let sep = s[i];
        if sep.is_ascii_alphanumeric() && !(sep == b'T' && groups.len() == 3) {
            return None;
        }
        i += 1;
        while groups.len() == 3 && i < s.len() && s[i] == b' ' {
            i += 1;
        }
    }
    let n: Vec<u32> = groups.iter().map(|g| num(g)).collect::<Option<_>>()?;
    let y = match groups.first()?.len() {
        1 | 2 => two_digit_year(n[0]),
        4 => n[0],
        _ => return None,
    };
    let frac: Vec<u8> = frac
        .unwrap_or_default()
        .iter()
        .map(|c| c.wrapping_sub(b'0'))
        .collect();
    match n.len() {
        3 => stamp(y, n[1], n[2], 0, 0, 0, &[]),
        5 => stamp(y, n[1], n[2], n[3], n[4], 0, &[]),
        6 => stamp(y, n[1], n[2], n[3], n[4], n[5], &frac),
        _ => None,
    }
}

/// A number used as a date or datetime (`20260301`, `20260301123456`, `20260131235959.6`).
pub fn parse_number(int_digits: &str, frac: &str) -> Option<Stamp> {
    if !int_digits
        .bytes()
        .chain(frac.bytes())
        .all(|c| c.is_ascii_digit())
    {
        return None;
    }
    let frac: Vec<u8> = frac.bytes().map(|c| c - b'0').collect();
    compact(int_digits.as_bytes(), &frac)
}

/// The value fitted to `fsp` fraction digits: truncated, or rounded (sql_mode
/// TIME_ROUND_FRACTIONAL) by the first dropped digit.
pub fn fit(s: Stamp, fsp: u8, round: bool) -> i64 {
    let unit = 10i64.pow(6 - u32::from(fsp.min(6)));
    let kept = s.micros.div_euclid(unit) * unit;
    if !round {
        return kept;
    }
    let dropped_first = if fsp >= 6 {
        i64::from(s.extra_digit)
    } else {
        (s.micros.rem_euclid(unit)) / (unit / 10)
    };
    if dropped_first >= 5 {
        kept + unit
    } else {
        kept
    }
}

/// `YYYY-MM-DD HH:MM:SS[.ffffff]` (the fraction without trailing zeros, when non-zero).
pub fn format(micros: i64) -> String {
    let days = micros.div_euclid(MICROS_PER_DAY);
    let rem = micros.rem_euclid(MICROS_PER_DAY);
    let (y, m, d) = civil_from_days(days);
    let secs = rem / 1_000_000;
    let us = rem % 1_000_000;
    let mut out = format!(
        "{y:04}-{m:02}-{d:02} {:02}:{:02}:{:02}",
        secs / 3600,
        (secs / 60) % 60,
        secs % 60
    );
    if us != 0 {
        let f = format!("{us:06}");
        out.push('.');
        out.push_str(f.trim_end_matches('0'));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(s: &str) -> Option<String> {
        parse_str(s.as_bytes()).map(|x| format(x.micros))
    }

    #[test]
    fn formats_mariadb_accepts() {
        let cases = [
            ("2026-03-01", Some("2026-03-01 00:00:00")),
            ("2026/03/01", Some("2026-03-01 00:00:00")),
            ("2026-3-1", Some("2026-03-01 00:00:00")),
            ("26-03-01", Some("2026-03-01 00:00:00")),
            ("70-01-01", Some("1970-01-01 00:00:00")),
            ("20260301", Some("2026-03-01 00:00:00")),
            ("260301", Some("2026-03-01 00:00:00")),
            ("20260301102000", Some("2026-03-01 10:20:00")),
            ("2026-03-01 10:20", Some("2026-03-01 10:20:00")),
            ("2026/03/01 10:20", Some("2026-03-01 10:20:00")),
            ("2026-3-1 10:20:00", Some("2026-03-01 10:20:00")),
            ("2026-03-01T10:20:30", Some("2026-03-01 10:20:30")),
            ("2026-01-31 23:59:59.6", Some("2026-01-31 23:59:59.6")),
            ("2026.03.01", Some("2026-03-01 00:00:00")),
            ("2026-02-30", None),
            ("2026-13-01", None),
            ("0000-00-00", None),
            ("abc", None),
            ("2026-03-01x", None),
        ];
        for (s, want) in cases {
            assert_eq!(p(s).as_deref(), want, "{s}");
        }
    }

    #[test]
    fn fractions_fit_by_truncation_or_rounding() {
        let s = parse_str(b"2026-01-31 23:59:59.6").unwrap();
        assert_eq!(format(fit(s, 0, false)), "2026-01-31 23:59:59");
        assert_eq!(format(fit(s, 0, true)), "2026-02-01 00:00:00");
        let s = parse_str(b"2026-01-31 23:59:59.9999999").unwrap();
        assert_eq!(format(fit(s, 3, false)), "2026-01-31 23:59:59.999");
        assert_eq!(format(fit(s, 6, true)), "2026-02-01 00:00:00");
    }
}
