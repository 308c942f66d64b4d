//! `shardgate demo`: two local MariaDB servers, the e-commerce rules, sample data, one proxy.

use crate::localdb::{LocalMariaDb, LocalOptions};
use crate::server::{Server, Shared};
use mysql_async::prelude::Queryable;
use std::sync::Arc;
use tokio::sync::watch;

pub const RULES: &str = include_str!("../examples/ecommerce/rules.toml");

/// Where the demo serves Prometheus metrics unless its rules set `metrics_listen`.
pub const DEMO_METRICS: &str = "127.0.0.1:9307";
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

/// Parse `--shard-ports`: two distinct TCP ports, comma-separated (`3316,3317`).
pub fn parse_shard_ports(s: &str) -> Result<[u16; 2], String> {
    let ports: Vec<u16> = s
        .split(',')
        .map(|p| {
            p.trim()
                .parse::<u16>()
                .ok()
                .filter(|&p| p != 0)
                .ok_or_else(|| format!("--shard-ports: `{}` is not a TCP port", p.trim()))
        })
        .collect::<Result<_, _>>()?;
    match ports[..] {
        [a, b] if a != b => Ok([a, b]),
        _ => Err(format!(
            "--shard-ports: expected two distinct ports like 3316,3317, got `{s}`"
        )),
    }
}

/// The demo's rules: `rules` (text, file name) or the embedded e-commerce rules, with the
/// data sources ds_0 and ds_1 pointed at the local shards on `ports`.
pub fn demo_config(
    ports: [u16; 2],
    rules: Option<(String, String)>,
) -> Result<crate::rules::Config, String> {
    let (text, name) =
        rules.unwrap_or_else(|| (RULES.to_string(), "examples/ecommerce/rules.toml".into()));
    let mut config = crate::rules::parse(&text, &name).map_err(|e| e.to_string())?;
    for (i, port) in ports.into_iter().enumerate() {
        let ds = config
            .data_sources
            .get_mut(&format!("ds_{i}"))
            .ok_or_else(|| format!("{name}: the demo needs a data source ds_{i}"))?;
        ds.host = "127.0.0.1".into();
        ds.port = port;
        ds.user = "root".into();
        ds.password = String::new();
    }
    if let Some(other) = config
        .data_sources
        .keys()
        .find(|k| *k != "ds_0" && *k != "ds_1")
    {
        return Err(format!(
            "{name}: the demo runs only ds_0 and ds_1, not data source {other}"
        ));
    }
    if !config.databases.contains_key("shop") {
        return Err(format!("{name}: the demo needs a logical database `shop`"));
    }
    Ok(config)
}

