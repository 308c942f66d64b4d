//! GROUP_CONCAT finished in the proxy (pure). Each shard row of a group brings one
//! combination of the call's arguments and ORDER BY values and how many source rows share
//! it; the group's values are then ordered (its ORDER BY; for DISTINCT without one, by the
//! arguments, as MariaDB's unique tree returns them), repeated by multiplicity, joined by
//! the separator and cut at `group_concat_max_len` bytes on a character boundary.

use crate::error::SqlError;
use crate::eval::Val;
use crate::plan::ConcatSpec;
use bytes::Bytes;
use std::collections::HashSet;

/// One group's GROUP_CONCAT in progress.
#[derive(Default)]
pub struct ConcatAcc {
    items: Vec<Item>,
    seen: HashSet<Vec<u8>>,
    max_len: Option<u64>,
    /// The result is a binary string (cut anywhere, collation binary).
    binary: bool,
    collation: Option<u16>,
}

struct Item {
    /// The arguments' text, concatenated.
    text: Vec<u8>,
    /// The arguments (DISTINCT without ORDER BY sorts by them) or the ORDER BY values.
    sort: Vec<Val>,
    times: u64,
}

/// One shard row's part: the argument cells with their values, the ORDER BY values, the
/// multiplicity and the backend's `group_concat_max_len`.
pub struct ConcatRow<'a> {
    pub args: Vec<(Option<&'a [u8]>, Val)>,
    pub order: Vec<Val>,
    pub times: &'a Val,
    pub max_len: &'a Val,
}

impl ConcatAcc {
    /// Add a row; returns how many values it added to what the group holds.
    pub fn push(&mut self, spec: &ConcatSpec, row: ConcatRow<'_>) -> usize {
        if self.max_len.is_none() {
            self.max_len = as_u64(row.max_len);
        }
        let mut text = Vec::new();
        for (cell, v) in &row.args {
            let Some(c) = cell else { return 0 };
            text.extend_from_slice(c);
            if spec.exact {
                self.collation.get_or_insert(crate::eval::DEFAULT_COLLATION);
            } else if let Val::Str(_, coll) = v {
                self.binary |= *coll == crate::eval::BINARY;
                self.collation.get_or_insert(*coll);
            } else if !matches!(v, Val::Temporal(..)) {
                // Numbers are text in the connection's character set.
                self.collation.get_or_insert(crate::eval::DEFAULT_COLLATION);
            }
        }
        let times = if spec.distinct {
            let mut key = Vec::new();
            for (_, v) in &row.args {
                v.group_key(&mut key);
                key.push(0xff);
            }
            if !self.seen.insert(key) {
                return 0;
            }
            1
        } else {
            as_u64(row.times).unwrap_or(1).max(1)
        };
        let sort = if spec.order.is_empty() && spec.distinct {
            row.args.into_iter().map(|(_, v)| v).collect()
        } else {
            row.order
        };
        self.items.push(Item { text, sort, times });
        1
    }

    /// Values held (for the proxy's memory bound).
    pub fn held(&self) -> usize {
        self.items.len()
    }

    /// The group's GROUP_CONCAT: NULL when no row had all its arguments non-NULL.
    pub fn finish(mut self, spec: &ConcatSpec) -> Result<Val, SqlError> {
        if self.items.is_empty() {
            return Ok(Val::Null);
        }
        let desc: Vec<bool> = if spec.order.is_empty() {
            vec![false; self.items.first().map_or(0, |i| i.sort.len())]
        } else {
            spec.order.iter().map(|(_, d)| *d).collect()
        };
        if spec.distinct || !spec.order.is_empty() {
            self.items
                .sort_by(|a, b| super::group::compare_keys(&a.sort, &b.sort, &desc));
        }
        let max = self
            .max_len
            .map_or(usize::MAX, |m| usize::try_from(m).unwrap_or(usize::MAX));
        let mut out: Vec<u8> = Vec::new();
        let mut first = true;
        'all: for it in &self.items {
            for _ in 0..it.times {
                if !first {
                    out.extend_from_slice(&spec.separator);
                }
                first = false;
                out.extend_from_slice(&it.text);
                if out.len() > max {
                    break 'all;
                }
            }
        }
        if out.len() > max {
            let mut cut = max;
            if !self.binary {
                while cut > 0 && !is_char_start(out.get(cut).copied()) {
                    cut -= 1;
                }
            }
            out.truncate(cut);
        }
        let coll = if self.binary {
            crate::eval::BINARY
        } else {
            self.collation.unwrap_or(crate::eval::DEFAULT_COLLATION)
        };
        Ok(Val::Str(Bytes::from(out), coll))
    }
}

