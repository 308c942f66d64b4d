//! A differential value fuzzer: per sharding-algorithm family, tables on integer, DECIMAL,
//! string and temporal sharding columns; random literals of every form (fractions,
//! exponents, quoted numbers, numeric-prefix strings, out-of-range values, every temporal
//! format) inserted through the proxy and into one unsharded MariaDB, then point, IN and
//! range queries compared (text and prepared); and every stored row checked to sit on the
//! node the rule gives for the value MariaDB stored.
//!
//! `SHARDGATE_VALUES_ROWS` (default 60 per table) and `SHARDGATE_VALUES_SEED` run it longer.

use mysql_async::prelude::Queryable;
use mysql_async::{Conn, Value};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

/// (table, column type, rule, literal family).
const TABLES: &[(&str, &str, &str, Family)] = &[
    ("vi_mod", "BIGINT", "db_mod", Family::Int),
    ("vi_hash", "BIGINT", "db_hash", Family::Int),
    ("vi_cons", "BIGINT", "db_cons", Family::Int),
    ("vi_range", "INT", "db_range", Family::Int),
    ("vi_inline", "INT", "db_inline", Family::Int),
    ("vd_hash", "DECIMAL(10,2)", "db_hash", Family::Int),
    ("vd_range", "DECIMAL(10,2)", "db_range", Family::Int),
    ("vs_hash", "VARCHAR(32)", "db_hash", Family::Str),
    ("vs_range", "VARCHAR(32)", "db_range", Family::Int),
    ("vt_month", "DATETIME", "db_month", Family::Time),
    ("vt3_month", "DATETIME(3)", "db_month", Family::Time),
    ("vdate_month", "DATE", "db_month", Family::Time),
    ("vts_month", "TIMESTAMP", "db_month", Family::Time),
];

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Family {
    Int,
    Str,
    Time,
}

const RULES: &str = r#"
[data_sources.vals_0]
host = "127.0.0.1"
port = {p0}
user = "root"
database = "sg_vals"

[data_sources.vals_1]
host = "127.0.0.1"
port = {p1}
user = "root"
database = "sg_vals"

[databases.vals]
default_data_source = "vals_0"

[[databases.vals.users]]
name = "app"
password = "app"

[databases.vals.algorithms.db_mod]
type = "mod"
sharding_count = 2

[databases.vals.algorithms.db_hash]
type = "hash_mod"
sharding_count = 2

[databases.vals.algorithms.db_cons]
type = "consistent_hash"
slot_count = 16
slots = [{ range = "0..7", node = "vals_0" }, { range = "8..15", node = "vals_1" }]

[databases.vals.algorithms.db_range]
type = "range"
boundaries = [1000]

[databases.vals.algorithms.db_inline]
type = "inline"
expression = "vals_${k % 2}"

[databases.vals.algorithms.db_month]
type = "interval"
datetime_lower = "2026-01-01"
datetime_upper = "2026-03-31 23:59:59"
interval = "month"
suffix_pattern = "yyyyMM"
"#;

/// The tables part of the rules: interval tables get one physical table per month on each
/// data source (by an even/odd rule on the data sources they all share).
fn table_rules() -> String {
    let mut out = String::new();
    for (t, _, alg, _) in TABLES {
        if *alg == "db_month" {
            out.push_str(&format!(
                "\n[databases.vals.tables.{t}]\nactual_data_nodes = \"vals_0.{t}_${{['202601','202602','202603']}}\"\ntable_strategy = {{ column = \"k\", algorithm = \"db_month\" }}\n"
            ));
        } else {
            out.push_str(&format!(
                "\n[databases.vals.tables.{t}]\nactual_data_nodes = \"vals_${{0..1}}.{t}\"\ndatabase_strategy = {{ column = \"k\", algorithm = \"{alg}\" }}\n"
            ));
        }
    }
    out
}

