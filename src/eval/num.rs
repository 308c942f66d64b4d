//! Text <-> number conversions as MariaDB does them: the numeric prefix of a
//! string, and DOUBLE formatting.

use super::decimal::Decimal;

/// The longest numeric prefix of `s` after leading whitespace:
/// `[+-]digits[.digits][e[+-]digits]` (the exponent only when it has digits).
/// Returns "" when there are no digits.
pub fn numeric_prefix(s: &[u8]) -> &str {
    let start = s
        .iter()
        .position(|c| !matches!(c, b' ' | b'\t' | b'\n' | b'\r' | 0x0b | 0x0c))
        .unwrap_or(s.len());
    let s = &s[start..];
    let mut i = usize::from(matches!(s.first(), Some(b'+' | b'-')));
    let digits = |s: &[u8], i: usize| {
        s[i.min(s.len())..]
            .iter()
            .take_while(|c| c.is_ascii_digit())
            .count()
    };
    let int = digits(s, i);
    i += int;
    let mut frac = 0;
    if s.get(i) == Some(&b'.') {
        frac = digits(s, i + 1);
        if int + frac > 0 {
            i += 1 + frac;
        }
    }
    if int + frac == 0 {
        return "";
    }
    if matches!(s.get(i), Some(b'e' | b'E')) {
        let j = i + 1 + usize::from(matches!(s.get(i + 1), Some(b'+' | b'-')));
        let e = digits(s, j);
        if e > 0 {
            i = j + e;
        }
    }
    // Only ASCII was accepted above.
    std::str::from_utf8(&s[..i]).unwrap_or("")
}

/// A string as DOUBLE: its numeric prefix, 0 when none, ±max on overflow.
pub fn str_to_f64(s: &[u8]) -> f64 {
    let p = numeric_prefix(s);
    let x: f64 = p.parse().unwrap_or(0.0);
    if x.is_infinite() {
        f64::MAX.copysign(x)
    } else {
        x
    }
}

/// A string as DECIMAL (its numeric prefix, 0 when none); None when the value
/// does not fit our Decimal.
pub fn str_to_decimal(s: &[u8]) -> Option<Decimal> {
    let p = numeric_prefix(s);
    if p.is_empty() {
        return Some(Decimal::ZERO);
    }
    Decimal::parse_sci(p)
}

/// A string as an integer (`CAST(s AS SIGNED)`-like: sign and digits only,
/// saturating).
pub fn str_to_i64(s: &[u8]) -> i64 {
    let p = numeric_prefix(s).as_bytes();
    let (neg, rest) = match p.first() {
        Some(b'-') => (true, &p[1..]),
        Some(b'+') => (false, &p[1..]),
        _ => (false, p),
    };
    let mut v: i128 = 0;
    for c in rest.iter().take_while(|c| c.is_ascii_digit()) {
        v = (v * 10 + i128::from(c - b'0')).min(i128::from(u64::MAX));
    }
    let v = if neg { -v } else { v };
    i64::try_from(v).unwrap_or(if neg { i64::MIN } else { i64::MAX })
}

/// Shortest round-trip digits and decimal exponent: x = 0.d1d2... * 10^decpt.
/// Among equally short candidates the nearest wins, ties to even (as dtoa).
fn shortest(x: f64) -> (bool, String, i32) {
    let e = format!("{:e}", x.abs());
    let n = e
        .split('e')
        .next()
        .map_or(1, |m| m.chars().filter(char::is_ascii_digit).count());
    let exact = format!("{:.*e}", n.saturating_sub(1), x.abs());
    let e = if exact.parse::<f64>().ok() == Some(x.abs()) {
        exact
    } else {
        e
    };
    let (mant, exp) = e.split_once('e').unwrap_or((&e, "0"));
    let digits: String = mant.chars().filter(char::is_ascii_digit).collect();
    let exp: i32 = exp.parse().unwrap_or(0);
    (x.is_sign_negative(), digits, exp + 1)
}

