//! Throwaway local MariaDB servers for `shardgate demo` and the integration tests.
//!
//! [`LocalMariaDb::start`] initialises a private data directory (once), starts
//! `mariadbd` on a loopback port with its own tmpdir, socket, pid file and error
//! log under [`LocalOptions::workdir`], and returns once the server answers
//! `SELECT 1` as `root` with an empty password over TCP.
//! [`LocalMariaDb::stop`] shuts it down with SIGTERM (SIGKILL after ~20 s), and
//! dropping a running server SIGKILLs it, so tests never leave a `mariadbd` behind.
//!
//! Everything runs with `--no-defaults`, so `/etc/mysql` never interferes, and the
//! system MariaDB service is neither needed nor touched.
//!
//! The servers are spawned from one long-lived helper thread through
//! `setpriv --pdeathsig KILL` (when `setpriv` exists), so even a test process that
//! is killed outright (no destructors) takes its servers with it.

mod init;
mod logs;
mod options;
mod process;
mod programs;
mod server;
#[cfg(test)]
mod tests;

pub use options::LocalOptions;
pub use process::pick_free_port;
pub use programs::{find_install_db, find_mariadbd, is_available};
pub use server::LocalMariaDb;

use std::io;
use std::path::PathBuf;
use std::time::Duration;

/// Error message when the server binary is missing (kept stable: scripts and docs grep for it).
pub const MARIADBD_NOT_FOUND: &str =
    "mariadbd not found: install it with `sudo apt-get install mariadb-server`";

const STOP_GRACE: Duration = Duration::from_secs(20);
const KILL_GRACE: Duration = Duration::from_secs(5);
const POLL: Duration = Duration::from_millis(25);
/// Unix socket paths are limited to 108 bytes including the NUL.
const MAX_SOCKET_PATH: usize = 100;
/// How many fresh ports to try when `port == 0` and the picked one was taken meanwhile.
const PORT_ATTEMPTS: usize = 3;

/// Errors of this module.
#[derive(Debug, thiserror::Error)]
pub enum LocalDbError {
    #[error("mariadbd not found: install it with `sudo apt-get install mariadb-server`")]
    MariadbdNotFound,
    #[error("mariadb-install-db not found: install it with `sudo apt-get install mariadb-server`")]
    InstallDbNotFound,
    #[error("invalid local server options: {0}")]
    InvalidOptions(String),
    #[error("{context}: {source}")]
    Io {
        context: String,
        #[source]
        source: io::Error,
    },
    #[error("mariadb-install-db failed for `{name}` ({status}) in {datadir}:\n{output}")]
    InitFailed {
        name: String,
        datadir: PathBuf,
        status: String,
        output: String,
    },
    #[error("a mariadbd (pid {pid}) is already running for `{name}` on {datadir}")]
    AlreadyRunning {
        name: String,
        pid: u32,
        datadir: PathBuf,
    },
    #[error(
        "mariadbd `{name}` exited during startup on port {port} ({status}); tail of {log}:\n{tail}"
    )]
    ExitedEarly {
        name: String,
        port: u16,
        status: String,
        log: PathBuf,
        tail: String,
    },
    #[error("mariadbd `{name}` on port {port} did not answer `SELECT 1` within {timeout:?} (last error: {last_error}); tail of {log}:\n{tail}")]
    StartTimeout {
        name: String,
        port: u16,
        timeout: Duration,
        last_error: String,
        log: PathBuf,
        tail: String,
    },
    #[error("query on local server `{name}` (port {port}) failed: {source}")]
    Query {
        name: String,
        port: u16,
        #[source]
        source: mysql_async::Error,
    },
    #[error("init SQL on local server `{name}` failed: {source}\nstatement: {statement}")]
    InitSql {
        name: String,
        statement: String,
        #[source]
        source: mysql_async::Error,
    },
    #[error("mariadbd `{name}` (pid {pid}) did not exit even after SIGKILL")]
    StopTimeout { name: String, pid: u32 },
}

impl LocalDbError {
    fn io(context: impl Into<String>, source: io::Error) -> Self {
        LocalDbError::Io {
            context: context.into(),
            source,
        }
    }
}
