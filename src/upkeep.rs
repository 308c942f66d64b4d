//! Background upkeep of a running proxy: every data source is probed by its own task (its
//! circuit breaker, see [`crate::backend`]); when one answers again after being down, the catalog is loaded again while some data source's tables are missing from it,
//! and this proxy's in-doubt XA branches are resolved (never its transactions in flight,
//! never another proxy's).

use crate::server::Shared;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::watch;

/// How often the upkeep task looks around.
pub const INTERVAL: Duration = Duration::from_secs(2);

/// How often in-doubt XA branches are looked for when nothing else suggests it.
pub const RECOVERY_INTERVAL: Duration = Duration::from_secs(10);

/// Run until `stop` turns true.
pub async fn run(shared: Arc<Shared>, mut stop: watch::Receiver<bool>) {
    let mut last_recovery = Instant::now();
    loop {
        // Every backend gets its probe task, those a reload added too.
        for b in shared.backends.all() {
            if b.claim_monitor() {
                tokio::spawn(b.monitor(stop.clone()));
            }
        }
        tokio::select! {
            _ = stop.changed() => {
                if *stop.borrow() {
                    return;
                }
            }
            _ = tokio::time::sleep(INTERVAL) => {}
        }
        let mut came_back = false;
        for b in shared.backends.all() {
            if b.take_recovered() {
                tracing::info!("data source {} answers again", b.name());
                came_back = true;
            }
        }
        if came_back || !shared.catalog.missing().is_empty() {
            let _ = shared
                .catalog
                .load(&shared.served.load(), &shared.backends)
                .await;
        }
        let xa = shared.txn.mode == crate::txn::TxnMode::Xa;
        if xa && (came_back || last_recovery.elapsed() >= RECOVERY_INTERVAL) {
            last_recovery = Instant::now();
            match shared.txn.recover(&shared.backends).await {
                Ok(report) if report.is_quiet() => {}
                Ok(report) => tracing::info!("background {report}"),
                Err(e) => tracing::warn!("background XA recovery: {e}"),
            }
        }
    }
}
