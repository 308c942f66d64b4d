//! Sharding algorithms: given the candidate target names of a strategy (data source names
//! for a database strategy, table names for a table strategy) and the values allowed for the
//! sharding column, decide which targets can hold matching rows.

use std::fmt;
use std::ops::Bound;

use super::datetime::{self, IntervalUnit};
use super::inline::InlineTemplate;
use super::values::{canonical, to_num, Canonical, Num, ShardValue, Values};

/// Maximum number of periods an `interval` algorithm may span.
pub(crate) const MAX_PERIODS: i64 = 100_000;

/// A named algorithm from `[databases.<db>.algorithms.<name>]`.
#[derive(Debug, Clone, PartialEq)]
pub struct Algorithm {
    pub name: String,
    pub kind: AlgorithmKind,
}

/// `slots = [{ range = "0..511", node = "ds_0" }]` entry; `first..=last`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SlotRange {
    pub first: u32,
    pub last: u32,
    pub node: String,
}

#[derive(Debug, Clone, PartialEq)]
pub enum AlgorithmKind {
    /// `key mod sharding_count` (non-negative remainder) → target ending with that number.
    Mod { sharding_count: u32 },
    /// `crc32(canonical(key)) mod sharding_count` → target ending with that number.
    HashMod {
        sharding_count: u32,
        collation: String,
    },
    /// Partition `i` = values in `[boundaries[i-1], boundaries[i])` → target ending with `i`.
    Range { boundaries: Vec<i128> },
    /// Datetime periods between `lower` and `upper` (inclusive, microseconds since the epoch)
    /// → target ending with the period start formatted by `suffix_pattern`.
    Interval {
        lower: i64,
        upper: i64,
        unit: IntervalUnit,
        amount: u32,
        suffix_pattern: String,
    },
    /// `crc32(canonical(key)) mod slot_count` → the node owning that slot.
    ConsistentHash {
        slot_count: u32,
        slots: Vec<SlotRange>,
        collation: String,
    },
    /// Target name computed by an inline expression.
    Inline { template: InlineTemplate },
}

impl AlgorithmKind {
    /// The `type` string of the rules file.
    pub fn type_name(&self) -> &'static str {
        match self {
            AlgorithmKind::Mod { .. } => "mod",
            AlgorithmKind::HashMod { .. } => "hash_mod",
            AlgorithmKind::Range { .. } => "range",
            AlgorithmKind::Interval { .. } => "interval",
            AlgorithmKind::ConsistentHash { .. } => "consistent_hash",
            AlgorithmKind::Inline { .. } => "inline",
        }
    }
}

impl fmt::Display for AlgorithmKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            AlgorithmKind::Mod { sharding_count } => {
                write!(f, "mod(sharding_count={sharding_count})")
            }
            AlgorithmKind::HashMod {
                sharding_count,
                collation,
            } => write!(
                f,
                "hash_mod(sharding_count={sharding_count}, collation={collation})"
            ),
            AlgorithmKind::Range { boundaries } => {
                let b: Vec<String> = boundaries.iter().map(|b| b.to_string()).collect();
                write!(f, "range(boundaries=[{}])", b.join(", "))
            }
            AlgorithmKind::Interval {
                lower,
                upper,
                unit,
                amount,
                suffix_pattern,
            } => write!(
                f,
                "interval({} .. {}, every {amount} {}, suffix {suffix_pattern})",
                datetime::format(*lower),
                datetime::format(*upper),
                unit.name()
            ),
            AlgorithmKind::ConsistentHash {
                slot_count,
                slots,
                collation,
            } => {
                let s: Vec<String> = slots
                    .iter()
                    .map(|s| format!("{}..{}->{}", s.first, s.last, s.node))
                    .collect();
                write!(
                    f,
                    "consistent_hash(slot_count={slot_count}, collation={collation}, slots=[{}])",
                    s.join(", ")
                )
            }
            AlgorithmKind::Inline { template } => write!(f, "inline({})", template.source()),
        }
    }
}

impl fmt::Display for Algorithm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} = {}", self.name, self.kind)
    }
}

/// The number a target name ends with (`t_order_12` → 12), if any.
pub(crate) fn suffix_number(name: &str) -> Option<u128> {
    let digits = name.len() - name.trim_end_matches(|c: char| c.is_ascii_digit()).len();
    if digits == 0 {
        return None;
    }
    name[name.len() - digits..].parse().ok()
}

/// `name` ends with `suffix`, and the character before it (if any) is not a digit.
pub(crate) fn ends_with_suffix(name: &str, suffix: &str) -> bool {
    match name.strip_suffix(suffix) {
        Some(head) => !head.ends_with(|c: char| c.is_ascii_digit()),
        None => false,
    }
}

/// Marks the targets whose trailing number is `n`.
fn mark_number(targets: &[&str], n: u128, mask: &mut [bool]) {
    for (i, t) in targets.iter().enumerate() {
        if suffix_number(t) == Some(n) {
            mask[i] = true;
        }
    }
}

