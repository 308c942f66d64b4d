//! Snowflake id throughput: `cargo bench --bench snowflake` (see docs/benchmarks.md).
//!
//! Reports ids/s single-threaded and with 4 threads sharing one generator, and the average
//! number of ids per millisecond the generator used. A millisecond holds at most 4,096 ids
//! (fewer when it starts its sequence at an offset, 3,968 on average), so about 4 million
//! ids/s is the ceiling: a rate near it means the generator is bounded by the sequence, not
//! by the CPU.
//!
//! The simulated-clock lines show the CPU cost alone (no waiting for the next millisecond).
//!
//! Without `--bench` (as `cargo test --all-targets` runs it) it only does a short smoke run.

use shardgate::id::Clock;
use shardgate::id::{decompose, ManualClock, Snowflake, SystemClock, SEQUENCE_START_RANGE};
use std::sync::Arc;
use std::time::{Duration, Instant};

struct Run {
    ids: u64,
    elapsed: Duration,
    /// Distinct milliseconds the ids came from (first to last, inclusive).
    span_ms: u64,
}

impl Run {
    fn report(&self, label: &str) {
        let rate = self.ids as f64 / self.elapsed.as_secs_f64();
        let per_ms = self.ids as f64 / self.span_ms.max(1) as f64;
        println!(
            "{label:<28} {:>12.0} ids/s   {:>7.0} ids per ms   ({} ids in {:.2?})",
            rate, per_ms, self.ids, self.elapsed
        );
    }
}

/// Generate for about `dur` on `threads` threads sharing `g`.
fn run(g: &Arc<Snowflake>, threads: usize, dur: Duration) -> Run {
    let start = Instant::now();
    let handles: Vec<_> = (0..threads)
        .map(|_| {
            let g = g.clone();
            std::thread::spawn(move || {
                let (mut n, mut lo, mut hi) = (0u64, u64::MAX, 0u64);
                let t0 = Instant::now();
                while t0.elapsed() < dur {
                    // Check the time every 1,024 ids only.
                    for _ in 0..1024 {
                        let id = g.next_id().expect("id");
                        let ts = decompose(id).timestamp;
                        lo = lo.min(ts);
                        hi = hi.max(ts);
                        n += 1;
                    }
                }
                (n, lo, hi)
            })
        })
        .collect();
    let (mut ids, mut lo, mut hi) = (0, u64::MAX, 0);
    for h in handles {
        let (n, l, x) = h.join().expect("thread");
        ids += n;
        lo = lo.min(l);
        hi = hi.max(x);
    }
    Run {
        ids,
        elapsed: start.elapsed(),
        span_ms: hi.saturating_sub(lo) + 1,
    }
}

fn main() {
    let bench = std::env::args().any(|a| a == "--bench");
    let g = Arc::new(Snowflake::with_defaults());
    if !bench {
        let r = run(&g, 2, Duration::from_millis(20));
        assert!(r.ids > 0);
        println!(
            "snowflake bench smoke run ok ({} ids); run `cargo bench --bench snowflake` to measure",
            r.ids
        );
        return;
    }
    let ceiling = 1000.0 * (4096.0 - (SEQUENCE_START_RANGE as f64 - 1.0) / 2.0);
    println!("snowflake ids (sequence ceiling about {ceiling:.0} ids/s)");
    // Warm up.
    run(&g, 1, Duration::from_millis(200));
    run(&g, 1, Duration::from_secs(2)).report("1 thread");
    run(&g, 4, Duration::from_secs(2)).report("4 threads, one generator");
    // The CPU cost alone: a simulated clock that jumps to the next millisecond as soon as the
    // generator waits for it.
    let epoch = g.epoch_ms();
    let sim = Arc::new(Snowflake::new(
        Box::new(ManualClock::new(SystemClock.now_ms())),
        epoch,
        0,
        10,
    ));
    run(&sim, 1, Duration::from_secs(1)).report("1 thread, simulated clock");
    run(&sim, 4, Duration::from_secs(1)).report("4 threads, simulated clock");
}
