//! MySQL/MariaDB collations and collation-aware comparison of result cells.
//!
//! Pure code (no I/O). The proxy merges rows from several MariaDB 10.11
//! shards and must order, group and hash them exactly as one server would:
//! - [`Collation`]: string comparison and canonical sort keys per collation.
//! - [`SortKind`], [`sort_kind`], [`compare_cells`], [`cell_key`] (in
//!   `collation/cells.rs`): how to compare text-protocol cells of a column.
//!
//! Exactness (checked against `mariadbd` 10.11.19, see `collation/tables.rs`):
//! - `*_general_ci`: exact for the whole BMP (MariaDB's unicase "sort" weights);
//!   supplementary characters (emoji) all weigh 0xFFFD, like U+FFFD itself.
//! - `*_bin`, `binary`, `latin1_swedish_ci`: exact.
//! - `*_unicode_ci` (UCA 4.0.0, primary level): exact for U+0000..U+017F,
//!   General Punctuation (U+2000..U+205F), '€' and U+FFFD, and for characters
//!   whose compatibility decomposition (NFKD) starts with a letter of that
//!   range (accented Latin letters of any block, fullwidth forms, ligatures
//!   like 'ﬁ'), including expansions like 'ß' = 'ss' and ignorable controls and
//!   combining marks. Other characters (Greek, Cyrillic, CJK, most symbols) are
//!   approximated: they sort after all Latin letters, in `general_ci` order,
//!   whereas UCA interleaves most symbols with ASCII punctuation and puts
//!   characters newer than Unicode 4.0 (e.g. 'ẞ' U+1E9E) last. On 79,800
//!   random pairs over such an alphabet, 98 compared differently from the
//!   server, all of them involving U+1E9E.
//!
//! PAD SPACE collations compare as if the shorter string were padded with
//! spaces: 'a' = 'a  ', and 'a\t' < 'a' (tab weighs less than space).
//! Bytes that are not valid UTF-8 weigh more than any character and compare
//! among themselves in byte order, as in MariaDB (such cells cannot come from
//! a real server anyway).
//!
//! Caveat for callers: the collation id in a result set's column definition is
//! that of `character_set_results` (e.g. 45 for every text column when the
//! connection is utf8mb4_general_ci), not the column's declared collation. For
//! exact ORDER BY merging of a utf8mb4_unicode_ci or *_bin column, take the
//! collation from the schema ([`Collation::from_name`]) instead.

mod cells;
mod tables;

pub use cells::{cell_key, compare_cells, sort_kind, SortKind};

use std::cmp::Ordering;
use tables::{
    Op, GENERAL_CI_RUNS, LATIN1_SWEDISH_CI, UCA_EXTRA, UCA_IGNORABLE, UCA_LATIN1, UCA_PUNCT,
    UCA_SEE_BELOW,
};

/// A MariaDB collation this module can compare exactly (or, for `*_unicode_ci`,
/// approximately: see the module docs).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Collation {
    Utf8mb4GeneralCi,
    Utf8mb4GeneralNopadCi,
    Utf8mb4Bin,
    Utf8mb4NopadBin,
    Utf8mb4UnicodeCi,
    Utf8mb4UnicodeNopadCi,
    /// utf8mb3_general_ci (alias utf8_general_ci).
    Utf8GeneralCi,
    Utf8GeneralNopadCi,
    Utf8Bin,
    Utf8NopadBin,
    Utf8UnicodeCi,
    Utf8UnicodeNopadCi,
    Latin1SwedishCi,
    Latin1SwedishNopadCi,
    Latin1Bin,
    Latin1NopadBin,
    /// The `binary` pseudo-collation (id 63): plain byte order, no padding.
    Binary,
}

use Collation::*;

