//! Random joins (`gen/joins.rs`) through the proxy and on the oracle; results must match.
//! `SHARDGATE_FUZZ_JOINS` = how many (default 300); seed, start and verbosity as for the
//! single-table fuzzer. Column key flags and the other bits MariaDB changes when a plan goes
//! through a temporary table are tolerated (the proxy's shards plan joins over other table
//! sizes than one server does) and counted as quirks.

use super::compare::{judge, show_outcome, Meta, Verdict};
use super::{env_flag, env_u64, gen, Proto, Sides, DEFAULT_SEED};
use crate::diff;
use mysql_async::Conn;
use std::collections::BTreeMap;

fn origin_free(o: diff::Outcome, derived: &[String]) -> diff::Outcome {
    o.map(|mut a| {
        for c in &mut a.columns {
            if derived.contains(&c.table) {
                c.schema.clear();
                c.org_table.clear();
                // Materialised, an outer join's inner derived table keeps NOT NULL where
                // MariaDB turned the outer join into an inner one; merged, it may not.
                c.flags &= !0x1;
            }
        }
        a
    })
}

fn without_not_null(o: &diff::Outcome) -> diff::Outcome {
    o.clone().map(|mut a| {
        for c in &mut a.columns {
            c.flags &= !0x1;
        }
        a
    })
}

/// Join statements get their own stream of the seed.
const SALT: u64 = 0x6A01_4E5F;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn random_joins_match_oracle() {
    let seed = env_u64("SHARDGATE_FUZZ_SEED", DEFAULT_SEED);
    let count = env_u64("SHARDGATE_FUZZ_JOINS", 300);
    let start = env_u64("SHARDGATE_FUZZ_START", 0);
    let verbose = env_flag("SHARDGATE_FUZZ_VERBOSE");
    let ep = crate::harness::shared();
    let (mut p, mut o) = diff::connect(&ep).await;
    let keys = gen::Keys::load(&mut o).await;
    let began = std::time::Instant::now();
    let (mut matched, mut quirks, mut both_failed) = (0u64, 0u64, 0u64);
    let mut unsupported: BTreeMap<String, (u64, String)> = BTreeMap::new();
    let mut shapes: BTreeMap<&'static str, u64> = BTreeMap::new();
    let mut reports = Vec::new();
    for i in start..start + count {
        let mut g = gen::Gen::new(seed ^ SALT, i, &keys, false);
        let q = if i % 8 == 7 {
            g.set_operation()
        } else {
            g.join_query()
        };
        for s in &q.shapes {
            *shapes.entry(s).or_insert(0) += 1;
        }
        let mut protos = vec![Proto::Text];
        if i % 3 == 0 {
            protos.push(Proto::Prepared { params: false });
        }
        for proto in protos {
            let pr = Sides::exec(&mut p, &q.sql, &[], proto).await;
            let or = Sides::exec(&mut o, &q.sql, &[], proto).await;
            if matches!(pr, Err((0, _))) {
                p = Conn::from_url(ep.proxy_url())
                    .await
                    .expect("reconnect proxy");
            }
            if matches!(or, Err((0, _))) {
                o = Conn::from_url(ep.oracle_url())
                    .await
                    .expect("reconnect oracle");
            }
            // A derived table's columns come from its table when MariaDB merges it, from
            // the derived table when it materialises it (a plan choice): compare neither
            // (nor their NOT NULL flag, which follows the same choice).
            let (pr, or) = (origin_free(pr, &q.derived), origin_free(or, &q.derived));
            let mut v = judge(&pr, &or, &q.order, Meta::TempTableQuirks);
            if matches!(&v, Verdict::Mismatch(k, _) if k == "column flags")
                && q.outer
                && matches!(
                    judge(
                        &without_not_null(&pr),
                        &without_not_null(&or),
                        &q.order,
                        Meta::TempTableQuirks,
                    ),
                    Verdict::Match | Verdict::Quirk(_)
                )
            {
                // MariaDB shows an outer join's inner columns with or without their table's
                // NOT NULL depending on its plan (an outer join simplified to an inner one,
                // a WHERE found impossible after reading const tables); the shards plan over
                // other data.
                v = Verdict::Quirk("NOT NULL of an outer join's column".into());
            }
            if verbose {
                println!("[join {i} {proto}] {}\n    -> {v:?}", q.sql);
            }
            match v {
                Verdict::Match => matched += 1,
                Verdict::Quirk(_) => quirks += 1,
                Verdict::BothFailed(..) => both_failed += 1,
                Verdict::Unsupported(m) => {
                    unsupported.entry(m).or_insert((0, q.sql.clone())).0 += 1;
                }
                Verdict::Mismatch(kind, detail) => {
                    let r = format!(
                        "JOIN MISMATCH: {kind} ({detail})\n  replay: SHARDGATE_FUZZ_SEED={seed:#x} \
                         SHARDGATE_FUZZ_START={i} SHARDGATE_FUZZ_JOINS=1\n  protocol: {proto}\n  \
                         statement: {}\n  proxy:  {}\n  oracle: {}",
                        q.sql,
                        show_outcome(&pr),
                        show_outcome(&or)
                    );
                    println!("{r}\n");
                    reports.push(r);
                }
            }
        }
    }
    println!(
        "fuzz joins: seed={seed:#x} start={start} statements={count} matched={matched} \
         (metadata quirks: {quirks}, both failed: {both_failed}) unsupported(1235)={} \
         mismatches={} [{:.1} s]",
        unsupported.values().map(|v| v.0).sum::<u64>(),
        reports.len(),
        began.elapsed().as_secs_f64()
    );
    println!(
        "fuzz joins: shapes: {}",
        shapes
            .iter()
            .map(|(k, n)| format!("{k} {n}"))
            .collect::<Vec<_>>()
            .join(", ")
    );
    for (m, (n, sql)) in &unsupported {
        println!("  {n:>5} x {m}\n          e.g. {sql}");
    }
    assert!(
        reports.is_empty(),
        "{} join executions differ:\n\n{}",
        reports.len(),
        reports[..reports.len().min(6)].join("\n\n")
    );
}
