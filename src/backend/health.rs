//! Health of one data source and its circuit breaker.
//!
//! A probe task per data source pings it on a connection of its own every
//! `probe_interval_ms`, each ping bounded by `probe_timeout_ms`. After `failures`
//! consecutive failed probes (or failed attempts to open a connection) the breaker opens:
//! statements that need the data source fail at once, statements already waiting on it are
//! answered (their reads are aborted through [`Health::subscribe`]), and only the probes
//! keep talking to it. The first probe that succeeds again closes the breaker ("half-open"
//! is the probe in flight while it is open).
//!
//! The state machine is pure ([`Breaker`]); [`Health`] adds the lock, the watch channel and
//! the clock.

use std::sync::Mutex;
use std::time::{Duration, Instant, SystemTime};
use tokio::sync::watch;

/// Breaker state as `SHOW SHARDING DATA SOURCES` and the metrics name it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BreakerState {
    Closed,
    Open,
    /// Open, with a probe in flight that may close it.
    HalfOpen,
}

impl BreakerState {
    pub fn as_str(self) -> &'static str {
        match self {
            BreakerState::Closed => "closed",
            BreakerState::Open => "open",
            BreakerState::HalfOpen => "half_open",
        }
    }
}

/// The pure breaker: counts consecutive failures, opens at the threshold, closes on the
/// first success.
#[derive(Debug, Clone)]
pub struct Breaker {
    threshold: u32,
    failures: u32,
    open: bool,
    probing: bool,
    /// Times the breaker opened.
    pub trips: u64,
}

/// What a recorded outcome changed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Transition {
    None,
    Opened,
    Closed,
}

impl Breaker {
    pub fn new(threshold: u32) -> Breaker {
        Breaker {
            threshold: threshold.max(1),
            failures: 0,
            open: false,
            probing: false,
            trips: 0,
        }
    }

    pub fn state(&self) -> BreakerState {
        match (self.open, self.probing) {
            (false, _) => BreakerState::Closed,
            (true, false) => BreakerState::Open,
            (true, true) => BreakerState::HalfOpen,
        }
    }

    pub fn probing(&mut self, on: bool) {
        self.probing = on;
    }

    pub fn success(&mut self) -> Transition {
        self.failures = 0;
        self.probing = false;
        if std::mem::take(&mut self.open) {
            Transition::Closed
        } else {
            Transition::None
        }
    }

    pub fn failure(&mut self) -> Transition {
        self.failures = self.failures.saturating_add(1);
        self.probing = false;
        if !self.open && self.failures >= self.threshold {
            self.open = true;
            self.trips += 1;
            Transition::Opened
        } else {
            Transition::None
        }
    }
}

/// Probe settings (`[health]` in the rules).
#[derive(Debug, Clone, Copy)]
pub struct HealthSettings {
    pub enabled: bool,
    pub interval: Duration,
    pub timeout: Duration,
    pub failures: u32,
}

struct Inner {
    breaker: Breaker,
    last_error: Option<String>,
    /// When the breaker last opened (wall clock, for display).
    opened_at: Option<SystemTime>,
    last_ok: Option<Instant>,
}

/// What operators see of a data source's health.
#[derive(Debug, Clone)]
pub struct HealthSnapshot {
    pub state: BreakerState,
    pub last_error: Option<String>,
    pub opened_at: Option<SystemTime>,
    pub last_ok_ago: Option<Duration>,
    pub trips: u64,
}

pub struct Health {
    name: String,
    pub settings: HealthSettings,
    inner: Mutex<Inner>,
    open_tx: watch::Sender<bool>,
}

impl Health {
    pub fn new(name: &str, settings: HealthSettings) -> Health {
        Health {
            name: name.to_string(),
            settings,
            inner: Mutex::new(Inner {
                breaker: Breaker::new(settings.failures),
                last_error: None,
                opened_at: None,
                last_ok: None,
            }),
            open_tx: watch::channel(false).0,
        }
    }