/// Every supported collation with its MariaDB id and name.
const ALL: &[(Collation, u16, &str)] = &[
    (Utf8mb4GeneralCi, 45, "utf8mb4_general_ci"),
    (Utf8mb4GeneralNopadCi, 1069, "utf8mb4_general_nopad_ci"),
    (Utf8mb4Bin, 46, "utf8mb4_bin"),
    (Utf8mb4NopadBin, 1070, "utf8mb4_nopad_bin"),
    (Utf8mb4UnicodeCi, 224, "utf8mb4_unicode_ci"),
    (Utf8mb4UnicodeNopadCi, 1248, "utf8mb4_unicode_nopad_ci"),
    (Utf8GeneralCi, 33, "utf8mb3_general_ci"),
    (Utf8GeneralNopadCi, 1057, "utf8mb3_general_nopad_ci"),
    (Utf8Bin, 83, "utf8mb3_bin"),
    (Utf8NopadBin, 1107, "utf8mb3_nopad_bin"),
    (Utf8UnicodeCi, 192, "utf8mb3_unicode_ci"),
    (Utf8UnicodeNopadCi, 1216, "utf8mb3_unicode_nopad_ci"),
    (Latin1SwedishCi, 8, "latin1_swedish_ci"),
    (Latin1SwedishNopadCi, 1032, "latin1_swedish_nopad_ci"),
    (Latin1Bin, 47, "latin1_bin"),
    (Latin1NopadBin, 1071, "latin1_nopad_bin"),
    (Binary, 63, "binary"),
];

/// How bytes decode into characters.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Charset {
    Utf8mb4,
    Utf8mb3,
    Latin1,
}

/// How characters map to weights.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Algo {
    General,
    Bin,
    Unicode,
    Swedish,
}

/// Weight of a byte that is not part of a valid character: above every
/// character weight, bad bytes in byte order.
const WEIGHT_ILSEQ: u32 = 0xFF_0000;
/// unicode_ci: weights of characters outside the exact table start here.
const UCA_FALLBACK: u32 = 0x1_0000;
/// unicode_ci: weight of every supplementary character (MariaDB: 0xFFFD, which
/// is above all BMP weights).
const UCA_SUPPLEMENTARY: u32 = 0x2_0000;

impl Collation {
    /// The collation with this MariaDB id (45 utf8mb4_general_ci, 46 utf8mb4_bin,
    /// 224 utf8mb4_unicode_ci, 33 utf8mb3_general_ci, 83 utf8mb3_bin,
    /// 8 latin1_swedish_ci, 47 latin1_bin, 63 binary, and the nopad variants).
    pub fn from_id(id: u16) -> Option<Collation> {
        ALL.iter().find(|e| e.1 == id).map(|e| e.0)
    }

    /// Like [`Collation::from_id`], but never fails: other UCA-based utf8
    /// collations (language variants) become `*_unicode_ci`, other latin1
    /// ones `latin1_swedish_ci`, anything else `utf8mb4_general_ci` (the
    /// MariaDB 10.11 default).
    pub fn from_id_lossy(id: u16) -> Collation {
        Self::from_id(id).unwrap_or(match id {
            223 => Utf8GeneralCi,
            192..=215 | 576..=578 => Utf8UnicodeCi,
            224..=247 | 608..=610 => Utf8mb4UnicodeCi,
            5 | 15 | 31 | 48 | 94 => Latin1SwedishCi,
            49 => Latin1Bin,
            _ => Utf8mb4GeneralCi,
        })
    }

    /// The collation with this name, case-insensitive; `utf8_` is accepted as
    /// an alias of `utf8mb3_`.
    pub fn from_name(name: &str) -> Option<Collation> {
        let lower = name.trim().to_ascii_lowercase();
        let name = match lower.strip_prefix("utf8_") {
            Some(rest) => format!("utf8mb3_{rest}"),
            None => lower,
        };
        ALL.iter().find(|e| e.2 == name).map(|e| e.0)
    }

    /// MariaDB's id of this collation.
    pub fn id(&self) -> u16 {
        ALL.iter().find(|e| e.0 == *self).map_or(0, |e| e.1)
    }

