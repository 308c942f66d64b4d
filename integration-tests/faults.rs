//! Backend faults: shards restarted under a running proxy, idle connections closed by the
//! server, data sources down at start (the default one included), in-doubt XA branches
//! resolved in the background, and the decision log owned by one process.

use crate::harness::{xa_log_path, Cluster, Endpoints};
use mysql_async::prelude::Queryable;
use mysql_async::Conn;
use shardgate::localdb::{LocalMariaDb, LocalOptions};
use shardgate::server::{Server, Shared};
use std::sync::Arc;
use std::time::{Duration, Instant};

pub(crate) fn kill9(pid: u32) {
    std::process::Command::new("kill")
        .arg("-9")
        .arg(pid.to_string())
        .status()
        .expect("kill");
}

/// Kill a shard of the cluster (kill -9) and hand back what restarts it.
pub(crate) fn kill_shard(cluster: &mut Cluster, i: usize) -> (LocalMariaDb, LocalOptions) {
    let victim = cluster.shards.remove(i);
    let mut opts = LocalOptions::new(format!("ds_{i}-again"), victim.workdir());
    opts.port = victim.port();
    kill9(victim.pid());
    (victim, opts)
}

/// A proxy (in this process) over the cluster's shards with the example rules.
pub(crate) async fn proxy(
    ep: &Endpoints,
    f: impl FnOnce(&mut shardgate::rules::Config),
) -> (std::net::SocketAddr, tokio::sync::watch::Sender<bool>) {
    let mut config =
        shardgate::rules::parse(shardgate::demo::RULES, "examples/ecommerce/rules.toml")
            .expect("rules");
    for (i, port) in ep.shard_ports.iter().enumerate() {
        config
            .data_sources
            .get_mut(&format!("ds_{i}"))
            .unwrap()
            .port = *port;
    }
    config.server.xa_log = xa_log_path();
    f(&mut config);
    let shared = Arc::new(Shared::new(config).await.expect("proxy starts"));
    let server = Server::bind("127.0.0.1:0", shared).await.expect("bind");
    let addr = server.local_addr().unwrap();
    let (stop, rx) = tokio::sync::watch::channel(false);
    tokio::spawn(server.run(rx));
    (addr, stop)
}

