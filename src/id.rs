//! Snowflake key generation (issue 4): 64-bit ids that are unique across proxies with distinct
//! worker ids and increase within one proxy.
//!
//! Layout, most significant bit first:
//!
//! ```text
//! 0 | 41 bits: milliseconds since the epoch | 10 bits: worker id | 12 bits: sequence
//! ```
//!
//! The top bit is always 0, so ids fit a signed `BIGINT` until the 41-bit clock runs out
//! (about 69 years after the epoch). The epoch is a UTC instant (`[server] snowflake_epoch`).
//!
//! - One lock-free `AtomicU64` holds the last (millisecond, sequence) pair; every id is one
//!   compare-and-swap on it, so ids are strictly increasing within the process.
//! - Low traffic: a new millisecond does not start its sequence at 0 but at a pseudo-random
//!   offset in `0..SEQUENCE_START_RANGE` derived from the millisecond, so that `id % n` stays
//!   balanced when most milliseconds see one id (otherwise every id would be even).
//! - The 4,096 ids of a millisecond (fewer when it started at an offset) are used up: wait for
//!   the next millisecond.
//! - The clock moved backwards: wait for it to catch up when it is at most
//!   `max_clock_backwards_ms` behind, otherwise fail ([`IdError::ClockBackwards`]) rather
//!   than risk duplicates. Waits block the calling thread (they are short and rare).
//!
//! The clock is injected ([`Clock`]) so that tests can simulate it.

use crate::error::SqlError;
use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

pub const TIMESTAMP_BITS: u32 = 41;
pub const WORKER_BITS: u32 = 10;
pub const SEQUENCE_BITS: u32 = 12;
pub const WORKER_SHIFT: u32 = SEQUENCE_BITS;
pub const TIMESTAMP_SHIFT: u32 = SEQUENCE_BITS + WORKER_BITS;
pub const MAX_WORKER_ID: u16 = (1 << WORKER_BITS) - 1;
pub const MAX_SEQUENCE: u64 = (1 << SEQUENCE_BITS) - 1;
pub const MAX_TIMESTAMP: u64 = (1 << TIMESTAMP_BITS) - 1;
/// A new millisecond starts its sequence somewhere in `0..SEQUENCE_START_RANGE` (a power of
/// two): ids stay balanced for `id % n` with n up to this, at the cost of at most
/// 255 of the 4,096 sequence numbers of a busy millisecond (6%).
pub const SEQUENCE_START_RANGE: u64 = 256;

pub use crate::rules::{DEFAULT_MAX_CLOCK_BACKWARDS_MS, DEFAULT_SNOWFLAKE_EPOCH};

/// A wall clock in milliseconds since the Unix epoch (UTC).
pub trait Clock: Send + Sync {
    fn now_ms(&self) -> u64;
    /// Let about `ms` milliseconds pass (0: just yield). Simulated clocks advance themselves.
    fn wait_ms(&self, ms: u64) {
        if ms == 0 {
            std::thread::yield_now();
        } else {
            std::thread::sleep(Duration::from_millis(ms));
        }
    }
}

/// The system's wall clock (`SystemTime`, UTC; it can move backwards, e.g. under NTP).
#[derive(Debug, Default, Clone, Copy)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now_ms(&self) -> u64 {
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_millis() as u64)
            .unwrap_or(0)
    }
}

/// A simulated clock for tests: time moves only when set, or by `wait_ms` (at least 1 ms
/// per wait, so that a generator waiting for the next millisecond gets it).
#[derive(Debug, Default)]
pub struct ManualClock {
    now: AtomicU64,
    waits: AtomicU64,
    waited_ms: AtomicU64,
}

