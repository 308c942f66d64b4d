//! Grouping merge (pure): shard rows sorted by the group keys come in, finished rows go out.
//! Partial aggregates are combined per group, the select list and HAVING are evaluated with
//! MySQL semantics, and ORDER BY / DISTINCT / LIMIT applied after grouping. Memory: one group
//! at a time while streaming; a final sort or DISTINCT holds one row per output row, bounded
//! by `max_rows`.

use super::concat::{ConcatAcc, ConcatRow};
use super::LimitState;
use crate::error::SqlError;
use crate::eval::{self, Acc, Val};
use crate::plan::{AggFinal, AggPlan, DistinctKind};
use crate::result::{ColumnDef, Row};
use bytes::Bytes;
use std::cmp::Ordering;
use std::collections::HashSet;
use std::sync::Arc;

/// One group being accumulated.
struct Group {
    key: Vec<u8>,
    /// The first row's key cells (the representative values shown for the group).
    key_cells: Vec<Option<Bytes>>,
    key_vals: Vec<Val>,
    /// MIN(primary key) of the shard row the representative values come from.
    rep: Val,
    partials: Vec<Acc>,
    /// Per distinct aggregate: seen argument tuples, running sum, count.
    distinct: Vec<(HashSet<Vec<u8>>, Acc, i64)>,
    /// Per GROUP_CONCAT, in aggregate order.
    concat: Vec<ConcatAcc>,
}

pub struct GroupMerge {
    plan: Arc<AggPlan>,
    input: Vec<ColumnDef>,
    output: Vec<ColumnDef>,
    current: Option<Group>,
    /// Groups seen at all (a scalar aggregate answers one row even over no rows).
    any_group: bool,
    limit: LimitState,
    /// Rows awaiting the final sort: sort values, then the row.
    sorted: Vec<(Vec<Val>, Row)>,
    seen_outputs: HashSet<Vec<u8>>,
    held: usize,
    max_rows: usize,
}

fn mem_error(max: usize) -> SqlError {
    SqlError::new(
        1038,
        "HY001",
        format!(
            "Out of sort memory: more than {max} rows held in the proxy for a cross-shard GROUP BY/ORDER BY/DISTINCT (raise [server] max_memory_rows)"
        ),
    )
}

impl GroupMerge {
    /// `input`: the shard columns; `output`: the client's column definitions.
    pub fn new(
        plan: Arc<AggPlan>,
        input: Vec<ColumnDef>,
        output: Vec<ColumnDef>,
        max_rows: usize,
    ) -> GroupMerge {
        let limit = LimitState::new(plan.offset, plan.limit);
        GroupMerge {
            plan,
            input,
            output,
            current: None,
            any_group: false,
            limit,
            sorted: Vec::new(),
            seen_outputs: HashSet::new(),
            held: 0,
            max_rows,
        }
    }

    /// Streaming output is complete (LIMIT reached): the caller may stop reading.
    pub fn done(&self) -> bool {
        self.plan.order.is_empty() && self.limit.done()
    }

    fn val(&self, row: &Row, i: usize) -> Val {
        match self.input.get(i) {
            Some(c) => Val::from_cell(c, row.get(i).and_then(|x| x.as_deref())),
            None => Val::Null,
        }
    }

    fn new_group(&self, key: Vec<u8>, row: &Row) -> Group {
        let p = &self.plan;
        Group {
            key,
            key_cells: row[..p.keys.min(row.len())].to_vec(),
            key_vals: (0..p.keys).map(|i| self.val(row, i)).collect(),
            rep: match p.rep {
                Some(r) => self.val(row, p.first_partial() + r),
                None => Val::Null,
            },
            partials: p.partials.iter().map(|k| Acc::new(*k)).collect(),
            distinct: p
                .aggs
                .iter()
                .filter(|a| matches!(a, AggFinal::Distinct { .. }))
                .map(|_| (HashSet::new(), Acc::new(eval::AggKind::Sum), 0))
                .collect(),
            concat: concat_accs(p),
        }
    }

