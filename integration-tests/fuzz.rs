//! Random differential fuzzer (issue 3): seeded single-table SELECTs run through the proxy
//! and on the unsharded oracle; results must match.
//!
//! Environment:
//! - `SHARDGATE_FUZZ_SEED`  (decimal or 0x-hex; default fixed) and `SHARDGATE_FUZZ_COUNT`
//!   (default 2000) for long runs; `SHARDGATE_FUZZ_START` = first query index (to replay
//!   one query: `SHARDGATE_FUZZ_START=i SHARDGATE_FUZZ_COUNT=1`).
//! - `SHARDGATE_FUZZ_KNOWN_BUGS=1` also generates the shapes listed in `known_bug`.
//! - `SHARDGATE_FUZZ_VERBOSE=1` prints every statement with its verdict.
//! - `SHARDGATE_FUZZ_SHRINKS` = how many failures to shrink (default 40).
//!
//! Comparison: same column count and metadata (`diff::Col`), same rows — in order as far as
//! the ORDER BY fixes it, as multisets beyond — with string cells compared under
//! utf8mb4_general_ci (MariaDB may show any spelling of a collation-equal group, DISTINCT
//! or MIN/MAX value). Both sides failing with the same code is a match; the proxy answering
//! 1235 is counted as "unsupported" and listed, never a failure. Every third statement also
//! runs as a prepared statement (alternately with WHERE/HAVING/LIMIT literals as `?`).
//!
//! Known proxy bugs stay visible without turning the suite red: the shapes in `known_bug`
//! are not generated (each reason is counted in the output), and for grouped / DISTINCT
//! statements the column flags and string `decimals` that MariaDB changes when it goes
//! through a temporary table are tolerated (`compare::Meta::TempTableQuirks`, counted as
//! "metadata quirks"); so are they, and the `org_name` of expression columns, for statements
//! with an `IN (SELECT ...)`, whose semi-join plan MariaDB shows in the metadata while the
//! proxy runs the statement with the subquery's values substituted
//! (`compare::Meta::SemiJoinQuirks`). `SHARDGATE_FUZZ_KNOWN_BUGS=1` turns all of it off.
//!
//! Subqueries: about 15% of WHERE conditions are uncorrelated subquery predicates over the
//! example tables (`fuzz/gen/subquery.rs`): `[NOT] IN`, `(a, b) [NOT] IN`, comparisons with
//! a scalar `(SELECT agg ...)` (also in HAVING), `[NOT] EXISTS`; rarely nested, and rarely
//! correlated (over a sharded table the proxy answers 1235, counted as unsupported).
//!
//! Layout: `fuzz/ast.rs` (syntax tree, determinism rules, how much order the statement
//! fixes), `fuzz/ast/render.rs` (SQL text and parameters), `fuzz/gen/` (generator), `fuzz/compare.rs` (verdicts),
//! `fuzz/shrink.rs` (smaller variants of a failing statement).

mod ast;
mod compare;
mod gen;
mod joins;
mod shrink;

use crate::diff::{self, Outcome};
use ast::Query;
use compare::{judge, show_outcome, Meta, Verdict};
use mysql_async::prelude::Queryable;
use mysql_async::{Conn, Value};
use std::collections::BTreeMap;
use std::time::{Duration, Instant};

const DEFAULT_SEED: u64 = 0x5EED_2026;
const DEFAULT_COUNT: u64 = 2000;

/// Shapes on which the proxy is known to answer wrongly, kept out of the default run (so the
/// suite stays green) and generated with `SHARDGATE_FUZZ_KNOWN_BUGS=1`. Each entry names
/// the bug; delete it once fixed.
pub fn known_bug(q: &Query) -> Option<&'static str> {
    // Fixed and removed: IS NULL / `)` at the end of a grouped WHERE, unary minus, FLOOR and
    // SUBSTRING pushed down without their name, t_order.col in column names, AVG rounded
    // inside expressions, decimal-spelled IN lists, ORDER BY a select alias after `*`.
    // Also fixed: AVG rounded as if re-sorted when ORDER BY lists the group keys with
    // mixed ASC/DESC.
    let _ = q;
    None
}

#[derive(Clone, Copy, Debug, PartialEq)]
enum Proto {
    Text,
    Prepared { params: bool },
}