impl ManualClock {
    pub fn new(now_ms: u64) -> ManualClock {
        ManualClock {
            now: AtomicU64::new(now_ms),
            ..Default::default()
        }
    }
    pub fn set(&self, now_ms: u64) {
        self.now.store(now_ms, Ordering::SeqCst);
    }
    pub fn advance(&self, ms: u64) {
        self.now.fetch_add(ms, Ordering::SeqCst);
    }
    /// Number of `wait_ms` calls so far.
    pub fn waits(&self) -> u64 {
        self.waits.load(Ordering::SeqCst)
    }
    /// Simulated milliseconds spent waiting so far.
    pub fn waited_ms(&self) -> u64 {
        self.waited_ms.load(Ordering::SeqCst)
    }
}

impl Clock for ManualClock {
    fn now_ms(&self) -> u64 {
        self.now.load(Ordering::SeqCst)
    }
    fn wait_ms(&self, ms: u64) {
        let ms = ms.max(1);
        self.waits.fetch_add(1, Ordering::SeqCst);
        self.waited_ms.fetch_add(ms, Ordering::SeqCst);
        self.now.fetch_add(ms, Ordering::SeqCst);
    }
}

/// Why no id could be generated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum IdError {
    /// The clock is more than the tolerance behind the last id's millisecond.
    ClockBackwards { behind_ms: u64, tolerance_ms: u64 },
    /// The clock is before the configured epoch.
    BeforeEpoch { now_ms: u64, epoch_ms: u64 },
    /// More than 2^41 ms (about 69 years) since the epoch.
    TimestampOverflow,
}

impl fmt::Display for IdError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            IdError::ClockBackwards {
                behind_ms,
                tolerance_ms,
            } => write!(
                f,
                "the system clock moved back {behind_ms} ms (more than max_clock_backwards_ms = \
                 {tolerance_ms}); refusing to generate ids that could repeat"
            ),
            IdError::BeforeEpoch { now_ms, epoch_ms } => write!(
                f,
                "the system clock ({now_ms} ms since 1970) is before snowflake_epoch \
                 ({epoch_ms} ms since 1970)"
            ),
            IdError::TimestampOverflow => write!(
                f,
                "more than 2^41 ms have passed since snowflake_epoch; ids would overflow"
            ),
        }
    }
}

impl std::error::Error for IdError {}

impl IdError {
    /// As a MySQL error: ER_AUTOINC_READ_FAILED (1467), the server's own "could not generate
    /// an auto-increment value", with the column and the reason.
    pub fn to_sql(&self, table: &str, column: &str) -> SqlError {
        SqlError::new(
            1467,
            "HY000",
            format!("Failed to generate a snowflake key for {table}.{column}: {self}"),
        )
    }
}

/// The parts of an id.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IdParts {
    /// Milliseconds since the generator's epoch.
    pub timestamp: u64,
    pub worker: u16,
    pub sequence: u16,
}

pub fn compose(p: IdParts) -> u64 {
    (p.timestamp << TIMESTAMP_SHIFT) | (u64::from(p.worker) << WORKER_SHIFT) | u64::from(p.sequence)
}

pub fn decompose(id: u64) -> IdParts {
    IdParts {
        timestamp: id >> TIMESTAMP_SHIFT,
        worker: ((id >> WORKER_SHIFT) & u64::from(MAX_WORKER_ID)) as u16,
        sequence: (id & MAX_SEQUENCE) as u16,
    }
}

fn default_epoch_ms() -> u64 {
    crate::rules::parse_utc_datetime_ms(DEFAULT_SNOWFLAKE_EPOCH).unwrap_or(0)
}

/// Where a millisecond's sequence starts: a hash of the millisecond (splitmix64 finaliser),
/// reduced to `0..SEQUENCE_START_RANGE`. A hash rather than a counter, so that an
/// application alternating between two tables does not get all even ids in one of them.
fn sequence_start(ms: u64) -> u64 {
    let mut z = ms.wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^= z >> 31;
    z & (SEQUENCE_START_RANGE - 1)
}