/// A count or length partial as an integer.
fn as_u64(v: &Val) -> Option<u64> {
    match v {
        Val::Int(i) => u64::try_from(*i).ok(),
        Val::UInt(u) => Some(*u),
        Val::Dec(_) | Val::Double(_) | Val::Str(..) => {
            v.to_f64().filter(|f| *f >= 0.0).map(|f| f as u64)
        }
        _ => None,
    }
}

/// Whether a byte starts a UTF-8 character (or is past the end).
fn is_char_start(b: Option<u8>) -> bool {
    b.is_none_or(|b| (b & 0xC0) != 0x80)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(order: Vec<bool>, distinct: bool, sep: &str) -> ConcatSpec {
        let order = order.into_iter().map(|d| (1, d)).collect();
        ConcatSpec {
            args: vec![0],
            order,
            distinct,
            exact: false,
            separator: sep.as_bytes().to_vec(),
            count: 0,
            max_len: 1,
        }
    }

    fn s(x: &str) -> Val {
        Val::Str(Bytes::copy_from_slice(x.as_bytes()), 45)
    }

    /// (spec, rows as (value, order value, times), max_len, result).
    #[test]
    fn orders_deduplicates_repeats_and_truncates() {
        type Rows<'a> = &'a [(Option<&'a str>, i64, u64)];
        let cases: &[(ConcatSpec, Rows, u64, Option<&str>)] = &[
            (
                spec(vec![], false, ","),
                &[(Some("b"), 0, 2), (Some("a"), 0, 1)],
                1024,
                Some("b,b,a"),
            ),
            (
                spec(vec![false], false, "|"),
                &[(Some("b"), 2, 1), (Some("a"), 1, 2)],
                1024,
                Some("a|a|b"),
            ),
            (
                spec(vec![true], false, ""),
                &[(Some("b"), 2, 1), (Some("a"), 1, 1)],
                1024,
                Some("ba"),
            ),
            // DISTINCT: once each, sorted by the value (collation: 'B' = 'b').
            (
                spec(vec![], true, ","),
                &[
                    (Some("c"), 0, 3),
                    (Some("B"), 0, 1),
                    (Some("b"), 0, 1),
                    (Some("a"), 0, 1),
                ],
                1024,
                Some("a,B,c"),
            ),
            // NULL values are skipped; all NULL is NULL.
            (
                spec(vec![], false, ","),
                &[(None, 0, 4), (Some("x"), 0, 1)],
                1024,
                Some("x"),
            ),
            (spec(vec![], false, ","), &[(None, 0, 4)], 1024, None),
            // Cut at group_concat_max_len bytes, on a character boundary.
            (
                spec(vec![], false, ","),
                &[(Some("abc"), 0, 3)],
                5,
                Some("abc,a"),
            ),
            (
                spec(vec![], false, ","),
                &[(Some("é"), 0, 3)],
                4,
                Some("é,"),
            ),
            (
                spec(vec![], false, ","),
                &[(Some("é"), 0, 3)],
                3,
                Some("é,"),
            ),
            (spec(vec![], false, ","), &[(Some("é"), 0, 3)], 2, Some("é")),
            (spec(vec![], false, ","), &[(Some("é"), 0, 1)], 1, Some("")),
        ];
        for (spec, rows, max, want) in cases {
            let mut acc = ConcatAcc::default();
            let max = Val::UInt(*max);
            for (v, o, n) in rows.iter() {
                let times = Val::UInt(*n);
                acc.push(
                    spec,
                    ConcatRow {
                        args: vec![(v.map(str::as_bytes), v.map_or(Val::Null, s))],
                        order: vec![Val::Int(*o)],
                        times: &times,
                        max_len: &max,
                    },
                );
            }
            let got = match acc.finish(spec).unwrap() {
                Val::Str(b, _) => Some(String::from_utf8(b.to_vec()).unwrap()),
                Val::Null => None,
                other => panic!("{other:?}"),
            };
            assert_eq!(got.as_deref(), *want, "{rows:?} max {max:?}");
        }
    }
}
