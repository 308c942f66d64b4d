//! Numbers as MariaDB reads them from text, and as it fits them into a column's type.

/// An exact decimal number: `digits` (no leading zeros) scaled by `10^-scale`, signed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Exact {
    pub negative: bool,
    /// Decimal digits of the magnitude, most significant first (may be empty for zero).
    pub digits: Vec<u8>,
    /// How many of `digits` are after the decimal point (may exceed `digits.len()`).
    pub scale: usize,
}

/// The longest prefix of `s` that MariaDB reads as a number when a string meets a numeric
/// context: leading whitespace, a sign, digits with an optional fraction, an optional
/// complete exponent. A string with no such prefix reads as 0 (with a warning). Returns the
/// number and whether the whole string was that number (trailing whitespace allowed).
pub fn prefix(s: &[u8]) -> (Exact, bool) {
    let mut i = 0;
    while i < s.len() && matches!(s[i], b' ' | b'\t' | b'\n' | b'\r' | 0x0b | 0x0c) {
        i += 1;
    }
    let mut negative = false;
    if i < s.len() && (s[i] == b'-' || s[i] == b'+') {
        negative = s[i] == b'-';
        i += 1;
    }
    let mut digits = Vec::new();
    let mut scale = 0usize;
    let mut any = false;
    while i < s.len() && s[i].is_ascii_digit() {
        digits.push(s[i] - b'0');
        any = true;
        i += 1;
    }
    if i < s.len() && s[i] == b'.' {
        let mut j = i + 1;
        let mut frac = Vec::new();
        while j < s.len() && s[j].is_ascii_digit() {
            frac.push(s[j] - b'0');
            j += 1;
        }
        if any || !frac.is_empty() {
            scale = frac.len();
            digits.extend(frac);
            any = true;
            i = j;
        }
    }
    if !any {
        return (zero(), false);
    }
    // An exponent counts only when complete (`1e` and `1e+` read as 1).
    if i < s.len() && (s[i] == b'e' || s[i] == b'E') {
        let mut j = i + 1;
        let mut eneg = false;
        if j < s.len() && (s[j] == b'-' || s[j] == b'+') {
            eneg = s[j] == b'-';
            j += 1;
        }
        let start = j;
        let mut e: i64 = 0;
        while j < s.len() && s[j].is_ascii_digit() {
            e = (e * 10 + i64::from(s[j] - b'0')).min(100_000);
            j += 1;
        }
        if j > start {
            i = j;
            let e = if eneg { -e } else { e };
            let sc = scale as i64 - e;
            if sc >= 0 {
                scale = sc as usize;
            } else {
                digits.extend(std::iter::repeat_n(0, (-sc) as usize));
                scale = 0;
            }
        }
    }
    let whole = s[i..]
        .iter()
        .all(|c| matches!(c, b' ' | b'\t' | b'\n' | b'\r' | 0x0b | 0x0c));
    let mut x = Exact {
        negative,
        digits,
        scale,
    };
    x.trim();
    (x, whole)
}

fn zero() -> Exact {
    Exact {
        negative: false,
        digits: Vec::new(),
        scale: 0,
    }
}

impl Exact {
    /// A decimal literal's text (`-12.50`, `.5`).
    pub fn parse(text: &str) -> Option<Exact> {
        let (x, whole) = prefix(text.as_bytes());
        whole.then_some(x)
    }

    pub fn from_int(i: i128) -> Exact {
        let mut x = Exact {
            negative: i < 0,
            digits: i
                .unsigned_abs()
                .to_string()
                .bytes()
                .map(|b| b - b'0')
                .collect(),
            scale: 0,
        };
        x.trim();
        x
    }

    /// The shortest text of a double, as MariaDB converts a DOUBLE to DECIMAL.
    pub fn from_f64(x: f64) -> Option<Exact> {
        if !x.is_finite() {
            return None;
        }
        Exact::parse(&format!("{x:e}")).or_else(|| Exact::parse(&x.to_string()))
    }

    fn trim(&mut self) {
        // Leading zeros of the integer part.
        let int_len = self.digits.len().saturating_sub(self.scale);
        let lead = self.digits[..int_len]
            .iter()
            .take_while(|d| **d == 0)
            .count();
        self.digits.drain(..lead);
        if self.digits.iter().all(|d| *d == 0) {
            self.digits.clear();
            self.negative = false;
        }
    }

    pub fn is_zero(&self) -> bool {
        self.digits.iter().all(|d| *d == 0)
    }

