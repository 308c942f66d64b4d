//! Distributed transactions (issue 4): XA atomicity across shards, the bank invariant under
//! concurrency, cross-shard deadlocks, flash-sale inventory, and crash recovery with the
//! proxy killed at each step of two-phase commit.

use crate::harness::{start_proxy_process, Cluster, Endpoints};
use mysql_async::prelude::Queryable;
use mysql_async::{Conn, Value};
use std::time::Duration;

const USERS: u64 = 20;
const START_BALANCE: &str = "1000.00";

async fn setup_users(ep: &Endpoints) {
    let mut p = Conn::from_url(ep.proxy_url()).await.expect("proxy");
    let rows: Vec<String> = (1..=USERS)
        .map(|u| format!("({u}, 'u{u}', {START_BALANCE}, NOW())"))
        .collect();
    p.query_drop(format!(
        "INSERT INTO t_user (user_id, name, balance, created_at) VALUES {}",
        rows.join(", ")
    ))
    .await
    .expect("users");
    p.disconnect().await.ok();
}

async fn total(c: &mut Conn) -> String {
    let t: Option<String> = c
        .query_first("SELECT SUM(balance) FROM t_user")
        .await
        .expect("sum");
    t.unwrap_or_default()
}

fn expected_total() -> String {
    format!("{}.00", USERS * 1000)
}

/// Prepared XA branches left on each shard.
async fn prepared(ep: &Endpoints) -> Vec<usize> {
    let mut out = Vec::new();
    for i in 0..ep.shard_ports.len() {
        let mut s = Conn::from_url(ep.shard_url(i)).await.expect("shard");
        let rows: Vec<mysql_async::Row> = s.query("XA RECOVER").await.expect("xa recover");
        out.push(rows.len());
        s.disconnect().await.ok();
    }
    out
}

async fn balance_on_shard(ep: &Endpoints, user: u64) -> String {
    let mut s = Conn::from_url(ep.shard_url((user % 2) as usize))
        .await
        .expect("shard");
    let b: Option<String> = s
        .exec_first(
            "SELECT CAST(balance AS CHAR) FROM t_user WHERE user_id = ?",
            (user,),
        )
        .await
        .expect("balance");
    s.disconnect().await.ok();
    b.unwrap_or_default()
}

