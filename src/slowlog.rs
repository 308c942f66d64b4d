//! The slow-query log: statements that ran at least `[limits] slow_query_ms`, one JSON
//! object per line (fingerprint — never the literals —, route kind, nodes, rows, duration),
//! to `[server] slow_log` when set and always to the log stream (target `shardgate::slow`).

use std::io::Write;
use std::sync::Mutex;
use std::time::{Duration, SystemTime};

/// One slow statement.
pub struct SlowEntry<'a> {
    pub session: u32,
    pub user: &'a str,
    pub db: Option<&'a str>,
    pub fingerprint: &'a str,
    pub route: Option<&'a str>,
    pub nodes: usize,
    pub rows: u64,
    pub took: Duration,
    pub error: Option<u16>,
}

pub struct SlowLog {
    /// Milliseconds; 0: off. Changed by a rules reload.
    threshold_ms: std::sync::atomic::AtomicU64,
    file: Option<Mutex<std::fs::File>>,
    path: Option<std::path::PathBuf>,
}

fn open_append(p: &std::path::Path) -> std::io::Result<std::fs::File> {
    if let Some(dir) = p.parent() {
        let _ = std::fs::create_dir_all(dir);
    }
    std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(p)
}

impl SlowLog {
    /// `threshold_ms` 0: off. A file that cannot be opened is reported and skipped.
    pub fn open(threshold_ms: u64, path: Option<std::path::PathBuf>) -> SlowLog {
        let file = path.as_ref().and_then(|p| match open_append(p) {
            Ok(f) => Some(Mutex::new(f)),
            Err(e) => {
                tracing::warn!(
                    "slow-query log {}: {e}; logging to the log stream only",
                    p.display()
                );
                None
            }
        });
        SlowLog {
            threshold_ms: std::sync::atomic::AtomicU64::new(threshold_ms),
            file,
            path,
        }
    }

    /// Open the file again (by its path), as after a log rotation moved it away: SIGHUP and
    /// `RELOAD RULES` do this. The old file stays in use when the path cannot be opened.
    pub fn reopen(&self) {
        let (Some(path), Some(file)) = (&self.path, &self.file) else {
            return;
        };
        match open_append(path) {
            Ok(f) => {
                if let Ok(mut cur) = file.lock() {
                    *cur = f;
                }
            }
            Err(e) => tracing::warn!(
                "slow-query log {}: {e}; still writing the old file",
                path.display()
            ),
        }
    }

    /// Whether a statement that took `took` is slow.
    pub fn is_slow(&self, took: Duration) -> bool {
        let ms = self.threshold_ms.load(std::sync::atomic::Ordering::Relaxed);
        ms > 0 && took >= Duration::from_millis(ms)
    }

    /// A new threshold (`[limits] slow_query_ms` of a reloaded rules file).
    pub fn set_threshold(&self, ms: u64) {
        self.threshold_ms
            .store(ms, std::sync::atomic::Ordering::Relaxed);
    }

    pub fn record(&self, e: &SlowEntry<'_>) {
        let line = e.to_json();
        tracing::warn!(target: "shardgate::slow", "{line}");
        if let Some(f) = &self.file {
            if let Ok(mut f) = f.lock() {
                let _ = writeln!(f, "{line}");
            }
        }
    }
}

impl SlowEntry<'_> {
    pub fn to_json(&self) -> String {
        let at = SystemTime::now()
            .duration_since(SystemTime::UNIX_EPOCH)
            .map(|d| d.as_millis())
            .unwrap_or(0);
        format!(
            "{{\"ts_ms\":{at},\"session\":{},\"user\":{},\"db\":{},\"duration_ms\":{:.3},\"route\":{},\"nodes\":{},\"rows\":{},\"error\":{},\"fingerprint\":{}}}",
            self.session,
            json_str(self.user),
            self.db.map(json_str).unwrap_or_else(|| "null".into()),
            self.took.as_secs_f64() * 1000.0,
            self.route.map(json_str).unwrap_or_else(|| "null".into()),
            self.nodes,
            self.rows,
            self.error.map(|c| c.to_string()).unwrap_or_else(|| "null".into()),
            json_str(self.fingerprint),
        )
    }
}

fn json_str(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entries_are_json_lines() {
        let e = SlowEntry {
            session: 7,
            user: "app",
            db: Some("shop"),
            fingerprint: "select * from t where a = ? and b = \"?\"\n",
            route: Some("Scatter"),
            nodes: 4,
            rows: 10,
            took: Duration::from_millis(1500),
            error: None,
        };
        let line = e.to_json();
        assert!(line.contains("\"duration_ms\":1500.000"), "{line}");
        assert!(line.contains("\\\"?\\\"\\n"), "{line}");
        assert!(!line.contains('\n'));
        let off = SlowLog::open(0, None);
        assert!(!off.is_slow(Duration::from_secs(100)));
        let on = SlowLog::open(1000, None);
        assert!(on.is_slow(Duration::from_secs(1)) && !on.is_slow(Duration::from_millis(999)));
    }

    #[test]
    fn reopen_follows_a_rotation() {
        let dir = std::env::temp_dir().join(format!("sg-slow-{}", std::process::id()));
        let path = dir.join("slow.log");
        let log = SlowLog::open(1, Some(path.clone()));
        let e = |s| SlowEntry {
            session: s,
            user: "u",
            db: None,
            fingerprint: "select ?",
            route: None,
            nodes: 1,
            rows: 0,
            took: Duration::from_millis(5),
            error: None,
        };
        log.record(&e(1));
        let rotated = dir.join("slow.log.1");
        std::fs::rename(&path, &rotated).unwrap();
        log.record(&e(2));
        log.reopen();
        log.record(&e(3));
        let old = std::fs::read_to_string(&rotated).unwrap();
        let new = std::fs::read_to_string(&path).unwrap();
        assert_eq!((old.lines().count(), new.lines().count()), (2, 1));
        assert!(new.contains("\"session\":3"), "{new}");
        std::fs::remove_dir_all(&dir).ok();
    }
}
