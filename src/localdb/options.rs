//! [`LocalOptions`]: how to start one local server.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::OnceLock;
use std::time::Duration;

/// How to start one local server.
#[derive(Debug, Clone)]
pub struct LocalOptions {
    /// TCP port on 127.0.0.1; 0 picks a free one.
    pub port: u16,
    /// The server's own directory: `data/`, `tmp/`, `mysqld.sock`, `mysqld.pid`,
    /// `error.log` live under it. Created if missing. A data directory this
    /// module initialised (marker `data.initialized`) is reused as is; anything
    /// else in `data/` is wiped and initialised afresh.
    pub workdir: PathBuf,
    /// Label used in errors and logs.
    pub name: String,
    /// Extra `mariadbd` arguments, appended last (so they override the defaults).
    pub extra_args: Vec<String>,
    /// `--innodb-flush-log-at-trx-commit=2` (fast, not crash-safe). Default true.
    pub fast_durability: bool,
    /// SQL run as root over TCP after every start, before `start` returns, one
    /// statement per entry (e.g. `CREATE USER IF NOT EXISTS ...`). A failing
    /// statement fails `start`. (Not `--init-file`: MariaDB 10.11 silently stops
    /// at the first failing statement there and logs nothing.)
    pub init_sql: Vec<String>,
    /// How long `start` waits for `SELECT 1` to succeed. Default 30 s.
    pub startup_timeout: Duration,
    /// Delete `workdir` after `stop` (and, best effort, on drop). Default false.
    pub remove_workdir_on_stop: bool,
}

impl Default for LocalOptions {
    fn default() -> Self {
        LocalOptions {
            port: 0,
            workdir: PathBuf::new(),
            name: "local".to_string(),
            extra_args: Vec::new(),
            fast_durability: true,
            init_sql: Vec::new(),
            startup_timeout: Duration::from_secs(30),
            remove_workdir_on_stop: false,
        }
    }
}

impl LocalOptions {
    /// Options with defaults for a server living in `workdir`.
    pub fn new(name: impl Into<String>, workdir: impl Into<PathBuf>) -> Self {
        LocalOptions {
            name: name.into(),
            workdir: workdir.into(),
            ..LocalOptions::default()
        }
    }

    /// Options for a server in a fresh directory under the system temp dir
    /// (`$TMPDIR/shardgate-localdb/<pid>-<n>-<name>`), deleted again by `stop`.
    pub fn temp(name: impl Into<String>) -> Self {
        static COUNTER: AtomicU64 = AtomicU64::new(0);
        let name = name.into();
        let n = COUNTER.fetch_add(1, Ordering::Relaxed);
        let safe: String = name
            .chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                    c
                } else {
                    '_'
                }
            })
            .take(40)
            .collect();
        let root = std::env::temp_dir().join("shardgate-localdb");
        sweep_stale_temp_dirs(&root);
        let workdir = root.join(format!("{}-{}-{}", std::process::id(), n, safe));
        LocalOptions {
            name,
            workdir,
            remove_workdir_on_stop: true,
            ..LocalOptions::default()
        }
    }
}

/// Once per process: deletes `<root>/<pid>-…` directories of processes that no
/// longer exist (left behind by killed test runs; ~70 MB each).
fn sweep_stale_temp_dirs(root: &Path) {
    static SWEPT: OnceLock<()> = OnceLock::new();
    SWEPT.get_or_init(|| {
        let Ok(entries) = std::fs::read_dir(root) else {
            return;
        };
        for entry in entries.flatten() {
            let name = entry.file_name();
            let Some(pid) = name
                .to_str()
                .and_then(|n| n.split('-').next())
                .and_then(|p| p.parse::<u32>().ok())
            else {
                continue;
            };
            if pid != std::process::id() && !Path::new(&format!("/proc/{pid}")).exists() {
                let _ = std::fs::remove_dir_all(entry.path());
            }
        }
    });
}
