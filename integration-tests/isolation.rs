//! Session isolation over pooled connections: scripted scenarios of clients A, B, C run
//! through proxies with one and two pooled connections per data source, and against one
//! unsharded MariaDB (each client its own connection there), compared step by step. Two
//! clients of the proxy must behave as two MariaDB connections: no state leaks from one to
//! the other, none of a client's own state is lost, no acknowledged write is lost or
//! duplicated.

use mysql_async::prelude::Queryable;
use mysql_async::{Conn, Value};
use std::collections::BTreeMap;

/// One step: which client runs what.
type Step = (&'static str, &'static str);

struct Scenario {
    name: &'static str,
    steps: &'static [Step],
}

const SCENARIOS: &[Scenario] = &[
    Scenario {
        name: "autocommit in a compound SET commits on COMMIT",
        steps: &[
            ("A", "SET autocommit = 0, sql_mode = 'STRICT_ALL_TABLES'"),
            ("A", "SELECT @@autocommit, @@sql_mode"),
            ("A", "INSERT INTO kv VALUES (1, 'a')"),
            ("A", "COMMIT"),
            ("A", "SET SESSION autocommit = 1 - 1"),
            ("A", "SELECT @@autocommit"),
            ("A", "INSERT INTO kv VALUES (2, 'b')"),
            ("A", "COMMIT"),
            ("A", "SET autocommit = 1"),
            ("B", "SELECT k, v FROM kv ORDER BY k"),
            ("A", "INSERT INTO kv VALUES (3, 'c')"),
            ("B", "SELECT COUNT(*) FROM kv"),
        ],
    },
    Scenario {
        name: "SET STATEMENT ... FOR is a statement modifier, not session state",
        steps: &[
            ("A", "SET STATEMENT max_statement_time = 60 FOR INSERT INTO kv VALUES (1, 'x')"),
            ("A", "SET STATEMENT max_statement_time = 60 FOR SELECT 1 + 1"),
            ("A", "SELECT @@max_statement_time"),
            ("A", "INSERT INTO kv VALUES (2, 'y')"),
            ("A", "INSERT INTO kv VALUES (4, 'z')"),
            ("B", "SELECT k, v FROM kv ORDER BY k"),
            ("A", "SET STATEMENT max_statement_time = 60 FOR UPDATE kv SET v = CONCAT(v, '+') WHERE k = 2"),
            ("A", "INSERT INTO kv VALUES (6, 'w')"),
            ("B", "SELECT k, v FROM kv ORDER BY k"),
        ],
    },
    Scenario {
        name: "user variables assigned in expressions stay in their session",
        steps: &[
            ("A", "SELECT @a := 5"),
            ("B", "SELECT @a"),
            ("A", "SELECT @a, @a + 1"),
            ("A", "INSERT INTO notes VALUES (1, 'n1'), (2, 'n2'), (3, 'n3')"),
            ("A", "SET @rn = 0"),
            ("A", "SELECT @rn := @rn + 1 AS n, id FROM notes ORDER BY id"),
            ("A", "SELECT @rn"),
            ("A", "SET @rn = 0"),
            ("A", "SELECT @rn := @rn + 1 AS n, id FROM notes ORDER BY id"),
            ("B", "SELECT @rn"),
            ("B", "SELECT @rn := 100"),
            ("A", "SELECT @rn"),
            ("B", "SELECT @rn"),
        ],
    },
    Scenario {
        name: "SET expressions are evaluated once",
        steps: &[
            ("A", "SET @x = 1"),
            ("A", "SET @x = @x + 1"),
            ("A", "SELECT @x"),
            ("A", "INSERT INTO kv VALUES (1, 'a'), (2, 'b')"),
            ("A", "SELECT k, @x FROM kv ORDER BY k"),
            ("A", "SET @n = (SELECT COUNT(*) FROM kv)"),
            ("A", "INSERT INTO kv VALUES (3, 'c')"),
            ("A", "SELECT @n"),
            ("A", "SELECT k, @n FROM kv ORDER BY k"),
            ("A", "SET @s = CONCAT('v', @x), @t = @x * 10"),
            ("A", "SELECT @s, @t"),
            ("A", "SET SESSION sql_mode = CONCAT(@@sql_mode, ',PIPES_AS_CONCAT')"),
            ("A", "SELECT k, @@sql_mode FROM kv ORDER BY k"),
            ("B", "SELECT @x, @n, @s"),
        ],
    },
    Scenario {
        name: "diagnostics are the session's own",
        steps: &[
            ("A", "INSERT INTO kv VALUES (1, 'a'), (2, 'b'), (3, 'c')"),
            ("A", "SELECT ROW_COUNT()"),
            ("B", "UPDATE kv SET v = 'B' WHERE k = 1"),
            ("A", "SELECT ROW_COUNT()"),
            ("B", "SELECT ROW_COUNT()"),
            ("A", "SELECT k FROM kv ORDER BY k"),
            ("A", "SELECT FOUND_ROWS()"),
            ("A", "SET sql_mode = ''"),
            ("A", "INSERT INTO kv VALUES (9, REPEAT('x', 100))"),
            ("A", "SHOW WARNINGS"),
            ("A", "SELECT @@warning_count"),
            ("B", "SHOW WARNINGS"),
            ("B", "SELECT @@warning_count"),
            ("A", "SHOW COUNT(*) WARNINGS"),
            ("A", "INSERT INTO kv VALUES (10, REPEAT('x', 100)), (11, REPEAT('y', 100)), (12, REPEAT('z', 100))"),
            ("A", "SHOW WARNINGS LIMIT 2"),
            ("A", "SHOW WARNINGS LIMIT 1, 1"),
            ("A", "SHOW WARNINGS LIMIT 5, 1"),
            ("A", "SHOW WARNINGS LIMIT x"),
        ],
    },
    Scenario {
        name: "transaction characteristics: next transaction only, or the session's",
        steps: &[
            ("A", "SET TRANSACTION READ ONLY"),
            ("A", "START TRANSACTION"),
            ("A", "INSERT INTO kv VALUES (1, 'a')"),
            ("A", "ROLLBACK"),
            ("A", "INSERT INTO kv VALUES (2, 'b')"),
            ("B", "INSERT INTO kv VALUES (3, 'c')"),
            ("A", "START TRANSACTION READ ONLY"),
            ("A", "SELECT COUNT(*) FROM kv"),
            ("A", "INSERT INTO kv VALUES (4, 'd')"),
            ("A", "COMMIT"),
            ("B", "INSERT INTO kv VALUES (5, 'e')"),
            ("A", "INSERT INTO kv VALUES (6, 'f')"),
            ("A", "SELECT k FROM kv ORDER BY k"),
        ],
    },
    Scenario {
        name: "LAST_INSERT_ID(expr) sets the session's value",
        steps: &[
            ("A", "SELECT LAST_INSERT_ID(77)"),
            ("A", "SELECT LAST_INSERT_ID()"),
            ("B", "SELECT LAST_INSERT_ID()"),
            ("A", "SELECT LAST_INSERT_ID(LAST_INSERT_ID() + 1)"),
            ("A", "SELECT LAST_INSERT_ID(), @@last_insert_id"),
        ],
    },
    Scenario {
        name: "session values the proxy computes with",
        steps: &[
            ("A", "INSERT INTO kv VALUES (1, 'a'), (2, 'b'), (3, 'c'), (4, 'd')"),
            ("A", "SET sql_select_limit = 2"),
            ("A", "SELECT k FROM kv ORDER BY k"),
            ("A", "SELECT k FROM kv ORDER BY k DESC"),
            ("A", "SELECT COUNT(*), MAX(k) FROM kv"),
            ("A", "SELECT v, COUNT(*) FROM kv GROUP BY v ORDER BY v"),
            ("A", "SELECT k FROM kv WHERE k IN (SELECT k FROM kv) ORDER BY k"),
            ("A", "SET sql_select_limit = DEFAULT"),
            ("A", "SET sql_mode = 'PIPES_AS_CONCAT'"),
            ("A", "SELECT MAX(v) || '!' FROM kv"),
            ("A", "SELECT MIN(k) || MAX(k) FROM kv"),
            ("A", "SET sql_mode = DEFAULT"),
            ("A", "SELECT (MAX(k) > 3) || 0 FROM kv"),
            ("A", "SET div_precision_increment = 8"),
            ("A", "SELECT SUM(k) / 7 FROM kv"),
            ("A", "SELECT AVG(k) FROM kv"),
            ("B", "SELECT SUM(k) / 7, AVG(k) FROM kv"),
        ],
    },
    Scenario {
        name: "named locks belong to their session",
        steps: &[
            ("A", "SELECT GET_LOCK('sg_lock', 0)"),
            ("B", "SELECT GET_LOCK('sg_lock', 0)"),
            ("B", "SELECT IS_FREE_LOCK('sg_lock'), IS_USED_LOCK('sg_lock') IS NOT NULL"),
            ("A", "INSERT INTO kv VALUES (1, 'a')"),
            ("A", "SELECT COUNT(*) FROM kv"),
            ("A", "SELECT RELEASE_LOCK('sg_lock')"),
            ("B", "SELECT GET_LOCK('sg_lock', 0)"),
            ("A", "SELECT GET_LOCK('sg_lock', 0)"),
            ("B", "SELECT RELEASE_ALL_LOCKS()"),
            ("A", "SELECT GET_LOCK('sg_lock', 0), RELEASE_LOCK('sg_lock')"),
        ],
    },
    Scenario {
        name: "DDL by a session with odd settings does not change others",
        steps: &[
            ("A", "SET sql_select_limit = 1"),
            ("A", "CREATE TABLE sg_tmp_ddl (a INT)"),
            ("B", "INSERT INTO kv VALUES (1, 'a'), (2, 'b')"),
            ("B", "SELECT k FROM kv ORDER BY k"),
            ("A", "DROP TABLE sg_tmp_ddl"),
            ("C", "SELECT COUNT(*) FROM kv"),
        ],
    },
    Scenario {
        name: "mysqldump headers, DO and version comments",
        steps: &[
            ("A", "/*!40103 SET @OLD_TIME_ZONE=@@TIME_ZONE */"),
            ("A", "/*!40103 SET TIME_ZONE='+00:00' */"),
            ("A", "SELECT @@time_zone, @OLD_TIME_ZONE"),
            ("B", "SELECT @@time_zone, @OLD_TIME_ZONE"),
            ("A", "/*!40014 SET @OLD_UNIQUE_CHECKS=@@UNIQUE_CHECKS, UNIQUE_CHECKS=0 */"),
            ("A", "SELECT @@unique_checks, @OLD_UNIQUE_CHECKS"),
            ("B", "SELECT @@unique_checks"),
            ("A", "/*!40014 SET UNIQUE_CHECKS=@OLD_UNIQUE_CHECKS */"),
            ("A", "SELECT @@unique_checks"),
            ("A", "/*!40103 SET TIME_ZONE=@OLD_TIME_ZONE */"),
            ("A", "SELECT @@time_zone"),
            ("A", "DO @d := 41 + 1"),
            ("A", "SELECT @d"),
            ("B", "SELECT @d"),
            ("A", "DO GET_LOCK('sg_do', 0)"),
            ("B", "SELECT IS_FREE_LOCK('sg_do')"),
            ("A", "DO RELEASE_LOCK('sg_do')"),
            ("B", "SELECT IS_FREE_LOCK('sg_do')"),
        ],
    },
    Scenario {
        name: "SQL_CALC_FOUND_ROWS and FOUND_ROWS()",
        steps: &[
            ("A", "INSERT INTO notes VALUES (1, 'a'), (2, 'b'), (3, 'c')"),
            ("A", "SELECT SQL_CALC_FOUND_ROWS id FROM notes ORDER BY id LIMIT 1"),
            ("A", "SELECT FOUND_ROWS()"),
            ("B", "SELECT FOUND_ROWS()"),
            ("A", "SELECT id FROM notes WHERE id > 1"),
            ("A", "SELECT FOUND_ROWS()"),
            // Over the shards of kv: the nodes' counts summed.
            ("A", "INSERT INTO kv VALUES (1, 'a'), (2, 'b'), (3, 'c'), (4, 'd'), (5, 'e'), (6, 'f'), (7, 'g')"),
            ("A", "SELECT SQL_CALC_FOUND_ROWS k FROM kv ORDER BY k LIMIT 2"),
            ("A", "SELECT FOUND_ROWS()"),
            ("A", "SELECT SQL_CALC_FOUND_ROWS k, v FROM kv WHERE k > 2 ORDER BY v DESC LIMIT 1, 2"),
            ("A", "SELECT FOUND_ROWS()"),
            ("B", "SELECT FOUND_ROWS()"),
            ("A", "BEGIN"),
            ("A", "SELECT SQL_CALC_FOUND_ROWS k FROM kv WHERE k IN (1, 2, 3, 4) ORDER BY k LIMIT 1"),
            ("A", "SELECT FOUND_ROWS()"),
            ("A", "COMMIT"),
            ("A", "SELECT SQL_CALC_FOUND_ROWS k FROM kv LIMIT 0"),
            ("A", "SELECT FOUND_ROWS()"),
        ],
    },
    Scenario {
        name: "temporary tables and user variables across reset",
        steps: &[
            ("A", "CREATE TEMPORARY TABLE tt (a INT)"),
            ("A", "INSERT INTO tt VALUES (1)"),
            ("B", "SELECT * FROM tt"),
            ("A", "SELECT * FROM tt"),
            ("A", "SET @keep = 'A'"),
            ("B", "SET @keep = 'B'"),
            ("A", "SELECT @keep"),
            ("B", "SELECT @keep"),
            ("A", "DROP TEMPORARY TABLE tt"),
        ],
    },
];

