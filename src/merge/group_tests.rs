//! Grouping merge without a database: partial aggregates from several "shards".

use super::group::GroupMerge;
use crate::eval::{AggKind, Expr};
use crate::plan::{AggFinal, AggPlan, DistinctKind};
use crate::result::{ColumnDef, Row};
use bytes::Bytes;
use mysql_common::constants::ColumnType;
use std::sync::Arc;

fn row(v: &[Option<&str>]) -> Row {
    v.iter()
        .map(|c| c.map(|s| Bytes::copy_from_slice(s.as_bytes())))
        .collect()
}

fn decimal(name: &str, decimals: u8) -> ColumnDef {
    ColumnDef {
        column_type: ColumnType::MYSQL_TYPE_NEWDECIMAL,
        decimals,
        ..ColumnDef::bigint(name)
    }
}

fn plan(keys: usize, partials: Vec<AggKind>, aggs: Vec<AggFinal>, outputs: Vec<Expr>) -> AggPlan {
    AggPlan {
        div_incr: 4,
        keys,
        distinct_args: 0,
        partials,
        aggs,
        outputs,
        having: None,
        order: Vec::new(),
        key_order: (0..keys).map(|k| (k, false)).collect(),
        scalar: keys == 0,
        distinct_outputs: false,
        resorted: false,
        offset: 0,
        limit: None,
        rep: None,
        key_collations: Vec::new(),
        shard_metadata: false,
    }
}

fn run(
    p: AggPlan,
    input: Vec<ColumnDef>,
    output: Vec<ColumnDef>,
    rows: &[Row],
    max: usize,
) -> Result<Vec<Row>, u16> {
    let mut g = GroupMerge::new(Arc::new(p), input, output, max);
    let mut out = Vec::new();
    for r in rows {
        g.push(r, &mut out).map_err(|e| e.code)?;
    }
    g.finish(&mut out).map_err(|e| e.code)?;
    Ok(out)
}

#[test]
fn groups_merge_by_collation_and_sum_partials() {
    // SELECT status, COUNT(*), AVG(amount) ... GROUP BY status; shard rows sorted by status.
    let p = plan(
        1,
        vec![AggKind::Count, AggKind::Sum, AggKind::Count],
        vec![AggFinal::Partial(0), AggFinal::Avg { sum: 1, count: 2 }],
        vec![Expr::Col(0), Expr::Col(4), Expr::Col(5)],
    );
    let input = vec![
        ColumnDef::text("k"),
        ColumnDef::bigint("c"),
        decimal("s", 2),
        ColumnDef::bigint("n"),
    ];
    let output = vec![
        ColumnDef::text("status"),
        ColumnDef::bigint("COUNT(*)"),
        decimal("AVG(amount)", 6),
    ];
    let rows = vec![
        row(&[Some("NEW"), Some("2"), Some("3.00"), Some("2")]),
        row(&[Some("PAID"), Some("1"), Some("1.00"), Some("1")]),
        row(&[Some("paid "), Some("2"), Some("2.50"), Some("2")]),
    ];
    let got = run(p, input, output, &rows, 100).unwrap();
    assert_eq!(
        got,
        vec![
            row(&[Some("NEW"), Some("2"), Some("1.500000")]),
            // 'PAID' = 'paid ' under utf8mb4_general_ci (PAD SPACE): one group.
            row(&[Some("PAID"), Some("3"), Some("1.166667")]),
        ]
    );
}

#[test]
fn scalar_aggregates_over_no_rows() {
    let p = plan(
        0,
        vec![AggKind::Count, AggKind::Sum],
        vec![AggFinal::Partial(0), AggFinal::Partial(1)],
        vec![Expr::Col(2), Expr::Col(3)],
    );
    let input = vec![ColumnDef::bigint("c"), decimal("s", 2)];
    let output = vec![ColumnDef::bigint("COUNT(*)"), decimal("SUM(x)", 2)];
    // Each shard answers one row of partials over its (empty) data.
    let rows = vec![row(&[Some("0"), None]), row(&[Some("0"), None])];
    let got = run(p, input, output, &rows, 100).unwrap();
    assert_eq!(got, vec![row(&[Some("0"), None])]);
}

#[test]
fn distinct_counts_dedupe_across_shards() {
    // SELECT COUNT(DISTINCT x): shards group by x; the same x from two shards counts once.
    let mut p = plan(
        0,
        vec![],
        vec![AggFinal::Distinct {
            args: vec![0],
            kind: DistinctKind::Count,
        }],
        vec![Expr::Col(1)],
    );
    p.distinct_args = 1;
    let input = vec![ColumnDef::text("x")];
    let output = vec![ColumnDef::bigint("COUNT(DISTINCT x)")];
    let rows = vec![
        row(&[Some("a")]),
        row(&[Some("A")]),
        row(&[Some("b")]),
        row(&[None]),
    ];
    let got = run(p, input, output, &rows, 100).unwrap();
    assert_eq!(got, vec![row(&[Some("2")])]);
}

#[test]
fn final_sort_is_bounded_by_max_rows() {
    let mut p = plan(
        1,
        vec![AggKind::Count],
        vec![AggFinal::Partial(0)],
        vec![Expr::Col(0), Expr::Col(2)],
    );
    p.order = vec![(Expr::Col(2), true)];
    let input = vec![ColumnDef::bigint("k"), ColumnDef::bigint("c")];
    let output = vec![ColumnDef::bigint("k"), ColumnDef::bigint("n")];
    let rows: Vec<Row> = (0..10)
        .map(|i| row(&[Some(&i.to_string()), Some("1")]))
        .collect();
    assert_eq!(
        run(p.clone(), input.clone(), output.clone(), &rows, 5),
        Err(1038)
    );
    let got = run(p, input, output, &rows[..3], 5).unwrap();
    assert_eq!(got.len(), 3);
}