/// Query until it succeeds or `within` passes; the time it took.
pub(crate) async fn eventually(url: &str, sql: &str, within: Duration) -> Result<Duration, String> {
    let start = Instant::now();
    let mut last = String::new();
    while start.elapsed() < within {
        match Conn::from_url(url).await {
            Ok(mut c) => match c.query_drop(sql).await {
                Ok(()) => return Ok(start.elapsed()),
                Err(e) => last = e.to_string(),
            },
            Err(e) => last = e.to_string(),
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    Err(last)
}

/// Pooled connections to a restarted shard are dead; none is handed to a client again, and
/// connections the server closed while idle (wait_timeout) are not reused either: every new
/// client's first statement succeeds.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dead_pooled_connections_are_never_handed_out() {
    let mut cluster = Cluster::start(false).await;
    let ep = cluster.endpoints();
    // Fill both pools with idle connections.
    let mut clients = Vec::new();
    for _ in 0..6 {
        clients.push(Conn::from_url(ep.proxy_url()).await.unwrap());
    }
    for c in clients.iter_mut() {
        c.query_drop("SELECT COUNT(*) FROM t_user").await.unwrap();
    }
    drop(clients);
    let (victim, opts) = kill_shard(&mut cluster, 1);
    let restarted = LocalMariaDb::start(opts).await.expect("restart shard");
    for i in 0..20 {
        let mut c = Conn::from_url(ep.proxy_url()).await.unwrap();
        let n: Option<i64> = c
            .query_first("SELECT COUNT(*) FROM t_user")
            .await
            .unwrap_or_else(|e| panic!("client {i} after the restart: {e}"));
        assert_eq!(n, Some(0));
    }
    // The server now closes connections idle for a second; the pool never offers one of them.
    for port in [ep.shard_ports[0], restarted.port()] {
        let mut s = Conn::from_url(format!("mysql://root@127.0.0.1:{port}/"))
            .await
            .unwrap();
        s.query_drop("SET GLOBAL wait_timeout = 1").await.unwrap();
    }
    let (addr, _stop) = proxy(&ep, |_| {}).await;
    let url = format!("mysql://root:root@{addr}/shop");
    for round in 0..3 {
        let mut cs = Vec::new();
        for _ in 0..4 {
            let mut c = Conn::from_url(&url).await.unwrap();
            c.query_drop("SELECT COUNT(*) FROM t_user").await.unwrap();
            cs.push(c);
        }
        drop(cs);
        tokio::time::sleep(Duration::from_millis(2500)).await;
        for i in 0..8 {
            let mut c = Conn::from_url(&url).await.unwrap();
            c.query_drop("SELECT COUNT(*) FROM t_user WHERE user_id IN (1, 2)")
                .await
                .unwrap_or_else(|e| panic!("round {round} client {i} after idle close: {e}"));
        }
    }
    restarted.stop().await.ok();
    drop(victim);
    cluster.stop().await;
}

/// The proxy starts with its default data source down, lets clients log in and work with
/// what is up, names the missing data source in errors, and picks it up (catalog
/// included) when it answers, without a restart.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_data_source_down_at_start_is_picked_up_later() {
    let mut cluster = Cluster::start(false).await;
    let ep = cluster.endpoints();
    let (victim, opts) = kill_shard(&mut cluster, 0);
    tokio::time::sleep(Duration::from_millis(200)).await;
    let (addr, _stop) = proxy(&ep, |_| {}).await;
    let url = format!("mysql://root:root@{addr}/shop");
    // Login and session setup need no particular data source.
    let mut c = Conn::from_url(&url).await.expect("login with ds_0 down");
    c.query_drop("SET NAMES utf8mb4").await.unwrap();
    c.query_drop("SET SESSION sql_mode = 'STRICT_TRANS_TABLES'")
        .await
        .unwrap();
    let one: Option<i64> = c.query_first("SELECT 1").await.unwrap();
    assert_eq!(one, Some(1));
    let _: Option<String> = c.query_first("SELECT @@version_comment").await.unwrap();
    // What lives on ds_1 works; what needs ds_0 fails with an error naming it.
    c.query_drop(
        "INSERT INTO t_user (user_id, name, balance, created_at) VALUES (1, 'one', 1, NOW())",
    )
    .await
    .unwrap();
    let e = c
        .query_drop("SELECT * FROM t_user WHERE user_id = 2")
        .await
        .unwrap_err();
    match e {
        mysql_async::Error::Server(s) => {
            assert_eq!(s.code, 1429, "{}", s.message);
            assert!(s.message.contains("ds_0"), "{}", s.message);
        }
        other => panic!("expected a server error, got {other}"),
    }
    // ds_0 comes back: the proxy serves it (and knows its tables' columns: an INSERT without
    // a column list into a table whose catalog entry comes from ds_0).
    let restarted = LocalMariaDb::start(opts).await.expect("restart shard");
    let took = eventually(
        &url,
        "INSERT INTO t_order VALUES (1000, 2, 'PAID', 9.50, NULL, NOW(), NULL)",
        Duration::from_secs(20),
    )
    .await
    .expect("ds_0 picked up");
    assert!(took < Duration::from_secs(15), "{took:?}");
    let n: Option<i64> = c.query_first("SELECT COUNT(*) FROM t_order").await.unwrap();
    assert_eq!(n, Some(1));
    restarted.stop().await.ok();
    drop(victim);
    cluster.stop().await;
}

