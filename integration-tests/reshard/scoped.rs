//! `shardgate reshard` beyond the happy path: the cutover holds only the moving tables, and
//! the copy survives the servers dropping its connections.

use super::*;

/// The cutover holds only the moving tables: transactions left open on other tables do not
/// stop it, a transaction that reaches a moving table after the switch is told to retry
/// (1412), and one open on a moving table holds the cutover until it commits (its write
/// then follows). Only admin users may reshard.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn cutover_waits_only_for_the_moving_tables() {
    let ep = shared();
    let (dir, old, _) = setup(&ep, "rgs").await;
    // Only t_config moves (a single table from ds_0 to ds_1); an app user without admin.
    let new = old.replace(
        "single_tables = { t_config = \"ds_0\" }",
        "single_tables = { t_config = \"ds_1\" }",
    );
    assert_ne!(new, old);
    let app = "\n[[databases.shop.users]]\nname = \"app\"\npassword = \"app\"\n";
    let old = format!("{old}{app}");
    let new = format!("{new}{app}");
    std::fs::write(dir.join("rules.toml"), &old).expect("rules");
    std::fs::write(dir.join("rules-config.toml"), &new).expect("rules");
    let port = shardgate::localdb::pick_free_port().expect("port");
    let url = format!("mysql://root:root@127.0.0.1:{port}/shop");
    let mut proxy = spawn_proxy(&dir, port).await;
    load(&url, 100).await;

    let mut app = connect(&format!("mysql://app:app@127.0.0.1:{port}/shop")).await;
    for stmt in ["SHOW RESHARD STATUS", "RESHARD PLAN ''", "RESHARD CUTOVER"] {
        let e = app.query_drop(stmt).await.expect_err(stmt);
        assert!(e.to_string().contains("1227"), "{stmt}: {e}");
    }
    // Idle transactions on tables that stay.
    let mut writer = connect(&url).await;
    writer.query_drop("BEGIN").await.expect("begin");
    writer
        .query_drop("UPDATE t_user SET name = 'Anna' WHERE user_id = 1")
        .await
        .expect("update");
    let mut late = connect(&url).await;
    late.query_drop("BEGIN").await.expect("begin");
    let _: Vec<u64> = late
        .query("SELECT user_id FROM t_user")
        .await
        .expect("read");
    let to = dir.join("rules-config.toml").display().to_string();
    let (ok, out) = cli(port, &["--to", &to, "--yes"]).await;
    assert!(ok, "{out}");
    let s = status(&url).await;
    assert_eq!(
        s.get("cutover_attempts").map(String::as_str),
        Some("1"),
        "{s:?}"
    );
    // The late transaction planned against the old rules: t_config is out of its reach.
    let e = late
        .query_drop("SELECT * FROM t_config")
        .await
        .expect_err("stale");
    assert!(e.to_string().contains("1412"), "{e}");
    late.query_drop("ROLLBACK").await.expect("rollback");
    writer.query_drop("COMMIT").await.expect("commit");

    // Rolling back while a transaction holds a moving table: the cutover waits for it (the
    // first attempts give up) and its write is on the old layout afterwards.
    let mut holder = connect(&url).await;
    holder.query_drop("BEGIN").await.expect("begin");
    holder
        .query_drop("UPDATE t_config SET v = 'held' WHERE k = 'k'")
        .await
        .expect("update");
    let commit = tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(2500)).await;
        holder.query_drop("COMMIT").await.expect("commit");
        holder.disconnect().await.ok();
    });
    let (ok, out) = cli(port, &["rollback", "--yes"]).await;
    assert!(ok, "{out}");
    commit.await.expect("commit");
    let s = status(&url).await;
    assert_eq!(
        s.get("phase").map(String::as_str),
        Some("rolled_back"),
        "{s:?}"
    );
    let attempts: u32 = s["cutover_attempts"].parse().expect("attempts");
    assert!(attempts >= 2, "{s:?}");
    let mut c = connect(&url).await;
    let v: Option<String> = c
        .query_first("SELECT v FROM t_config WHERE k = 'k'")
        .await
        .expect("config");
    assert_eq!(v.as_deref(), Some("held"));
    let name: Option<String> = c
        .query_first("SELECT name FROM t_user WHERE user_id = 1")
        .await
        .expect("user");
    assert_eq!(name.as_deref(), Some("Anna"));
    let plan: Vec<(String, String, String)> = c
        .query("EXPLAIN SHARDING SELECT * FROM t_config")
        .await
        .expect("explain");
    assert_eq!(plan[0].1, "ds_0", "{plan:?}");
    c.disconnect().await.ok();
    app.disconnect().await.ok();
    proxy.kill().await.ok();
    let _ = proxy.wait().await;
    let _ = std::fs::remove_dir_all(&dir);
}