    /// Feed one shard row (in group-key order). Returns finished rows to send.
    pub fn push(&mut self, row: &Row, out: &mut Vec<Row>) -> Result<(), SqlError> {
        let p = self.plan.clone();
        let mut key = Vec::new();
        for i in 0..p.keys {
            self.val(row, i).group_key(&mut key);
            key.push(0xff);
        }
        let same = self.current.as_ref().is_some_and(|g| g.key == key);
        if same {
            if let Some(r) = p.rep {
                // Show the values of the row that comes first in primary-key order.
                let v = self.val(row, p.first_partial() + r);
                let keys: Vec<Val> = (0..p.keys).map(|i| self.val(row, i)).collect();
                if let Some(g) = self.current.as_mut() {
                    if v.compare(&g.rep) == Some(Ordering::Less) {
                        g.rep = v;
                        g.key_cells = row[..p.keys.min(row.len())].to_vec();
                        g.key_vals = keys;
                    }
                }
            }
        } else {
            if let Some(g) = self.current.take() {
                self.emit(g, out)?;
            }
            self.current = Some(self.new_group(key, row));
            self.any_group = true;
        }
        let first_partial = p.first_partial();
        let mut vals_partial = Vec::with_capacity(p.partials.len());
        for i in 0..p.partials.len() {
            vals_partial.push(self.val(row, first_partial + i));
        }
        let distinct_vals: Vec<Val> = (0..p.distinct_args)
            .map(|d| self.val(row, p.keys + d))
            .collect();
        let held = self.held;
        let max_rows = self.max_rows;
        let Some(g) = self.current.as_mut() else {
            return Ok(());
        };
        for (acc, v) in g.partials.iter_mut().zip(&vals_partial) {
            acc.merge(v).map_err(|e| e.to_sql_error())?;
        }
        let mut d_i = 0;
        let mut added = 0;
        for a in &p.aggs {
            let AggFinal::Distinct { args, .. } = a else {
                continue;
            };
            let (set, sum, count) = &mut g.distinct[d_i];
            d_i += 1;
            let vals: Vec<&Val> = args.iter().filter_map(|&i| distinct_vals.get(i)).collect();
            if vals.iter().any(|v| v.is_null()) {
                continue;
            }
            let mut k = Vec::new();
            for v in &vals {
                v.group_key(&mut k);
                k.push(0xff);
            }
            if set.insert(k) {
                added += 1;
                *count += 1;
                if let Some(v) = vals.first() {
                    if args.len() == 1 {
                        sum.merge(v).map_err(|e| e.to_sql_error())?;
                    }
                }
            }
        }
        let mut c_i = 0;
        for a in &p.aggs {
            let AggFinal::Concat(spec) = a else { continue };
            let Some(acc) = g.concat.get_mut(c_i) else {
                break;
            };
            c_i += 1;
            let cell = |d: usize| row.get(p.keys + d).and_then(|c| c.as_deref());
            let val = |d: usize| distinct_vals.get(d).cloned().unwrap_or(Val::Null);
            let null = Val::Null;
            added += acc.push(
                spec,
                ConcatRow {
                    args: spec.args.iter().map(|&d| (cell(d), val(d))).collect(),
                    order: spec.order.iter().map(|&(d, _)| val(d)).collect(),
                    times: vals_partial.get(spec.count).unwrap_or(&null),
                    max_len: vals_partial.get(spec.max_len).unwrap_or(&null),
                },
            );
        }
        if added > 0 {
            self.held = held + added;
            if self.held > max_rows {
                return Err(mem_error(max_rows));
            }
        }
        Ok(())
    }

    /// All input consumed: flush the last group, the final sort and the scalar row.
    pub fn finish(&mut self, out: &mut Vec<Row>) -> Result<(), SqlError> {
        if let Some(g) = self.current.take() {
            self.emit(g, out)?;
        } else if self.plan.scalar && !self.any_group {
            self.any_group = true;
            let g = Group {
                key: Vec::new(),
                key_cells: Vec::new(),
                key_vals: Vec::new(),
                rep: Val::Null,
                partials: self.plan.partials.iter().map(|k| Acc::new(*k)).collect(),
                distinct: self
                    .plan
                    .aggs
                    .iter()
                    .filter(|a| matches!(a, AggFinal::Distinct { .. }))
                    .map(|_| (HashSet::new(), Acc::new(eval::AggKind::Sum), 0))
                    .collect(),
                concat: concat_accs(&self.plan),
            };
            self.emit(g, out)?;
        }
        if !self.plan.order.is_empty() {
            let mut rows = std::mem::take(&mut self.sorted);
            let desc: Vec<bool> = self.plan.order.iter().map(|(_, d)| *d).collect();
            rows.sort_by(|a, b| compare_keys(&a.0, &b.0, &desc));
            for (_, r) in rows {
                if self.limit.done() {
                    break;
                }
                if self.limit.offer() {
                    out.push(r);
                }
            }
        }
        Ok(())
    }

