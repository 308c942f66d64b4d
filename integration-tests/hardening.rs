//! Hostile and unlucky input: statements of any size MariaDB accepts, malformed packets,
//! oversized packets and long data; the proxy answers every one and keeps serving.

use crate::diff::{connect, text};
use mysql_async::prelude::Queryable;

fn ors(n: usize) -> String {
    let terms: Vec<String> = (0..n).map(|i| format!("user_id = {i}")).collect();
    format!("SELECT COUNT(*) FROM t_user WHERE {}", terms.join(" OR "))
}

/// Long OR lists (as ORMs write them) and long arithmetic are parsed, planned and answered
/// like on one MariaDB; what is deeper than the proxy's limit gets a clear error; no
/// statement aborts the process.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn long_expressions_never_crash_the_proxy() {
    let ep = crate::harness::shared();
    let (mut p, mut o) = connect(&ep).await;
    let sum: Vec<String> = (0..5000).map(|i| i.to_string()).collect();
    let big_in: Vec<String> = (0..50_000).map(|i| i.to_string()).collect();
    for sql in [
        ors(3000),
        ors(12_000),
        format!("SELECT {}", sum.join(" + ")),
        format!(
            "SELECT COUNT(*) FROM t_user WHERE user_id IN ({})",
            big_in.join(",")
        ),
        format!("SELECT {}1{}", "(".repeat(40), ")".repeat(40)),
    ] {
        let a = text(&mut p, &sql).await;
        let b = text(&mut o, &sql).await;
        let short = &sql[..60.min(sql.len())];
        match (&a, &b) {
            (Ok(x), Ok(y)) => assert_eq!(x.rows, y.rows, "{short}"),
            (Err(x), Err(y)) => assert_eq!(x.0, y.0, "{short}: {x:?} vs {y:?}"),
            _ => panic!("{short}: proxy {a:?} oracle {b:?}"),
        }
    }
    // Too deep for the proxy: a clear error, and the session goes on.
    match text(&mut p, &ors(25_000)).await {
        Err((1436, msg)) => assert!(msg.contains("limit"), "{msg}"),
        other => panic!("expected 1436, got {other:?}"),
    }
    let one: Option<i64> = p.query_first("SELECT 1").await.unwrap();
    assert_eq!(one, Some(1));
    // Prepared statements with long expressions too.
    let stmt = p.prep(ors(3000)).await.unwrap();
    let n: Option<i64> = p.exec_first(&stmt, ()).await.unwrap();
    let m: Option<i64> = o.query_first(ors(3000)).await.unwrap();
    assert_eq!(n, m);
}

/// A logical database `hard` on both shards (physical `sg_hard`), one connection per data
/// source, at most `max_conns` clients.
async fn hard_proxy(
    db: &str,
    max_conns: u32,
) -> (
    std::net::SocketAddr,
    tokio::sync::watch::Sender<bool>,
    std::sync::Arc<shardgate::server::Shared>,
) {
    let rules = r#"
[data_sources.hard_0]
host = "127.0.0.1"
port = {p0}
user = "root"
database = "{db}"
pool_size = 1
pool_timeout_ms = 3000

[data_sources.hard_1]
host = "127.0.0.1"
port = {p1}
user = "root"
database = "{db}"
pool_size = 1
pool_timeout_ms = 3000

[databases.hard]
default_data_source = "hard_0"

[[databases.hard.users]]
name = "app"
password = "app"

[databases.hard.algorithms.by_id]
type = "mod"
sharding_count = 2

[databases.hard.tables.notes]
actual_data_nodes = "hard_${0..1}.notes"
database_strategy = { column = "id", algorithm = "by_id" }
"#;
    let rules = rules.replace("{db}", db);
    let setup = [format!(
        "CREATE TABLE {db}.notes (id INT PRIMARY KEY, body TEXT)"
    )];
    crate::harness::proxy_with_rules(&rules, &[db], &setup, |c| {
        c.server.max_connections = Some(max_conns);
    })
    .await
}

/// Rows of `db`.notes on both shards, by id.
async fn stored_ids(db: &str) -> Vec<i64> {
    let ep = crate::harness::shared();
    let mut ids = Vec::new();
    for i in 0..2 {
        let mut s = mysql_async::Conn::from_url(ep.shard_url(i)).await.unwrap();
        let v: Vec<i64> = s.query(format!("SELECT id FROM {db}.notes")).await.unwrap();
        ids.extend(v);
    }
    ids.sort();
    ids
}

