//! The listener: accepts clients and serves each in its own task; shared state for sessions.

use crate::backend::Backends;
use crate::error::{SqlError, SqlResult};
use crate::rules::{Config, LogicalDatabase};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;
use std::time::Instant;
use tokio::net::TcpListener;
use tokio::sync::watch;

/// Stack size of the threads that serve sessions. Parse trees of long expressions (an ORM's
/// 3,000-term `OR`) are as deep as they are long, and walking or dropping them recurses:
/// the default 2 MiB would overflow and abort the process. Only touched pages cost memory.
pub const WORKER_STACK_SIZE: usize = 256 << 20;

/// Deepest expression nesting accepted (see [`crate::sql::scan::Scanned::depth`]); deeper
/// statements are answered with error 1436, as MariaDB answers expressions too deep for
/// its own stack. Planning a statement this deep stays well inside [`WORKER_STACK_SIZE`].
pub const MAX_EXPRESSION_DEPTH: usize = 40_000;

/// State shared by all sessions of one proxy.
pub struct Shared {
    pub config: Config,
    /// Parsed statements, shared by every session (prepared statements and templates).
    pub statements: crate::session::stmtcache::StatementCache,
    pub backends: Backends,
    /// Version announced to clients (the backends' own unless configured).
    pub server_version: String,
    /// The backends' own version, as version comments number it (10.11.19 → 101119), and
    /// whether they are MariaDB: how the servers read `/*! */` and `/*M! */`.
    pub backend_version_id: u32,
    pub backend_is_mariadb: bool,
    /// The backends' `max_allowed_packet`: the largest client packet (and prepared-statement
    /// long data) accepted, as one MariaDB would.
    pub max_allowed_packet: usize,
    /// The servers' system time zone is UTC (so `time_zone = SYSTEM` is an offset of 0).
    pub system_utc: bool,
    /// A new session's time zone as an offset from UTC (None: a named zone).
    pub initial_utc_offset: Option<i64>,
    /// The logical databases served (replaced by a reload that adds tables or databases;
    /// `config.databases` keeps the ones at start).
    pub served: arc_swap::ArcSwap<crate::served::Served>,
    pub started: Instant,
    pub questions: std::sync::atomic::AtomicU64,
    pub connections: AtomicU32,
    /// Snowflake key generator (`key_generator` columns), from `[server]`.
    pub ids: crate::id::Snowflake,
    /// Column types and order of the logical tables.
    pub catalog: crate::catalog::Catalog,
    /// XA ids, decision log and recovery.
    pub txn: crate::txn::Coordinator,
    /// Client TLS and authentication settings (`[server]`).
    pub security: crate::protocol::security::Security,
    /// Client sessions (SHOW PROCESSLIST, KILL).
    pub sessions: Arc<crate::sessions::Sessions>,
    pub metrics: crate::metrics::Metrics,
    pub slow: crate::slowlog::SlowLog,
    /// `[limits]` and `[firewall]` (replaced by a reload).
    pub limits: arc_swap::ArcSwap<crate::limits::Limits>,
    /// Client accounts (replaced by a reload; `config.accounts` keeps the ones at start).
    pub accounts: arc_swap::ArcSwap<std::collections::BTreeMap<String, Arc<crate::rules::Account>>>,
    /// The rules file served, its version and when it was loaded (SHOW SHARDING RULES).
    pub rules: crate::reload::RulesSource,
    /// Tests only: a statement text that makes its session panic (fault injection; not
    /// reachable from the rules file or a client).
    pub inject_panic: std::sync::OnceLock<String>,
    /// Holds new statements while a reshard cuts over.
    pub gate: crate::gate::Gate,
    /// The reshard job of this proxy (the running one, or the last one).
    pub reshard: std::sync::Mutex<Option<Arc<crate::reshard::Job>>>,
}

/// A client connection's slot in `max_connections`: given back when the connection's task
/// ends, however it ends (a panic included).
struct ConnectionSlot(Arc<Shared>);

impl Drop for ConnectionSlot {
    fn drop(&mut self) {
        self.0.connections.fetch_sub(1, Ordering::Relaxed);
    }
}