    /// MariaDB's name of this collation (`utf8mb3_...` for the utf8 ones).
    pub fn name(&self) -> &'static str {
        ALL.iter().find(|e| e.0 == *self).map_or("", |e| e.2)
    }

    /// Whether trailing spaces are ignored (PAD SPACE) rather than significant.
    pub fn is_pad_space(&self) -> bool {
        self.spec().is_some_and(|s| s.2)
    }

    fn spec(&self) -> Option<(Charset, Algo, bool)> {
        use Charset::*;
        Some(match self {
            Utf8mb4GeneralCi => (Utf8mb4, Algo::General, true),
            Utf8mb4GeneralNopadCi => (Utf8mb4, Algo::General, false),
            Utf8mb4Bin => (Utf8mb4, Algo::Bin, true),
            Utf8mb4NopadBin => (Utf8mb4, Algo::Bin, false),
            Utf8mb4UnicodeCi => (Utf8mb4, Algo::Unicode, true),
            Utf8mb4UnicodeNopadCi => (Utf8mb4, Algo::Unicode, false),
            Utf8GeneralCi => (Utf8mb3, Algo::General, true),
            Utf8GeneralNopadCi => (Utf8mb3, Algo::General, false),
            Utf8Bin => (Utf8mb3, Algo::Bin, true),
            Utf8NopadBin => (Utf8mb3, Algo::Bin, false),
            Utf8UnicodeCi => (Utf8mb3, Algo::Unicode, true),
            Utf8UnicodeNopadCi => (Utf8mb3, Algo::Unicode, false),
            Latin1SwedishCi => (Latin1, Algo::Swedish, true),
            Latin1SwedishNopadCi => (Latin1, Algo::Swedish, false),
            Latin1Bin => (Latin1, Algo::Bin, true),
            Latin1NopadBin => (Latin1, Algo::Bin, false),
            Binary => return None,
        })
    }

    /// Compares two strings (in this collation's character set) as MariaDB does.
    pub fn compare(&self, a: &[u8], b: &[u8]) -> Ordering {
        let Some((cs, algo, pad)) = self.spec() else {
            return a.cmp(b);
        };
        let space = algo.space_weight();
        let (mut wa, mut wb) = (Weights::new(a, cs, algo), Weights::new(b, cs, algo));
        loop {
            match (wa.next(), wb.next()) {
                (None, None) => return Ordering::Equal,
                (Some(x), Some(y)) if x != y => return x.cmp(&y),
                (Some(_), Some(_)) => {}
                // One string ended: PAD SPACE compares the rest against spaces,
                // NO PAD makes the longer string greater.
                (Some(_), None) if !pad => return Ordering::Greater,
                (None, Some(_)) if !pad => return Ordering::Less,
                (Some(x), None) if x != space => return x.cmp(&space),
                (None, Some(y)) if y != space => return space.cmp(&y),
                _ => {}
            }
        }
    }

    /// A canonical sort key: `sort_key(a) == sort_key(b)` iff
    /// `compare(a, b) == Equal`, and the byte order of keys is the
    /// [`Collation::compare`] order. Used for hashing (shard routing,
    /// hash-grouping), so the format must stay stable.
    ///
    /// Format: `binary` → the bytes. NO PAD → 3-byte big-endian weights.
    /// PAD SPACE → one token per non-space weight `w` preceded by `k` space
    /// weights (trailing spaces dropped), then a terminator `0x02` that stands
    /// for "spaces forever": `w < space`: `00 w` (k = 0) or `01 k w`;
    /// `w > space`: `03 !k w` (k > 0) or `04 w` (k = 0); `k` is 4 bytes BE.
    pub fn sort_key(&self, s: &[u8]) -> Vec<u8> {
        let Some((cs, algo, pad)) = self.spec() else {
            return s.to_vec();
        };
        let mut key = Vec::with_capacity(s.len() * 4 + 1);
        let push_w = |key: &mut Vec<u8>, w: u32| key.extend_from_slice(&w.to_be_bytes()[1..]);
        if !pad {
            Weights::new(s, cs, algo).for_each(|w| push_w(&mut key, w));
            return key;
        }
        let space = algo.space_weight();
        let mut spaces: u32 = 0;
        for w in Weights::new(s, cs, algo) {
            if w == space {
                spaces = spaces.saturating_add(1);
                continue;
            }
            match (w < space, spaces) {
                (true, 0) => key.push(0x00),
                (true, k) => {
                    key.push(0x01);
                    key.extend_from_slice(&k.to_be_bytes());
                }
                (false, 0) => key.push(0x04),
                (false, k) => {
                    key.push(0x03);
                    key.extend_from_slice(&(!k).to_be_bytes());
                }
            }
            push_w(&mut key, w);
            spaces = 0;
        }
        key.push(0x02);
        key
    }
}

