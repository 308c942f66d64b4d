//! `shardgate demo`: two local MariaDB servers, the e-commerce rules, sample data, one proxy.

use crate::localdb::{LocalMariaDb, LocalOptions};
use crate::server::{Server, Shared};
use mysql_async::prelude::Queryable;
use std::sync::Arc;
use tokio::sync::watch;

pub const RULES: &str = include_str!("../examples/ecommerce/rules.toml");
pub const SCHEMA: &str = include_str!("../examples/ecommerce/schema.sql");
pub const DATA: &str = include_str!("../examples/ecommerce/data.sql");

/// Split a SQL script on `;` at line ends, dropping `--` comment lines.
pub fn statements(script: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    for line in script.lines() {
        let t = line.trim();
        if t.is_empty() || t.starts_with("--") {
            continue;
        }
        cur.push_str(line);
        cur.push('\n');
        if t.ends_with(';') {
            let s = cur.trim().trim_end_matches(';').trim().to_string();
            if !s.is_empty() {
                out.push(s);
            }
            cur.clear();
        }
    }
    if !cur.trim().is_empty() {
        out.push(cur.trim().to_string());
    }
    out
}

/// Run a script through a MySQL endpoint.
pub async fn run_script(url: &str, script: &str) -> Result<(), String> {
    let mut conn = mysql_async::Conn::from_url(url)
        .await
        .map_err(|e| format!("connect {url}: {e}"))?;
    for s in statements(script) {
        conn.query_drop(&s).await.map_err(|e| format!("{s}: {e}"))?;
    }
    let _ = conn.disconnect().await;
    Ok(())
}

pub async fn run(listen: &str) -> Result<(), String> {
    crate::localdb::find_mariadbd().map_err(|e| e.to_string())?;
    let workdir = std::env::temp_dir().join(format!("shardgate-demo-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&workdir);
    let mut opts = Vec::new();
    for (i, port) in [3316u16, 3317].into_iter().enumerate() {
        let mut o = LocalOptions::new(format!("ds_{i}"), workdir.join(format!("ds_{i}")));
        o.port = port;
        o.init_sql = vec![format!("CREATE DATABASE IF NOT EXISTS shop_{i}")];
        o.remove_workdir_on_stop = true;
        opts.push(o);
    }
    println!("starting MariaDB shards on 127.0.0.1:3316 (ds_0) and 127.0.0.1:3317 (ds_1) ...");
    let servers = LocalMariaDb::start_many(opts)
        .await
        .map_err(|e| e.to_string())?;
    let result = serve_demo(listen, &workdir).await;
    println!("stopping MariaDB shards ...");
    for s in servers {
        let _ = s.stop().await;
    }
    let _ = std::fs::remove_dir_all(&workdir);
    result
}

async fn serve_demo(listen: &str, workdir: &std::path::Path) -> Result<(), String> {
    let mut config =
        crate::rules::parse(RULES, "examples/ecommerce/rules.toml").map_err(|e| e.to_string())?;
    config.server.xa_log = workdir.join("xa.log").display().to_string();
    let shared = Arc::new(Shared::new(config).await.map_err(|e| e.to_string())?);
    // Load the schema and sample data through a private listener first.
    let (stop_tx, stop_rx) = watch::channel(false);
    let loader = Server::bind("127.0.0.1:0", shared.clone())
        .await
        .map_err(|e| e.to_string())?;
    let addr = loader.local_addr().map_err(|e| e.to_string())?;
    let task = tokio::spawn(loader.run(stop_rx));
    let url = format!("mysql://root:root@{addr}/shop");
    run_script(&url, SCHEMA).await?;
    run_script(&url, DATA).await?;
    let _ = stop_tx.send(true);
    let _ = task.await;

    let server = Server::bind(listen, shared)
        .await
        .map_err(|e| format!("listen on {listen}: {e}"))?;
    let (tx, rx) = watch::channel(false);
    println!(
        "shardgate demo ready on {listen}: mariadb -h127.0.0.1 -P{} -uroot -proot shop",
        listen.rsplit(':').next().unwrap_or("3307")
    );
    println!("(shards: mariadb -h127.0.0.1 -P3316 -uroot shop_0 / -P3317 shop_1; Ctrl-C stops everything)");
    let serve = tokio::spawn(server.run(rx));
    wait_for_signal().await;
    let _ = tx.send(true);
    let _ = serve.await;
    Ok(())
}

pub async fn wait_for_signal() {
    use tokio::signal::unix::{signal, SignalKind};
    match signal(SignalKind::terminate()) {
        Ok(mut term) => {
            tokio::select! {
                _ = tokio::signal::ctrl_c() => {}
                _ = term.recv() => {}
            }
        }
        Err(_) => {
            let _ = tokio::signal::ctrl_c().await;
        }
    }
}