    fn emit(&mut self, g: Group, out: &mut Vec<Row>) -> Result<(), SqlError> {
        let p = self.plan.clone();
        self.held = self
            .held
            .saturating_sub(g.distinct.iter().map(|d| d.0.len()).sum())
            .saturating_sub(g.concat.iter().map(|c| c.held()).sum());
        let mut concat = g.concat.into_iter();
        let first_agg = p.first_agg();
        let mut row: Vec<Val> = Vec::with_capacity(first_agg + p.aggs.len());
        row.extend(g.key_vals.iter().cloned());
        row.resize(first_agg, Val::Null);
        // Grouping by sorting (DISTINCT aggregates) and then sorting by something else makes
        // one server materialize the grouped rows first.
        let materialize = p.resorted
            && !p.scalar
            && p.aggs
                .iter()
                .any(|a| matches!(a, AggFinal::Distinct { .. }));
        let mut d_i = 0;
        for a in &p.aggs {
            // AVG values and the scale of the sum they come from.
            let (v, sum_scale) = match a {
                AggFinal::Partial(i) | AggFinal::Any(i) => (
                    g.partials.get(*i).map(|a| a.finish()).unwrap_or(Val::Null),
                    None,
                ),
                AggFinal::Avg { sum, count } => {
                    let s = exact(
                        g.partials
                            .get(*sum)
                            .map(|a| a.finish())
                            .unwrap_or(Val::Null),
                    );
                    let c = g
                        .partials
                        .get(*count)
                        .map(|a| a.finish())
                        .unwrap_or(Val::Null);
                    let scale = decimal_scale(&s);
                    (
                        eval::avg_with(&s, &c, self.plan.div_incr).map_err(|e| e.to_sql_error())?,
                        scale,
                    )
                }
                AggFinal::Concat(spec) => (
                    concat
                        .next()
                        .map(|c| c.finish(spec))
                        .transpose()?
                        .unwrap_or(Val::Null),
                    None,
                ),
                AggFinal::Distinct { kind, .. } => {
                    let (_, sum, count) = &g.distinct[d_i];
                    d_i += 1;
                    match kind {
                        DistinctKind::Count => (Val::Int(*count), None),
                        DistinctKind::Sum => (exact(sum.finish()), None),
                        DistinctKind::Avg => {
                            let s = exact(sum.finish());
                            let scale = decimal_scale(&s);
                            let v = eval::avg_with(&s, &Val::Int(*count), self.plan.div_incr)
                                .map_err(|e| e.to_sql_error())?;
                            (v, scale)
                        }
                    }
                }
            };
            row.push(match (materialize, sum_scale, v) {
                (true, Some(scale), Val::Dec(d)) => {
                    Val::Dec(d.round(i64::from(scale) + 4).unwrap_or(d))
                }
                (_, _, v) => v,
            });
        }
        for (j, e) in p.outputs.iter().enumerate() {
            let v = e.eval(&row).map_err(|e| e.to_sql_error())?;
            row[p.keys + j] = v;
        }
        if let Some(h) = &p.having {
            let keep = h.eval(&row).map_err(|e| e.to_sql_error())?.truthy() == Some(true);
            if !keep {
                return Ok(());
            }
        }
        let mut cells: Row = Vec::with_capacity(p.outputs.len());
        for (j, e) in p.outputs.iter().enumerate() {
            let cell = match e {
                // Group keys keep the shard's exact bytes.
                eval::Expr::Col(k) if *k < p.keys => g.key_cells.get(*k).cloned().flatten(),
                _ => match self.output.get(j) {
                    Some(c) => row[p.keys + j].to_cell(c),
                    None => None,
                },
            };
            cells.push(cell);
        }
        if p.distinct_outputs {
            let mut k = Vec::new();
            for j in 0..p.outputs.len() {
                row[p.keys + j].group_key(&mut k);
                k.push(0xff);
            }
            if !self.seen_outputs.insert(k) {
                return Ok(());
            }
            self.held += 1;
        }
        if p.order.is_empty() {
            if self.limit.offer() {
                out.push(cells);
            }
        } else {
            let mut keys = Vec::with_capacity(p.order.len());
            for (e, _) in &p.order {
                keys.push(e.eval(&row).map_err(|e| e.to_sql_error())?);
            }
            self.sorted.push((keys, cells));
            self.held += 1;
        }
        if self.held > self.max_rows {
            return Err(mem_error(self.max_rows));
        }
        Ok(())
    }
}

