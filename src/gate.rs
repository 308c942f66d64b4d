//! The cutover gate: how a reshard's cutover holds new work on the moving tables while it
//! switches the rules.
//!
//! Every client statement passes the gate ([`Gate::enter`]) and holds a [`Pass`] while it
//! runs; every open transaction holds a [`TxnPass`] until it ends. Once a reshard job runs,
//! the gate knows its moving tables ([`Gate::set_scope`]), and a statement says which tables
//! it touches as soon as it is parsed ([`Pass::try_touch`]). A cutover closes the gate
//! ([`Gate::close`]) and waits until no statement that may touch a moving table runs and no
//! transaction that touched one is open (bounded: past the bound it reopens the gate and
//! gives up). Meanwhile a new statement on a moving table waits ([`Pass::wait_open`]), queued
//! rather than failed, while statements on other tables, and the statements of the
//! transactions the cutover waits for, go on. The cutover switches the rules and reopens the
//! gate; the waiting statements then run on the new rules.
//!
//! A transaction that had not touched a moving table when the rules switched keeps the old
//! rules; if it then touches a moving table it gets [`Touch::Stale`] (error 1412, retry the
//! transaction), since the old rules would send it to the old tables.
//!
//! Without a scope (no job has run yet) every statement and transaction counts, and a
//! closed gate holds every new statement at [`Gate::enter`].

use arc_swap::ArcSwapOption;
use std::borrow::Cow;
use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, Weak};
use std::time::{Duration, Instant};
use tokio::sync::watch;

#[derive(Debug)]
pub struct Gate {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    closed: AtomicBool,
    /// Statements that may touch a moving table (not yet parsed, or touching one).
    statements: AtomicUsize,
    /// Open transactions that touched a moving table.
    transactions: AtomicUsize,
    /// Bumped when the gate reopens (waiters wake up).
    opened: watch::Sender<u64>,
    /// The moving tables, lower-cased (logical database, table).
    scope: ArcSwapOption<Scope>,
    /// Completed switches of the rules.
    switches: AtomicU64,
    /// Transactions begun before the scope was set (they count until it is, and remember
    /// their tables so that [`Gate::set_scope`] can tell which still must).
    unscoped: Mutex<Vec<Weak<TxnCell>>>,
}

impl Default for Gate {
    fn default() -> Gate {
        Gate {
            inner: Arc::new(Inner {
                closed: AtomicBool::new(false),
                statements: AtomicUsize::new(0),
                transactions: AtomicUsize::new(0),
                opened: watch::channel(0).0,
                scope: ArcSwapOption::const_empty(),
                switches: AtomicU64::new(0),
                unscoped: Mutex::new(Vec::new()),
            }),
        }
    }
}

impl Inner {
    /// Wait until the gate is open (or gone).
    async fn opened(&self) {
        let mut opened = self.opened.subscribe();
        // Subscribed before the second look, so a reopening after it is not missed.
        while self.closed.load(Ordering::SeqCst) {
            if opened.changed().await.is_err() {
                return;
            }
        }
    }

    /// Does a statement on these tables count? Every statement does without a scope.
    fn moving<'t>(&self, tables: impl Iterator<Item = (&'t str, &'t str)>) -> bool {
        match &*self.scope.load() {
            None => true,
            Some(s) => in_scope(s, tables),
        }
    }

    fn scoped(&self) -> bool {
        self.scope.load().is_some()
    }
}

/// The moving tables: lower-cased logical database → lower-cased tables.
type Scope = HashMap<String, HashSet<String>>;

fn in_scope<'t>(scope: &Scope, mut tables: impl Iterator<Item = (&'t str, &'t str)>) -> bool {
    // Names are usually lower-case already (table references are): no copy then.
    fn lower(s: &str) -> Cow<'_, str> {
        if s.bytes().any(|b| b.is_ascii_uppercase()) {
            Cow::Owned(s.to_ascii_lowercase())
        } else {
            Cow::Borrowed(s)
        }
    }
    tables.any(|(db, t)| {
        scope
            .get(lower(db).as_ref())
            .is_some_and(|ts| ts.contains(lower(t).as_ref()))
    })
}

/// A running statement (dropped when it ends, however it ends).
#[derive(Debug)]
pub struct Pass {
    inner: Arc<Inner>,
    /// Counted in `statements`.
    counted: bool,
    /// Touched a moving table (a transaction it opens counts at once).
    moving: bool,
}