    /// Rounded to `scale` fraction digits, half away from zero (DECIMAL arithmetic).
    pub fn round_half_away(&self, scale: usize) -> Exact {
        if self.scale <= scale {
            let mut x = self.clone();
            x.digits.extend(std::iter::repeat_n(0, scale - self.scale));
            x.scale = scale;
            return x;
        }
        let drop = self.scale - scale;
        let keep = self.digits.len().saturating_sub(drop);
        let next = if self.digits.len() >= drop {
            self.digits[keep]
        } else {
            0
        };
        let mut kept: Vec<u8> = self.digits[..keep].to_vec();
        if next >= 5 {
            // Add one unit at the last kept position.
            let mut k = kept.len();
            loop {
                if k == 0 {
                    kept.insert(0, 1);
                    break;
                }
                k -= 1;
                if kept[k] == 9 {
                    kept[k] = 0;
                } else {
                    kept[k] += 1;
                    break;
                }
            }
        }
        let mut x = Exact {
            negative: self.negative,
            digits: kept,
            scale,
        };
        x.trim();
        x
    }

    /// The integer value if it fits in i128 (the number must have no fraction digits).
    pub fn to_i128(&self) -> Option<i128> {
        if self.scale != 0 {
            return None;
        }
        let mut v: i128 = 0;
        for d in &self.digits {
            v = v.checked_mul(10)?.checked_add(i128::from(*d))?;
        }
        Some(if self.negative { -v } else { v })
    }

    /// Text with exactly `scale` fraction digits (`-0.50`, `17`).
    pub fn to_text(&self) -> String {
        let mut digits: Vec<u8> = self.digits.clone();
        while digits.len() <= self.scale {
            digits.insert(0, 0);
        }
        let int_len = digits.len() - self.scale;
        let mut s = String::new();
        if self.negative && !self.is_zero() {
            s.push('-');
        }
        for d in &digits[..int_len] {
            s.push((b'0' + d) as char);
        }
        if self.scale > 0 {
            s.push('.');
            for d in &digits[int_len..] {
                s.push((b'0' + d) as char);
            }
        }
        s
    }

    /// The integer part (fraction dropped).
    pub fn truncated(&self) -> Exact {
        let keep = self.digits.len().saturating_sub(self.scale);
        let mut x = Exact {
            negative: self.negative,
            digits: self.digits[..keep].to_vec(),
            scale: 0,
        };
        x.trim();
        x
    }

    /// Whether the value has no non-zero fraction digit.
    pub fn is_integral(&self) -> bool {
        let int_len = self.digits.len().saturating_sub(self.scale);
        self.digits[int_len..].iter().all(|d| *d == 0)
    }

    /// The same number with trailing zero fraction digits removed.
    pub fn normalized(&self) -> Exact {
        let mut x = self.clone();
        while x.scale > 0 && x.digits.last() == Some(&0) {
            x.digits.pop();
            x.scale -= 1;
        }
        x.trim();
        x
    }

    pub fn to_f64(&self) -> f64 {
        self.to_text().parse().unwrap_or(0.0)
    }
}

/// An integer clamped to an integer column's range (`bits`: 8, 16, 24, 32, 64).
pub fn clamp_int(v: i128, bits: u32, unsigned: bool) -> i128 {
    let (lo, hi) = if unsigned {
        (0i128, (1i128 << bits) - 1)
    } else {
        (-(1i128 << (bits - 1)), (1i128 << (bits - 1)) - 1)
    };
    v.clamp(lo, hi)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prefixes_as_mariadb_reads_them() {
        // (text, value, whole) — values as MariaDB stores them in DECIMAL(30,10), checked
        // against MariaDB 10.11.
        let cases = [
            ("17abc", "17", false),
            (" 20x", "20", false),
            ("0x11", "0", false),
            ("1e1x", "10", false),
            ("-3z", "-3", false),
            ("1e3", "1000", true),
            ("  17  ", "17", true),
            ("abc", "0", false),
            ("", "0", false),
            (".5", "0.5", true),
            ("5.", "5", true),
            ("+7", "7", true),
            ("1e", "1", false),
            ("1e+", "1", false),
            ("--1", "0", false),
            ("\t8", "8", true),
            ("1,5", "1", false),
            ("2.5e-1", "0.25", true),
            ("-0", "0", true),
        ];
        for (text, want, whole) in cases {
            let (x, w) = prefix(text.as_bytes());
            assert_eq!(
                (x.normalized().to_text(), w),
                (want.to_string(), whole),
                "{text:?}"
            );
        }
    }

    #[test]
    fn rounding_half_away_from_zero() {
        for (text, scale, want) in [
            ("999.5", 0, "1000"),
            ("-0.5", 0, "-1"),
            ("-0.4", 0, "0"),
            ("2.005", 2, "2.01"),
            ("1.995", 2, "2.00"),
            ("99.999", 2, "100.00"),
            ("0.49999999999999999999", 0, "0"),
            ("5", 2, "5.00"),
        ] {
            let x = Exact::parse(text).unwrap();
            assert_eq!(x.round_half_away(scale).to_text(), want, "{text} {scale}");
        }
    }
}