/// The scale of a DECIMAL sum (AVG's stored scale is this + 4); None for other types.
fn decimal_scale(v: &Val) -> Option<u8> {
    match v {
        Val::Dec(d) => Some(d.scale),
        _ => None,
    }
}

/// Integer sums become exact decimals (SUM/AVG of integers are DECIMAL in MySQL).
fn exact(v: Val) -> Val {
    match v {
        Val::Int(i) => Val::Dec(eval::Decimal {
            mantissa: i as i128,
            scale: 0,
        }),
        Val::UInt(u) => Val::Dec(eval::Decimal {
            mantissa: u as i128,
            scale: 0,
        }),
        other => other,
    }
}

/// ORDER BY comparison with MySQL semantics: NULLs first ascending.
fn concat_accs(p: &AggPlan) -> Vec<ConcatAcc> {
    p.aggs
        .iter()
        .filter(|a| matches!(a, AggFinal::Concat(_)))
        .map(|_| ConcatAcc::default())
        .collect()
}

/// Sort values compared key by key (NULL first, `desc` reversing a key).
pub(super) fn compare_keys(a: &[Val], b: &[Val], desc: &[bool]) -> Ordering {
    for ((x, y), d) in a.iter().zip(b).zip(desc) {
        let o = match (x.is_null(), y.is_null()) {
            (true, true) => Ordering::Equal,
            (true, false) => Ordering::Less,
            (false, true) => Ordering::Greater,
            _ => x.compare(y).unwrap_or(Ordering::Equal),
        };
        let o = if *d { o.reverse() } else { o };
        if o != Ordering::Equal {
            return o;
        }
    }
    Ordering::Equal
}

/// The client's column definitions. Names always come from the metadata query (the original
/// statement with LIMIT 0). When the original groups the way the shard query does (a
/// temporary table per group), group keys and plain COUNT/SUM/MIN/MAX take the shard
/// columns' definitions, which carry that strategy's flags exactly as one server sends them.
pub fn output_columns(plan: &AggPlan, shard: &[ColumnDef], meta: &[ColumnDef]) -> Vec<ColumnDef> {
    meta.iter()
        .enumerate()
        .map(|(j, m)| {
            if !plan.shard_metadata {
                return m.clone();
            }
            let src = match plan.outputs.get(j) {
                Some(eval::Expr::Col(k)) if *k < plan.keys => shard.get(*k),
                Some(eval::Expr::Col(a)) if *a >= plan.first_agg() => {
                    match plan.aggs.get(a - plan.first_agg()) {
                        Some(AggFinal::Partial(i)) => shard.get(plan.first_partial() + i),
                        Some(AggFinal::Distinct {
                            kind: DistinctKind::Count | DistinctKind::Sum,
                            ..
                        }) => {
                            // Temporary-table sums and counts do not carry BINARY_FLAG.
                            let mut c = m.clone();
                            c.flags
                                .remove(mysql_common::constants::ColumnFlags::BINARY_FLAG);
                            return c;
                        }
                        _ => None,
                    }
                }
                _ => None,
            };
            match src {
                Some(s) => {
                    let mut c = ColumnDef {
                        name: m.name.clone(),
                        ..s.clone()
                    };
                    // Through a shard's temporary table the internal alias can show as the
                    // origin; the statement's own column never has it.
                    if c.org_name.starts_with(b"__sg_") {
                        c.org_name = m.org_name.clone();
                    }
                    c
                }
                None => m.clone(),
            }
        })
        .collect()
}
