//! The cutover gate: how a reshard's cutover holds new work while it switches the rules.
//!
//! Every client statement passes the gate ([`Gate::enter`]) and holds a [`Pass`] while it
//! runs; every open transaction holds a [`TxnPass`] until it ends. A cutover closes the gate
//! ([`Gate::close`]): statements that would start new work (outside a transaction) wait at
//! the gate, queued rather than failed, while statements of transactions already open go on
//! so that those transactions can finish. The cutover waits until no statement runs and no
//! transaction is open (bounded: past the bound it reopens the gate and gives up), switches
//! the rules, and reopens the gate; the waiting statements then run on the new rules.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::watch;

#[derive(Debug)]
pub struct Gate {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    closed: AtomicBool,
    statements: AtomicUsize,
    transactions: AtomicUsize,
    /// Bumped when the gate reopens (waiters wake up).
    opened: watch::Sender<u64>,
}

impl Default for Gate {
    fn default() -> Gate {
        Gate {
            inner: Arc::new(Inner {
                closed: AtomicBool::new(false),
                statements: AtomicUsize::new(0),
                transactions: AtomicUsize::new(0),
                opened: watch::channel(0).0,
            }),
        }
    }
}

/// A running statement (dropped when it ends, however it ends).
#[derive(Debug)]
pub struct Pass(Arc<Inner>);

impl Drop for Pass {
    fn drop(&mut self) {
        self.0.statements.fetch_sub(1, Ordering::SeqCst);
    }
}

/// An open transaction.
#[derive(Debug)]
pub struct TxnPass(Arc<Inner>);

impl Drop for TxnPass {
    fn drop(&mut self) {
        self.0.transactions.fetch_sub(1, Ordering::SeqCst);
    }
}

/// What a closed gate saw while it waited for work in flight to end.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct InFlight {
    pub statements: usize,
    pub transactions: usize,
}

impl Gate {
    /// Let a statement through: at once when the gate is open or the statement belongs to
    /// an open transaction (`in_txn`), otherwise when the gate reopens.
    pub async fn enter(&self, in_txn: bool) -> Pass {
        loop {
            self.inner.statements.fetch_add(1, Ordering::SeqCst);
            if in_txn || !self.inner.closed.load(Ordering::SeqCst) {
                return Pass(self.inner.clone());
            }
            // Closed: step back out (the cutover counts what is inside) and wait. Subscribed
            // before the second look, so a reopening after it is not missed.
            self.inner.statements.fetch_sub(1, Ordering::SeqCst);
            let mut opened = self.inner.opened.subscribe();
            if !self.inner.closed.load(Ordering::SeqCst) {
                continue;
            }
            if opened.changed().await.is_err() {
                // The gate itself is gone (shutting down): let the statement through.
                self.inner.statements.fetch_add(1, Ordering::SeqCst);
                return Pass(self.inner.clone());
            }
        }
    }

    /// A transaction opened (by a statement that passed the gate).
    pub fn transaction(&self) -> TxnPass {
        self.inner.transactions.fetch_add(1, Ordering::SeqCst);
        TxnPass(self.inner.clone())
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
mod tests {
    use super::*;

    #[tokio::test]
    async fn closed_gate_holds_new_statements_and_lets_open_transactions_finish() {
        let gate = Arc::new(Gate::default());
        let txn = gate.transaction();
        let running = gate.enter(false).await;
        let g = gate.clone();
        let closing = tokio::spawn(async move { g.close(Duration::from_secs(5)).await });
        while !gate.is_closed() {
            tokio::task::yield_now().await;
        }
        // A new statement waits at the gate.
        let g = gate.clone();
        let held = tokio::spawn(async move {
            let _p = g.enter(false).await;
            Instant::now()
        });
        tokio::time::sleep(Duration::from_millis(20)).await;
        assert!(!held.is_finished());
        // The open transaction's statements still pass.
        let inside = gate.enter(true).await;
        drop(inside);
        drop(running);
        drop(txn);
        assert_eq!(closing.await.unwrap(), Ok(()));
        assert!(!held.is_finished());
        let reopened = Instant::now();
        gate.open();
        assert!(held.await.unwrap() >= reopened);
    }

    #[tokio::test]
    async fn close_gives_up_after_its_bound_and_reopens() {
        let gate = Gate::default();
        let _txn = gate.transaction();
        let r = gate.close(Duration::from_millis(30)).await;
        assert_eq!(
            r,
            Err(InFlight {
                statements: 0,
                transactions: 1
            })
        );
        assert!(!gate.is_closed());
        drop(gate.enter(false).await);
    }
}