impl Shared {
    pub async fn new(config: Config) -> SqlResult<Shared> {
        let security = crate::protocol::security::Security::from_config(&config.server)
            .map_err(SqlError::internal)?;
        let backends = Backends::from_config(&config);
        for (ds, e) in backends.warm_up().await {
            tracing::warn!("data source {ds} is not reachable at start: {e}");
        }
        let (actual, max_allowed_packet, zones) = backend_version(&config, &backends).await;
        let system_utc = matches!(
            zones.1.to_ascii_uppercase().as_str(),
            "UTC" | "GMT" | "ETC/UTC" | "UNIVERSAL" | "ZULU" | "+00:00"
        );
        let initial_utc_offset = crate::convert::utc_offset(&zones.0, system_utc);
        let server_version = match &config.server.server_version {
            Some(v) => v.clone(),
            None => actual.clone(),
        };
        let (backend_version_id, backend_is_mariadb) = version_id(&actual);
        let served = crate::served::Served::from_config(&config, 1);
        let ids = crate::id::Snowflake::from_config(&config.server);
        let catalog = crate::catalog::Catalog::default();
        catalog.load(&served, &backends).await?;
        let txn = crate::txn::Coordinator::from_config(&config.server)?;
        if txn.mode == crate::txn::TxnMode::Xa {
            // Resolve what a previous run of this proxy left prepared.
            let report = txn.recover(&backends).await?;
            tracing::info!("{report}");
        }
        let slow_path = config
            .server
            .slow_log
            .as_deref()
            .filter(|p| !p.is_empty())
            .map(|p| {
                let p = std::path::PathBuf::from(p);
                if p.is_absolute() {
                    p
                } else {
                    config.server.state_dir_path().join(p)
                }
            });
        Ok(Shared {
            statements: Default::default(),
            sessions: Default::default(),
            metrics: crate::metrics::Metrics::new(),
            slow: crate::slowlog::SlowLog::open(config.limits.slow_query_ms, slow_path),
            limits: arc_swap::ArcSwap::from_pointee(crate::limits::Limits::from_config(&config)),
            accounts: arc_swap::ArcSwap::from_pointee(crate::reload::accounts(&config)),
            rules: Default::default(),
            security,
            catalog,
            txn,
            ids,
            config,
            backends,
            server_version,
            backend_version_id,
            backend_is_mariadb,
            max_allowed_packet,
            system_utc,
            initial_utc_offset,
            served: arc_swap::ArcSwap::from_pointee(served),
            started: Instant::now(),
            questions: Default::default(),
            connections: AtomicU32::new(0),
            inject_panic: Default::default(),
            gate: Default::default(),
            reshard: Default::default(),
        })
    }