/// A session that panics inside a transaction loses its connection and its slot, never
/// another client's write: its pinned connection (still in the transaction) is closed,
/// not pooled, so the next client's autocommit write is committed for real.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_panicking_session_is_contained() {
    let (addr, _stop, shared) = hard_proxy("sg_hard_panic", 3).await;
    let boom = "SELECT 'shardgate test: panic here'";
    shared.inject_panic.set(boom.to_string()).unwrap();
    let url = format!("mysql://app:app@{addr}/hard");
    for round in 0..3i64 {
        let mut a = mysql_async::Conn::from_url(&url).await.unwrap();
        a.query_drop("BEGIN").await.unwrap();
        a.query_drop(format!("INSERT INTO notes VALUES ({}, 'a')", 10 * round))
            .await
            .unwrap();
        a.query_drop(format!(
            "INSERT INTO notes VALUES ({}, 'a')",
            10 * round + 1
        ))
        .await
        .unwrap();
        assert!(a.query_drop(boom).await.is_err(), "the session ended");
        // The next client gets the same (only) connection of each data source.
        let mut b = mysql_async::Conn::from_url(&url).await.unwrap();
        b.query_drop(format!(
            "INSERT INTO notes VALUES ({}, 'b')",
            10 * round + 2
        ))
        .await
        .unwrap();
        b.query_drop(format!(
            "INSERT INTO notes VALUES ({}, 'b')",
            10 * round + 3
        ))
        .await
        .unwrap();
        drop(b);
    }
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    assert_eq!(
        stored_ids("sg_hard_panic").await,
        vec![2, 3, 12, 13, 22, 23]
    );
    // Three panicked sessions gave their slots back: three clients fit in max_connections.
    let mut held = Vec::new();
    for _ in 0..3 {
        held.push(mysql_async::Conn::from_url(&url).await.expect("a slot"));
    }
    let n: Option<i64> = held[2]
        .query_first("SELECT COUNT(*) FROM notes")
        .await
        .unwrap();
    assert_eq!(n, Some(6));
}

/// A client that vanishes mid-transaction (socket closed, no COMMIT, no QUIT) leaves
/// nothing behind: its writes are rolled back and its connections serve the next client.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_vanished_client_is_rolled_back() {
    let (addr, _stop, _) = hard_proxy("sg_hard_vanish", 10).await;
    let mut raw = crate::rawclient::Raw::login(addr, "app", "app", Some("hard")).await;
    use crate::rawclient::Reply;
    assert_eq!(raw.query("BEGIN").await, Reply::Ok);
    assert_eq!(
        raw.query("INSERT INTO notes VALUES (100, 'x'), (101, 'y')")
            .await,
        Reply::Ok
    );
    drop(raw);
    let url = format!("mysql://app:app@{addr}/hard");
    let mut b = mysql_async::Conn::from_url(&url).await.unwrap();
    b.query_drop("INSERT INTO notes VALUES (102, 'b'), (103, 'b')")
        .await
        .unwrap();
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    assert_eq!(stored_ids("sg_hard_vanish").await, vec![102, 103]);
}

/// Command packets drivers never send get MariaDB's answers, and the proxy goes on.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn odd_packets_get_answers() {
    use crate::rawclient::{Raw, Reply};
    let ep = crate::harness::shared();
    let addr = ep.proxy;
    // An empty packet: "packets out of order", then the connection is closed.
    let mut r = Raw::login(addr, "root", "root", Some("shop")).await;
    r.send(&[]).await;
    assert_eq!(r.reply().await, Reply::Err(1156));
    assert_eq!(r.reply().await, Reply::Closed);
    // Unknown commands, statements that do not exist, malformed executes: errors, and the
    // session goes on.
    let mut r = Raw::login(addr, "root", "root", Some("shop")).await;
    r.command(0x99, b"").await;
    assert_eq!(r.reply().await, Reply::Err(1047));
    r.command(0x17, &[9, 9, 9, 9, 0, 1, 0, 0, 0]).await;
    assert_eq!(r.reply().await, Reply::Err(1243));
    r.command(0x1a, &[9, 9, 9, 9]).await;
    assert_eq!(r.reply().await, Reply::Err(1243));
    r.command(0x19, &[9, 9, 9, 9]).await; // COM_STMT_CLOSE: no answer, as on MariaDB
    assert_eq!(r.query("SELECT 1").await, Reply::Rows);
    // A packet longer than max_allowed_packet: refused from its header (the rest is never
    // read or buffered), then the connection is closed.
    let mut r = Raw::login(addr, "root", "root", Some("shop")).await;
    let mut frame = vec![0xff, 0xff, 0xff, 0, 0x03];
    frame.resize(4 + 0xff_ffff, b' ');
    r.send_bytes(&frame).await;
    r.send_bytes(&[0xff, 0xff, 0xff, 1, b' ']).await;
    assert_eq!(r.reply().await, Reply::Err(1153));
    // Long data past max_allowed_packet: the execute fails as on MariaDB.
    let mut r = Raw::login(addr, "root", "root", Some("shop")).await;
    r.command(0x16, b"SELECT ?").await;
    let ok = r.read().await.expect("prepare reply");
    assert_eq!(ok[0], 0);
    let id = [ok[1], ok[2], ok[3], ok[4]];
    while let Some(p) = r.read().await {
        if p.first() == Some(&0xfe) || p.len() > 1 && p[0] == 0x03 && &p[1..4] == b"def" {
            // parameter definition (and EOF without DEPRECATE_EOF)
            if p.first() != Some(&0xfe) {
                break;
            }
        }
    }
    let chunk = vec![b'x'; 8 << 20];
    for _ in 0..3 {
        let mut b = id.to_vec();
        b.extend_from_slice(&[0, 0]);
        b.extend_from_slice(&chunk);
        r.command(0x18, &b).await;
    }
    let mut ex = id.to_vec();
    ex.extend_from_slice(&[0, 1, 0, 0, 0, 0, 1, 0xfe, 0]);
    r.command(0x17, &ex).await;
    assert_eq!(r.reply().await, Reply::Err(1105));
    assert_eq!(r.query("SELECT 1").await, Reply::Rows);
    // Others were served throughout.
    let (mut p, _) = connect(&ep).await;
    let one: Option<i64> = p.query_first("SELECT 1").await.unwrap();
    assert_eq!(one, Some(1));
}
