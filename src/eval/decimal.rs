//! Fixed-point decimals with MariaDB DECIMAL arithmetic rules.
//!
//! MariaDB 10.11 keeps up to 65 digits and scale 38; we keep an `i128`
//! mantissa (38 digits), so values beyond ±1.7e38 (as mantissa) overflow.
//! Rounding is always half away from zero, as in MariaDB.

use super::expr::EvalError;
use std::cmp::Ordering;
use std::fmt;

/// Largest scale MariaDB keeps (DECIMAL_MAX_SCALE).
pub const MAX_SCALE: u8 = 38;

/// Fixed-point decimal: value = mantissa / 10^scale.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Decimal {
    pub mantissa: i128,
    pub scale: u8,
}

/// 10^k for k in 0..=38.
pub(crate) fn pow10(k: u32) -> Option<i128> {
    10i128.checked_pow(k)
}

fn overflow() -> EvalError {
    EvalError::overflow("DECIMAL")
}

/// (hi, lo) = a * b as a 256-bit number.
fn mul_wide(a: u128, b: u128) -> (u128, u128) {
    const M: u128 = u64::MAX as u128;
    let (a1, a0, b1, b0) = (a >> 64, a & M, b >> 64, b & M);
    let (p00, p01, p10, p11) = (a0 * b0, a0 * b1, a1 * b0, a1 * b1);
    let mid = (p00 >> 64) + (p01 & M) + (p10 & M);
    let lo = (p00 & M) | (mid << 64);
    let hi = p11 + (p01 >> 64) + (p10 >> 64) + (mid >> 64);
    (hi, lo)
}

/// (hi, lo) / d when the quotient fits in 128 bits (`hi < d`): (quotient, remainder).
fn div_wide(hi: u128, lo: u128, d: u128) -> Option<(u128, u128)> {
    if d == 0 || hi >= d {
        return None;
    }
    let (mut q, mut r) = (0u128, hi);
    for i in (0..128).rev() {
        let carry = r >> 127;
        r = (r << 1) | ((lo >> i) & 1);
        if carry == 1 || r >= d {
            r = r.wrapping_sub(d);
            q |= 1 << i;
        }
    }
    Some((q, r))
}

/// Signed magnitude back to i128 (`neg` applies to a nonzero magnitude).
fn signed(mag: u128, neg: bool) -> Option<i128> {
    if neg {
        0i128.checked_sub_unsigned(mag)
    } else {
        i128::try_from(mag).ok()
    }
}

/// Divides a magnitude by 10^k, rounding half away from zero (or truncating).
fn div_pow10(mag: u128, k: u32, truncate: bool) -> u128 {
    let Some(p) = pow10(k).map(|p| p as u128) else {
        return 0; // k > 38: every i128 magnitude is < 0.5 * 10^k
    };
    let (q, r) = (mag / p, mag % p);
    if !truncate && r >= p - r {
        q + 1
    } else {
        q
    }
}

/// a / b * 10^e, truncated or rounded half up; None if it exceeds u128.
fn long_div(a: u128, b: u128, e: u32, round: bool) -> Option<u128> {
    if b == 0 {
        return None;
    }
    let (mut q, mut r) = (a / b, a % b);
    // 10 * r / b without overflow: r < b <= 2^127.
    let mut next_digit = || -> u128 {
        let (mut acc, mut d) = (0u128, 0u128);
        for _ in 0..10 {
            acc += r;
            if acc >= b {
                acc -= b;
                d += 1;
            }
        }
        r = acc;
        d
    };
    for _ in 0..e {
        let d = next_digit();
        q = q.checked_mul(10)?.checked_add(d)?;
    }
    if round && next_digit() >= 5 {
        q = q.checked_add(1)?;
    }
    Some(q)
}

impl Decimal {
    pub const ZERO: Decimal = Decimal {
        mantissa: 0,
        scale: 0,
    };

    pub fn new(mantissa: i128, scale: u8) -> Decimal {
        Decimal { mantissa, scale }
    }

    pub fn from_i64(v: i64) -> Decimal {
        Decimal::new(v.into(), 0)
    }

    pub fn from_u64(v: u64) -> Decimal {
        Decimal::new(v.into(), 0)
    }

    pub fn is_zero(&self) -> bool {
        self.mantissa == 0
    }

    pub fn is_negative(&self) -> bool {
        self.mantissa < 0
    }

    /// Parses plain `[+-]digits[.digits]` text (a DECIMAL cell or literal).
    pub fn parse(s: &str) -> Option<Decimal> {
        let b = s.as_bytes();
        let body = b.strip_prefix(b"-").or(b.strip_prefix(b"+")).unwrap_or(b);
        if body.is_empty() || !body.iter().all(|c| c.is_ascii_digit() || *c == b'.') {
            return None;
        }
        if body.iter().filter(|c| **c == b'.').count() > 1 || body == b"." {
            return None;
        }
        Decimal::parse_sci(s)
    }

