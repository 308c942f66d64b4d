use super::*;
use std::collections::HashSet;
use std::sync::Arc;

/// 2024-01-01T00:00:00Z
const EPOCH: u64 = 1_704_067_200_000;

/// A generator on a simulated clock standing `at` ms after the epoch; the clock is shared so
/// that the test can move it.
fn manual(at: u64, worker: u16, tolerance: u64) -> (Snowflake, Arc<ManualClock>) {
    let clock = Arc::new(ManualClock::new(EPOCH + at));
    struct Shared(Arc<ManualClock>);
    impl Clock for Shared {
        fn now_ms(&self) -> u64 {
            self.0.now_ms()
        }
        fn wait_ms(&self, ms: u64) {
            self.0.wait_ms(ms)
        }
    }
    let g = Snowflake::new(Box::new(Shared(clock.clone())), EPOCH, worker, tolerance);
    (g, clock)
}

#[test]
fn bit_layout_is_pinned() {
    assert_eq!((TIMESTAMP_BITS, WORKER_BITS, SEQUENCE_BITS), (41, 10, 12));
    assert_eq!((TIMESTAMP_SHIFT, WORKER_SHIFT), (22, 12));
    let p = IdParts {
        timestamp: 1,
        worker: 1,
        sequence: 1,
    };
    assert_eq!(compose(p), (1 << 22) + (1 << 12) + 1);
    assert_eq!(compose(p), 4_198_401);
    let max = IdParts {
        timestamp: MAX_TIMESTAMP,
        worker: MAX_WORKER_ID,
        sequence: MAX_SEQUENCE as u16,
    };
    assert_eq!(compose(max), i64::MAX as u64, "the sign bit stays clear");
    assert_eq!(decompose(compose(max)), max);

    // A generated id: 1000 ms after the epoch, worker 7, the millisecond's start sequence.
    let (g, _) = manual(1000, 7, 10);
    let id = g.next_id().unwrap();
    let start = sequence_start(1000);
    assert!(start < SEQUENCE_START_RANGE);
    assert_eq!(id, (1000 << 22) | (7 << 12) | start);
    assert_eq!(
        decompose(id),
        IdParts {
            timestamp: 1000,
            worker: 7,
            sequence: start as u16
        }
    );
    assert_eq!(g.unix_ms_of(id), EPOCH + 1000);
    // The next one in the same millisecond takes the next sequence number.
    assert_eq!(g.next_id().unwrap(), id + 1);
    // Pinned values of the start hash (changing it changes the ids a proxy generates).
    let starts: Vec<u64> = (0..8).map(sequence_start).collect();
    assert_eq!(starts, pinned_starts());
}

/// `sequence_start(0..8)`, computed once and pinned here.
fn pinned_starts() -> Vec<u64> {
    vec![175, 193, 206, 237, 202, 90, 0, 215]
}

#[test]
fn strictly_increasing_on_the_system_clock() {
    let g = Snowflake::with_defaults();
    let mut last = 0;
    for _ in 0..200_000 {
        let id = g.next_id().unwrap();
        assert!(id > last, "{id} after {last}");
        last = id;
    }
    let now = SystemClock.now_ms();
    let at = g.unix_ms_of(last);
    assert!(
        at <= now && now - at < 60_000,
        "timestamp {at} vs now {now}"
    );
}

#[test]
fn distinct_under_contention() {
    let g = Arc::new(Snowflake::new(Box::new(SystemClock), EPOCH, 3, 10));
    let threads: Vec<_> = (0..4)
        .map(|_| {
            let g = g.clone();
            std::thread::spawn(move || {
                let mut v = Vec::with_capacity(50_000);
                for _ in 0..50_000 {
                    v.push(g.next_id().unwrap());
                }
                v
            })
        })
        .collect();
    let mut all = HashSet::new();
    for t in threads {
        let v = t.join().unwrap();
        assert!(v.windows(2).all(|w| w[0] < w[1]), "increasing per thread");
        for id in v {
            assert_eq!(decompose(id).worker, 3);
            assert!(all.insert(id), "duplicate id {id}");
        }
    }
    assert_eq!(all.len(), 200_000);
}

#[test]
fn different_workers_never_collide() {
    let (a, _) = manual(50, 1, 10);
    let (b, _) = manual(50, 2, 10);
    let ids: HashSet<u64> = (0..1000)
        .flat_map(|_| [a.next_id().unwrap(), b.next_id().unwrap()])
        .collect();
    assert_eq!(ids.len(), 2000);
}

#[test]
fn clock_backwards_within_tolerance_waits() {
    let (g, clock) = manual(10_000, 0, 10);
    let first = g.next_id().unwrap();
    clock.set(EPOCH + 10_000 - 7);
    let second = g.next_id().unwrap();
    assert!(second > first);
    assert_eq!(clock.waits(), 1);
    assert_eq!(clock.waited_ms(), 7, "waited until the clock caught up");
    // Caught up to the same millisecond: the sequence continues.
    assert_eq!(second, first + 1);
    // Exactly at the tolerance still waits.
    clock.set(EPOCH + 10_000 - 10);
    assert!(g.next_id().unwrap() > second);
    assert_eq!(clock.waited_ms(), 17);
}

