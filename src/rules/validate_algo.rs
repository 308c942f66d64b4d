//! Compiling `[databases.<db>.algorithms.<name>]` and checking an algorithm against the
//! targets of the strategy that uses it.

use super::algorithm::{
    ends_with_suffix, suffix_number, Algorithm, AlgorithmKind, SlotRange, MAX_PERIODS,
};
use super::config::RawAlgorithm;
use super::datetime::{self, IntervalUnit};
use super::inline::InlineTemplate;
use super::DEFAULT_COLLATION;

/// An error message with the TOML path suffix it belongs to (appended to the algorithm's
/// context, e.g. `.boundaries`; empty for the algorithm table itself).
pub(crate) type AlgoError = (String, String);

/// Largest accepted `slot_count`.
pub(crate) const MAX_SLOTS: i64 = 1 << 20;

const TYPES: &str = "mod, hash_mod, range, interval, consistent_hash, inline";

fn fail<T>(field: &str, message: impl Into<String>) -> Result<T, AlgoError> {
    let field = if field.is_empty() {
        String::new()
    } else {
        format!(".{field}")
    };
    Err((field, message.into()))
}

fn require<'a, T>(v: &'a Option<T>, ty: &str, field: &str) -> Result<&'a T, AlgoError> {
    match v {
        Some(x) => Ok(x),
        None => fail(
            "",
            format!("algorithm type `{ty}` requires field `{field}`"),
        ),
    }
}

fn count_field(v: i64, field: &str, max: i64) -> Result<u32, AlgoError> {
    if v < 1 {
        return fail(field, format!("must be at least 1, got {v}"));
    }
    if v > max {
        return fail(field, format!("must be at most {max}, got {v}"));
    }
    Ok(v as u32)
}

fn collation(raw: &RawAlgorithm) -> Result<String, AlgoError> {
    let name = raw.collation.as_deref().unwrap_or(DEFAULT_COLLATION);
    if crate::collation::Collation::from_name(name).is_none() {
        return fail("collation", format!("unknown collation `{name}`"));
    }
    Ok(name.to_string())
}

fn datetime_field(v: &str, field: &str) -> Result<i64, AlgoError> {
    datetime::parse(v).ok_or_else(|| {
        (
            format!(".{field}"),
            format!("`{v}` is not a datetime (expected `YYYY-MM-DD HH:MM:SS` or `YYYY-MM-DD`)"),
        )
    })
}

/// Compiles one algorithm definition (usage-independent checks only).
pub(crate) fn compile(name: &str, raw: &RawAlgorithm) -> Result<Algorithm, AlgoError> {
    let ty = match &raw.kind {
        Some(t) => t.as_str(),
        None => return fail("", "missing field `type`"),
    };
    let allowed: &[&str] = match ty {
        "mod" => &["sharding_count"],
        "hash_mod" => &["sharding_count", "collation"],
        "range" => &["boundaries"],
        "interval" => &[
            "datetime_lower",
            "datetime_upper",
            "interval",
            "interval_amount",
            "suffix_pattern",
        ],
        "consistent_hash" => &["slot_count", "slots", "collation"],
        "inline" => &["expression"],
        other => {
            return fail(
                "type",
                format!("unknown algorithm type `{other}` (expected one of: {TYPES})"),
            )
        }
    };
    if let Some(f) = raw
        .present_fields()
        .into_iter()
        .find(|f| !allowed.contains(f))
    {
        return fail(
            "",
            format!("field `{f}` does not apply to algorithm type `{ty}`"),
        );
    }
    let kind = match ty {
        "mod" => AlgorithmKind::Mod {
            sharding_count: count_field(
                *require(&raw.sharding_count, ty, "sharding_count")?,
                "sharding_count",
                i64::from(u32::MAX),
            )?,
        },
        "hash_mod" => AlgorithmKind::HashMod {
            sharding_count: count_field(
                *require(&raw.sharding_count, ty, "sharding_count")?,
                "sharding_count",
                i64::from(u32::MAX),
            )?,
            collation: collation(raw)?,
        },
        "range" => compile_range(require(&raw.boundaries, ty, "boundaries")?)?,
        "interval" => compile_interval(raw, ty)?,
        "consistent_hash" => compile_consistent_hash(raw, ty)?,
        _ => {
            let src = require(&raw.expression, ty, "expression")?;
            let template = InlineTemplate::parse(src).or_else(|m| fail("expression", m))?;
            if template.columns().is_empty() {
                return fail(
                    "expression",
                    format!("`{src}` does not reference the sharding column"),
                );
            }
            AlgorithmKind::Inline { template }
        }
    };
    Ok(Algorithm {
        name: name.to_string(),
        kind,
    })
}

