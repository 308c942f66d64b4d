//! Protection under load and faults: a frozen and a killed data source (circuit breaker),
//! statement time limits and KILL (backend work stopped), a vanished client, admission and
//! result limits, the firewall, the admin statements and the metrics endpoint, and a flash
//! sale of many clients on one product.

use crate::faults::{eventually, kill_shard};
use crate::harness::Cluster;
use mysql_async::prelude::Queryable;
use mysql_async::{Conn, Row};
use shardgate::localdb::LocalMariaDb;
use std::time::{Duration, Instant};

fn signal(pid: u32, sig: &str) {
    std::process::Command::new("kill")
        .arg(format!("-{sig}"))
        .arg(pid.to_string())
        .status()
        .expect("kill");
}

fn code(e: &mysql_async::Error) -> u16 {
    match e {
        mysql_async::Error::Server(s) => s.code,
        _ => 0,
    }
}

/// The breaker column of `SHOW SHARDING DATA SOURCES` for a data source.
async fn breaker(c: &mut Conn, ds: &str) -> String {
    let rows: Vec<Row> = c.query("SHOW SHARDING DATA SOURCES").await.unwrap();
    rows.iter()
        .find(|r| r.get::<String, _>("name").as_deref() == Some(ds))
        .and_then(|r| r.get::<String, _>("breaker"))
        .unwrap_or_default()
}

