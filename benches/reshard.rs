//! Online resharding figures: `scripts/bench-reshard.sh` (or `cargo bench --bench reshard`;
//! see docs/benchmarks.md and docs/resharding.md).
//!
//! Starts two local MariaDB servers and an in-process proxy serving the e-commerce example
//! (from a rules file, as `shardgate serve` does), loads `ROWS` orders, and keeps writers
//! inserting and updating through the proxy at about `WRITES_PER_SEC`. Then, `CYCLES`
//! times: reshard to the four-data-source rules (copy, catch-up, verify, cutover), roll back
//! (a second cutover), and drop the targets. Prints the copy rate, the catch-up rate, every
//! cutover's write pause and the slowest acknowledged write. Without `--bench` (as `cargo
//! test --all-targets` runs it) it does nothing.

use mysql_async::prelude::Queryable;
use shardgate::localdb::{LocalMariaDb, LocalOptions};
use shardgate::server::{Server, Shared};
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

fn env(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn rules(text: &str, ports: &[u16], dir: &std::path::Path) -> String {
    text.replace("port = 3316", "port = @0@")
        .replace("port = 3317", "port = @1@")
        .replace("@0@", &ports[0].to_string())
        .replace("@1@", &ports[1].to_string())
        .replace(
            "worker_id = 0",
            &format!(
                "worker_id = 0\nxa_log = \"{}\"\nstate_dir = \"{}\"",
                dir.join("xa.log").display(),
                dir.display()
            ),
        )
        .replace("metrics_listen", "# metrics_listen")
}

async fn status(c: &mut mysql_async::Conn) -> BTreeMap<String, String> {
    let rows: Vec<(String, Option<String>)> =
        c.query("SHOW RESHARD STATUS").await.unwrap_or_default();
    rows.into_iter()
        .map(|(k, v)| (k, v.unwrap_or_default()))
        .collect()
}

/// Follow the job until `phase`; returns (seconds in copying, seconds catching up, changes
/// applied while catching up).
async fn wait_for(c: &mut mysql_async::Conn, phase: &str) -> (f64, f64, u64) {
    let t0 = Instant::now();
    let mut copy_end = None;
    let mut catch_start_changes = 0u64;
    let mut catch_end = None;
    let mut catch_changes = 0u64;
    loop {
        let s = status(c).await;
        let p = s.get("phase").cloned().unwrap_or_default();
        let changes: u64 = s
            .get("changes_applied")
            .and_then(|v| v.parse().ok())
            .unwrap_or(0);
        if p != "copying" && copy_end.is_none() {
            copy_end = Some(t0.elapsed().as_secs_f64());
            catch_start_changes = changes;
        }
        if copy_end.is_some() && p != "catching_up" && catch_end.is_none() {
            catch_end = Some(t0.elapsed().as_secs_f64());
            catch_changes = changes - catch_start_changes;
        }
        if p == phase {
            let copy = copy_end.unwrap_or(0.0);
            return (copy, catch_end.unwrap_or(copy) - copy, catch_changes);
        }
        assert!(
            !matches!(p.as_str(), "failed" | "cancelled"),
            "reshard {p}: {s:?}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

fn main() {
    if !std::env::args().any(|a| a == "--bench") {
        println!("reshard bench: skipped without --bench (run scripts/bench-reshard.sh)");
        return;
    }
    let rows = env("RESHARD_ROWS", 200_000);
    let writes_per_sec = env("RESHARD_WRITES_PER_SEC", 1500);
    let cycles = env("RESHARD_CYCLES", 5);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .thread_stack_size(shardgate::server::WORKER_STACK_SIZE)
        .build()
        .expect("runtime");
    rt.block_on(async {
        let opts: Vec<LocalOptions> = (0..2)
            .map(|i| {
                let mut o = LocalOptions::temp(format!("bench_rs_{i}"));
                o.init_sql = vec![format!("CREATE DATABASE shop_{i}")];
                o
            })
            .collect();
        let shards = LocalMariaDb::start_many(opts).await.expect("shards");
        let ports: Vec<u16> = shards.iter().map(|s| s.port()).collect();
        let dir = std::env::temp_dir().join(format!("shardgate-reshard-bench-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("dir");
        let old = rules(shardgate::demo::RULES, &ports, &dir);
        let new = rules(include_str!("../examples/ecommerce/rules-4ds.toml"), &ports, &dir);
        let path = dir.join("rules.toml");
        std::fs::write(&path, &old).expect("rules");
        let config = shardgate::rules::parse(&old, "rules.toml").expect("rules");
        let shared = Arc::new(Shared::new(config).await.expect("proxy"));
        shared.rules.set(Some(path.clone()), old.clone());
        let server = Server::bind("127.0.0.1:0", shared).await.expect("bind");
        let url = format!("mysql://root:root@127.0.0.1:{}/shop", server.local_addr().expect("addr").port());
        let (_tx, rx) = tokio::sync::watch::channel(false);
        tokio::spawn(server.run(rx));
        shardgate::demo::run_script(&url, shardgate::demo::SCHEMA).await.expect("schema");
        let mut c = mysql_async::Conn::from_url(&url).await.expect("proxy");
        let mut id = 1;
        while id <= rows {
            let batch: Vec<String> = (id..(id + 2000).min(rows + 1))
                .map(|i| format!("({i}, {}, 'PAID', {}.25, '2024-02-03 04:05:06', 'bench row {i}')", i % 1000 + 1, i % 997))
                .collect();
            id += batch.len() as u64;
            c.query_drop(format!(
                "INSERT INTO t_order (order_id, user_id, status, amount, created_at, note) VALUES {}",
                batch.join(",")
            ))
            .await
            .expect("load");
        }
        // Writers: inserts and updates at about `writes_per_sec` in all.
        let stop = Arc::new(AtomicBool::new(false));
        let slowest = Arc::new(AtomicU64::new(0));
        let done = Arc::new(AtomicU64::new(0));
        let writers = 6u64;
        let mut tasks = Vec::new();
        for w in 0..writers {
            let (url, stop, slowest, done) = (url.clone(), stop.clone(), slowest.clone(), done.clone());
            tasks.push(tokio::spawn(async move {
                let mut c = mysql_async::Conn::from_url(&url).await.expect("writer");
                let every = Duration::from_secs_f64(writers as f64 / writes_per_sec as f64);
                let start = Instant::now();
                let mut n = 0u64;
                while !stop.load(Ordering::Relaxed) {
                    let due = start + every * n as u32;
                    if let Some(wait) = due.checked_duration_since(Instant::now()) {
                        tokio::time::sleep(wait).await;
                    }
                    let key = 1_000_000_000 * (w + 1) + n;
                    let sql = if n.is_multiple_of(2) {
                        format!("INSERT INTO t_order (order_id, user_id, status, amount, created_at) VALUES ({key}, {}, 'NEW', 1.00, NOW())", n % 1000 + 1)
                    } else {
                        format!("UPDATE t_order SET amount = amount + 1 WHERE order_id = {}", key - 1)
                    };
                    let t = Instant::now();
                    if c.query_drop(sql).await.is_ok() {
                        slowest.fetch_max(t.elapsed().as_micros() as u64, Ordering::Relaxed);
                        done.fetch_add(1, Ordering::Relaxed);
                    }
                    n += 1;
                }
            }));
        }
        let started = Instant::now();
        println!("reshard bench: {rows} orders, writers at ~{writes_per_sec}/s, {cycles} cycles of reshard + rollback");
        println!("| cycle | copy rows/s | catch-up changes/s | cutover pause ms | rollback pause ms |");
        println!("|---|---|---|---|---|");
        let mut pauses = Vec::new();
        let mut admin = mysql_async::Conn::from_url(&url).await.expect("admin");
        for cycle in 1..=cycles {
            let lit = shardgate::reshard::values::string_literal(new.as_bytes());
            admin.query_drop(format!("RESHARD START {lit}")).await.expect("start");
            let (copy_s, catch_s, changes) = wait_for(&mut admin, "cut_over").await;
            let s = status(&mut admin).await;
            let copied: f64 = s["rows_copied"].parse().unwrap_or(0.0);
            let pause: u64 = s["pause_ms"].parse().unwrap_or(0);
            eprintln!("cutover steps: {}", s["pause_steps"]);
            admin.query_drop("RESHARD ROLLBACK").await.expect("rollback");
            wait_for(&mut admin, "rolled_back").await;
            let back: u64 = status(&mut admin).await["pause_ms"].parse().unwrap_or(0);
            pauses.push(pause);
            pauses.push(back);
            println!(
                "| {cycle} | {:.0} | {:.0} ({changes} in {catch_s:.2} s) | {pause} | {back} |",
                copied / copy_s.max(0.001),
                changes as f64 / catch_s.max(0.001)
            );
            // Drop the targets so the next job starts fresh.
            for (i, p) in ports.iter().enumerate() {
                let mut c = mysql_async::Conn::from_url(format!("mysql://root@127.0.0.1:{p}/")).await.expect("shard");
                for db in [format!("shop4_{i}"), format!("shop4_{}", i + 2)] {
                    c.query_drop(format!("DROP DATABASE IF EXISTS {db}")).await.expect("drop");
                }
                c.disconnect().await.ok();
            }
        }
        stop.store(true, Ordering::Relaxed);
        for t in tasks {
            let _ = t.await;
        }
        let secs = started.elapsed().as_secs_f64();
        println!(
            "writes: {:.0}/s acknowledged; slowest {:.1} ms; cutover pauses max {} ms over {} cutovers",
            done.load(Ordering::Relaxed) as f64 / secs,
            slowest.load(Ordering::Relaxed) as f64 / 1000.0,
            pauses.iter().max().copied().unwrap_or(0),
            pauses.len()
        );
        for s in shards {
            let _ = s.stop().await;
        }
        let _ = std::fs::remove_dir_all(&dir);
    });
}
