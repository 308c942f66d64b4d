//! `shardgate reshard` end to end: the example on two data sources moved to four while
//! writers insert, update and delete through the proxy; the proxy killed mid-copy and the
//! job resumed; the CLI killed mid-copy and after the copy; every acknowledged write present
//! afterwards and nothing else; reads never wrong; verify equal; the new rules persisted;
//! rollback keeps the writes made after the cutover. The cutover holds only the moving
//! tables. The proxy killed at its cutover serves one layout.

use crate::harness::{shared, Endpoints};
use mysql_async::prelude::Queryable;
use std::collections::BTreeMap;
use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Rows loaded before the job (the issue asks for at least 200,000).
const ROWS: u64 = 200_000;
const WRITERS: u64 = 3;

fn rules(ep: &Endpoints, dir: &Path, text: &str, dbs: &[(&str, &str)]) -> String {
    let mut t = text
        .replace("port = 3316", "port = @SHARD0@")
        .replace("port = 3317", "port = @SHARD1@")
        .replace("@SHARD0@", &ep.shard_ports[0].to_string())
        .replace("@SHARD1@", &ep.shard_ports[1].to_string())
        .replace(
            "worker_id = 0",
            &format!(
                "worker_id = 7\nxa_log = \"{}\"\nstate_dir = \"{}\"",
                dir.join("xa.log").display(),
                dir.display()
            ),
        )
        .replace("metrics_listen", "# metrics_listen");
    for (from, to) in dbs {
        t = t.replace(
            &format!("database = \"{from}"),
            &format!("database = \"{to}"),
        );
    }
    t
}

async fn spawn_proxy(dir: &Path, port: u16) -> tokio::process::Child {
    spawn_proxy_with(dir, port, None).await
}