fn compile_range(boundaries: &[i64]) -> Result<AlgorithmKind, AlgoError> {
    if boundaries.is_empty() {
        return fail("boundaries", "must not be empty");
    }
    for w in boundaries.windows(2) {
        if w[0] >= w[1] {
            return fail(
                "boundaries",
                format!(
                    "must be strictly ascending, but {} is followed by {}",
                    w[0], w[1]
                ),
            );
        }
    }
    Ok(AlgorithmKind::Range {
        boundaries: boundaries.iter().map(|b| i128::from(*b)).collect(),
    })
}

fn compile_interval(raw: &RawAlgorithm, ty: &str) -> Result<AlgorithmKind, AlgoError> {
    let lower_s = require(&raw.datetime_lower, ty, "datetime_lower")?;
    let upper_s = require(&raw.datetime_upper, ty, "datetime_upper")?;
    let unit_s = require(&raw.interval, ty, "interval")?;
    let pattern = require(&raw.suffix_pattern, ty, "suffix_pattern")?;
    let lower = datetime_field(lower_s, "datetime_lower")?;
    let upper = datetime_field(upper_s, "datetime_upper")?;
    if upper < lower {
        return fail(
            "datetime_upper",
            format!("`{upper_s}` is before datetime_lower `{lower_s}`"),
        );
    }
    let unit = match IntervalUnit::parse(unit_s) {
        Some(u) => u,
        None => {
            return fail(
                "interval",
                format!("unknown interval `{unit_s}` (expected year, month or day)"),
            )
        }
    };
    let amount = count_field(raw.interval_amount.unwrap_or(1), "interval_amount", 10_000)?;
    let needed: &[&str] = match unit {
        IntervalUnit::Year => &[],
        IntervalUnit::Month => &["MM"],
        IntervalUnit::Day => &["MM", "dd"],
    };
    if !pattern.contains("yy") || needed.iter().any(|t| !pattern.contains(t)) {
        let want = match unit {
            IntervalUnit::Year => "`yyyy` (or `yy`)",
            IntervalUnit::Month => "`yyyy` (or `yy`) and `MM`",
            IntervalUnit::Day => "`yyyy` (or `yy`), `MM` and `dd`",
        };
        return fail(
            "suffix_pattern",
            format!(
                "`{pattern}` must contain {want} for interval `{}`",
                unit.name()
            ),
        );
    }
    let periods = (unit.index(upper) - unit.index(lower)) / i64::from(amount) + 1;
    if periods > MAX_PERIODS {
        return fail(
            "datetime_upper",
            format!("the interval spans {periods} periods (at most {MAX_PERIODS} allowed)"),
        );
    }
    Ok(AlgorithmKind::Interval {
        lower,
        upper,
        unit,
        amount,
        suffix_pattern: pattern.clone(),
    })
}

fn compile_consistent_hash(raw: &RawAlgorithm, ty: &str) -> Result<AlgorithmKind, AlgoError> {
    let slot_count = count_field(
        *require(&raw.slot_count, ty, "slot_count")?,
        "slot_count",
        MAX_SLOTS,
    )?;
    let raw_slots = require(&raw.slots, ty, "slots")?;
    let mut slots = Vec::new();
    for (i, s) in raw_slots.iter().enumerate() {
        let field = format!("slots[{i}]");
        let text = s.range.trim();
        let parse = |t: &str| t.trim().parse::<u32>().ok();
        let (first, last) = match text.split_once("..") {
            Some((a, b)) => (parse(a), parse(b)),
            None => (parse(text), parse(text)),
        };
        let (Some(first), Some(last)) = (first, last) else {
            return fail(
                &field,
                format!("bad slot range `{text}` (expected `first..last`, inclusive)"),
            );
        };
        if first > last {
            return fail(&field, format!("empty slot range `{text}`"));
        }
        if last >= slot_count {
            return fail(
                &field,
                format!(
                    "slot range `{text}` exceeds slot_count {slot_count} (last slot is {})",
                    slot_count - 1
                ),
            );
        }
        if s.node.trim().is_empty() {
            return fail(&field, "`node` must not be empty");
        }
        slots.push(SlotRange {
            first,
            last,
            node: s.node.trim().to_string(),
        });
    }
    slots.sort_by_key(|s| s.first);
    let mut next = 0u32;
    for (i, s) in slots.iter().enumerate() {
        if s.first > next {
            return fail("slots", format!("slot {next} is not covered"));
        }
        if s.first < next {
            let prev = &slots[i - 1];
            return fail(
                "slots",
                format!(
                    "slot {} is covered by both `{}..{}` and `{}..{}`",
                    s.first, prev.first, prev.last, s.first, s.last
                ),
            );
        }
        next = s.last + 1;
    }
    if next < slot_count {
        return fail("slots", format!("slot {next} is not covered"));
    }
    Ok(AlgorithmKind::ConsistentHash {
        slot_count,
        slots,
        collation: collation(raw)?,
    })
}