fn mark_all(mask: &mut [bool]) {
    mask.iter_mut().for_each(|m| *m = true);
}

fn bound_value(b: &Bound<ShardValue>) -> Option<&ShardValue> {
    match b {
        Bound::Included(v) | Bound::Excluded(v) => Some(v),
        Bound::Unbounded => None,
    }
}

impl Algorithm {
    /// Which of `targets` can hold rows whose sharding column is in `values`.
    /// Errors are plain messages; the caller adds table/strategy context.
    pub(crate) fn select(&self, targets: &[&str], values: &Values) -> Result<Vec<bool>, String> {
        let mut mask = vec![false; targets.len()];
        self.select_into(targets, values, &mut mask)?;
        Ok(mask)
    }

    fn select_into(
        &self,
        targets: &[&str],
        values: &Values,
        mask: &mut [bool],
    ) -> Result<(), String> {
        match values {
            Values::Any => mark_all(mask),
            Values::List(vs) => {
                for v in vs {
                    self.select_value(targets, v, mask)?;
                }
            }
            Values::Union(members) => {
                for m in members {
                    self.select_into(targets, m, mask)?;
                }
            }
            Values::Range { lower, upper } => {
                let null = |b| matches!(bound_value(b), Some(ShardValue::Null));
                if null(lower) || null(upper) {
                    return Ok(()); // comparisons with NULL are never true
                }
                match &self.kind {
                    AlgorithmKind::Range { boundaries } => {
                        range_partitions(boundaries, lower, upper, targets, mask)
                    }
                    AlgorithmKind::Interval { .. } => {
                        self.interval_range(lower, upper, targets, mask)
                    }
                    _ => mark_all(mask),
                }
            }
        }
        Ok(())
    }

    fn select_value(
        &self,
        targets: &[&str],
        v: &ShardValue,
        mask: &mut [bool],
    ) -> Result<(), String> {
        if *v == ShardValue::Null {
            return Ok(());
        }
        match &self.kind {
            AlgorithmKind::Mod { sharding_count } => match to_num(v).and_then(Num::as_int) {
                Some(i) => {
                    let n = i.rem_euclid(i128::from(*sharding_count)) as u128;
                    mark_number(targets, n, mask);
                }
                None => mark_all(mask),
            },
            AlgorithmKind::HashMod {
                sharding_count,
                collation,
            } => match canonical(v, collation) {
                Canonical::Bytes(b) => {
                    let n = crc32fast::hash(&b) % sharding_count;
                    mark_number(targets, u128::from(n), mask);
                }
                Canonical::Null => {}
                Canonical::Unknown => mark_all(mask),
            },
            AlgorithmKind::ConsistentHash {
                slot_count,
                slots,
                collation,
            } => match canonical(v, collation) {
                Canonical::Bytes(b) => {
                    let slot = crc32fast::hash(&b) % slot_count;
                    let owner = slots
                        .iter()
                        .find(|s| s.first <= slot && slot <= s.last)
                        .ok_or_else(|| format!("slot {slot} (value {v}) is not covered"))?;
                    let mut found = false;
                    for (i, t) in targets.iter().enumerate() {
                        if *t == owner.node {
                            mask[i] = true;
                            found = true;
                        }
                    }
                    if !found {
                        return Err(format!(
                            "slot {slot} (value {v}) belongs to `{}`, which is not a target",
                            owner.node
                        ));
                    }
                }
                Canonical::Null => {}
                Canonical::Unknown => mark_all(mask),
            },
            AlgorithmKind::Range { boundaries } => match to_num(v) {
                Some(x) => {
                    let p = boundaries.iter().filter(|b| x.ge_int(**b)).count();
                    mark_number(targets, p as u128, mask);
                }
                None => mark_all(mask),
            },
            AlgorithmKind::Interval { lower, upper, .. } => match datetime_of(v) {
                Some(t) => {
                    // No table holds a value outside [lower, upper]: it takes no node (an
                    // INSERT of it is refused by its caller; a WHERE matches nothing there).
                    if t < *lower || t > *upper {
                        return Ok(());
                    }
                    let suffix = self.interval_suffix(t);
                    for (i, name) in targets.iter().enumerate() {
                        if ends_with_suffix(name, &suffix) {
                            mask[i] = true;
                        }
                    }
                }
                None => mark_all(mask),
            },
            AlgorithmKind::Inline { template } => match to_num(v).and_then(Num::as_int) {
                Some(i) => {
                    // A value the expression maps to no existing table takes no node.
                    let Ok(name) = template.eval(i) else {
                        return Ok(());
                    };
                    for (k, t) in targets.iter().enumerate() {
                        if *t == name {
                            mask[k] = true;
                        }
                    }
                }
                None => mark_all(mask),
            },
        }
        Ok(())
    }

