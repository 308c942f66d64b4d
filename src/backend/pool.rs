use crate::error::{SqlError, SqlResult};
use crate::rules::DataSourceConfig;
use mysql_async::prelude::Queryable;
use mysql_async::{Conn, Opts, OptsBuilder};
use std::sync::{Arc, Mutex};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

/// Session state a client has set (SET NAMES, SET SESSION ...), replayed on backend connections.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SessionState {
    /// Statements to run on a freshly reset connection, in order.
    pub statements: Vec<String>,
    /// 0 = server defaults.
    pub fingerprint: u64,
}

impl SessionState {
    pub fn recompute_fingerprint(&mut self) {
        use std::hash::{Hash, Hasher};
        if self.statements.is_empty() {
            self.fingerprint = 0;
            return;
        }
        // Process-local only (never persisted or used for placement), so DefaultHasher is fine.
        let mut h = std::collections::hash_map::DefaultHasher::new();
        self.statements.hash(&mut h);
        self.fingerprint = h.finish() | 1;
    }
}

struct Pooled {
    conn: Conn,
    state: u64,
}

pub struct Backend {
    name: String,
    opts: Opts,
    idle: Mutex<Vec<Pooled>>,
    limit: Arc<Semaphore>,
    /// Longest wait for a free connection.
    timeout: std::time::Duration,
    size: usize,
}

impl Backend {
    pub fn new(name: &str, ds: &DataSourceConfig) -> Backend {
        let opts = OptsBuilder::default()
            .ip_or_hostname(ds.host.clone())
            .tcp_port(ds.port)
            .user(Some(ds.user.clone()))
            .pass(if ds.password.is_empty() {
                None
            } else {
                Some(ds.password.clone())
            })
            .db_name(Some(ds.database.clone()))
            .prefer_socket(false)
            .tcp_nodelay(true)
            .stmt_cache_size(0)
            // A slow client must not make MariaDB abort a stream it cannot write.
            .init(vec!["SET SESSION net_write_timeout = 3600".to_string()]);
        Backend {
            name: name.to_string(),
            opts: opts.into(),
            idle: Mutex::new(Vec::new()),
            limit: Arc::new(Semaphore::new(ds.pool_size.max(1) as usize)),
            timeout: std::time::Duration::from_millis(ds.pool_timeout_ms.max(1)),
            size: ds.pool_size.max(1) as usize,
        }
    }

    /// Connections this pool may hold at once.
    pub fn size(&self) -> usize {
        self.size
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    /// Check out a connection (waits when `pool_size` are in use).
    pub async fn acquire(self: &Arc<Self>) -> SqlResult<Lease> {
        let mut v = self.acquire_many(1).await?;
        v.pop()
            .ok_or_else(|| SqlError::internal("empty lease batch"))
    }

    /// Check out `n` connections at once (a statement's nodes on this data source). Taking a
    /// statement's connections per data source as one batch, data sources in a fixed order,
    /// means statements never hold some connections while waiting for more of the same pool.
    pub async fn acquire_many(self: &Arc<Self>, n: usize) -> SqlResult<Vec<Lease>> {
        let n32 = u32::try_from(n.max(1)).unwrap_or(u32::MAX);
        let mut permit = match tokio::time::timeout(
            self.timeout,
            self.limit.clone().acquire_many_owned(n32),
        )
        .await
        {
            Ok(p) => p.map_err(|_| SqlError::internal("backend pool closed"))?,
            Err(_) => {
                return Err(SqlError::new(
                    1205,
                    "HY000",
                    format!(
                        "Lock wait timeout exceeded; try restarting transaction (no free connection to data source {} within {} ms)",
                        self.name,
                        self.timeout.as_millis()
                    ),
                ))
            }
        };
        let count = n.max(1);
        let mut permits = Vec::with_capacity(count);
        for _ in 1..count {
            permits.push(
                permit
                    .split(1)
                    .ok_or_else(|| SqlError::internal("permit split"))?,
            );
        }
        permits.push(permit);
        let mut out = Vec::with_capacity(count);
        for one in permits {
            let idle = self.idle.lock().ok().and_then(|mut v| v.pop());
            let pooled = match idle {
                Some(p) => p,
                None => Pooled {
                    conn: Conn::new(self.opts.clone()).await.map_err(SqlError::from)?,
                    state: 0,
                },
            };
            out.push(Lease {
                pooled: Some(pooled),
                backend: self.clone(),
                _permit: one,
                broken: false,
            });
        }
        Ok(out)
    }

    pub async fn close_idle(&self) {
        let conns: Vec<Pooled> = match self.idle.lock() {
            Ok(mut v) => std::mem::take(&mut *v),
            Err(_) => return,
        };
        for p in conns {
            let _ = p.conn.disconnect().await;
        }
    }
}

/// A checked-out backend connection; returns to the pool on drop unless marked broken.
pub struct Lease {
    pooled: Option<Pooled>,
    backend: Arc<Backend>,
    _permit: OwnedSemaphorePermit,
    broken: bool,
}

impl Lease {
    pub fn conn(&mut self) -> &mut Conn {
        // `pooled` is only None after drop.
        &mut self.pooled.as_mut().expect("lease used after release").conn
    }

    pub fn data_source(&self) -> &str {
        &self.backend.name
    }

    /// Do not return this connection to the pool (abandoned stream, protocol error).
    pub fn mark_broken(&mut self) {
        self.broken = true;
    }

    /// Bring the connection to the session's state (no-op when it already has it).
    pub async fn apply_state(&mut self, state: &SessionState) -> SqlResult<()> {
        let Some(p) = self.pooled.as_mut() else {
            return Ok(());
        };
        if p.state == state.fingerprint {
            return Ok(());
        }
        if p.state != 0 {
            p.conn.reset().await.map_err(SqlError::from)?;
            p.conn
                .query_drop("SET SESSION net_write_timeout = 3600")
                .await
                .map_err(SqlError::from)?;
            p.state = 0;
        }
        for s in &state.statements {
            p.conn
                .query_drop(s.as_str())
                .await
                .map_err(SqlError::from)?;
        }
        p.state = state.fingerprint;
        Ok(())
    }

    /// Record that the session changed the connection's state in place (e.g. a SET just ran on it).
    pub fn set_state(&mut self, fingerprint: u64) {
        if let Some(p) = self.pooled.as_mut() {
            p.state = fingerprint;
        }
    }
}

impl Drop for Lease {
    fn drop(&mut self) {
        if let Some(p) = self.pooled.take() {
            if !self.broken {
                if let Ok(mut idle) = self.backend.idle.lock() {
                    idle.push(p);
                    return;
                }
            }
            drop(p);
        }
    }
}
