//! Datetimes as microseconds since 1970-01-01 00:00:00 (proleptic Gregorian, no time zone),
//! and the calendar arithmetic the `interval` algorithm needs.

pub(crate) const MICROS_PER_DAY: i64 = 86_400_000_000;

/// Days since 1970-01-01 of a civil date (H. Hinnant's algorithm).
pub(crate) fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let m = i64::from(m);
    let mp = if m > 2 { m - 3 } else { m + 9 };
    let doy = (153 * mp + 2) / 5 + i64::from(d) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// Civil date of days since 1970-01-01.
pub(crate) fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
}

fn is_leap(y: i64) -> bool {
    (y % 4 == 0 && y % 100 != 0) || y % 400 == 0
}

fn days_in_month(y: i64, m: u32) -> u32 {
    match m {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if is_leap(y) => 29,
        _ => 28,
    }
}

fn digits(s: &str, len: usize) -> Option<u32> {
    if s.len() == len && s.bytes().all(|b| b.is_ascii_digit()) {
        s.parse().ok()
    } else {
        None
    }
}

/// Parses `YYYY-MM-DD`, `YYYY-MM-DD HH:MM:SS` or `YYYY-MM-DD HH:MM:SS.ffffff` (1–6 fraction
/// digits; `T` also accepted as separator). Zero and out-of-range dates give `None`.
pub(crate) fn parse(text: &str) -> Option<i64> {
    let text = text.trim();
    let (date, time) = match text.find([' ', 'T']) {
        Some(i) => (&text[..i], Some(text[i + 1..].trim_start())),
        None => (text, None),
    };
    let mut dp = date.split('-');
    let y = digits(dp.next()?, 4)?;
    let m = digits(dp.next()?, 2)?;
    let d = digits(dp.next()?, 2)?;
    if dp.next().is_some() || y == 0 || !(1..=12).contains(&m) {
        return None;
    }
    let y = i64::from(y);
    if d == 0 || d > days_in_month(y, m) {
        return None;
    }
    let mut micros = days_from_civil(y, m, d) * MICROS_PER_DAY;
    if let Some(time) = time {
        let (hms, frac) = match time.split_once('.') {
            Some((a, b)) => (a, Some(b)),
            None => (time, None),
        };
        let mut tp = hms.split(':');
        let h = digits(tp.next()?, 2)?;
        let mi = digits(tp.next()?, 2)?;
        let s = digits(tp.next()?, 2)?;
        if tp.next().is_some() || h > 23 || mi > 59 || s > 59 {
            return None;
        }
        micros += (i64::from(h) * 3600 + i64::from(mi) * 60 + i64::from(s)) * 1_000_000;
        if let Some(frac) = frac {
            if frac.is_empty() || frac.len() > 6 || !frac.bytes().all(|b| b.is_ascii_digit()) {
                return None;
            }
            let mut us: i64 = frac.parse().ok()?;
            for _ in frac.len()..6 {
                us *= 10;
            }
            micros += us;
        }
    }
    Some(micros)
}

/// Canonical text: `YYYY-MM-DD HH:MM:SS`, plus `.ffffff` without trailing zeros when the
/// fraction is non-zero.
pub(crate) fn format(micros: i64) -> String {
    let days = micros.div_euclid(MICROS_PER_DAY);
    let rem = micros.rem_euclid(MICROS_PER_DAY);
    let (y, m, d) = civil_from_days(days);
    let secs = rem / 1_000_000;
    let us = rem % 1_000_000;
    let mut out = format!(
        "{y:04}-{m:02}-{d:02} {:02}:{:02}:{:02}",
        secs / 3600,
        secs / 60 % 60,
        secs % 60
    );
    if us != 0 {
        let f = format!("{us:06}");
        out.push('.');
        out.push_str(f.trim_end_matches('0'));
    }
    out
}

/// Calendar unit of the `interval` algorithm.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IntervalUnit {
    Year,
    Month,
    Day,
}