impl Algo {
    fn space_weight(self) -> u32 {
        match self {
            Algo::Unicode => u32::from(UCA_LATIN1[0x20]),
            _ => 0x20,
        }
    }
}

/// Iterator over the collation weights of a string.
struct Weights<'a> {
    rest: &'a [u8],
    cs: Charset,
    algo: Algo,
    buf: WeightBuf,
}

/// A few pending weights (unicode_ci characters can expand to several).
#[derive(Default)]
struct WeightBuf {
    w: [u32; 8],
    len: usize,
    pos: usize,
}

impl WeightBuf {
    fn push(&mut self, w: u32) {
        if let Some(slot) = self.w.get_mut(self.len) {
            *slot = w;
            self.len += 1;
        }
    }
}

impl<'a> Weights<'a> {
    fn new(s: &'a [u8], cs: Charset, algo: Algo) -> Self {
        Weights {
            rest: s,
            cs,
            algo,
            buf: WeightBuf::default(),
        }
    }
}

impl Iterator for Weights<'_> {
    type Item = u32;

    fn next(&mut self) -> Option<u32> {
        loop {
            if self.buf.pos < self.buf.len {
                let w = self.buf.w.get(self.buf.pos).copied();
                self.buf.pos += 1;
                return w;
            }
            let first = *self.rest.first()?;
            let (ch, len) = match self.cs {
                Charset::Latin1 => (Ok(u32::from(first)), 1),
                Charset::Utf8mb4 => decode_utf8(self.rest, true),
                Charset::Utf8mb3 => decode_utf8(self.rest, false),
            };
            self.rest = self.rest.get(len..).unwrap_or_default();
            let c = match ch {
                Ok(c) => c,
                Err(bad) => return Some(WEIGHT_ILSEQ + u32::from(bad)),
            };
            match self.algo {
                Algo::General => return Some(general_weight(c)),
                Algo::Bin => return Some(c),
                Algo::Swedish => {
                    let w = LATIN1_SWEDISH_CI.get(c as usize).copied().map(u32::from);
                    return Some(w.unwrap_or(c));
                }
                Algo::Unicode => {
                    self.buf.len = 0;
                    self.buf.pos = 0;
                    uca_weights(c, &mut self.buf);
                }
            }
        }
    }
}