/// Checks an algorithm against the targets of the strategy using it and its column.
/// Returns a message (the caller adds the strategy's context).
pub(crate) fn check_usage(alg: &Algorithm, column: &str, targets: &[&str]) -> Result<(), String> {
    let list = targets.join(", ");
    match &alg.kind {
        AlgorithmKind::Mod { sharding_count } | AlgorithmKind::HashMod { sharding_count, .. } => {
            check_numbered(targets, u128::from(*sharding_count)).map_err(|p| {
                format!(
                    "{} algorithm `{}` with sharding_count {sharding_count} needs exactly one target ending with each of 0..{}: {p} (targets: {list})",
                    alg.kind.type_name(),
                    alg.name,
                    sharding_count - 1
                )
            })
        }
        AlgorithmKind::Range { boundaries } => {
            let n = boundaries.len() as u128 + 1;
            check_numbered(targets, n).map_err(|p| {
                format!(
                    "range algorithm `{}` with {n} partitions needs exactly one target ending with each of 0..{}: {p} (targets: {list})",
                    alg.name,
                    n - 1
                )
            })
        }
        AlgorithmKind::Interval { lower, upper, .. } => {
            let suffixes = alg.interval_suffixes(*lower, *upper);
            if let Some(s) = suffixes
                .iter()
                .find(|s| !targets.iter().any(|t| ends_with_suffix(t, s)))
            {
                return Err(format!(
                    "interval algorithm `{}`: no target ends with `{s}` (targets: {list})",
                    alg.name
                ));
            }
            if let Some(t) = targets
                .iter()
                .find(|t| !suffixes.iter().any(|s| ends_with_suffix(t, s)))
            {
                return Err(format!(
                    "interval algorithm `{}`: target `{t}` matches no period between {} and {}",
                    alg.name,
                    datetime::format(*lower),
                    datetime::format(*upper)
                ));
            }
            Ok(())
        }
        AlgorithmKind::ConsistentHash { slots, .. } => {
            if let Some(s) = slots.iter().find(|s| !targets.contains(&s.node.as_str())) {
                return Err(format!(
                    "consistent_hash algorithm `{}` maps slots {}..{} to `{}`, which is not a target (targets: {list})",
                    alg.name, s.first, s.last, s.node
                ));
            }
            if let Some(t) = targets.iter().find(|t| !slots.iter().any(|s| s.node == **t)) {
                return Err(format!(
                    "consistent_hash algorithm `{}` assigns no slot to target `{t}`",
                    alg.name
                ));
            }
            Ok(())
        }
        AlgorithmKind::Inline { template } => {
            if let Some(c) = template.columns().into_iter().find(|c| *c != column) {
                return Err(format!(
                    "inline algorithm `{}` expression `{}` references column `{c}`, but the strategy shards by `{column}`",
                    alg.name,
                    template.source()
                ));
            }
            Ok(())
        }
    }
}

/// Targets must end with distinct numbers that are exactly `0..n`.
fn check_numbered(targets: &[&str], n: u128) -> Result<(), String> {
    let mut owner: std::collections::BTreeMap<u128, &str> = std::collections::BTreeMap::new();
    for t in targets {
        let Some(k) = suffix_number(t) else {
            return Err(format!("`{t}` does not end with a number"));
        };
        if k >= n {
            return Err(format!(
                "`{t}` ends with {k}, which the algorithm never produces"
            ));
        }
        if let Some(prev) = owner.insert(k, t) {
            return Err(format!("`{prev}` and `{t}` both end with {k}"));
        }
    }
    // All keys are < n, so the first gap is found within targets.len() + 1 steps.
    if let Some(missing) = (0..n).find(|k| !owner.contains_key(k)) {
        return Err(format!("no target ends with {missing}"));
    }
    Ok(())
}