    pub fn reshard_job(&self) -> Option<Arc<crate::reshard::Job>> {
        self.reshard
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    pub fn set_reshard_job(&self, job: Arc<crate::reshard::Job>) {
        // From now on the cutover gate holds only the statements on the moving tables.
        self.gate.set_scope(
            job.forward
                .plan
                .moves
                .iter()
                .map(|m| (m.db.clone(), m.table.clone())),
        );
        *self.reshard.lock().unwrap_or_else(|p| p.into_inner()) = Some(job);
    }

    pub fn password_of(&self, user: &str) -> Option<String> {
        self.accounts.load().get(user).map(|a| a.password.clone())
    }

    pub fn account(&self, user: &str) -> Option<Arc<crate::rules::Account>> {
        self.accounts.load().get(user).cloned()
    }

    /// A logical database of the rules served now (see [`crate::served`]).
    pub fn database(&self, name: &str) -> Option<Arc<LogicalDatabase>> {
        self.served.load().database(name)
    }

    /// The logical databases a user may use, from `served`.
    pub fn databases_of(
        &self,
        served: &crate::served::Served,
        user: &str,
    ) -> Vec<Arc<LogicalDatabase>> {
        let Some(a) = self.account(user) else {
            return Vec::new();
        };
        served
            .databases
            .values()
            .filter(|d| a.may_use(&d.name))
            .cloned()
            .collect()
    }
}

/// Assumed when no data source answers at start.
const FALLBACK_VERSION: &str = "5.5.5-10.11.0-MariaDB";

/// MariaDB's default `max_allowed_packet` (16 MiB), assumed when no data source answers.
const FALLBACK_MAX_PACKET: usize = 16 << 20;

/// The version and `max_allowed_packet` of the first data source that answers (the default
/// data source of the first logical database first).
async fn backend_version(
    config: &Config,
    backends: &Backends,
) -> (String, usize, (String, String)) {
    let first = config
        .databases
        .values()
        .next()
        .map(|d| d.default_data_source.clone());
    let order = first.into_iter().chain(config.data_sources.keys().cloned());
    for ds in order {
        let Ok(b) = backends.get(&ds) else { continue };
        let Ok(mut lease) = b.acquire().await else {
            continue;
        };
        let Ok((_, rows)) = crate::backend::query_collect(
            &mut lease,
            "SELECT VERSION(), @@GLOBAL.max_allowed_packet, @@GLOBAL.time_zone, @@system_time_zone",
        )
        .await
        else {
            continue;
        };
        let max_packet = rows
            .first()
            .and_then(|r| r.get(1).cloned().flatten())
            .and_then(|b| std::str::from_utf8(&b).ok()?.parse::<usize>().ok())
            .unwrap_or(FALLBACK_MAX_PACKET);
        let text = |i: usize| {
            rows.first()
                .and_then(|r| r.get(i).cloned().flatten())
                .map(|b| String::from_utf8_lossy(&b).into_owned())
                .unwrap_or_default()
        };
        let zones = (text(2), text(3));
        let Some(v) = rows
            .first()
            .and_then(|r| r.first().cloned().flatten())
            .map(|b| String::from_utf8_lossy(&b).into_owned())
        else {
            continue;
        };
        // MariaDB announces itself with the 5.5.5- prefix for old clients; do the same.
        let v = if v.contains("MariaDB") && !v.starts_with("5.5.5-") {
            format!("5.5.5-{v}")
        } else {
            v
        };
        return (v, max_packet, zones);
    }
    tracing::warn!("no data source answered at start: assuming {FALLBACK_VERSION}");
    (
        FALLBACK_VERSION.to_string(),
        FALLBACK_MAX_PACKET,
        ("SYSTEM".into(), String::new()),
    )
}

/// `5.5.5-10.11.19-MariaDB-0+deb12u1` → (101119, true); `8.0.36` → (80036, false).
fn version_id(v: &str) -> (u32, bool) {
    let mariadb = v.contains("MariaDB");
    let core = v.strip_prefix("5.5.5-").unwrap_or(v);
    let nums: Vec<u32> = core
        .split(|c: char| !c.is_ascii_digit())
        .take(3)
        .map(|p| p.parse().unwrap_or(0))
        .collect();
    let at = |i: usize| nums.get(i).copied().unwrap_or(0);
    (at(0) * 10000 + at(1) * 100 + at(2), mariadb)
}

/// Pending connections the kernel queues before they are accepted: a flash sale opens
/// thousands at once, and a short queue drops some of them silently (the client then
/// waits for a greeting that never comes).
const ACCEPT_BACKLOG: u32 = 4096;

/// A listener on the first address `addr` resolves to, with [`ACCEPT_BACKLOG`].
async fn listen(addr: &str) -> std::io::Result<TcpListener> {
    let mut last = None;
    for a in tokio::net::lookup_host(addr).await? {
        let socket = if a.is_ipv4() {
            tokio::net::TcpSocket::new_v4()?
        } else {
            tokio::net::TcpSocket::new_v6()?
        };
        socket.set_reuseaddr(true)?;
        match socket.bind(a).and_then(|()| socket.listen(ACCEPT_BACKLOG)) {
            Ok(l) => return Ok(l),
            Err(e) => last = Some(e),
        }
    }
    Err(last.unwrap_or_else(|| {
        std::io::Error::new(
            std::io::ErrorKind::InvalidInput,
            format!("{addr}: no address"),
        )
    }))
}

/// SIGHUP reloads the rules file (as `RELOAD RULES`); the outcome is logged.
#[cfg(unix)]
async fn reload_on_sighup(shared: Arc<Shared>, mut shutdown: watch::Receiver<bool>) {
    use tokio::signal::unix::{signal, SignalKind};
    let Ok(mut hup) = signal(SignalKind::hangup()) else {
        tracing::warn!("cannot watch SIGHUP: rules reload only by RELOAD RULES");
        return;
    };
    loop {
        tokio::select! {
            _ = shutdown.changed() => {
                if *shutdown.borrow() { return; }
            }
            got = hup.recv() => {
                if got.is_none() { return; }
                match shared.reload().await {
                    Ok(r) if r.changes.is_empty() => tracing::info!("SIGHUP: rules unchanged"),
                    Ok(_) => {}
                    Err(e) => tracing::warn!("SIGHUP: {}", e.message),
                }
            }
        }
    }
}

/// A running proxy: bound listener plus shutdown handle.
pub struct Server {
    listener: TcpListener,
    shared: Arc<Shared>,
    /// Serve `[server] metrics_listen` and run the background tasks (off for a private
    /// listener beside the main one, such as the demo's loader).
    main: bool,
}

impl Server {
    pub async fn bind(addr: &str, shared: Arc<Shared>) -> std::io::Result<Server> {
        Ok(Server {
            listener: listen(addr).await?,
            shared,
            main: true,
        })
    }