/// Poll until `ds`'s breaker is `want`; the time it took.
async fn breaker_becomes(url: &str, ds: &str, want: &str, within: Duration) -> Duration {
    let start = Instant::now();
    let mut admin = Conn::from_url(url).await.unwrap();
    loop {
        let b = breaker(&mut admin, ds).await;
        if b == want {
            return start.elapsed();
        }
        assert!(
            start.elapsed() < within,
            "{ds}: breaker {b}, not {want}, after {within:?}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Shard processes that run statements containing `marker` now.
async fn running_on_shard(port: u16, marker: &str) -> i64 {
    let mut c = Conn::from_url(format!("mysql://root@127.0.0.1:{port}/"))
        .await
        .unwrap();
    let n: Option<i64> = c
        .exec_first(
            "SELECT COUNT(*) FROM information_schema.PROCESSLIST WHERE INFO LIKE ? AND ID <> CONNECTION_ID()",
            (format!("%{marker}%"),),
        )
        .await
        .unwrap();
    c.disconnect().await.ok();
    n.unwrap_or(0)
}

/// Until nothing containing `marker` runs on the shard; panics after `within`.
async fn backend_work_gone(port: u16, marker: &str, within: Duration) {
    let start = Instant::now();
    while running_on_shard(port, marker).await > 0 {
        assert!(
            start.elapsed() < within,
            "`{marker}` still runs on the shard"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// A frozen data source (SIGSTOP): detected within 5 s, statements waiting on it answered,
/// new ones refused at once naming it, statements elsewhere unaffected while scatters keep
/// coming; the breaker closes by itself after SIGCONT. Then the same with the server killed
/// and started again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn frozen_and_killed_data_sources() {
    let mut cluster = Cluster::start(false).await;
    let ep = cluster.endpoints();
    let url = ep.proxy_url();
    let mut c = Conn::from_url(&url).await.unwrap();
    c.query_drop(
        "INSERT INTO t_user (user_id, name, created_at) VALUES (1, 'one', NOW()), (2, 'two', NOW())",
    )
        .await
        .unwrap();
    assert_eq!(breaker(&mut c, "ds_1").await, "closed");

    // A statement in flight on ds_1 when it freezes.
    let mut inflight = Conn::from_url(&url).await.unwrap();
    let waiting = tokio::spawn(async move {
        let t = Instant::now();
        let r = inflight
            .query_drop("SELECT SLEEP(3), name FROM t_user WHERE user_id = 1")
            .await;
        (r, t.elapsed())
    });
    tokio::time::sleep(Duration::from_millis(300)).await;
    let victim_pid = cluster.shards[1].pid();
    signal(victim_pid, "STOP");
    let frozen = Instant::now();
    let opened = breaker_becomes(&url, "ds_1", "open", Duration::from_secs(6)).await;
    assert!(
        opened < Duration::from_millis(5500),
        "detected after {opened:?}"
    );
    let (r, _) = tokio::time::timeout(Duration::from_secs(10), waiting)
        .await
        .expect("the waiting statement is answered")
        .unwrap();
    assert!(r.is_err(), "the statement on the frozen shard failed");
    assert!(frozen.elapsed() < Duration::from_secs(10));

    // Scatters that need ds_1 keep coming from other clients; they fail fast.
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let mut noise = Vec::new();
    for _ in 0..4 {
        let url = url.clone();
        let stop = stop.clone();
        noise.push(tokio::spawn(async move {
            let mut c = Conn::from_url(&url).await.unwrap();
            let mut slowest = Duration::ZERO;
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                let t = Instant::now();
                let e = c
                    .query_drop("SELECT COUNT(*) FROM t_user")
                    .await
                    .unwrap_err();
                assert_eq!(code(&e), 1429, "{e}");
                assert!(e.to_string().contains("ds_1"), "{e}");
                slowest = slowest.max(t.elapsed());
            }
            slowest
        }));
    }
    // A statement for the frozen data source: refused at once, naming it.
    let t = Instant::now();
    let e = c
        .query_drop("SELECT name FROM t_user WHERE user_id = 1")
        .await
        .unwrap_err();
    assert!(
        t.elapsed() < Duration::from_millis(100),
        "{:?}",
        t.elapsed()
    );
    assert_eq!(code(&e), 1429, "{e}");
    assert!(e.to_string().contains("ds_1"), "{e}");
    // Statements for the healthy one are unaffected.
    let mut lat = Vec::new();
    for _ in 0..100 {
        let t = Instant::now();
        let n: Option<String> = c
            .query_first("SELECT name FROM t_user WHERE user_id = 2")
            .await
            .unwrap();
        assert_eq!(n.as_deref(), Some("two"));
        lat.push(t.elapsed());
    }
    lat.sort();
    assert!(lat[98] < Duration::from_millis(100), "p99 {:?}", lat[98]);
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    for n in noise {
        let slowest = n.await.unwrap();
        assert!(
            slowest < Duration::from_millis(200),
            "scatter took {slowest:?}"
        );
    }

    // Thawed: the breaker closes by itself.
    signal(victim_pid, "CONT");
    let closed = breaker_becomes(&url, "ds_1", "closed", Duration::from_secs(5)).await;
    assert!(closed < Duration::from_secs(5));
    eventually(
        &url,
        "SELECT name FROM t_user WHERE user_id = 1",
        Duration::from_secs(2),
    )
    .await
    .expect("ds_1 serves again");

    // Killed: the breaker opens (connections refused), and closes once it runs again.
    let (victim, opts) = kill_shard(&mut cluster, 1);
    breaker_becomes(&url, "ds_1", "open", Duration::from_secs(6)).await;
    let t = Instant::now();
    let e = c
        .query_drop("SELECT name FROM t_user WHERE user_id = 1")
        .await
        .unwrap_err();
    assert_eq!(code(&e), 1429, "{e}");
    assert!(t.elapsed() < Duration::from_millis(100));
    let restarted = LocalMariaDb::start(opts).await.expect("restart shard");
    breaker_becomes(&url, "ds_1", "closed", Duration::from_secs(5)).await;
    let n: Option<String> = c
        .query_first("SELECT name FROM t_user WHERE user_id = 1")
        .await
        .unwrap();
    assert_eq!(n.as_deref(), Some("one"));
    restarted.stop().await.ok();
    drop(victim);
    cluster.stop().await;
}

const LIMITED: &str = r#"
[limits]
statement_timeout_ms = 700
max_result_rows = 3

[limits.users.app]
max_qps = 5
statement_timeout_ms = 1500

[firewall]
require_where = true
deny_full_scatter = ["shop.t_order"]
deny = ["SELECT * FROM t_user WHERE name LIKE '%x%'"]

[[databases.shop.users]]
name = "app"
password = "app"
"#;

/// Statement time limits (global, per user, a MAX_EXECUTION_TIME hint) stop the backend
/// work too, inside a transaction without ending it; KILL QUERY and KILL from another
/// session; a client that hangs up mid-statement.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn time_limits_and_kill_stop_backend_work() {
    let ep = crate::harness::shared();
    let (addr, _stop, _) = crate::harness::proxy_with_rules(LIMITED, &[], &[], |_| {}).await;
    let root = format!("mysql://root:root@{addr}/shop");
    let port1 = ep.shard_ports[1];
    let mut c = Conn::from_url(&root).await.unwrap();
    // The global limit (700 ms), on one node and on all.
    for (sql, marker) in [
        (
            "SELECT SLEEP(5.01), user_id FROM t_user WHERE user_id = 1",
            "SLEEP(5.01)",
        ),
        ("SELECT SLEEP(5.02) FROM t_user", "SLEEP(5.02)"),
    ] {
        let t = Instant::now();
        let e = c.query_drop(sql).await.unwrap_err();
        assert_eq!(code(&e), 1969, "{sql}: {e}");
        assert!(
            t.elapsed() < Duration::from_secs(3),
            "{sql}: {:?}",
            t.elapsed()
        );
        backend_work_gone(port1, marker, Duration::from_secs(2)).await;
    }
    // A hint shortens it.
    let t = Instant::now();
    let e = c
        .query_drop(
            "SELECT /*+ MAX_EXECUTION_TIME(200) */ SLEEP(5.03) FROM t_user WHERE user_id = 1",
        )
        .await
        .unwrap_err();
    assert_eq!(code(&e), 1969, "{e}");
    assert!(
        t.elapsed() < Duration::from_millis(650),
        "{:?}",
        t.elapsed()
    );
    // Inside a transaction: the statement ends, the transaction goes on.
    c.query_drop("BEGIN").await.unwrap();
    c.query_drop("UPDATE t_user SET name = name WHERE user_id = 1")
        .await
        .unwrap();
    let e = c
        .query_drop("SELECT SLEEP(5.04) FROM t_user WHERE user_id = 1")
        .await
        .unwrap_err();
    assert_eq!(code(&e), 1969, "{e}");
    let n: Option<i64> = c
        .query_first("SELECT COUNT(*) FROM t_user WHERE user_id = 1")
        .await
        .unwrap();
    assert_eq!(n, Some(1));
    c.query_drop("COMMIT").await.unwrap();
    // The user's own limit (1500 ms) replaces the global one.
    let mut app = Conn::from_url(format!("mysql://app:app@{addr}/shop"))
        .await
        .unwrap();
    let t = Instant::now();
    let e = app
        .query_drop("SELECT SLEEP(1.0), user_id FROM t_user WHERE user_id = 1")
        .await;
    assert!(e.is_ok(), "{e:?}");
    let e = app
        .query_drop("SELECT SLEEP(5.05), user_id FROM t_user WHERE user_id = 1")
        .await
        .unwrap_err();
    assert_eq!(code(&e), 1969, "{e}");
    assert!(
        t.elapsed() > Duration::from_millis(2400),
        "{:?}",
        t.elapsed()
    );
    drop(app);

    // KILL QUERY and KILL from an admin session, by the id SHOW PROCESSLIST shows.
    let mut victim = Conn::from_url(&root).await.unwrap();
    let vid: Option<u32> = victim.query_first("SELECT CONNECTION_ID()").await.unwrap();
    let vid = vid.expect("id");
    let hint = "SELECT /*+ MAX_EXECUTION_TIME(60000) */";
    let running = tokio::spawn(async move {
        let r = victim
            .query_drop(format!(
                "{hint} SLEEP(5.06), user_id FROM t_user WHERE user_id = 1"
            ))
            .await;
        (victim, r)
    });
    tokio::time::sleep(Duration::from_millis(400)).await;
    let rows: Vec<Row> = c.query("SHOW FULL PROCESSLIST").await.unwrap();
    let mine = rows
        .iter()
        .find(|r| r.get::<u32, _>("Id") == Some(vid))
        .expect("the victim is listed");
    assert_eq!(mine.get::<String, _>("Command").as_deref(), Some("Query"));
    assert!(mine
        .get::<String, _>("Info")
        .unwrap_or_default()
        .contains("SLEEP(5.06)"));
    assert!(mine
        .get::<String, _>("Backends")
        .unwrap_or_default()
        .starts_with("ds_1#"));
    let t = Instant::now();
    c.query_drop(format!("KILL QUERY {vid}")).await.unwrap();
    let (mut victim, r) = running.await.unwrap();
    assert_eq!(r.as_ref().err().map(code), Some(1317), "{r:?}");
    assert!(t.elapsed() < Duration::from_secs(2));
    backend_work_gone(port1, "SLEEP(5.06)", Duration::from_secs(2)).await;
    let one: Option<i64> = victim.query_first("SELECT 1").await.unwrap();
    assert_eq!(one, Some(1));
    c.query_drop(format!("KILL {vid}")).await.unwrap();
    assert!(
        victim.query_drop("SELECT 1").await.is_err(),
        "the killed session is closed"
    );

    // A client that hangs up mid-statement: its backend work is stopped.
    let mut raw = crate::rawclient::Raw::login(addr, "root", "root", Some("shop")).await;
    let q = format!("{hint} SLEEP(5.07), user_id FROM t_user WHERE user_id = 1");
    raw.command(0x03, q.as_bytes()).await;
    tokio::time::sleep(Duration::from_millis(400)).await;
    assert_eq!(running_on_shard(port1, "SLEEP(5.07)").await, 1);
    drop(raw);
    backend_work_gone(port1, "SLEEP(5.07)", Duration::from_secs(2)).await;
}

/// Admin statements: admins only (SHOW PROCESSLIST lists one's own sessions to others, KILL
/// of another user's session is refused); rate, result and firewall limits.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn admin_rates_results_and_firewall() {
    let (addr, _stop, _) = crate::harness::proxy_with_rules(LIMITED, &[], &[], |_| {}).await;
    let mut root = Conn::from_url(format!("mysql://root:root@{addr}/shop"))
        .await
        .unwrap();
    let rid: Option<u32> = root.query_first("SELECT CONNECTION_ID()").await.unwrap();
    let mut app = Conn::from_url(format!("mysql://app:app@{addr}/shop"))
        .await
        .unwrap();
    let e = app
        .query_drop("SHOW SHARDING DATA SOURCES")
        .await
        .unwrap_err();
    assert_eq!(code(&e), 1227, "{e}");
    let rows: Vec<Row> = app.query("SHOW PROCESSLIST").await.unwrap();
    assert!(rows
        .iter()
        .all(|r| r.get::<String, _>("User").as_deref() == Some("app")));
    let e = app
        .query_drop(format!("KILL {}", rid.unwrap_or(0)))
        .await
        .unwrap_err();
    assert_eq!(code(&e), 1095, "{e}");
    let rows: Vec<Row> = root.query("SHOW SHARDING DATA SOURCES").await.unwrap();
    assert_eq!(rows.len(), 2);
    let rows: Vec<Row> = root.query("SHOW PROCESSLIST").await.unwrap();
    assert!(rows.len() >= 2);

    // app may run 5 statements per second.
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let mut refused = 0;
    for _ in 0..12 {
        if let Err(e) = app.query_drop("SELECT 1").await {
            assert_eq!(code(&e), 1226, "{e}");
            refused += 1;
        }
    }
    assert!((5..=9).contains(&refused), "{refused} refused");
    // Results: at most 3 rows.
    let e = root
        .query_drop("SELECT user_id FROM t_user ORDER BY user_id LIMIT 10")
        .await
        .unwrap_err();
    assert_eq!(code(&e), 1226, "{e}");
    let r: Vec<i64> = root
        .query("SELECT user_id FROM t_user ORDER BY user_id LIMIT 3")
        .await
        .unwrap();
    assert_eq!(r.len(), 3);
    // Past the limit the backend work stops: five million rows (MariaDB's sequence
    // engine, streamed as generated) end with 1226 at once, not after the 700 ms time
    // limit that reading them all would run into.
    for sql in [
        "SELECT seq FROM seq_1_to_5000000",
        "SELECT seq FROM seq_1_to_5000000 WHERE seq % 2 = 0",
    ] {
        let started = std::time::Instant::now();
        let e = root.query_drop(sql).await.unwrap_err();
        assert_eq!(code(&e), 1226, "{sql}: {e}");
        assert!(
            started.elapsed() < Duration::from_millis(500),
            "{sql}: {:?}",
            started.elapsed()
        );
    }
    let one: Option<i64> = root.query_first("SELECT 1").await.unwrap();
    assert_eq!(one, Some(1), "the session goes on");
    // Inside a transaction the pinned connection is kept (its statement is killed and read
    // to its end): the transaction goes on.
    root.query_drop("BEGIN").await.unwrap();
    let e = root
        .query_drop("SELECT seq FROM seq_1_to_5000000")
        .await
        .unwrap_err();
    assert_eq!(code(&e), 1226, "{e}");
    let n: Option<i64> = root
        .query_first("SELECT COUNT(*) FROM t_user WHERE user_id = 1")
        .await
        .unwrap();
    assert_eq!(n, Some(1));
    root.query_drop("COMMIT").await.unwrap();
    // Firewall.
    for (sql, want) in [
        ("DELETE FROM t_order", 1175),
        ("UPDATE t_user SET name = 'x'", 1175),
        ("SELECT COUNT(*) FROM t_order", 1290),
        ("SELECT * FROM t_user WHERE name LIKE '%abc%'", 1290),
    ] {
        let e = root.query_drop(sql).await.unwrap_err();
        assert_eq!(code(&e), want, "{sql}: {e}");
    }
    root.query_drop("SELECT COUNT(*) FROM t_order WHERE user_id = 1")
        .await
        .unwrap();
}

/// Prometheus metrics: statements, errors, pools and breakers by data source.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_endpoint() {
    let port = shardgate::localdb::pick_free_port().expect("port");
    let (addr, _stop, _) = crate::harness::proxy_with_rules("", &[], &[], |c| {
        c.server.metrics_listen = Some(format!("127.0.0.1:{port}"));
    })
    .await;
    let mut c = Conn::from_url(format!("mysql://root:root@{addr}/shop"))
        .await
        .unwrap();
    c.query_drop("SELECT COUNT(*) FROM t_user").await.unwrap();
    c.query_drop("SELECT * FROM no_such_table").await.ok();
    let body = http_get(port, "/metrics").await;
    for want in [
        "shardgate_statements_total{kind=\"select\",route=\"Scatter\"}",
        "shardgate_errors_total{code=\"1146\"}",
        "shardgate_pool_connections{data_source=\"ds_0\",state=\"idle\"}",
        "shardgate_breaker_open{data_source=\"ds_1\"} 0",
        "shardgate_data_source_up{data_source=\"ds_0\"} 1",
        "shardgate_statement_duration_seconds_bucket",
        "shardgate_client_connections",
    ] {
        assert!(body.contains(want), "{want} missing in\n{body}");
    }
    assert!(http_get(port, "/other").await.starts_with("HTTP/1.1 404"));
}

async fn http_get(port: u16, path: &str) -> String {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut s = tokio::net::TcpStream::connect(("127.0.0.1", port))
        .await
        .expect("metrics port");
    s.write_all(format!("GET {path} HTTP/1.1\r\nHost: x\r\n\r\n").as_bytes())
        .await
        .unwrap();
    let mut out = String::new();
    s.read_to_string(&mut out).await.unwrap();
    out
}

const FLASH: &str = r#"
[data_sources.flash_0]
host = "127.0.0.1"
port = {p0}
user = "root"
database = "sg_flash"
pool_size = 16

[data_sources.flash_1]
host = "127.0.0.1"
port = {p1}
user = "root"
database = "sg_flash"
pool_size = 16

[databases.flash]
default_data_source = "flash_0"

[[databases.flash.users]]
name = "buyer"
password = "buyer"

[databases.flash.algorithms.two]
type = "mod"
sharding_count = 2

[databases.flash.tables.product]
actual_data_nodes = "flash_${0..1}.product"
database_strategy = { column = "product_id", algorithm = "two" }

[databases.flash.tables.orders]
actual_data_nodes = "flash_${0..1}.orders"
database_strategy = { column = "user_id", algorithm = "two" }
"#;

/// Clients for the flash sale: 2,000, or fewer when the open-files limit is low.
fn flash_clients() -> usize {
    if let Some(n) = std::env::var("FLASH_CLIENTS")
        .ok()
        .and_then(|v| v.parse().ok())
    {
        return n;
    }
    let soft = std::fs::read_to_string("/proc/self/limits")
        .ok()
        .and_then(|l| {
            l.lines()
                .find(|l| l.starts_with("Max open files"))
                .and_then(|l| l.split_whitespace().nth(3)?.parse::<usize>().ok())
        })
        .unwrap_or(1024);
    // Each client: its socket, the proxy's end and watch handle, some slack.
    2000.min(soft.saturating_sub(300) / 4).max(50)
}

/// A flash sale: many clients at once decrement one product's stock (`stock > 0`) and
/// insert an order when they got one. No oversell, no lost order, backend connections
/// within the pools; clients beyond what the pools serve wait, or get "too busy".
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn flash_sale_never_oversells() {
    const STOCK: i64 = 300;
    let setup = vec![
        "CREATE TABLE sg_flash.product (product_id INT PRIMARY KEY, stock INT NOT NULL)"
            .to_string(),
        "CREATE TABLE sg_flash.orders (user_id INT PRIMARY KEY, product_id INT NOT NULL)"
            .to_string(),
    ];
    let (addr, _stop, shared) =
        crate::harness::proxy_with_rules(FLASH, &["sg_flash"], &setup, |c| {
            c.server.max_connections = Some(5000);
        })
        .await;
    let url = format!("mysql://buyer:buyer@{addr}/flash");
    let mut c = Conn::from_url(&url).await.unwrap();
    c.query_drop(format!("INSERT INTO product VALUES (7, {STOCK})"))
        .await
        .unwrap();
    let n = flash_clients();
    let barrier = std::sync::Arc::new(tokio::sync::Barrier::new(n + 1));
    let mut tasks = Vec::with_capacity(n);
    for user in 0..n {
        let url = url.clone();
        let barrier = barrier.clone();
        tasks.push(tokio::spawn(async move {
            let opts = mysql_async::Opts::from_url(&url).unwrap();
            let mut c = Conn::new(opts).await.map_err(|e| format!("connect: {e}"));
            barrier.wait().await;
            let c = c.as_mut().map_err(|e| e.clone())?;
            let r = c
                .query_drop(
                    "UPDATE product SET stock = stock - 1 WHERE product_id = 7 AND stock > 0",
                )
                .await;
            let got = match r {
                Ok(()) => c.affected_rows() == 1,
                Err(e) if code(&e) == 1040 => return Ok::<_, String>(None),
                Err(e) => return Err(e.to_string()),
            };
            if got {
                c.query_drop(format!("INSERT INTO orders VALUES ({user}, 7)"))
                    .await
                    .map_err(|e| format!("order: {e}"))?;
            }
            Ok(Some(got))
        }));
    }
    barrier.wait().await;
    let watch = {
        let shared = shared.clone();
        tokio::spawn(async move {
            let mut most = 0;
            for _ in 0..400 {
                for b in shared.backends.all() {
                    most = most.max(b.in_use());
                    assert!(b.in_use() <= b.size());
                }
                tokio::time::sleep(Duration::from_millis(25)).await;
            }
            most
        })
    };
    let (mut sold, mut busy) = (0i64, 0usize);
    for t in tasks {
        match t.await.unwrap() {
            Ok(Some(true)) => sold += 1,
            Ok(Some(false)) => {}
            Ok(None) => busy += 1,
            Err(e) => panic!("a buyer failed: {e}"),
        }
    }
    watch.abort();
    let stock: Option<i64> = c
        .query_first("SELECT stock FROM product WHERE product_id = 7")
        .await
        .unwrap();
    let orders: Option<i64> = c.query_first("SELECT COUNT(*) FROM orders").await.unwrap();
    assert_eq!(stock, Some(STOCK - sold), "{n} clients, {busy} too busy");
    assert_eq!(orders, Some(sold));
    assert!(stock.unwrap_or(-1) >= 0);
    if n > STOCK as usize + busy {
        assert_eq!(stock, Some(0), "{n} clients, {busy} too busy");
    }
}
