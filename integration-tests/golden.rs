//! Golden plans: `EXPLAIN SHARDING` of every text case of the differential suites (queries,
//! aggregates, joins and derived tables, subqueries, unions, co-located subqueries) against
//! the example rules, pinned in `integration-tests/golden/plans.txt`: every step, every
//! node's data source and SQL. A change of plan shows as a diff of that file.
//!
//! `GOLDEN_UPDATE=1 cargo test --test integration golden` rewrites the file; review the diff
//! before committing it. A mismatch writes what the proxy printed to
//! `target/golden/plans.actual.txt`.

use crate::diff::{connect, Case};
use crate::harness::shared;
use mysql_async::prelude::Queryable;
use mysql_async::Value;

const GOLDEN: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/integration-tests/golden/plans.txt"
);

fn suites() -> Vec<(&'static str, Vec<Case>)> {
    vec![
        ("queries", crate::queries::cases()),
        ("aggregates", crate::aggregates::cases()),
        ("joins", crate::joins::cases()),
        ("derived tables", crate::joins::derived()),
        ("subqueries", crate::subqueries::cases()),
        ("unions", crate::subqueries::unions()),
        ("co-located subqueries", crate::subqueries::colocated()),
    ]
}

fn cell(v: &Value) -> String {
    match v {
        Value::NULL => "NULL".into(),
        Value::Bytes(b) => String::from_utf8_lossy(b).replace('\n', "\\n"),
        other => other.as_sql(false),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn plans_match_the_golden_file() {
    let ep = shared();
    let (mut proxy, _) = connect(&ep).await;
    let mut out = String::from(
        "# EXPLAIN SHARDING of the differential suites' text cases (integration-tests/golden.rs).\n\
         # Each plan row: step | data source | SQL. Regenerate: GOLDEN_UPDATE=1.\n",
    );
    for (suite, cases) in suites() {
        out.push_str(&format!("\n## {suite}\n"));
        for case in cases.iter().filter(|c| c.params.is_empty()) {
            out.push_str(&format!("\n> {}\n", case.sql));
            let rows: Result<Vec<mysql_async::Row>, _> =
                proxy.query(format!("EXPLAIN SHARDING {}", case.sql)).await;
            match rows {
                Ok(rows) => {
                    for r in rows {
                        let cells: Vec<String> = r.unwrap().iter().map(cell).collect();
                        out.push_str(&cells.join(" | "));
                        out.push('\n');
                    }
                }
                Err(e) => out.push_str(&format!("error: {e}\n")),
            }
        }
    }
    if std::env::var_os("GOLDEN_UPDATE").is_some() {
        std::fs::write(GOLDEN, &out).expect("write the golden file");
        return;
    }
    let want = std::fs::read_to_string(GOLDEN).unwrap_or_default();
    if want != out {
        let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/target/golden");
        std::fs::create_dir_all(dir).expect("dir");
        let actual = format!("{dir}/plans.actual.txt");
        std::fs::write(&actual, &out).expect("write");
        let first = want
            .lines()
            .zip(out.lines())
            .position(|(a, b)| a != b)
            .unwrap_or(want.lines().count().min(out.lines().count()));
        panic!(
            "plans differ from {GOLDEN} at line {}:\n  golden: {:?}\n  now:    {:?}\n\
             (all of it in {actual}; GOLDEN_UPDATE=1 rewrites the golden file)",
            first + 1,
            want.lines().nth(first),
            out.lines().nth(first)
        );
    }
}