/// Places digits with the decimal point after `decpt` digits, padding the
/// fraction with zeros to `min_frac` digits.
fn place(neg: bool, digits: &str, decpt: i32, min_frac: usize) -> String {
    let mut out = String::new();
    if neg {
        out.push('-');
    }
    let n = i32::try_from(digits.len()).unwrap_or(i32::MAX);
    let frac: String = if decpt <= 0 {
        out.push('0');
        let zeros = usize::try_from(-decpt).unwrap_or(0);
        format!("{}{digits}", "0".repeat(zeros))
    } else if decpt >= n {
        out.push_str(digits);
        out.push_str(&"0".repeat(usize::try_from(decpt - n).unwrap_or(0)));
        String::new()
    } else {
        let (i, f) = digits.split_at(usize::try_from(decpt).unwrap_or(0));
        out.push_str(i);
        f.to_string()
    };
    let width = frac.len().max(min_frac);
    if width > 0 {
        out.push('.');
        out.push_str(&frac);
        out.push_str(&"0".repeat(width - frac.len()));
    }
    out
}

/// A DOUBLE as MariaDB prints it with no fixed decimals (`my_gcvt`): shortest
/// round-trip digits; plain notation unless the exponent is below -15, or
/// above 14 for a number without fraction digits (`1e15`, `1.5e-16`).
pub fn format_double(x: f64) -> String {
    if x == 0.0 || !x.is_finite() {
        return "0".into();
    }
    let (neg, digits, decpt) = shortest(x);
    let len = i32::try_from(digits.len()).unwrap_or(i32::MAX);
    if decpt >= -14 && (decpt <= 15 || len > decpt) {
        return place(neg, &digits, decpt, 0);
    }
    let exp = decpt - 1;
    let (first, rest) = digits.split_at(1);
    let sign = if neg { "-" } else { "" };
    if rest.is_empty() {
        format!("{sign}{first}e{exp}")
    } else {
        format!("{sign}{first}.{rest}e{exp}")
    }
}

/// A DOUBLE with exactly `dec` decimals (MariaDB `my_fcvt`, dtoa mode 5):
/// the shortest round-trip digits when they fit, padded with zeros; else
/// correctly rounded. Zero has no sign; tiny negatives print as "-0.00".
pub fn format_double_fixed(x: f64, dec: usize) -> String {
    if x == 0.0 || !x.is_finite() {
        return place(false, "0", 1, dec);
    }
    let (neg, digits, decpt) = shortest(x);
    let frac_len = i64::try_from(digits.len()).unwrap_or(0) - i64::from(decpt);
    if frac_len <= i64::try_from(dec).unwrap_or(i64::MAX) {
        place(neg, &digits, decpt, dec)
    } else {
        format!("{:.*}", dec, x)
    }
}

/// Round half to even (C `rint` in the default rounding mode).
pub fn rint(x: f64) -> f64 {
    x.round_ties_even()
}

/// 10^k as the correctly rounded double (like MariaDB's log_10 table).
fn pow10f(k: u64) -> f64 {
    format!("1e{k}").parse().unwrap_or(f64::INFINITY)
}

/// MariaDB `my_double_round`: ROUND / TRUNCATE of a DOUBLE to `dec` digits.
pub fn double_round(value: f64, dec: i64, truncate: bool) -> f64 {
    if value == 0.0 || !value.is_finite() {
        return value;
    }
    let neg_dec = dec < 0;
    let tmp = pow10f(dec.unsigned_abs().min(400));
    let div = value / tmp;
    let mul = value * tmp;
    if neg_dec && tmp.is_infinite() {
        0.0
    } else if !neg_dec && mul.is_infinite() {
        value
    } else if truncate {
        let f = if value >= 0.0 { f64::floor } else { f64::ceil };
        if neg_dec {
            f(div) * tmp
        } else {
            f(mul) / tmp
        }
    } else if neg_dec {
        rint(div) * tmp
    } else {
        rint(mul) / tmp
    }
}