#[test]
fn clock_backwards_beyond_tolerance_fails() {
    let (g, clock) = manual(10_000, 0, 10);
    let first = g.next_id().unwrap();
    clock.set(EPOCH + 10_000 - 11);
    let err = g.next_id().unwrap_err();
    assert_eq!(
        err,
        IdError::ClockBackwards {
            behind_ms: 11,
            tolerance_ms: 10
        }
    );
    assert_eq!(clock.waits(), 0, "no waiting when failing");
    let e = err.to_sql("t_order", "order_id");
    assert_eq!(e.code, 1467);
    assert_eq!(
        e.message,
        "Failed to generate a snowflake key for t_order.order_id: the system clock moved back \
         11 ms (more than max_clock_backwards_ms = 10); refusing to generate ids that could repeat"
    );
    // Once the clock is back past the last id, generation resumes, still increasing.
    clock.set(EPOCH + 10_001);
    assert!(g.next_id().unwrap() > first);
    // Tolerance 0: any step back fails.
    let (g0, clock0) = manual(500, 0, 0);
    g0.next_id().unwrap();
    clock0.set(EPOCH + 499);
    assert!(matches!(
        g0.next_id(),
        Err(IdError::ClockBackwards { behind_ms: 1, .. })
    ));
}

#[test]
fn clock_before_epoch_fails() {
    let clock = ManualClock::new(EPOCH - 1);
    let g = Snowflake::new(Box::new(clock), EPOCH, 0, 10);
    assert_eq!(
        g.next_id(),
        Err(IdError::BeforeEpoch {
            now_ms: EPOCH - 1,
            epoch_ms: EPOCH
        })
    );
}

#[test]
fn exhausted_sequence_waits_for_the_next_millisecond() {
    let (g, clock) = manual(777, 5, 10);
    let start = sequence_start(777);
    let in_first_ms = (MAX_SEQUENCE + 1 - start) as usize;
    let mut ids = Vec::new();
    for _ in 0..in_first_ms {
        ids.push(g.next_id().unwrap());
    }
    assert_eq!(clock.waits(), 0);
    assert_eq!(
        decompose(*ids.last().unwrap()).sequence as u64,
        MAX_SEQUENCE
    );
    let next = g.next_id().unwrap();
    assert_eq!(clock.waits(), 1, "waited once for the next millisecond");
    assert_eq!(
        decompose(next),
        IdParts {
            timestamp: 778,
            worker: 5,
            sequence: sequence_start(778) as u16
        }
    );
    ids.push(next);
    assert!(ids.windows(2).all(|w| w[0] < w[1]));
    assert!(ids.iter().all(|id| decompose(*id).timestamp <= 778));
}

fn share_even(ids: &[u64]) -> f64 {
    ids.iter().filter(|i| *i % 2 == 0).count() as f64 / ids.len() as f64
}

#[test]
fn low_traffic_ids_stay_balanced() {
    // One id per millisecond (or every few): the sequence start varies, so parity does too.
    let (g, clock) = manual(1, 0, 10);
    let mut ids = Vec::new();
    for i in 0..20_000u64 {
        clock.advance(1 + i % 3);
        ids.push(g.next_id().unwrap());
    }
    let even = share_even(&ids);
    assert!((0.48..=0.52).contains(&even), "even share {even}");
    for n in [2u64, 3, 4, 8, 10, 16, 64] {
        let mut counts = vec![0usize; n as usize];
        for id in &ids {
            counts[(id % n) as usize] += 1;
        }
        let expect = ids.len() as f64 / n as f64;
        for (r, c) in counts.iter().enumerate() {
            let dev = (*c as f64 - expect).abs() / expect;
            assert!(
                dev < 0.15,
                "id % {n} == {r}: {c} ids, expected about {expect}"
            );
        }
    }
    // An application alternating between two tables (one id each per millisecond): both
    // tables still see about half even ids.
    let (a, b): (Vec<u64>, Vec<u64>) = ids.chunks(2).map(|c| (c[0], c[1])).unzip();
    for t in [&a, &b] {
        let even = share_even(t);
        assert!((0.46..=0.54).contains(&even), "even share {even}");
    }
}

#[test]
fn low_rate_on_the_system_clock_is_balanced() {
    // Real time, about one id per millisecond.
    let g = Snowflake::with_defaults();
    let ids: Vec<u64> = (0..400)
        .map(|_| {
            std::thread::sleep(std::time::Duration::from_millis(1));
            g.next_id().unwrap()
        })
        .collect();
    let even = share_even(&ids);
    // 400 fair coin flips: 6 standard deviations is 0.35..0.65.
    assert!((0.35..=0.65).contains(&even), "even share {even}");
}
