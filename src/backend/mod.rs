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

/// All data sources of a configuration, by name.
#[derive(Clone)]
pub struct Backends {
    map: Arc<BTreeMap<String, Arc<Backend>>>,
}

impl Backends {
    pub fn from_config(config: &Config) -> Backends {
        let map = config
            .data_sources
            .iter()
            .map(|(name, ds)| {
                let init = conn::init_sql(config.server.lock_wait_timeout);
                let b = Backend::new(name, ds, config.health.settings(), init);
                (name.clone(), Arc::new(b))
            })
            .collect();
        Backends { map: Arc::new(map) }
    }

    pub fn get(&self, name: &str) -> SqlResult<&Arc<Backend>> {
        self.map.get(name).ok_or_else(|| {
            crate::error::SqlError::internal(format!("unknown data source '{name}'"))
        })
    }

    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.map.keys().map(|s| s.as_str())
    }

    pub fn all(&self) -> impl Iterator<Item = &Arc<Backend>> {
        self.map.values()
    }

    /// Open one connection to every data source and keep it idle. Data sources that cannot
    /// be reached are reported, not fatal: the proxy serves the others and picks those up
    /// when they answer.
    pub async fn warm_up(&self) -> Vec<(String, SqlError)> {
        let mut down = Vec::new();
        for b in self.map.values() {
            match b.acquire().await {
                Ok(lease) => drop(lease),
                Err(e) => down.push((b.name().to_string(), e)),
            }
        }
        down
    }

    pub async fn disconnect_all(&self) {
        for b in self.map.values() {
            b.close_idle().await;
        }
    }
}
