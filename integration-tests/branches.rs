//! Which data sources a transaction involves, and how it commits (issue 11's TPC-C
//! findings): a read of a broadcast table runs on a data source the transaction already
//! uses, and branches that only read never make a commit two-phase.

use mysql_async::prelude::Queryable;
use mysql_async::Conn;

const RULES: &str = r#"
[data_sources.br_0]
host = "127.0.0.1"
port = {p0}
user = "root"
database = "sg_branches"

[data_sources.br_1]
host = "127.0.0.1"
port = {p1}
user = "root"
database = "sg_branches"

[databases.branches]
default_data_source = "br_0"
broadcast_tables = ["region"]

[[databases.branches.users]]
name = "app"
password = "app"

[databases.branches.algorithms.by_k]
type = "mod"
sharding_count = 2

[databases.branches.tables.kv]
actual_data_nodes = "br_${0..1}.kv"
database_strategy = { column = "k", algorithm = "by_k" }
"#;

/// How many distributed commits ended with `outcome`, from the metrics.
fn commits(shared: &shardgate::server::Shared, outcome: &str) -> u64 {
    let want = format!("shardgate_xa_transactions_total{{outcome=\"{outcome}\"}} ");
    shared
        .metrics
        .render(shared)
        .lines()
        .find_map(|l| l.strip_prefix(&want).and_then(|v| v.trim().parse().ok()))
        .unwrap_or(0)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn broadcast_reads_and_read_only_branches_keep_commits_one_phase() {
    let ep = crate::harness::shared();
    let setup = vec![
        "CREATE TABLE sg_branches.kv (k INT PRIMARY KEY, v INT)".to_string(),
        "CREATE TABLE sg_branches.region (id INT PRIMARY KEY, name VARCHAR(20))".to_string(),
    ];
    let (addr, _stop, shared) =
        crate::harness::proxy_with_rules(RULES, &["sg_branches"], &setup, |c| {
            c.server.lock_wait_timeout = Some(3);
        })
        .await;
    // The copies differ on purpose (written past the proxy), so a read shows which one ran.
    for i in 0..2 {
        let mut s = Conn::from_url(ep.shard_url(i)).await.unwrap();
        s.query_drop(format!(
            "INSERT INTO sg_branches.region VALUES (1, 'copy {i}')"
        ))
        .await
        .unwrap();
        s.disconnect().await.ok();
    }
    let mut c = Conn::from_url(format!("mysql://app:app@{addr}/branches"))
        .await
        .unwrap();
    c.query_drop("INSERT INTO kv VALUES (1, 0), (2, 0)")
        .await
        .unwrap();
    let before = (
        commits(&shared, "one_phase_committed"),
        commits(&shared, "two_phase_committed"),
    );
    let counted = |shared: &shardgate::server::Shared| {
        (
            commits(shared, "one_phase_committed") - before.0,
            commits(shared, "two_phase_committed") - before.1,
        )
    };
    // Outside a transaction: the first copy.
    assert_eq!(region(&mut c).await, "copy 0");
    // A transaction on br_1 (k = 1) reads the copy there, and EXPLAIN says so.
    c.query_drop("BEGIN").await.unwrap();
    c.query_drop("UPDATE kv SET v = v + 1 WHERE k = 1")
        .await
        .unwrap();
    assert_eq!(region(&mut c).await, "copy 1");
    let plan: Vec<(String, String, String)> = c
        .query("EXPLAIN SHARDING SELECT name FROM region WHERE id = 1")
        .await
        .unwrap();
    assert_eq!(
        (plan[0].0.as_str(), plan[0].1.as_str()),
        ("Reference", "br_1")
    );
    c.query_drop("COMMIT").await.unwrap();
    assert_eq!(counted(&shared), (1, 0));

    // (statements, one-phase commits, two-phase commits) after each transaction.
    let cases: &[(&[&str], (u64, u64))] = &[
        // A read on one branch, a write on the other.
        (
            &[
                "SELECT v FROM kv WHERE k = 2",
                "UPDATE kv SET v = v + 1 WHERE k = 1",
            ],
            (2, 0),
        ),
        // Reads only, on both.
        (&["SELECT SUM(v) FROM kv"], (3, 0)),
        // A locking read is a write to the server (it reports one): two phases.
        (
            &[
                "SELECT v FROM kv WHERE k = 2 FOR UPDATE",
                "UPDATE kv SET v = v + 1 WHERE k = 1",
            ],
            (3, 1),
        ),
        (&["UPDATE kv SET v = v + 1 WHERE k IN (1, 2)"], (3, 2)),
    ];
    for (stmts, want) in cases {
        c.query_drop("BEGIN").await.unwrap();
        for s in *stmts {
            c.query_drop(*s).await.unwrap();
        }
        c.query_drop("COMMIT").await.unwrap();
        assert_eq!(counted(&shared), *want, "{stmts:?}");
    }
    // A rollback after reads on one branch undoes the write on the other.
    c.query_drop("BEGIN").await.unwrap();
    c.query_drop("SELECT v FROM kv WHERE k = 2").await.unwrap();
    c.query_drop("UPDATE kv SET v = 100 WHERE k = 1")
        .await
        .unwrap();
    c.query_drop("ROLLBACK").await.unwrap();
    let rows: Vec<(i32, i32)> = c.query("SELECT k, v FROM kv ORDER BY k").await.unwrap();
    assert_eq!(rows, vec![(1, 4), (2, 1)]);

    // [server] lock_wait_timeout is every connection's default; the client's own wins.
    for (set, want) in [(None, 3u32), (Some("SET innodb_lock_wait_timeout = 7"), 7)] {
        if let Some(s) = set {
            c.query_drop(s).await.unwrap();
        }
        for txn in [false, true] {
            if txn {
                c.query_drop("BEGIN").await.unwrap();
            }
            let got: Option<u32> = c
                .query_first("SELECT @@innodb_lock_wait_timeout FROM kv WHERE k = 1")
                .await
                .unwrap();
            assert_eq!(got, Some(want), "{set:?} in a transaction: {txn}");
            if txn {
                c.query_drop("COMMIT").await.unwrap();
            }
        }
    }
}

async fn region(c: &mut Conn) -> String {
    let n: Option<String> = c
        .query_first("SELECT name FROM region WHERE id = 1")
        .await
        .unwrap();
    n.unwrap_or_default()
}

/// A write over several nodes inside a transaction is one statement: when one node fails,
/// what the others did is undone, and the transaction goes on (as on one server).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failed_statement_over_several_nodes_is_undone_in_its_transaction() {
    let setup = vec![
        "CREATE TABLE sg_branches2.kv (k INT PRIMARY KEY, v INT)".to_string(),
        "CREATE TABLE sg_branches2.region (id INT PRIMARY KEY, name VARCHAR(20))".to_string(),
    ];
    let rules = RULES.replace("\"sg_branches\"", "\"sg_branches2\"");
    let (addr, _stop, _) =
        crate::harness::proxy_with_rules(&rules, &["sg_branches2"], &setup, |_| {}).await;
    let mut c = Conn::from_url(format!("mysql://app:app@{addr}/branches"))
        .await
        .unwrap();
    c.query_drop("INSERT INTO kv VALUES (20, 0)").await.unwrap();
    c.query_drop("BEGIN").await.unwrap();
    c.query_drop("UPDATE kv SET v = 5 WHERE k = 20")
        .await
        .unwrap();
    // k = 21 lands on br_1, k = 20 on br_0 where it exists: 1062, and 21 is not kept.
    let e = c
        .query_drop("INSERT INTO kv VALUES (21, 1), (20, 1)")
        .await
        .unwrap_err();
    assert!(e.to_string().contains("1062"), "{e}");
    let rows: Vec<(i32, i32)> = c.query("SELECT k, v FROM kv ORDER BY k").await.unwrap();
    assert_eq!(
        rows,
        vec![(20, 5)],
        "the failed statement left nothing, the earlier one stays"
    );
    c.query_drop("INSERT INTO kv VALUES (22, 2), (23, 3)")
        .await
        .unwrap();
    c.query_drop("COMMIT").await.unwrap();
    let rows: Vec<(i32, i32)> = c.query("SELECT k, v FROM kv ORDER BY k").await.unwrap();
    assert_eq!(rows, vec![(20, 5), (22, 2), (23, 3)]);
}
