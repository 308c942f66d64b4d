//! Starts MariaDB shards, an oracle server and the proxy (with the e-commerce rules).

use shardgate::localdb::{LocalMariaDb, LocalOptions};
use shardgate::server::{Server, Shared};
use std::net::SocketAddr;
use std::sync::{Arc, OnceLock};
use tokio::sync::watch;

pub struct Cluster {
    pub shards: Vec<LocalMariaDb>,
    pub oracle: LocalMariaDb,
    pub proxy: SocketAddr,
    stop: watch::Sender<bool>,
}

/// Addresses of a running cluster.
#[derive(Clone, Debug)]
pub struct Endpoints {
    pub proxy: SocketAddr,
    pub oracle_port: u16,
    pub shard_ports: Vec<u16>,
}

impl Endpoints {
    pub fn proxy_url(&self) -> String {
        format!("mysql://root:root@{}/shop", self.proxy)
    }
    pub fn oracle_url(&self) -> String {
        format!("mysql://root@127.0.0.1:{}/shop", self.oracle_port)
    }
    pub fn shard_url(&self, i: usize) -> String {
        format!("mysql://root@127.0.0.1:{}/shop_{i}", self.shard_ports[i])
    }
}

impl Cluster {
    /// Two shards + oracle + proxy, the example schema created through the proxy and directly
    /// on the oracle. With `data`, the generated data set is loaded into both.
    pub async fn start(data: bool) -> Cluster {
        shardgate::localdb::find_mariadbd()
            .expect("mariadbd must be installed (scripts/ensure-deps.sh does it)");
        let mut opts: Vec<LocalOptions> = (0..2)
            .map(|i| {
                let mut o = LocalOptions::temp(format!("ds_{i}"));
                o.init_sql = vec![format!("CREATE DATABASE shop_{i}")];
                o
            })
            .collect();
        let mut o = LocalOptions::temp("oracle");
        o.init_sql = vec!["CREATE DATABASE shop".into()];
        opts.push(o);
        let mut servers = LocalMariaDb::start_many(opts)
            .await
            .expect("start mariadb servers");
        let oracle = servers.pop().expect("oracle");
        let shards = servers;

        let mut config =
            shardgate::rules::parse(shardgate::demo::RULES, "examples/ecommerce/rules.toml")
                .expect("rules");
        for (i, s) in shards.iter().enumerate() {
            config
                .data_sources
                .get_mut(&format!("ds_{i}"))
                .expect("ds")
                .port = s.port();
        }
        config.server.xa_log = xa_log_path();
        // Cross-shard deadlocks end by lock wait timeout: keep tests quick.
        config.server.lock_wait_timeout = Some(2);
        let shared = Arc::new(Shared::new(config).await.expect("proxy start"));
        let server = Server::bind("127.0.0.1:0", shared).await.expect("bind");
        let proxy = server.local_addr().expect("addr");
        let (stop, rx) = watch::channel(false);
        tokio::spawn(server.run(rx));
        let c = Cluster {
            shards,
            oracle,
            proxy,
            stop,
        };
        let ep = c.endpoints();
        shardgate::demo::run_script(&ep.proxy_url(), shardgate::demo::SCHEMA)
            .await
            .expect("schema via proxy");
        shardgate::demo::run_script(&ep.oracle_url(), shardgate::demo::SCHEMA)
            .await
            .expect("schema on oracle");
        if data {
            let script = crate::data::script();
            shardgate::demo::run_script(&ep.proxy_url(), &script)
                .await
                .expect("data via proxy");
            shardgate::demo::run_script(&ep.oracle_url(), &script)
                .await
                .expect("data on oracle");
        }
        c
    }

    pub fn endpoints(&self) -> Endpoints {
        Endpoints {
            proxy: self.proxy,
            oracle_port: self.oracle.port(),
            shard_ports: self.shards.iter().map(|s| s.port()).collect(),
        }
    }

    pub async fn stop(self) {
        let _ = self.stop.send(true);
        for s in self.shards {
            let _ = s.stop().await;
        }
        let _ = self.oracle.stop().await;
    }
}

/// One read-only cluster with data, shared by every test in this binary. It lives on its
/// own thread and runtime until the process exits (its servers die with the process).
pub fn shared() -> Endpoints {
    static EP: OnceLock<Endpoints> = OnceLock::new();
    EP.get_or_init(|| {
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(2)
                .thread_stack_size(shardgate::server::WORKER_STACK_SIZE)
                .enable_all()
                .build()
                .expect("runtime");
            rt.block_on(async move {
                let c = Cluster::start(true).await;
                let _ = tx.send(c.endpoints());
                // Keep the cluster (and its Drop-killed servers) alive for the whole process.
                std::future::pending::<()>().await;
                drop(c);
            });
        });
        rx.recv().expect("shared cluster failed to start")
    })
    .clone()
}

/// A decision log of its own for each proxy a test starts.
pub fn xa_log_path() -> String {
    static N: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
    let n = N.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    std::env::temp_dir()
        .join(format!("shardgate-test-{}-{n}", std::process::id()))
        .join("xa.log")
        .display()
        .to_string()
}