    /// Whether statements that need the data source are refused now.
    pub fn is_open(&self) -> bool {
        *self.open_tx.borrow()
    }

    /// A receiver that turns true when the breaker opens (aborts reads in flight).
    pub fn subscribe(&self) -> watch::Receiver<bool> {
        self.open_tx.subscribe()
    }

    pub fn set_probing(&self, on: bool) {
        if let Ok(mut g) = self.inner.lock() {
            g.breaker.probing(on);
        }
    }

    pub fn record_success(&self) {
        let Ok(mut g) = self.inner.lock() else { return };
        g.last_ok = Some(Instant::now());
        if g.breaker.success() == Transition::Closed {
            drop(g);
            tracing::warn!(
                "data source {}: answers again, circuit breaker closed",
                self.name
            );
            self.open_tx.send_replace(false);
        }
    }

    /// A probe or a connection attempt failed.
    pub fn record_failure(&self, detail: &str) {
        if !self.settings.enabled {
            return;
        }
        let Ok(mut g) = self.inner.lock() else { return };
        g.last_error = Some(detail.to_string());
        if g.breaker.failure() == Transition::Opened {
            g.opened_at = Some(SystemTime::now());
            drop(g);
            tracing::error!(
                "data source {}: not answering ({detail}), circuit breaker opened",
                self.name
            );
            self.open_tx.send_replace(true);
        }
    }

    pub fn snapshot(&self) -> HealthSnapshot {
        match self.inner.lock() {
            Ok(g) => HealthSnapshot {
                state: g.breaker.state(),
                last_error: g.last_error.clone(),
                opened_at: g.opened_at,
                last_ok_ago: g.last_ok.map(|t| t.elapsed()),
                trips: g.breaker.trips,
            },
            Err(_) => HealthSnapshot {
                state: BreakerState::Closed,
                last_error: None,
                opened_at: None,
                last_ok_ago: None,
                trips: 0,
            },
        }
    }

    /// The error a statement gets while the breaker is open.
    pub fn open_error(&self) -> crate::error::SqlError {
        let last = self
            .inner
            .lock()
            .ok()
            .and_then(|g| g.last_error.clone())
            .unwrap_or_default();
        crate::error::SqlError::new(
            1429,
            "HY000",
            format!(
                "Unable to connect to data source {}: it is not answering and its circuit breaker is open (last error: {last})",
                self.name
            ),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn breaker_opens_at_threshold_and_closes_on_success() {
        // (outcomes, expected transitions, final state)
        let cases: &[(&str, &[Transition], BreakerState)] = &[
            ("f", &[Transition::None], BreakerState::Closed),
            (
                "ff",
                &[Transition::None, Transition::Opened],
                BreakerState::Open,
            ),
            (
                "fsf",
                &[Transition::None, Transition::None, Transition::None],
                BreakerState::Closed,
            ),
            (
                "fffs",
                &[
                    Transition::None,
                    Transition::Opened,
                    Transition::None,
                    Transition::Closed,
                ],
                BreakerState::Closed,
            ),
        ];
        for (outcomes, want, end) in cases {
            let mut b = Breaker::new(2);
            let got: Vec<Transition> = outcomes
                .chars()
                .map(|c| if c == 'f' { b.failure() } else { b.success() })
                .collect();
            assert_eq!(&got, want, "{outcomes}");
            assert_eq!(b.state(), *end, "{outcomes}");
        }
    }

    #[test]
    fn half_open_while_probing() {
        let mut b = Breaker::new(1);
        assert_eq!(b.failure(), Transition::Opened);
        b.probing(true);
        assert_eq!(b.state(), BreakerState::HalfOpen);
        assert_eq!(b.failure(), Transition::None);
        assert_eq!(b.state(), BreakerState::Open);
        assert_eq!(b.trips, 1);
    }
}