/// Local ports of the TCP connections process `pid` holds (from `ss`).
fn client_ports(pid: u32) -> Vec<u16> {
    let out = std::process::Command::new("ss")
        .args(["-Htnp", "state", "established"])
        .output()
        .expect("ss");
    let tag = format!("pid={pid},");
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter(|l| l.contains(&tag))
        .filter_map(|l| {
            let local = l.split_whitespace().nth(2)?;
            local.rsplit(':').next()?.parse().ok()
        })
        .collect()
}

/// The servers drop the job's connections (as a restart or a `wait_timeout` would) during
/// the copy, twice: each chunk that fails is tried again on new connections, and the job
/// still ends cut over and verified.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn copy_survives_dropped_connections() {
    let ep = shared();
    let (dir, _, _) = setup(&ep, "rkc").await;
    let port = shardgate::localdb::pick_free_port().expect("port");
    let url = format!("mysql://root:root@127.0.0.1:{port}/shop");
    let mut proxy = spawn_proxy(&dir, port).await;
    load(&url, 20_000).await;
    let to = dir.join("rules-4ds.toml").display().to_string();
    let job = tokio::spawn(async move {
        cli(port, &["--to", &to, "--yes", "--max-rows-per-sec", "4000"]).await
    });
    let mut killed = 0;
    for round in 1..=2u64 {
        wait_for(&url, |s| {
            s.get("rows_copied").and_then(|v| v.parse::<u64>().ok()) > Some(round * 3000)
        })
        .await;
        // Every connection of this proxy (the job's and its pool's): the servers know them
        // by their client address.
        let ours = client_ports(proxy.id().expect("pid"));
        for port in &ep.shard_ports {
            let mut c = mysql_async::Conn::from_url(format!("mysql://root@127.0.0.1:{port}/"))
                .await
                .expect("shard");
            let list: Vec<(u64, String)> = c
                .query("SELECT ID, HOST FROM information_schema.PROCESSLIST")
                .await
                .expect("processlist");
            let ids = list.into_iter().filter_map(|(id, host)| {
                let p: u16 = host.rsplit(':').next()?.parse().ok()?;
                ours.contains(&p).then_some(id)
            });
            for id in ids {
                if c.query_drop(format!("KILL CONNECTION {id}")).await.is_ok() {
                    killed += 1;
                }
            }
            c.disconnect().await.ok();
        }
    }
    assert!(killed > 0, "no connection of the job was found");
    let (ok, out) = job.await.expect("cli");
    assert!(ok, "{out}");
    let s = status(&url).await;
    assert_eq!(
        s.get("phase").map(String::as_str),
        Some("cut_over"),
        "{s:?}"
    );
    let (ok, out) = cli(port, &["verify"]).await;
    assert!(ok, "{out}");
    let mut c = connect(&url).await;
    let n: Option<u64> = c
        .query_first("SELECT COUNT(*) FROM t_order")
        .await
        .expect("count");
    assert_eq!(n, Some(20_000));
    c.disconnect().await.ok();
    let log = std::fs::read_to_string(dir.join("stderr.log")).unwrap_or_default();
    assert!(log.contains("trying again"), "no chunk was retried:\n{log}");
    proxy.kill().await.ok();
    let _ = proxy.wait().await;
    let _ = std::fs::remove_dir_all(&dir);
}
