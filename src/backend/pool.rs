use super::conn::{BackendConn, ConnOpts};
use super::health::{Health, HealthSettings};
use super::interrupt::{self, Scope};
use super::BackendError;
use crate::error::{SqlError, SqlResult};
use crate::rules::DataSourceConfig;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
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
    conn: BackendConn,
    /// Fingerprint of the session state applied to the connection (0: server defaults).
    state: u64,
    /// The server reported state the proxy did not put there: reset before reuse.
    dirty: bool,
    idle_since: Instant,
}

/// Longest time a connection may sit idle in the pool when the server's `wait_timeout` is
/// not known yet, or is longer.
const MAX_IDLE: Duration = Duration::from_secs(600);

pub struct Backend {
    name: String,
    /// The data source's rules (compared by a reload: equal rules keep this backend).
    config: DataSourceConfig,
    /// A reload replaced or removed this backend: its probe task ends.
    retired: std::sync::atomic::AtomicBool,
    /// A probe task runs for it (see `upkeep`).
    monitored: std::sync::atomic::AtomicBool,
    opts: Arc<ConnOpts>,
    /// The probes' settings: the probe timeout as connect timeout, no breaker watch.
    probe_opts: Arc<ConnOpts>,
    pub health: Health,
    /// Statements waiting for a connection now, and the most allowed (0: no bound).
    waiting: std::sync::atomic::AtomicUsize,
    max_waiting: usize,
    /// The data source was unhealthy and answers again (see [`Backend::take_recovered`]).
    recovered: std::sync::atomic::AtomicBool,
    idle: Mutex<Vec<Pooled>>,
    limit: Arc<Semaphore>,
    /// Longest wait for a free connection.
    timeout: Duration,
    size: usize,
    /// Idle connections older than this (ms) are closed rather than reused: half the
    /// server's `wait_timeout`, so the server never closes one the pool still offers.
    max_idle_ms: AtomicU64,
    /// Whether `wait_timeout` has been read from the server.
    wait_timeout_known: std::sync::atomic::AtomicBool,
    /// The last attempt to open a connection failed (cleared by the next success).
    down: std::sync::atomic::AtomicBool,
}

impl Backend {
    pub fn new(
        name: &str,
        ds: &DataSourceConfig,
        settings: HealthSettings,
        init_sql: String,
    ) -> Backend {
        let health = Health::new(name, settings);
        let opts = ConnOpts {
            name: name.to_string(),
            host: ds.host.clone(),
            port: ds.port,
            user: ds.user.clone(),
            password: ds.password.clone(),
            database: ds.database.clone(),
            connect_timeout: Duration::from_millis(ds.connect_timeout_ms.max(1)),
            max_packet: 1 << 30,
            trip: settings.enabled.then(|| health.subscribe()),
            init_sql,
        };
        let probe_opts = ConnOpts {
            connect_timeout: settings.timeout,
            trip: None,
            ..opts.clone()
        };
        Backend {
            name: name.to_string(),
            config: ds.clone(),
            retired: Default::default(),
            monitored: Default::default(),
            opts: Arc::new(opts),
            probe_opts: Arc::new(probe_opts),
            health,
            waiting: Default::default(),
            max_waiting: ds.max_waiting as usize,
            recovered: Default::default(),
            idle: Mutex::new(Vec::new()),
            limit: Arc::new(Semaphore::new(ds.pool_size.max(1) as usize)),
            timeout: Duration::from_millis(ds.pool_timeout_ms.max(1)),
            size: ds.pool_size.max(1) as usize,
            max_idle_ms: AtomicU64::new(MAX_IDLE.as_millis() as u64),
            wait_timeout_known: Default::default(),
            down: Default::default(),
        }
    }

    /// The data source's rules this backend was made from.
    pub fn config(&self) -> &DataSourceConfig {
        &self.config
    }

    /// Mark a backend a reload replaced: its probe task ends at its next round.
    pub fn retire(&self) {
        self.retired.store(true, Ordering::Relaxed);
    }

    /// Claim the backend's probe task: true once, for the caller that is to start it.
    pub fn claim_monitor(&self) -> bool {
        !self.monitored.swap(true, Ordering::Relaxed)
    }

    /// The data source is not usable now: the last attempt to connect failed, or its
    /// breaker is open. Statements that can run anywhere go elsewhere.
    pub fn is_down(&self) -> bool {
        self.down.load(Ordering::Relaxed) || self.health.is_open()
    }

    /// Whether the data source answers again since it was down or its breaker opened
    /// (clears it): the upkeep task then reloads what it missed.
    pub fn take_recovered(&self) -> bool {
        self.recovered.swap(false, Ordering::Relaxed)
    }