    /// Suffix of the interval period containing `t` (caller checked `lower <= t`).
    pub(crate) fn interval_suffix(&self, t: i64) -> String {
        match &self.kind {
            AlgorithmKind::Interval {
                lower,
                unit,
                amount,
                suffix_pattern,
                ..
            } => {
                let base = unit.index(*lower);
                let k = (unit.index(t) - base).div_euclid(i64::from(*amount));
                let start = unit.start(base + k * i64::from(*amount));
                datetime::format_suffix(suffix_pattern, start)
            }
            _ => String::new(),
        }
    }

    /// Suffixes of all periods of an interval algorithm, in order (at most [`MAX_PERIODS`]).
    pub(crate) fn interval_suffixes(&self, from: i64, to: i64) -> Vec<String> {
        let mut out: Vec<String> = Vec::new();
        if let AlgorithmKind::Interval {
            lower,
            unit,
            amount,
            suffix_pattern,
            ..
        } = &self.kind
        {
            if from > to {
                return out;
            }
            let base = unit.index(*lower);
            let step = i64::from(*amount);
            let k0 = (unit.index(from) - base).div_euclid(step);
            let k1 = (unit.index(to) - base).div_euclid(step);
            for k in k0..=k1.min(k0 + MAX_PERIODS) {
                let start = unit.start(base + k * step);
                let s = datetime::format_suffix(suffix_pattern, start);
                if out.last() != Some(&s) {
                    out.push(s);
                }
            }
        }
        out
    }

    fn interval_range(
        &self,
        lower_b: &Bound<ShardValue>,
        upper_b: &Bound<ShardValue>,
        targets: &[&str],
        mask: &mut [bool],
    ) {
        let (lower, upper) = match &self.kind {
            AlgorithmKind::Interval { lower, upper, .. } => (*lower, *upper),
            _ => return,
        };
        let lo = match lower_b {
            Bound::Unbounded => lower,
            Bound::Included(v) => match datetime_of(v) {
                Some(t) => t.max(lower),
                None => return mark_all(mask),
            },
            Bound::Excluded(v) => match datetime_of(v) {
                Some(t) => t.saturating_add(1).max(lower),
                None => return mark_all(mask),
            },
        };
        let hi = match upper_b {
            Bound::Unbounded => upper,
            Bound::Included(v) => match datetime_of(v) {
                Some(t) => t.min(upper),
                None => return mark_all(mask),
            },
            Bound::Excluded(v) => match datetime_of(v) {
                Some(t) => t.saturating_sub(1).min(upper),
                None => return mark_all(mask),
            },
        };
        for suffix in self.interval_suffixes(lo, hi) {
            for (i, name) in targets.iter().enumerate() {
                if ends_with_suffix(name, &suffix) {
                    mask[i] = true;
                }
            }
        }
    }
}

/// A datetime value (or a string that parses as one), as microseconds.
fn datetime_of(v: &ShardValue) -> Option<i64> {
    match v {
        ShardValue::DateTime(s) => datetime::parse(s),
        ShardValue::Str(b) => std::str::from_utf8(b).ok().and_then(datetime::parse),
        _ => None,
    }
}

/// Marks the partitions of a `range` algorithm a value range can touch.
fn range_partitions(
    boundaries: &[i128],
    lower: &Bound<ShardValue>,
    upper: &Bound<ShardValue>,
    targets: &[&str],
    mask: &mut [bool],
) {
    let num = |b: &Bound<ShardValue>| bound_value(b).map(to_num);
    // Unparseable bound (datetime, non-numeric string): be safe.
    if matches!(num(lower), Some(None)) || matches!(num(upper), Some(None)) {
        return mark_all(mask);
    }
    // Empty when lo > hi, or lo == hi with an exclusive end (exact for integral bounds;
    // `x > 5 AND x < 6` is not empty: the column may be DECIMAL).
    if let (Some(Some(a)), Some(Some(b))) = (num(lower), num(upper)) {
        if let (Some(a), Some(b)) = (a.as_int(), b.as_int()) {
            let open = matches!(lower, Bound::Excluded(_)) || matches!(upper, Bound::Excluded(_));
            if a > b || (a == b && open) {
                return;
            }
        }
    }
    // Partition of x = number of boundaries <= x.
    let start = match num(lower) {
        Some(Some(x)) => boundaries.iter().filter(|b| x.ge_int(**b)).count(),
        _ => 0,
    };
    let end = match (upper, num(upper)) {
        (Bound::Included(_), Some(Some(x))) => boundaries.iter().filter(|b| x.ge_int(**b)).count(),
        (Bound::Excluded(_), Some(Some(x))) => boundaries.iter().filter(|b| x.gt_int(**b)).count(),
        _ => boundaries.len(),
    };
    for p in start..=end {
        mark_number(targets, p as u128, mask);
    }
}