/// What a step answered: rows as text (NULL as None) or the error code.
type Outcome = Result<Vec<Vec<Option<String>>>, u16>;

async fn run(conn: &mut Conn, sql: &str) -> Outcome {
    match conn.query_iter(sql).await {
        Err(e) => Err(code(&e)),
        Ok(mut r) => {
            let mut rows = Vec::new();
            loop {
                match r.next().await {
                    Ok(Some(row)) => rows.push(
                        row.unwrap()
                            .into_iter()
                            .map(|v| match v {
                                Value::NULL => None,
                                Value::Bytes(b) => Some(String::from_utf8_lossy(&b).into_owned()),
                                other => Some(other.as_sql(true)),
                            })
                            .collect(),
                    ),
                    Ok(None) => break,
                    Err(e) => return Err(code(&e)),
                }
            }
            r.drop_result().await.map_err(|e| code(&e))?;
            Ok(rows)
        }
    }
}

fn code(e: &mysql_async::Error) -> u16 {
    match e {
        mysql_async::Error::Server(s) => s.code,
        _ => 2013,
    }
}

const TABLES: &[&str] = &[
    "CREATE TABLE DB.kv (k INT PRIMARY KEY, v VARCHAR(8))",
    "CREATE TABLE DB.notes (id INT PRIMARY KEY, body VARCHAR(32))",
];