impl std::fmt::Display for Proto {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Proto::Text => write!(f, "text"),
            Proto::Prepared { params: true } => write!(f, "prepared, literals as ?"),
            Proto::Prepared { params: false } => write!(f, "prepared, no parameters"),
        }
    }
}

fn env_u64(name: &str, default: u64) -> u64 {
    match std::env::var(name) {
        Ok(v) => {
            let v = v.trim();
            let parsed = match v.strip_prefix("0x").or_else(|| v.strip_prefix("0X")) {
                Some(h) => u64::from_str_radix(h, 16),
                None => v.parse(),
            };
            parsed.unwrap_or_else(|_| panic!("{name}={v}: not a number"))
        }
        Err(_) => default,
    }
}

fn env_flag(name: &str) -> bool {
    std::env::var(name).is_ok_and(|v| !v.is_empty() && v != "0")
}

struct Sides {
    ep: crate::harness::Endpoints,
    known_bugs: bool,
    p: Conn,
    o: Conn,
}

impl Sides {
    async fn exec(conn: &mut Conn, sql: &str, params: &[Value], proto: Proto) -> Outcome {
        let fut = async {
            match proto {
                Proto::Text => diff::text(conn, sql).await,
                Proto::Prepared { .. } => diff::binary(conn, sql, params.to_vec()).await,
            }
        };
        match tokio::time::timeout(Duration::from_secs(30), fut).await {
            Ok(r) => r,
            Err(_) => Err((0, "timed out after 30 s".into())),
        }
    }

    /// Both outcomes; a broken connection (client-side error) is replaced afterwards.
    async fn run(&mut self, q: &Query, proto: Proto) -> Run {
        let parametrize = matches!(proto, Proto::Prepared { params: true });
        let (sql, params) = q.render(parametrize);
        let proxy = Self::exec(&mut self.p, &sql, &params, proto).await;
        let oracle = Self::exec(&mut self.o, &sql, &params, proto).await;
        if matches!(proxy, Err((0, _))) {
            self.p = Conn::from_url(self.ep.proxy_url())
                .await
                .expect("reconnect proxy");
        }
        if matches!(oracle, Err((0, _))) {
            self.o = Conn::from_url(self.ep.oracle_url())
                .await
                .expect("reconnect oracle");
        }
        let meta = if self.known_bugs {
            Meta::Strict
        } else if q.where_.iter().any(has_in_sub) {
            Meta::SemiJoinQuirks
        } else if q.is_aggregate() || q.distinct {
            Meta::TempTableQuirks
        } else {
            Meta::Strict
        };
        let verdict = judge(&proxy, &oracle, &q.order(), meta);
        Run {
            verdict,
            meta,
            proxy,
            oracle,
            sql,
            params,
        }
    }

    /// Greedily drop clauses while the query stays valid and fails the same way.
    async fn shrink(&mut self, q: &Query, proto: Proto, kind: &str) -> Query {
        let mut best = q.clone();
        let mut budget = 400;
        'outer: loop {
            for c in shrink::candidates(&best) {
                if c.validate().is_err() {
                    continue;
                }
                if budget == 0 {
                    break 'outer;
                }
                budget -= 1;
                if let Verdict::Mismatch(k, _) = self.run(&c, proto).await.verdict {
                    if k == kind {
                        best = c;
                        continue 'outer;
                    }
                }
            }
            break;
        }
        best
    }
}

struct Run {
    verdict: Verdict,
    meta: Meta,
    proxy: Outcome,
    oracle: Outcome,
    sql: String,
    params: Vec<Value>,
}