/// The physical tables of a logical one, as (shard index, physical name).
fn physical(t: &str, alg: &str) -> Vec<(usize, String)> {
    if alg == "db_month" {
        ["202601", "202602", "202603"]
            .iter()
            .map(|m| (0, format!("{t}_{m}")))
            .collect()
    } else {
        vec![(0, t.to_string()), (1, t.to_string())]
    }
}

fn literal(rng: &mut StdRng, family: Family) -> String {
    let int = |rng: &mut StdRng| -> i64 {
        match rng.gen_range(0..5) {
            0 => rng.gen_range(-3..3),
            1 => rng.gen_range(990..1010),
            2 => rng.gen_range(-100_000..100_000),
            3 => rng.gen_range(1_000_000_000i64..3_000_000_000),
            _ => rng.gen_range(0..50),
        }
    };
    match family {
        Family::Int | Family::Str => match rng.gen_range(0..14) {
            0 => int(rng).to_string(),
            1 => format!("{}.{}", int(rng), rng.gen_range(0..100)),
            2 => format!("{}.5", int(rng)),
            3 => format!("{}e{}", rng.gen_range(1..999), rng.gen_range(-2..3)),
            4 => format!("'{}'", int(rng)),
            5 => format!("'{}.{}'", int(rng), rng.gen_range(0..10)),
            6 => format!("'{}abc'", int(rng)),
            7 => format!("' {} '", int(rng)),
            8 => format!("'{}e1x'", rng.gen_range(0..99)),
            9 => format!("-{}.{}", rng.gen_range(0..3), rng.gen_range(0..10)),
            10 => format!(
                "'{}'",
                ["abc", "", "x1", "-", "1,5", "PAID", "paid", "Émile", "emile "]
                    [rng.gen_range(0..9)]
            ),
            11 => "99999999999".to_string(),
            12 => format!(
                "{}.{}e{}",
                rng.gen_range(0..99),
                rng.gen_range(0..99),
                rng.gen_range(0..4)
            ),
            _ => format!("{}", rng.gen_range(995..1005)),
        },
        Family::Time => {
            let m = rng.gen_range(1..=4);
            let d = rng.gen_range(1..=28);
            let (h, mi, s) = (
                rng.gen_range(0..24),
                rng.gen_range(0..60),
                rng.gen_range(0..60),
            );
            match rng.gen_range(0..11) {
                0 => format!("'2026-{m:02}-{d:02} {h:02}:{mi:02}:{s:02}'"),
                1 => format!("'2026-{m}-{d}'"),
                2 => format!("'2026/{m:02}/{d:02} {h}:{mi}'"),
                3 => format!("2026{m:02}{d:02}"),
                4 => format!("'26-{m:02}-{d:02}'"),
                5 => format!(
                    "'2026-{m:02}-{d:02} {h:02}:{mi:02}:{s:02}.{}'",
                    rng.gen_range(0..1_000_000)
                ),
                6 => format!("'2026-{:02}-01 00:00:00'", m),
                7 => format!(
                    "'2026-{:02}-{} 23:59:59.{}'",
                    m,
                    [28, 30, 31][rng.gen_range(0..3)],
                    rng.gen_range(1..10)
                ),
                8 => format!("DATE '2026-{m:02}-{d:02}'"),
                9 => format!("2026{m:02}{d:02}{h:02}{mi:02}{s:02}"),
                _ => format!("'2025-12-31 23:59:{s:02}'"),
            }
        }
    }
}