/// Another proxy over the shared cluster's shards, with its config changed by `f`. It
/// serves until the returned sender says stop (or the process ends).
pub async fn proxy_over_shared(
    f: impl FnOnce(&mut shardgate::rules::Config),
) -> (std::net::SocketAddr, watch::Sender<bool>, Arc<Shared>) {
    let ep = shared();
    let mut config =
        shardgate::rules::parse(shardgate::demo::RULES, "examples/ecommerce/rules.toml")
            .expect("rules");
    for (i, port) in ep.shard_ports.iter().enumerate() {
        config
            .data_sources
            .get_mut(&format!("ds_{i}"))
            .expect("ds")
            .port = *port;
    }
    config.server.xa_log = xa_log_path();
    f(&mut config);
    let shared = Arc::new(Shared::new(config).await.expect("start"));
    let server = Server::bind("127.0.0.1:0", shared.clone())
        .await
        .expect("bind");
    let addr = server.local_addr().expect("addr");
    let (stop, rx) = watch::channel(false);
    tokio::spawn(server.run(rx));
    (addr, stop, shared)
}

/// A proxy over the shared cluster's shards whose rules are the example's plus `extra`
/// (TOML; `{p0}` and `{p1}` stand for the two shards' ports), then changed by `f`. Each
/// database in `fresh_dbs` is dropped and created again on both shards first, so a test can
/// give itself physical databases (and logical ones on them) that no other test touches;
/// `setup` then runs on both shards (tables the proxy's catalog should know at start).
pub async fn proxy_with_rules(
    extra: &str,
    fresh_dbs: &[&str],
    setup: &[String],
    f: impl FnOnce(&mut shardgate::rules::Config),
) -> (std::net::SocketAddr, watch::Sender<bool>, Arc<Shared>) {
    use mysql_async::prelude::Queryable;
    let ep = shared();
    for i in 0..ep.shard_ports.len() {
        let mut c = mysql_async::Conn::from_url(ep.shard_url(i))
            .await
            .expect("shard");
        for db in fresh_dbs {
            c.query_drop(format!("DROP DATABASE IF EXISTS {db}"))
                .await
                .expect("drop db");
            c.query_drop(format!("CREATE DATABASE {db}"))
                .await
                .expect("create db");
        }
        for sql in setup {
            c.query_drop(sql).await.expect("setup");
        }
        c.disconnect().await.ok();
    }
    let extra = extra
        .replace("{p0}", &ep.shard_ports[0].to_string())
        .replace("{p1}", &ep.shard_ports[1].to_string());
    let text = format!("{}\n{extra}", shardgate::demo::RULES);
    let parsed = shardgate::rules::parse(&text, "rules.toml").expect("rules");
    proxy_over_shared(move |c| {
        let ports: Vec<(String, u16)> = c
            .data_sources
            .iter()
            .map(|(n, d)| (n.clone(), d.port))
            .collect();
        *c = parsed;
        for (n, p) in ports {
            if let Some(d) = c.data_sources.get_mut(&n) {
                d.port = p;
            }
        }
        c.server.xa_log = xa_log_path();
        f(c);
    })
    .await
}

/// A proxy process of its own (so it can be killed), on the cluster's shards.
pub struct ProxyProcess {
    pub child: tokio::process::Child,
    pub port: u16,
}

/// (worker id `worker_id`, decision log and rules file in `dir`, the given failpoint).
pub async fn start_proxy_process(
    ep: &Endpoints,
    dir: &std::path::Path,
    worker_id: u16,
    failpoint: Option<&str>,
) -> ProxyProcess {
    let port = shardgate::localdb::pick_free_port().expect("port");
    let rules = example_rules_text(ep).replace(
        "worker_id = 0",
        &format!(
            "worker_id = {worker_id}\nxa_log = \"{}\"",
            dir.join("xa.log").display()
        ),
    );
    let path = dir.join("rules.toml");
    std::fs::write(&path, rules).expect("rules file");
    let mut cmd = tokio::process::Command::new(env!("CARGO_BIN_EXE_shardgate"));
    cmd.arg("serve")
        .arg("--config")
        .arg(&path)
        .arg("--listen")
        .arg(format!("127.0.0.1:{port}"))
        .env("SHARDGATE_LOG", "warn")
        .stderr(std::fs::File::create(dir.join("stderr.log")).expect("stderr log"))
        .kill_on_drop(true);
    match failpoint {
        Some(f) => cmd.env("SHARDGATE_FAILPOINT", f),
        None => cmd.env_remove("SHARDGATE_FAILPOINT"),
    };
    let child = cmd.spawn().expect("spawn shardgate");
    for _ in 0..200 {
        if tokio::net::TcpStream::connect(("127.0.0.1", port))
            .await
            .is_ok()
        {
            return ProxyProcess { child, port };
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    panic!("shardgate serve did not start");
}

/// The example rules as text, with the cluster's shard ports (each placeholder replaced
/// once, so a port number that starts like the other's cannot be rewritten twice).
pub fn example_rules_text(ep: &Endpoints) -> String {
    shardgate::demo::RULES
        .replace("port = 3316", "port = @SHARD0@")
        .replace("port = 3317", "port = @SHARD1@")
        .replace("@SHARD0@", &ep.shard_ports[0].to_string())
        .replace("@SHARD1@", &ep.shard_ports[1].to_string())
}