/// Run the demo: two local shards on `ports`, the rules (see [`demo_config`]), the
/// e-commerce schema and data loaded into `shop`, and the proxy on `listen` until a signal.
pub async fn run(
    listen: &str,
    ports: [u16; 2],
    rules: Option<(String, String)>,
) -> Result<(), String> {
    let config = demo_config(ports, rules)?;
    crate::localdb::find_mariadbd().map_err(|e| e.to_string())?;
    let workdir = std::env::temp_dir().join(format!("shardgate-demo-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&workdir);
    let mut opts = Vec::new();
    for (i, port) in ports.into_iter().enumerate() {
        let name = format!("ds_{i}");
        let schema = config
            .data_sources
            .get(&name)
            .map(|d| d.database.clone())
            .unwrap_or_else(|| format!("shop_{i}"));
        let mut o = LocalOptions::new(name, workdir.join(format!("ds_{i}")));
        o.port = port;
        o.init_sql = vec![format!(
            "CREATE DATABASE IF NOT EXISTS `{}`",
            schema.replace('`', "``")
        )];
        o.remove_workdir_on_stop = true;
        opts.push(o);
    }
    println!(
        "starting MariaDB shards on 127.0.0.1:{} (ds_0) and 127.0.0.1:{} (ds_1) ...",
        ports[0], ports[1]
    );
    let servers = LocalMariaDb::start_many(opts)
        .await
        .map_err(|e| e.to_string())?;
    let result = serve_demo(listen, config, ports, &workdir).await;
    println!("stopping MariaDB shards ...");
    for s in servers {
        let _ = s.stop().await;
    }
    let _ = std::fs::remove_dir_all(&workdir);
    result
}

async fn serve_demo(
    listen: &str,
    mut config: crate::rules::Config,
    ports: [u16; 2],
    workdir: &std::path::Path,
) -> Result<(), String> {
    config.server.xa_log = workdir.join("xa.log").display().to_string();
    if config.server.metrics_listen.is_none() {
        config.server.metrics_listen = Some(DEMO_METRICS.into());
    }
    let shared = Arc::new(Shared::new(config).await.map_err(|e| e.to_string())?);
    // Load the schema and sample data through a private listener first.
    let (stop_tx, stop_rx) = watch::channel(false);
    let loader = Server::bind("127.0.0.1:0", shared.clone())
        .await
        .map_err(|e| e.to_string())?
        .private();
    let addr = loader.local_addr().map_err(|e| e.to_string())?;
    let task = tokio::spawn(loader.run(stop_rx));
    let url = format!("mysql://root:root@{addr}/shop");
    run_script(&url, SCHEMA).await?;
    run_script(&url, DATA).await?;
    let _ = stop_tx.send(true);
    let _ = task.await;

    let metrics = shared.config.server.metrics_listen.clone();
    let server = Server::bind(listen, shared)
        .await
        .map_err(|e| format!("listen on {listen}: {e}"))?;
    let (tx, rx) = watch::channel(false);
    println!(
        "shardgate demo ready on {listen}: mariadb -h127.0.0.1 -P{} -uroot -proot shop",
        listen.rsplit(':').next().unwrap_or("3307")
    );
    if let Some(m) = &metrics {
        println!("metrics: curl http://{m}/metrics");
    }
    println!(
        "(shards: mariadb -h127.0.0.1 -P{} -uroot shop_0 / -P{} shop_1; Ctrl-C stops everything)",
        ports[0], ports[1]
    );
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shard_ports_parse() {
        assert_eq!(parse_shard_ports("3316,3317"), Ok([3316, 3317]));
        assert_eq!(parse_shard_ports(" 23316 , 23317 "), Ok([23316, 23317]));
        assert!(parse_shard_ports("3316").is_err());
        assert!(parse_shard_ports("3316,3316").is_err());
        assert!(parse_shard_ports("3316,x").is_err());
        assert!(parse_shard_ports("0,1").is_err());
        assert!(parse_shard_ports("1,2,3").is_err());
        assert!(parse_shard_ports("1,70000").is_err());
    }

    #[test]
    fn demo_config_points_data_sources_at_the_shards() {
        let c = demo_config([23316, 23317], None).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(c.data_sources["ds_0"].port, 23316);
        assert_eq!(c.data_sources["ds_1"].port, 23317);
        assert_eq!(c.data_sources["ds_1"].database, "shop_1");
        let extra = format!(
            "{RULES}\n[databases.shop.tables.sbtest1]\nactual_data_nodes = \"ds_${{0..1}}.sbtest1\"\n\
             database_strategy = {{ column = \"id\", algorithm = \"db_mod\" }}\n"
        );
        let c =
            demo_config([1, 2], Some((extra, "x.toml".into()))).unwrap_or_else(|e| panic!("{e}"));
        assert!(c.databases["shop"].tables.contains_key("sbtest1"));
        let no_ds1 = RULES.replace("[data_sources.ds_1]", "[data_sources.ds_9]");
        let no_ds1 = no_ds1.replace("ds_${0..1}", "ds_${[0,9]}");
        assert!(demo_config([1, 2], Some((no_ds1, "y.toml".into()))).is_err());
    }
}