async fn spawn_proxy_with(dir: &Path, port: u16, failpoint: Option<&str>) -> tokio::process::Child {
    let mut cmd = tokio::process::Command::new(env!("CARGO_BIN_EXE_shardgate"));
    cmd.arg("serve")
        .arg("--config")
        .arg(dir.join("rules.toml"))
        .arg("--listen")
        .arg(format!("127.0.0.1:{port}"))
        .env("SHARDGATE_LOG", "info");
    match failpoint {
        Some(f) => cmd.env("SHARDGATE_FAILPOINT", f),
        None => cmd.env_remove("SHARDGATE_FAILPOINT"),
    };
    cmd.stderr(
        std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(dir.join("stderr.log"))
            .expect("log"),
    )
    .kill_on_drop(true);
    let child = cmd.spawn().expect("spawn shardgate");
    for _ in 0..200 {
        if tokio::net::TcpStream::connect(("127.0.0.1", port))
            .await
            .is_ok()
        {
            return child;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("shardgate serve did not start");
}

async fn cli(port: u16, args: &[&str]) -> (bool, String) {
    let out = tokio::process::Command::new(env!("CARGO_BIN_EXE_shardgate"))
        .arg("reshard")
        .args(args)
        .arg("--proxy")
        .arg(format!("127.0.0.1:{port}"))
        .arg("--user")
        .arg("root")
        .arg("--password")
        .arg("root")
        .output()
        .await
        .expect("run reshard");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.success(), text)
}

/// `shardgate reshard --to rules-4ds.toml --yes` as a process of its own (to kill).
fn cli_child(port: u16, dir: &Path) -> tokio::process::Child {
    tokio::process::Command::new(env!("CARGO_BIN_EXE_shardgate"))
        .arg("reshard")
        .arg("--to")
        .arg(dir.join("rules-4ds.toml"))
        .arg("--yes")
        .arg("--proxy")
        .arg(format!("127.0.0.1:{port}"))
        .args(["--user", "root", "--password", "root"])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .expect("run reshard")
}

/// Poll the job's status until `done` holds (60 s at most); that status.
async fn wait_for(
    url: &str,
    done: impl Fn(&BTreeMap<String, String>) -> bool,
) -> BTreeMap<String, String> {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let s = status(url).await;
        if done(&s) {
            return s;
        }
        assert!(
            Instant::now() < deadline,
            "the job did not get there: {s:?}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

async fn status(url: &str) -> BTreeMap<String, String> {
    let mut c = mysql_async::Conn::from_url(url).await.expect("proxy");
    let rows: Vec<(String, Option<String>)> =
        c.query("SHOW RESHARD STATUS").await.unwrap_or_default();
    c.disconnect().await.ok();
    rows.into_iter()
        .map(|(k, v)| (k, v.unwrap_or_default()))
        .collect()
}

/// A connection to a proxy that has just started (a few tries).
async fn connect(url: &str) -> mysql_async::Conn {
    let mut last = None;
    for _ in 0..10 {
        match mysql_async::Conn::from_url(url).await {
            Ok(c) => return c,
            Err(e) => last = Some(e),
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    panic!("proxy at {url}: {last:?}");
}

/// What an acknowledged statement does to the model.
type Effect = Box<dyn Fn(&mut BTreeMap<u64, Option<u64>>) + Send>;

/// What each writer's acknowledged statements left: order_id → amount (None: deleted).
type Model = Arc<Mutex<BTreeMap<u64, Option<u64>>>>;

/// Insert, update and delete rows of its own key range until `stop`; only acknowledged
/// statements enter the model (a statement that failed is retried with a new key, and
/// its key is remembered as unknown).
async fn writer(
    url: String,
    w: u64,
    model: Model,
    unknown: Model,
    stop: Arc<AtomicBool>,
    slowest: Arc<AtomicU64>,
) {
    let mut c = mysql_async::Conn::from_url(&url).await.expect("writer");
    let base = 1_000_000_000 * (w + 1);
    let mut next = 0u64;
    let mut live: Vec<u64> = Vec::new();
    while !stop.load(Ordering::Relaxed) {
        let op = next % 5;
        let t = Instant::now();
        let (sql, effect): (String, Effect) = if op < 3 || live.is_empty() {
            let id = base + next;
            let user = next % 16 + 1;
            (
                format!("INSERT INTO t_order (order_id, user_id, status, amount, created_at) VALUES ({id}, {user}, 'NEW', {next}, '2024-01-01')"),
                Box::new(move |m| {
                    m.insert(id, Some(next));
                }),
            )
        } else if op == 3 {
            let id = live[(next as usize * 7) % live.len()];
            (
                format!("UPDATE t_order SET amount = {next} WHERE order_id = {id}"),
                Box::new(move |m| {
                    m.insert(id, Some(next));
                }),
            )
        } else {
            let id = live.swap_remove((next as usize * 3) % live.len());
            (
                format!("DELETE FROM t_order WHERE order_id = {id}"),
                Box::new(move |m| {
                    m.insert(id, None);
                }),
            )
        };
        let r = c.query_drop(&sql).await;
        let ms = t.elapsed().as_millis() as u64;
        slowest.fetch_max(ms, Ordering::Relaxed);
        match r {
            Ok(()) => {
                effect(&mut model.lock().unwrap());
                if op < 3 || sql.starts_with("INSERT") {
                    live.push(base + next);
                }
            }
            Err(e) => {
                // Outcome unknown (the proxy may have been killed): the key is not checked.
                effect(&mut unknown.lock().unwrap());
                eprintln!("writer {w}: {sql}: {e}");
                tokio::time::sleep(Duration::from_millis(100)).await;
                if let Ok(fresh) = mysql_async::Conn::from_url(&url).await {
                    c = fresh;
                }
            }
        }
        next += 1;
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
    c.disconnect().await.ok();
}

/// Read rows no writer touches until `stop`; any wrong answer is counted.
async fn reader(url: String, stop: Arc<AtomicBool>, wrong: Arc<AtomicU64>) {
    let mut k = 1u64;
    let mut c: Option<mysql_async::Conn> = None;
    while !stop.load(Ordering::Relaxed) {
        if c.is_none() {
            c = mysql_async::Conn::from_url(&url).await.ok();
        }
        let Some(conn) = c.as_mut() else {
            tokio::time::sleep(Duration::from_millis(50)).await;
            continue;
        };
        let id = (k * 7919) % ROWS + 1;
        match conn
            .query_first::<(u64, u64), _>(format!(
                "SELECT user_id, CAST(amount AS SIGNED) FROM t_order WHERE order_id = {id}"
            ))
            .await
        {
            Ok(Some((u, a))) if u == id % 16 + 1 && a == id % 1000 => {}
            Ok(other) => {
                eprintln!("read {id}: {other:?}");
                wrong.fetch_add(1, Ordering::Relaxed);
            }
            Err(_) => c = None,
        }
        k += 1;
        tokio::time::sleep(Duration::from_millis(3)).await;
    }
}

/// A directory, fresh physical databases `{prefix}_0/1` (sources) and `{prefix}4_0..3`
/// (targets) on the cluster's servers, and both rules files: (dir, old text, new text).
async fn setup(ep: &Endpoints, prefix: &str) -> (std::path::PathBuf, String, String) {
    let dir = std::env::temp_dir().join(format!("sg-{prefix}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("dir");
    for (i, port) in ep.shard_ports.iter().enumerate() {
        let mut c = mysql_async::Conn::from_url(format!("mysql://root@127.0.0.1:{port}/"))
            .await
            .expect("shard");
        for db in [
            format!("{prefix}_{i}"),
            format!("{prefix}4_{i}"),
            format!("{prefix}4_{}", i + 2),
        ] {
            c.query_drop(format!("DROP DATABASE IF EXISTS {db}"))
                .await
                .expect("drop");
        }
        c.query_drop(format!("CREATE DATABASE {prefix}_{i}"))
            .await
            .expect("create");
        c.disconnect().await.ok();
    }
    let old = rules(
        ep,
        &dir,
        shardgate::demo::RULES,
        &[("shop_", &format!("{prefix}_"))],
    );
    let new = rules(
        ep,
        &dir,
        include_str!("../../examples/ecommerce/rules-4ds.toml"),
        &[("shop4_", &format!("{prefix}4_"))],
    );
    std::fs::write(dir.join("rules.toml"), &old).expect("rules");
    std::fs::write(dir.join("rules-4ds.toml"), &new).expect("rules");
    (dir, old, new)
}

/// The example schema and `n` orders (order i: user i % 16 + 1, amount i % 1000), some
/// users, regions and a config row, through the proxy.
async fn load(url: &str, n: u64) {
    let mut c = connect(url).await;
    for stmt in shardgate::demo::statements(include_str!("../../examples/ecommerce/schema.sql")) {
        c.query_drop(stmt).await.expect("schema");
    }
    let mut id = 1u64;
    while id <= n {
        let rows: Vec<String> = (id..(id + 2000).min(n + 1))
            .map(|i| {
                format!(
                    "({i}, {}, 'PAID', {}, '2024-02-03 04:05:06', NULL)",
                    i % 16 + 1,
                    i % 1000
                )
            })
            .collect();
        id += rows.len() as u64;
        c.query_drop(format!(
            "INSERT INTO t_order (order_id, user_id, status, amount, created_at, note) VALUES {}",
            rows.join(",")
        ))
        .await
        .expect("load");
    }
    c.query_drop("INSERT INTO t_user (user_id, name, created_at) VALUES (1, 'Émile', '2024-01-01'), (2, 'emile', '2024-01-01'), (3, 'Zoë', '2024-01-01')")
        .await
        .expect("users");
    c.query_drop("INSERT INTO t_region VALUES (1, 'north'), (2, 'south')")
        .await
        .expect("regions");
    c.query_drop("INSERT INTO t_config VALUES ('k', 'v')")
        .await
        .expect("config");
    c.disconnect().await.ok();
}

/// Every acknowledged write of the model is on the proxy's current layout, and no other
/// order above the loaded ones.
async fn check_writes(url: &str, model: &Model, unknown: &Model) {
    let mut c = mysql_async::Conn::from_url(url).await.expect("proxy");
    let got: BTreeMap<u64, u64> = c
        .query::<(u64, u64), _>(
            "SELECT order_id, CAST(amount AS SIGNED) FROM t_order WHERE order_id >= 1000000000",
        )
        .await
        .expect("rows")
        .into_iter()
        .collect();
    c.disconnect().await.ok();
    let unknown = unknown.lock().unwrap().clone();
    let model = model.lock().unwrap().clone();
    assert!(model.len() > 20, "writers wrote: {}", model.len());
    for (id, want) in &model {
        if unknown.contains_key(id) {
            continue;
        }
        assert_eq!(got.get(id), want.as_ref(), "order {id}");
    }
    for id in got.keys() {
        assert!(
            model.contains_key(id) || unknown.contains_key(id),
            "order {id} was never written"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_to_four_data_sources_online() {
    let ep = shared();
    let (dir, old, new) = setup(&ep, "rs").await;
    let port = shardgate::localdb::pick_free_port().expect("port");
    let url = format!("mysql://root:root@127.0.0.1:{port}/shop");
    let mut proxy = spawn_proxy(&dir, port).await;
    load(&url, ROWS).await;

    let stop = Arc::new(AtomicBool::new(false));
    let model: Model = Default::default();
    let unknown: Model = Default::default();
    let slowest = Arc::new(AtomicU64::new(0));
    let wrong = Arc::new(AtomicU64::new(0));
    let mut tasks = Vec::new();
    for w in 0..WRITERS {
        tasks.push(tokio::spawn(writer(
            url.clone(),
            w,
            model.clone(),
            unknown.clone(),
            stop.clone(),
            slowest.clone(),
        )));
    }
    tasks.push(tokio::spawn(reader(
        url.clone(),
        stop.clone(),
        wrong.clone(),
    )));
    tokio::time::sleep(Duration::from_millis(300)).await;

    // Start slowly, kill the proxy mid-copy, start it again: the job resumes.
    let rules_4ds = dir.join("rules-4ds.toml").display().to_string();
    let cli_task = tokio::spawn(async move {
        cli(
            port,
            &["--to", &rules_4ds, "--yes", "--max-rows-per-sec", "40000"],
        )
        .await
    });
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let s = status(&url).await;
        let copied: u64 = s
            .get("rows_copied")
            .and_then(|v| v.parse().ok())
            .unwrap_or(0);
        if copied >= ROWS / 4 {
            assert_eq!(s.get("phase").map(String::as_str), Some("copying"), "{s:?}");
            break;
        }
        assert!(Instant::now() < deadline, "copy did not start: {s:?}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    proxy.kill().await.expect("kill");
    let _ = proxy.wait().await;
    let (ok, out) = cli_task.await.expect("cli");
    assert!(!ok, "the CLI saw its proxy die: {out}");
    proxy = spawn_proxy(&dir, port).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let s = status(&url).await;
    let copied: u64 = s
        .get("rows_copied")
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    // Progress is saved at most twice a second: it goes on from the last chunk saved.
    assert!(copied > 0, "resumed from its saved chunk: {s:?}");
    // The command is only a follower: killed mid-copy and mid-catch-up, the job goes on.
    let mut follower = cli_child(port, &dir);
    wait_for(&url, |s| {
        s.get("rows_copied").and_then(|v| v.parse::<u64>().ok()) > Some(copied)
    })
    .await;
    follower.kill().await.expect("kill the CLI");
    let mut follower = cli_child(port, &dir);
    let s = wait_for(&url, |s| {
        s.get("phase").map(String::as_str) != Some("copying")
    })
    .await;
    follower.kill().await.expect("kill the CLI");
    let _ = follower.wait().await;
    let phase = s.get("phase").cloned().unwrap_or_default();
    assert!(
        ["catching_up", "verifying", "cutting_over", "cut_over"].contains(&phase.as_str()),
        "{s:?}"
    );
    // Running the command again follows the resumed job to its cutover.
    let (ok, out) = cli(
        port,
        &[
            "--to",
            &dir.join("rules-4ds.toml").display().to_string(),
            "--yes",
        ],
    )
    .await;
    assert!(ok, "{out}");
    assert!(out.contains("write pause:"), "{out}");
    let s = status(&url).await;
    assert_eq!(
        s.get("phase").map(String::as_str),
        Some("cut_over"),
        "{s:?}"
    );
    let pause: u64 = s["pause_ms"].parse().expect("pause");
    tokio::time::sleep(Duration::from_millis(500)).await;
    stop.store(true, Ordering::Relaxed);
    for t in tasks {
        t.await.expect("task");
    }
    assert_eq!(
        wrong.load(Ordering::Relaxed),
        0,
        "reads returned wrong rows"
    );

    // Every acknowledged write, and nothing else, on the new layout.
    check_writes(&url, &model, &unknown).await;
    let mut c = mysql_async::Conn::from_url(&url).await.expect("proxy");
    let plan: Vec<(String, String, String)> = c
        .query("EXPLAIN SHARDING SELECT * FROM t_order WHERE user_id = 3")
        .await
        .expect("explain");
    assert_eq!(plan[0].1, "ds_3", "served by the new rules: {plan:?}");
    let (n,): (u64,) = c
        .query_first("SELECT COUNT(*) FROM t_order WHERE order_id <= 200000")
        .await
        .expect("count")
        .expect("row");
    assert_eq!(n, ROWS);
    let users: Vec<String> = c
        .query("SELECT name FROM t_user ORDER BY name, user_id")
        .await
        .expect("users");
    assert_eq!(users, ["Émile", "emile", "Zoë"]);
    let (v,): (String,) = c
        .query_first("SELECT v FROM t_config WHERE k = 'k'")
        .await
        .expect("config")
        .expect("row");
    assert_eq!(v, "v");
    c.disconnect().await.ok();
    let (ok, out) = cli(port, &["verify"]).await;
    assert!(ok, "{out}");
    // The new rules are the file now: a restarted proxy serves them.
    assert_eq!(
        std::fs::read_to_string(dir.join("rules.toml")).expect("rules"),
        new
    );
    eprintln!(
        "reshard: write pause {pause} ms, slowest write {} ms",
        slowest.load(Ordering::Relaxed)
    );
    assert!(pause < 1000, "write pause {pause} ms");

    // Writes after the cutover reach the old layout (reverse replication); rollback serves it.
    let mut c = mysql_async::Conn::from_url(&url).await.expect("proxy");
    c.query_drop("INSERT INTO t_order (order_id, user_id, status, amount, created_at) VALUES (5, 6, 'NEW', 1, '2024-01-01') ON DUPLICATE KEY UPDATE amount = 4242")
        .await
        .expect("write");
    c.query_drop("DELETE FROM t_order WHERE order_id = 6")
        .await
        .expect("delete");
    c.disconnect().await.ok();
    let (ok, out) = cli(port, &["rollback"]).await;
    assert!(ok, "{out}");
    let mut c = mysql_async::Conn::from_url(&url).await.expect("proxy");
    let plan: Vec<(String, String, String)> = c
        .query("EXPLAIN SHARDING SELECT * FROM t_order WHERE user_id = 3")
        .await
        .expect("explain");
    assert_eq!(plan[0].1, "ds_1", "the old rules again: {plan:?}");
    let a: Option<u64> = c
        .query_first("SELECT CAST(amount AS SIGNED) FROM t_order WHERE order_id = 5")
        .await
        .expect("read");
    assert_eq!(a, Some(4242));
    let gone: Option<u64> = c
        .query_first("SELECT CAST(amount AS SIGNED) FROM t_order WHERE order_id = 6")
        .await
        .expect("read");
    assert_eq!(gone, None);
    c.disconnect().await.ok();
    assert_eq!(
        std::fs::read_to_string(dir.join("rules.toml")).expect("rules"),
        old
    );
    proxy.kill().await.ok();
    let _ = proxy.wait().await;
    let _ = std::fs::remove_dir_all(&dir);
}

/// A proxy killed during the cutover comes back serving one layout: the old one when it
/// died before the rules file was replaced (the job then catches up and cuts over again),
/// the new one when it died after (reverse replication resumes). No acknowledged write is
/// lost either way.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn proxy_killed_during_cutover_serves_one_layout() {
    let ep = shared();
    for (prefix, point, first_layout) in [
        ("rcb", "reshard_switch_before_file", "ds_1"),
        ("rca", "reshard_switch_after_file", "ds_3"),
    ] {
        let (dir, old, new) = setup(&ep, prefix).await;
        let port = shardgate::localdb::pick_free_port().expect("port");
        let url = format!("mysql://root:root@127.0.0.1:{port}/shop");
        let mut proxy = spawn_proxy_with(&dir, port, Some(point)).await;
        load(&url, 3000).await;
        let stop = Arc::new(AtomicBool::new(false));
        let model: Model = Default::default();
        let unknown: Model = Default::default();
        let slowest = Arc::new(AtomicU64::new(0));
        let writer_task = tokio::spawn(writer(
            url.clone(),
            0,
            model.clone(),
            unknown.clone(),
            stop.clone(),
            slowest,
        ));
        let to = dir.join("rules-4ds.toml").display().to_string();
        let (ok, out) = cli(port, &["--to", &to, "--yes"]).await;
        assert!(!ok, "{point}: the proxy dies at its cutover: {out}");
        let _ = proxy.wait().await;
        let file = std::fs::read_to_string(dir.join("rules.toml")).expect("rules");
        assert_eq!(file == new, point.ends_with("after_file"), "{point}");
        proxy = spawn_proxy(&dir, port).await;
        // Served at once by one layout.
        let mut c = mysql_async::Conn::from_url(&url).await.expect("proxy");
        let plan: Vec<(String, String, String)> = c
            .query("EXPLAIN SHARDING SELECT * FROM t_order WHERE user_id = 3")
            .await
            .expect("explain");
        assert_eq!(plan[0].1, first_layout, "{point}: {plan:?}");
        c.disconnect().await.ok();
        // Either way the job ends cut over: followed by the same command.
        let (ok, out) = cli(port, &["--to", &to, "--yes"]).await;
        assert!(ok, "{point}: {out}");
        tokio::time::sleep(Duration::from_millis(300)).await;
        stop.store(true, Ordering::Relaxed);
        writer_task.await.expect("writer");
        let s = status(&url).await;
        assert_eq!(
            s.get("phase").map(String::as_str),
            Some("cut_over"),
            "{point}: {s:?}"
        );
        check_writes(&url, &model, &unknown).await;
        let (ok, out) = cli(port, &["verify"]).await;
        assert!(ok, "{point}: {out}");
        assert_eq!(
            std::fs::read_to_string(dir.join("rules.toml")).expect("rules"),
            new
        );
        // complete: reverse replication stops and the old tables go.
        let (ok, out) = cli(port, &["complete", "--yes"]).await;
        assert!(ok, "{point}: {out}");
        let mut c = mysql_async::Conn::from_url(format!(
            "mysql://root@127.0.0.1:{}/{prefix}_1",
            ep.shard_ports[1]
        ))
        .await
        .expect("shard");
        let left: Vec<String> = c.query("SHOW TABLES").await.expect("tables");
        assert!(left.is_empty(), "{point}: old tables left: {left:?}");
        c.disconnect().await.ok();
        let _ = old;
        proxy.kill().await.ok();
        let _ = proxy.wait().await;
        let _ = std::fs::remove_dir_all(&dir);
    }
}

mod scoped;