#[derive(Default)]
struct Stats {
    queries: u64,
    executions: u64,
    matched: u64,
    /// Matched because both sides failed with the same error.
    both_failed: u64,
    unsupported: u64,
    mismatched: u64,
    /// Matched but for tolerated temporary-table metadata (statement, detail), and how many.
    quirks: u64,
    quirk_examples: Vec<String>,
    /// Of those, matched but for the metadata of a semi-join plan (`Meta::SemiJoinQuirks`).
    semijoin_quirks: u64,
    semijoin_examples: Vec<String>,
    /// Generated queries not run, by reason.
    rejected: BTreeMap<&'static str, u64>,
    /// message -> (count, first statement)
    unsupported_msgs: BTreeMap<String, (u64, String)>,
    /// code -> (count, first statement + message)
    both_failed_codes: BTreeMap<u16, (u64, String)>,
    /// mismatch kind -> count
    kinds: BTreeMap<String, u64>,
    shrunk: u64,
    reports: Vec<String>,
    /// Shape counts of the statements run.
    shapes: BTreeMap<&'static str, u64>,
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn random_selects_match_oracle() {
    let seed = env_u64("SHARDGATE_FUZZ_SEED", DEFAULT_SEED);
    let count = env_u64("SHARDGATE_FUZZ_COUNT", DEFAULT_COUNT);
    let start = env_u64("SHARDGATE_FUZZ_START", 0);
    let known_bugs = env_flag("SHARDGATE_FUZZ_KNOWN_BUGS");
    let verbose = env_flag("SHARDGATE_FUZZ_VERBOSE");
    // Shrink the first `per_kind` failures of each kind, `max_shrinks` in all.
    let max_shrinks = env_u64("SHARDGATE_FUZZ_SHRINKS", 40);
    let per_kind = max_shrinks.div_ceil(10).max(4);
    let ep = crate::harness::shared();
    let (p, mut o) = diff::connect(&ep).await;
    let keys = gen::Keys::load(&mut o).await;
    let mut sides = Sides {
        ep,
        known_bugs,
        p,
        o,
    };
    let mut st = Stats::default();
    let began = Instant::now();

    for i in start..start + count {
        let mut g = gen::Gen::new(seed, i, &keys, known_bugs);
        let q = g.query();
        for (k, n) in g.rejected {
            *st.rejected.entry(k).or_insert(0) += n;
        }
        st.queries += 1;
        for (shape, yes) in [
            ("grouped", !q.group_by.is_empty()),
            (
                "aggregate, no GROUP BY",
                q.group_by.is_empty() && q.is_aggregate(),
            ),
            ("DISTINCT", q.distinct),
            ("plain", !q.is_aggregate() && !q.distinct),
            ("with WHERE", !q.where_.is_empty()),
            ("with HAVING", !q.having.is_empty()),
            ("with ORDER BY", !q.order_by.is_empty()),
            ("with LIMIT", q.limit.is_some()),
        ] {
            if yes {
                *st.shapes.entry(shape).or_insert(0) += 1;
            }
        }
        let mut subs = Vec::new();
        for e in &q.where_ {
            sub_shapes(e, 0, false, &mut subs);
        }
        for e in &q.having {
            sub_shapes(e, 0, true, &mut subs);
        }
        if !subs.is_empty() {
            subs.push("with subquery");
        }
        subs.sort_unstable();
        subs.dedup();
        for shape in subs {
            *st.shapes.entry(shape).or_insert(0) += 1;
        }
        let mut protos = vec![Proto::Text];
        if i % 3 == 0 {
            protos.push(Proto::Prepared { params: i % 6 == 0 });
        }
        let (mut unsupported, mut mismatched, mut failed) = (false, false, false);
        for proto in protos {
            st.executions += 1;
            let r = sides.run(&q, proto).await;
            if verbose {
                println!(
                    "[{i} {proto}] {} {:?}\n    -> {:?}",
                    r.sql, r.params, r.verdict
                );
            }
            match &r.verdict {
                Verdict::Match => {}
                Verdict::Quirk(detail) => {
                    st.quirks += 1;
                    let (n, examples) = if r.meta == Meta::SemiJoinQuirks {
                        st.semijoin_quirks += 1;
                        (3, &mut st.semijoin_examples)
                    } else {
                        (5, &mut st.quirk_examples)
                    };
                    if examples.len() < n {
                        examples.push(format!("{} -- {detail}", r.sql));
                    }
                }
                Verdict::BothFailed(code, msg) => {
                    failed = true;
                    let e = st
                        .both_failed_codes
                        .entry(*code)
                        .or_insert((0, format!("{} -- {msg}", r.sql)));
                    e.0 += 1;
                }
                Verdict::Unsupported(msg) => {
                    unsupported = true;
                    let e = st
                        .unsupported_msgs
                        .entry(msg.clone())
                        .or_insert((0, r.sql.clone()));
                    e.0 += 1;
                }
                Verdict::Mismatch(kind, detail) => {
                    mismatched = true;
                    let n = st.reports.len() + 1;
                    let mut report = format!(
                        "MISMATCH #{n}: {kind} ({detail})\n  seed={seed:#x} index={i} protocol={proto}\n  \
                         replay: SHARDGATE_FUZZ_SEED={seed:#x} SHARDGATE_FUZZ_START={i} SHARDGATE_FUZZ_COUNT=1\n  \
                         statement: {}\n  params:    {:?}\n  proxy:  {}\n  oracle: {}",
                        r.sql,
                        r.params,
                        show_outcome(&r.proxy),
                        show_outcome(&r.oracle)
                    );
                    let seen = st.kinds.entry(kind.clone()).or_insert(0);
                    *seen += 1;
                    // Shrink the first few of each kind of failure.
                    if *seen <= per_kind && st.shrunk < max_shrinks {
                        st.shrunk += 1;
                        let small = sides.shrink(&q, proto, kind).await;
                        if small != q {
                            let m = sides.run(&small, proto).await;
                            let detail = match &m.verdict {
                                Verdict::Mismatch(k, d) => format!("{k} ({d})"),
                                other => format!("{other:?}"),
                            };
                            report.push_str(&format!(
                                "\n  shrunk to: {}\n  params:    {:?}\n  {detail}\n  proxy:  {}\n  oracle: {}",
                                m.sql,
                                m.params,
                                show_outcome(&m.proxy),
                                show_outcome(&m.oracle)
                            ));
                        }
                    }
                    println!("{report}\n");
                    st.reports.push(report);
                }
            }
        }
        if mismatched {
            st.mismatched += 1;
        } else if unsupported {
            st.unsupported += 1;
        } else {
            st.matched += 1;
            if failed {
                st.both_failed += 1;
            }
        }
    }

    println!(
        "fuzz: seed={seed:#x} start={start} queries={} executions={} matched={} (both failed: {}, \
         metadata quirks: {}) unsupported(1235)={} mismatches={} [{:.1} s]",
        st.queries,
        st.executions,
        st.matched,
        st.both_failed,
        st.quirks,
        st.unsupported,
        st.mismatched,
        began.elapsed().as_secs_f64(),
    );
    println!(
        "fuzz: shapes run: {}",
        st.shapes
            .iter()
            .map(|(k, n)| format!("{k} {n}"))
            .collect::<Vec<_>>()
            .join(", ")
    );
    if !st.rejected.is_empty() {
        println!("fuzz: generated statements not run (regenerated instead):");
        for (why, n) in &st.rejected {
            println!("  {n:>5} x {why}");
        }
    }
    if !st.unsupported_msgs.is_empty() {
        let mut msgs: Vec<_> = st.unsupported_msgs.iter().collect();
        msgs.sort_by(|a, b| b.1 .0.cmp(&a.1 .0).then(a.0.cmp(b.0)));
        println!(
            "fuzz: {} distinct unsupported messages (top 20):",
            msgs.len()
        );
        for (msg, (n, sql)) in msgs.iter().take(20) {
            println!("  {n:>5} x {msg}\n          e.g. {sql}");
        }
    }
    if st.quirks > 0 {
        println!(
            "fuzz: {} executions matched only with temporary-table column flags/decimals \
             tolerated (known proxy difference; SHARDGATE_FUZZ_KNOWN_BUGS=1 compares strictly), e.g.:",
            st.quirks
        );
        for e in &st.quirk_examples {
            println!("  {e}");
        }
        if st.semijoin_quirks > 0 {
            println!(
                "fuzz: {} of them have an IN subquery, with the metadata (also org_name of \
                 expression columns) of MariaDB's semi-join plan tolerated, e.g.:",
                st.semijoin_quirks
            );
            for e in &st.semijoin_examples {
                println!("  {e}");
            }
        }
    }
    if !st.kinds.is_empty() {
        println!("fuzz: mismatches by kind:");
        for (k, n) in &st.kinds {
            println!("  {n:>5} x {k}");
        }
    }
    if !st.both_failed_codes.is_empty() {
        println!("fuzz: statements both sides rejected (same error code):");
        for (code, (n, ex)) in &st.both_failed_codes {
            println!("  {n:>5} x {code}: e.g. {ex}");
        }
    }
    assert!(
        st.reports.is_empty(),
        "{} of {} fuzzed statements differ between proxy and oracle (first ones below, all in \
         the output above):\n\n{}",
        st.mismatched,
        st.queries,
        st.reports[..st.reports.len().min(8)].join("\n\n")
    );
}

/// Is there an `[NOT] IN (SELECT ...)` in the statement's own part of this expression?
/// Also `EXISTS (SELECT ...)`, which MariaDB turns into an IN subquery (`exists_to_in`) and
/// then executes as a semi-join the same way.
fn has_in_sub(e: &ast::Expr) -> bool {
    matches!(e, ast::Expr::InSub(..) | ast::Expr::Exists(_, false))
        || e.children().into_iter().any(has_in_sub)
}

/// The kinds of subquery in one WHERE (or HAVING) expression, for the shape counts.
fn sub_shapes(e: &ast::Expr, depth: usize, having: bool, out: &mut Vec<&'static str>) {
    use ast::Expr;
    let sub = match e {
        Expr::InSub(lhs, s, not) => {
            out.push(match (lhs.len() > 1, not) {
                (false, false) => "subquery: IN",
                (false, true) => "subquery: NOT IN",
                (true, false) => "subquery: (a, b) IN",
                (true, true) => "subquery: (a, b) NOT IN",
            });
            Some(s)
        }
        Expr::Exists(s, not) => {
            out.push(if *not {
                "subquery: NOT EXISTS"
            } else {
                "subquery: EXISTS"
            });
            Some(s)
        }
        Expr::Scalar(s) => {
            out.push(if having {
                "subquery: scalar in HAVING"
            } else {
                "subquery: scalar"
            });
            Some(s)
        }
        Expr::Outer(_) => {
            out.push("subquery: correlated");
            None
        }
        _ => None,
    };
    if let Some(s) = sub {
        if depth > 0 {
            out.push("subquery: nested");
        }
        for w in s.where_.iter().chain(&s.having) {
            sub_shapes(w, depth + 1, false, out);
        }
    }
    for c in e.children() {
        sub_shapes(c, depth, having, out);
    }
}

/// The fuzzer's string folding must agree with utf8mb4_general_ci on the data set's strings
/// (otherwise it would hide or invent differences).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fold_matches_collation() {
    let ep = crate::harness::shared();
    let mut o = Conn::from_url(ep.oracle_url()).await.expect("oracle");
    let mut strs: Vec<String> = Vec::new();
    for base in crate::data::NAMES
        .iter()
        .chain(crate::data::STATUSES)
        .chain(crate::data::NOTES)
        .chain(gen::CATEGORIES)
        .chain(gen::REGIONS)
        .chain(&[
            "Straße", "strase", "STRASSE", "Ærø", "aero", "ŁUKASZ", "lukasz", "  x", "x  ",
        ])
    {
        for v in [
            base.to_string(),
            base.to_uppercase(),
            base.to_lowercase(),
            format!("{base} "),
            compare::fold(base).to_lowercase(),
        ] {
            if !strs.contains(&v) {
                strs.push(v);
            }
        }
    }
    let table = strs
        .iter()
        .enumerate()
        .map(|(i, s)| {
            format!(
                "SELECT {i} AS i, _utf8mb4'{}' COLLATE utf8mb4_general_ci AS s",
                s.replace('\'', "''")
            )
        })
        .collect::<Vec<_>>()
        .join(" UNION ALL ");
    let sql =
        format!("SELECT a.i, b.i FROM ({table}) a JOIN ({table}) b ON a.s = b.s AND a.i < b.i");
    let equal: Vec<(usize, usize)> = o.query(sql).await.expect("pairs");
    let mut wrong = Vec::new();
    for i in 0..strs.len() {
        for j in i + 1..strs.len() {
            let server = equal.contains(&(i, j));
            let ours = compare::fold(&strs[i]) == compare::fold(&strs[j]);
            if server != ours {
                wrong.push(format!(
                    "{:?} vs {:?}: server equal={server}, fold equal={ours}",
                    strs[i], strs[j]
                ));
            }
        }
    }
    assert!(
        wrong.is_empty(),
        "fold disagrees with utf8mb4_general_ci:\n{}",
        wrong.join("\n")
    );
}