    /// Statements waiting for a connection of this data source now.
    pub fn waiting(&self) -> usize {
        self.waiting.load(Ordering::Relaxed)
    }

    /// Probe the data source every `interval` until `stop` turns true: a ping on a
    /// connection of its own, within the probe timeout. Outcomes drive the breaker. With
    /// the breaker disabled, only a data source found down is probed (until it answers).
    pub async fn monitor(self: Arc<Self>, mut stop: tokio::sync::watch::Receiver<bool>) {
        let settings = self.health.settings;
        let mut conn: Option<BackendConn> = None;
        loop {
            if self.retired.load(Ordering::Relaxed) {
                break;
            }
            tokio::select! {
                _ = stop.changed() => {
                    if *stop.borrow() {
                        break;
                    }
                }
                _ = tokio::time::sleep(settings.interval) => {}
            }
            if !settings.enabled && !self.down.load(Ordering::Relaxed) {
                continue;
            }
            let unhealthy = self.is_down();
            if unhealthy {
                self.health.set_probing(true);
            }
            let outcome = tokio::time::timeout(settings.timeout, async {
                if let Some(c) = conn.as_mut() {
                    if c.ping().await.is_ok() {
                        return Ok(());
                    }
                    conn = None;
                }
                let mut c = BackendConn::connect(&self.probe_opts).await?;
                c.ping().await?;
                conn = Some(c);
                Ok::<(), BackendError>(())
            })
            .await;
            match outcome {
                Ok(Ok(())) => {
                    self.down.store(false, Ordering::Relaxed);
                    self.health.record_success();
                    if unhealthy {
                        self.recovered.store(true, Ordering::Relaxed);
                    }
                }
                Ok(Err(e)) => {
                    conn = None;
                    if matches!(e, BackendError::Connect { .. }) {
                        self.down.store(true, Ordering::Relaxed);
                    }
                    self.health.record_failure(&e.to_sql().message);
                }
                Err(_) => {
                    conn = None;
                    self.health.record_failure(&format!(
                        "no answer to a ping within {} ms",
                        settings.timeout.as_millis()
                    ));
                }
            }
        }
        if let Some(c) = conn {
            c.quit().await;
        }
    }

    /// Longest wait for a free connection (`pool_timeout_ms`).
    pub fn pool_timeout(&self) -> Duration {
        self.timeout
    }