/// Rows of a query, sorted, as text.
async fn ids(c: &mut Conn, sql: &str) -> Result<Vec<i64>, u16> {
    match c.query::<i64, _>(sql).await {
        Ok(mut v) => {
            v.sort();
            Ok(v)
        }
        Err(mysql_async::Error::Server(e)) => Err(e.code),
        Err(_) => Err(2013),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn values_route_and_store_as_mariadb_converts_them() {
    let rows: usize = std::env::var("SHARDGATE_VALUES_ROWS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(60);
    let seed: u64 = std::env::var("SHARDGATE_VALUES_SEED")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(11);
    let ep = crate::harness::shared();
    let mut setup = Vec::new();
    for (t, ty, alg, _) in TABLES {
        for (_, p) in physical(t, alg) {
            let sql = format!("CREATE TABLE sg_vals.{p} (id INT PRIMARY KEY, k {ty} NULL)");
            if !setup.contains(&sql) {
                setup.push(sql);
            }
        }
    }
    let rules = format!("{RULES}{}", table_rules());
    let (addr, _stop, shared) =
        crate::harness::proxy_with_rules(&rules, &["sg_vals"], &setup, |_| {}).await;
    let mut o = Conn::from_url(ep.oracle_url()).await.unwrap();
    o.query_drop("DROP DATABASE IF EXISTS sg_vals")
        .await
        .unwrap();
    o.query_drop("CREATE DATABASE sg_vals").await.unwrap();
    for (t, ty, _, _) in TABLES {
        o.query_drop(format!(
            "CREATE TABLE sg_vals.{t} (id INT PRIMARY KEY, k {ty} NULL)"
        ))
        .await
        .unwrap();
    }
    let mut o = Conn::from_url(format!("mysql://root@127.0.0.1:{}/sg_vals", ep.oracle_port))
        .await
        .unwrap();
    let mut p = Conn::from_url(format!("mysql://app:app@{addr}/vals"))
        .await
        .unwrap();
    for c in [&mut o, &mut p] {
        c.query_drop("SET sql_mode = '', time_zone = '+00:00'")
            .await
            .unwrap();
    }
    let mut rng = StdRng::seed_from_u64(seed);
    let mut failures: Vec<String> = Vec::new();
    let mut refused = 0usize;
    for (t, _, alg, family) in TABLES {
        // Inserts: each literal through both; a refusal by the proxy must be a clear one.
        let mut id = 0;
        let mut lits = Vec::new();
        for _ in 0..rows {
            let lit = literal(&mut rng, *family);
            id += 1;
            let sql = format!("INSERT INTO {t} VALUES ({id}, {lit})");
            match p.query_drop(&sql).await {
                Ok(()) => {
                    if let Err(e) = o.query_drop(&sql).await {
                        failures.push(format!("{sql}: proxy stored it, the oracle answered {e}"));
                    }
                }
                Err(mysql_async::Error::Server(e)) if matches!(e.code, 1235 | 1526) => refused += 1,
                Err(e) => failures.push(format!("{sql}: {e}")),
            }
            lits.push(lit);
        }
        // Queries: point, IN, range; text and prepared (the literal's value bound as a
        // string when quoted, else as written in text).
        for _ in 0..rows {
            let a = &lits[rng.gen_range(0..lits.len())];
            let b = literal(&mut rng, *family);
            let c = &lits[rng.gen_range(0..lits.len())];
            for q in [
                format!("SELECT id FROM {t} WHERE k = {a}"),
                format!("SELECT id FROM {t} WHERE k IN ({a}, {b}, {c})"),
                format!("SELECT id FROM {t} WHERE k BETWEEN {a} AND {b}"),
                format!("SELECT id FROM {t} WHERE k < {c}"),
                format!("SELECT id FROM {t} WHERE k >= {b} AND k <= {a}"),
                format!("SELECT id FROM {t} WHERE k = {b} OR k = {c}"),
            ] {
                let (x, y) = (ids(&mut p, &q).await, ids(&mut o, &q).await);
                if x != y {
                    failures.push(format!("{q}\n    proxy {x:?}\n    oracle {y:?}"));
                }
            }
            if let Some(s) = a.strip_prefix('\'').and_then(|s| s.strip_suffix('\'')) {
                let q = format!("SELECT id FROM {t} WHERE k = ?");
                let x: Result<Vec<i64>, _> = p.exec(&q, (Value::from(s),)).await;
                let y: Result<Vec<i64>, _> = o.exec(&q, (Value::from(s),)).await;
                let (mut x, mut y) = (x.map_err(|e| e.to_string()), y.map_err(|e| e.to_string()));
                if let (Ok(a), Ok(b)) = (&mut x, &mut y) {
                    a.sort();
                    b.sort();
                }
                if x != y {
                    failures.push(format!(
                        "prepared {q} with {s:?}\n    proxy {x:?}\n    oracle {y:?}"
                    ));
                }
            }
        }
        // Placement: every stored row sits where the rule puts the value MariaDB stored.
        let db = shared.database("vals").expect("vals");
        let rule = db.table(t).and_then(|r| r.as_sharded()).expect("sharded");
        for (shard, phys) in physical(t, alg) {
            let mut s = Conn::from_url(ep.shard_url(shard)).await.unwrap();
            let stored: Vec<(i64, Option<String>)> = s
                .query(format!("SELECT id, CAST(k AS CHAR) FROM sg_vals.{phys}"))
                .await
                .unwrap();
            for (rid, k) in stored {
                let Some(k) = k else { continue };
                let v = match family {
                    Family::Time => shardgate::rules::ShardValue::DateTime(k.clone()),
                    Family::Str if !t.starts_with("vs_range") => {
                        shardgate::rules::ShardValue::Str(k.clone().into_bytes())
                    }
                    _ => match k.parse::<i128>() {
                        Ok(i) => shardgate::rules::ShardValue::Int(i),
                        Err(_) if t.starts_with("vs_") => {
                            shardgate::rules::ShardValue::Str(k.clone().into_bytes())
                        }
                        Err(_) => shardgate::rules::ShardValue::Decimal(k.clone()),
                    },
                };
                let one = shardgate::rules::Values::List(vec![v]);
                let (dbv, tblv) = if *alg == "db_month" {
                    (shardgate::rules::Values::Any, one)
                } else {
                    (one, shardgate::rules::Values::Any)
                };
                let nodes = rule.route(&dbv, &tblv).unwrap_or_default();
                let here = rule
                    .nodes
                    .iter()
                    .position(|n| n.table == phys && n.data_source == format!("vals_{shard}"));
                if nodes.len() != 1 || Some(nodes[0]) != here {
                    failures.push(format!(
                        "{t}: row {rid} with stored k = {k:?} sits in vals_{shard}.{phys}, the rule says nodes {nodes:?}"
                    ));
                }
            }
        }
    }
    eprintln!(
        "values fuzzer: {} tables x {rows} rows, {refused} inserts refused",
        TABLES.len()
    );
    assert!(
        failures.is_empty(),
        "{} mismatch(es) ({refused} refused inserts):\n{}",
        failures.len(),
        failures.join("\n")
    );
}

/// Literal bytes reach the server unchanged: random byte strings (all 256 byte values) and
/// random text (control characters, quotes, backslashes, every UTF-8 length), inserted
/// through the proxy as text literals and as prepared parameters, read back exactly as
/// MariaDB stored them from the same statements.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn literal_bytes_reach_the_server_unchanged() {
    let ep = crate::harness::shared();
    let rules = r#"
[data_sources.bytes_0]
host = "127.0.0.1"
port = {p0}
user = "root"
database = "sg_bytes"

[data_sources.bytes_1]
host = "127.0.0.1"
port = {p1}
user = "root"
database = "sg_bytes"

[databases.bytes]
default_data_source = "bytes_0"

[[databases.bytes.users]]
name = "app"
password = "app"

[databases.bytes.algorithms.by_id]
type = "mod"
sharding_count = 2

[databases.bytes.tables.bt]
actual_data_nodes = "bytes_${0..1}.bt"
database_strategy = { column = "id", algorithm = "by_id" }
"#;
    let ddl = "CREATE TABLE sg_bytes.bt (id INT PRIMARY KEY, b VARBINARY(400), s VARCHAR(400)) DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin";
    let (addr, _stop, _) =
        crate::harness::proxy_with_rules(rules, &["sg_bytes"], &[ddl.to_string()], |_| {}).await;
    let mut o = Conn::from_url(ep.oracle_url()).await.unwrap();
    o.query_drop("DROP DATABASE IF EXISTS sg_bytes")
        .await
        .unwrap();
    o.query_drop("CREATE DATABASE sg_bytes").await.unwrap();
    o.query_drop(ddl).await.unwrap();
    let mut o = Conn::from_url(format!(
        "mysql://root@127.0.0.1:{}/sg_bytes",
        ep.oracle_port
    ))
    .await
    .unwrap();
    let mut p = Conn::from_url(format!("mysql://app:app@{addr}/bytes"))
        .await
        .unwrap();
    let mut rng = StdRng::seed_from_u64(5);
    let text_chars: Vec<char> = (0u32..0x80)
        .filter_map(char::from_u32)
        .chain(['é', 'ß', '€', '中', '🎉', '\u{1F}', '\u{FEFF}', '\\', '\''])
        .collect();
    let esc = |b: &[u8]| -> Vec<u8> {
        let mut out = Vec::new();
        for &c in b {
            match c {
                b'\'' => out.extend_from_slice(b"\\'"),
                b'\\' => out.extend_from_slice(b"\\\\"),
                0 => out.extend_from_slice(b"\\0"),
                c => out.push(c),
            }
        }
        out
    };
    let mut failures = Vec::new();
    for id in 1..=120i64 {
        let n = rng.gen_range(0..60);
        let bytes: Vec<u8> = if id <= 2 {
            (0..=255u8).collect()
        } else {
            (0..n).map(|_| rng.gen()).collect()
        };
        let text: String = (0..n)
            .map(|_| text_chars[rng.gen_range(0..text_chars.len())])
            .collect();
        if id % 2 == 0 {
            // Text protocol: the bytes as they are inside the quotes (escaped as MariaDB reads
            // them), sent as one query packet (not UTF-8 when the bytes are not).
            let mut q = format!("INSERT INTO bt VALUES ({id}, _binary'").into_bytes();
            q.extend(esc(&bytes));
            q.extend_from_slice(b"', '");
            q.extend(esc(text.as_bytes()));
            q.extend_from_slice(b"')");
            for c in [&mut p, &mut o] {
                let r = c.query_drop(q.clone()).await;
                if let Err(e) = r {
                    failures.push(format!("row {id}: {e}"));
                }
            }
        } else {
            for c in [&mut p, &mut o] {
                let r = c
                    .exec_drop(
                        "INSERT INTO bt VALUES (?, ?, ?)",
                        (id, Value::Bytes(bytes.clone()), text.clone()),
                    )
                    .await;
                if let Err(e) = r {
                    failures.push(format!("row {id} (prepared): {e}"));
                }
            }
        }
    }
    // Under NO_BACKSLASH_ESCAPES a backslash is an ordinary character.
    for c in [&mut p, &mut o] {
        c.query_drop("SET SESSION sql_mode = 'NO_BACKSLASH_ESCAPES'")
            .await
            .unwrap();
    }
    for id in 121..=160i64 {
        let n = rng.gen_range(0..40);
        let text: String = (0..n)
            .map(|_| text_chars[rng.gen_range(0..text_chars.len())])
            .filter(|c| *c != '\u{1F}' && *c != '\0')
            .collect();
        let q = format!(
            "INSERT INTO bt VALUES ({id}, NULL, '{}')",
            text.replace('\'', "''")
        );
        for c in [&mut p, &mut o] {
            if let Err(e) = c.query_drop(&q).await {
                failures.push(format!("row {id} (NO_BACKSLASH_ESCAPES): {e}"));
            }
        }
    }
    let q = "SELECT id, HEX(b), HEX(s), LENGTH(s) FROM bt ORDER BY id";
    let a: Vec<(i64, Option<String>, Option<String>, Option<i64>)> = p.query(q).await.unwrap();
    let b: Vec<(i64, Option<String>, Option<String>, Option<i64>)> = o.query(q).await.unwrap();
    assert_eq!(a.len(), 160);
    for (x, y) in a.iter().zip(&b) {
        if x != y {
            failures.push(format!("row {}: proxy stored {x:?}, oracle {y:?}", x.0));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// TIMESTAMP sharding values are placed and pruned by their UTC time: clients in different
/// time zones find each other's rows as on one MariaDB.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn timestamps_route_by_utc_across_time_zones() {
    let ep = crate::harness::shared();
    let rules = format!(
        "{}{}",
        RULES
            .replace("vals_", "valz_")
            .replace("databases.vals", "databases.valz")
            .replace("\"sg_vals\"", "\"sg_vals_tz\""),
        "\n[databases.valz.tables.ts]\nactual_data_nodes = \"valz_0.ts_${['202601','202602','202603']}\"\ntable_strategy = { column = \"k\", algorithm = \"db_month\" }\n"
    );
    let setup: Vec<String> = ["202601", "202602", "202603"]
        .iter()
        .map(|m| format!("CREATE TABLE sg_vals_tz.ts_{m} (id INT PRIMARY KEY, k TIMESTAMP NULL)"))
        .collect();
    let (addr, _stop, _) =
        crate::harness::proxy_with_rules(&rules, &["sg_vals_tz"], &setup, |_| {}).await;
    let mut o = Conn::from_url(ep.oracle_url()).await.unwrap();
    o.query_drop("DROP DATABASE IF EXISTS sg_vals_tz")
        .await
        .unwrap();
    o.query_drop("CREATE DATABASE sg_vals_tz").await.unwrap();
    o.query_drop("CREATE TABLE sg_vals_tz.ts (id INT PRIMARY KEY, k TIMESTAMP NULL)")
        .await
        .unwrap();
    let ou = format!("mysql://root@127.0.0.1:{}/sg_vals_tz", ep.oracle_port);
    let pu = format!("mysql://app:app@{addr}/valz");
    let steps: &[(&str, &str)] = &[
        ("+08:00", "INSERT INTO ts VALUES (1, '2026-02-01 05:00:00')"),
        ("-05:00", "INSERT INTO ts VALUES (2, '2026-02-28 22:30:00')"),
        ("+00:00", "INSERT INTO ts VALUES (3, '2026-01-31 23:59:59')"),
        ("+00:00", "SELECT id FROM ts WHERE k = '2026-01-31 21:00:00'"),
        ("+00:00", "SELECT id FROM ts WHERE k >= '2026-03-01 00:00:00' ORDER BY id"),
        ("+08:00", "SELECT id FROM ts WHERE k < '2026-02-01 08:00:00' ORDER BY id"),
        ("+08:00", "SELECT id FROM ts WHERE k BETWEEN '2026-02-01 00:00:00' AND '2026-02-01 07:00:00' ORDER BY id"),
        ("-05:00", "SELECT id FROM ts WHERE k IN ('2026-01-31 16:00:00', '2026-02-28 22:30:00') ORDER BY id"),
        ("+13:00", "SELECT id FROM ts WHERE k = '2026-03-01 16:30:00'"),
    ];
    for (tz, sql) in steps {
        let mut got = Vec::new();
        for url in [&pu, &ou] {
            let mut c = Conn::from_url(url.as_str()).await.unwrap();
            c.query_drop(format!("SET time_zone = '{tz}'"))
                .await
                .unwrap();
            got.push(ids(&mut c, sql).await);
        }
        assert_eq!(got[0], got[1], "{tz}: {sql}");
    }
}

/// A client in latin1: its bytes are read as MariaDB reads latin1, routed, stored, and its
/// results come back in latin1, as from one MariaDB.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn latin1_clients_work_as_on_mariadb() {
    let ep = crate::harness::shared();
    let rules = r#"
[data_sources.l1_0]
host = "127.0.0.1"
port = {p0}
user = "root"
database = "sg_latin1"

[data_sources.l1_1]
host = "127.0.0.1"
port = {p1}
user = "root"
database = "sg_latin1"

[databases.l1]
default_data_source = "l1_0"

[[databases.l1.users]]
name = "app"
password = "app"

[databases.l1.algorithms.by_name]
type = "hash_mod"
sharding_count = 2

[databases.l1.tables.people]
actual_data_nodes = "l1_${0..1}.people"
database_strategy = { column = "name", algorithm = "by_name" }
"#;
    let ddl = "CREATE TABLE sg_latin1.people (id INT PRIMARY KEY, name VARCHAR(40), note VARBINARY(40)) DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_general_ci";
    let (addr, _stop, _) =
        crate::harness::proxy_with_rules(rules, &["sg_latin1"], &[ddl.to_string()], |_| {}).await;
    let mut o = Conn::from_url(ep.oracle_url()).await.unwrap();
    o.query_drop("DROP DATABASE IF EXISTS sg_latin1")
        .await
        .unwrap();
    o.query_drop("CREATE DATABASE sg_latin1").await.unwrap();
    o.query_drop(ddl).await.unwrap();
    let mut o = Conn::from_url(format!(
        "mysql://root@127.0.0.1:{}/sg_latin1",
        ep.oracle_port
    ))
    .await
    .unwrap();
    let mut p = Conn::from_url(format!("mysql://app:app@{addr}/l1"))
        .await
        .unwrap();
    for c in [&mut p, &mut o] {
        c.query_drop("SET NAMES latin1").await.unwrap();
    }
    let statements: Vec<Vec<u8>> = vec![
        b"INSERT INTO people VALUES (1, 'Jos\xe9', _binary'\xe9\x00\xff')".to_vec(),
        b"INSERT INTO people VALUES (2, '\x80uro \x9f', 'caf\xe9')".to_vec(),
        b"INSERT INTO people VALUES (3, 'JOS\xc9', NULL)".to_vec(),
        b"INSERT INTO people VALUES (4, 'plain', 'x')".to_vec(),
        b"SELECT id, name, HEX(name), note FROM people WHERE name = 'jos\xe9' ORDER BY id".to_vec(),
        b"SELECT id, name FROM people WHERE name IN ('\x80uro \x9f', 'plain') ORDER BY id".to_vec(),
        b"SELECT id, name, LENGTH(name), CHAR_LENGTH(name) FROM people ORDER BY name, id".to_vec(),
        b"SELECT name FROM people WHERE id = 2".to_vec(),
        b"SELECT CONCAT(name, '\xe9') FROM people WHERE id = 1".to_vec(),
    ];
    for sql in &statements {
        let mut got = Vec::new();
        for c in [&mut p, &mut o] {
            let r: Result<Vec<mysql_async::Row>, _> = c.query(sql.clone()).await;
            got.push(
                r.map(|rows| {
                    rows.into_iter()
                        .map(|r| format!("{:?}", r.unwrap()))
                        .collect::<Vec<_>>()
                })
                .map_err(|e| e.to_string()),
            );
        }
        assert_eq!(got[0], got[1], "{}", String::from_utf8_lossy(sql));
    }
    // Prepared: the parameter arrives in latin1 too.
    for c in [&mut p, &mut o] {
        c.exec_drop(
            "INSERT INTO people VALUES (?, ?, NULL)",
            (5, Value::Bytes(b"na\xefve".to_vec())),
        )
        .await
        .unwrap();
    }
    let q = "SELECT HEX(name) FROM people WHERE id = 5";
    let a: Option<String> = p.query_first(q).await.unwrap();
    let b: Option<String> = o.query_first(q).await.unwrap();
    assert_eq!(a, b);
}
