//! Backend data sources: the only module that uses mysql_async.
//!
//! A small pool per data source. Each pooled connection remembers the fingerprint of the
//! session state (SET NAMES, sql_mode, ...) applied to it, so a session's state is applied
//! only when it differs from what the connection already has, and reset only when needed.

mod pool;
mod query;

pub use pool::{Backend, Lease, SessionState};
pub use query::{
    column_def, describe, exec_drop, query_collect, query_text, row_cells, spawn_query,
    BackendError, NodeMsg, RowStream, TextResult,
};

use crate::error::SqlResult;
use crate::rules::Config;
use std::collections::BTreeMap;
use std::sync::Arc;

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
            .map(|(name, ds)| (name.clone(), Arc::new(Backend::new(name, ds))))
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

    /// Open one connection to every data source (fails fast on bad config) and keep it idle.
    pub async fn warm_up(&self) -> SqlResult<()> {
        for b in self.map.values() {
            let lease = b
                .acquire()
                .await
                .map_err(|e| e.with_prefix(&format!("data source '{}': ", b.name())))?;
            drop(lease);
        }
        Ok(())
    }

    pub async fn disconnect_all(&self) {
        for b in self.map.values() {
            b.close_idle().await;
        }
    }
}