    /// Connections this pool may hold at once.
    pub fn size(&self) -> usize {
        self.size
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    /// Idle connections in the pool now.
    pub fn idle_count(&self) -> usize {
        self.idle.lock().map(|v| v.len()).unwrap_or(0)
    }

    /// Connections checked out now.
    pub fn in_use(&self) -> usize {
        self.size.saturating_sub(self.limit.available_permits())
    }

    /// Open a connection outside the pool's accounting (internal work: catalog loads,
    /// recovery, probes), with the server's default session state.
    pub async fn connect_unpooled(&self) -> Result<BackendConn, BackendError> {
        BackendConn::connect(&self.opts).await
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
        if self.health.is_open() {
            return Err(self.health.open_error());
        }
        let n32 = u32::try_from(n.max(1)).unwrap_or(u32::MAX);
        let scope = Scope::current();
        let mut permit = match self.limit.clone().try_acquire_many_owned(n32) {
            Ok(p) => p,
            Err(_) => self.wait_for_permits(n32, scope.as_deref()).await?,
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
            let (pooled, reused) = match self.take_idle().await {
                Some(p) => (p, true),
                None => (self.open().await.map_err(SqlError::from)?, false),
            };
            let mut lease = Lease {
                pooled: Some(pooled),
                backend: self.clone(),
                _permit: Some(one),
                broken: false,
                reused,
                scope: None,
                slot: None,
            };
            lease.attach(scope.clone());
            out.push(lease);
        }
        Ok(out)
    }

    /// Wait for `n` pool slots: at most `pool_timeout_ms`, with at most `max_waiting`
    /// statements waiting; given up when the breaker opens or the session is interrupted.
    async fn wait_for_permits(
        &self,
        n: u32,
        scope: Option<&Scope>,
    ) -> SqlResult<OwnedSemaphorePermit> {
        let before = self.waiting.fetch_add(1, Ordering::Relaxed);
        let _waiting = Waiting(&self.waiting);
        if self.max_waiting > 0 && before >= self.max_waiting {
            return Err(self.too_busy(&format!(
                "{before} statements are already waiting for one of its {} connections (max_waiting = {})",
                self.size, self.max_waiting
            )));
        }
        let mut trip = self.opts.trip.clone();
        let mut raised = scope.map(|s| s.subscribe());
        tokio::select! {
            p = tokio::time::timeout(self.timeout, self.limit.clone().acquire_many_owned(n)) => match p {
                Ok(p) => p.map_err(|_| SqlError::internal("backend pool closed")),
                Err(_) => Err(self.too_busy(&format!(
                    "no free connection within {} ms (pool_size = {}, {} waiting)",
                    self.timeout.as_millis(),
                    self.size,
                    self.waiting()
                ))),
            },
            _ = interrupt::tripped(&mut trip) => Err(self.health.open_error()),
            why = interrupt::raised(&mut raised) => Err(why.error()),
        }
    }

    /// A statement could not get a connection in time: the server is busy, not a lock
    /// wait (a transaction keeps going; the client may retry the statement).
    fn too_busy(&self, detail: &str) -> SqlError {
        SqlError::new(
            1040,
            "HY000",
            format!(
                "Too many connections: data source {} is too busy: {detail}",
                self.name
            ),
        )
    }

    /// A connection of its own for a session that holds it for its lifetime (temporary
    /// tables, named locks): outside the pool's size, never returned to it.
    pub async fn dedicated(self: &Arc<Self>) -> SqlResult<Lease> {
        if self.health.is_open() {
            return Err(self.health.open_error());
        }
        let pooled = self.open().await.map_err(SqlError::from)?;
        let mut lease = Lease {
            pooled: Some(pooled),
            backend: self.clone(),
            _permit: None,
            broken: false,
            reused: false,
            scope: None,
            slot: None,
        };
        lease.attach(Scope::current());
        Ok(lease)
    }

    async fn open(&self) -> Result<Pooled, BackendError> {
        let mut conn = match BackendConn::connect(&self.opts).await {
            Ok(c) => {
                self.down.store(false, Ordering::Relaxed);
                c
            }
            Err(e) => {
                if matches!(e, BackendError::Connect { .. }) {
                    self.down.store(true, Ordering::Relaxed);
                    self.health.record_failure(&e.to_sql().message);
                }
                return Err(e);
            }
        };
        if !self.wait_timeout_known.load(Ordering::Relaxed) {
            if let Ok((_, rows)) = conn.collect("SELECT @@GLOBAL.wait_timeout").await {
                let secs = rows
                    .first()
                    .and_then(|r| r.first().cloned().flatten())
                    .and_then(|b| std::str::from_utf8(&b).ok()?.trim().parse::<u64>().ok());
                if let Some(s) = secs {
                    let half = (s.saturating_mul(1000) / 2).max(500);
                    self.max_idle_ms
                        .store(half.min(MAX_IDLE.as_millis() as u64), Ordering::Relaxed);
                    self.wait_timeout_known.store(true, Ordering::Relaxed);
                }
            }
        }
        Ok(Pooled {
            conn,
            state: 0,
            dirty: false,
            idle_since: Instant::now(),
        })
    }

    /// The most recently used idle connection that is still usable. Connections that sat
    /// idle too long, were closed by the server, or carry unknown state and cannot be reset
    /// are closed.
    async fn take_idle(&self) -> Option<Pooled> {
        let max_idle = Duration::from_millis(self.max_idle_ms.load(Ordering::Relaxed));
        loop {
            let mut p = self.idle.lock().ok()?.pop()?;
            if p.idle_since.elapsed() >= max_idle || !p.conn.reusable() {
                tokio::spawn(p.conn.quit());
                continue;
            }
            if p.dirty {
                if p.conn.reset().await.is_err() {
                    continue;
                }
                p.dirty = false;
                p.state = 0;
            }
            return Some(p);
        }
    }

    pub async fn close_idle(&self) {
        let conns: Vec<Pooled> = match self.idle.lock() {
            Ok(mut v) => std::mem::take(&mut *v),
            Err(_) => return,
        };
        for p in conns {
            p.conn.quit().await;
        }
    }
}

/// A checked-out backend connection. It goes back to the pool on drop only when it is
/// between commands, outside any transaction and not broken, so a task that panics or
/// forgets a result never hands a half-used connection to another client.
pub struct Lease {
    pooled: Option<Pooled>,
    backend: Arc<Backend>,
    /// The pool slot (None: a dedicated connection, outside the pool).
    _permit: Option<OwnedSemaphorePermit>,
    broken: bool,
    /// Taken from the pool (not opened for this lease).
    reused: bool,
    /// The session this lease serves (its interrupt signal; its list of backend threads).
    scope: Option<(Arc<Scope>, u64)>,
    /// The session's transaction slot (see [`crate::session`]'s transaction admission),
    /// held while any of its pinned connections is.
    slot: Option<Arc<OwnedSemaphorePermit>>,
}

impl Lease {
    pub fn conn(&mut self) -> &mut BackendConn {
        // `pooled` is only None after drop.
        &mut self.pooled.as_mut().expect("lease used after release").conn
    }