    /// Parses `[+-]digits[.digits][e[+-]digits]`; the scale is capped at 38
    /// (rounding). None when the value does not fit.
    pub fn parse_sci(s: &str) -> Option<Decimal> {
        let b = s.as_bytes();
        let (neg, b) = match b.first() {
            Some(b'-') => (true, &b[1..]),
            Some(b'+') => (false, &b[1..]),
            _ => (false, b),
        };
        let (num, exp) = match b.iter().position(|c| *c == b'e' || *c == b'E') {
            Some(i) => (
                &b[..i],
                std::str::from_utf8(&b[i + 1..]).ok()?.parse::<i64>().ok()?,
            ),
            None => (b, 0),
        };
        let (int, frac) = match num.iter().position(|c| *c == b'.') {
            Some(i) => (&num[..i], &num[i + 1..]),
            None => (num, &num[num.len()..]),
        };
        let all = |x: &[u8]| x.iter().all(u8::is_ascii_digit);
        if (int.is_empty() && frac.is_empty()) || !all(int) || !all(frac) {
            return None;
        }
        // Significant digits and the scale they have.
        let digits: Vec<u8> = int.iter().chain(frac).map(|c| c - b'0').collect();
        let start = digits.iter().position(|d| *d != 0).unwrap_or(digits.len());
        let mut scale = i64::try_from(frac.len()).ok()?.checked_sub(exp)?;
        let mut digits = &digits[start..];
        if digits.is_empty() {
            let scale = u8::try_from(scale.clamp(0, i64::from(MAX_SCALE))).unwrap_or(0);
            return Some(Decimal::new(0, scale));
        }
        // Drop digits beyond scale 38, remembering the first dropped one.
        let mut round_up = false;
        if scale > i64::from(MAX_SCALE) {
            let excess = usize::try_from(scale - i64::from(MAX_SCALE)).ok()?;
            if excess > digits.len() {
                return Some(Decimal::ZERO);
            }
            let keep = digits.len() - excess;
            round_up = digits.get(keep).is_some_and(|d| *d >= 5);
            digits = &digits[..keep];
            scale = i64::from(MAX_SCALE);
        }
        let mut m: u128 = 0;
        for d in digits {
            m = m.checked_mul(10)?.checked_add(u128::from(*d))?;
        }
        if round_up {
            m = m.checked_add(1)?;
        }
        if scale < 0 {
            let p = pow10(u32::try_from(-scale).ok()?)? as u128;
            m = m.checked_mul(p)?;
            scale = 0;
        }
        Some(Decimal::new(signed(m, neg)?, u8::try_from(scale).ok()?))
    }

    /// The nearest decimal of a double, from its shortest round-trip text
    /// (as MariaDB converts DOUBLE to DECIMAL). None when out of range.
    pub fn from_f64(x: f64) -> Option<Decimal> {
        if !x.is_finite() {
            return None;
        }
        Decimal::parse_sci(&format!("{x:e}"))
    }

    pub fn to_f64(&self) -> f64 {
        self.to_string().parse().unwrap_or(0.0)
    }

    /// The same value at a larger scale (None if it does not fit).
    fn upscale(&self, scale: u8) -> Option<Decimal> {
        let k = u32::from(scale.checked_sub(self.scale)?);
        Some(Decimal::new(self.mantissa.checked_mul(pow10(k)?)?, scale))
    }

    /// Rounds (half away from zero) or extends to exactly `scale` digits.
    pub fn rescale(&self, scale: u8) -> Result<Decimal, EvalError> {
        let scale = scale.min(MAX_SCALE);
        if scale >= self.scale {
            return self.upscale(scale).ok_or_else(overflow);
        }
        let mag = div_pow10(
            self.mantissa.unsigned_abs(),
            u32::from(self.scale - scale),
            false,
        );
        signed(mag, self.is_negative())
            .map(|m| Decimal::new(m, scale))
            .ok_or_else(overflow)
    }

    /// ROUND(x, d) (`truncate` = false) or TRUNCATE(x, d): the result scale is
    /// `d` clamped to 0..=38. A scale that would overflow when extending stays lower.
    pub fn round_to(&self, d: i64, truncate: bool) -> Result<Decimal, EvalError> {
        if d >= i64::from(self.scale) {
            let want = u8::try_from(d.min(i64::from(MAX_SCALE))).unwrap_or(MAX_SCALE);
            let mut s = want;
            while s > self.scale {
                if let Some(v) = self.upscale(s) {
                    return Ok(v);
                }
                s -= 1;
            }
            return Ok(*self);
        }
        let neg = self.is_negative();
        let mag = self.mantissa.unsigned_abs();
        // Digits to drop below the result's last kept digit.
        let drop = i64::from(self.scale).saturating_sub(d);
        let k = u32::try_from(drop).unwrap_or(u32::MAX);
        let q = div_pow10(mag, k, truncate);
        let (mag, scale) = if d >= 0 {
            (q, u8::try_from(d).unwrap_or(0))
        } else {
            let back = u32::try_from(d.unsigned_abs()).unwrap_or(u32::MAX);
            if q == 0 {
                (0, 0)
            } else {
                let p = pow10(back).ok_or_else(overflow)? as u128;
                (q.checked_mul(p).ok_or_else(overflow)?, 0)
            }
        };
        signed(mag, neg)
            .map(|m| Decimal::new(m, scale))
            .ok_or_else(overflow)
    }

