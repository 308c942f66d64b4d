//! Distributed-transaction throughput: `cargo bench --bench xa` (see docs/benchmarks.md).
//!
//! Starts two local MariaDB shards and two in-process proxies on them (XA mode and LOCAL
//! mode), then runs the same transfer transaction (two UPDATEs + COMMIT) from concurrent
//! clients for a few seconds each: both rows on one shard (LOCAL, and XA one-phase) and rows
//! on two shards (XA two-phase with the fsync'ed decision log). Prints TPS and ratios.
//! Without `--bench` (as `cargo test --all-targets` runs it) it does nothing.

use mysql_async::prelude::Queryable;
use shardgate::localdb::{LocalMariaDb, LocalOptions};
use shardgate::server::{Server, Shared};
use std::sync::Arc;
use std::time::{Duration, Instant};

const USERS: u64 = 1000;
const CLIENTS: usize = 8;
const SECONDS: u64 = 5;

async fn proxy(ports: &[u16], mode: shardgate::txn::TxnMode, dir: &std::path::Path) -> String {
    let mut config = shardgate::rules::parse(shardgate::demo::RULES, "rules.toml").expect("rules");
    for (i, p) in ports.iter().enumerate() {
        config
            .data_sources
            .get_mut(&format!("ds_{i}"))
            .expect("ds")
            .port = *p;
    }
    config.server.transaction_mode = mode;
    config.server.xa_log = dir.join(format!("{mode:?}.log")).display().to_string();
    let shared = Arc::new(Shared::new(config).await.expect("proxy"));
    let server = Server::bind("127.0.0.1:0", shared).await.expect("bind");
    let addr = server.local_addr().expect("addr");
    let (_tx, rx) = tokio::sync::watch::channel(false);
    std::mem::forget(_tx);
    tokio::spawn(server.run(rx));
    format!("mysql://root:root@127.0.0.1:{}/shop", addr.port())
}

/// Transactions per second for `pick(client, i) -> (user a, user b)`.
async fn run(url: &str, pick: fn(u64, u64) -> (u64, u64)) -> f64 {
    let deadline = Instant::now() + Duration::from_secs(SECONDS);
    let mut tasks = Vec::new();
    for c in 0..CLIENTS as u64 {
        let url = url.to_string();
        tasks.push(tokio::spawn(async move {
            let mut conn = mysql_async::Conn::from_url(url).await.expect("client");
            let mut n = 0u64;
            let mut i = 0u64;
            while Instant::now() < deadline {
                i += 1;
                let (a, b) = pick(c, i);
                let r: Result<(), mysql_async::Error> = async {
                    conn.query_drop("BEGIN").await?;
                    conn.exec_drop(
                        "UPDATE t_user SET balance = balance - 1 WHERE user_id = ?",
                        (a,),
                    )
                    .await?;
                    conn.exec_drop(
                        "UPDATE t_user SET balance = balance + 1 WHERE user_id = ?",
                        (b,),
                    )
                    .await?;
                    conn.query_drop("COMMIT").await
                }
                .await;
                if r.is_ok() {
                    n += 1;
                }
            }
            n
        }));
    }
    let mut total = 0;
    for t in tasks {
        total += t.await.unwrap_or(0);
    }
    total as f64 / SECONDS as f64
}

/// Users spread so concurrent clients rarely touch the same rows.
fn same_shard(c: u64, i: u64) -> (u64, u64) {
    let base = (c * 97 + i * 2) % (USERS - 4);
    let a = base - base % 2 + 2; // even: ds_0
    (a, a + 2)
}

fn two_shards(c: u64, i: u64) -> (u64, u64) {
    let (a, _) = same_shard(c, i);
    (a, a + 1) // even and odd: ds_0 and ds_1
}

fn main() {
    if !std::env::args().any(|a| a == "--bench") {
        println!("xa bench: skipped without --bench (run `cargo bench --bench xa`)");
        return;
    }
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    rt.block_on(async {
        let opts: Vec<LocalOptions> = (0..2)
            .map(|i| {
                let mut o = LocalOptions::temp(format!("bench_ds_{i}"));
                o.init_sql = vec![format!("CREATE DATABASE shop_{i}")];
                // Durable commits, as in production: XA pays for its fsyncs here.
                o.fast_durability = false;
                o
            })
            .collect();
        let shards = LocalMariaDb::start_many(opts).await.expect("shards");
        let ports: Vec<u16> = shards.iter().map(|s| s.port()).collect();
        let dir = std::env::temp_dir().join(format!("shardgate-xa-bench-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("dir");
        let xa = proxy(&ports, shardgate::txn::TxnMode::Xa, &dir).await;
        let local = proxy(&ports, shardgate::txn::TxnMode::Local, &dir).await;
        shardgate::demo::run_script(&xa, shardgate::demo::SCHEMA)
            .await
            .expect("schema");
        let rows: Vec<String> = (1..=USERS)
            .map(|u| format!("({u}, 'u{u}', 1000.00, NOW())"))
            .collect();
        shardgate::demo::run_script(
            &xa,
            &format!(
                "INSERT INTO t_user (user_id, name, balance, created_at) VALUES {};",
                rows.join(", ")
            ),
        )
        .await
        .expect("users");
        println!("xa bench: {CLIENTS} clients, {SECONDS} s each, transfer = 2 UPDATEs + COMMIT");
        let local_1 = run(&local, same_shard).await;
        println!("1 shard, LOCAL mode            {local_1:>9.0} tps");
        let xa_1 = run(&xa, same_shard).await;
        println!(
            "1 shard, XA mode (one phase)   {xa_1:>9.0} tps   {:.2}x of LOCAL",
            xa_1 / local_1
        );
        let xa_2 = run(&xa, two_shards).await;
        println!(
            "2 shards, XA two-phase         {xa_2:>9.0} tps   {:.2}x of 1-shard LOCAL",
            xa_2 / local_1
        );
        let local_2 = run(&local, two_shards).await;
        println!("2 shards, LOCAL (not atomic)   {local_2:>9.0} tps");
        for s in shards {
            let _ = s.stop().await;
        }
        let _ = std::fs::remove_dir_all(&dir);
    });
}