    pub fn data_source(&self) -> &str {
        &self.backend.name
    }

    /// Serve `scope`'s session: watch its interrupt signal, list the thread in it.
    fn attach(&mut self, scope: Option<Arc<Scope>>) {
        let Some(scope) = scope else { return };
        let Some(p) = self.pooled.as_mut() else {
            return;
        };
        p.conn.set_interrupt(Some(scope.subscribe()));
        let key = scope.register(Arc::from(self.backend.name.as_str()), p.conn.thread_id());
        self.scope = Some((scope, key));
    }

    /// Hold the session's transaction slot with this connection.
    pub fn hold_slot(&mut self, slot: Arc<OwnedSemaphorePermit>) {
        self.slot = Some(slot);
    }

    pub fn slot(&self) -> Option<&Arc<OwnedSemaphorePermit>> {
        self.slot.as_ref()
    }

    /// Whether the connection came from the pool rather than being opened for this lease.
    pub fn reused(&self) -> bool {
        self.reused
    }

    /// Do not return this connection to the pool (abandoned stream, protocol error).
    pub fn mark_broken(&mut self) {
        self.broken = true;
    }

    /// The connection now carries state the proxy did not put there: reset it before any
    /// other session uses it.
    /// See [`BackendConn::take_txn_writes`] (a lease without a connection wrote nothing).
    pub fn take_txn_writes(&mut self) -> bool {
        self.pooled
            .as_mut()
            .is_some_and(|p| p.conn.take_txn_writes())
    }

    pub fn mark_dirty(&mut self) {
        if let Some(p) = self.pooled.as_mut() {
            p.dirty = true;
        }
    }

    /// Swap the connection for a newly opened one (after the pooled one was found dead).
    pub async fn reconnect(&mut self) -> Result<(), BackendError> {
        let mut fresh = self.backend.open().await?;
        if let Some((scope, key)) = &self.scope {
            fresh.conn.set_interrupt(Some(scope.subscribe()));
            scope.update(*key, fresh.conn.thread_id());
        }
        if let Some(old) = self.pooled.replace(fresh) {
            drop(old);
        }
        self.reused = false;
        Ok(())
    }

    /// Bring the connection to the session's state (no-op when it already has it).
    pub async fn apply_state(&mut self, state: &SessionState) -> SqlResult<()> {
        let Some(p) = self.pooled.as_mut() else {
            return Ok(());
        };
        if p.dirty {
            p.conn.reset().await.map_err(SqlError::from)?;
            p.dirty = false;
            p.state = 0;
        }
        if p.state == state.fingerprint {
            return Ok(());
        }
        if p.state != 0 {
            p.conn.reset().await.map_err(SqlError::from)?;
            p.state = 0;
        }
        for s in &state.statements {
            if let Err(e) = p.conn.exec_drop(s.as_str()).await {
                // Half replayed: this connection's state is known to nobody.
                p.dirty = true;
                return Err(e.into());
            }
        }
        p.conn.take_state_change();
        p.state = state.fingerprint;
        Ok(())
    }

    /// Record that the session changed the connection's state in place (e.g. a SET just ran on it).
    pub fn set_state(&mut self, fingerprint: u64) {
        if let Some(p) = self.pooled.as_mut() {
            p.conn.take_state_change();
            p.state = fingerprint;
        }
    }

    /// Whether the server reported session-state changes since the last check (clears it).
    pub fn take_state_change(&mut self) -> (bool, Vec<(String, String)>) {
        match self.pooled.as_mut() {
            Some(p) => p.conn.take_state_change(),
            None => (false, Vec::new()),
        }
    }
}

impl Drop for Lease {
    fn drop(&mut self) {
        if let Some((scope, key)) = self.scope.take() {
            scope.unregister(key);
        }
        let Some(mut p) = self.pooled.take() else {
            return;
        };
        let c = &mut p.conn;
        c.set_interrupt(None);
        let clean = self._permit.is_some()
            && !self.broken
            && !c.is_broken()
            && c.is_idle()
            && !c.in_transaction();
        if !clean {
            // Closing the socket makes the server roll back whatever was open on it.
            return;
        }
        if c.take_state_change().0 {
            p.dirty = true;
        }
        p.idle_since = Instant::now();
        if let Ok(mut idle) = self.backend.idle.lock() {
            idle.push(p);
        }
    }
}

/// Counts a statement among a pool's waiters while it waits.
struct Waiting<'a>(&'a std::sync::atomic::AtomicUsize);

impl Drop for Waiting<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::Relaxed);
    }
}