impl IntervalUnit {
    pub(crate) fn parse(s: &str) -> Option<IntervalUnit> {
        match s.to_ascii_lowercase().as_str() {
            "year" | "years" => Some(IntervalUnit::Year),
            "month" | "months" => Some(IntervalUnit::Month),
            "day" | "days" => Some(IntervalUnit::Day),
            _ => None,
        }
    }

    pub(crate) fn name(self) -> &'static str {
        match self {
            IntervalUnit::Year => "year",
            IntervalUnit::Month => "month",
            IntervalUnit::Day => "day",
        }
    }

    /// Number of whole units since an arbitrary origin of the unit containing `micros`.
    pub(crate) fn index(self, micros: i64) -> i64 {
        let days = micros.div_euclid(MICROS_PER_DAY);
        match self {
            IntervalUnit::Day => days,
            IntervalUnit::Month => {
                let (y, m, _) = civil_from_days(days);
                y * 12 + i64::from(m) - 1
            }
            IntervalUnit::Year => civil_from_days(days).0,
        }
    }

    /// `(year, month, day)` of the start of the unit with the given index.
    pub(crate) fn start(self, index: i64) -> (i64, u32, u32) {
        match self {
            IntervalUnit::Day => civil_from_days(index),
            IntervalUnit::Month => (index.div_euclid(12), (index.rem_euclid(12) + 1) as u32, 1),
            IntervalUnit::Year => (index, 1, 1),
        }
    }
}

/// Formats a date with a suffix pattern: `yyyy`, `yy`, `MM`, `dd` are replaced, any other
/// character is copied.
pub(crate) fn format_suffix(pattern: &str, (y, m, d): (i64, u32, u32)) -> String {
    let mut out = String::new();
    let mut rest = pattern;
    while !rest.is_empty() {
        if let Some(r) = rest.strip_prefix("yyyy") {
            out.push_str(&format!("{y:04}"));
            rest = r;
        } else if let Some(r) = rest.strip_prefix("yy") {
            out.push_str(&format!("{:02}", y.rem_euclid(100)));
            rest = r;
        } else if let Some(r) = rest.strip_prefix("MM") {
            out.push_str(&format!("{m:02}"));
            rest = r;
        } else if let Some(r) = rest.strip_prefix("dd") {
            out.push_str(&format!("{d:02}"));
            rest = r;
        } else {
            let mut chars = rest.chars();
            if let Some(c) = chars.next() {
                out.push(c);
            }
            rest = chars.as_str();
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_and_format() {
        let cases: &[(&str, Option<&str>)] = &[
            ("2026-01-01", Some("2026-01-01 00:00:00")),
            ("2026-01-01 00:00:00", Some("2026-01-01 00:00:00")),
            ("2024-02-29 23:59:59.5", Some("2024-02-29 23:59:59.5")),
            (
                "2024-02-29T01:02:03.000100",
                Some("2024-02-29 01:02:03.0001"),
            ),
            ("1969-12-31 23:59:59", Some("1969-12-31 23:59:59")),
            ("2023-02-29", None),
            ("2026-13-01", None),
            ("0000-00-00", None),
            ("2026-01-01 24:00:00", None),
            ("2026-1-1", None),
            ("yesterday", None),
            ("2026-01-01 00:00:00.1234567", None),
        ];
        for (text, want) in cases {
            let got = parse(text).map(format);
            assert_eq!(got.as_deref(), *want, "{text}");
        }
    }

    #[test]
    fn civil_round_trip() {
        for days in [-800_000i64, -1, 0, 1, 19_000, 20_454, 2_000_000] {
            let (y, m, d) = civil_from_days(days);
            assert_eq!(days_from_civil(y, m, d), days);
        }
        assert_eq!(days_from_civil(2026, 1, 1), 20_454);
    }

    #[test]
    fn suffixes() {
        let cases: &[(&str, (i64, u32, u32), &str)] = &[
            ("yyyyMM", (2026, 1, 5), "202601"),
            ("yyyyMMdd", (2026, 12, 31), "20261231"),
            ("yyyy", (2026, 3, 1), "2026"),
            ("yy_MM", (2026, 3, 1), "26_03"),
        ];
        for (pattern, date, want) in cases {
            assert_eq!(format_suffix(pattern, *date), *want);
        }
    }
}