    /// A listener beside the main one: no metrics endpoint, no background tasks.
    pub fn private(mut self) -> Server {
        self.main = false;
        self
    }

    pub fn local_addr(&self) -> std::io::Result<std::net::SocketAddr> {
        self.listener.local_addr()
    }

    /// Upkeep, the metrics endpoint and SIGHUP reloads.
    async fn start_background(&self, shutdown: &watch::Receiver<bool>) {
        tokio::spawn(crate::upkeep::run(self.shared.clone(), shutdown.clone()));
        // A reshard job the state file says was running is back before the first client
        // is accepted (so `SHOW RESHARD STATUS` sees it), unless that takes long.
        let resume = tokio::spawn(crate::reshard::cutover::resume(self.shared.clone()));
        let _ = tokio::time::timeout(std::time::Duration::from_secs(10), resume).await;
        if let Some(addr) = self.shared.config.server.metrics_listen.clone() {
            match TcpListener::bind(&addr).await {
                Ok(l) => {
                    tracing::info!("metrics on http://{addr}/metrics");
                    tokio::spawn(crate::metrics::serve(
                        l,
                        self.shared.clone(),
                        shutdown.clone(),
                    ));
                }
                Err(e) => tracing::warn!("metrics_listen {addr}: {e}; no metrics endpoint"),
            }
        }
        #[cfg(unix)]
        tokio::spawn(reload_on_sighup(self.shared.clone(), shutdown.clone()));
    }

    /// Accept until `shutdown` turns true.
    pub async fn run(self, mut shutdown: watch::Receiver<bool>) {
        if self.main {
            self.start_background(&shutdown).await;
        }
        let next_id = AtomicU32::new(1);
        loop {
            tokio::select! {
                _ = shutdown.changed() => {
                    if *shutdown.borrow() { break; }
                }
                accepted = self.listener.accept() => {
                    let (stream, peer) = match accepted {
                        Ok(x) => x,
                        Err(e) => {
                            tracing::warn!("accept failed: {e}");
                            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
                            continue;
                        }
                    };
                    let _ = stream.set_nodelay(true);
                    let id = next_id.fetch_add(1, Ordering::Relaxed);
                    let shared = self.shared.clone();
                    let max = shared.config.server.max_connections;
                    if max.is_some_and(|m| shared.connections.load(Ordering::Relaxed) >= m) {
                        tokio::spawn(async move {
                            let e = crate::error::SqlError::new(1040, "08004", "Too many connections");
                            let _ = crate::protocol::conn::refuse(stream, &e).await;
                        });
                        continue;
                    }
                    shared.connections.fetch_add(1, Ordering::Relaxed);
                    let slot = ConnectionSlot(shared.clone());
                    tokio::spawn(async move {
                        let _slot = slot;
                        if let Err(e) = crate::protocol::conn::serve(stream, shared, id).await {
                            tracing::debug!("connection {id} from {peer} ended: {e}");
                        }
                    });
                }
            }
        }
        self.shared.backends.disconnect_all().await;
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn version_ids() {
        assert_eq!(
            super::version_id("5.5.5-10.11.19-MariaDB-0+deb12u1"),
            (101119, true)
        );
        assert_eq!(super::version_id("10.6.4-MariaDB"), (100604, true));
        assert_eq!(super::version_id("8.0.36"), (80036, false));
    }
}