    pub fn round(&self, d: i64) -> Result<Decimal, EvalError> {
        self.round_to(d, false)
    }

    pub fn truncate(&self, d: i64) -> Result<Decimal, EvalError> {
        self.round_to(d, true)
    }

    /// FLOOR / CEIL to scale 0.
    pub fn floor_ceil(&self, ceil: bool) -> Result<Decimal, EvalError> {
        let t = self.truncate(0)?;
        let exact = t
            .upscale(self.scale)
            .is_some_and(|x| x.mantissa == self.mantissa);
        if exact || (ceil == self.is_negative()) {
            return Ok(t);
        }
        let step = if ceil { 1 } else { -1 };
        let m = t.mantissa.checked_add(step).ok_or_else(overflow)?;
        Ok(Decimal::new(m, 0))
    }

    fn aligned(&self, o: &Decimal) -> Option<(i128, i128, u8)> {
        let s = self.scale.max(o.scale);
        Some((self.upscale(s)?.mantissa, o.upscale(s)?.mantissa, s))
    }

    pub fn checked_add(&self, o: &Decimal) -> Result<Decimal, EvalError> {
        let (a, b, s) = self.aligned(o).ok_or_else(overflow)?;
        a.checked_add(b)
            .map(|m| Decimal::new(m, s))
            .ok_or_else(overflow)
    }

    pub fn checked_sub(&self, o: &Decimal) -> Result<Decimal, EvalError> {
        let (a, b, s) = self.aligned(o).ok_or_else(overflow)?;
        a.checked_sub(b)
            .map(|m| Decimal::new(m, s))
            .ok_or_else(overflow)
    }

    /// Product with scale s1 + s2, rounded to scale 38 when larger.
    pub fn checked_mul(&self, o: &Decimal) -> Result<Decimal, EvalError> {
        let neg = self.is_negative() != o.is_negative();
        let (hi, lo) = mul_wide(self.mantissa.unsigned_abs(), o.mantissa.unsigned_abs());
        let s = u32::from(self.scale) + u32::from(o.scale);
        let cap = u32::from(MAX_SCALE);
        let mag = if s > cap {
            let p = pow10(s - cap).ok_or_else(overflow)? as u128;
            let (q, r) = div_wide(hi, lo, p).ok_or_else(overflow)?;
            if r >= p - r {
                q.checked_add(1).ok_or_else(overflow)?
            } else {
                q
            }
        } else if hi == 0 {
            lo
        } else {
            return Err(overflow());
        };
        let scale = u8::try_from(s.min(cap)).unwrap_or(MAX_SCALE);
        signed(mag, neg && mag != 0)
            .map(|m| Decimal::new(m, scale))
            .ok_or_else(overflow)
    }

    /// Quotient as MariaDB shows it: scale s1 + `incr` (capped at 38), from the
    /// internal quotient ([`Decimal::div_internal`]) rounded half away from
    /// zero. None when dividing by zero.
    pub fn checked_div(&self, o: &Decimal, incr: u8) -> Result<Option<Decimal>, EvalError> {
        let rs = self.scale.saturating_add(incr).min(MAX_SCALE);
        match self.div_internal(o, incr)? {
            Some(q) if q.scale > rs => q.rescale(rs).map(Some),
            other => Ok(other),
        }
    }