const RULES: &str = r#"
[data_sources.DS_0]
host = "127.0.0.1"
port = {p0}
user = "root"
database = "DB"
pool_size = POOL
pool_timeout_ms = 3000

[data_sources.DS_1]
host = "127.0.0.1"
port = {p1}
user = "root"
database = "DB"
pool_size = POOL
pool_timeout_ms = 3000

[databases.iso]
default_data_source = "DS_0"

[[databases.iso.users]]
name = "app"
password = "app"

[databases.iso.algorithms.by_k]
type = "mod"
sharding_count = 2

[databases.iso.tables.kv]
actual_data_nodes = "DS_${0..1}.kv"
database_strategy = { column = "k", algorithm = "by_k" }
"#;

/// Run one scenario on one target (each client its own connection), from empty tables.
async fn run_scenario(sc: &Scenario, url: &str, wipe: &[String]) -> Vec<Outcome> {
    for w in wipe {
        let (server, sql) = w.split_once('|').unwrap();
        let mut c = Conn::from_url(server).await.unwrap();
        c.query_drop(sql).await.unwrap();
        c.disconnect().await.ok();
    }
    let mut clients: BTreeMap<&'static str, Conn> = BTreeMap::new();
    let mut out = Vec::new();
    for (client, sql) in sc.steps {
        if !clients.contains_key(client) {
            clients.insert(client, Conn::from_url(url).await.expect("connect"));
        }
        let c = clients.get_mut(client).unwrap();
        out.push(run(c, sql).await);
    }
    for (_, c) in clients {
        c.disconnect().await.ok();
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_clients_behave_as_two_mariadb_connections() {
    let ep = crate::harness::shared();
    // Two proxies (one and two pooled connections per data source), each on physical
    // databases of its own; the oracle holds the same tables unsharded.
    let mut targets: Vec<(String, String, Vec<String>)> = Vec::new();
    let mut stops = Vec::new();
    for (pool, db) in [(1, "sg_iso_a"), (2, "sg_iso_b")] {
        let setup: Vec<String> = TABLES.iter().map(|s| s.replace("DB", db)).collect();
        let rules = RULES
            .replace("POOL", &pool.to_string())
            .replace("DS_", &format!("{db}_ds_"))
            .replace("\"DB\"", &format!("\"{db}\""));
        let (addr, stop, _) = crate::harness::proxy_with_rules(&rules, &[db], &setup, |_| {}).await;
        stops.push(stop);
        let mut wipe = Vec::new();
        for i in 0..2 {
            for t in ["kv", "notes"] {
                wipe.push(format!("{}|DELETE FROM {db}.{t}", ep.shard_url(i)));
            }
        }
        targets.push((
            format!("proxy, pool_size = {pool}"),
            format!("mysql://app:app@{addr}/iso"),
            wipe,
        ));
    }
    let mut o = Conn::from_url(ep.oracle_url()).await.unwrap();
    o.query_drop("DROP DATABASE IF EXISTS sg_iso")
        .await
        .unwrap();
    o.query_drop("CREATE DATABASE sg_iso").await.unwrap();
    for t in TABLES {
        o.query_drop(t.replace("DB", "sg_iso")).await.unwrap();
    }
    let oracle_url = format!("mysql://root@127.0.0.1:{}/sg_iso", ep.oracle_port);
    let oracle_wipe: Vec<String> = ["kv", "notes"]
        .iter()
        .map(|t| format!("{}|DELETE FROM sg_iso.{t}", ep.oracle_url()))
        .collect();
    let mut failures = Vec::new();
    for sc in SCENARIOS {
        let want = run_scenario(sc, &oracle_url, &oracle_wipe).await;
        for (name, url, wipe) in &targets {
            let got = run_scenario(sc, url, wipe).await;
            if let Some(i) = (0..want.len()).find(|&i| got[i] != want[i]) {
                let (client, sql) = sc.steps[i];
                failures.push(format!(
                    "{}: step {} {client}: {sql}\n    oracle: {:?}\n    {name}: {:?}",
                    sc.name,
                    i + 1,
                    want[i],
                    got[i]
                ));
            }
        }
    }
    drop(stops);
    assert!(
        failures.is_empty(),
        "{} difference(s):\n{}",
        failures.len(),
        failures.join("\n")
    );
}

/// Many clients over two pooled connections per data source, each changing its own
/// session state in every way the proxy keeps and checking it on every statement; every
/// acknowledged write is there at the end, and nothing else. `SHARDGATE_SOAK_ROUNDS`
/// (default 25) makes it longer.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_sessions_keep_their_own_state() {
    use rand::{Rng, SeedableRng};
    let rounds: usize = std::env::var("SHARDGATE_SOAK_ROUNDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(25);
    let db = "sg_iso_soak";
    let setup: Vec<String> = TABLES.iter().map(|s| s.replace("DB", db)).collect();
    let rules = RULES
        .replace("POOL", "2")
        .replace("DS_", &format!("{db}_ds_"))
        .replace("\"DB\"", &format!("\"{db}\""));
    let (addr, _stop, _) = crate::harness::proxy_with_rules(&rules, &[db], &setup, |_| {}).await;
    let url = format!("mysql://app:app@{addr}/iso");
    let clients = 16usize;
    let mut tasks = Vec::new();
    for id in 0..clients {
        let url = url.clone();
        tasks.push(tokio::spawn(async move {
            let mut rng = rand::rngs::StdRng::seed_from_u64(id as u64);
            let mut c = Conn::from_url(&url).await.expect("connect");
            let mut var: i64 = -1;
            let mut tz = "SYSTEM".to_string();
            let mut counter: i64 = 0;
            let mut written: Vec<i64> = Vec::new();
            c.query_drop("SET @c = 0").await.unwrap();
            for round in 0..rounds {
                match rng.gen_range(0..7) {
                    0 => {
                        var = rng.gen_range(0..1_000_000) * 100 + id as i64;
                        c.query_drop(format!("SET @v = {var}")).await.unwrap();
                    }
                    1 => {
                        tz = format!("+{:02}:00", rng.gen_range(0..12));
                        c.query_drop(format!("SET time_zone = '{tz}'")).await.unwrap();
                    }
                    2 => {
                        let k = (id * 10_000 + round) as i64;
                        c.query_drop(format!("INSERT INTO kv VALUES ({k}, 'c{id}')"))
                            .await
                            .unwrap();
                        written.push(k);
                    }
                    3 => {
                        let k = (id * 10_000 + 5_000 + round) as i64;
                        c.query_drop("BEGIN").await.unwrap();
                        c.query_drop(format!("INSERT INTO kv VALUES ({k}, 'x{id}')"))
                            .await
                            .unwrap();
                        c.query_drop("ROLLBACK").await.unwrap();
                    }
                    4 => {
                        counter += 1;
                        let n: Option<i64> = c.query_first("SELECT @c := @c + 1").await.unwrap();
                        assert_eq!(n, Some(counter), "client {id}: @c");
                    }
                    5 => {
                        let x: Option<i64> = c.query_first(format!("SELECT GET_LOCK('sg_soak_{id}', 5)")).await.unwrap();
                        assert_eq!(x, Some(1), "client {id}: own lock");
                        let y: Option<i64> = c.query_first(format!("SELECT RELEASE_LOCK('sg_soak_{id}')")).await.unwrap();
                        assert_eq!(y, Some(1));
                    }
                    _ => {
                        let k = (id * 10_000 + round) as i64;
                        c.query_drop(format!("SET STATEMENT max_statement_time = 30 FOR INSERT INTO kv VALUES ({k}, 's{id}')"))
                            .await
                            .unwrap();
                        written.push(k);
                    }
                }
                // The session's own state, whatever connection answers.
                let row: Option<(Option<i64>, String, i64, String)> = c
                    .query_first("SELECT @v, @@time_zone, @c, @@max_statement_time")
                    .await
                    .unwrap();
                let (v, t, cc, mst) = row.unwrap();
                assert_eq!(v, (var >= 0).then_some(var), "client {id} round {round}: @v");
                assert_eq!(t, tz, "client {id} round {round}: time_zone");
                assert_eq!(cc, counter, "client {id} round {round}: @c");
                assert_eq!(mst, "0.000000", "client {id} round {round}: SET STATEMENT leaked");
                let n: Option<i64> = c
                    .query_first(format!("SELECT COUNT(*) FROM kv WHERE v IN ('c{id}', 's{id}', 'x{id}')"))
                    .await
                    .unwrap();
                assert_eq!(n, Some(written.len() as i64), "client {id} round {round}: own rows");
            }
            c.disconnect().await.ok();
            written.len()
        }));
    }
    let mut total = 0;
    for t in tasks {
        total += t.await.expect("client task");
    }
    let mut c = Conn::from_url(&url).await.unwrap();
    let n: Option<i64> = c.query_first("SELECT COUNT(*) FROM kv").await.unwrap();
    assert_eq!(
        n,
        Some(total as i64),
        "acknowledged writes, and nothing else"
    );
}
