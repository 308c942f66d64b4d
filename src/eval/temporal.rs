//! Temporal values in text form: numeric conversion and comparison.

use super::decimal::Decimal;
use super::value::Val;
use mysql_common::constants::ColumnType;
use std::cmp::Ordering;

fn is_time(t: ColumnType) -> bool {
    matches!(
        t,
        ColumnType::MYSQL_TYPE_TIME | ColumnType::MYSQL_TYPE_TIME2
    )
}

/// A temporal as a number, the way MariaDB uses it in arithmetic:
/// '2024-01-05' -> 20240105, '10:11:12.50' -> 101112.50, '-10:11:12' -> -101112.
pub fn to_number(b: &[u8]) -> Val {
    let s = b.trim_ascii();
    let neg = s.first() == Some(&b'-');
    let (int_part, frac) = match s.iter().position(|c| *c == b'.') {
        Some(i) => (&s[..i], &s[i + 1..]),
        None => (s, &s[s.len()..]),
    };
    let digits: String = int_part
        .iter()
        .filter(|c| c.is_ascii_digit())
        .map(|c| char::from(*c))
        .collect();
    let frac: String = frac
        .iter()
        .take_while(|c| c.is_ascii_digit())
        .map(|c| char::from(*c))
        .collect();
    let digits = if digits.is_empty() {
        "0".into()
    } else {
        digits
    };
    let sign = if neg { "-" } else { "" };
    let text = if frac.is_empty() {
        format!("{sign}{digits}")
    } else {
        format!("{sign}{digits}.{frac}")
    };
    match Decimal::parse(&text) {
        Some(d) if d.scale == 0 => match i64::try_from(d.mantissa) {
            Ok(i) => Val::Int(i),
            Err(_) => Val::Dec(d),
        },
        Some(d) => Val::Dec(d),
        None => Val::Double(text.parse().unwrap_or(0.0)),
    }
}

/// Digit groups of `s` and whether each was preceded by a '.'.
fn groups(s: &[u8]) -> Vec<(&[u8], bool)> {
    let mut out = Vec::new();
    let mut i = 0;
    while i < s.len() {
        let start = i;
        while i < s.len() && s[i].is_ascii_digit() {
            i += 1;
        }
        if i > start {
            let dot = start > 0 && s[start - 1] == b'.';
            out.push((&s[start..i], dot));
        } else {
            i += 1;
        }
    }
    out
}

fn num(d: &[u8]) -> u64 {
    d.iter()
        .take(18)
        .fold(0u64, |a, c| a * 10 + u64::from(c - b'0'))
}

/// Fraction digits as microseconds.
fn micros(d: &[u8]) -> u64 {
    (0..6).fold(0, |a, i| {
        a * 10 + d.get(i).map_or(0, |c| u64::from(c - b'0'))
    })
}

fn year2(y: u64, len: usize) -> u64 {
    match (len, y) {
        (0..=2, 0..=69) => y + 2000,
        (0..=2, _) => y + 1900,
        _ => y,
    }
}

/// DATE/DATETIME text, leniently: '2024-01-05', '2024-1-5 10:11:12.5',
/// '20240105', '20240105101112'. Fields: y, m, d, h, mi, s, microseconds.
fn parse_date(s: &[u8]) -> Option<[u64; 7]> {
    let s = s.trim_ascii();
    let g = groups(s);
    let mut f = [0u64; 7];
    let only_digits = s.iter().all(|c| c.is_ascii_digit() || *c == b'.');
    if only_digits && !g.is_empty() {
        let d = g[0].0;
        let (ylen, rest) = match d.len() {
            14 | 8 => (4, &d[4..]),
            12 | 6 => (2, &d[2..]),
            _ => return None,
        };
        f[0] = year2(num(&d[..ylen]), ylen);
        for (i, pair) in rest.chunks(2).enumerate() {
            f[i + 1] = num(pair);
        }
        if let Some((fr, true)) = g.get(1) {
            f[6] = micros(fr);
        }
        return Some(f);
    }
    if g.len() < 3 || g.len() > 7 {
        return None;
    }
    for (i, (d, dot)) in g.iter().enumerate() {
        match i {
            0 => f[0] = year2(num(d), d.len()),
            6 if *dot => f[6] = micros(d),
            6 => return None,
            _ => f[i] = num(d),
        }
    }
    Some(f)
}

/// TIME text as signed microseconds: '-10:11:12.5', '1 10:00:00', '101112'.
fn parse_time(s: &[u8]) -> Option<i128> {
    let s = s.trim_ascii();
    let (neg, s) = match s.split_first() {
        Some((b'-', rest)) => (true, rest),
        _ => (false, s),
    };
    let g = groups(s);
    let frac = g.iter().find(|x| x.1).map_or(0, |x| micros(x.0));
    let ints: Vec<u64> = g.iter().filter(|x| !x.1).map(|x| num(x.0)).collect();
    let (days, h, m, sec) = if s.contains(&b':') {
        let has_days = s.iter().position(|c| *c == b' ').is_some_and(|sp| {
            s.iter()
                .position(|c| *c == b':')
                .is_some_and(|colon| sp < colon)
        });
        let mut it = ints.iter().copied();
        let days = if has_days { it.next()? } else { 0 };
        (
            days,
            it.next()?,
            it.next().unwrap_or(0),
            it.next().unwrap_or(0),
        )
    } else {
        let n = *ints.first()?;
        (0, n / 10000, n / 100 % 100, n % 100)
    };
    let secs =
        i128::from(days) * 86400 + i128::from(h) * 3600 + i128::from(m) * 60 + i128::from(sec);
    let v = secs * 1_000_000 + i128::from(frac);
    Some(if neg { -v } else { v })
}

enum Parsed {
    Date([u64; 7]),
    Time(i128),
}

fn parse(s: &[u8], t: ColumnType) -> Option<Parsed> {
    if is_time(t) {
        parse_time(s).map(Parsed::Time)
    } else {
        parse_date(s).map(Parsed::Date)
    }
}

fn cmp_parsed(a: &Parsed, b: &Parsed) -> Option<Ordering> {
    match (a, b) {
        (Parsed::Date(x), Parsed::Date(y)) => Some(x.cmp(y)),
        (Parsed::Time(x), Parsed::Time(y)) => Some(x.cmp(y)),
        _ => None,
    }
}

/// Compares temporal `a` (of column type `t`) with any value.
pub fn compare(a: &[u8], t: ColumnType, other: &Val) -> Option<Ordering> {
    let pa = parse(a, t);
    let pb = match other {
        Val::Null => return None,
        Val::Temporal(b, tb) => parse(b, *tb),
        // A string that is no date is the zero date (MariaDB warns).
        Val::Str(b, _) => parse(b, t).or(Some(if is_time(t) {
            Parsed::Time(0)
        } else {
            Parsed::Date([0; 7])
        })),
        n => return to_number(a).compare(n),
    };
    if let (Some(x), Some(y)) = (&pa, &pb) {
        if let Some(o) = cmp_parsed(x, y) {
            return Some(o);
        }
    }
    match other {
        Val::Temporal(b, _) | Val::Str(b, _) => Some(a.cmp(b)),
        _ => None,
    }
}

/// A canonical key: equal for equal temporal values ('2024-01-05' and
/// '2024-01-05 00:00:00' included).
pub fn key(b: &[u8], t: ColumnType) -> Option<Vec<u8>> {
    Some(match parse(b, t)? {
        Parsed::Date(f) => f.iter().flat_map(|x| x.to_be_bytes()).collect(),
        Parsed::Time(v) => v.to_be_bytes().to_vec(),
    })
}