impl Drop for Pass {
    fn drop(&mut self) {
        if self.counted {
            self.inner.statements.fetch_sub(1, Ordering::SeqCst);
        }
    }
}

/// An open transaction.
#[derive(Debug)]
pub struct TxnPass {
    inner: Arc<Inner>,
    cell: Arc<TxnCell>,
    /// `switches` when the transaction began.
    began: u64,
}

#[derive(Debug, Default)]
struct TxnCell(Mutex<TxnState>);

#[derive(Debug, Default)]
struct TxnState {
    /// Counted in `transactions`.
    counted: bool,
    /// The tables touched while no scope was set.
    tables: Vec<(String, String)>,
}

impl TxnCell {
    fn lock(&self) -> std::sync::MutexGuard<'_, TxnState> {
        self.0.lock().unwrap_or_else(|p| p.into_inner())
    }
}

impl Drop for TxnPass {
    fn drop(&mut self) {
        if std::mem::take(&mut self.cell.lock().counted) {
            self.inner.transactions.fetch_sub(1, Ordering::SeqCst);
        }
    }
}

impl TxnPass {
    fn counted(&self) -> bool {
        self.cell.lock().counted
    }

    /// Without a scope: remember the tables (the transaction counts already). `false` once
    /// a scope is set (read under the lock [`Gate::set_scope`] takes too).
    fn record<'t>(&self, tables: impl Iterator<Item = (&'t str, &'t str)>) -> bool {
        let mut st = self.cell.lock();
        if self.inner.scoped() {
            return false;
        }
        for (db, t) in tables {
            if !st.tables.iter().any(|(d, n)| d == db && n == t) {
                st.tables.push((db.to_string(), t.to_string()));
            }
        }
        true
    }
}

/// What [`Pass::try_touch`] says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Touch {
    Go,
    /// The gate is closed and the statement touches a moving table.
    Wait,
    /// A transaction that began before the rules switched touches a moving table.
    Stale,
}

/// What a closed gate saw while it waited for work in flight to end.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct InFlight {
    pub statements: usize,
    pub transactions: usize,
}

impl Pass {
    /// The statement touches these tables (logical database, table). [`Touch::Wait`]: one
    /// of them moves and the gate is closed (call [`Pass::wait_open`], then again). A
    /// statement that touches none no longer counts. `txn`: the statement's transaction,
    /// if it runs in one.
    pub fn try_touch<'t>(
        &mut self,
        tables: impl Iterator<Item = (&'t str, &'t str)>,
        txn: Option<&mut TxnPass>,
    ) -> Touch {
        let g = self.inner.clone();
        let mut tables = tables.peekable();
        if let Some(t) = &txn {
            if tables.peek().is_some() && t.record(tables.by_ref()) {
                return Touch::Go;
            }
        }
        if !g.moving(tables) {
            // (Only with a scope: without one every table moves.)
            self.uncount();
            return Touch::Go;
        }
        self.moving = true;
        match txn {
            Some(t) if !t.counted() => {
                // The transaction's first moving table: it counts from now on, unless the
                // cutover is under way (then it waits) or done (then its rules are stale).
                g.transactions.fetch_add(1, Ordering::SeqCst);
                if g.closed.load(Ordering::SeqCst) {
                    g.transactions.fetch_sub(1, Ordering::SeqCst);
                    return Touch::Wait;
                }
                if g.switches.load(Ordering::SeqCst) != t.began {
                    g.transactions.fetch_sub(1, Ordering::SeqCst);
                    return Touch::Stale;
                }
                t.cell.lock().counted = true;
                Touch::Go
            }
            // Its transaction already counts: the cutover waits for it.
            Some(_) => Touch::Go,
            None => {
                if !self.counted {
                    g.statements.fetch_add(1, Ordering::SeqCst);
                    self.counted = true;
                }
                if g.closed.load(Ordering::SeqCst) {
                    return Touch::Wait;
                }
                Touch::Go
            }
        }
    }

    /// After [`Touch::Wait`]: step out while the gate is closed (the cutover counts what is
    /// inside) and come back when it reopens.
    pub async fn wait_open(&mut self) {
        self.uncount();
        self.inner.opened().await;
    }

    fn uncount(&mut self) {
        if self.counted {
            self.inner.statements.fetch_sub(1, Ordering::SeqCst);
            self.counted = false;
        }
    }
}