/// A prepared XA branch of this proxy left on a shard that was down (its decision in the
/// log) is committed in the background once the shard is back; undecided ones are rolled
/// back; another proxy's branches are left alone.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn in_doubt_branches_are_resolved_in_the_background() {
    let mut cluster = Cluster::start(false).await;
    let ep = cluster.endpoints();
    let mut p = Conn::from_url(ep.proxy_url()).await.unwrap();
    p.query_drop(
        "INSERT INTO t_user (user_id, name, balance, created_at) VALUES \
         (1, 'a', 100, NOW()), (3, 'b', 100, NOW()), (5, 'c', 100, NOW())",
    )
    .await
    .unwrap();
    // Three prepared branches on ds_1, as a crash between prepare and commit leaves them:
    // one of proxy 7 decided to commit, one of proxy 7 undecided, one of proxy 9.
    let branch = |gtrid: &'static str, user: u32| {
        let url = ep.shard_url(1);
        async move {
            let mut s = Conn::from_url(url).await.unwrap();
            s.query_drop(format!("XA START '{gtrid}','ds_1'"))
                .await
                .unwrap();
            s.query_drop(format!(
                "UPDATE t_user SET balance = balance + 1 WHERE user_id = {user}"
            ))
            .await
            .unwrap();
            s.query_drop(format!("XA END '{gtrid}','ds_1'"))
                .await
                .unwrap();
            s.query_drop(format!("XA PREPARE '{gtrid}','ds_1'"))
                .await
                .unwrap();
            s.disconnect().await.ok();
        }
    };
    branch("sg7-1-1", 1).await;
    branch("sg7-1-2", 3).await;
    branch("sg9-1-1", 5).await;
    let dir = std::env::temp_dir().join(format!("sg-bg-recovery-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let log = dir.join("xa.log");
    std::fs::write(&log, "C sg7-1-1\n").unwrap();
    // The shard goes down; proxy 7 starts without it.
    let (victim, opts) = kill_shard(&mut cluster, 1);
    let log_path = log.display().to_string();
    let (_addr, _stop) = proxy(&ep, move |c| {
        c.server.worker_id = 7;
        c.server.xa_log = log_path;
    })
    .await;
    let restarted = LocalMariaDb::start(opts).await.expect("restart shard");
    let mut s = Conn::from_url(ep.shard_url(1)).await.unwrap();
    let start = Instant::now();
    loop {
        let rows: Vec<mysql_async::Row> = s.query("XA RECOVER").await.unwrap();
        let ours = rows
            .iter()
            .filter(|r| {
                r.get::<String, _>(3)
                    .unwrap_or_default()
                    .starts_with("sg7-")
            })
            .count();
        if ours == 0 {
            assert_eq!(rows.len(), 1, "proxy 9's branch stays");
            break;
        }
        assert!(
            start.elapsed() < Duration::from_secs(30),
            "in-doubt branches still there after {:?}",
            start.elapsed()
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let b: Vec<(u32, String)> = s
        .query("SELECT user_id, CAST(balance AS CHAR) FROM t_user ORDER BY user_id")
        .await
        .unwrap();
    assert_eq!(b[0], (1, "101.00".to_string()), "decided branch committed");
    assert_eq!(
        b[1],
        (3, "100.00".to_string()),
        "undecided branch rolled back"
    );
    s.query_drop("XA ROLLBACK 'sg9-1-1','ds_1'").await.unwrap();
    restarted.stop().await.ok();
    drop(victim);
    let _ = std::fs::remove_dir_all(&dir);
    cluster.stop().await;
}

/// `shardgate recover` against a log a running proxy owns refuses, and the proxy's log is
/// left as it is.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn recover_refuses_while_the_proxy_runs() {
    let ep = crate::harness::shared();
    let dir = std::env::temp_dir().join(format!("sg-recover-live-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let log = dir.join("xa.log");
    let log_path = log.display().to_string();
    let (_addr, stop) = proxy(&ep, |c| {
        c.server.worker_id = 11;
        c.server.xa_log = log_path.clone();
    })
    .await;
    let rules = crate::harness::example_rules_text(&ep).replace(
        "worker_id = 0",
        &format!("worker_id = 11\nxa_log = \"{}\"", log.display()),
    );
    let rules_path = dir.join("rules.toml");
    std::fs::write(&rules_path, rules).unwrap();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_shardgate"))
        .arg("recover")
        .arg("--config")
        .arg(&rules_path)
        .output()
        .expect("run shardgate recover");
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("in use by another shardgate process"), "{err}");
    assert!(log.exists(), "the live log was not replaced");
    let _ = stop.send(true);
    let _ = std::fs::remove_dir_all(&dir);
}
