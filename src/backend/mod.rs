//! Backend data sources: connections spoken on mysql_common's packet types
//! ([`conn::BackendConn`]), a small pool per data source, and streaming queries.
//!
//! Each pooled connection remembers the fingerprint of the session state (SET NAMES,
//! sql_mode, ...) applied to it, so a session's state is applied only when it differs from
//! what the connection already has, and reset only when needed. The server's session
//! tracking tells the pool when a connection carries state nobody put there on purpose;
//! such a connection is reset before anyone else uses it.

mod conn;
mod health;
mod interrupt;
mod packets;
mod pool;
mod query;
mod wire;

pub use conn::{BackendConn, ConnOpts, Head};
pub use health::{BreakerState, HealthSettings, HealthSnapshot};
pub use interrupt::{Interrupt, Scope};
pub use pool::{Backend, Lease, SessionState};
pub use query::{
    describe, exec_drop, query_collect, query_text, spawn_query, NodeMsg, RowStream, TextResult,
};

use crate::error::{SqlError, SqlResult};
use crate::rules::Config;
use std::collections::BTreeMap;
use std::sync::Arc;

/// What went wrong talking to a data source. Typed here; the MySQL error the client sees is
/// chosen by [`BackendError::to_sql`].
#[derive(Debug, Clone)]
pub enum BackendError {
    /// The server answered with an error packet: the connection is fine.
    Server(SqlError),
    /// No connection could be opened (unreachable, refused, timed out, login failed).
    Connect { data_source: String, detail: String },
    /// The connection failed mid-command (I/O error, closed, protocol violation): it is gone
    /// and the command's outcome is unknown.
    Lost { data_source: String, detail: String },
}

impl BackendError {
    /// Whether the connection is unusable after this error.
    pub fn fatal(&self) -> bool {
        !matches!(self, BackendError::Server(_))
    }

    /// The error as the client gets it. Connection failures are server errors naming the
    /// data source (never a client-side code such as 2013).
    pub fn to_sql(&self) -> SqlError {
        match self {
            BackendError::Server(e) => e.clone(),
            BackendError::Connect {
                data_source,
                detail,
            } => SqlError::new(
                1429,
                "HY000",
                format!("Unable to connect to data source {data_source}: {detail}"),
            ),
            BackendError::Lost {
                data_source,
                detail,
            } => SqlError::new(
                1158,
                "HY000",
                format!("Lost the connection to data source {data_source} during the statement: {detail}"),
            ),
        }
    }
}

impl From<BackendError> for SqlError {
    fn from(e: BackendError) -> SqlError {
        e.to_sql()
    }
}

/// All data sources of a configuration, by name. A reload may swap the set (new data
/// sources, one moved to another address); statements hold the `Arc<Backend>` they took,
/// so a lease outlives a swap (a transaction finishes on the backends it joined).
#[derive(Clone)]
pub struct Backends {
    map: Arc<arc_swap::ArcSwap<BTreeMap<String, Arc<Backend>>>>,
    init_sql: Arc<String>,
}

impl Backends {
    pub fn from_config(config: &Config) -> Backends {
        let init_sql = conn::init_sql(config.server.lock_wait_timeout);
        let map = config
            .data_sources
            .iter()
            .map(|(name, ds)| {
                let b = Backend::new(name, ds, config.health.settings(), init_sql.clone());
                (name.clone(), Arc::new(b))
            })
            .collect();
        Backends {
            map: Arc::new(arc_swap::ArcSwap::from_pointee(map)),
            init_sql: Arc::new(init_sql),
        }
    }

    pub fn get(&self, name: &str) -> SqlResult<Arc<Backend>> {
        self.map.load().get(name).cloned().ok_or_else(|| {
            crate::error::SqlError::internal(format!("unknown data source '{name}'"))
        })
    }

    pub fn names(&self) -> Vec<String> {
        self.map.load().keys().cloned().collect()
    }

    pub fn all(&self) -> Vec<Arc<Backend>> {
        self.map.load().values().cloned().collect()
    }

    /// Take the data sources of `config`: a data source whose rules did not change keeps
    /// its backend (pool, breaker, probes); a new or changed one gets a new backend; the
    /// replaced and removed ones are retired (their probes stop; their connections close
    /// once the statements holding them are done). Returns the names that got new backends.
    pub fn replace(&self, config: &Config) -> Vec<String> {
        let old = self.map.load_full();
        let mut next = BTreeMap::new();
        let mut fresh = Vec::new();
        for (name, ds) in &config.data_sources {
            match old.get(name) {
                Some(b) if b.config() == ds => {
                    next.insert(name.clone(), b.clone());
                }
                _ => {
                    let b =
                        Backend::new(name, ds, config.health.settings(), (*self.init_sql).clone());
                    next.insert(name.clone(), Arc::new(b));
                    fresh.push(name.clone());
                }
            }
        }
        for (name, b) in old.iter() {
            if next.get(name).is_none_or(|n| !Arc::ptr_eq(n, b)) {
                b.retire();
            }
        }
        self.map.store(Arc::new(next));
        fresh
    }

    /// Open one connection to every data source and keep it idle. Data sources that cannot
    /// be reached are reported, not fatal: the proxy serves the others and picks those up
    /// when they answer.
    pub async fn warm_up(&self) -> Vec<(String, SqlError)> {
        let mut down = Vec::new();
        for b in self.all() {
            match b.acquire().await {
                Ok(lease) => drop(lease),
                Err(e) => down.push((b.name().to_string(), e)),
            }
        }
        down
    }

    pub async fn disconnect_all(&self) {
        for b in self.all() {
            b.close_idle().await;
        }
    }
}