    /// The quotient at MariaDB's internal precision: truncated to a number of
    /// fraction digits that is a multiple of 9 (its base-10^9 words, at least
    /// s1 + `incr`): `1/3` is 0.333333333, `2.00000/3` 0.666666666. Past our
    /// 38 digits it is rounded to as many digits as fit (at least s1 + `incr`).
    /// None when dividing by zero.
    pub fn div_internal(&self, o: &Decimal, incr: u8) -> Result<Option<Decimal>, EvalError> {
        if o.is_zero() {
            return Ok(None);
        }
        let (s1, s2) = (u32::from(self.scale), u32::from(o.scale));
        let shown = s1.saturating_add(incr.into()).min(MAX_SCALE.into());
        let words = |s: u32| s.div_ceil(9) * 9;
        let extra = u32::from(incr).saturating_sub(words(s1) - s1 + words(s2) - s2);
        let internal = words(words(s1) + words(s2) + extra);
        let (a, b) = (self.mantissa.unsigned_abs(), o.mantissa.unsigned_abs());
        let neg = self.is_negative() != o.is_negative();
        // mantissa = a/b * 10^(s2 - s1 + scale): try the internal scale, then
        // fewer digits (rounded) until it fits.
        let mut scale = internal.min(MAX_SCALE.into());
        loop {
            let e = (s2 + scale).saturating_sub(s1);
            let exact = scale == internal;
            if let Some(q) = long_div(a, b, e, !exact) {
                if let Some(m) = signed(q, neg && q != 0) {
                    return Ok(Some(Decimal::new(
                        m,
                        u8::try_from(scale).unwrap_or(MAX_SCALE),
                    )));
                }
            }
            if scale <= shown {
                return Err(overflow());
            }
            scale = (scale - 9).max(shown);
        }
    }

    /// MOD: sign of the dividend, scale max(s1, s2); None when dividing by zero.
    pub fn checked_rem(&self, o: &Decimal) -> Result<Option<Decimal>, EvalError> {
        if o.is_zero() {
            return Ok(None);
        }
        match self.aligned(o) {
            Some((a, b, s)) => Ok(Some(Decimal::new(a.checked_rem(b).unwrap_or(0), s))),
            // |self| is far larger than |o| and cannot be aligned: work in U256.
            None => {
                let s = self.scale.max(o.scale);
                let k = u32::from(s - self.scale);
                let p = pow10(k).ok_or_else(overflow)? as u128;
                let (hi, lo) = mul_wide(self.mantissa.unsigned_abs(), p);
                let b = o.upscale(s).ok_or_else(overflow)?.mantissa.unsigned_abs();
                let (_, r) = div_wide(hi % b, lo, b).ok_or_else(overflow)?;
                let m = signed(r, self.is_negative() && r != 0).ok_or_else(overflow)?;
                Ok(Some(Decimal::new(m, s)))
            }
        }
    }

    /// Integer part of the exact quotient (DIV); None when dividing by zero.
    pub fn int_div(&self, o: &Decimal) -> Result<Option<i128>, EvalError> {
        if o.is_zero() {
            return Ok(None);
        }
        let (a, b) = (self.mantissa.unsigned_abs(), o.mantissa.unsigned_abs());
        let q = if o.scale >= self.scale {
            long_div(a, b, u32::from(o.scale - self.scale), false).ok_or_else(overflow)?
        } else {
            // A divisor too large for u128 exceeds every dividend.
            let k = u32::from(self.scale - o.scale);
            match pow10(k).and_then(|p| b.checked_mul(p as u128)) {
                Some(d) => a / d,
                None => 0,
            }
        };
        let neg = self.is_negative() != o.is_negative();
        signed(q, neg && q != 0).map(Some).ok_or_else(overflow)
    }

    /// Compares values ("1.50" equals "1.5").
    pub fn cmp_value(&self, o: &Decimal) -> Ordering {
        match self.aligned(o) {
            Some((a, b, _)) => a.cmp(&b),
            // The side with the smaller scale could not be scaled up: it is the
            // larger magnitude.
            None => {
                let big = if self.scale < o.scale { self } else { o };
                let sign = if big.is_negative() {
                    Ordering::Less
                } else {
                    Ordering::Greater
                };
                if std::ptr::eq(big, self) {
                    sign
                } else {
                    sign.reverse()
                }
            }
        }
    }

    /// The value without trailing fractional zeros ("1.50" -> "1.5", "2.0" -> "2").
    pub fn normalized(&self) -> Decimal {
        let (mut m, mut s) = (self.mantissa, self.scale);
        while s > 0 && m % 10 == 0 {
            m /= 10;
            s -= 1;
        }
        Decimal::new(m, s)
    }

    /// The value as i64 when it is an integer in range.
    pub fn to_i64_exact(&self) -> Option<i64> {
        let n = self.normalized();
        if n.scale == 0 {
            i64::try_from(n.mantissa).ok()
        } else {
            None
        }
    }
}

impl fmt::Display for Decimal {
    /// `-1.50`, `0.05`, `12`: exactly `scale` fraction digits.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let digits = self.mantissa.unsigned_abs().to_string();
        let scale = usize::from(self.scale);
        let sign = if self.mantissa < 0 { "-" } else { "" };
        if scale == 0 {
            return write!(f, "{sign}{digits}");
        }
        let padded = if digits.len() <= scale {
            format!("{}{digits}", "0".repeat(scale + 1 - digits.len()))
        } else {
            digits
        };
        let (int, frac) = padded.split_at(padded.len() - scale);
        write!(f, "{sign}{int}.{frac}")
    }
}