fn code(e: &mysql_async::Error) -> u16 {
    match e {
        mysql_async::Error::Server(s) => s.code,
        _ => 0,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn xa_transactions_are_atomic_and_consistent() {
    let cluster = Cluster::start(false).await;
    let ep = cluster.endpoints();
    setup_users(&ep).await;
    let mut p = Conn::from_url(ep.proxy_url()).await.expect("proxy");

    // Commit across both shards, then a rollback across both.
    p.query_drop("BEGIN").await.unwrap();
    p.query_drop("UPDATE t_user SET balance = balance - 10 WHERE user_id = 1")
        .await
        .unwrap();
    p.query_drop("UPDATE t_user SET balance = balance + 10 WHERE user_id = 2")
        .await
        .unwrap();
    p.query_drop("COMMIT").await.unwrap();
    assert_eq!(balance_on_shard(&ep, 1).await, "990.00");
    assert_eq!(balance_on_shard(&ep, 2).await, "1010.00");
    p.query_drop("START TRANSACTION").await.unwrap();
    p.query_drop("UPDATE t_user SET balance = 0 WHERE user_id IN (1, 2)")
        .await
        .unwrap();
    p.query_drop("ROLLBACK").await.unwrap();
    assert_eq!(total(&mut p).await, expected_total());
    // A multi-shard write outside a transaction is one transaction too.
    p.query_drop("UPDATE t_user SET balance = balance + 0 WHERE user_id IN (3, 4)")
        .await
        .unwrap();
    assert_eq!(prepared(&ep).await, vec![0, 0]);

    // Bank invariant: concurrent transfers between users on different shards.
    let mut tasks = Vec::new();
    for t in 0..6u64 {
        let url = ep.proxy_url();
        tasks.push(tokio::spawn(async move {
            let mut c = Conn::from_url(url).await.expect("client");
            let mut rng = crate::data::Rng::new(t + 11);
            let mut done = 0;
            let mut aborted = 0;
            while done < 25 {
                let a = rng.below(USERS / 2) * 2 + 1; // odd: ds_1
                let b = rng.below(USERS / 2) * 2 + 2; // even: ds_0
                let amount = rng.below(20) + 1;
                let (first, second) = if rng.below(2) == 0 { (a, b) } else { (b, a) };
                let sign = |u: u64| if u == a { "-" } else { "+" };
                let r: Result<(), mysql_async::Error> = async {
                    c.query_drop("BEGIN").await?;
                    for u in [first, second] {
                        c.exec_drop(
                            format!(
                                "UPDATE t_user SET balance = balance {} ? WHERE user_id = ?",
                                sign(u)
                            ),
                            (amount, u),
                        )
                        .await?;
                    }
                    c.query_drop("COMMIT").await
                }
                .await;
                match r {
                    Ok(()) => done += 1,
                    Err(e) if [1205, 1213].contains(&code(&e)) => {
                        // The proxy rolled the whole transaction back.
                        aborted += 1;
                    }
                    Err(e) => panic!("transfer failed: {e:?}"),
                }
            }
            c.disconnect().await.ok();
            aborted
        }));
    }
    // Consistent reads during the run: a locking SUM inside a transaction (one that meets
    // a lock wait or a deadlock is tried again: on a loaded machine several may in a row).
    let mut checks = 0;
    for _ in 0..20 {
        if checks >= 3 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(150)).await;
        let r: Result<Option<String>, mysql_async::Error> = async {
            p.query_drop("BEGIN").await?;
            let t: Option<String> = p
                .query_first("SELECT SUM(balance) FROM t_user LOCK IN SHARE MODE")
                .await?;
            p.query_drop("COMMIT").await?;
            Ok(t)
        }
        .await;
        match r {
            Ok(t) => {
                assert_eq!(t.as_deref(), Some(expected_total().as_str()));
                checks += 1;
            }
            Err(e) if [1205, 1213].contains(&code(&e)) => {}
            Err(e) => panic!("locking sum failed: {e:?}"),
        }
    }
    for t in tasks {
        t.await.expect("transfer task");
    }
    assert!(checks > 0, "no consistent read succeeded");
    assert_eq!(total(&mut p).await, expected_total());
    assert_eq!(prepared(&ep).await, vec![0, 0]);

    // Flash sale: no oversell, affected rows right, stock = initial - orders.
    p.query_drop("INSERT INTO t_product (product_id, name, category, price, stock) VALUES (1, 'phone', 'x', 9.99, 15)")
        .await
        .unwrap();
    let mut buyers = Vec::new();
    for u in 1..=USERS {
        let url = ep.proxy_url();
        buyers.push(tokio::spawn(async move {
            let mut c = Conn::from_url(url).await.expect("buyer");
            loop {
                let r: Result<bool, mysql_async::Error> = async {
                    c.query_drop("BEGIN").await?;
                    c.exec_drop(
                        "UPDATE t_product SET stock = stock - 1 WHERE product_id = ? AND stock > 0",
                        (1,),
                    )
                    .await?;
                    let got = c.affected_rows() == 1;
                    if got {
                        c.exec_drop(
                            "INSERT INTO t_order (user_id, status, amount, created_at) VALUES (?, 'FLASH', 9.99, NOW())",
                            (u,),
                        )
                        .await?;
                    }
                    c.query_drop("COMMIT").await?;
                    Ok(got)
                }
                .await;
                match r {
                    Ok(got) => {
                        c.disconnect().await.ok();
                        return got;
                    }
                    Err(e) if [1205, 1213].contains(&code(&e)) => continue,
                    Err(e) => panic!("purchase failed: {e:?}"),
                }
            }
        }));
    }
    let mut sold = 0;
    for b in buyers {
        if b.await.expect("buyer task") {
            sold += 1;
        }
    }
    assert_eq!(sold, 15);
    let stock: Option<i64> = p
        .query_first("SELECT stock FROM t_product WHERE product_id = 1")
        .await
        .unwrap();
    assert_eq!(stock, Some(0));
    let orders: Option<i64> = p
        .query_first("SELECT COUNT(*) FROM t_order WHERE status = 'FLASH'")
        .await
        .unwrap();
    assert_eq!(orders, Some(15));
    assert_eq!(prepared(&ep).await, vec![0, 0]);
    p.disconnect().await.ok();
    cluster.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cross_shard_deadlock_aborts_one_transaction_everywhere() {
    let cluster = Cluster::start(false).await;
    let ep = cluster.endpoints();
    setup_users(&ep).await;
    let mut s1 = Conn::from_url(ep.proxy_url()).await.unwrap();
    let mut s2 = Conn::from_url(ep.proxy_url()).await.unwrap();
    s1.query_drop("BEGIN").await.unwrap();
    s1.query_drop("UPDATE t_user SET balance = balance + 1 WHERE user_id = 2")
        .await
        .unwrap();
    s2.query_drop("BEGIN").await.unwrap();
    s2.query_drop("UPDATE t_user SET balance = balance + 100 WHERE user_id = 1")
        .await
        .unwrap();
    // s1 waits for s2 on ds_1; s2 then waits for s1 on ds_0: a deadlock no shard can see.
    let t1 = tokio::spawn(async move {
        let r = s1
            .query_drop("UPDATE t_user SET balance = balance + 1 WHERE user_id = 1")
            .await;
        (s1, r)
    });
    tokio::time::sleep(Duration::from_millis(300)).await;
    let r2 = s2
        .query_drop("UPDATE t_user SET balance = balance + 100 WHERE user_id = 2")
        .await;
    let (mut s1, r1) = t1.await.unwrap();
    // s1 waited longest: its lock wait times out first, the proxy rolls all of it back,
    // and s2 gets its lock.
    assert_eq!(r1.as_ref().map_err(code), Err(1205), "{r1:?}");
    assert!(r2.is_ok(), "{r2:?}");
    s2.query_drop("COMMIT").await.unwrap();
    // s1's transaction is gone: a new statement runs outside it.
    s1.query_drop("COMMIT").await.unwrap();
    assert_eq!(balance_on_shard(&ep, 2).await, "1100.00");
    assert_eq!(balance_on_shard(&ep, 1).await, "1100.00");
    assert_eq!(prepared(&ep).await, vec![0, 0]);
    cluster.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn proxy_killed_during_two_phase_commit_recovers() {
    let cluster = Cluster::start(false).await;
    let ep = cluster.endpoints();
    setup_users(&ep).await;
    let dir = std::env::temp_dir().join(format!("shardgate-xa-crash-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    // (failpoint, prepared branches left by the crash, committed after recovery)
    let steps = [
        ("xa_after_first_prepare", vec![1, 0], false),
        ("xa_after_prepare", vec![1, 1], false),
        ("xa_after_log", vec![1, 1], true),
        ("xa_between_commits", vec![0, 1], true),
    ];
    let mut expected = [1000i64, 1000i64]; // users 2 (ds_0) and 1 (ds_1), whole units
    for (fp, left, committed) in steps {
        let mut proxy = start_proxy_process(&ep, &dir, 5, Some(fp)).await;
        let url = format!("mysql://root:root@127.0.0.1:{}/shop", proxy.port);
        let mut c = Conn::from_url(url.as_str()).await.expect("client");
        c.query_drop("BEGIN").await.unwrap();
        c.query_drop("UPDATE t_user SET balance = balance + 7 WHERE user_id = 2")
            .await
            .unwrap();
        c.query_drop("UPDATE t_user SET balance = balance - 7 WHERE user_id = 1")
            .await
            .unwrap();
        let r = c.query_drop("COMMIT").await;
        assert!(r.is_err(), "{fp}: COMMIT must not be acknowledged");
        let status = tokio::time::timeout(Duration::from_secs(10), proxy.child.wait())
            .await
            .expect("proxy exits")
            .expect("wait");
        assert!(!status.success(), "{fp}: proxy should have aborted");
        assert_eq!(
            prepared(&ep).await,
            left,
            "{fp}: prepared branches after the crash"
        );
        // Restart: recovery at start resolves them by the decision log.
        let mut proxy = start_proxy_process(&ep, &dir, 5, None).await;
        assert_eq!(
            prepared(&ep).await,
            vec![0, 0],
            "{fp}: nothing left after recovery"
        );
        if committed {
            expected[0] += 7;
            expected[1] -= 7;
        }
        assert_eq!(
            balance_on_shard(&ep, 2).await,
            format!("{}.00", expected[0]),
            "{fp}"
        );
        assert_eq!(
            balance_on_shard(&ep, 1).await,
            format!("{}.00", expected[1]),
            "{fp}"
        );
        // The restarted proxy works.
        let url = format!("mysql://root:root@127.0.0.1:{}/shop", proxy.port);
        let mut c = Conn::from_url(url.as_str()).await.expect("client");
        assert_eq!(total(&mut c).await, expected_total());
        c.disconnect().await.ok();
        proxy.child.kill().await.ok();
    }
    // `shardgate recover` on a clean state reports nothing to do.
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_shardgate"))
        .arg("recover")
        .arg("--config")
        .arg(dir.join("rules.toml"))
        .output()
        .expect("recover");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("0 committed, 0 rolled back"),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    let _ = Value::NULL;
    let _ = std::fs::remove_dir_all(&dir);
    cluster.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shard_killed_before_prepare_rolls_back_everywhere() {
    let mut cluster = Cluster::start(false).await;
    let ep = cluster.endpoints();
    setup_users(&ep).await;
    let mut c = Conn::from_url(ep.proxy_url()).await.unwrap();
    c.query_drop("BEGIN").await.unwrap();
    c.query_drop("UPDATE t_user SET balance = balance + 5 WHERE user_id = 2")
        .await
        .unwrap();
    c.query_drop("UPDATE t_user SET balance = balance - 5 WHERE user_id = 1")
        .await
        .unwrap();
    // ds_1 dies with its branch still active.
    let victim = cluster.shards.remove(1);
    let (workdir, port, pid) = (victim.workdir().to_path_buf(), victim.port(), victim.pid());
    std::process::Command::new("kill")
        .arg("-9")
        .arg(pid.to_string())
        .status()
        .expect("kill");
    tokio::time::sleep(Duration::from_millis(300)).await;
    let r = c.query_drop("COMMIT").await;
    assert!(
        r.is_err(),
        "COMMIT with a dead participant must fail: {r:?}"
    );
    // Restart the shard on its data: crash recovery rolls its active branch back.
    let mut opts = shardgate::localdb::LocalOptions::new("ds_1-again", &workdir);
    opts.port = port;
    let restarted = shardgate::localdb::LocalMariaDb::start(opts)
        .await
        .expect("restart shard");
    assert_eq!(prepared(&ep).await, vec![0, 0]);
    assert_eq!(balance_on_shard(&ep, 2).await, "1000.00");
    assert_eq!(balance_on_shard(&ep, 1).await, "1000.00");
    // The proxy serves the restarted shard again (stale pooled connections fail once each).
    let mut ok = false;
    for _ in 0..40 {
        if let Ok(mut c) = Conn::from_url(ep.proxy_url()).await {
            if let Ok(Some(t)) = c
                .query_first::<String, _>("SELECT SUM(balance) FROM t_user")
                .await
            {
                assert_eq!(t, expected_total());
                ok = true;
                break;
            }
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(ok, "proxy did not recover from the shard restart");
    restarted.stop().await.ok();
    // Last: dropping the killed server's handle removes its (now unused) directory.
    drop(victim);
    cluster.stop().await;
}

/// A proxy over the shared cluster with one pooled connection per data source.
async fn one_connection_pools(
    max_transactions: Option<u32>,
) -> (String, tokio::sync::watch::Sender<bool>) {
    let ep = crate::harness::shared();
    let mut config =
        shardgate::rules::parse(shardgate::demo::RULES, "examples/ecommerce/rules.toml")
            .expect("rules");
    for (i, port) in ep.shard_ports.iter().enumerate() {
        let ds = config.data_sources.get_mut(&format!("ds_{i}")).expect("ds");
        ds.port = *port;
        ds.pool_size = 1;
        ds.pool_timeout_ms = 500;
    }
    config.limits.max_transactions = max_transactions;
    config.server.xa_log = crate::harness::xa_log_path();
    let shared = std::sync::Arc::new(shardgate::server::Shared::new(config).await.expect("start"));
    let server = shardgate::server::Server::bind("127.0.0.1:0", shared)
        .await
        .expect("bind");
    let url = format!(
        "mysql://root:root@127.0.0.1:{}/shop",
        server.local_addr().expect("addr").port()
    );
    let (stop, rx) = tokio::sync::watch::channel(false);
    tokio::spawn(server.run(rx));
    (url, stop)
}

/// With one pooled connection per shard, transactions are admitted one at a time (the
/// default `max_transactions` is below the smallest pool): a second transaction waits, and
/// fails with "too busy" (1040, its transaction still open) rather than deadlock the first,
/// which goes on to the other shard.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn exhausted_pools_do_not_hang_transactions() {
    let (url, stop) = one_connection_pools(None).await;
    let mut a = Conn::from_url(url.as_str()).await.unwrap();
    let mut b = Conn::from_url(url.as_str()).await.unwrap();
    a.query_drop("BEGIN").await.unwrap();
    a.query_drop("SELECT name FROM t_user WHERE user_id = 2")
        .await
        .unwrap();
    b.query_drop("BEGIN").await.unwrap();
    let started = std::time::Instant::now();
    let rb = b
        .query_drop("SELECT name FROM t_user WHERE user_id = 1")
        .await;
    assert_eq!(rb.as_ref().err().map(code), Some(1040), "{rb:?}");
    assert!(started.elapsed() < Duration::from_secs(3));
    // The first transaction takes the other shard's connection without waiting.
    a.query_drop("SELECT name FROM t_user WHERE user_id = 1")
        .await
        .unwrap();
    a.query_drop("COMMIT").await.unwrap();
    // The second one is still open and goes on once the first ended.
    b.query_drop("SELECT name FROM t_user WHERE user_id = 1")
        .await
        .unwrap();
    b.query_drop("ROLLBACK").await.unwrap();
    let _ = stop.send(true);
}

/// With more transactions admitted than the pools hold, two transactions each holding one
/// shard's only connection and asking for the other's wait at most `pool_timeout_ms`: the
/// wait ends with 1040 (never 1205, and no transaction is rolled back), both sessions usable.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn overcommitted_transactions_wait_then_report_too_busy() {
    let (url, stop) = one_connection_pools(Some(2)).await;
    let mut a = Conn::from_url(url.as_str()).await.unwrap();
    let mut b = Conn::from_url(url.as_str()).await.unwrap();
    a.query_drop("BEGIN").await.unwrap();
    a.query_drop("SELECT name FROM t_user WHERE user_id = 2")
        .await
        .unwrap();
    b.query_drop("BEGIN").await.unwrap();
    b.query_drop("SELECT name FROM t_user WHERE user_id = 1")
        .await
        .unwrap();
    let ta = tokio::spawn(async move {
        let r = a
            .query_drop("SELECT name FROM t_user WHERE user_id = 1")
            .await;
        (a, r)
    });
    let rb = b
        .query_drop("SELECT name FROM t_user WHERE user_id = 2")
        .await;
    let (mut a, ra) = tokio::time::timeout(Duration::from_secs(10), ta)
        .await
        .expect("no hang")
        .unwrap();
    let codes: Vec<u16> = [&ra, &rb]
        .iter()
        .map(|r| r.as_ref().err().map(code).unwrap_or(0))
        .collect();
    assert!(codes.contains(&1040) && !codes.contains(&1205), "{codes:?}");
    for c in [&mut a, &mut b] {
        c.query_drop("ROLLBACK").await.unwrap();
    }
    let n: Option<i64> = a
        .query_first("SELECT user_id FROM t_user ORDER BY user_id LIMIT 1")
        .await
        .unwrap();
    assert!(n.unwrap_or(0) > 0);
    let _ = stop.send(true);
}

/// A statement over several data sources inside a transaction joins all of them before it
/// runs anywhere: when one is too busy (1040), nothing of the statement happened on the
/// others (its transaction stays open and unchanged).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn too_busy_statement_changes_nothing_in_its_transaction() {
    let (url, stop) = one_connection_pools(Some(2)).await;
    let mut a = Conn::from_url(url.as_str()).await.unwrap();
    let mut b = Conn::from_url(url.as_str()).await.unwrap();
    // a holds ds_1's only connection (user 1 lives there).
    a.query_drop("BEGIN").await.unwrap();
    a.query_drop("SELECT name FROM t_user WHERE user_id = 1")
        .await
        .unwrap();
    b.query_drop("BEGIN").await.unwrap();
    let before: Option<String> = b
        .query_first("SELECT CAST(balance AS CHAR) FROM t_user WHERE user_id = 2")
        .await
        .unwrap();
    let r = b
        .query_drop("UPDATE t_user SET balance = balance + 1 WHERE user_id IN (1, 2)")
        .await;
    assert_eq!(r.as_ref().err().map(code), Some(1040), "{r:?}");
    let after: Option<String> = b
        .query_first("SELECT CAST(balance AS CHAR) FROM t_user WHERE user_id = 2")
        .await
        .unwrap();
    assert_eq!(
        before, after,
        "the statement ran on ds_0 before ds_1 was refused"
    );
    b.query_drop("ROLLBACK").await.unwrap();
    a.query_drop("ROLLBACK").await.unwrap();
    let _ = stop.send(true);
}
