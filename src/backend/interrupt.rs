//! Interrupting backend work: a session's statement timeout or a `KILL QUERY`, and a
//! data source's circuit breaker opening.
//!
//! Each session owns an [`Interrupter`]; the statement it runs executes inside
//! [`Scope::within`], so every connection leased for it (on this task) watches the
//! session's interrupt signal. A connection waiting for a reply when the signal is raised
//! asks the server to stop the statement (`KILL QUERY <thread>` on a separate connection),
//! then keeps reading: the server answers the statement with its error and the connection
//! stays usable, inside a transaction too, as with MariaDB's own `max_statement_time`.
//! The scope also lists the backend threads a session uses (`SHOW PROCESSLIST`).

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use tokio::sync::watch;

/// Why a statement is being stopped.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Interrupt {
    #[default]
    None,
    /// The statement ran past its time limit.
    Timeout,
    /// `KILL QUERY` (or `KILL`) of the session.
    Killed,
    /// The result went past `[limits] max_result_rows` / `max_result_bytes`: the backend
    /// work stops; the client gets the limit's error (the writer holds it).
    ResultLimit,
}

impl Interrupt {
    /// The error the statement ends with.
    pub fn error(self) -> crate::error::SqlError {
        match self {
            Interrupt::Timeout => crate::error::SqlError::new(
                1969,
                "70100",
                "Query execution was interrupted (max_statement_time exceeded)",
            ),
            _ => crate::error::SqlError::new(1317, "70100", "Query execution was interrupted"),
        }
    }
}

/// A session's interrupt signal and the backend threads it uses.
pub struct Scope {
    tx: watch::Sender<Interrupt>,
    threads: Mutex<BTreeMap<u64, (Arc<str>, u32)>>,
    next: AtomicU64,
}

tokio::task_local! {
    static CURRENT: Arc<Scope>;
}

impl Scope {
    pub fn new() -> Arc<Scope> {
        Arc::new(Scope {
            tx: watch::channel(Interrupt::None).0,
            threads: Mutex::new(BTreeMap::new()),
            next: AtomicU64::new(1),
        })
    }

    /// Run `f` with this scope current: connections leased inside it watch the signal.
    pub async fn within<F: std::future::Future>(self: &Arc<Self>, f: F) -> F::Output {
        CURRENT.scope(self.clone(), f).await
    }

    /// The scope of the running task, if any.
    pub fn current() -> Option<Arc<Scope>> {
        CURRENT.try_with(|s| s.clone()).ok()
    }

    /// Raise the signal (a statement that is not running is not affected: the next one
    /// clears it).
    pub fn interrupt(&self, why: Interrupt) {
        self.tx.send_replace(why);
    }

    /// Clear the signal (a statement starts).
    pub fn clear(&self) {
        if *self.tx.borrow() != Interrupt::None {
            self.tx.send_replace(Interrupt::None);
        }
    }

    pub fn raised(&self) -> Interrupt {
        *self.tx.borrow()
    }

    pub fn subscribe(&self) -> watch::Receiver<Interrupt> {
        self.tx.subscribe()
    }

    pub(super) fn register(&self, data_source: Arc<str>, thread: u32) -> u64 {
        let key = self.next.fetch_add(1, Ordering::Relaxed);
        if let Ok(mut t) = self.threads.lock() {
            t.insert(key, (data_source, thread));
        }
        key
    }

    pub(super) fn update(&self, key: u64, thread: u32) {
        if let Ok(mut t) = self.threads.lock() {
            if let Some(e) = t.get_mut(&key) {
                e.1 = thread;
            }
        }
    }

    pub(super) fn unregister(&self, key: u64) {
        if let Ok(mut t) = self.threads.lock() {
            t.remove(&key);
        }
    }

    /// Backend threads the session holds now: `ds_0#123`, in lease order.
    pub fn threads(&self) -> Vec<String> {
        self.threads
            .lock()
            .map(|t| t.values().map(|(d, id)| format!("{d}#{id}")).collect())
            .unwrap_or_default()
    }
}

/// Wait until `rx` holds a raised signal; pending forever without a receiver.
pub(super) async fn raised(rx: &mut Option<watch::Receiver<Interrupt>>) -> Interrupt {
    if let Some(rx) = rx {
        let got = rx.wait_for(|i| *i != Interrupt::None).await.map(|v| *v);
        if let Ok(v) = got {
            return v;
        }
    }
    std::future::pending().await
}

/// Wait until the breaker opens; pending forever without a receiver.
pub(super) async fn tripped(rx: &mut Option<watch::Receiver<bool>>) {
    if let Some(rx) = rx {
        if rx.wait_for(|open| *open).await.is_ok() {
            return;
        }
    }
    std::future::pending().await
}

/// Statements that end or structure a transaction: never stopped half-way by an interrupt
/// (a killed `XA COMMIT` would leave a branch in doubt).
pub(super) fn is_transaction_control(sql: &str) -> bool {
    let head = sql
        .trim_start()
        .split_ascii_whitespace()
        .next()
        .unwrap_or("");
    ["XA", "COMMIT", "ROLLBACK", "SAVEPOINT", "RELEASE"]
        .iter()
        .any(|k| head.eq_ignore_ascii_case(k))
}

/// `KILL QUERY <thread>` on a connection of its own (the data source's settings, no
/// breaker watch). True when the server accepted it.
pub(super) fn spawn_kill(opts: Arc<super::ConnOpts>, thread: u32) -> tokio::task::JoinHandle<bool> {
    let fut: std::pin::Pin<Box<dyn std::future::Future<Output = bool> + Send>> =
        Box::pin(async move {
            let mut o = (*opts).clone();
            o.trip = None;
            let Ok(mut c) = super::BackendConn::connect(&Arc::new(o)).await else {
                return false;
            };
            let ok = c.exec_drop(&format!("KILL QUERY {thread}")).await.is_ok();
            c.quit().await;
            ok
        });
    tokio::spawn(fut)
}