/// Decodes one UTF-8 character (strict: no overlong forms; 4-byte forms only
/// for utf8mb4). Returns the code point or the offending first byte, and the
/// number of bytes consumed (at least 1).
fn decode_utf8(s: &[u8], mb4: bool) -> (Result<u32, u8>, usize) {
    let Some(&b0) = s.first() else {
        return (Err(0), 1);
    };
    let cont = |i: usize| {
        s.get(i)
            .filter(|b| **b & 0xC0 == 0x80)
            .map(|b| u32::from(b & 0x3F))
    };
    let lead = u32::from(b0);
    let decoded = match b0 {
        0x00..=0x7F => Some((lead, 1)),
        0xC2..=0xDF => cont(1).map(|c1| (((lead & 0x1F) << 6) | c1, 2)),
        0xE0..=0xEF => match (cont(1), cont(2)) {
            (Some(c1), Some(c2)) => {
                Some((((lead & 0x0F) << 12) | (c1 << 6) | c2, 3)).filter(|(cp, _)| *cp >= 0x800)
            }
            _ => None,
        },
        0xF0..=0xF4 if mb4 => match (cont(1), cont(2), cont(3)) {
            (Some(c1), Some(c2), Some(c3)) => {
                let cp = ((lead & 0x07) << 18) | (c1 << 12) | (c2 << 6) | c3;
                Some((cp, 4)).filter(|(cp, _)| (0x1_0000..=0x10_FFFF).contains(cp))
            }
            _ => None,
        },
        _ => None,
    };
    match decoded {
        Some((cp, len)) => (Ok(cp), len),
        None => (Err(b0), 1),
    }
}

/// utf8mb4_general_ci weight of a code point.
fn general_weight(c: u32) -> u32 {
    if c < 0x80 {
        return if (0x61..=0x7A).contains(&c) {
            c - 0x20
        } else {
            c
        };
    }
    let Ok(c16) = u16::try_from(c) else {
        return 0xFFFD;
    };
    let idx = GENERAL_CI_RUNS.partition_point(|r| r.0 <= c16);
    let Some(&(first, last, step, op)) = idx.checked_sub(1).and_then(|i| GENERAL_CI_RUNS.get(i))
    else {
        return c;
    };
    if c16 > last || (c16 - first) % u16::from(step.max(1)) != 0 {
        return c;
    }
    match op {
        Op::To(w) => u32::from(w),
        Op::Add(d) => u32::try_from(i64::from(c) + i64::from(d)).unwrap_or(c),
    }
}

/// unicode_ci weights of characters with a direct answer (table, ignorable,
/// supplementary); `false` if the character must be decomposed or approximated.
fn uca_direct(c: u32, out: &mut WeightBuf) -> bool {
    let dense = match c {
        0..=0xFF => UCA_LATIN1.get(c as usize),
        0x2000..=0x205F => UCA_PUNCT.get(c as usize - 0x2000),
        _ => None,
    };
    match dense {
        Some(&UCA_SEE_BELOW) | None => {}
        Some(&0) => return true,
        Some(&w) => {
            out.push(u32::from(w));
            return true;
        }
    }
    let Ok(c16) = u16::try_from(c) else {
        out.push(UCA_SUPPLEMENTARY);
        return true;
    };
    if let Ok(i) = UCA_EXTRA.binary_search_by_key(&c16, |e| e.0) {
        if let Some((_, ws)) = UCA_EXTRA.get(i) {
            ws.iter().for_each(|w| out.push(u32::from(*w)));
        }
        return true;
    }
    UCA_IGNORABLE
        .iter()
        .any(|&(lo, hi)| (lo..=hi).contains(&c16))
}

/// utf8mb4_unicode_ci weights of one character (see the module docs): table
/// characters directly; characters whose compatibility decomposition (NFKD)
/// starts with a table letter (U+0021..U+017F) as their parts; the rest as
/// `UCA_FALLBACK + general_ci weight`.
fn uca_weights(c: u32, out: &mut WeightBuf) {
    if uca_direct(c, out) {
        return;
    }
    let mut parts = [0u32; 8];
    let mut n = 0;
    if let Some(ch) = char::from_u32(c) {
        unicode_normalization::char::decompose_compatible(ch, |p| {
            if let Some(slot) = parts.get_mut(n) {
                *slot = u32::from(p);
                n += 1;
            }
        });
    }
    if n == 0 || !(0x21..0x180).contains(&parts[0]) {
        out.push(UCA_FALLBACK + general_weight(c));
        return;
    }
    for &p in parts.iter().take(n) {
        if !uca_direct(p, out) {
            out.push(UCA_FALLBACK + general_weight(p));
        }
    }
}

#[cfg(test)]
mod tests;