/// The generator. Shared by every session of a proxy (`Shared::ids`).
pub struct Snowflake {
    clock: Box<dyn Clock>,
    epoch_ms: u64,
    worker: u16,
    max_backwards_ms: u64,
    /// `(ms since epoch) << SEQUENCE_BITS | sequence` of the last id handed out; 0 = none yet.
    state: AtomicU64,
}

impl fmt::Debug for Snowflake {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Snowflake")
            .field("epoch_ms", &self.epoch_ms)
            .field("worker", &self.worker)
            .field("max_backwards_ms", &self.max_backwards_ms)
            .finish()
    }
}

impl Snowflake {
    /// `worker` must be at most [`MAX_WORKER_ID`] (the rules check it; larger values are
    /// masked); `epoch_ms` is milliseconds since 1970-01-01 UTC.
    pub fn new(
        clock: Box<dyn Clock>,
        epoch_ms: u64,
        worker: u16,
        max_backwards_ms: u64,
    ) -> Snowflake {
        Snowflake {
            clock,
            epoch_ms,
            worker: worker & MAX_WORKER_ID,
            max_backwards_ms,
            state: AtomicU64::new(0),
        }
    }

    /// The system clock and the `[server]` settings of a validated configuration.
    pub fn from_config(server: &crate::rules::ServerConfig) -> Snowflake {
        let epoch = server
            .snowflake_epoch_ms()
            .unwrap_or_else(|_| default_epoch_ms());
        Snowflake::new(
            Box::new(SystemClock),
            epoch,
            server.worker_id,
            server.max_clock_backwards_ms,
        )
    }

    /// Worker 0, the default epoch and tolerance, the system clock (`shardgate explain`).
    pub fn with_defaults() -> Snowflake {
        Snowflake::from_config(&crate::rules::ServerConfig::default())
    }

    pub fn worker(&self) -> u16 {
        self.worker
    }

    pub fn epoch_ms(&self) -> u64 {
        self.epoch_ms
    }

    /// Milliseconds since 1970 at which an id was generated.
    pub fn unix_ms_of(&self, id: u64) -> u64 {
        decompose(id).timestamp + self.epoch_ms
    }

    fn elapsed(&self) -> Result<u64, IdError> {
        let now = self.clock.now_ms();
        let t = now.checked_sub(self.epoch_ms).ok_or(IdError::BeforeEpoch {
            now_ms: now,
            epoch_ms: self.epoch_ms,
        })?;
        if t > MAX_TIMESTAMP {
            return Err(IdError::TimestampOverflow);
        }
        Ok(t)
    }

    /// The next id: greater than every id this generator returned before.
    pub fn next_id(&self) -> Result<u64, IdError> {
        loop {
            // Read the state before the clock: a state written by another thread after our
            // clock read would make the clock look behind it.
            let cur = self.state.load(Ordering::Acquire);
            let (last_ms, last_seq) = (cur >> SEQUENCE_BITS, cur & MAX_SEQUENCE);
            let now = self.elapsed()?;
            let (ms, seq) = if now > last_ms {
                (now, sequence_start(now))
            } else if now == last_ms {
                if last_seq >= MAX_SEQUENCE {
                    // This millisecond's sequence is used up.
                    self.clock.wait_ms(0);
                    continue;
                }
                (now, last_seq + 1)
            } else {
                let behind = last_ms - now;
                if behind > self.max_backwards_ms {
                    return Err(IdError::ClockBackwards {
                        behind_ms: behind,
                        tolerance_ms: self.max_backwards_ms,
                    });
                }
                self.clock.wait_ms(behind);
                continue;
            };
            let next = (ms << SEQUENCE_BITS) | seq;
            if self
                .state
                .compare_exchange_weak(cur, next, Ordering::AcqRel, Ordering::Acquire)
                .is_ok()
            {
                return Ok(compose(IdParts {
                    timestamp: ms,
                    worker: self.worker,
                    sequence: seq as u16,
                }));
            }
            std::hint::spin_loop();
        }
    }
}

#[cfg(test)]
#[path = "id_tests.rs"]
mod tests;