impl Gate {
    /// Let a statement through. With a scope always at once (the statement waits once it
    /// says what it touches); without one, at once when the gate is open or the
    /// statement belongs to an open transaction (`in_txn`), otherwise when it reopens.
    pub async fn enter(&self, in_txn: bool) -> Pass {
        let g = &self.inner;
        loop {
            g.statements.fetch_add(1, Ordering::SeqCst);
            let pass = Pass {
                inner: g.clone(),
                counted: true,
                moving: false,
            };
            if in_txn || g.scoped() || !g.closed.load(Ordering::SeqCst) {
                return pass;
            }
            drop(pass);
            g.opened().await;
        }
    }

    /// A transaction opened by the statement holding `by`. It counts at once without a
    /// scope or when that statement touched a moving table (a transaction opened by
    /// autocommit=0 or for a write over several nodes), else from its first moving table.
    pub fn transaction(&self, by: Option<&Pass>) -> TxnPass {
        let g = &self.inner;
        let cell = Arc::new(TxnCell::default());
        let pass = TxnPass {
            inner: g.clone(),
            cell: cell.clone(),
            began: g.switches.load(Ordering::SeqCst),
        };
        let moving = by.is_some_and(|p| p.moving);
        let mut st = cell.lock();
        if moving || !g.scoped() {
            st.counted = true;
            g.transactions.fetch_add(1, Ordering::SeqCst);
        }
        if !g.scoped() {
            let mut list = g.unscoped.lock().unwrap_or_else(|p| p.into_inner());
            if list.len() >= 64 && list.len().is_power_of_two() {
                list.retain(|w| w.strong_count() > 0);
            }
            list.push(Arc::downgrade(&cell));
        }
        drop(st);
        pass
    }

    /// The moving tables of the reshard job (logical database, table). Transactions begun
    /// before stop counting unless they touched one of them.
    pub fn set_scope(&self, tables: impl IntoIterator<Item = (String, String)>) {
        let mut set = Scope::new();
        for (d, t) in tables {
            set.entry(d.to_ascii_lowercase())
                .or_default()
                .insert(t.to_ascii_lowercase());
        }
        let set = Arc::new(set);
        let g = &self.inner;
        g.scope.store(Some(set.clone()));
        let list = std::mem::take(&mut *g.unscoped.lock().unwrap_or_else(|p| p.into_inner()));
        for cell in list.iter().filter_map(Weak::upgrade) {
            let mut st = cell.lock();
            let touched = st.tables.iter().map(|(d, t)| (d.as_str(), t.as_str()));
            if st.counted && !in_scope(&set, touched) {
                st.counted = false;
                g.transactions.fetch_sub(1, Ordering::SeqCst);
            }
            st.tables = Vec::new();
        }
    }

    pub fn is_closed(&self) -> bool {
        self.inner.closed.load(Ordering::SeqCst)
    }

    /// Close the gate and wait until nothing is in flight, for at most `bound`. On success
    /// the gate stays closed (the caller reopens it); on timeout it is reopened and what was
    /// still in flight is returned.
    pub async fn close(&self, bound: Duration) -> Result<(), InFlight> {
        self.inner.closed.store(true, Ordering::SeqCst);
        let deadline = Instant::now() + bound;
        loop {
            let now = self.in_flight();
            if now.statements == 0 && now.transactions == 0 {
                return Ok(());
            }
            if Instant::now() >= deadline {
                self.open();
                return Err(now);
            }
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
    }

    /// The rules switched while the gate was closed (call before [`Gate::open`]):
    /// transactions begun before now may no longer touch a moving table.
    pub fn switched(&self) {
        self.inner.switches.fetch_add(1, Ordering::SeqCst);
    }

    /// Reopen the gate: held statements go on.
    pub fn open(&self) {
        self.inner.closed.store(false, Ordering::SeqCst);
        self.inner.opened.send_modify(|v| *v += 1);
    }

    pub fn in_flight(&self) -> InFlight {
        InFlight {
            statements: self.inner.statements.load(Ordering::SeqCst),
            transactions: self.inner.transactions.load(Ordering::SeqCst),
        }
    }
}

#[cfg(test)]
mod tests;
